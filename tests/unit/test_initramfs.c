// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: the built-in default guest and the generated initramfs of the
 * disk roots (src/boot/initramfs.c), listed and unpacked with the system
 * cpio(1).  Needs busybox-static (/bin/busybox); xz, zstd and gzip make the
 * fake module trees.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/agent_blob.h"
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

/*
 * The generated initramfs of the disk roots (initramfs_build_spec), with a
 * small fake module tree: the modules it carries, the /init or rcS that
 * loads them, and the parts of /init that can run outside a guest.
 */
static void fake_put(const char *dir, const char *rel, const char *content)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(content, 1, strlen(content), f), strlen(content));
	cr_assert_eq(fclose(f), 0);
}

/* t->dir/mods: ext4 in zstd, jbd2 in gzip, virtio_mmio in xz; crc32c a soft dependency. */
static void fake_modules(struct tmp *t)
{
	static const char *const kos[] = { "virtio", "virtio_mmio", "virtio_blk", "ext4",
					   "jbd2",   "crc32c",	    "overlay" };
	char dir[128], cmd[512], content[64];

	snprintf(t->dir, sizeof(t->dir), "/tmp/clone-initramfs-XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir));
	snprintf(dir, sizeof(dir), "%s/mods", t->dir);
	cr_assert_eq(mkdir(dir, 0755), 0);
	fake_put(dir, "modules.dep",
		 "virtio_mmio.ko.xz: virtio.ko\n"
		 "virtio.ko:\n"
		 "virtio_blk.ko: virtio.ko\n"
		 "ext4.ko.zst: jbd2.ko.gz\n"
		 "jbd2.ko.gz:\n"
		 "crc32c.ko:\n"
		 "overlay.ko:\n");
	fake_put(dir, "modules.softdep", "softdep ext4 pre: crc32c\n");
	fake_put(dir, "modules.builtin", "kernel/fs/nls/nls_base.ko\n");
	for (size_t i = 0; i < ARRAY_SIZE(kos); i++) {
		char name[64];

		snprintf(name, sizeof(name), "%s.ko", kos[i]);
		snprintf(content, sizeof(content),
			 "\x7f"
			 "ELF %s\n",
			 kos[i]);
		fake_put(dir, name, content);
	}
	snprintf(cmd, sizeof(cmd),
		 "cd %s && xz virtio_mmio.ko && zstd -q --rm ext4.ko && gzip -n jbd2.ko", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Build spec into t->dir/initramfs.cpio and unpack it (device nodes aside) into t->dir/out. */
static void build_spec_into(struct tmp *t, const struct initramfs_spec *spec)
{
	char path[128], cmd[512];
	void *data;
	size_t len;
	FILE *f;

	cr_assert_eq(initramfs_build_spec(spec, &data, &len), 0, "%s", err_msg());
	cr_assert_eq(len % 4, 0);
	snprintf(path, sizeof(path), "%s/initramfs.cpio", t->dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	free(data);
	snprintf(cmd, sizeof(cmd),
		 "rm -rf %s/out && mkdir %s/out && cd %s/out && "
		 "cpio -idm --quiet -f 'dev/*' < ../initramfs.cpio",
		 t->dir, t->dir, t->dir);
	cr_assert_eq(system(cmd), 0);
}

static void spec_for(struct initramfs_spec *spec, const struct tmp *t, char *mods, size_t len,
		     enum initramfs_root root)
{
	if (access(INITRAMFS_BUSYBOX, R_OK))
		cr_skip_test("busybox-static is not installed");
	snprintf(mods, len, "%s/mods", t->dir);
	memset(spec, 0, sizeof(*spec));
	spec->root = root;
	spec->kver = "6.1.0-test";
	spec->modules_dir = mods;
}

/* Each name occurs in s, in this order. */
static void assert_in_order(const char *s, const char *const *names, size_t n)
{
	const char *at = s;

	for (size_t i = 0; i < n; i++) {
		const char *p = strstr(at, names[i]);

		cr_assert_not_null(p, "\"%s\" missing (or out of order) in:\n%s", names[i], s);
		at = p + 1; /* "\nload a\n" then "\nload b\n" share a newline */
	}
}

static void assert_module(const struct tmp *t, const char *name)
{
	char rel[64], want[64], *s;

	snprintf(rel, sizeof(rel), "lib/modules/%s.ko", name);
	snprintf(want, sizeof(want),
		 "\x7f"
		 "ELF %s\n",
		 name);
	s = slurp(t, rel);
	cr_assert_str_eq(s, want, "%s is not stored decompressed", rel);
	free(s);
}

static void syntax_check(const struct tmp *t, const char *script)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "%s sh -n %s/out/%s", INITRAMFS_BUSYBOX, t->dir, script);
	cr_assert_eq(system(cmd), 0, "%s does not parse", script);
}

Test(initramfs, spec_ram_without_disks_is_the_default)
{
	struct initramfs_spec spec = { .root = INITRAMFS_ROOT_RAM };
	void *def, *data;
	size_t def_len, len;

	if (access(INITRAMFS_BUSYBOX, R_OK))
		cr_skip_test("busybox-static is not installed");
	cr_assert_eq(initramfs_build_default(&def, &def_len), 0, "%s", err_msg());
	/* No disks: no modules, and no kernel version needed. */
	cr_assert_eq(initramfs_build_spec(&spec, &data, &len), 0, "%s", err_msg());
	cr_assert_eq(len, def_len);
	cr_assert(!memcmp(data, def, len));
	free(data);
	/* Disks with the drivers built in: the same. */
	spec.virtio_blk = true;
	spec.modules_dir = "none";
	cr_assert_eq(initramfs_build_spec(&spec, &data, &len), 0, "%s", err_msg());
	cr_assert_eq(len, def_len);
	cr_assert(!memcmp(data, def, len));
	free(data);
	free(def);
}

Test(initramfs, spec_ram_with_disks_loads_drivers_first)
{
	static const char *const order[] = {
		"#!/bin/sh\n# Clone default guest: early setup (docs/guest.md)\n",
		("/bin/busybox insmod /lib/modules/virtio.ko || echo 'clone-init: insmod virtio.ko "
		 "failed'\n"),
		"/bin/busybox insmod /lib/modules/virtio_mmio.ko ||",
		"/bin/busybox insmod /lib/modules/virtio_blk.ko ||",
		"/bin/busybox insmod /lib/modules/crc32c.ko 2>/dev/null\n",
		"/bin/busybox insmod /lib/modules/jbd2.ko ||",
		"/bin/busybox insmod /lib/modules/ext4.ko ||",
		"/bin/busybox mount -t proc proc /proc\n",
		"hostname clone\n",
	};
	struct initramfs_spec spec;
	struct tmp t;
	char mods[128], path[256], *s;

	fake_modules(&t);
	spec_for(&spec, &t, mods, sizeof(mods), INITRAMFS_ROOT_RAM);
	spec.virtio_blk = true;
	build_spec_into(&t, &spec);
	s = slurp(&t, "etc/init.d/rcS");
	assert_in_order(s, order, ARRAY_SIZE(order));
	cr_assert_null(strstr(s, "overlay"), "%s", s);
	free(s);
	syntax_check(&t, "etc/init.d/rcS");
	for (const char *n = "virtio\0virtio_mmio\0virtio_blk\0crc32c\0jbd2\0ext4\0"; *n;
	     n += strlen(n) + 1)
		assert_module(&t, n);
	snprintf(path, sizeof(path), "%s/out/lib/modules/overlay.ko", t.dir);
	cr_assert_neq(access(path, F_OK), 0, "overlay.ko is for the overlay root only");
	/* The rest of the default guest is unchanged. */
	s = slurp(&t, "etc/inittab");
	cr_assert(strstr(s, "ttyS0::respawn:-/bin/sh\n"), "%s", s);
	free(s);
	tmp_destroy(&t);
}

Test(initramfs, spec_disk_root_init)
{
	static const char *const order[] = {
		"#!/bin/sh\n",
		"/bin/busybox mount -t proc proc /proc",
		"mount -t sysfs sysfs /sys",
		"mount -t devtmpfs devtmpfs /dev",
		"\nload virtio\n",
		"\nload virtio_mmio\n",
		"\nload virtio_blk\n",
		"\ntry_load crc32c\n",
		"\nload jbd2\n",
		"\nload ext4\n",
		"/sys/block/vd*/serial",
		"usleep 50000",
		"need_disk " INITRAMFS_ROOT_SERIAL "\n",
		("mount -t ext4 -o rw \"$dev\" /newroot 2>/dev/null ||\n"
		 "\tmount -o rw \"$dev\" /newroot ||"),
		"</proc/cmdline",
		"init=*) init=${arg#init=} ;;",
		"mount --move \"/$d\" \"/newroot/$d\"",
		"exec switch_root /newroot \"$init\" \"$@\"\n",
	};
	struct initramfs_spec spec;
	struct tmp t;
	char mods[128], path[256], target[64], *s;
	struct stat st;
	ssize_t n;

	fake_modules(&t);
	spec_for(&spec, &t, mods, sizeof(mods), INITRAMFS_ROOT_DISK);
	build_spec_into(&t, &spec);
	s = slurp(&t, "init");
	assert_in_order(s, order, ARRAY_SIZE(order));
	cr_assert(strstr(s, "fail \"no disk with serial $1\""), "%s", s);
	cr_assert(strstr(s, "echo \"clone-init: $*\""), "%s", s);
	cr_assert(strstr(s, "poweroff -f"), "%s", s);
	cr_assert_null(strstr(s, "overlay"), "%s", s);
	cr_assert_null(strstr(s, INITRAMFS_UPPER_SERIAL), "%s", s);
	cr_assert_null(strstr(s, "clone-agent"), "no agent unless asked: %s", s);
	free(s);
	syntax_check(&t, "init");
	snprintf(path, sizeof(path), "%s/out/init", t.dir);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0755);
	snprintf(path, sizeof(path), "%s/out/bin/sh", t.dir);
	n = readlink(path, target, sizeof(target) - 1);
	cr_assert_gt(n, 0);
	target[n] = '\0';
	cr_assert_str_eq(target, "/bin/busybox");
	snprintf(path, sizeof(path), "%s/out/newroot", t.dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	for (const char *m = "virtio\0virtio_mmio\0virtio_blk\0crc32c\0jbd2\0ext4\0"; *m;
	     m += strlen(m) + 1)
		assert_module(&t, m);
	tmp_destroy(&t);
}

Test(initramfs, spec_overlay_roots)
{
	static const char *const tmpfs_order[] = {
		"\nload ext4\n",
		"\nload overlay\n",
		"need_disk " INITRAMFS_ROOT_SERIAL "\n",
		("mount -t ext4 -o ro,noload \"$dev\" /run/clone/lower 2>/dev/null ||\n"
		 "\tmount -o ro \"$dev\" /run/clone/lower ||"),
		"mount -t tmpfs -o mode=0755 tmpfs /run/clone/upper",
		"mkdir -p /run/clone/upper/upper /run/clone/upper/work",
		("mount -t overlay -o lowerdir=/run/clone/lower,upperdir=/run/clone/upper/upper,"
		 "workdir=/run/clone/upper/work overlay /newroot"),
		"mount --move /run/clone/lower /newroot/run/clone/lower",
		"mount --move /run/clone/upper /newroot/run/clone/upper",
		"exec switch_root /newroot",
	};
	static const char *const disk_order[] = {
		"need_disk " INITRAMFS_ROOT_SERIAL "\n",
		"mount -t ext4 -o ro,noload",
		"need_disk " INITRAMFS_UPPER_SERIAL "\n",
		"mount -t ext4 \"$dev\" /run/clone/upper",
		"mkdir -p /run/clone/upper/upper /run/clone/upper/work",
		"mount -t overlay",
		"exec switch_root /newroot",
	};
	struct initramfs_spec spec;
	struct tmp t;
	char mods[128], *s;

	fake_modules(&t);
	spec_for(&spec, &t, mods, sizeof(mods), INITRAMFS_ROOT_OVERLAY);
	spec.upper = INITRAMFS_UPPER_TMPFS;
	build_spec_into(&t, &spec);
	s = slurp(&t, "init");
	assert_in_order(s, tmpfs_order, ARRAY_SIZE(tmpfs_order));
	cr_assert_null(strstr(s, INITRAMFS_UPPER_SERIAL), "%s", s);
	cr_assert_null(strstr(s, "mount -o rw"), "%s", s);
	free(s);
	syntax_check(&t, "init");
	assert_module(&t, "overlay");
	assert_module(&t, "ext4");

	spec.upper = INITRAMFS_UPPER_DISK;
	build_spec_into(&t, &spec);
	s = slurp(&t, "init");
	assert_in_order(s, disk_order, ARRAY_SIZE(disk_order));
	cr_assert_null(strstr(s, "mount -t tmpfs"), "%s", s);
	free(s);
	syntax_check(&t, "init");
	tmp_destroy(&t);
}

Test(initramfs, spec_built_in_drivers_carry_no_modules)
{
	struct initramfs_spec spec;
	struct tmp t;
	char mods[128], path[256], *s;

	fake_modules(&t);
	spec_for(&spec, &t, mods, sizeof(mods), INITRAMFS_ROOT_OVERLAY);
	spec.modules_dir = "none";
	spec.kver = NULL;
	build_spec_into(&t, &spec);
	s = slurp(&t, "init");
	cr_assert_null(strstr(s, "\nload "), "%s", s);
	cr_assert_null(strstr(s, "\ntry_load "), "%s", s);
	cr_assert(strstr(s, "need_disk " INITRAMFS_ROOT_SERIAL "\n"), "%s", s);
	free(s);
	syntax_check(&t, "init");
	snprintf(path, sizeof(path), "%s/out/lib", t.dir);
	cr_assert_neq(access(path, F_OK), 0);
	tmp_destroy(&t);
}

Test(initramfs, spec_errors)
{
	struct initramfs_spec spec = { .root = INITRAMFS_ROOT_DISK };
	void *data;
	size_t len;

	/* The version names the module directory. */
	cr_assert_eq(initramfs_build_spec(&spec, &data, &len), -EINVAL);
	cr_assert(strstr(err_msg(), "version is unknown"), "%s", err_msg());
	spec.root = INITRAMFS_ROOT_RAM;
	spec.virtio_blk = true;
	cr_assert_eq(initramfs_build_spec(&spec, &data, &len), -EINVAL);
	spec.root = INITRAMFS_ROOT_OVERLAY;
	spec.kver = "0.0.0-clone-test";
	cr_assert_eq(initramfs_build_spec(&spec, &data, &len), -ENOENT);
	cr_assert(strstr(err_msg(), "no module directory /lib/modules/0.0.0-clone-test"), "%s",
		  err_msg());
	cr_assert(strstr(err_msg(), "install the kernel's modules package"), "%s", err_msg());
	spec.modules_dir = "none";
	spec.root = (enum initramfs_root)7;
	cr_assert_eq(initramfs_build_spec(&spec, &data, &len), -EINVAL);
	spec.root = INITRAMFS_ROOT_OVERLAY;
	spec.upper = (enum initramfs_upper)7;
	cr_assert_eq(initramfs_build_spec(&spec, &data, &len), -EINVAL);
	spec.upper = INITRAMFS_UPPER_TMPFS;
	spec.busybox = "/nonexistent/busybox";
	cr_assert_eq(initramfs_build_spec(&spec, &data, &len), -ENOENT);
	cr_assert(strstr(err_msg(), "busybox-static is not installed"), "%s", err_msg());
}

/*
 * find_disk and need_disk from the generated /init, run by busybox sh over
 * a fake /sys/block and /dev (plain files stand in for block devices).
 */
static char *run_find_disk(const struct tmp *t, const char *serial)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
		 "cd %s && { "
		 "echo 'fail() { echo \"FAIL: $*\"; exit 3; }; usleep() { :; }'; "
		 "sed -n '/^find_disk() {$/,/^}$/p; /^need_disk() {$/,/^}$/p' out/init | "
		 "sed -e 's#/sys/block#%s/sys/block#g' -e 's#dev=/dev/#dev=%s/dev/#' "
		 "-e 's#-b \"$dev\"#-e \"$dev\"#'; "
		 "echo 'need_disk %s; echo \"$dev\"'; } > find.sh && %s sh find.sh 2>&1",
		 t->dir, t->dir, t->dir, serial, INITRAMFS_BUSYBOX);
	{
		FILE *p = popen(cmd, "r");
		char *out = calloc(1, 4096);

		cr_assert_not_null(p);
		cr_assert_gt(fread(out, 1, 4095, p) + 1, 0);
		pclose(p);
		return out;
	}
}

