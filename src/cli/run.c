// SPDX-License-Identifier: Apache-2.0
/*
 * `clone run`: parse arguments into a vm_config, build the VM and run it in
 * the foreground.  Main thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"
#include "snapshot/template.h"
#include "vmm/network.h"
#include "vmm/registry.h"
#include "vmm/vm.h"

enum {
	OPT_KERNEL = 0x100,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_APPEND,
	OPT_MEM_MB,
	OPT_VCPUS,
	OPT_SERIAL,
	OPT_KERNEL_SHA256,
	OPT_BOOT_TIMING,
	OPT_KSM,
	OPT_LOG_LEVEL,
	OPT_DISK,
	OPT_ROOTFS,
	OPT_OVERLAY,
	OPT_OVERLAY_SIZE,
	OPT_MODULES,
	OPT_NAME,
	OPT_CID,
	OPT_NO_AGENT,
	OPT_NO_VSOCK,
	OPT_NET,
	OPT_TAP,
	OPT_MAC,
	OPT_NETNS,
	OPT_FROM_TEMPLATE,
};

static const struct option run_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "append", required_argument, NULL, OPT_APPEND },
	{ "mem-mb", required_argument, NULL, OPT_MEM_MB },
	{ "vcpus", required_argument, NULL, OPT_VCPUS },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "kernel-sha256", required_argument, NULL, OPT_KERNEL_SHA256 },
	{ "boot-timing", no_argument, NULL, OPT_BOOT_TIMING },
	{ "ksm", no_argument, NULL, OPT_KSM },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "rootfs", required_argument, NULL, OPT_ROOTFS },
	{ "overlay", required_argument, NULL, OPT_OVERLAY },
	{ "overlay-size", required_argument, NULL, OPT_OVERLAY_SIZE },
	{ "modules", required_argument, NULL, OPT_MODULES },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "detach", no_argument, NULL, 'd' },
	{ "cid", required_argument, NULL, OPT_CID },
	{ "no-agent", no_argument, NULL, OPT_NO_AGENT },
	{ "no-vsock", no_argument, NULL, OPT_NO_VSOCK },
	{ "net", optional_argument, NULL, OPT_NET },
	{ "tap", required_argument, NULL, OPT_TAP },
	{ "mac", required_argument, NULL, OPT_MAC },
	{ "publish", required_argument, NULL, 'p' },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "from-template", required_argument, NULL, OPT_FROM_TEMPLATE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void cli_run_usage(FILE *f)
{
	fprintf(f,
		"Usage: clone run [OPTIONS]\n"
		"Boot a Linux guest in the foreground with its serial console on this terminal.\n"
		"\n"
		"  --kernel PATH         bzImage or ELF vmlinux (default: newest /boot/vmlinuz-*)\n"
		"  --initrd PATH         initramfs (default: built-in busybox guest)\n"
		"  --cmdline STR         guest arguments, replacing the default\n"
		"                        \"" CONFIG_DEFAULT_CMDLINE "\"\n"
		"  --append STR          guest arguments added to the default (or --cmdline)\n"
		"  --mem-mb N            guest RAM in MiB (default %u; memory is overcommitted:\n"
		"                        only pages the guest touches cost host memory)\n"
		"  --vcpus N             virtual CPUs (default %u)\n"
		"  --serial MODE         stdio (default), file=PATH or none\n"
		"  --kernel-sha256 HEX   refuse to boot unless the kernel file has this SHA-256\n"
		"  --boot-timing         print VMM phase timings and the time to the guest's init\n"
		"  --ksm                 let KSM merge identical guest pages (MADV_MERGEABLE)\n"
		"  --log-level LEVEL     error, warn (default), info or debug\n"
		"\n"
		"Disks (virtio-blk; raw or qcow2, probed):\n"
		"  --disk PATH[,ro][,format=raw|qcow2][,serial=S]\n"
		"                        attach a disk (repeatable); its serial defaults to\n"
		"                        disk<N>; ro: the guest cannot write it\n"
		"  --rootfs IMAGE        boot from the root file system on IMAGE (read-write):\n"
		"                        Clone generates the initramfs that mounts it\n"
		"  --overlay MODE        with --rootfs: IMAGE read-only (shareable) under a\n"
		"                        writable overlay kept in tmpfs (guest RAM, gone at "
		"exit),\n"
		"                        auto (a temporary qcow2, deleted at exit) or FILE.qcow2\n"
		"                        (persistent; created and formatted on first use)\n"
		"  --overlay-size SIZE   virtual size of a new qcow2 overlay (default 16G)\n"
		"  --modules DIR|none    kernel modules for the generated initramfs (default\n"
		"                        /lib/modules/<kernel version>; none: built into the "
		"kernel)\n"
		"\n"
		"Named VMs, the control socket and the guest agent:\n"
		"  --name NAME           the VM's name (default: generated); `clone list`,\n"
		"                        `clone exec NAME`, `clone attach NAME`... find it by\n"
		"                        this name; the guest's hostname too\n"
		"  -d, --detach          run in the background: print the name and return once\n"
		"                        the VM runs; the console goes to a log file and the\n"
		"                        console socket (`clone attach NAME`)\n"
		"  --cid N               the guest's vsock CID (%u-%u; default: a free one)\n"
		"  --no-agent            do not start clone-agent in the generated initramfs\n"
		"  --no-vsock            no virtio-vsock device (and so no agent)\n"
		"\n"
		"Networking (virtio-net on vhost-net; repeatable, up to %u NICs):\n"
		"  --net [bridge][,bridge=NAME][,bridge-addr=CIDR][,OPTS]\n"
		"                        (root) a TAP on the host bridge (default clone0,\n"
		"                        172.20.0.1/24, created with NAT on first use; `clone net\n"
		"                        down` removes it) and an address from its subnet,\n"
		"                        given to the guest by the agent\n"
		"  --net user[,OPTS]     no privileges needed: pasta (package passt) in a user\n"
		"                        and network namespace; the guest is 10.0.2.15/24,\n"
		"                        gateway 10.0.2.2, DNS 10.0.2.3 (the host's resolver)\n"
		"  -p, --publish HOST:GUEST\n"
		"                        with --net user: forward TCP port HOST on the host's\n"
		"                        127.0.0.1 to GUEST in the guest (repeatable)\n"
		"  --tap NAME[,ip=CIDR][,gw=IP][,OPTS]\n"
		"                        an existing TAP device; ip/gw: the guest's address\n"
		"  --mac MAC             the MAC of the NIC given just before (default: derived\n"
		"                        from the VM name, 02:xx:xx:xx:xx:xx)\n"
		"  --netns NAME|PATH     set up the VM's network inside this network namespace\n"
		"                        (/run/netns/NAME)\n"
		"\n"
		"Templates (clone snapshot, clone fork):\n"
		"  --from-template T     restore template T: the VM continues where it was\n"
		"                        snapshotted, with its name, MACs and (if free) CID;\n"
		"                        --net/--tap replace the NICs' back ends, --overlay\n"
		"                        PATH keeps the writable disk's new layer\n"
		"  OPTS: mac=MAC, vhost=off (userspace data path), and rate limits\n"
		"        bps=RATE, iops=RATE (both directions), rx_bps=, tx_bps=, rx_iops=,\n"
		"        tx_iops=, with _burst=N (one-time), _size=N and _refill_ms=MS variants\n"
		"        (token buckets; --disk takes bps=/iops=... too); `clone limit` changes\n"
		"        them while the VM runs. A rate-limited NIC uses the userspace data path.\n"
		"  -h, --help            show this help\n"
		"\n"
		"Clone always appends what its machine needs to the guest arguments (pci=off).\n"
		"Console: Ctrl-A x quits; Ctrl-A Ctrl-A sends Ctrl-A.\n"
		"The VMM exits when the guest powers off (0) or reboots (0), on SIGTERM/SIGINT\n"
		"(128+signal), on bad arguments or inputs (2) and on runtime errors (1).\n",
		CONFIG_DEFAULT_MEM_MB, CONFIG_DEFAULT_VCPUS, CONFIG_MIN_CID, CONFIG_MAX_CID,
		CONFIG_MAX_NICS);
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : err_set(-ENOMEM, "arguments");
}

static int parse_serial(struct vm_config *cfg, const char *v)
{
	if (!strcmp(v, "stdio")) {
		cfg->serial = SERIAL_STDIO;
		return 0;
	}
	if (!strcmp(v, "none")) {
		cfg->serial = SERIAL_NONE;
		return 0;
	}
	if (!strncmp(v, "file=", 5) && v[5]) {
		cfg->serial = SERIAL_FILE;
		return set_str(&cfg->serial_path, v + 5);
	}
	return err_setx(-EINVAL, "--serial %s: expected stdio, file=PATH or none", v);
}

static int parse_one(struct vm_config *cfg, int opt, const char *arg)
{
	uint64_t v;
	enum log_level level;

	switch (opt) {
	case OPT_KERNEL:
		return set_str(&cfg->kernel, arg);
	case OPT_FROM_TEMPLATE:
		return set_str(&cfg->from_template, arg);
	case OPT_INITRD:
		return set_str(&cfg->initrd, arg);
	case OPT_CMDLINE:
		return set_str(&cfg->cmdline, arg);
	case OPT_APPEND:
		return set_str(&cfg->append, arg);
	case OPT_KERNEL_SHA256:
		return set_str(&cfg->kernel_sha256, arg);
	case OPT_MEM_MB:
		if (parse_uint(arg, CONFIG_MIN_MEM_MB, CONFIG_MAX_MEM_MB, &v))
			return err_setx(-EINVAL,
					"--mem-mb %s: expected a number of MiB from %u to %u", arg,
					CONFIG_MIN_MEM_MB, CONFIG_MAX_MEM_MB);
		cfg->mem_mb = v;
		return 0;
	case OPT_VCPUS:
		if (parse_uint(arg, 1, CONFIG_MAX_VCPUS, &v))
			return err_setx(-EINVAL, "--vcpus %s: expected a number from 1 to %u", arg,
					CONFIG_MAX_VCPUS);
		cfg->vcpus = (unsigned)v;
		return 0;
	case OPT_SERIAL:
		return parse_serial(cfg, arg);
	case OPT_BOOT_TIMING:
		cfg->boot_timing = true;
		return 0;
	case OPT_KSM:
		cfg->ksm = true;
		return 0;
	case OPT_DISK:
		if (cfg->nr_disks >= CONFIG_MAX_DISKS)
			return err_setx(-EINVAL, "--disk: at most %u disks", CONFIG_MAX_DISKS);
		if (config_parse_disk(arg, &cfg->disks[cfg->nr_disks]))
			return -EINVAL;
		cfg->nr_disks++;
		return 0;
	case OPT_ROOTFS:
		return set_str(&cfg->rootfs, arg);
	case OPT_OVERLAY:
		return config_parse_overlay(cfg, arg);
	case OPT_OVERLAY_SIZE:
		if (parse_size(arg, &v) || v < 64 * MiB || v > 64 * TiB)
			return err_setx(-EINVAL,
					"--overlay-size %s: expected a size from 64M to 64T", arg);
		cfg->overlay_size = v;
		return 0;
	case OPT_MODULES:
		return set_str(&cfg->modules, arg);
	case OPT_NAME:
		if (registry_check_name(arg))
			return -EINVAL;
		return set_str(&cfg->name, arg);
	case 'd':
		cfg->detach = true;
		return 0;
	case OPT_CID:
		if (parse_uint(arg, CONFIG_MIN_CID, CONFIG_MAX_CID, &v))
			return err_setx(-EINVAL, "--cid %s: expected a number from %u to %u", arg,
					CONFIG_MIN_CID, CONFIG_MAX_CID);
		cfg->cid = v;
		return 0;
	case OPT_NO_AGENT:
		cfg->no_agent = true;
		return 0;
	case OPT_NO_VSOCK:
		cfg->no_vsock = true;
		return 0;
	case OPT_NET:
	case OPT_TAP:
		if (cfg->nr_nics >= CONFIG_MAX_NICS)
			return err_setx(-EINVAL, "at most %u NICs", CONFIG_MAX_NICS);
		if ((opt == OPT_NET ? config_parse_net(arg, &cfg->nics[cfg->nr_nics])
				    : config_parse_tap(arg, &cfg->nics[cfg->nr_nics])))
			return -EINVAL;
		cfg->nr_nics++;
		return 0;
	case OPT_MAC:
		if (!cfg->nr_nics)
			return err_setx(-EINVAL,
					"--mac %s: give it after the --net or --tap it is for",
					arg);
		if (config_parse_mac(arg, cfg->nics[cfg->nr_nics - 1].mac))
			return -EINVAL;
		cfg->nics[cfg->nr_nics - 1].has_mac = true;
		return 0;
	case 'p':
		if (cfg->nr_fwds >= CONFIG_MAX_FWDS)
			return err_setx(-EINVAL, "-p: at most %u forwards", CONFIG_MAX_FWDS);
		if (config_parse_fwd(arg, &cfg->fwds[cfg->nr_fwds]))
			return -EINVAL;
		cfg->nr_fwds++;
		return 0;
	case OPT_NETNS:
		return set_str(&cfg->netns, arg);
	case OPT_LOG_LEVEL:
		if (log_parse_level(arg, &level))
			return err_setx(-EINVAL,
					"--log-level %s: expected error, warn, info or debug", arg);
		cfg->log_level = (int)level;
		return 0;
	default:
		return err_setx(-EINVAL, "run: unknown option");
	}
}

int cli_run_parse(int argc, char **argv, struct vm_config *cfg)
{
	int opt, ret;

	optind = 0; /* reinitialise getopt: callers (and tests) parse more than once */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:hdp:", run_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			cli_run_usage(stdout);
			return CLI_HELP_SHOWN;
		case '?':
			if (optopt)
				return err_setx(-EINVAL,
						"run: unknown option -%c (see clone run --help)",
						optopt);
			return err_setx(-EINVAL, "run: unknown option %s (see clone run --help)",
					argv[optind - 1]);
		case ':':
			return err_setx(-EINVAL, "run: option %s needs a value", argv[optind - 1]);
		case OPT_NET:
			/* `--net user` as well as `--net=user`: the value may be the next word. */
			if (!optarg && optind < argc && argv[optind][0] != '-')
				optarg = argv[optind++];
			__attribute__((fallthrough));
		default:
			ret = parse_one(cfg, opt, optarg);
			if (ret)
				return ret;
		}
	}
	if (optind < argc)
		return err_setx(-EINVAL, "run: unexpected argument '%s' (see clone run --help)",
				argv[optind]);
	return config_validate(cfg);
}

