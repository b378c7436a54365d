/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streaming decompression of a file descriptor whose format is told by its
 * first bytes: gzip, xz, zstd, or none (read as is).  Used for tarballs and
 * image layers (rootfs/), and for kernel modules (boot/modules.c).  Also
 * counts the compressed bytes read, for progress bars.  One thread.
 */
#ifndef CLONE_LIB_ZSTREAM_H
#define CLONE_LIB_ZSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum zs_format { ZS_PLAIN, ZS_GZIP, ZS_XZ, ZS_ZSTD };

struct zstream;

/*
 * Start reading fd (not owned: the caller closes it).  what names the input
 * in messages.  0 or -errno with the message set (-ENOTSUP for bzip2 and
 * other formats that are recognised but not read).
 */
int zs_open(int fd, const char *what, struct zstream **out);
/* Up to len decompressed bytes into buf: > 0, 0 at the end, or -errno with the message set. */
ssize_t zs_read(struct zstream *z, void *buf, size_t len);
/* Exactly len bytes, or -EBADMSG ("truncated") with the message set. */
int zs_read_full(struct zstream *z, void *buf, size_t len);
/* Skip len decompressed bytes (same errors as zs_read_full). */
int zs_skip(struct zstream *z, uint64_t len);
enum zs_format zs_format(const struct zstream *z);
/* Compressed bytes consumed from fd so far. */
uint64_t zs_consumed(const struct zstream *z);
void zs_close(struct zstream *z);

#endif
