// SPDX-License-Identifier: Apache-2.0
/*
 * Split virtqueues (virtio 1.2 section 2.7, see queue.h): the descriptor
 * walk from an available head to host iovecs, the used ring, notification
 * suppression in both directions, and the queue's snapshot state.  The
 * rings live in guest memory that the driver writes concurrently, so every
 * field the driver owns is loaded exactly once into a local, ring indices
 * are loaded with acquire semantics and the used index is published with
 * release semantics.  Ring host pointers are looked up with gm_ptr() on
 * every call (a few compares), never cached: a queue that was not
 * validated is still safe to use.  No locks: the owning device serialises
 * all calls (under its virtio_dev lock); the only concurrency is the
 * driver on another CPU.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "lib/err.h"
#include "lib/util.h"
#include "virtio/queue.h"
#include "vmm/mem.h"

/* Ring geometry (section 2.7): 16-byte descriptors, u16 avail entries, 8-byte used entries. */
#define DESC_SIZE 16u
#define AVAIL_RING_OFF 4u
#define USED_RING_OFF 4u
#define USED_ELEM_SIZE 8u

/* The largest chain: its total length must fit the used ring's u32 length. */
#define CHAIN_MAX_BYTES 0xffffffffull

_Static_assert(sizeof(struct virtq_state) == 40, "virtq_state layout");

/* A descriptor as the driver wrote it, copied once (section 2.7.5). */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static bool size_ok(uint16_t size)
{
	return size && size <= VIRTQ_MAX_SIZE && !(size & (size - 1));
}

static uint64_t desc_bytes(uint16_t size)
{
	return (uint64_t)DESC_SIZE * size;
}

/* flags, idx, ring[size], used_event */
static uint64_t avail_bytes(uint16_t size)
{
	return AVAIL_RING_OFF + 2ull * size + 2;
}

/* flags, idx, ring[size], avail_event */
static uint64_t used_bytes(uint16_t size)
{
	return USED_RING_OFF + (uint64_t)USED_ELEM_SIZE * size + 2;
}

/*
 * Host pointers to the rings, or NULL when the queue's geometry is bad.
 * Alignment is checked here as well as in virtq_validate() so that the
 * typed accesses below are aligned even on a queue nobody validated.
 */
static uint8_t *desc_ring(const struct virtq *q)
{
	if (!size_ok(q->size) || !IS_ALIGNED(q->desc_gpa, 16))
		return NULL;
	return gm_ptr(q->gm, q->desc_gpa, desc_bytes(q->size));
}

static uint8_t *avail_ring(const struct virtq *q)
{
	if (!size_ok(q->size) || !IS_ALIGNED(q->avail_gpa, 2))
		return NULL;
	return gm_ptr(q->gm, q->avail_gpa, avail_bytes(q->size));
}

static uint8_t *used_ring(const struct virtq *q)
{
	if (!size_ok(q->size) || !IS_ALIGNED(q->used_gpa, 4))
		return NULL;
	return gm_ptr(q->gm, q->used_gpa, used_bytes(q->size));
}

/* Single loads and stores of driver-shared fields; p is naturally aligned. */
static uint16_t load16(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED));
}

static uint16_t load16_acquire(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_ACQUIRE));
}

static void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), __ATOMIC_RELAXED);
}

static void store16_release(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), __ATOMIC_RELEASE);
}

static void store32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)p, htole32(v), __ATOMIC_RELAXED);
}

/*
 * Copy one descriptor.  Indirect tables need not be 16-byte aligned, so
 * this is a memcpy; the compiler barrier after it keeps the compiler from
 * re-reading guest memory in place of the local copy.
 */
static void read_desc(const uint8_t *p, struct desc *d)
{
	uint8_t raw[DESC_SIZE];
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;

	memcpy(raw, p, sizeof(raw)); /* guest-controlled */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	memcpy(&addr, raw, 8);
	memcpy(&len, raw + 8, 4);
	memcpy(&flags, raw + 12, 2);
	memcpy(&next, raw + 14, 2);
	d->addr = le64toh(addr);
	d->len = le32toh(len);
	d->flags = le16toh(flags);
	d->next = le16toh(next);
}

/* ---- setup ---- */

void virtq_init(struct virtq *q, const struct guest_mem *gm)
{
	memset(q, 0, sizeof(*q));
	q->gm = gm;
}