Test(initramfs, spec_init_finds_disks_by_serial)
{
	struct initramfs_spec spec = { .root = INITRAMFS_ROOT_DISK, .modules_dir = "none" };
	struct tmp t;
	char cmd[1024], want[256], *out;

	if (access(INITRAMFS_BUSYBOX, R_OK))
		cr_skip_test("busybox-static is not installed");
	snprintf(t.dir, sizeof(t.dir), "/tmp/clone-initramfs-XXXXXX");
	cr_assert_not_null(mkdtemp(t.dir));
	build_spec_into(&t, &spec);
	/* vda: another serial; vdb: clone-root, partitioned; vdc: clone-upper, whole disk. */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && mkdir -p sys/block/vda sys/block/vdb/vdb1 sys/block/vdc dev && "
		 "echo data > sys/block/vda/serial && echo clone-root > sys/block/vdb/serial && "
		 "printf clone-upper > sys/block/vdc/serial && touch dev/vda dev/vdb1 dev/vdc",
		 t.dir);
	cr_assert_eq(system(cmd), 0);

	out = run_find_disk(&t, INITRAMFS_ROOT_SERIAL);
	snprintf(want, sizeof(want), "%s/dev/vdb1\n", t.dir);
	cr_assert_str_eq(out, want);
	free(out);
	/* A serial without a newline (a 20-byte one has none) still matches. */
	out = run_find_disk(&t, INITRAMFS_UPPER_SERIAL);
	snprintf(want, sizeof(want), "%s/dev/vdc\n", t.dir);
	cr_assert_str_eq(out, want);
	free(out);
	out = run_find_disk(&t, "clone-nothing");
	cr_assert_str_eq(out, "FAIL: no disk with serial clone-nothing\n");
	free(out);
	/* Seen in sysfs, never in /dev. */
	snprintf(cmd, sizeof(cmd), "rm %s/dev/vdb1", t.dir);
	cr_assert_eq(system(cmd), 0);
	out = run_find_disk(&t, INITRAMFS_ROOT_SERIAL);
	snprintf(want, sizeof(want),
		 "FAIL: %s/dev/vdb1 (the disk with serial clone-root) did not appear\n", t.dir);
	cr_assert_str_eq(out, want);
	free(out);
	tmp_destroy(&t);
}

