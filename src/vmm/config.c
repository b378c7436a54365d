// SPDX-License-Identifier: Apache-2.0
/*
 * VM configuration: defaults, validation, printing (see config.h).
 * Main thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"

void config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_mb = CONFIG_DEFAULT_MEM_MB;
	cfg->vcpus = CONFIG_DEFAULT_VCPUS;
	cfg->serial = SERIAL_STDIO;
	cfg->log_level = LOG_WARN;
}

static void nic_free(struct nic_config *n)
{
	free(n->tap);
	free(n->bridge);
	free(n->bridge_addr);
	free(n->ip);
	free(n->gw);
	memset(n, 0, sizeof(*n));
}

void config_free(struct vm_config *cfg)
{
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	free(cfg->append);
	free(cfg->kernel_sha256);
	free(cfg->serial_path);
	for (unsigned i = 0; i < cfg->nr_disks; i++) {
		free(cfg->disks[i].path);
		free(cfg->disks[i].serial);
	}
	free(cfg->rootfs);
	free(cfg->overlay_path);
	free(cfg->modules);
	free(cfg->name);
	free(cfg->api_path);
	free(cfg->console_path);
	for (unsigned i = 0; i < cfg->nr_nics; i++)
		nic_free(&cfg->nics[i]);
	free(cfg->netns);
	free(cfg->from_template);
	free(cfg->tmpl);
	memset(cfg, 0, sizeof(*cfg));
}

static int validate_net(const struct vm_config *cfg)
{
	unsigned users = 0;

	for (unsigned i = 0; i < cfg->nr_nics; i++) {
		const struct nic_config *n = &cfg->nics[i];

		users += n->mode == NIC_USER;
		for (unsigned j = 0; j < i; j++) {
			if (n->has_mac && cfg->nics[j].has_mac &&
			    !memcmp(n->mac, cfg->nics[j].mac, 6))
				return err_setx(-EINVAL, "two NICs have the same MAC");
			if (n->mode == NIC_TAP && cfg->nics[j].mode == NIC_TAP &&
			    !strcmp(n->tap, cfg->nics[j].tap))
				return err_setx(-EINVAL, "--tap %s is given twice", n->tap);
		}
	}
	if (users > 1)
		return err_setx(-EINVAL, "--net user: at most one such NIC");
	if (cfg->nr_fwds && !users)
		return err_setx(-EINVAL, "-p forwards ports of --net user: add --net user");
	for (unsigned i = 0; i < cfg->nr_fwds; i++)
		for (unsigned j = 0; j < i; j++)
			if (cfg->fwds[i].host == cfg->fwds[j].host)
				return err_setx(-EINVAL, "-p: host port %u is forwarded twice",
						cfg->fwds[i].host);
	return 0;
}

int config_validate(const struct vm_config *cfg)
{
	if (validate_net(cfg))
		return -EINVAL;
	if (cfg->vcpus < 1 || cfg->vcpus > CONFIG_MAX_VCPUS)
		return err_setx(-EINVAL, "--vcpus must be between 1 and %u", CONFIG_MAX_VCPUS);
	if (cfg->mem_mb < CONFIG_MIN_MEM_MB || cfg->mem_mb > CONFIG_MAX_MEM_MB)
		return err_setx(-EINVAL, "--mem-mb must be between %u and %u", CONFIG_MIN_MEM_MB,
				CONFIG_MAX_MEM_MB);
	if (cfg->serial == SERIAL_FILE && (!cfg->serial_path || !*cfg->serial_path))
		return err_setx(-EINVAL, "--serial file= needs a path");
	if (cfg->overlay != OVERLAY_NONE && !cfg->rootfs && !cfg->from_template)
		return err_setx(-EINVAL, "--overlay needs --rootfs (the read-only base image)");
	if (cfg->rootfs && cfg->initrd)
		return err_setx(-EINVAL, "--rootfs and --initrd exclude each other: with --rootfs "
					 "Clone generates the initramfs");
	if (cfg->cid && cfg->no_vsock)
		return err_setx(-EINVAL, "--cid and --no-vsock exclude each other");
	for (unsigned i = 0; i < cfg->nr_disks; i++)
		for (unsigned j = 0; j < i; j++)
			if (cfg->disks[i].serial && cfg->disks[j].serial &&
			    !strcmp(cfg->disks[i].serial, cfg->disks[j].serial))
				return err_setx(-EINVAL, "--disk: serial %s is used twice",
						cfg->disks[i].serial);
	return 0;
}

/* "FLAG ARG: <the current message>" (the message is copied first: err_setx writes it). */
static int prefix_error(const char *flag, const char *arg)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s", err_msg());
	return err_setx(-EINVAL, "%s %s: %s", flag, arg, msg);
}

