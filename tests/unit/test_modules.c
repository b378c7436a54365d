// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: kernel module resolution and decompression
 * (src/boot/modules.c) against fake module trees in temporary directories
 * (compressed with the system xz, zstd and gzip) and against the host's
 * /lib/modules when it has a tree; and kernel_version() (src/boot/kernel.c),
 * which names that tree.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "boot/kernel.h"
#include "boot/modules.h"
#include "lib/err.h"
#include "lib/util.h"

struct tree {
	char dir[64];
};

static void tree_destroy(struct tree *t)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	cr_assert_eq(system(cmd), 0);
}

static void mkdirs(const char *path)
{
	char p[512];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
}

static void put(const struct tree *t, const char *rel, const char *content)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
	mkdirs(path);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(content, 1, strlen(content), f), strlen(content));
	cr_assert_eq(fclose(f), 0);
}

/* What the fake module file for name holds, decompressed. */
static void ko_content(const char *name, char *buf, size_t len)
{
	snprintf(buf, len,
		 "\x7f"
		 "ELF fake module %s\n",
		 name);
}

/* A fake module at rel; .xz, .zst and .gz names are compressed by the system tools. */
static void put_ko(const struct tree *t, const char *rel, const char *name)
{
	static const struct {
		const char *ext, *cmd;
	} tools[] = { { ".xz", "xz -f" }, { ".zst", "zstd -q -f --rm" }, { ".gz", "gzip -f -n" } };
	char plain[512], cmd[1024], content[128];

	ko_content(name, content, sizeof(content));
	snprintf(plain, sizeof(plain), "%s", rel);
	for (size_t i = 0; i < ARRAY_SIZE(tools); i++) {
		size_t n = strlen(plain), e = strlen(tools[i].ext);

		if (n > e && !strcmp(plain + n - e, tools[i].ext)) {
			plain[n - e] = '\0';
			put(t, plain, content);
			snprintf(cmd, sizeof(cmd), "cd %s && %s %s", t->dir, tools[i].cmd, plain);
			cr_assert_eq(system(cmd), 0, "%s", cmd);
			return;
		}
	}
	put(t, rel, content);
}

/*
 * The shape of Debian's tree for the modules the generated initramfs
 * needs, with every compression kmod knows.
 */
static const char fake_dep[] =
	"kernel/drivers/virtio/virtio_mmio.ko.xz: kernel/drivers/virtio/virtio.ko.zst "
	"kernel/drivers/virtio/virtio_ring.ko.gz\n"
	"kernel/drivers/virtio/virtio.ko.zst: kernel/drivers/virtio/virtio_ring.ko.gz\n"
	"kernel/drivers/virtio/virtio_ring.ko.gz:\n"
	"kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko.zst "
	"kernel/drivers/virtio/virtio_ring.ko.gz\n"
	"kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko\n"
	"kernel/fs/jbd2/jbd2.ko:\n"
	"kernel/fs/mbcache.ko:\n"
	"kernel/lib/crc16.ko:\n"
	"kernel/crypto/crc32c_generic.ko:\n"
	"kernel/arch/x86/crypto/crc32c-intel.ko:\n"
	"kernel/fs/overlayfs/overlay.ko:\n"
	"kernel/drivers/unrelated/other-mod.ko: kernel/lib/crc16.ko\n";

static const struct {
	const char *path, *name;
} fake_kos[] = {
	{ "kernel/drivers/virtio/virtio_mmio.ko.xz", "virtio_mmio" },
	{ "kernel/drivers/virtio/virtio.ko.zst", "virtio" },
	{ "kernel/drivers/virtio/virtio_ring.ko.gz", "virtio_ring" },
	{ "kernel/drivers/block/virtio_blk.ko", "virtio_blk" },
	{ "kernel/fs/ext4/ext4.ko", "ext4" },
	{ "kernel/fs/jbd2/jbd2.ko", "jbd2" },
	{ "kernel/fs/mbcache.ko", "mbcache" },
	{ "kernel/lib/crc16.ko", "crc16" },
	{ "kernel/crypto/crc32c_generic.ko", "crc32c_generic" },
	{ "kernel/arch/x86/crypto/crc32c-intel.ko", "crc32c_intel" },
	{ "kernel/fs/overlayfs/overlay.ko", "overlay" },
	{ "kernel/drivers/unrelated/other-mod.ko", "other_mod" },
};