/* The init= block of the generated /init, over a fake /proc/cmdline. */
Test(initramfs, spec_init_takes_init_from_the_command_line)
{
	static const struct {
		const char *cmdline, *init;
	} cases[] = {
		{ "console=ttyS0 panic=-1 quiet", "/sbin/init" },
		{ "console=ttyS0 init=/bin/sh quiet", "/bin/sh" },
		{ "init=/lib/systemd/systemd", "/lib/systemd/systemd" },
		{ "rdinit=/init * init=/usr/bin/x?", "/usr/bin/x?" },
	};
	struct initramfs_spec spec = { .root = INITRAMFS_ROOT_OVERLAY, .modules_dir = "none" };
	struct tmp t;
	char cmd[1024], want[128];

	if (access(INITRAMFS_BUSYBOX, R_OK))
		cr_skip_test("busybox-static is not installed");
	snprintf(t.dir, sizeof(t.dir), "/tmp/clone-initramfs-XXXXXX");
	cr_assert_not_null(mkdtemp(t.dir));
	build_spec_into(&t, &spec);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *out;

		snprintf(cmd, sizeof(cmd),
			 "cd %s && printf '%%s\\n' '%s' > cmdline && "
			 "{ sed -n '/^init=\\/sbin\\/init$/,/^set +f$/p' out/init | "
			 "sed 's#/proc/cmdline#%s/cmdline#'; echo 'echo \"$init\"'; } > init.sh && "
			 "%s sh init.sh",
			 t.dir, cases[i].cmdline, t.dir, INITRAMFS_BUSYBOX);
		out = run(cmd);
		snprintf(want, sizeof(want), "%s\n", cases[i].init);
		cr_assert_str_eq(out, want, "%s", cases[i].cmdline);
		free(out);
	}
	tmp_destroy(&t);
}