/*
 * A KEY=VAL rate-limit option: for a NIC (tx != NULL) "rx_"/"tx_" prefixed
 * keys set one direction and plain ones both.  1 applied, 0 not a
 * rate-limit key, -EINVAL bad value (message set).
 */
static int parse_rl_opt(const char *opt, struct rl_config *rl, struct rl_config *tx,
			const char *flag, const char *arg)
{
	char key[64];
	const char *eq = strchr(opt, '='), *k = key;
	struct rl_config *only = NULL;
	size_t n;
	int ret;

	if (!eq || (n = (size_t)(eq - opt)) >= sizeof(key))
		return 0;
	memcpy(key, opt, n);
	key[n] = '\0';
	if (tx && !strncmp(key, "rx_", 3)) {
		only = rl;
		k += 3;
	} else if (tx && !strncmp(key, "tx_", 3)) {
		only = tx;
		k += 3;
	}
	ret = rl_parse_option(k, eq + 1, only ? only : rl);
	if (ret == 1 && tx && !only)
		ret = rl_parse_option(k, eq + 1, tx);
	if (ret < 0)
		return prefix_error(flag, arg);
	return ret;
}

static int rl_finish(struct rl_config *rl, const char *flag, const char *arg)
{
	if (rl_parse_finish(rl))
		return prefix_error(flag, arg);
	return 0;
}

