// SPDX-License-Identifier: Apache-2.0
/*
 * `clone run`: parse arguments into a vm_config, build the VM and run it in
 * the foreground.  Main thread.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"
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
		"  -h, --help            show this help\n"
		"\n"
		"Clone always appends what its machine needs to the guest arguments (pci=off).\n"
		"Console: Ctrl-A x quits; Ctrl-A Ctrl-A sends Ctrl-A.\n"
		"The VMM exits when the guest powers off (0) or reboots (0), on SIGTERM/SIGINT\n"
		"(128+signal), on bad arguments or inputs (2) and on runtime errors (1).\n",
		CONFIG_DEFAULT_MEM_MB, CONFIG_DEFAULT_VCPUS);
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
	while ((opt = getopt_long(argc, argv, "+:h", run_options, NULL)) != -1) {
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

int cli_run(int argc, char **argv, uint64_t start_ns)
{
	struct vm_config cfg;
	struct vm *vm = NULL;
	bool input_error;
	int ret, code;

	config_init(&cfg);
	ret = cli_run_parse(argc, argv, &cfg);
	if (ret) {
		config_free(&cfg);
		if (ret == CLI_HELP_SHOWN)
			return EXIT_OK;
		fprintf(stderr, "clone: error: %s\n", err_msg());
		return EXIT_BAD_CONFIG;
	}
	log_set_level((enum log_level)cfg.log_level);
	ret = vm_create(&cfg, start_ns, &vm, &input_error);
	if (ret) {
		fprintf(stderr, "clone: error: %s\n", err_msg());
		config_free(&cfg);
		return input_error ? EXIT_BAD_CONFIG : EXIT_RUNTIME;
	}
	vm_run(vm, &code);
	vm_destroy(vm);
	config_free(&cfg);
	return code;
}
