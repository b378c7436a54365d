/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Disk images behind one interface: raw files (raw.c) and qcow2 (qcow2.c).
 * disk_open() probes the format (qcow2 magic, else raw), checks everything
 * a later request depends on, and refuses corrupt or unsupported images
 * with a clear message before any guest runs.
 *
 * Thread-safety: every function except disk_open/disk_close may be called
 * concurrently from several I/O worker threads on one disk; each format
 * serialises what it must (qcow2 metadata) and lets data I/O run in
 * parallel.  Offsets and lengths are in bytes; requests past the end of the
 * virtual disk are -EINVAL (callers check first).
 */
#ifndef CLONE_BLOCK_DISK_H
#define CLONE_BLOCK_DISK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

enum disk_format { DISK_FMT_AUTO, DISK_FMT_RAW, DISK_FMT_QCOW2 };

enum {
	DISK_RDONLY = 1u << 0, /* open O_RDONLY; writes are -EROFS */
	DISK_DIRECT = 1u << 1, /* O_DIRECT where the file system allows it */
};

struct disk;

struct disk_ops {
	const char *name; /* "raw", "qcow2" */
	int (*preadv)(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off);
	int (*pwritev)(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off);
	int (*flush)(struct disk *d);
	/* Deallocate; reads of the range return zeroes afterwards (raw: punch hole). */
	int (*discard)(struct disk *d, uint64_t off, uint64_t len);
	/* Make the range read as zeroes; may_unmap lets it deallocate. */
	int (*write_zeroes)(struct disk *d, uint64_t off, uint64_t len, bool may_unmap);
	void (*close)(struct disk *d);
};

struct disk {
	const struct disk_ops *ops;
	char *path;
	uint64_t size; /* virtual size in bytes */
	bool rdonly;
	int fd;
	dev_t dev; /* st_dev/st_ino of the image: the virtio-blk serial */
	ino_t ino;
};

/*
 * Open path.  fmt DISK_FMT_AUTO probes.  0 with *out set, or -errno with the
 * message set: -ENOENT/-EACCES (the file), -EINVAL (not a qcow2 although
 * fmt says so; a qcow2 that is corrupt: tables out of range, bad sizes),
 * -ENOTSUP (encrypted, an unknown incompatible feature, external data file,
 * a version other than 2/3), -ELOOP (backing chain too deep or cyclic).
 */
int disk_open(const char *path, enum disk_format fmt, unsigned flags, struct disk **out);
void disk_close(struct disk *d);
/* A qcow2 image reading through a backing file. */
bool disk_has_backing(const struct disk *d);

/* Each: 0 or -errno (-EROFS on a read-only disk).  Full length or failure. */
int disk_preadv(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off);
int disk_pwritev(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off);
int disk_pread(struct disk *d, void *buf, uint64_t len, uint64_t off);
int disk_pwrite(struct disk *d, const void *buf, uint64_t len, uint64_t off);
int disk_flush(struct disk *d);
int disk_discard(struct disk *d, uint64_t off, uint64_t len);
int disk_write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool may_unmap);

/* "raw" or "qcow2" for a file, probing its header; -errno with the message set. */
int disk_probe(const char *path, enum disk_format *fmt);

/* Format-specific openers (disk_open dispatches); same contract. */
int raw_open(const char *path, unsigned flags, struct disk **out);
int qcow2_open(const char *path, unsigned flags, struct disk **out);

/*
 * Create a qcow2 v3 image of size bytes (cluster 64 KiB, refcount 16 bits)
 * at path, which must not exist (O_EXCL).  backing (may be NULL) is recorded
 * with backing_fmt ("raw"/"qcow2", probed when NULL); size 0 takes the
 * backing file's size.  0 or -errno with the message set.
 */
int qcow2_create(const char *path, uint64_t size, const char *backing, const char *backing_fmt);

/*
 * Helpers shared by the format drivers (raw.c, qcow2*.c), not for device
 * code.  Any thread; no shared state.
 */
/* Sum of the iovec lengths into *len; -EINVAL (message set) on overflow. */
int disk_iov_len(const struct iovec *iov, int iovcnt, uint64_t *len);
/*
 * Read or write len bytes of file fd at off, to/from the iovec array
 * starting skip bytes into it.  Short transfers and EINTR are retried; a
 * read that meets end of file fills the rest with zeroes.  0 or -errno with
 * the message set.
 */
int disk_file_io(int fd, const struct iovec *iov, int iovcnt, uint64_t skip, uint64_t len,
		 uint64_t off, bool write);
/*
 * Describe [skip, skip + len) of an iovec array with at most outmax entries
 * of out; returns the entry count and the bytes covered in *got (less than
 * len when outmax entries were not enough).
 */
int disk_iov_slice(const struct iovec *iov, int iovcnt, uint64_t skip, uint64_t len,
		   struct iovec *out, int outmax, uint64_t *got);
/* Zero, fill from or copy into len bytes of an iovec array, skip bytes in. */
void disk_iov_zero(const struct iovec *iov, int iovcnt, uint64_t skip, uint64_t len);
void disk_iov_from_buf(const struct iovec *iov, int iovcnt, uint64_t skip, const void *buf,
		       uint64_t len);
void disk_iov_to_buf(const struct iovec *iov, int iovcnt, uint64_t skip, void *buf, uint64_t len);
/*
 * Take the image lock on fd: an exclusive OFD lock for a writer, a shared
 * one for a reader.  -EBUSY with "<path> is in use by another process" when
 * another open file description holds a conflicting lock.
 */
int disk_lock(int fd, const char *path, bool exclusive);
/* Open flags and checks common to the drivers: regular file or block device. */
int disk_open_file(const char *path, unsigned flags, int *fd_out, bool *direct);

#endif