/*
 * -d: the parent waits on a pipe for the VMM (the child) to say it runs
 * ("R" NAME) or why it could not start ("E" CODE " " MESSAGE), prints that
 * and returns; the child goes on in its own session.
 */
static int detach_wait(int fd)
{
	char buf[1024];
	size_t len = 0;
	int code;

	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf) - 1)
			break;
	}
	close(fd);
	buf[len] = '\0';
	if (len > 1 && buf[0] == 'R') {
		printf("%s\n", buf + 1);
		return EXIT_OK;
	}
	if (len > 1 && buf[0] == 'E' && sscanf(buf + 1, "%d", &code) == 1) {
		const char *msg = strchr(buf, ' ');

		fprintf(stderr, "clone: error: %s\n", msg ? msg + 1 : "the VMM failed to start");
		return code;
	}
	fprintf(stderr, "clone: error: the VMM exited while starting\n");
	return EXIT_RUNTIME;
}

static int start_detached(int *status_fd)
{
	int p[2];
	pid_t pid;

	fflush(NULL);
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_set(-errno, "pipe");
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return err_set(-errno, "fork");
	}
	if (pid > 0) {
		close(p[1]);
		return detach_wait(p[0]) + 1; /* > 0: the parent's exit code + 1 */
	}
	close(p[0]);
	setsid();
	*status_fd = p[1];
	return 0;
}