static void fake_tree(struct tree *t, const char *builtin)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/clone-modules-XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir));
	put(t, "modules.dep", fake_dep);
	put(t, "modules.softdep",
	    "# Soft dependencies extracted from modules themselves.\n"
	    "softdep ext4 pre: crypto-crc32c\n"
	    "softdep jbd2 pre: crypto-crc32c post: nothing-here\n");
	put(t, "modules.alias",
	    "# Aliases extracted from modules themselves.\n"
	    "alias crypto-crc32c-intel crc32c_intel\n"
	    "alias crypto-crc32c crc32c_intel\n"
	    "alias crypto-crc32c crc32c_generic\n"
	    "alias crc32c crc32c_generic\n"
	    "alias pci:v00001AF4d00001042sv*sd*bc*sc*i* virtio_pci\n");
	put(t, "modules.builtin", builtin ? builtin : "kernel/fs/unrelated/builtin-thing.ko\n");
	for (size_t i = 0; i < ARRAY_SIZE(fake_kos); i++)
		put_ko(t, fake_kos[i].path, fake_kos[i].name);
}

static const char *const blk_names[] = { "virtio_mmio", "virtio_blk", "ext4" };
static const char *const all_names[] = { "virtio_mmio", "virtio_blk", "ext4", "overlay" };

static long index_of(const struct modules *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->mod[i].name, name))
			return (long)i;
	return -1;
}

/* Every module once, every one after its hard dependencies. */
static void assert_valid_order(const struct modules *m)
{
	static const char *const before[][2] = {
		{ "virtio_ring", "virtio" }, { "virtio", "virtio_mmio" },
		{ "virtio", "virtio_blk" },  { "crc16", "ext4" },
		{ "mbcache", "ext4" },	     { "jbd2", "ext4" },
	};

	for (size_t i = 0; i < m->n; i++)
		cr_assert_eq(index_of(m, m->mod[i].name), (long)i, "%s twice", m->mod[i].name);
	for (size_t i = 0; i < ARRAY_SIZE(before); i++) {
		long a = index_of(m, before[i][0]), b = index_of(m, before[i][1]);

		if (a >= 0 && b >= 0)
			cr_assert_lt(a, b, "%s must load before %s", before[i][0], before[i][1]);
	}
}

Test(modules, fake_tree_load_order)
{
	static const struct {
		const char *name;
		bool optional;
	} want[] = {
		{ "virtio_ring", false }, { "virtio", false },	    { "virtio_mmio", false },
		{ "virtio_blk", false },  { "crc32c_intel", true }, { "crc32c_generic", true },
		{ "jbd2", false },	  { "mbcache", false },	    { "crc16", false },
		{ "ext4", false },
	};
	struct modules m;
	struct tree t;

	fake_tree(&t, NULL);
	cr_assert_eq(modules_resolve(t.dir, "6.1.0-test", blk_names, 3, &m), 0, "%s", err_msg());
	cr_assert_eq(m.n, ARRAY_SIZE(want));
	for (size_t i = 0; i < m.n; i++) {
		char path_end[128];

		cr_assert_str_eq(m.mod[i].name, want[i].name, "entry %zu", i);
		cr_assert_eq(m.mod[i].optional, want[i].optional, "%s", want[i].name);
		cr_assert(!strncmp(m.mod[i].path, t.dir, strlen(t.dir)), "%s", m.mod[i].path);
		snprintf(path_end, sizeof(path_end), "%s", strrchr(m.mod[i].path, '/') + 1);
		cr_assert(strstr(path_end, ".ko"), "%s", m.mod[i].path);
	}
	assert_valid_order(&m);
	modules_destroy(&m);
	cr_assert_eq(m.n, 0);
	tree_destroy(&t);
}

