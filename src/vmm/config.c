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
