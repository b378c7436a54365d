// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: the built-in default guest (src/boot/initramfs.c), listed and
 * unpacked with the system cpio(1).  Needs busybox-static (/bin/busybox).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/initramfs.h"
#include "lib/err.h"
#include "lib/util.h"

struct tmp {
	char dir[64];
};

static void tmp_destroy(struct tmp *t)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	cr_assert_eq(system(cmd), 0);
}

/* Build the default image into a temporary directory as initramfs.cpio, or skip. */
static void build_default(struct tmp *t)
{
	char path[128];
	void *data;
	size_t len;
	FILE *f;

	if (access(INITRAMFS_BUSYBOX, R_OK))
		cr_skip_test("busybox-static is not installed");
	cr_assert_eq(initramfs_build_default(&data, &len), 0, "%s", err_msg());
	cr_assert_eq(len % 4, 0);
	snprintf(t->dir, sizeof(t->dir), "/tmp/clone-initramfs-XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir));
	snprintf(path, sizeof(path), "%s/initramfs.cpio", t->dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	free(data);
}

static char *run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t cap = 65536, len;
	char *out = malloc(cap);

	cr_assert_not_null(p);
	len = fread(out, 1, cap - 1, p);
	out[len] = '\0';
	cr_assert_eq(pclose(p), 0, "%s failed", cmd);
	return out;
}

static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = list; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, name, n) && (l[n] == '\n' || l[n] == '\0'))
			return true;
	return false;
}

static char *slurp(const struct tmp *t, const char *name)
{
	char path[256];
	void *data;
	size_t len;
	char *s;

	snprintf(path, sizeof(path), "%s/out/%s", t->dir, name);
	cr_assert_eq(read_file("file", path, 1 * MiB, &data, &len), 0, "%s", err_msg());
	s = realloc(data, len + 1);
	s[len] = '\0';
	return s;
}

Test(initramfs, default_lists_the_essentials)
{
	static const char *const names[] = {
		"init",	       "bin/busybox",	 "bin/sh",	"sbin/poweroff", "sbin/reboot",
		"etc/inittab", "etc/init.d/rcS", "etc/profile", "etc/passwd",	 "etc/group",
		"dev/console", "proc",		 "sys",		"dev",		 "tmp",
		"run",	       "root",
	};
	struct tmp t;
	char cmd[256], *list;

	build_default(&t);
	snprintf(cmd, sizeof(cmd), "cpio -t --quiet < %s/initramfs.cpio", t.dir);
	list = run(cmd);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		cr_assert(listed(list, names[i]), "%s missing from:\n%s", names[i], list);
	/* Directories come before what they contain: the kernel does not create parents. */
	cr_assert_lt(strstr(list, "etc\n") - list, strstr(list, "etc/inittab") - list);
	cr_assert_lt(strstr(list, "bin\n") - list, strstr(list, "bin/busybox") - list);
	free(list);
	tmp_destroy(&t);
}