Test(modules, overlay_added_last_and_each_module_once)
{
	static const char *const names[] = { "ext4", "virtio_mmio", "ext4",
					     "jbd2", "virtio_blk",  "overlay" };
	struct modules m;
	struct tree t;

	fake_tree(&t, NULL);
	cr_assert_eq(modules_resolve(t.dir, "6.1.0-test", all_names, 4, &m), 0, "%s", err_msg());
	cr_assert_eq(m.n, 11);
	cr_assert_str_eq(m.mod[10].name, "overlay");
	cr_assert_lt(index_of(&m, "other_mod"), 0);
	modules_destroy(&m);

	cr_assert_eq(modules_resolve(t.dir, "6.1.0-test", names, ARRAY_SIZE(names), &m), 0, "%s",
		     err_msg());
	cr_assert_eq(m.n, 11);
	assert_valid_order(&m);
	cr_assert_lt(index_of(&m, "ext4"), index_of(&m, "virtio_mmio"));
	modules_destroy(&m);
	tree_destroy(&t);
}

Test(modules, reads_plain_xz_zstd_and_gzip)
{
	struct modules m;
	struct tree t;
	size_t seen = 0;

	fake_tree(&t, NULL);
	cr_assert_eq(modules_resolve(t.dir, "6.1.0-test", blk_names, 3, &m), 0, "%s", err_msg());
	for (size_t i = 0; i < m.n; i++) {
		char want[128];
		void *data;
		size_t len;

		cr_assert_eq(modules_read(&m.mod[i], &data, &len), 0, "%s", err_msg());
		ko_content(m.mod[i].name, want, sizeof(want));
		cr_assert_eq(len, strlen(want), "%s", m.mod[i].path);
		cr_assert(!memcmp(data, want, len), "%s", m.mod[i].path);
		free(data);
		for (const char *e = ".xz\0.zst\0.gz\0"; *e; e += strlen(e) + 1) {
			size_t n = strlen(m.mod[i].path);

			if (n > strlen(e) && !strcmp(m.mod[i].path + n - strlen(e), e))
				seen++;
		}
	}
	cr_assert_eq(seen, 3, "one module each in xz, zstd and gzip");
	modules_destroy(&m);
	tree_destroy(&t);
}

Test(modules, corrupt_or_foreign_files_refused)
{
	struct module mod = { .name = "bad", .optional = false };
	struct tree t;
	char path[256], cmd[512];
	void *data;
	size_t len;

	fake_tree(&t, NULL);
	mod.path = path;
	/* Truncated xz, zstd and gzip streams. */
	for (const char *e = "xz\0zst\0gz\0"; *e; e += strlen(e) + 1) {
		snprintf(path, sizeof(path), "%s/cut.ko.%s", t.dir, e);
		snprintf(cmd, sizeof(cmd), "head -c 12 %s/kernel/drivers/virtio/*.ko.%s > %s",
			 t.dir, e, path);
		cr_assert_eq(system(cmd), 0);
		cr_assert_eq(modules_read(&mod, &data, &len), -EBADMSG, "%s: %s", e, err_msg());
		cr_assert(strstr(err_msg(), path), "%s", err_msg());
	}
	put(&t, "text.ko", "not an ELF file\n");
	snprintf(path, sizeof(path), "%s/text.ko", t.dir);
	cr_assert_eq(modules_read(&mod, &data, &len), -ENOEXEC);
	cr_assert(strstr(err_msg(), "not an ELF object"), "%s", err_msg());
	snprintf(path, sizeof(path), "%s/missing.ko", t.dir);
	cr_assert_eq(modules_read(&mod, &data, &len), -ENOENT);
	tree_destroy(&t);
}

Test(modules, builtin_modules_neither_carried_nor_loaded)
{
	struct modules m;
	struct tree t;

	fake_tree(&t, "kernel/fs/mbcache.ko\nkernel/drivers/virtio/virtio_ring.ko\n"
		      "kernel/crypto/crc32c_generic.ko\n");
	cr_assert_eq(modules_resolve(t.dir, "6.1.0-test", blk_names, 3, &m), 0, "%s", err_msg());
	cr_assert_eq(m.n, 7);
	cr_assert_lt(index_of(&m, "mbcache"), 0);
	cr_assert_lt(index_of(&m, "virtio_ring"), 0);
	cr_assert_lt(index_of(&m, "crc32c_generic"), 0);
	cr_assert_geq(index_of(&m, "crc32c_intel"), 0);
	cr_assert_geq(index_of(&m, "ext4"), 0);
	assert_valid_order(&m);
	modules_destroy(&m);
	tree_destroy(&t);
}