/* The host's own module tree, when it has one: every mode builds, with real modules. */
Test(initramfs, spec_with_the_host_modules)
{
	static const enum initramfs_root roots[] = { INITRAMFS_ROOT_RAM, INITRAMFS_ROOT_DISK,
						     INITRAMFS_ROOT_OVERLAY };
	char kver[256] = "", path[512];
	struct dirent *de;
	DIR *d;

	if (access(INITRAMFS_BUSYBOX, R_OK))
		cr_skip_test("busybox-static is not installed");
	d = opendir("/lib/modules");
	while (d && (de = readdir(d))) {
		snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", de->d_name);
		if (de->d_name[0] != '.' && strlen(de->d_name) < sizeof(kver) &&
		    !access(path, R_OK) && (!kver[0] || strverscmp(de->d_name, kver) > 0))
			snprintf(kver, sizeof(kver), "%s", de->d_name);
	}
	if (d)
		closedir(d);
	if (!kver[0])
		cr_skip_test("no module tree in /lib/modules");
	for (size_t i = 0; i < ARRAY_SIZE(roots); i++) {
		struct initramfs_spec spec = { .root = roots[i], .virtio_blk = true, .kver = kver };
		struct tmp t;
		char *list, cmd[256];

		snprintf(t.dir, sizeof(t.dir), "/tmp/clone-initramfs-XXXXXX");
		cr_assert_not_null(mkdtemp(t.dir));
		build_spec_into(&t, &spec);
		snprintf(cmd, sizeof(cmd), "cpio -t --quiet < %s/initramfs.cpio", t.dir);
		list = run(cmd);
		cr_assert(listed(list, "lib/modules/virtio_blk.ko"), "%s", list);
		cr_assert(listed(list, "lib/modules/ext4.ko"), "%s", list);
		cr_assert_eq(listed(list, "lib/modules/overlay.ko"),
			     roots[i] == INITRAMFS_ROOT_OVERLAY, "%s", list);
		free(list);
		syntax_check(&t, roots[i] == INITRAMFS_ROOT_RAM ? "etc/init.d/rcS" : "init");
		tmp_destroy(&t);
	}
}