Test(initramfs, default_contents)
{
	struct tmp t;
	char cmd[512], path[256], target[64], *s;
	struct stat st, host;
	ssize_t n;

	build_default(&t);
	/* Unpack all but the device nodes (creating those needs CAP_MKNOD). */
	snprintf(cmd, sizeof(cmd),
		 "mkdir %s/out && cd %s/out && cpio -idm --quiet -f 'dev/*' < ../initramfs.cpio",
		 t.dir, t.dir);
	cr_assert_eq(system(cmd), 0);

	snprintf(path, sizeof(path), "%s/out/init", t.dir);
	n = readlink(path, target, sizeof(target) - 1);
	cr_assert_gt(n, 0);
	target[n] = '\0';
	cr_assert_str_eq(target, "/bin/busybox");

	snprintf(path, sizeof(path), "%s/out/bin/busybox", t.dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(stat(INITRAMFS_BUSYBOX, &host), 0);
	cr_assert_eq(st.st_size, host.st_size);
	cr_assert(st.st_mode & S_IXUSR);

	s = slurp(&t, "etc/inittab");
	cr_assert(strstr(s, "::sysinit:/etc/init.d/rcS\n"), "%s", s);
	cr_assert(strstr(s, "ttyS0::respawn:-/bin/sh\n"), "%s", s);
	cr_assert(strstr(s, "::shutdown:"), "%s", s);
	cr_assert(strstr(s, "::ctrlaltdel:"), "%s", s);
	free(s);

	s = slurp(&t, "etc/init.d/rcS");
	cr_assert(!strncmp(s, "#!/bin/sh\n", 10));
	cr_assert(strstr(s, "mount -t devtmpfs devtmpfs /dev\n"), "%s", s);
	cr_assert(strstr(s, "mount -t devpts devpts /dev/pts\n"), "%s", s);
	cr_assert(strstr(s, "hostname clone\n"), "%s", s);
	/* BOOT_TIMER_INIT (0x7b = octal 173) to PORT_BOOT_TIMER (0x610 = 1552). */
	cr_assert(strstr(s, "printf '\\173' | dd of=/dev/port bs=1 seek=1552 count=1"), "%s", s);
	free(s);
	snprintf(path, sizeof(path), "%s/out/etc/init.d/rcS", t.dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0755);

	s = slurp(&t, "etc/profile");
	cr_assert(strstr(s, "PS1="), "%s", s);
	cr_assert(strstr(s, "echo '" INITRAMFS_READY_LINE "'\n"), "%s", s);
	free(s);
	s = slurp(&t, "etc/passwd");
	cr_assert(!strncmp(s, "root:", 5), "%s", s);
	free(s);
	tmp_destroy(&t);
}

/* The rcS and profile scripts parse with the very shell that will run them. */
Test(initramfs, scripts_parse_with_busybox_sh)
{
	struct tmp t;
	char cmd[512];

	build_default(&t);
	snprintf(cmd, sizeof(cmd),
		 "mkdir %s/out && cd %s/out && cpio -idm --quiet -f 'dev/*' < ../initramfs.cpio && "
		 "%s sh -n etc/init.d/rcS && %s sh -n etc/profile",
		 t.dir, t.dir, INITRAMFS_BUSYBOX, INITRAMFS_BUSYBOX);
	cr_assert_eq(system(cmd), 0);
	/* The profile prints exactly the ready line (cd to a missing $HOME only warns). */
	snprintf(cmd, sizeof(cmd), "cd %s/out && HOME=/ %s sh etc/profile 2>/dev/null", t.dir,
		 INITRAMFS_BUSYBOX);
	{
		char *out = run(cmd);

		cr_assert_str_eq(out, INITRAMFS_READY_LINE "\n");
		free(out);
	}
	tmp_destroy(&t);
}

Test(initramfs, dynamic_busybox_refused)
{
	void *data;
	size_t len;

	/* /proc/self/exe is this (dynamically linked) test binary. */
	cr_assert_eq(initramfs_build("/proc/self/exe", &data, &len), -ENOEXEC);
	cr_assert(
		!strncmp(err_msg(),
			 "busybox-static is not installed: apt-get install busybox-static",
			 strlen("busybox-static is not installed: apt-get install busybox-static")),
		"%s", err_msg());
	cr_assert(strstr(err_msg(), "dynamically linked"), "%s", err_msg());
}

Test(initramfs, missing_or_bogus_busybox_refused)
{
	void *data;
	size_t len;

	cr_assert_eq(initramfs_build("/nonexistent/busybox", &data, &len), -ENOENT);
	cr_assert(strstr(err_msg(),
			 "busybox-static is not installed: apt-get install busybox-static"),
		  "%s", err_msg());
	cr_assert_eq(initramfs_build("/etc/passwd", &data, &len), -ENOEXEC);
	cr_assert(strstr(err_msg(), "busybox-static is not installed"), "%s", err_msg());
}
