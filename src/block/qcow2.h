/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qcow2 internals shared by qcow2.c (open, validation, requests),
 * qcow2_create.c, and qcow2_meta.c (L2 and refcount-block caches,
 * refcounts, cluster allocation, refcount-table growth).  Not for use
 * outside src/block.
 * Everything in struct qcow2 below `lock` is guarded by it.
 */
#ifndef CLONE_BLOCK_QCOW2_H
#define CLONE_BLOCK_QCOW2_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "disk.h"

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */
#define QCOW2_MAX_CHAIN 16
#define QCOW2_MAX_L1_BYTES (32u << 20) /* QEMU's limits, so we open what it opens */
#define QCOW2_MAX_RT_BYTES (8u << 20)
#define QCOW2_MAX_BACKING_NAME 1023

#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)

#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FMT 0xe2792acau
#define QCOW2_EXT_FEATURES 0x6803f857u

/* Header field offsets (spec "Header"). */
#define QH_INCOMPAT 72
#define QH_AUTOCLEAR 88
#define QH_RT_OFFSET 48
#define QH_RT_CLUSTERS 56

#define L1E_OFFSET_MASK 0x00fffffffffffe00ull
#define L2E_OFFSET_MASK 0x00fffffffffffe00ull
#define RTE_OFFSET_MASK 0xfffffffffffffe00ull
#define QCOW_OFLAG_COPIED (1ull << 63)
#define QCOW_OFLAG_COMPRESSED (1ull << 62)
#define QCOW_OFLAG_ZERO (1ull << 0)

/* Bytes of the header kept in memory for rewrites (all fields we touch). */
#define QCOW2_HDR_KEEP 512

struct qcow2_slot {
	void *t;      /* one cluster, big-endian as on disk */
	uint64_t off; /* host offset of the table; 0: slot empty */
	uint64_t key; /* L1 index (L2 cache) or refcount-table index */
	uint64_t lru;
};

struct qcow2 {
	struct disk d;
	struct disk *backing;
	unsigned version;
	unsigned cluster_bits, l2_bits, rb_bits, refcount_order;
	uint64_t cs; /* cluster size */
	uint64_t incompat;
	unsigned csize_shift;
	uint64_t csize_mask, coff_mask; /* compressed descriptor fields */
	uint32_t nb_snapshots;
	bool direct;
	size_t meta_align; /* metadata write granularity: 1, or 4096 with O_DIRECT */

	pthread_mutex_t lock;
	/*
	 * Read side held by every request from lookup to the end of its data
	 * I/O; write side taken (with lock dropped) before a cluster that
	 * unlocked I/O may target is freed, so it is never reused under it.
	 */
	pthread_rwlock_t drain;
	bool broken; /* corruption seen: every write fails */

	uint8_t hdr[QCOW2_HDR_KEEP]; /* first bytes of the file, as on disk */

	uint64_t l1_off;
	uint32_t l1_size;
	uint64_t *l1;	   /* big-endian, padded with zeroes to whole clusters */
	uint64_t l1_bytes; /* l1_size * 8 rounded up to whole clusters */
	int32_t *l1_slot;  /* L1 index -> L2 cache slot, -1 if not cached */

	uint64_t rt_off;
	uint32_t rt_clusters;
	uint64_t rt_entries;
	uint64_t *rt; /* big-endian */

	uint64_t end;	    /* first cluster index past the file and all allocations */
	uint64_t free_hint; /* no free cluster below this index */
	uint64_t tick;

	struct qcow2_slot *l2c;
	unsigned l2c_n;
	struct qcow2_slot rbc[8];

	void *bounce; /* one cluster for partial-cluster writes (under lock) */
};

static inline uint64_t qcow2_be64(const void *p, uint64_t i)
{
	return __builtin_bswap64(((const uint64_t *)p)[i]);
}

static inline void qcow2_set_be64(void *p, uint64_t i, uint64_t v)
{
	((uint64_t *)p)[i] = __builtin_bswap64(v);
}

/* qcow2.c: a backing name resolved against the image's directory (malloc'ed; NULL: ENOMEM). */
char *qcow2_resolve(const char *image, const char *name);
/* qcow2.c: "raw"/"qcow2" to a format; -ENOTSUP with the message set otherwise. */
int qcow2_parse_fmt(const char *path, const char *name, enum disk_format *fmt);

/* qcow2_meta.c; all with q->lock held.  0 or -errno, message set. */
int qcow2_cache_init(struct qcow2 *q);
void qcow2_cache_free(struct qcow2 *q);
/* Log (rate-limited), set the corrupt bit on a writable v3 image, fail writes; -EIO. */
int qcow2_corrupt(struct qcow2 *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Aligned whole-buffer read/write of the image file. */
int qcow2_read(struct qcow2 *q, void *buf, uint64_t len, uint64_t off);
int qcow2_write(struct qcow2 *q, const void *buf, uint64_t len, uint64_t off);
/* Write bytes [start, start+len) of an in-memory table of tbl_len bytes at tbl_off. */
int qcow2_meta_write(struct qcow2 *q, const void *tbl, uint64_t tbl_len, uint64_t tbl_off,
		     uint64_t start, uint64_t len);
/* Write header bytes [start, start+len) from q->hdr. */
int qcow2_header_write(struct qcow2 *q, unsigned start, unsigned len);
/* The L2 table for L1 index l1i, or *t = NULL when unallocated. */
int qcow2_l2_get(struct qcow2 *q, uint64_t l1i, void **t);
/* The L2 table for l1i, allocated or copied so that it may be written. */
int qcow2_l2_get_writable(struct qcow2 *q, uint64_t l1i, void **t);
/* Write back entries [first, first+n) of the L2 table for l1i. */
int qcow2_l2_flush(struct qcow2 *q, uint64_t l1i, const void *t, unsigned first, unsigned n);
int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *rc);
/* Add delta (+1/-1) to the refcounts of n clusters from cluster on. */
int qcow2_refcount_update(struct qcow2 *q, uint64_t cluster, uint64_t n, int delta);
/* Allocate n contiguous clusters (refcounts on disk first); host offset in *off. */
int qcow2_alloc(struct qcow2 *q, uint64_t n, uint64_t *off);
/* Drop the references an L2 entry holds (standard or compressed). */
int qcow2_free_entry(struct qcow2 *q, uint64_t entry);
/* Host clusters a compressed descriptor touches: [*first, *first + *n). */
void qcow2_compressed_range(const struct qcow2 *q, uint64_t entry, uint64_t *off, uint64_t *len);

#endif
