// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: finding, reading and verifying kernel files
 * (src/boot/kernel.c), in temporary directories and on the real /boot.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/kernel.h"
#include "lib/err.h"
#include "lib/util.h"

#define cr_assert_msg_eq(expect) cr_assert_str_eq(err_msg(), (expect))

struct tmp {
	char dir[64];
};

static void tmp_init(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/clone-kernel-XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir));
}

static void tmp_destroy(struct tmp *t)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	cr_assert_eq(system(cmd), 0);
}

static void touch(const struct tmp *t, const char *name, const char *content, mode_t mode)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	cr_assert_eq(chmod(path, mode), 0);
}

Test(kernel, newest_by_version_order)
{
	char path[256], expect[256], sub[256];
	struct tmp t;

	tmp_init(&t);
	touch(&t, "vmlinuz-6.1.0-9-amd64", "k", 0644);
	touch(&t, "vmlinuz-6.1.0-10-amd64", "k", 0644); /* newer than -9: not in strcmp order */
	touch(&t, "vmlinuz-5.10.0-30-amd64", "k", 0644);
	touch(&t, "config-6.1.0-99-amd64", "c", 0644);
	touch(&t, "vmlinuz-", "k", 0644); /* no version: ignored */
	snprintf(sub, sizeof(sub), "%s/vmlinuz-9.9.9", t.dir);
	cr_assert_eq(mkdir(sub, 0755), 0); /* a directory is not a kernel */
	cr_assert_eq(kernel_find_in(t.dir, path, sizeof(path)), 0, "%s", err_msg());
	snprintf(expect, sizeof(expect), "%s/vmlinuz-6.1.0-10-amd64", t.dir);
	cr_assert_str_eq(path, expect);
	/* A buffer too small for the path. */
	cr_assert_eq(kernel_find_in(t.dir, path, 10), -ENAMETOOLONG);
	tmp_destroy(&t);
}

Test(kernel, none_found)
{
	char path[256], msg[256];
	struct tmp t;

	tmp_init(&t);
	touch(&t, "initrd.img-6.1.0-9-amd64", "i", 0644);
	cr_assert_eq(kernel_find_in(t.dir, path, sizeof(path)), -ENOENT);
	snprintf(msg, sizeof(msg),
		 "no kernel found in %s: install linux-image-amd64 or pass --kernel", t.dir);
	cr_assert_msg_eq(msg);
	cr_assert_eq(kernel_find_in("/nonexistent-clone-dir", path, sizeof(path)), -ENOENT);
	cr_assert_msg_eq("no kernel found in /nonexistent-clone-dir: install linux-image-amd64 or "
			 "pass --kernel");
	tmp_destroy(&t);
}

/* Debian's /boot/vmlinuz-* is mode 0600: a non-root user gets a clear hint. */
Test(kernel, unreadable_newest_explains)
{
	char path[256], msg[512];
	struct tmp t;
	bool root = geteuid() == 0;
	void *data;
	size_t len;

	tmp_init(&t);
	cr_assert_eq(chmod(t.dir, 0755), 0);
	touch(&t, "vmlinuz-6.1.0-9-amd64", "k", 0600);
	if (root) {
		/* Act as "nobody" (the saved uid stays 0, to clean up afterwards). */
		cr_assert_eq(setegid(65534), 0);
		cr_assert_eq(seteuid(65534), 0);
	} else {
		snprintf(path, sizeof(path), "%s/vmlinuz-6.1.0-9-amd64", t.dir);
		cr_assert_eq(chmod(path, 0), 0);
	}
	cr_assert_eq(kernel_find_in(t.dir, path, sizeof(path)), -EACCES);
	snprintf(msg, sizeof(msg),
		 "cannot read %s/vmlinuz-6.1.0-9-amd64: permission denied (run as root or pass "
		 "--kernel)",
		 t.dir);
	cr_assert_msg_eq(msg);
	snprintf(path, sizeof(path), "%s/vmlinuz-6.1.0-9-amd64", t.dir);
	cr_assert_eq(kernel_read(path, &data, &len), -EACCES);
	cr_assert_msg_eq(msg);
	if (root) {
		cr_assert_eq(seteuid(0), 0);
		cr_assert_eq(setegid(0), 0);
	}
	tmp_destroy(&t);
}

