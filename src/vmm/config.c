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

void config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_mb = CONFIG_DEFAULT_MEM_MB;
	cfg->vcpus = CONFIG_DEFAULT_VCPUS;
	cfg->serial = SERIAL_STDIO;
	cfg->log_level = LOG_WARN;
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
	memset(cfg, 0, sizeof(*cfg));
}

int config_validate(const struct vm_config *cfg)
{
	if (cfg->vcpus < 1 || cfg->vcpus > CONFIG_MAX_VCPUS)
		return err_setx(-EINVAL, "--vcpus must be between 1 and %u", CONFIG_MAX_VCPUS);
	if (cfg->mem_mb < CONFIG_MIN_MEM_MB || cfg->mem_mb > CONFIG_MAX_MEM_MB)
		return err_setx(-EINVAL, "--mem-mb must be between %u and %u", CONFIG_MIN_MEM_MB,
				CONFIG_MAX_MEM_MB);
	if (cfg->serial == SERIAL_FILE && (!cfg->serial_path || !*cfg->serial_path))
		return err_setx(-EINVAL, "--serial file= needs a path");
	if (cfg->overlay != OVERLAY_NONE && !cfg->rootfs)
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
			ret = err_setx(-EINVAL,
				       "--disk %s: unknown option '%s' (ro, rw, format=raw|qcow2, "
				       "serial=S)",
				       arg, opt);
		}
	}
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
