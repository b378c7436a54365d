// SPDX-License-Identifier: Apache-2.0
/*
 * The disk front door (see disk.h): format probing and dispatch to raw.c or
 * qcow2.c, the bounds and read-only checks every request goes through, the
 * image lock (OFD locks, so one base image may be shared read-only by many
 * VMs but never written while shared), and the iovec/file helpers the
 * drivers share.  disk_open/disk_close run on the main thread; every other
 * function here may run on any I/O worker thread and keeps no state.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_TAG "disk"
#include "disk.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"

/* Sub-iovec arrays built on the stack per system call. */
#define IOV_CHUNK 64

int disk_iov_len(const struct iovec *iov, int iovcnt, uint64_t *len)
{
	uint64_t n = 0;

	if (iovcnt < 0)
		return err_setx(-EINVAL, "negative iovec count");
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > UINT64_MAX - n)
			return err_setx(-EINVAL, "iovec length overflows");
		n += iov[i].iov_len;
	}
	*len = n;
	return 0;
}

/*
 * Walk [skip, skip + len) of an iovec array, calling fn on each piece.
 * Pieces beyond the array's end are silently dropped (callers pass lengths
 * they computed from the same array).
 */
static void iov_walk(const struct iovec *iov, int iovcnt, uint64_t skip, uint64_t len,
		     void (*fn)(void *base, size_t n, void *opaque), void *opaque)
{
	for (int i = 0; i < iovcnt && len; i++) {
		size_t n;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		n = (size_t)MIN(iov[i].iov_len - skip, len);
		fn((char *)iov[i].iov_base + skip, n, opaque);
		len -= n;
		skip = 0;
	}
}

static void zero_fn(void *base, size_t n, void *opaque)
{
	memset(base, 0, n);
}

static void from_buf_fn(void *base, size_t n, void *opaque)
{
	const char **src = opaque;

	memcpy(base, *src, n);
	*src += n;
}

static void to_buf_fn(void *base, size_t n, void *opaque)
{
	char **dst = opaque;

	memcpy(*dst, base, n);
	*dst += n;
}

void disk_iov_zero(const struct iovec *iov, int iovcnt, uint64_t skip, uint64_t len)
{
	iov_walk(iov, iovcnt, skip, len, zero_fn, NULL);
}

void disk_iov_from_buf(const struct iovec *iov, int iovcnt, uint64_t skip, const void *buf,
		       uint64_t len)
{
	const char *p = buf;

	iov_walk(iov, iovcnt, skip, len, from_buf_fn, &p);
}

void disk_iov_to_buf(const struct iovec *iov, int iovcnt, uint64_t skip, void *buf, uint64_t len)
{
	char *p = buf;

	iov_walk(iov, iovcnt, skip, len, to_buf_fn, &p);
}

int disk_iov_slice(const struct iovec *iov, int iovcnt, uint64_t skip, uint64_t len,
		   struct iovec *out, int outmax, uint64_t *gotp)
{
	uint64_t got = 0;
	int n = 0;

	for (int i = 0; i < iovcnt && len && n < outmax; i++) {
		size_t k;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		k = (size_t)MIN(iov[i].iov_len - skip, len);
		if (k > (size_t)SSIZE_MAX - got)
			k = (size_t)SSIZE_MAX - got;
		if (!k)
			break;
		out[n].iov_base = (char *)iov[i].iov_base + skip;
		out[n].iov_len = k;
		n++;
		got += k;
		len -= k;
		skip = 0;
	}
	*gotp = got;
	return n;
}

int disk_file_io(int fd, const struct iovec *iov, int iovcnt, uint64_t skip, uint64_t len,
		 uint64_t off, bool write)
{
	struct iovec v[IOV_CHUNK];

	while (len) {
		uint64_t want;
		int cnt = disk_iov_slice(iov, iovcnt, skip, len, v, IOV_CHUNK, &want);
		ssize_t n;

		if (!want)
			return err_setx(-EINVAL, "iovec shorter than the request");
		if (off > (uint64_t)INT64_MAX)
			return err_setx(-EINVAL, "file offset %llu too large",
					(unsigned long long)off);
		if (write)
			n = pwritev(fd, v, cnt, (off_t)off);
		else
			n = preadv(fd, v, cnt, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_set(-errno, "%s at offset %llu", write ? "pwritev" : "preadv",
				       (unsigned long long)off);
		}
		if (n == 0) {
			if (write)
				return err_setx(-EIO, "pwritev at offset %llu wrote nothing",
						(unsigned long long)off);
			/* End of file: the rest reads as zeroes. */
			disk_iov_zero(iov, iovcnt, skip, len);
			return 0;
		}
		skip += (uint64_t)n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/*
 * QEMU's lock bytes (block/file-posix.c): byte 100 + p is held by whoever
 * uses permission p, byte 200 + p by whoever refuses to share it; p = 0 is
 * "consistent read", p = 1 is "write".  Speaking the same protocol makes
 * QEMU and us see each other: a writer holds 101 and 201 exclusively, a
 * reader holds 100 and 201 shared and checks that nobody holds 101.
 */
#define QLOCK_READ 100
#define QLOCK_WRITE 101
#define QLOCK_NO_SHARED_WRITE 201

static int lock_byte(int fd, short type, off_t byte)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };

	return fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : -errno;
}

/* Someone else holds byte (a lock that conflicts with a write lock): -EAGAIN. */
static int test_byte(int fd, off_t byte)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };

	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	return fl.l_type == F_UNLCK ? 0 : -EAGAIN;
}

static bool busy(int ret)
{
	return ret == -EAGAIN || ret == -EACCES;
}

