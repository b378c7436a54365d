/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk (virtio 1.2 section 5.2): read, write, flush, get-id, discard
 * and write-zeroes on a disk image (block/disk.h), with the I/O running on
 * the block worker pool (block/aio.h) so the event loop never blocks.
 */
#ifndef CLONE_VIRTIO_BLK_H
#define CLONE_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/ratelimit.h"
#include "virtio/virtio.h"

struct disk;
struct aio_pool;
struct evloop;
struct guest_mem;

#define BLK_SERIAL_MAX 20 /* VIRTIO_BLK_ID_BYTES */
#define BLK_QUEUE_SIZE 256

struct blk_config {
	struct disk *disk;   /* handed over: closed by blk_destroy() */
	bool ro;	     /* VIRTIO_BLK_F_RO; guest writes fail with IOERR */
	const char *serial;  /* up to BLK_SERIAL_MAX bytes, or NULL */
	struct rl_config rl; /* rate limits (rl_check()ed); zero: unlimited */
};

struct blk;

/*
 * A virtio-blk device over cfg->disk, completing I/O on loop.  0 or -errno
 * with the message set; on failure the disk is closed.
 */
int blk_create(const struct blk_config *cfg, const struct guest_mem *gm, struct aio_pool *pool,
	       struct evloop *loop, struct blk **out);
void blk_destroy(struct blk *b);
struct virtio_dev *blk_virtio(struct blk *b);
/* Wait until no request of b is in the worker pool (pause, snapshot). */
void blk_drain(struct blk *b);
/* Complete the requests the workers finished, now (tests; normally the loop does). */
void blk_complete_pending(struct blk *b);
/*
 * Change the rate limits at run time (any thread; takes vd.lock): levels
 * are kept (rl_update()), a request waiting for tokens is re-evaluated at
 * once.  0, -EINVAL (rl_check() failed: message set) or -ENOTSUP (a limit
 * on a device made without an event loop).
 */
int blk_set_rate_limit(struct blk *b, const struct rl_config *rl);
/* The rate limits in force (any thread). */
void blk_get_rate_limit(struct blk *b, struct rl_config *out);

/* The device's own snapshot state (the transport saves the rest), little-endian. */
struct blk_state {
	uint64_t capacity;   /* sectors the guest was told */
	uint8_t ro;	     /* VIRTIO_BLK_F_RO was offered */
	uint8_t pad[7];	     /* zero */
	struct rl_config rl; /* rate limits in force */
};

/*
 * The state of b for a snapshot.  Call with the vCPUs paused and after
 * blk_drain() with the event loop not serving b's queue (so that no
 * request is in flight or half-completed): the used ring then says
 * everything.  Takes vd.lock.
 */
void blk_save(struct blk *b, struct blk_state *s);
/*
 * Load s after the transport (virtio_mmio_restore()), on a device made
 * over the same disk contents: a different capacity or read-only flag is
 * refused (-EINVAL, "disk X: the snapshot's disk had N sectors, this one
 * M"), as is nonzero padding or a rate limit rl_check() refuses.  b is
 * unchanged on error.  Takes vd.lock.
 */
int blk_restore(struct blk *b, const struct blk_state *s);

#endif