int virtq_validate(const struct virtq *q)
{
	if (!size_ok(q->size))
		return err_setx(-EINVAL, "virtqueue size %u is not a power of two in 1..%u",
				q->size, VIRTQ_MAX_SIZE);
	/* Section 2.7: descriptor table 16-byte, available ring 2-byte, used ring 4-byte aligned. */
	if (!IS_ALIGNED(q->desc_gpa, 16) || !IS_ALIGNED(q->avail_gpa, 2) ||
	    !IS_ALIGNED(q->used_gpa, 4))
		return err_setx(-EINVAL,
				"virtqueue rings misaligned (desc %#llx avail %#llx used %#llx)",
				(unsigned long long)q->desc_gpa, (unsigned long long)q->avail_gpa,
				(unsigned long long)q->used_gpa);
	if (!desc_ring(q))
		return err_setx(-EINVAL, "virtqueue descriptor table at %#llx is not in RAM",
				(unsigned long long)q->desc_gpa);
	if (!avail_ring(q))
		return err_setx(-EINVAL, "virtqueue available ring at %#llx is not in RAM",
				(unsigned long long)q->avail_gpa);
	if (!used_ring(q))
		return err_setx(-EINVAL, "virtqueue used ring at %#llx is not in RAM",
				(unsigned long long)q->used_gpa);
	return 0;
}

/* ---- the chain walk ---- */

/* Append one buffer to the chain (section 2.7.4: readable buffers come first). */
static int add_buf(const struct virtq *q, struct virtq_chain *c, const struct desc *d)
{
	bool write = d->flags & VIRTQ_DESC_F_WRITE;
	unsigned n = c->nr_out + c->nr_in;
	void *p;

	if (!d->len)
		return 0; /* nothing to map; its flags do not matter */
	if (!write && c->nr_in)
		return err_setx(-EINVAL, "readable descriptor after a writable one");
	if (n == VIRTQ_MAX_CHAIN)
		return err_setx(-EINVAL, "chain has more than %u buffers", VIRTQ_MAX_CHAIN);
	if (c->out_len + c->in_len + d->len > CHAIN_MAX_BYTES)
		return err_setx(-EINVAL, "chain is 4 GiB or longer");
	p = gm_ptr(q->gm, d->addr, d->len);
	if (!p)
		return err_setx(-EINVAL, "buffer %#llx+%u is not in guest RAM",
				(unsigned long long)d->addr, d->len);
	c->iov[n].iov_base = p;
	c->iov[n].iov_len = d->len;
	if (write) {
		c->nr_in++;
		c->in_len += d->len;
	} else {
		c->nr_out++;
		c->out_len += d->len;
	}
	return 0;
}

/*
 * An indirect table (section 2.7.5.3): len / 16 descriptors chained by
 * their own next fields, which index the table.  At most that many steps,
 * so a cycle inside the table ends the walk; no nested tables.
 */
static int walk_indirect(const struct virtq *q, struct virtq_chain *c, const struct desc *ind)
{
	uint32_t n = ind->len / DESC_SIZE;
	const uint8_t *table;
	uint32_t i = 0, steps = 0;
	struct desc d;
	int ret;

	if (!q->indirect)
		return err_setx(-EINVAL, "indirect descriptor without VIRTIO_F_INDIRECT_DESC");
	if (ind->flags & VIRTQ_DESC_F_NEXT)
		return err_setx(-EINVAL, "indirect descriptor with NEXT set");
	if (!ind->len || ind->len % DESC_SIZE || n > VIRTQ_MAX_CHAIN)
		return err_setx(-EINVAL,
				"indirect table length %u is not a multiple of 16 in 16..%u",
				ind->len, VIRTQ_MAX_CHAIN * DESC_SIZE);
	table = gm_ptr(q->gm, ind->addr, ind->len);
	if (!table)
		return err_setx(-EINVAL, "indirect table %#llx+%u is not in guest RAM",
				(unsigned long long)ind->addr, ind->len);
	for (;;) {
		if (++steps > n)
			return err_setx(-EINVAL, "loop in indirect table");
		read_desc(table + (size_t)i * DESC_SIZE, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return err_setx(-EINVAL, "nested indirect table");
		ret = add_buf(q, c, &d);
		if (ret)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= n)
			return err_setx(-EINVAL, "indirect next %u past the table's %u entries", i,
					n);
	}
}