/* Tell the waiting parent how the start went (no-op in the foreground). */
static void detach_report(int *status_fd, int code, const char *name)
{
	char buf[1024];
	int n;

	if (*status_fd < 0)
		return;
	if (code == EXIT_OK)
		n = snprintf(buf, sizeof(buf), "R%s", name);
	else
		n = snprintf(buf, sizeof(buf), "E%d %s", code, err_msg());
	(void)!write(*status_fd, buf, (size_t)MIN(n, (int)sizeof(buf) - 1));
	close(*status_fd);
	*status_fd = -1;
}

/* The detached VMM's own stdio: no terminal; its messages go to the console log. */
static void detach_stdio(const char *log)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int err = log ? open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;

	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(err >= 0 ? err : null, STDERR_FILENO);
		close(null);
	}
	if (err >= 0)
		close(err);
}

/* Name the VM in the registry and put its sockets (and a detached VM's log) in cfg. */
static int claim_name(struct vm_config *cfg, struct registry_claim *claim, bool serial_given)
{
	char gen[REGISTRY_NAME_MAX + 1];
	int ret;

	if (!cfg->name) {
		ret = registry_generate_name(gen, sizeof(gen));
		if (!ret)
			ret = set_str(&cfg->name, gen);
		if (ret)
			return ret;
	}
	ret = registry_claim(cfg->name, claim);
	if (ret)
		return ret;
	ret = set_str(&cfg->api_path, claim->e.api);
	if (!ret)
		ret = set_str(&cfg->console_path, claim->e.console);
	if (!ret && cfg->detach && !serial_given) {
		cfg->serial = SERIAL_FILE;
		ret = set_str(&cfg->serial_path, claim->e.log);
	}
	return ret;
}

