// SPDX-License-Identifier: Apache-2.0
/* Unit tests: `clone run` argument parsing and vm_config (src/cli/run.c, src/vmm/config.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/err.h"
#include "lib/log.h"

#define PARSE(cfg, ...)                                                                            \
	({                                                                                         \
		char *argv_[] = { "run", __VA_ARGS__, NULL };                                      \
		cli_run_parse((int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_, (cfg));          \
	})

Test(cli, defaults)
{
	struct vm_config cfg;
	char *argv[] = { "run", NULL };

	config_init(&cfg);
	cr_assert_eq(cli_run_parse(1, argv, &cfg), 0);
	cr_assert_null(cfg.kernel);
	cr_assert_eq(cfg.mem_mb, CONFIG_DEFAULT_MEM_MB);
	cr_assert_eq(cfg.vcpus, 1);
	cr_assert_eq(cfg.serial, SERIAL_STDIO);
	config_free(&cfg);
}

Test(cli, every_option)
{
	struct vm_config cfg;

	config_init(&cfg);
	cr_assert_eq(PARSE(&cfg, "--kernel", "/k", "--initrd", "/i", "--cmdline", "a b", "--append",
			   "c", "--mem-mb", "5000", "--vcpus", "3", "--serial", "file=/tmp/x",
			   "--kernel-sha256", "ab", "--boot-timing", "--ksm", "--log-level",
			   "debug"),
		     0);
	cr_assert_str_eq(cfg.kernel, "/k");
	cr_assert_str_eq(cfg.initrd, "/i");
	cr_assert_str_eq(cfg.cmdline, "a b");
	cr_assert_str_eq(cfg.append, "c");
	cr_assert_eq(cfg.mem_mb, 5000);
	cr_assert_eq(cfg.vcpus, 3);
	cr_assert_eq(cfg.serial, SERIAL_FILE);
	cr_assert_str_eq(cfg.serial_path, "/tmp/x");
	cr_assert_str_eq(cfg.kernel_sha256, "ab");
	cr_assert(cfg.boot_timing);
	cr_assert(cfg.ksm);
	cr_assert_eq(cfg.log_level, LOG_DEBUG);
	config_free(&cfg);
}

Test(cli, equals_form_and_repeats)
{
	struct vm_config cfg;

	config_init(&cfg);
	cr_assert_eq(PARSE(&cfg, "--vcpus=2", "--vcpus=4", "--serial=none"), 0);
	cr_assert_eq(cfg.vcpus, 4);
	cr_assert_eq(cfg.serial, SERIAL_NONE);
	config_free(&cfg);
}

Test(cli, bad_values_have_clear_errors)
{
	static const char *const bad[][2] = {
		{ "--vcpus", "0" },	   { "--vcpus", "256" },  { "--vcpus", "-1" },
		{ "--vcpus", "two" },	   { "--mem-mb", "abc" }, { "--mem-mb", "8" },
		{ "--mem-mb", "12G" },	   { "--serial", "tcp" }, { "--serial", "file=" },
		{ "--log-level", "loud" },
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vm_config cfg;
		char *argv[] = { "run", (char *)bad[i][0], (char *)bad[i][1], NULL };

		config_init(&cfg);
		err_clear();
		cr_assert_eq(cli_run_parse(3, argv, &cfg), -EINVAL, "%s %s", bad[i][0], bad[i][1]);
		cr_assert(strstr(err_msg(), bad[i][0]), "message names the flag: %s", err_msg());
		cr_assert_null(strchr(err_msg(), '\n'), "one line");
		config_free(&cfg);
	}
}

Test(cli, unknown_and_missing)
{
	struct vm_config cfg;

	config_init(&cfg);
	cr_assert_eq(PARSE(&cfg, "--frobnicate"), -EINVAL);
	cr_assert(strstr(err_msg(), "--frobnicate"), "%s", err_msg());
	cr_assert_eq(PARSE(&cfg, "--kernel"), -EINVAL);
	cr_assert(strstr(err_msg(), "needs a value"), "%s", err_msg());
	cr_assert_eq(PARSE(&cfg, "stray"), -EINVAL);
	cr_assert(strstr(err_msg(), "stray"), "%s", err_msg());
	config_free(&cfg);
}

Test(cli, help)
{
	struct vm_config cfg;
	FILE *saved = stdout;

	stdout = fopen("/dev/null", "w");
	config_init(&cfg);
	cr_assert_eq(PARSE(&cfg, "--help"), CLI_HELP_SHOWN);
	fclose(stdout);
	stdout = saved;
	config_free(&cfg);
}

Test(config, guest_cmdline_composition)
{
	struct vm_config cfg;
	char *s;

	config_init(&cfg);
	s = config_guest_cmdline(&cfg, "pci=off");
	cr_assert_str_eq(s, CONFIG_DEFAULT_CMDLINE " pci=off");
	free(s);
	cfg.append = strdup("foo=1");
	s = config_guest_cmdline(&cfg, NULL);
	cr_assert_str_eq(s, CONFIG_DEFAULT_CMDLINE " foo=1");
	free(s);
	cfg.cmdline = strdup("console=ttyS0");
	s = config_guest_cmdline(&cfg, "pci=off");
	cr_assert_str_eq(s, "console=ttyS0 foo=1 pci=off");
	free(s);
	config_free(&cfg);
}

Test(config, print_round_trips_fields)
{
	struct vm_config cfg;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	config_init(&cfg);
	cfg.vcpus = 3;
	cfg.mem_mb = 5000;
	cfg.serial = SERIAL_FILE;
	cfg.serial_path = strdup("/tmp/s");
	config_print(&cfg, f);
	fclose(f);
	cr_assert(strstr(buf, "vcpus: 3\n"));
	cr_assert(strstr(buf, "mem-mb: 5000\n"));
	cr_assert(strstr(buf, "serial: file=/tmp/s\n"));
	free(buf);
	config_free(&cfg);
}

Test(config, machine_arguments_go_before_init_arguments)
{
	struct vm_config cfg;
	char *s;

	config_init(&cfg);
	cfg.append = strdup("rdinit=/bin/sh -- -c true");
	s = config_guest_cmdline(&cfg, "pci=off");
	cr_assert_str_eq(s, CONFIG_DEFAULT_CMDLINE " rdinit=/bin/sh pci=off -- -c true");
	free(s);
	cfg.cmdline = strdup("-- x");
	free(cfg.append);
	cfg.append = NULL;
	s = config_guest_cmdline(&cfg, "pci=off");
	cr_assert_str_eq(s, "pci=off -- x");
	free(s);
	free(cfg.cmdline);
	cfg.cmdline = strdup("a --b c");
	s = config_guest_cmdline(&cfg, "pci=off");
	cr_assert_str_eq(s, "a --b c pci=off");
	free(s);
	config_free(&cfg);
}

Test(cli, disks_rootfs_overlay)
{
	struct vm_config cfg;

	config_init(&cfg);
	cr_assert_eq(PARSE(&cfg, "--disk", "/a.img", "--disk", "/b.qcow2,ro,format=qcow2", "--disk",
			   "/c,serial=data-1,format=raw", "--rootfs", "/base.img", "--overlay",
			   "/o.qcow2", "--overlay-size", "4G", "--modules", "none"),
		     0, "%s", err_msg());
	cr_assert_eq(cfg.nr_disks, 3);
	cr_assert_str_eq(cfg.disks[0].path, "/a.img");
	cr_assert_not(cfg.disks[0].ro);
	cr_assert_eq(cfg.disks[0].format, CONFIG_FMT_AUTO);
	cr_assert_null(cfg.disks[0].serial);
	cr_assert_str_eq(cfg.disks[1].path, "/b.qcow2");
	cr_assert(cfg.disks[1].ro);
	cr_assert_eq(cfg.disks[1].format, CONFIG_FMT_QCOW2);
	cr_assert_str_eq(cfg.disks[2].serial, "data-1");
	cr_assert_eq(cfg.disks[2].format, CONFIG_FMT_RAW);
	cr_assert_str_eq(cfg.rootfs, "/base.img");
	cr_assert_eq(cfg.overlay, OVERLAY_FILE);
	cr_assert_str_eq(cfg.overlay_path, "/o.qcow2");
	cr_assert_eq(cfg.overlay_size, 4ull << 30);
	cr_assert_str_eq(cfg.modules, "none");
	config_free(&cfg);

	config_init(&cfg);
	cr_assert_eq(PARSE(&cfg, "--rootfs", "/b", "--overlay", "tmpfs"), 0);
	cr_assert_eq(cfg.overlay, OVERLAY_TMPFS);
	cr_assert_null(cfg.overlay_path);
	cr_assert_eq(PARSE(&cfg, "--rootfs", "/b", "--overlay", "auto"), 0);
	cr_assert_eq(cfg.overlay, OVERLAY_AUTO);
	config_free(&cfg);
}

Test(cli, bad_disk_arguments)
{
	static const char *const bad[][2] = {
		{ "--disk", "" },
		{ "--disk", ",ro" },
		{ "--disk", "/a,rw,bogus" },
		{ "--disk", "/a,format=vmdk" },
		{ "--disk", "/a,serial=" },
		{ "--disk", "/a,serial=123456789012345678901" },
		{ "--disk", "/a,serial=has space" },
		{ "--overlay", "tmpfs" }, /* without --rootfs */
		{ "--overlay-size", "1M" },
		{ "--overlay", "" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vm_config cfg;

		config_init(&cfg);
		cr_assert_eq(PARSE(&cfg, (char *)bad[i][0], (char *)bad[i][1]), -EINVAL,
			     "%s %s accepted", bad[i][0], bad[i][1]);
		cr_assert(strlen(err_msg()) > 0);
		config_free(&cfg);
	}
}

Test(cli, disk_limits_and_conflicts)
{
	struct vm_config cfg;

	config_init(&cfg);
	for (unsigned i = 0; i < CONFIG_MAX_DISKS; i++) {
		char *argv[] = { "run", "--disk", "/x", NULL };

		cr_assert_eq(cli_run_parse(3, argv, &cfg), 0);
	}
	cr_assert_eq(PARSE(&cfg, "--disk", "/one-too-many"), -EINVAL);
	cr_assert(strstr(err_msg(), "at most"));
	config_free(&cfg);

	config_init(&cfg);
	cr_assert_eq(PARSE(&cfg, "--disk", "/a,serial=s", "--disk", "/b,serial=s"), -EINVAL);
	cr_assert(strstr(err_msg(), "twice"));
	config_free(&cfg);

	config_init(&cfg);
	cr_assert_eq(PARSE(&cfg, "--rootfs", "/r", "--initrd", "/i"), -EINVAL);
	config_free(&cfg);
}