/* A chain from the descriptor table, at most q->size steps (no descriptor twice). */
static int walk(const struct virtq *q, const uint8_t *descs, uint16_t head, struct virtq_chain *c)
{
	uint32_t i = head, steps = 0;
	struct desc d;
	int ret;

	for (;;) {
		if (++steps > q->size)
			return err_setx(-EINVAL, "loop in descriptor chain from head %u", head);
		read_desc(descs + (size_t)i * DESC_SIZE, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			/* NEXT is refused with it, so the table ends the chain. */
			return walk_indirect(q, c, &d);
		ret = add_buf(q, c, &d);
		if (ret)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= q->size)
			return err_setx(-EINVAL, "descriptor next %u out of range (size %u)", i,
					q->size);
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	const uint8_t *descs, *avail;
	uint16_t idx, pending, head;
	int ret;

	if (!q->ready)
		return 0;
	descs = desc_ring(q);
	avail = avail_ring(q);
	if (!descs || !avail)
		return err_setx(-EINVAL, "virtqueue rings are not in guest RAM");
	/* Acquire: the ring entries and descriptors below were written before idx. */
	idx = load16_acquire(avail + 2); /* guest-controlled */
	pending = (uint16_t)(idx - q->last_avail);
	if (!pending)
		return 0;
	if (pending > q->size)
		return err_setx(-EINVAL, "available index %u is %u entries ahead (size %u)", idx,
				pending, q->size);
	head = load16(avail + AVAIL_RING_OFF + 2u * (q->last_avail & (q->size - 1)));
	if (head >= q->size)
		return err_setx(-EINVAL, "available head %u out of range (size %u)", head, q->size);
	c->head = head;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	ret = walk(q, descs, head, c);
	if (ret)
		return ret;
	q->last_avail++;
	return 1;
}

void virtq_unpop(struct virtq *q)
{
	/* The entry is still in the avail ring: the driver may not reuse it before we push it. */
	q->last_avail--;
}

bool virtq_has_avail(const struct virtq *q)
{
	const uint8_t *avail;

	if (!q->ready)
		return false;
	avail = avail_ring(q);
	if (!avail)
		return false;
	return load16_acquire(avail + 2) != q->last_avail;
}

/* ---- used ring and notifications ---- */

void virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	uint8_t *used = used_ring(q);
	uint8_t *elem;

	if (!used)
		return; /* pop refused this queue already; nothing sane to write */
	elem = used + USED_RING_OFF + USED_ELEM_SIZE * (q->used_idx & (q->size - 1));
	store32(elem, head);
	store32(elem + 4, written);
	q->used_idx++;
	/* Release: the element (and the buffers' contents) before the index (section 2.7.8). */
	store16_release(used + 2, q->used_idx);
}

void virtq_fill(struct virtq *q, unsigned i, uint16_t head, uint32_t written)
{
	uint8_t *used = used_ring(q);
	uint8_t *elem;

	if (!used)
		return;
	elem = used + USED_RING_OFF +
	       USED_ELEM_SIZE * ((uint16_t)(q->used_idx + i) & (q->size - 1));
	store32(elem, head);
	store32(elem + 4, written);
}

void virtq_flush(struct virtq *q, unsigned n)
{
	uint8_t *used = used_ring(q);

	if (!used)
		return;
	q->used_idx = (uint16_t)(q->used_idx + n);
	store16_release(used + 2, q->used_idx);
}

int virtq_resync(struct virtq *q, uint16_t last_avail)
{
	const uint8_t *used = used_ring(q);

	if (!used)
		return -EINVAL;
	q->last_avail = last_avail;
	q->used_idx = load16_acquire(used + 2);
	q->signalled_valid = false;
	return 0;
}

/* Section 2.7.10: notify when new_idx passed event since old, modulo 2^16. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool virtq_should_notify(struct virtq *q)
{
	const uint8_t *avail = avail_ring(q);
	uint16_t old = q->signalled_used, event;
	bool valid = q->signalled_valid;

	/*
	 * Full fence: our used->idx store must be visible before we read the
	 * driver's suppression state, or both sides can miss each other.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!avail)
		return true;
	if (!q->event_idx)
		return !(load16(avail) & VIRTQ_AVAIL_F_NO_INTERRUPT); /* guest-controlled */
	q->signalled_used = q->used_idx;
	q->signalled_valid = true;
	if (!valid)
		return true;
	event = load16(avail + AVAIL_RING_OFF + 2u * q->size); /* used_event, guest-controlled */
	return need_event(event, q->used_idx, old);
}