/* With the agent: the binary the clone binary carries, started before switch_root. */
Test(initramfs, spec_agent_in_disk_and_ram_roots)
{
	static const char *const init_order[] = {
		"mount --move \"/$d\" \"/newroot/$d\"",
		"setsid /bin/clone-agent --chroot /newroot </newroot/dev/null",
		"exec switch_root /newroot \"$init\" \"$@\"\n",
	};
	static const char *const rcs_order[] = {
		"mount -t devtmpfs devtmpfs /dev",
		"acpid -c /etc/acpi -l /dev/null",
		"setsid /bin/clone-agent </dev/null >/dev/null 2>&1 &\n",
		"dd of=/dev/port",
	};
	struct initramfs_spec spec = { .root = INITRAMFS_ROOT_DISK,
				       .modules_dir = "none",
				       .agent = true };
	struct tmp t;
	char *s;
	size_t len;

	if (access(INITRAMFS_BUSYBOX, R_OK))
		cr_skip_test("busybox-static is not installed");
	cr_assert_gt(clone_agent_size(), 4096, "the agent is linked in");
	snprintf(t.dir, sizeof(t.dir), "/tmp/clone-initramfs-XXXXXX");
	cr_assert_not_null(mkdtemp(t.dir));
	build_spec_into(&t, &spec);
	s = slurp(&t, "init");
	assert_in_order(s, init_order, ARRAY_SIZE(init_order));
	free(s);
	syntax_check(&t, "init");
	s = slurp(&t, "bin/clone-agent");
	len = clone_agent_size();
	cr_assert_eq(memcmp(s, clone_agent_blob, len), 0);
	cr_assert_eq(memcmp(s,
			    "\x7f"
			    "ELF",
			    4),
		     0);
	free(s);
	tmp_destroy(&t);

	spec = (struct initramfs_spec){
		.root = INITRAMFS_ROOT_RAM, .modules_dir = "none", .agent = true, .acpid = true
	};
	snprintf(t.dir, sizeof(t.dir), "/tmp/clone-initramfs-XXXXXX");
	cr_assert_not_null(mkdtemp(t.dir));
	build_spec_into(&t, &spec);
	s = slurp(&t, "etc/init.d/rcS");
	assert_in_order(s, rcs_order, ARRAY_SIZE(rcs_order));
	free(s);
	syntax_check(&t, "etc/init.d/rcS");
	s = slurp(&t, "etc/acpi/PWRF/00000080");
	cr_assert(strstr(s, "poweroff"), "%s", s);
	free(s);
	s = slurp(&t, "bin/clone-agent");
	free(s);
	tmp_destroy(&t);
}
