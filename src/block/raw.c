// SPDX-License-Identifier: Apache-2.0
/*
 * Raw images: the file (or block device) is the disk, byte for byte.
 * Requests map straight onto preadv/pwritev at the same offset; holes stay
 * holes (discard and write_zeroes use fallocate), so sparse images stay
 * sparse.  The struct is immutable after raw_open, so any number of I/O
 * worker threads may run requests at once without locks; open and close
 * run on the main thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_TAG "raw"
#include "disk.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"

struct raw {
	struct disk d;
	bool direct;
};

/* Zeroes for the write_zeroes fallback; 4 KiB aligned for O_DIRECT. */
static const uint8_t zero_buf[64 * 1024] __attribute__((aligned(4096)));

static int raw_preadv(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off)
{
	uint64_t len;
	int ret = disk_iov_len(iov, iovcnt, &len);

	if (ret)
		return ret;
	return disk_file_io(d->fd, iov, iovcnt, 0, len, off, false);
}

static int raw_pwritev(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off)
{
	uint64_t len;
	int ret;

	if (d->rdonly)
		return err_setx(-EROFS, "%s is read-only", d->path);
	ret = disk_iov_len(iov, iovcnt, &len);
	if (ret)
		return ret;
	return disk_file_io(d->fd, iov, iovcnt, 0, len, off, true);
}

static int raw_flush(struct disk *d)
{
	if (d->rdonly)
		return 0;
	if (fdatasync(d->fd) < 0)
		return err_set(-errno, "fdatasync %s", d->path);
	return 0;
}

static int punch(struct disk *d, uint64_t off, uint64_t len)
{
	if (fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) <
	    0)
		return -errno;
	return 0;
}

static int raw_discard(struct disk *d, uint64_t off, uint64_t len)
{
	int ret;

	if (d->rdonly)
		return err_setx(-EROFS, "%s is read-only", d->path);
	ret = punch(d, off, len);
	/* Discard is advisory: a file system without hole punching keeps the data. */
	if (ret && ret != -EOPNOTSUPP && ret != -ENOSYS && ret != -EINVAL)
		return err_set(ret, "discard %s", d->path);
	return 0;
}

static int raw_write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool may_unmap)
{
	if (d->rdonly)
		return err_setx(-EROFS, "%s is read-only", d->path);
	if (may_unmap && punch(d, off, len) == 0)
		return 0;
	if (fallocate(d->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) ==
	    0)
		return 0;
	/* No fallocate support: write the zeroes. */
	while (len) {
		struct iovec iov = { .iov_base = (void *)zero_buf,
				     .iov_len = (size_t)MIN(len, sizeof(zero_buf)) };
		int ret = disk_file_io(d->fd, &iov, 1, 0, iov.iov_len, off, true);

		if (ret)
			return ret;
		off += iov.iov_len;
		len -= iov.iov_len;
	}
	return 0;
}

static void raw_close(struct disk *d)
{
	struct raw *r = container_of(d, struct raw, d);

	if (d->fd >= 0)
		close(d->fd);
	free(d->path);
	free(r);
}

static const struct disk_ops raw_ops = {
	.name = "raw",
	.preadv = raw_preadv,
	.pwritev = raw_pwritev,
	.flush = raw_flush,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.close = raw_close,
};

int raw_open(const char *path, unsigned flags, struct disk **out)
{
	struct raw *r;
	struct stat st;
	int ret;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return err_setx(-ENOMEM, "raw %s: out of memory", path);
	r->d.ops = &raw_ops;
	r->d.fd = -1;
	r->d.rdonly = flags & DISK_RDONLY;
	r->d.path = strdup(path);
	if (!r->d.path) {
		ret = err_setx(-ENOMEM, "raw %s: out of memory", path);
		goto fail;
	}
	ret = disk_open_file(path, flags, &r->d.fd, &r->direct);
	if (ret)
		goto fail;
	if (fstat(r->d.fd, &st) < 0) {
		ret = err_set(-errno, "stat %s", path);
		goto fail;
	}
	r->d.dev = st.st_dev;
	r->d.ino = st.st_ino;
	if (S_ISBLK(st.st_mode)) {
		uint64_t size;

		if (ioctl(r->d.fd, BLKGETSIZE64, &size) < 0) {
			ret = err_set(-errno, "BLKGETSIZE64 %s", path);
			goto fail;
		}
		r->d.size = size;
	} else {
		r->d.size = (uint64_t)st.st_size;
	}
	ret = disk_lock(r->d.fd, path, !r->d.rdonly);
	if (ret)
		goto fail;
	*out = &r->d;
	return 0;
fail:
	raw_close(&r->d);
	return ret;
}
