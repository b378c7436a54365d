/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by every layer. */
#ifndef CLONE_LIB_UTIL_H
#define CLONE_LIB_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a)-1)) == 0)
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define KiB (1024ull)
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define TiB (1024ull * GiB)

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t monotonic_ns(void);
/* CLOCK_REALTIME in nanoseconds. */
uint64_t realtime_ns(void);

/* write(2)/read(2) until done; -errno on failure; read_full returns bytes read (short at EOF). */
ssize_t write_full(int fd, const void *buf, size_t len);
ssize_t read_full(int fd, void *buf, size_t len);

/*
 * Read a whole regular file into a malloc'ed buffer (at most max bytes;
 * -EFBIG beyond).  what names the file in messages ("kernel", "initrd").
 * 0 or -errno with the message set.
 */
int read_file(const char *what, const char *path, size_t max, void **data, size_t *len);
/* mkdir -p path (each new directory 0700).  0 or -errno with the message set. */
int mkdir_p(const char *path);

/* Parse a size like "512", "256M", "2G", "4k" (binary units) into bytes. */
int parse_size(const char *s, uint64_t *out);
/* Parse an unsigned decimal integer in [min, max]. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