Test(modules, all_built_in_carries_none)
{
	struct modules m;
	struct tree t;

	fake_tree(&t, "kernel/drivers/virtio/virtio_mmio.ko\nkernel/drivers/block/virtio_blk.ko\n"
		      "kernel/fs/ext4/ext4.ko\nkernel/fs/overlayfs/overlay.ko\n");
	cr_assert_eq(modules_resolve(t.dir, "6.1.0-test", all_names, 4, &m), 0, "%s", err_msg());
	cr_assert_eq(m.n, 0);
	modules_destroy(&m);
	tree_destroy(&t);
}

Test(modules, none_and_nothing_needed)
{
	struct modules m;

	cr_assert_eq(modules_resolve(MODULES_NONE, NULL, all_names, 4, &m), 0);
	cr_assert_eq(m.n, 0);
	cr_assert_eq(modules_resolve(NULL, NULL, all_names, 0, &m), 0);
	cr_assert_eq(m.n, 0);
	modules_destroy(&m);
}

Test(modules, missing_directory)
{
	struct modules m;

	cr_assert_eq(modules_resolve("/nonexistent/modules", "6.1.0-test", blk_names, 3, &m),
		     -ENOENT);
	cr_assert_str_eq(err_msg(),
			 "kernel 6.1.0-test: no module directory /nonexistent/modules (needed "
			 "for virtio_mmio, virtio_blk, ext4): install the kernel's modules "
			 "package, or pass --modules DIR (--modules none for a kernel with "
			 "virtio_mmio, virtio_blk, ext4 built in)");
	cr_assert_eq(m.n, 0);
	/* The default directory comes from the version. */
	cr_assert_eq(modules_resolve(NULL, "0.0.0-clone-test", all_names, 4, &m), -ENOENT);
	cr_assert(strstr(err_msg(), "no module directory /lib/modules/0.0.0-clone-test"), "%s",
		  err_msg());
	cr_assert(strstr(err_msg(), "virtio_mmio, virtio_blk, ext4, overlay built in"), "%s",
		  err_msg());
	/* A file is no directory either. */
	cr_assert_eq(modules_resolve("/etc/passwd", "6.1.0-test", blk_names, 3, &m), -ENOENT);
}

Test(modules, unknown_version)
{
	struct modules m;

	cr_assert_eq(modules_resolve(NULL, NULL, blk_names, 3, &m), -EINVAL);
	cr_assert(strstr(err_msg(), "version is unknown"), "%s", err_msg());
	cr_assert(strstr(err_msg(), "virtio_mmio, virtio_blk, ext4"), "%s", err_msg());
	cr_assert_eq(modules_resolve(NULL, "../../etc", blk_names, 3, &m), -EINVAL);
	cr_assert_eq(modules_resolve(NULL, "", blk_names, 3, &m), -EINVAL);
}

Test(modules, missing_module_index_or_file)
{
	static const char *const nosuch[] = { "virtio_blk", "nosuch-driver" };
	struct modules m;
	struct tree t;
	char path[256];

	fake_tree(&t, NULL);
	cr_assert_eq(modules_resolve(t.dir, "6.1.0-test", nosuch, 2, &m), -ENOENT);
	cr_assert(strstr(err_msg(), "module nosuch_driver is neither built in nor in"), "%s",
		  err_msg());
	cr_assert(strstr(err_msg(), "kernel 6.1.0-test"), "%s", err_msg());
	cr_assert_eq(m.n, 0);
	cr_assert_null(m.mod);

	/* modules.dep names it, the file is gone: a needed one is an error ... */
	snprintf(path, sizeof(path), "%s/kernel/fs/jbd2/jbd2.ko", t.dir);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(modules_resolve(t.dir, "6.1.0-test", blk_names, 3, &m), -ENOENT);
	cr_assert(strstr(err_msg(), "module jbd2"), "%s", err_msg());
	cr_assert(strstr(err_msg(), path), "%s", err_msg());
	/* ... an optional one is left out. */
	put_ko(&t, "kernel/fs/jbd2/jbd2.ko", "jbd2");
	snprintf(path, sizeof(path), "%s/kernel/arch/x86/crypto/crc32c-intel.ko", t.dir);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(modules_resolve(t.dir, "6.1.0-test", blk_names, 3, &m), 0, "%s", err_msg());
	cr_assert_lt(index_of(&m, "crc32c_intel"), 0);
	cr_assert_geq(index_of(&m, "crc32c_generic"), 0);
	modules_destroy(&m);

	snprintf(path, sizeof(path), "%s/modules.dep", t.dir);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(modules_resolve(t.dir, "6.1.0-test", blk_names, 3, &m), -ENOENT);
	cr_assert(strstr(err_msg(), "modules.dep is missing (run depmod"), "%s", err_msg());
	tree_destroy(&t);
}