Test(kernel, default_is_in_boot)
{
	char path[4096];
	void *data;
	size_t len;

	if (kernel_find_default(path, sizeof(path)))
		cr_skip_test("no readable kernel in /boot: %s", err_msg());
	cr_assert(!strncmp(path, "/boot/vmlinuz-", 14), "%s", path);
	cr_assert_eq(kernel_read(path, &data, &len), 0, "%s", err_msg());
	cr_assert_gt(len, 1 * MiB);
	free(data);
}

Test(kernel, read_checks)
{
	char path[256];
	struct tmp t;
	void *data = NULL;
	size_t len = 0;
	int fd;

	tmp_init(&t);
	touch(&t, "k", "kernel bytes", 0644);
	snprintf(path, sizeof(path), "%s/k", t.dir);
	cr_assert_eq(kernel_read(path, &data, &len), 0, "%s", err_msg());
	cr_assert_eq(len, 12);
	cr_assert_eq(memcmp(data, "kernel bytes", 12), 0);
	free(data);

	touch(&t, "empty", "", 0644);
	snprintf(path, sizeof(path), "%s/empty", t.dir);
	cr_assert_eq(kernel_read(path, &data, &len), -ENOEXEC);
	cr_assert(strstr(err_msg(), "is empty"), "%s", err_msg());

	/* A sparse 300 MiB file: refused by size, without reading (or allocating) it. */
	snprintf(path, sizeof(path), "%s/huge", t.dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 300 * MiB), 0);
	close(fd);
	cr_assert_eq(kernel_read(path, &data, &len), -EFBIG);
	cr_assert(strstr(err_msg(), "300 MiB, more than the 256 MiB limit"), "%s", err_msg());

	cr_assert_eq(kernel_read(t.dir, &data, &len), -EINVAL);
	cr_assert(strstr(err_msg(), "not a regular file"), "%s", err_msg());
	snprintf(path, sizeof(path), "%s/missing", t.dir);
	cr_assert_eq(kernel_read(path, &data, &len), -ENOENT);
	cr_assert(strstr(err_msg(), path), "%s", err_msg());
	tmp_destroy(&t);
}

/* FIPS 180-2 test vector: SHA-256("abc"). */
#define ABC_SHA256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

Test(kernel, sha256_ok)
{
	cr_assert_eq(kernel_verify_sha256("abc", 3, ABC_SHA256), 0, "%s", err_msg());
	cr_assert_eq(kernel_verify_sha256(
			     "abc", 3,
			     "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"),
		     0);
}

Test(kernel, sha256_mismatch)
{
	static const char zeros[] =
		"0000000000000000000000000000000000000000000000000000000000000000";

	cr_assert_eq(kernel_verify_sha256("abd", 3, ABC_SHA256), -EBADMSG);
	cr_assert(!strncmp(err_msg(), "kernel sha256 mismatch: expected " ABC_SHA256 ", got ",
			   strlen("kernel sha256 mismatch: expected " ABC_SHA256 ", got ")),
		  "%s", err_msg());
	cr_assert_eq(kernel_verify_sha256("abc", 3, zeros), -EBADMSG);
	cr_assert_msg_eq("kernel sha256 mismatch: expected " /* */
			 "0000000000000000000000000000000000000000000000000000000000000000, "
			 "got " ABC_SHA256);
}

Test(kernel, sha256_bad_hex)
{
	static const char *const bad[] = {
		"",
		"abc",
		ABC_SHA256 "0",							    /* 65 digits */
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",  /* 63 */
		"ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", /* not hex */
		" a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		NULL,
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cr_assert_eq(kernel_verify_sha256("abc", 3, bad[i]), -EINVAL, "case %zu", i);
		cr_assert_msg_eq("--kernel-sha256: expected 64 hex digits");
	}
}
