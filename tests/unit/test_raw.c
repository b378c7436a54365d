// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: raw images (src/block/raw.c) and the disk front door
 * (src/block/disk.c): sparse writes stay sparse, discard punches holes,
 * write_zeroes in both modes, read-only disks refuse writes, bounds,
 * iovec requests and the image lock.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/disk.h"
#include "lib/err.h"
#include "lib/util.h"

static char dir[64];
static char img[128];

static void setup(void)
{
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/clone-raw-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	fd = open(img, O_CREAT | O_RDWR, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 64 << 20), 0);
	close(fd);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(raw, .init = setup, .fini = teardown);

static struct disk *open_ok(unsigned flags)
{
	struct disk *d = NULL;

	cr_assert_eq(disk_open(img, DISK_FMT_AUTO, flags, &d), 0, "%s", err_msg());
	cr_assert_str_eq(d->ops->name, "raw");
	return d;
}

static uint64_t blocks(void)
{
	struct stat st;

	cr_assert_eq(stat(img, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

static bool all(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

Test(raw, sparse_write_and_read)
{
	struct disk *d = open_ok(0);
	static uint8_t buf[1 << 20];

	cr_assert_eq(d->size, 64 << 20);
	memset(buf, 0xab, 4096);
	cr_assert_eq(disk_pwrite(d, buf, 4096, 32 << 20), 0);
	cr_assert_eq(disk_flush(d), 0);
	cr_assert_leq(blocks(), 64 * 1024, "sparse image grew to %llu bytes",
		      (unsigned long long)blocks());
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(disk_pread(d, buf, 8192, (32 << 20) - 4096), 0);
	cr_assert(all(buf, 4096, 0));
	cr_assert(all(buf + 4096, 4096, 0xab));
	disk_close(d);
}

Test(raw, iovec_requests)
{
	struct disk *d = open_ok(0);
	uint8_t a[1000], b[3000], c[4000];
	struct iovec w[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct iovec r[1] = { { c, sizeof(c) } };

	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	cr_assert_eq(disk_pwritev(d, w, 2, 12345), 0);
	cr_assert_eq(disk_preadv(d, r, 1, 12345), 0);
	cr_assert(all(c, 1000, 1));
	cr_assert(all(c + 1000, 3000, 2));
	disk_close(d);
}

Test(raw, discard_punches_holes)
{
	struct disk *d = open_ok(0);
	static uint8_t buf[2 << 20];
	uint64_t before;

	memset(buf, 0x5c, sizeof(buf));
	cr_assert_eq(disk_pwrite(d, buf, sizeof(buf), 0), 0);
	cr_assert_eq(disk_flush(d), 0);
	before = blocks();
	cr_assert_geq(before, 2 << 20);
	cr_assert_eq(disk_discard(d, 0, 1 << 20), 0);
	cr_assert_leq(blocks(), before - (1 << 20) + 65536);
	cr_assert_eq(disk_pread(d, buf, sizeof(buf), 0), 0);
	cr_assert(all(buf, 1 << 20, 0));
	cr_assert(all(buf + (1 << 20), 1 << 20, 0x5c));
	disk_close(d);
}

Test(raw, write_zeroes)
{
	struct disk *d = open_ok(0);
	static uint8_t buf[1 << 20];

	memset(buf, 0x77, sizeof(buf));
	cr_assert_eq(disk_pwrite(d, buf, sizeof(buf), 0), 0);
	cr_assert_eq(disk_write_zeroes(d, 1000, 5000, false), 0);
	cr_assert_eq(disk_write_zeroes(d, 512 * 1024, 256 * 1024, true), 0);
	cr_assert_eq(disk_pread(d, buf, sizeof(buf), 0), 0);
	cr_assert(all(buf, 1000, 0x77));
	cr_assert(all(buf + 1000, 5000, 0));
	cr_assert(all(buf + 6000, 512 * 1024 - 6000, 0x77));
	cr_assert(all(buf + 512 * 1024, 256 * 1024, 0));
	cr_assert(all(buf + 768 * 1024, 256 * 1024, 0x77));
	disk_close(d);
}

Test(raw, read_only)
{
	struct disk *d = open_ok(DISK_RDONLY);
	uint8_t buf[512] = { 0 };

	cr_assert(d->rdonly);
	cr_assert_eq(disk_pwrite(d, buf, sizeof(buf), 0), -EROFS);
	cr_assert_eq(disk_discard(d, 0, 512), -EROFS);
	cr_assert_eq(disk_write_zeroes(d, 0, 512, true), -EROFS);
	cr_assert_eq(d->ops->pwritev(d, &(struct iovec){ buf, 512 }, 1, 0), -EROFS);
	cr_assert_eq(disk_pread(d, buf, sizeof(buf), 0), 0);
	cr_assert_eq(disk_flush(d), 0);
	disk_close(d);
}

Test(raw, bounds)
{
	struct disk *d = open_ok(0);
	uint8_t buf[512];

	cr_assert_eq(disk_pread(d, buf, sizeof(buf), (64 << 20) - 256), -EINVAL);
	cr_assert_eq(disk_pwrite(d, buf, sizeof(buf), UINT64_MAX - 10), -EINVAL);
	cr_assert_eq(disk_discard(d, 64 << 20, 1), -EINVAL);
	cr_assert_eq(disk_pread(d, buf, 0, 64 << 20), 0);
	disk_close(d);
}

Test(raw, locking)
{
	struct disk *a, *b, *c;

	a = open_ok(0);
	cr_assert_eq(disk_open(img, DISK_FMT_RAW, 0, &b), -EBUSY);
	cr_assert(strstr(err_msg(), "disk.img is in use by another process (locked for writing)"),
		  "%s", err_msg());
	cr_assert_eq(disk_open(img, DISK_FMT_RAW, DISK_RDONLY, &b), -EBUSY);
	disk_close(a);
	a = open_ok(DISK_RDONLY);
	b = open_ok(DISK_RDONLY);
	cr_assert_eq(disk_open(img, DISK_FMT_RAW, 0, &c), -EBUSY);
	disk_close(a);
	disk_close(b);
	a = open_ok(0);
	disk_close(a);
}

Test(raw, refuses_odd_files)
{
	struct disk *d;
	char fifo[160];

	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_eq(disk_open(fifo, DISK_FMT_RAW, DISK_RDONLY, &d), -EINVAL);
	cr_assert_eq(disk_open(dir, DISK_FMT_RAW, DISK_RDONLY, &d), -EINVAL);
	cr_assert_eq(disk_open("/nonexistent/x", DISK_FMT_AUTO, 0, &d), -ENOENT);
}

Test(raw, direct_io)
{
	struct disk *d = open_ok(DISK_DIRECT);
	void *buf = NULL;

	cr_assert_eq(posix_memalign(&buf, 4096, 8192), 0);
	memset(buf, 0x3d, 8192);
	cr_assert_eq(disk_pwrite(d, buf, 8192, 1 << 20), 0);
	memset(buf, 0, 8192);
	cr_assert_eq(disk_pread(d, buf, 8192, 1 << 20), 0);
	cr_assert(all(buf, 8192, 0x3d));
	free(buf);
	disk_close(d);
}