Test(modules, dash_and_underscore_are_one)
{
	static const char *const names[] = { "virtio-blk", "crc32c_intel", "other_mod" };
	struct modules m;
	struct tree t;
	char out[16];

	modules_normalise(out, sizeof(out), "crc32c-intel");
	cr_assert_str_eq(out, "crc32c_intel");
	modules_normalise(out, 5, "a-b-c-d-e");
	cr_assert_str_eq(out, "a_b_");

	fake_tree(&t, NULL);
	cr_assert_eq(modules_resolve(t.dir, "6.1.0-test", names, 3, &m), 0, "%s", err_msg());
	cr_assert_geq(index_of(&m, "virtio_blk"), 0);
	cr_assert_geq(index_of(&m, "crc32c_intel"), 0);
	cr_assert(strstr(m.mod[index_of(&m, "crc32c_intel")].path, "crc32c-intel.ko"));
	cr_assert_geq(index_of(&m, "other_mod"), 0);
	modules_destroy(&m);
	tree_destroy(&t);
}

Test(modules, optional_becomes_needed)
{
	static const char *const names[] = { "ext4", "crc32c-intel" };
	static const char *const first[] = { "crc32c_generic", "ext4" };
	struct modules m;
	struct tree t;

	fake_tree(&t, NULL);
	/* First a soft dependency of ext4, then asked for by name. */
	cr_assert_eq(modules_resolve(t.dir, "6.1.0-test", names, 2, &m), 0, "%s", err_msg());
	cr_assert_eq(m.mod[index_of(&m, "crc32c_intel")].optional, false);
	cr_assert_eq(m.mod[index_of(&m, "crc32c_generic")].optional, true);
	modules_destroy(&m);
	/* Asked for by name, then a soft dependency: it stays needed. */
	cr_assert_eq(modules_resolve(t.dir, "6.1.0-test", first, 2, &m), 0, "%s", err_msg());
	cr_assert_eq(index_of(&m, "crc32c_generic"), 0);
	cr_assert_eq(m.mod[0].optional, false);
	cr_assert_eq(m.mod[index_of(&m, "crc32c_intel")].optional, true);
	modules_destroy(&m);
	tree_destroy(&t);
}

Test(modules, loops_and_counts_are_bounded)
{
	static const char *const loop[] = { "a" };
	static const char *const wide[] = { "top" };
	struct modules m;
	struct tree t;
	char *dep, rel[64];
	size_t off = 0;

	snprintf(t.dir, sizeof(t.dir), "/tmp/clone-modules-XXXXXX");
	cr_assert_not_null(mkdtemp(t.dir));
	put(&t, "modules.dep", "a.ko: b.ko\nb.ko: a.ko\n");
	put_ko(&t, "a.ko", "a");
	put_ko(&t, "b.ko", "b");
	cr_assert_eq(modules_resolve(t.dir, "6.1.0-test", loop, 1, &m), -ELOOP);
	cr_assert(strstr(err_msg(), "a loop?"), "%s", err_msg());
	cr_assert_eq(m.n, 0);

	/* One module with MODULES_MAX dependencies: MODULES_MAX + 1 in all. */
	dep = malloc(64 * (MODULES_MAX + 2));
	off += (size_t)sprintf(dep + off, "top.ko:");
	for (int i = 0; i < MODULES_MAX; i++)
		off += (size_t)sprintf(dep + off, " m%d.ko", i);
	off += (size_t)sprintf(dep + off, "\n");
	for (int i = 0; i < MODULES_MAX; i++) {
		off += (size_t)sprintf(dep + off, "m%d.ko:\n", i);
		snprintf(rel, sizeof(rel), "m%d.ko", i);
		put_ko(&t, rel, rel);
	}
	put(&t, "modules.dep", dep);
	put_ko(&t, "top.ko", "top");
	free(dep);
	cr_assert_eq(modules_resolve(t.dir, "6.1.0-test", wide, 1, &m), -E2BIG);
	cr_assert(strstr(err_msg(), "more than 64 modules"), "%s", err_msg());
	tree_destroy(&t);
}