/* The configuration of a VM made from cfg->from_template. */
static int apply_template(struct vm_config *cfg, bool keep_identity)
{
	int ret;

	cfg->tmpl = calloc(1, sizeof(*cfg->tmpl));
	if (!cfg->tmpl)
		return err_set(-ENOMEM, "template");
	ret = template_load(cfg->from_template, cfg->tmpl, NULL);
	if (!ret)
		ret = template_apply(cfg->tmpl, cfg, keep_identity);
	if (!ret)
		ret = config_validate(cfg);
	return ret;
}

int cli_run(int argc, char **argv, uint64_t start_ns)
{
	return cli_run_from(argc, argv, start_ns, NULL, true);
}

int cli_run_from(int argc, char **argv, uint64_t start_ns, const char *tmpl, bool keep_identity)
{
	struct registry_claim claim = { 0 };
	struct vm_config cfg;
	struct vm *vm = NULL;
	int status_fd = -1;
	bool input_error, serial_given;
	int ret, code;

	config_init(&cfg);
	ret = tmpl ? set_str(&cfg.from_template, tmpl) : 0;
	if (!ret)
		ret = cli_run_parse(argc, argv, &cfg);
	if (!ret && cfg.from_template)
		ret = apply_template(&cfg, keep_identity);
	if (ret) {
		config_free(&cfg);
		if (ret == CLI_HELP_SHOWN)
			return EXIT_OK;
		fprintf(stderr, "clone: error: %s\n", err_msg());
		return EXIT_BAD_CONFIG;
	}
	serial_given = cfg.serial != SERIAL_STDIO;
	log_set_level((enum log_level)cfg.log_level);
	if (cfg.detach) {
		ret = start_detached(&status_fd);
		if (ret) {
			config_free(&cfg);
			if (ret > 0)
				return ret - 1;
			fprintf(stderr, "clone: error: %s\n", err_msg());
			return EXIT_RUNTIME;
		}
	}
	ret = claim_name(&cfg, &claim, serial_given);
	if (ret) {
		code = ret == -EEXIST || ret == -EINVAL ? EXIT_BAD_CONFIG : EXIT_RUNTIME;
		goto fail;
	}
	/* Before any thread: setns(CLONE_NEWNET) applies to the calling thread only. */
	if (cfg.netns) {
		ret = network_enter_netns(cfg.netns);
		if (ret) {
			code = EXIT_BAD_CONFIG;
			goto fail;
		}
	}
	ret = vm_create(&cfg, start_ns, &vm, &input_error);
	if (ret) {
		code = input_error ? EXIT_BAD_CONFIG : EXIT_RUNTIME;
		goto fail;
	}
	log_info("VM %s: control socket %s", cfg.name, cfg.api_path);
	if (status_fd >= 0) {
		detach_stdio(cfg.serial == SERIAL_FILE ? cfg.serial_path : NULL);
		detach_report(&status_fd, EXIT_OK, cfg.name);
	}
	vm_run(vm, &code);
	vm_destroy(vm);
	registry_release(&claim);
	config_free(&cfg);
	return code;
fail:
	if (status_fd >= 0)
		detach_report(&status_fd, code, NULL);
	else
		fprintf(stderr, "clone: error: %s\n", err_msg());
	registry_release(&claim);
	config_free(&cfg);
	return code;
}