int disk_lock(int fd, const char *path, bool exclusive)
{
	const char *who = "writing";
	int ret;

	if (exclusive) {
		ret = lock_byte(fd, F_WRLCK, QLOCK_WRITE);
		if (!ret) {
			ret = lock_byte(fd, F_WRLCK, QLOCK_NO_SHARED_WRITE);
			who = "reading";
		}
	} else {
		ret = lock_byte(fd, F_RDLCK, QLOCK_READ);
		if (!ret)
			ret = lock_byte(fd, F_RDLCK, QLOCK_NO_SHARED_WRITE);
		if (!ret)
			ret = test_byte(fd, QLOCK_WRITE);
	}
	if (!ret)
		return 0;
	if (busy(ret))
		return err_setx(-EBUSY, "%s is in use by another process (locked for %s)", path,
				who);
	/* File systems without lock support: run unprotected, as QEMU does. */
	if (ret == -ENOLCK || ret == -EOPNOTSUPP || ret == -EINVAL) {
		log_debug("%s: no OFD locks here (%s); not locked", path, strerror(-ret));
		return 0;
	}
	return err_set(ret, "lock %s", path);
}

int disk_open_file(const char *path, unsigned flags, int *fd_out, bool *direct)
{
	int oflags = ((flags & DISK_RDONLY) ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK;
	struct stat st;
	int fd = -1, fl;

	*direct = false;
	if (flags & DISK_DIRECT) {
		fd = open(path, oflags | O_DIRECT);
		if (fd >= 0)
			*direct = true;
		else if (errno != EINVAL)
			return err_set(-errno, "open %s", path);
	}
	/* O_NONBLOCK: a FIFO named as an image must not hang the open. */
	if (fd < 0)
		fd = open(path, oflags);
	if (fd < 0)
		return err_set(-errno, "open %s", path);
	if (fstat(fd, &st) < 0) {
		int ret = err_set(-errno, "stat %s", path);

		close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(fd);
		return err_setx(-EINVAL, "%s is not a regular file or block device", path);
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int ret = err_set(-errno, "fcntl %s", path);

		close(fd);
		return ret;
	}
	*fd_out = fd;
	return 0;
}

int disk_probe(const char *path, enum disk_format *fmt)
{
	static const uint8_t magic[4] = { 'Q', 'F', 'I', 0xfb };
	uint8_t buf[4];
	bool direct;
	ssize_t n;
	int fd, ret;

	ret = disk_open_file(path, DISK_RDONLY, &fd, &direct);
	if (ret)
		return ret;
	n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		ret = err_set(-errno, "read %s", path);
		close(fd);
		return ret;
	}
	close(fd);
	*fmt = (n == (ssize_t)sizeof(buf) && !memcmp(buf, magic, sizeof(magic))) ? DISK_FMT_QCOW2
										 : DISK_FMT_RAW;
	return 0;
}

int disk_open(const char *path, enum disk_format fmt, unsigned flags, struct disk **out)
{
	int ret;

	*out = NULL;
	if (fmt == DISK_FMT_AUTO) {
		ret = disk_probe(path, &fmt);
		if (ret)
			return ret;
	}
	switch (fmt) {
	case DISK_FMT_RAW:
		return raw_open(path, flags, out);
	case DISK_FMT_QCOW2:
		return qcow2_open(path, flags, out);
	default:
		return err_setx(-EINVAL, "%s: unknown disk format %d", path, (int)fmt);
	}
}

void disk_close(struct disk *d)
{
	if (d)
		d->ops->close(d);
}

static int check_range(const struct disk *d, uint64_t off, uint64_t len)
{
	if (off > d->size || len > d->size - off)
		return err_setx(-EINVAL, "%s: request [%llu, +%llu) past the end (%llu)", d->path,
				(unsigned long long)off, (unsigned long long)len,
				(unsigned long long)d->size);
	return 0;
}

static int check_write(const struct disk *d, uint64_t off, uint64_t len)
{
	if (d->rdonly)
		return err_setx(-EROFS, "%s is read-only", d->path);
	return check_range(d, off, len);
}

int disk_preadv(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off)
{
	uint64_t len;
	int ret = disk_iov_len(iov, iovcnt, &len);

	if (!ret)
		ret = check_range(d, off, len);
	if (ret || !len)
		return ret;
	return d->ops->preadv(d, iov, iovcnt, off);
}

int disk_pwritev(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off)
{
	uint64_t len;
	int ret = disk_iov_len(iov, iovcnt, &len);

	if (!ret)
		ret = check_write(d, off, len);
	if (ret || !len)
		return ret;
	return d->ops->pwritev(d, iov, iovcnt, off);
}

int disk_pread(struct disk *d, void *buf, uint64_t len, uint64_t off)
{
	struct iovec iov = { .iov_base = buf, .iov_len = (size_t)len };

	if (len > SIZE_MAX)
		return err_setx(-EINVAL, "read too large");
	return disk_preadv(d, &iov, 1, off);
}

int disk_pwrite(struct disk *d, const void *buf, uint64_t len, uint64_t off)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = (size_t)len };

	if (len > SIZE_MAX)
		return err_setx(-EINVAL, "write too large");
	return disk_pwritev(d, &iov, 1, off);
}

int disk_flush(struct disk *d)
{
	if (d->rdonly)
		return 0;
	return d->ops->flush(d);
}

int disk_discard(struct disk *d, uint64_t off, uint64_t len)
{
	int ret = check_write(d, off, len);

	if (ret || !len)
		return ret;
	return d->ops->discard(d, off, len);
}

int disk_write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool may_unmap)
{
	int ret = check_write(d, off, len);

	if (ret || !len)
		return ret;
	return d->ops->write_zeroes(d, off, len, may_unmap);
}