int config_parse_mac(const char *arg, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (sscanf(arg, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6 ||
	    strlen(arg) != 17)
		return err_setx(-EINVAL, "MAC %s: expected six hex bytes like 02:00:00:12:34:56",
				arg);
	if (v[0] & 1)
		return err_setx(-EINVAL, "MAC %s is a multicast address (the first byte is odd)",
				arg);
	for (unsigned i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

void config_derive_mac(const char *name, unsigned index, uint8_t mac[6])
{
	/* FNV-1a 64 over the name and the index: stable across runs and hosts. */
	uint64_t h = 0xcbf29ce484222325ull;

	for (const char *c = name ? name : ""; *c; c++)
		h = (h ^ (uint8_t)*c) * 0x100000001b3ull;
	h = (h ^ (uint8_t)index) * 0x100000001b3ull;
	mac[0] = 0x02; /* locally administered, unicast */
	for (unsigned i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
}

int config_parse_fwd(const char *arg, struct port_fwd *f)
{
	uint64_t h, g;
	const char *colon = strchr(arg, ':');
	char host[16];

	if (colon) {
		size_t n = (size_t)(colon - arg);

		if (n >= sizeof(host))
			goto bad;
		memcpy(host, arg, n);
		host[n] = '\0';
		if (parse_uint(host, 1, 65535, &h) || parse_uint(colon + 1, 1, 65535, &g))
			goto bad;
	} else {
		if (parse_uint(arg, 1, 65535, &h))
			goto bad;
		g = h;
	}
	f->host = (uint16_t)h;
	f->guest = (uint16_t)g;
	return 0;
bad:
	return err_setx(-EINVAL, "-p %s: expected HOST:GUEST or PORT, ports 1 to 65535", arg);
}

/* Keys every NIC takes: mac=, vhost=on|off, rate limits.  1, 0 (not one), -EINVAL. */
static int parse_nic_common(struct nic_config *n, const char *opt, const char *flag,
			    const char *arg)
{
	if (!strncmp(opt, "mac=", 4)) {
		if (config_parse_mac(opt + 4, n->mac))
			return prefix_error(flag, arg);
		n->has_mac = true;
		return 1;
	}
	if (!strcmp(opt, "vhost=off") || !strcmp(opt, "vhost=on")) {
		n->no_vhost = !strcmp(opt, "vhost=off");
		return 1;
	}
	return parse_rl_opt(opt, &n->rx, &n->tx, flag, arg);
}

static int dup_into(char **dst, const char *v, const char *flag)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : err_set(-ENOMEM, "%s", flag);
}

int config_parse_net(const char *arg, struct nic_config *n)
{
	char *copy, *save = NULL, *opt;
	bool first = true;
	int ret = 0;

	memset(n, 0, sizeof(*n));
	n->mode = NIC_BRIDGE;
	if (!arg || !*arg)
		return 0;
	copy = strdup(arg);
	if (!copy)
		return err_set(-ENOMEM, "--net");
	for (opt = strtok_r(copy, ",", &save); !ret && opt; opt = strtok_r(NULL, ",", &save)) {
		bool was_first = first;

		first = false;
		if (was_first && !strcmp(opt, "user")) {
			n->mode = NIC_USER;
		} else if (was_first && !strcmp(opt, "bridge")) {
			n->mode = NIC_BRIDGE;
		} else if (!strncmp(opt, "bridge=", 7) && n->mode == NIC_BRIDGE) {
			if (!opt[7] || strlen(opt + 7) >= 16)
				ret = err_setx(-EINVAL,
					       "--net %s: a bridge name has 1 to 15 characters",
					       arg);
			else
				ret = dup_into(&n->bridge, opt + 7, "--net");
		} else if (!strncmp(opt, "bridge-addr=", 12) && n->mode == NIC_BRIDGE) {
			ret = dup_into(&n->bridge_addr, opt + 12, "--net");
		} else {
			ret = parse_nic_common(n, opt, "--net", arg);
			if (ret == 0)
				ret = err_setx(
					-EINVAL,
					"--net %s: unknown option '%s' (MODE bridge|user first, "
					"then bridge=NAME, bridge-addr=CIDR, mac=, vhost=off, "
					"bps=, iops=, rx_bps=, tx_bps=...)",
					arg, opt);
			else if (ret == 1)
				ret = 0;
		}
	}
	free(copy);
	if (!ret)
		ret = rl_finish(&n->rx, "--net", arg);
	if (!ret)
		ret = rl_finish(&n->tx, "--net", arg);
	if (ret)
		nic_free(n);
	return ret;
}

int config_parse_tap(const char *arg, struct nic_config *n)
{
	char *copy = strdup(arg), *save = NULL, *opt;
	int ret = 0;

	memset(n, 0, sizeof(*n));
	n->mode = NIC_TAP;
	if (!copy)
		return err_set(-ENOMEM, "--tap");
	opt = strtok_r(copy, ",", &save);
	if (!opt || *arg == ',' || strlen(opt) >= 16) {
		ret = err_setx(-EINVAL, "--tap %s: expected NAME[,mac=][,ip=CIDR][,gw=IP]...", arg);
		goto out;
	}
	ret = dup_into(&n->tap, opt, "--tap");
	while (!ret && (opt = strtok_r(NULL, ",", &save))) {
		if (!strncmp(opt, "ip=", 3) && opt[3]) {
			ret = dup_into(&n->ip, opt + 3, "--tap");
		} else if (!strncmp(opt, "gw=", 3) && opt[3]) {
			ret = dup_into(&n->gw, opt + 3, "--tap");
		} else {
			ret = parse_nic_common(n, opt, "--tap", arg);
			if (ret == 0)
				ret = err_setx(
					-EINVAL,
					"--tap %s: unknown option '%s' (mac=, ip=CIDR, gw=IP, "
					"vhost=off, bps=, iops=, rx_bps=, tx_bps=...)",
					arg, opt);
			else if (ret == 1)
				ret = 0;
		}
	}
	if (!ret)
		ret = rl_finish(&n->rx, "--tap", arg);
	if (!ret)
		ret = rl_finish(&n->tx, "--tap", arg);
out:
	free(copy);
	if (ret)
		nic_free(n);
	return ret;
}

int config_parse_disk(const char *arg, struct disk_config *d)
{
	char *copy = strdup(arg), *save = NULL, *opt;
	int ret = 0;

	memset(d, 0, sizeof(*d));
	if (!copy)
		return err_set(-ENOMEM, "--disk");
	/* The path is everything before the first comma (as in QEMU, no escaping). */
	opt = strtok_r(copy, ",", &save);
	if (!opt || !*opt || *arg == ',') {
		ret = err_setx(-EINVAL,
			       "--disk %s: expected PATH[,ro][,format=raw|qcow2][,serial=S]", arg);
		goto out;
	}
	d->path = strdup(opt);
	while (!ret && (opt = strtok_r(NULL, ",", &save))) {
		if (!strcmp(opt, "ro")) {
			d->ro = true;
		} else if (!strcmp(opt, "rw")) {
			d->ro = false;
		} else if (!strcmp(opt, "format=raw")) {
			d->format = CONFIG_FMT_RAW;
		} else if (!strcmp(opt, "format=qcow2")) {
			d->format = CONFIG_FMT_QCOW2;
		} else if (!strncmp(opt, "serial=", 7)) {
			size_t n = strlen(opt + 7);

			if (!n || n > CONFIG_DISK_SERIAL_MAX) {
				ret = err_setx(-EINVAL,
					       "--disk %s: serial must be 1 to %u characters", arg,
					       CONFIG_DISK_SERIAL_MAX);
				break;
			}
			for (const char *c = opt + 7; *c; c++)
				if (*c <= ' ' || *c > '~')
					ret = err_setx(-EINVAL,
						       "--disk %s: serial must be printable "
						       "ASCII without spaces",
						       arg);
			free(d->serial);
			d->serial = strdup(opt + 7);
		} else {
			ret = parse_rl_opt(opt, &d->rl, NULL, "--disk", arg);
			if (ret == 0)
				ret = err_setx(-EINVAL,
					       "--disk %s: unknown option '%s' (ro, rw, "
					       "format=raw|qcow2, serial=S, bps=, iops=...)",
					       arg, opt);
			else if (ret == 1)
				ret = 0;
		}
	}
	if (!ret)
		ret = rl_finish(&d->rl, "--disk", arg);
	if (!ret && !d->path)
		ret = err_set(-ENOMEM, "--disk");
out:
	free(copy);
	if (ret) {
		free(d->path);
		free(d->serial);
		memset(d, 0, sizeof(*d));
	}
	return ret;
}

int config_parse_overlay(struct vm_config *cfg, const char *arg)
{
	free(cfg->overlay_path);
	cfg->overlay_path = NULL;
	if (!strcmp(arg, "tmpfs")) {
		cfg->overlay = OVERLAY_TMPFS;
	} else if (!strcmp(arg, "auto")) {
		cfg->overlay = OVERLAY_AUTO;
	} else if (*arg) {
		cfg->overlay = OVERLAY_FILE;
		cfg->overlay_path = strdup(arg);
		if (!cfg->overlay_path)
			return err_set(-ENOMEM, "--overlay");
	} else {
		return err_setx(-EINVAL, "--overlay: expected tmpfs, auto or a qcow2 file");
	}
	return 0;
}

static const char *str_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

void config_print(const struct vm_config *cfg, FILE *f)
{
	static const char *const serial_names[] = { "stdio", "file", "none" };

	fprintf(f, "kernel: %s\n", str_or(cfg->kernel, "(newest /boot/vmlinuz-*)"));
	fprintf(f, "initrd: %s\n", str_or(cfg->initrd, "(built-in)"));
	fprintf(f, "cmdline: %s\n", str_or(cfg->cmdline, CONFIG_DEFAULT_CMDLINE));
	fprintf(f, "append: %s\n", str_or(cfg->append, ""));
	fprintf(f, "kernel-sha256: %s\n", str_or(cfg->kernel_sha256, ""));
	fprintf(f, "mem-mb: %llu\n", (unsigned long long)cfg->mem_mb);
	fprintf(f, "vcpus: %u\n", cfg->vcpus);
	fprintf(f, "serial: %s%s%s\n", serial_names[cfg->serial],
		cfg->serial == SERIAL_FILE ? "=" : "",
		cfg->serial == SERIAL_FILE ? cfg->serial_path : "");
	fprintf(f, "boot-timing: %s\n", cfg->boot_timing ? "yes" : "no");
	fprintf(f, "ksm: %s\n", cfg->ksm ? "yes" : "no");
	for (unsigned i = 0; i < cfg->nr_disks; i++) {
		static const char *const fmts[] = { "auto", "raw", "qcow2" };
		const struct disk_config *d = &cfg->disks[i];

		fprintf(f, "disk: %s%s,format=%s", d->path, d->ro ? ",ro" : "", fmts[d->format]);
		if (d->serial)
			fprintf(f, ",serial=%s", d->serial);
		fputc('\n', f);
	}
	fprintf(f, "rootfs: %s\n", str_or(cfg->rootfs, ""));
	{
		static const char *const modes[] = { "none", "tmpfs", "auto", "file" };

		fprintf(f, "overlay: %s%s%s\n", modes[cfg->overlay],
			cfg->overlay == OVERLAY_FILE ? "=" : "", str_or(cfg->overlay_path, ""));
	}
	fprintf(f, "modules: %s\n", str_or(cfg->modules, "(/lib/modules/<version>)"));
	fprintf(f, "name: %s\n", str_or(cfg->name, "(generated)"));
	fprintf(f, "detach: %s\n", cfg->detach ? "yes" : "no");
	if (cfg->cid)
		fprintf(f, "cid: %llu\n", (unsigned long long)cfg->cid);
	else
		fprintf(f, "cid: %s\n", cfg->no_vsock ? "(no vsock)" : "(automatic)");
	fprintf(f, "agent: %s\n", cfg->no_agent || cfg->no_vsock ? "no" : "yes");
	for (unsigned i = 0; i < cfg->nr_nics; i++) {
		static const char *const modes[] = { "bridge", "user", "tap" };
		const struct nic_config *n = &cfg->nics[i];
		char rx[128], tx[128];

		fprintf(f, "net%u: %s", i, modes[n->mode]);
		if (n->tap)
			fprintf(f, " %s", n->tap);
		if (n->bridge)
			fprintf(f, " bridge=%s", n->bridge);
		if (n->has_mac)
			fprintf(f, " mac=%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
				n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		fprintf(f, "%s rx=[%s] tx=[%s]\n", n->no_vhost ? " vhost=off" : "",
			rl_describe(&n->rx, rx, sizeof(rx)), rl_describe(&n->tx, tx, sizeof(tx)));
	}
	for (unsigned i = 0; i < cfg->nr_fwds; i++)
		fprintf(f, "forward: 127.0.0.1:%u -> guest:%u\n", cfg->fwds[i].host,
			cfg->fwds[i].guest);
	if (cfg->netns)
		fprintf(f, "netns: %s\n", cfg->netns);
}

/* Where a " -- " (or leading "-- ") starts the init arguments in s, or NULL. */
static const char *find_init_args(const char *s)
{
	if (!strncmp(s, "-- ", 3) || !strcmp(s, "--"))
		return s;
	for (const char *p = strstr(s, " --"); p; p = strstr(p + 1, " --"))
		if (p[3] == ' ' || p[3] == '\0')
			return p + 1;
	return NULL;
}

char *config_guest_cmdline(const struct vm_config *cfg, const char *extra)
{
	const char *base = str_or(cfg->cmdline, CONFIG_DEFAULT_CMDLINE);
	const char *append = cfg->append ? cfg->append : "";
	size_t len = strlen(base) + strlen(append) + (extra ? strlen(extra) : 0) + 4;
	char *user = malloc(len), *out = malloc(len);
	const char *init;

	if (!user || !out) {
		free(user);
		free(out);
		return NULL;
	}
	snprintf(user, len, "%s%s%s", base, *base && *append ? " " : "", append);
	/*
	 * Kernel arguments end at "--"; what follows goes to init.  The
	 * machine's own arguments must land before it.
	 */
	init = find_init_args(user);
	if (!extra || !*extra)
		snprintf(out, len, "%s", user);
	else if (!init)
		snprintf(out, len, "%s%s%s", user, *user ? " " : "", extra);
	else
		snprintf(out, len, "%.*s%s %s", (int)(init - user), user, extra, init);
	free(user);
	return out;
}
