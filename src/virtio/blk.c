// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk (see blk.h).  Request path: the event loop runs notify(),
 * which pops chains, parses each request (header, data buffers, status
 * byte, all guest-controlled) and either answers it at once (GET_ID, bad
 * requests) or hands it to the I/O worker pool; the pool's workers run the
 * disk I/O straight into or out of guest memory; complete() on the event
 * loop writes each status byte, returns the chains on the used ring and
 * interrupts the guest once per batch.  Everything but the workers' I/O
 * runs with vd.lock held.  A reset (vCPU thread, vd.lock held) waits for
 * the workers, then bumps a generation so that requests finished before
 * the reset are never returned to the new driver.
 *
 * Rate limiting (lib/ratelimit.h): each request is charged before it is
 * started (its data bytes and one operation; flush, get-id and the rest one
 * operation, no bytes).  A request the limiter holds back is given back to
 * the avail ring (virtq_unpop) and the queue is left alone, notifications
 * off, until a one-shot timer on the event loop fires when the tokens are
 * there; nothing is dropped or failed.  A reset forgets the wait (the
 * chain was never taken); the limiter keeps its levels, so a reset does
 * not refill it.  Nothing of this is saved in a snapshot but the config:
 * a held chain is still in the avail ring.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "block/aio.h"
#include "block/disk.h"
#include "blk.h"
#include "lib/err.h"
#define LOG_TAG "blk"
#include "lib/log.h"
#include "lib/util.h"
#include "vmm/evloop.h"

/* Feature bits (section 5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status (section 5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_WZ_UNMAP 1u

#define SECTOR_SHIFT 9
#define BLK_SEG_MAX (BLK_QUEUE_SIZE - 2) /* data buffers; header and status take two */
#define BLK_MAX_DWZ_SECTORS (1u << 22)	 /* 2 GiB per discard/write-zeroes segment */
#define BLK_DWZ_SEG_MAX 1		 /* segments per discard/write-zeroes request */

struct virtio_blk_config { /* section 5.2.4, little-endian */
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp;
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
} __attribute__((packed));
_Static_assert(offsetof(struct virtio_blk_config, blk_size) == 20, "virtio_blk_config layout");
_Static_assert(offsetof(struct virtio_blk_config, num_queues) == 34, "virtio_blk_config layout");
_Static_assert(sizeof(struct virtio_blk_config) == 60, "virtio_blk_config layout");

struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct virtio_blk_dwz_seg { /* discard / write-zeroes segment */
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

struct blk_req {
	struct aio_req aio;
	struct blk *blk;
	struct blk_req *next_free;
	uint32_t gen;
	uint16_t head;
	uint32_t type;
	uint64_t off;	  /* bytes */
	uint64_t len;	  /* data bytes */
	uint8_t *status;  /* the status byte in guest memory */
	uint32_t written; /* bytes for the used ring, status included */
	uint8_t result;
	unsigned niov;
	struct iovec iov[BLK_SEG_MAX];
	struct virtio_blk_dwz_seg seg[BLK_DWZ_SEG_MAX];
	unsigned nseg;
};

struct blk {
	struct virtio_dev vd;
	struct disk *disk;
	bool ro;
	char serial[BLK_SERIAL_MAX];
	uint64_t capacity; /* sectors */
	struct aio_ctx aio;
	bool aio_ready;
	struct blk_req *reqs;
	struct blk_req *free;
	uint32_t gen;
	bool starved; /* every request slot busy: resume popping on completion */
	struct virtq_chain chain;
	struct evloop *loop;
	int timer;	/* one-shot timerfd on loop (owned by it), or -1 without a loop */
	struct rl rl;	/* rate limiter */
	bool throttled; /* a request waits for tokens: the timer is armed */
};

static struct blk *to_blk(struct virtio_dev *vd)
{
	return container_of(vd, struct blk, vd);
}

/* ---- request path ---- */

static bool in_range(const struct blk *b, uint64_t sector, uint64_t sectors)
{
	return sector <= b->capacity && sectors <= b->capacity - sector;
}

static void io_work(struct aio_req *ar)
{
	struct blk_req *r = container_of(ar, struct blk_req, aio);
	struct disk *d = r->blk->disk;
	int ret = 0;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		ret = disk_preadv(d, r->iov, (int)r->niov, r->off);
		break;
	case VIRTIO_BLK_T_OUT:
		ret = disk_pwritev(d, r->iov, (int)r->niov, r->off);
		break;
	case VIRTIO_BLK_T_FLUSH:
		ret = disk_flush(d);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		for (unsigned i = 0; !ret && i < r->nseg; i++) {
			uint64_t off = r->seg[i].sector << SECTOR_SHIFT;
			uint64_t len = (uint64_t)r->seg[i].num_sectors << SECTOR_SHIFT;

			if (r->type == VIRTIO_BLK_T_DISCARD)
				ret = disk_discard(d, off, len);
			else
				ret = disk_write_zeroes(d, off, len,
							r->seg[i].flags & VIRTIO_BLK_WZ_UNMAP);
		}
		break;
	}
	if (ret)
		log_warn_rl("%s: request type %u at byte %llu (%llu bytes) failed: %s", d->path,
			    r->type, (unsigned long long)r->off, (unsigned long long)r->len,
			    strerror(-ret));
	r->result = ret ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

static void put_req(struct blk *b, struct blk_req *r)
{
	r->next_free = b->free;
	b->free = r;
}

/* Answer r now (vd.lock held). */
static void finish_now(struct blk *b, struct blk_req *r, uint8_t result)
{
	*r->status = result;
	virtq_push(&b->vd.vqs[0], r->head, r->written);
	put_req(b, r);
}

/* Parse the discard/write-zeroes segments that follow the header. */
static uint8_t parse_dwz(struct blk *b, struct blk_req *r, const struct virtq_chain *c)
{
	uint64_t bytes = c->out_len - sizeof(struct virtio_blk_req_hdr);

	if (bytes == 0 || bytes % sizeof(struct virtio_blk_dwz_seg) ||
	    bytes / sizeof(struct virtio_blk_dwz_seg) > BLK_DWZ_SEG_MAX)
		return VIRTIO_BLK_S_UNSUPP;
	r->nseg = (unsigned)(bytes / sizeof(struct virtio_blk_dwz_seg));
	virtq_chain_read(c, sizeof(struct virtio_blk_req_hdr), r->seg, bytes);
	for (unsigned i = 0; i < r->nseg; i++) {
		struct virtio_blk_dwz_seg *s = &r->seg[i]; /* guest-controlled */

		if (r->type == VIRTIO_BLK_T_DISCARD && (s->flags & VIRTIO_BLK_WZ_UNMAP))
			return VIRTIO_BLK_S_UNSUPP; /* 5.2.6.2: unmap is reserved for discard */
		if (s->flags & ~VIRTIO_BLK_WZ_UNMAP)
			return VIRTIO_BLK_S_UNSUPP;
		if (s->num_sectors > BLK_MAX_DWZ_SECTORS || !in_range(b, s->sector, s->num_sectors))
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/*
 * Start the request in chain c.  false: the chain is too malformed to
 * answer (no room for a status byte), and the device needs a reset.
 */
static bool handle_chain(struct blk *b, const struct virtq_chain *c)
{
	struct virtio_blk_req_hdr hdr;
	const struct iovec *in = &c->iov[c->nr_out];
	struct blk_req *r;
	uint8_t result = VIRTIO_BLK_S_OK;
	uint64_t got = 0;
	int n;

	if (!c->nr_in || c->out_len < sizeof(hdr))
		return false;
	r = b->free;
	b->free = r->next_free;
	r->head = c->head;
	r->status = (uint8_t *)in[c->nr_in - 1].iov_base + in[c->nr_in - 1].iov_len - 1;
	r->written = 1;
	r->niov = 0;
	r->nseg = 0;
	r->len = 0;
	virtq_chain_read(c, 0, &hdr, sizeof(hdr)); /* guest-controlled */
	r->type = hdr.type;
	r->off = hdr.sector << SECTOR_SHIFT;

	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (hdr.type == VIRTIO_BLK_T_IN) {
			r->len = c->in_len - 1;
			n = disk_iov_slice(in, (int)c->nr_in, 0, r->len, r->iov, BLK_SEG_MAX, &got);
		} else {
			r->len = c->out_len - sizeof(hdr);
			n = disk_iov_slice(c->iov, (int)c->nr_out, sizeof(hdr), r->len, r->iov,
					   BLK_SEG_MAX, &got);
		}
		/* got < len: more data buffers than seg_max. */
		if (hdr.type == VIRTIO_BLK_T_OUT && b->ro) {
			result = VIRTIO_BLK_S_IOERR;
		} else if (got != r->len || r->len % 512 ||
			   hdr.sector > UINT64_MAX >> SECTOR_SHIFT ||
			   !in_range(b, hdr.sector, r->len >> SECTOR_SHIFT)) {
			log_warn_rl("bad request: type %u sector %llu len %llu", hdr.type,
				    (unsigned long long)hdr.sector, (unsigned long long)r->len);
			result = VIRTIO_BLK_S_IOERR;
		} else {
			r->niov = (unsigned)n;
			if (hdr.type == VIRTIO_BLK_T_IN)
				r->written += (uint32_t)r->len;
		}
		break;
	case VIRTIO_BLK_T_FLUSH:
		break;
	case VIRTIO_BLK_T_GET_ID: {
		size_t len = MIN(c->in_len - 1, (uint64_t)BLK_SERIAL_MAX);

		r->written += (uint32_t)virtq_chain_write(c, 0, b->serial, len);
		finish_now(b, r, VIRTIO_BLK_S_OK);
		return true;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		result = b->ro ? VIRTIO_BLK_S_IOERR : parse_dwz(b, r, c);
		break;
	default:
		result = VIRTIO_BLK_S_UNSUPP;
	}
	if (result != VIRTIO_BLK_S_OK) {
		finish_now(b, r, result);
		return true;
	}
	r->gen = b->gen;
	r->aio.work = io_work;
	aio_submit(&b->aio, &r->aio);
	return true;
}

/*
 * Charge the request in c to the limiter.  false: not now; the timer is
 * armed and b->throttled set.
 */
static bool charge(struct blk *b, const struct virtq_chain *c)
{
	struct virtio_blk_req_hdr hdr;
	uint64_t bytes = 0, now, wait;

	if (rl_unlimited(&b->rl))
		return true;
	if (c->out_len < sizeof(hdr))
		return true;			   /* malformed: handle_chain() refuses it */
	virtq_chain_read(c, 0, &hdr, sizeof(hdr)); /* guest-controlled: only prices it */
	if (hdr.type == VIRTIO_BLK_T_IN && c->in_len)
		bytes = c->in_len - 1;
	else if (hdr.type == VIRTIO_BLK_T_OUT)
		bytes = c->out_len - sizeof(hdr);
	now = monotonic_ns();
	if (rl_consume(&b->rl, bytes, 1, now))
		return true;
	wait = rl_wait_ns(&b->rl, now);
	if (evl_timer_arm(b->loop, b->timer, wait ? wait : 1))
		log_warn_rl("%s: cannot arm the rate-limit timer: %s", b->disk->path, err_msg());
	b->throttled = true;
	return false;
}

/* Take and start every available request (vd.lock held). */
static void process_queue(struct blk *b)
{
	struct virtq *q = &b->vd.vqs[0];
	bool pushed = false;
	int ret;

	if (!virtio_dev_running(&b->vd) || b->throttled)
		return; /* throttled: the timer comes back */
	b->starved = false;
	for (;;) {
		virtq_set_notify(q, false);
		while (b->free) {
			uint16_t before = q->used_idx;

			ret = virtq_pop(q, &b->chain);
			if (ret == 0)
				break;
			if (ret > 0 && !charge(b, &b->chain)) {
				/* Notifications stay off: the timer resumes. */
				virtq_unpop(q);
				goto out;
			}
			if (ret < 0 || !handle_chain(b, &b->chain)) {
				virtio_dev_needs_reset(&b->vd, "malformed request chain");
				return;
			}
			pushed |= q->used_idx != before;
		}
		if (!b->free) {
			b->starved = true; /* complete() resumes */
			break;
		}
		virtq_set_notify(q, true);
		if (!virtq_has_avail(q))
			break;
	}
out:
	if (pushed)
		virtio_dev_signal_used(&b->vd, 0);
}

/* Event loop: the tokens a held request waited for are there. */
static void rl_timer_fired(void *opaque, uint32_t events)
{
	struct blk *b = opaque;

	pthread_mutex_lock(&b->vd.lock);
	if (b->throttled) { /* else a reset or a new limit got here first */
		b->throttled = false;
		process_queue(b);
	}
	pthread_mutex_unlock(&b->vd.lock);
}

/* Forget a wait for tokens (vd.lock held). */
static void unthrottle(struct blk *b)
{
	if (!b->throttled)
		return;
	b->throttled = false;
	evl_timer_arm(b->loop, b->timer, 0);
}

/* Event loop: requests the workers finished. */
static void complete(struct aio_ctx *ctx, struct aio_req *list)
{
	struct blk *b = ctx->opaque;
	bool pushed = false;

	pthread_mutex_lock(&b->vd.lock);
	while (list) {
		struct blk_req *r = container_of(list, struct blk_req, aio);

		list = list->next;
		if (r->gen != b->gen)
			continue; /* issued before a reset; its slot was reclaimed then */
		*r->status = r->result;
		virtq_push(&b->vd.vqs[0], r->head, r->written);
		put_req(b, r);
		pushed = true;
	}
	if (pushed && virtio_dev_running(&b->vd))
		virtio_dev_signal_used(&b->vd, 0);
	if (b->starved)
		process_queue(b);
	pthread_mutex_unlock(&b->vd.lock);
}

/* ---- virtio ops ---- */

static uint64_t blk_features(struct virtio_dev *vd)
{
	struct blk *b = to_blk(vd);
	uint64_t f = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
		     1ull << VIRTIO_BLK_F_FLUSH;

	if (b->ro)
		f |= 1ull << VIRTIO_BLK_F_RO;
	else
		f |= 1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	return f;
}

static void reclaim_all(struct blk *b)
{
	b->free = NULL;
	for (unsigned i = BLK_QUEUE_SIZE; i-- > 0;)
		put_req(b, &b->reqs[i]);
	b->starved = false;
}

static int blk_activate(struct virtio_dev *vd)
{
	return 0;
}

static void blk_reset(struct virtio_dev *vd)
{
	struct blk *b = to_blk(vd);

	/* Workers write into buffers the driver is about to reuse: wait for them. */
	aio_ctx_drain(&b->aio);
	b->gen++;
	(void)aio_ctx_take(&b->aio);
	reclaim_all(b);
	/* The held chain was given back to a ring that is going away. */
	unthrottle(b);
}

static void blk_notify(struct virtio_dev *vd, unsigned q)
{
	if (q == 0)
		process_queue(to_blk(vd));
}

static void blk_config_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
	struct blk *b = to_blk(vd);
	struct virtio_blk_config c = {
		.capacity = b->capacity,
		.seg_max = BLK_SEG_MAX,
		.blk_size = 512,
		.num_queues = 1,
		.max_discard_sectors = BLK_MAX_DWZ_SECTORS,
		.max_discard_seg = BLK_DWZ_SEG_MAX,
		.discard_sector_alignment = 8, /* 4 KiB: what hole punching can free */
		.max_write_zeroes_sectors = BLK_MAX_DWZ_SECTORS,
		.max_write_zeroes_seg = BLK_DWZ_SEG_MAX,
		.write_zeroes_may_unmap = 1,
	};

	memcpy(buf, (uint8_t *)&c + off, len); /* off + len <= config_size: the transport checks */
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.type = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.queue_size = BLK_QUEUE_SIZE,
	.config_size = sizeof(struct virtio_blk_config),
	.features = blk_features,
	.activate = blk_activate,
	.reset = blk_reset,
	.notify = blk_notify,
	.config_read = blk_config_read,
};

/* ---- create / destroy ---- */

int blk_create(const struct blk_config *cfg, const struct guest_mem *gm, struct aio_pool *pool,
	       struct evloop *loop, struct blk **out)
{
	struct blk *b = calloc(1, sizeof(*b));
	int ret;

	if (!b) {
		disk_close(cfg->disk);
		return err_set(-ENOMEM, "virtio-blk");
	}
	b->timer = -1;
	b->disk = cfg->disk;
	b->ro = cfg->ro || cfg->disk->rdonly;
	b->capacity = cfg->disk->size >> SECTOR_SHIFT;
	/* Zero-padded, not NUL-terminated when 20 bytes long (VIRTIO_BLK_T_GET_ID). */
	if (cfg->serial)
		memcpy(b->serial, cfg->serial, strnlen(cfg->serial, sizeof(b->serial)));
	b->reqs = calloc(BLK_QUEUE_SIZE, sizeof(*b->reqs));
	if (!b->reqs) {
		ret = err_set(-ENOMEM, "virtio-blk requests");
		goto fail;
	}
	for (unsigned i = 0; i < BLK_QUEUE_SIZE; i++)
		b->reqs[i].blk = b;
	reclaim_all(b);
	ret = virtio_dev_init(&b->vd, &blk_ops, gm);
	if (ret)
		goto fail;
	ret = aio_ctx_init(&b->aio, pool, loop, complete, b);
	if (ret)
		goto fail;
	b->aio_ready = true;
	ret = rl_check(&cfg->rl);
	if (ret)
		goto fail;
	if (loop) {
		b->loop = loop;
		ret = evl_timer(loop, 0, 0, rl_timer_fired, b);
		if (ret < 0)
			goto fail;
		b->timer = ret;
		ret = evl_timer_arm(loop, b->timer, 0); /* evl_timer() fires at once */
		if (ret)
			goto fail;
	} else if (cfg->rl.bytes.size || cfg->rl.ops.size) {
		ret = err_setx(-EINVAL, "virtio-blk: rate limits need an event loop");
		goto fail;
	}
	rl_init(&b->rl, &cfg->rl, monotonic_ns());
	if (cfg->disk->size % 512)
		log_warn("%s: size %llu is not a multiple of 512; the last %llu bytes are not "
			 "visible",
			 cfg->disk->path, (unsigned long long)cfg->disk->size,
			 (unsigned long long)(cfg->disk->size % 512));
	*out = b;
	return 0;
fail:
	blk_destroy(b);
	return ret;
}

struct virtio_dev *blk_virtio(struct blk *b)
{
	return &b->vd;
}

void blk_drain(struct blk *b)
{
	aio_ctx_drain(&b->aio);
}

void blk_complete_pending(struct blk *b)
{
	struct aio_req *list = aio_ctx_take(&b->aio);

	if (list)
		complete(&b->aio, list);
}

int blk_set_rate_limit(struct blk *b, const struct rl_config *rl)
{
	int ret = rl_check(rl);

	if (ret)
		return ret;
	if (b->timer < 0 && (rl->bytes.size || rl->ops.size))
		return err_setx(-ENOTSUP, "virtio-blk: rate limits need an event loop");
	pthread_mutex_lock(&b->vd.lock);
	rl_update(&b->rl, rl, monotonic_ns());
	if (b->throttled) {
		/* Re-evaluate the held request under the new limits now. */
		unthrottle(b);
		process_queue(b);
	}
	pthread_mutex_unlock(&b->vd.lock);
	return 0;
}

void blk_get_rate_limit(struct blk *b, struct rl_config *out)
{
	pthread_mutex_lock(&b->vd.lock);
	rl_get_config(&b->rl, out);
	pthread_mutex_unlock(&b->vd.lock);
}

void blk_save(struct blk *b, struct blk_state *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&b->vd.lock);
	s->capacity = htole64(b->capacity);
	s->ro = b->ro;
	rl_get_config(&b->rl, &s->rl);
	pthread_mutex_unlock(&b->vd.lock);
}

int blk_restore(struct blk *b, const struct blk_state *s)
{
	static const uint8_t zero[sizeof(s->pad)];
	uint64_t cap = le64toh(s->capacity);
	int ret;

	if (memcmp(s->pad, zero, sizeof(zero)) || s->ro > 1)
		return err_setx(-EINVAL, "virtio-blk %.20s: malformed snapshot state", b->serial);
	if (cap != b->capacity || (bool)s->ro != b->ro)
		return err_setx(
			-EINVAL,
			"disk %.20s: the snapshot's disk had %llu sectors%s, this one %llu%s",
			b->serial, (unsigned long long)cap, s->ro ? " (read-only)" : "",
			(unsigned long long)b->capacity, b->ro ? " (read-only)" : "");
	ret = rl_check(&s->rl);
	if (ret)
		return ret;
	if (b->timer < 0 && (s->rl.bytes.size || s->rl.ops.size))
		return 0; /* no event loop (tests): no limits */
	pthread_mutex_lock(&b->vd.lock);
	rl_update(&b->rl, &s->rl, monotonic_ns());
	pthread_mutex_unlock(&b->vd.lock);
	return 0;
}

void blk_destroy(struct blk *b)
{
	if (!b)
		return;
	if (b->timer >= 0)
		evl_del(b->loop, b->timer); /* closes it */
	if (b->aio_ready)
		aio_ctx_destroy(&b->aio);
	if (b->vd.ops)
		virtio_dev_destroy(&b->vd);
	disk_close(b->disk);
	free(b->reqs);
	free(b);
}