/* The host's module tree for uname -r, else the newest one there is; false if none. */
static bool host_tree(char *kver, size_t len)
{
	struct utsname u;
	char path[512];
	struct dirent *de;
	DIR *d;

	kver[0] = '\0';
	if (!uname(&u)) {
		snprintf(path, sizeof(path), MODULES_BASE "/%s/modules.dep", u.release);
		if (!access(path, R_OK)) {
			snprintf(kver, len, "%s", u.release);
			return true;
		}
	}
	d = opendir(MODULES_BASE);
	if (!d)
		return false;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= len)
			continue;
		snprintf(path, sizeof(path), MODULES_BASE "/%s/modules.dep", de->d_name);
		if (!access(path, R_OK) && (!kver[0] || strverscmp(de->d_name, kver) > 0))
			snprintf(kver, len, "%s", de->d_name);
	}
	closedir(d);
	return kver[0] != '\0';
}

Test(modules, host_tree_for_an_overlay_root)
{
	static const char *const want[] = { "virtio_mmio", "virtio_blk", "ext4",   "jbd2",
					    "mbcache",	   "crc16",	 "overlay" };
	struct modules m;
	char kver[256];

	if (!host_tree(kver, sizeof(kver)))
		cr_skip_test("no module tree in " MODULES_BASE);
	cr_assert_eq(modules_resolve(NULL, kver, all_names, 4, &m), 0, "%s", err_msg());
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		cr_assert_geq(index_of(&m, want[i]), 0, "%s not resolved for %s", want[i], kver);
	assert_valid_order(&m);
	for (size_t i = 0; i < m.n; i++) {
		void *data;
		size_t len;

		cr_assert_eq(modules_read(&m.mod[i], &data, &len), 0, "%s", err_msg());
		cr_assert_gt(len, 1000);
		free(data);
	}
	modules_destroy(&m);
}

Test(modules, kernel_version_of_elf_vmlinux)
{
	static const char img[] = "\x7f"
				  "ELF\2\1\1\0 padding... Linux version %s (fmt) "
				  "Linux version  \0"
				  "Linux version 6.1.0-test-amd64 (debian-kernel@lists) #1 SMP\n";
	char buf[64];

	cr_assert_eq(kernel_version(img, sizeof(img), buf, sizeof(buf)), 0, "%s", err_msg());
	cr_assert_str_eq(buf, "6.1.0-test-amd64");
	cr_assert_eq(kernel_version(img, sizeof(img), buf, 8), -ENOSPC);
	cr_assert_eq(kernel_version(img, 40, buf, sizeof(buf)), -ENOENT);
	cr_assert(strstr(err_msg(), "Linux version"), "%s", err_msg());
	cr_assert_eq(kernel_version("#!/bin/sh\n", 10, buf, sizeof(buf)), -ENOEXEC);
	cr_assert_str_eq(err_msg(), "kernel: not a bzImage or ELF vmlinux");
}

Test(modules, kernel_version_of_host_bzimage)
{
	char path[512], buf[256];
	void *data;
	size_t len;

	if (kernel_find_default(path, sizeof(path)))
		cr_skip_test("no readable kernel in /boot: %s", err_msg());
	cr_assert_eq(kernel_read(path, &data, &len), 0, "%s", err_msg());
	cr_assert_eq(kernel_version(data, len, buf, sizeof(buf)), 0, "%s", err_msg());
	/* Debian names the file after the release. */
	cr_assert_str_eq(buf, strstr(path, "vmlinuz-") + strlen("vmlinuz-"));
	free(data);
}
