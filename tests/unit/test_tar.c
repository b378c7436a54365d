// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: the tar reader and the extractor that stays inside its root
 * (rootfs/tar.c), the streaming decompressor (lib/zstream.c), OCI whiteouts.
 * Archives are made by GNU tar where it can, and by hand where GNU tar
 * would refuse (escapes, bad checksums).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/zstream.h"
#include "rootfs/tar.h"

static char dir[64], root[128];
static int rootfd = -1;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/clone-tar-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(root, sizeof(root), "%s/root", dir);
	cr_assert_eq(mkdir(root, 0755), 0);
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(rootfd, 0);
}

static void teardown(void)
{
	close(rootfd);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static int extract(const char *path, unsigned flags, struct tar_stats *st)
{
	struct zstream *z;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	cr_assert_geq(fd, 0, "%s", path);
	ret = zs_open(fd, "test archive", &z);
	if (!ret) {
		if (flags & TAR_OCI) {
			ret = tar_apply_whiteouts(z, "test archive", rootfd, st);
			zs_close(z);
			lseek(fd, 0, SEEK_SET);
			if (!ret)
				ret = zs_open(fd, "test archive", &z);
		}
		if (!ret) {
			ret = tar_extract(z, "test archive", rootfd, flags, st, NULL, NULL);
			zs_close(z);
		}
	}
	close(fd);
	return ret;
}

static char *slurp(const char *rel)
{
	static char buf[8192];
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static bool exists(const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return lstat(path, &st) == 0;
}

/* A ustar header by hand: name, type, size, link; checksum filled in. */
static void hdr(uint8_t b[512], const char *name, char type, size_t size, const char *link)
{
	unsigned sum = 0;

	memset(b, 0, 512);
	snprintf((char *)b, 100, "%s", name);
	snprintf((char *)b + 100, 8, "%07o", 0644);
	snprintf((char *)b + 108, 8, "%07o", 0);
	snprintf((char *)b + 116, 8, "%07o", 0);
	snprintf((char *)b + 124, 12, "%011zo", size);
	snprintf((char *)b + 136, 12, "%011o", 0);
	b[156] = (uint8_t)type;
	if (link)
		snprintf((char *)b + 157, 100, "%s", link);
	memcpy(b + 257, "ustar", 6);
	memcpy(b + 263, "00", 2);
	memset(b + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += b[i];
	snprintf((char *)b + 148, 8, "%06o", sum);
}

/* Write members (header + data padded) and the end marker to path. */
struct member {
	const char *name;
	char type;
	const char *data, *link;
};

static void write_tar(const char *path, const struct member *m, size_t n)
{
	FILE *f = fopen(path, "wb");
	uint8_t b[512];

	cr_assert_not_null(f);
	for (size_t i = 0; i < n; i++) {
		size_t len = m[i].data ? strlen(m[i].data) : 0;

		hdr(b, m[i].name, m[i].type, len, m[i].link);
		fwrite(b, 1, 512, f);
		if (len) {
			memset(b, 0, 512);
			memcpy(b, m[i].data, len);
			fwrite(b, 1, 512, f);
		}
	}
	memset(b, 0, 512);
	fwrite(b, 1, 512, f);
	fwrite(b, 1, 512, f);
	fclose(f);
}

Test(tar, gnu_tar_trees_in_every_compression, .init = setup, .fini = teardown)
{
	static const char *const comp[] = { "", "gzip", "xz", "zstd" };
	char longname[300];

	memset(longname, 'n', 150);
	longname[150] = '\0';
	sh("mkdir -p %s/src/d/e && echo hello > %s/src/d/f && ln -s f %s/src/d/sym && "
	   "ln %s/src/d/f %s/src/d/hard && chmod 4750 %s/src/d/f && echo long > %s/src/%s",
	   dir, dir, dir, dir, dir, dir, dir, longname);
	for (size_t i = 0; i < sizeof(comp) / sizeof(comp[0]); i++) {
		struct tar_stats st = { 0 };
		struct stat s1, s2;
		char a[256], p[256];

		snprintf(a, sizeof(a), "%s/t%zu.tar", dir, i);
		sh("tar -C %s/src %s%s -cf %s .", dir, comp[i][0] ? "--use-compress-program=" : "",
		   comp[i], a);
		cr_assert_eq(extract(a, 0, &st), 0, "%s: %s", comp[i], err_msg());
		cr_assert_str_eq(slurp("d/f"), "hello\n");
		cr_assert_str_eq(slurp(longname), "long\n");
		snprintf(p, sizeof(p), "%s/d/sym", root);
		cr_assert_eq(readlink(p, a, sizeof(a)), 1);
		snprintf(p, sizeof(p), "%s/d/f", root);
		cr_assert_eq(stat(p, &s1), 0);
		cr_assert_eq(s1.st_mode & 07777, 04750, "mode %o", s1.st_mode & 07777);
		snprintf(p, sizeof(p), "%s/d/hard", root);
		cr_assert_eq(stat(p, &s2), 0);
		cr_assert_eq(s1.st_ino, s2.st_ino, "hard link");
		cr_assert(exists("d/e"));
		cr_assert_geq(st.entries, 6);
		sh("rm -rf %s/* && true", root);
	}
}

Test(tar, nothing_escapes_the_root, .init = setup, .fini = teardown)
{
	char a[600], outside[256];
	struct member dotdot[] = { { "../evil", TAR_FILE, "x", NULL } };
	/* An absolute symlink, then a file "through" it: lands inside the root. */
	struct member abs[] = { { "link", TAR_SYMLINK, NULL, NULL },
				{ "link/pwned", TAR_FILE, "gotcha", NULL } };
	/* A hard link to a file outside. */
	struct member hl[] = { { "h", TAR_HARDLINK, NULL, "../../etc/passwd" } };

	snprintf(outside, sizeof(outside), "%s/outside", dir);
	mkdir(outside, 0755);
	snprintf(a, sizeof(a), "%s/a.tar", dir);
	write_tar(a, dotdot, 1);
	cr_assert_eq(extract(a, 0, NULL), -EBADMSG);
	cr_assert(strstr(err_msg(), "\"..\""), "%s", err_msg());

	abs[0].link = outside;
	write_tar(a, abs, 2);
	(void)extract(a, 0, NULL);
	snprintf(a, sizeof(a), "%s/pwned", outside);
	cr_assert_neq(access(a, F_OK), 0, "wrote through an absolute symlink");

	snprintf(a, sizeof(a), "%s/h.tar", dir);
	write_tar(a, hl, 1);
	cr_assert_eq(extract(a, 0, NULL), -EBADMSG);
}

Test(tar, whiteouts_hide_lower_layers, .init = setup, .fini = teardown)
{
	struct member lower[] = { { "a/b/c", TAR_FILE, "c", NULL },
				  { "a/keep", TAR_FILE, "k", NULL },
				  { "x", TAR_FILE, "x", NULL },
				  { "y", TAR_FILE, "y", NULL } };
	struct member upper[] = { { "a/new", TAR_FILE, "new", NULL },
				  { "a/.wh..wh..opq", TAR_FILE, NULL, NULL },
				  { ".wh.x", TAR_FILE, NULL, NULL },
				  { ".wh.nothing", TAR_FILE, NULL, NULL } };
	struct tar_stats st = { 0 };
	char a[256];

	snprintf(a, sizeof(a), "%s/l.tar", dir);
	write_tar(a, lower, 4);
	cr_assert_eq(extract(a, TAR_OCI, NULL), 0, "%s", err_msg());
	write_tar(a, upper, 4);
	cr_assert_eq(extract(a, TAR_OCI, &st), 0, "%s", err_msg());
	cr_assert_str_eq(slurp("a/new"), "new");
	cr_assert_not(exists("a/b"));
	cr_assert_not(exists("a/keep"));
	cr_assert_not(exists("x"));
	cr_assert_not(exists(".wh.x"));
	cr_assert_not(exists("a/.wh..wh..opq"));
	cr_assert_str_eq(slurp("y"), "y");
	cr_assert_eq(st.whiteouts, 3);
	/* Without TAR_OCI a .wh. name is an ordinary file. */
	cr_assert_eq(extract(a, 0, NULL), 0, "%s", err_msg());
	cr_assert(exists(".wh.x"));
}

Test(tar, damaged_archives_are_refused, .init = setup, .fini = teardown)
{
	struct member m[] = { { "f", TAR_FILE, "some data here", NULL } };
	char a[256];
	FILE *f;

	snprintf(a, sizeof(a), "%s/d.tar", dir);
	write_tar(a, m, 1);
	/* One byte of the header flipped: the checksum catches it. */
	sh("printf 'X' | dd of=%s bs=1 seek=5 conv=notrunc status=none", a);
	cr_assert_eq(extract(a, 0, NULL), -EBADMSG);
	cr_assert(strstr(err_msg(), "checksum"), "%s", err_msg());
	/* Cut in the middle of the data. */
	write_tar(a, m, 1);
	sh("truncate -s 520 %s", a);
	cr_assert_eq(extract(a, 0, NULL), -EBADMSG);
	cr_assert(strstr(err_msg(), "truncated"), "%s", err_msg());
	/* Gzip garbage. */
	f = fopen(a, "wb");
	fwrite("\x1f\x8b\x08\x00garbagegarbagegarbage", 1, 24, f);
	fclose(f);
	cr_assert_eq(extract(a, 0, NULL), -EBADMSG);
	/* bzip2 is recognised and refused by name. */
	f = fopen(a, "wb");
	fwrite("BZh91AY&SY", 1, 10, f);
	fclose(f);
	cr_assert_eq(extract(a, 0, NULL), -ENOTSUP);
	cr_assert(strstr(err_msg(), "bzip2"), "%s", err_msg());
}

Test(tar, clean_path_and_numbers)
{
	char out[64];
	uint8_t b[512];
	struct tar_entry e;
	struct tar_override o = { 0 };

	cr_assert_eq(tar_clean_path("./a//b/./c/", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "a/b/c");
	cr_assert_eq(tar_clean_path("/abs/x", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "abs/x");
	cr_assert_eq(tar_clean_path("./", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "");
	cr_assert_eq(tar_clean_path("a/../b", out, sizeof(out)), -EBADMSG);
	cr_assert_eq(tar_clean_path(
			     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			     out, sizeof(out)),
		     -EBADMSG);

	/* Base-256 size (GNU, over 8 GiB) and a pax path override. */
	hdr(b, "small", TAR_FILE, 0, NULL);
	memset(b + 124, 0, 12);
	b[124] = 0x80;
	b[131] = 0x02; /* 2 << 32 */
	memset(b + 148, ' ', 8);
	{
		unsigned sum = 0;

		for (int i = 0; i < 512; i++)
			sum += b[i];
		snprintf((char *)b + 148, 8, "%06o", sum);
	}
	cr_assert_eq(tar_parse_header(b, NULL, &e), 0, "%s", err_msg());
	cr_assert_eq(e.size, 2ull << 32);
	cr_assert_eq(tar_parse_pax("18 path=over/ride\n10 uid=42\n", 28, &o), 0, "%s", err_msg());
	cr_assert_eq(tar_parse_header(b, &o, &e), 0);
	cr_assert_str_eq(e.path, "over/ride");
	cr_assert_eq(e.uid, 42);
	cr_assert_eq(tar_parse_pax("99 path=x\n", 10, &o), -EBADMSG);
	cr_assert_eq(tar_parse_pax("22 GNU.sparse.major=1\n", 22, &o), -ENOTSUP);
}