void virtq_set_notify(struct virtq *q, bool enable)
{
	uint8_t *used = used_ring(q);

	if (!used)
		return;
	if (q->event_idx) {
		/*
		 * avail_event = last_avail asks for a kick on the next buffer;
		 * last_avail - 1 is an index the driver can only reach again
		 * after 65535 more, which it never gets that far ahead for.
		 */
		store16(used + USED_RING_OFF + USED_ELEM_SIZE * q->size,
			enable ? q->last_avail : (uint16_t)(q->last_avail - 1));
	} else {
		/* The device owns used->flags; the only defined bit is NO_NOTIFY. */
		store16(used, enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
	}
	/* Full fence before the caller re-checks avail->idx (the other half of the race). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void virtq_want_more(struct virtq *q)
{
	uint8_t *used = used_ring(q);
	const uint8_t *avail = avail_ring(q);

	if (!used || !avail)
		return;
	if (q->event_idx)
		/* A kick when the driver adds past what it has made available so far. */
		store16(used + USED_RING_OFF + USED_ELEM_SIZE * q->size, load16_acquire(avail + 2));
	else
		store16(used, 0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ---- chain copy helpers ---- */

static size_t copy_iov(const struct iovec *iov, unsigned nr, uint64_t off, void *buf,
		       const void *src, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < nr && done < len; i++) {
		size_t n;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = MIN(iov[i].iov_len - off, len - done);
		if (buf)
			memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + off, n);
		else
			memcpy((uint8_t *)iov[i].iov_base + off, (const uint8_t *)src + done, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *buf, size_t len)
{
	if (!len)
		return 0;
	return copy_iov(c->iov, c->nr_out, off, buf, NULL, len);
}

size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *buf, size_t len)
{
	if (!len)
		return 0;
	return copy_iov(c->iov + c->nr_out, c->nr_in, off, NULL, buf, len);
}

/* ---- save / restore ---- */

void virtq_save(const struct virtq *q, struct virtq_state *s)
{
	memset(s, 0, sizeof(*s));
	s->desc_gpa = htole64(q->desc_gpa);
	s->avail_gpa = htole64(q->avail_gpa);
	s->used_gpa = htole64(q->used_gpa);
	s->size = htole16(q->size);
	s->last_avail = htole16(q->last_avail);
	s->used_idx = htole16(q->used_idx);
	s->signalled_used = htole16(q->signalled_used);
	s->ready = q->ready;
	s->event_idx = q->event_idx;
	s->indirect = q->indirect;
	s->signalled_valid = q->signalled_valid;
}

int virtq_restore(struct virtq *q, const struct virtq_state *s)
{
	uint16_t size = le16toh(s->size);
	struct virtq t;

	if (size && !size_ok(size))
		return err_setx(-EINVAL, "virtqueue state: size %u", size);
	if (s->ready > 1 || s->event_idx > 1 || s->indirect > 1 || s->signalled_valid > 1)
		return err_setx(-EINVAL, "virtqueue state: flag byte not 0 or 1");
	for (size_t i = 0; i < sizeof(s->pad); i++)
		if (s->pad[i])
			return err_setx(-EINVAL, "virtqueue state: nonzero padding");
	if (!s->signalled_valid && s->signalled_used)
		return err_setx(-EINVAL, "virtqueue state: stale signalled index");
	virtq_init(&t, q->gm);
	t.desc_gpa = le64toh(s->desc_gpa);
	t.avail_gpa = le64toh(s->avail_gpa);
	t.used_gpa = le64toh(s->used_gpa);
	t.size = size;
	t.last_avail = le16toh(s->last_avail);
	t.used_idx = le16toh(s->used_idx);
	t.signalled_used = le16toh(s->signalled_used);
	t.ready = s->ready;
	t.event_idx = s->event_idx;
	t.indirect = s->indirect;
	t.signalled_valid = s->signalled_valid;
	*q = t;
	return 0;
}
