// SPDX-License-Identifier: Apache-2.0
/*
 * qcow2_create(): a new, empty qcow2 v3 image (64 KiB clusters, 16-bit
 * refcounts) with an optional backing file and backing-format extension.
 * Layout: header (+ extensions and backing name) in cluster 0, the
 * refcount table in cluster 1, refcount block 0 in cluster 2, then the L1
 * table.  Main thread (CLI); no shared state.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/util.h"
#include "qcow2.h"

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

int qcow2_create(const char *path, uint64_t size, const char *backing, const char *backing_fmt)
{
	const unsigned cb = 16;
	const uint64_t cs = 1ull << cb;
	uint64_t l1_size, l1_cl, nclusters, off;
	struct disk *b = NULL;
	uint8_t *buf = NULL;
	size_t blen = backing ? strlen(backing) : 0;
	const char *fmt_name = NULL;
	int fd = -1, ret;

	if (backing) {
		enum disk_format fmt = DISK_FMT_AUTO;
		char *bpath = qcow2_resolve(path, backing);

		if (!bpath)
			return err_setx(-ENOMEM, "out of memory");
		if (blen > QCOW2_MAX_BACKING_NAME) {
			free(bpath);
			return err_setx(-EINVAL, "backing file name too long: %s", backing);
		}
		ret = backing_fmt ? qcow2_parse_fmt(path, backing_fmt, &fmt)
				  : disk_probe(bpath, &fmt);
		if (!ret)
			ret = disk_open(bpath, fmt, DISK_RDONLY, &b);
		free(bpath);
		if (ret)
			return ret;
		fmt_name = fmt == DISK_FMT_RAW ? "raw" : "qcow2";
		if (!size)
			size = b->size;
		disk_close(b);
	}
	size = (size + 511) & ~511ull;
	if (size > (1ull << 50))
		return err_setx(-EINVAL, "%s: size %llu too large", path, (unsigned long long)size);
	l1_size = MAX((size + (cs << (cb - 3)) - 1) >> (cb + cb - 3), 1);
	l1_cl = (l1_size * 8 + cs - 1) / cs;
	/* header, refcount table, refcount block 0, L1 table */
	nclusters = 3 + l1_cl;
	buf = calloc(1, cs);
	if (!buf)
		return err_setx(-ENOMEM, "out of memory");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(buf);
		return err_set(-errno, "create %s", path);
	}
	put_be32(buf, QCOW2_MAGIC);
	put_be32(buf + 4, 3);
	put_be32(buf + 20, cb);
	put_be64(buf + 24, size);
	put_be32(buf + 36, (uint32_t)l1_size);
	put_be64(buf + 40, 3 * cs);
	put_be64(buf + 48, cs);
	put_be32(buf + 56, 1);
	put_be32(buf + 96, 4);
	put_be32(buf + 100, 104);
	off = 104;
	if (backing) {
		size_t fl = strlen(fmt_name);

		put_be32(buf + off, QCOW2_EXT_BACKING_FMT);
		put_be32(buf + off + 4, (uint32_t)fl);
		memcpy(buf + off + 8, fmt_name, fl);
		off += 8 + ((fl + 7) & ~7ull);
	}
	off += 8; /* end-of-extensions marker: already zero */
	if (backing) {
		put_be64(buf + 8, off);
		put_be32(buf + 16, (uint32_t)blen);
		memcpy(buf + off, backing, blen);
	}
	ret = (int)write_full(fd, buf, cs);
	if (ret >= 0) {
		/* refcount table: one block at cluster 2 */
		memset(buf, 0, cs);
		put_be64(buf, 2 * cs);
		ret = pwrite(fd, buf, cs, (off_t)cs) == (ssize_t)cs ? 0 : -EIO;
	}
	if (ret >= 0) {
		memset(buf, 0, cs);
		for (uint64_t i = 0; i < nclusters; i++) {
			buf[2 * i] = 0;
			buf[2 * i + 1] = 1;
		}
		ret = pwrite(fd, buf, cs, (off_t)(2 * cs)) == (ssize_t)cs ? 0 : -EIO;
	}
	if (ret >= 0 && ftruncate(fd, (off_t)(nclusters * cs)) < 0)
		ret = -errno;
	if (ret >= 0 && fsync(fd) < 0)
		ret = -errno;
	free(buf);
	close(fd);
	if (ret < 0) {
		unlink(path);
		return err_set(ret, "create %s", path);
	}
	return 0;
}
