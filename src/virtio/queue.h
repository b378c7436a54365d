/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueues (virtio 1.2 section 2.7): the bounded descriptor-chain
 * walk that turns a guest chain into host iovecs, the used ring, and
 * notification suppression (VRING_AVAIL_F_NO_INTERRUPT, EVENT_IDX).
 *
 * Every guest address goes through gm_ptr(), which checks the whole range;
 * every walk is bounded by the queue size (direct) or the indirect table's
 * length.  A malformed chain is reported as -EINVAL and never touched
 * further: the caller marks the device as needing reset.  Everything the
 * guest wrote is guest-controlled and read once.
 *
 * Not thread-safe: the owner (a device, under its virtio_dev lock) serialises.
 */
#ifndef CLONE_VIRTIO_QUEUE_H
#define CLONE_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct guest_mem;

#define VIRTQ_MAX_SIZE 32768 /* the largest split queue the spec allows */
/* The most buffers one chain may have (direct + indirect).  Linux's block
 * driver uses seg_max + 2; net and vsock far fewer. */
#define VIRTQ_MAX_CHAIN 1024

/* Ring flags as the driver and device write them. */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

struct virtq {
	/* Set by the transport from the driver's registers. */
	uint16_t size; /* QueueNum: a power of two, 1..VIRTQ_MAX_SIZE */
	bool ready;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* Set at activation from the negotiated features. */
	bool event_idx;
	bool indirect;
	/* Device-side state (part of the saved state). */
	uint16_t last_avail;	 /* next avail ring entry to take */
	uint16_t used_idx;	 /* next used ring entry to fill */
	uint16_t signalled_used; /* used_idx at the last interrupt (EVENT_IDX) */
	bool signalled_valid;
	const struct guest_mem *gm;
};

/* One popped chain: device-readable buffers first, then device-writable. */
struct virtq_chain {
	uint16_t head;	  /* id to hand back to virtq_push() */
	unsigned nr_out;  /* iov[0..nr_out): driver → device */
	unsigned nr_in;	  /* iov[nr_out..nr_out+nr_in): device → driver */
	uint64_t out_len; /* bytes in the readable part */
	uint64_t in_len;  /* bytes in the writable part */
	struct iovec iov[VIRTQ_MAX_CHAIN];
};

/*
 * Bind q to guest memory and clear its device-side state (queue reset).
 */
void virtq_init(struct virtq *q, const struct guest_mem *gm);
/*
 * Check the ring addresses set by the driver: alignment (desc 16, avail 2,
 * used 4) and that each ring lies wholly in guest RAM.  0 or -EINVAL.
 */
int virtq_validate(const struct virtq *q);
/*
 * Take the next available chain.  1: *c holds it; 0: the ring is empty;
 * -EINVAL: the driver wrote garbage (index jumped more than size, head out
 * of range, a loop, a buffer outside RAM, a readable buffer after a writable
 * one, nested or empty indirect tables, a chain over VIRTQ_MAX_CHAIN, a
 * total length over 4 GiB).  Zero-length descriptors are allowed and skipped.
 */
int virtq_pop(struct virtq *q, struct virtq_chain *c);
/*
 * Give back the chain the last successful virtq_pop() took (a device that
 * may not serve it yet: rate limited, no room): the next virtq_pop() takes
 * the same avail entry again and walks its descriptors afresh.  Only
 * directly after that pop, before any other pop or push on q.
 */
void virtq_unpop(struct virtq *q);
/* Put chain head back with written bytes in the used ring (published at once). */
void virtq_push(struct virtq *q, uint16_t head, uint32_t written);
/*
 * Batched publication (a frame spread over several chains must appear to
 * the driver at once): virtq_fill() writes used element used_idx + i
 * without publishing; virtq_flush() then publishes n filled elements.
 */
void virtq_fill(struct virtq *q, unsigned i, uint16_t head, uint32_t written);
void virtq_flush(struct virtq *q, unsigned n);
/*
 * Take the queue over from a back end that served it (vhost): the next
 * avail entry is last_avail (what the back end reports), the used index is
 * what it published in the used ring.  0, or -EINVAL when the used ring is
 * not in guest memory.
 */
int virtq_resync(struct virtq *q, uint16_t last_avail);
/*
 * After one or more pushes: must the driver be interrupted?  Honours
 * EVENT_IDX (used_event) or VRING_AVAIL_F_NO_INTERRUPT, and updates the
 * signalled state; call at most once per batch.
 */
bool virtq_should_notify(struct virtq *q);
/*
 * Ask the driver to kick (true) or not (false) for new buffers: the avail
 * event index under EVENT_IDX, VRING_USED_F_NO_NOTIFY otherwise.  After
 * enabling, re-check virtq_has_avail() to close the race.
 */
void virtq_set_notify(struct virtq *q, bool enable);
/*
 * The chains available are not enough (a frame needs more buffers): ask
 * for a kick when the driver makes more available, whatever is pending.
 * Then re-check once, as after virtq_set_notify().
 */
void virtq_want_more(struct virtq *q);
/* Are there chains the device has not taken yet? */
bool virtq_has_avail(const struct virtq *q);

/* Copy helpers over a chain's iovecs: bytes copied (short at the end of the part). */
size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *buf, size_t len);
size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *buf, size_t len);

/* Device-side queue state for snapshots (little-endian, fixed layout). */
struct virtq_state {
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t size;
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used;
	uint8_t ready, event_idx, indirect, signalled_valid;
	uint8_t pad[4];
};
void virtq_save(const struct virtq *q, struct virtq_state *s);
/*
 * -EINVAL (q unchanged) when s is malformed: a size that is not 0 or a power
 * of two, flag bytes other than 0/1, nonzero padding.  The ring addresses
 * are the transport's to check (virtq_validate()): a queue the driver is
 * still configuring may legitimately hold anything.  q->gm is kept.
 */
int virtq_restore(struct virtq *q, const struct virtq_state *s);

#endif
