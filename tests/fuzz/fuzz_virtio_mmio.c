// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the virtio-mmio transport (src/virtio/mmio.c) with the
 * shared device helpers (src/virtio/virtio.c) and the queue walk behind a
 * fake device.  The input is a program of byte-coded operations: register
 * reads and writes (aligned, odd-sized, unaligned, config space), pokes
 * into guest RAM (the driver filling rings), a canned initialisation
 * sequence so the fuzzer reaches DRIVER_OK quickly, device-side events
 * (configuration change, NEEDS_RESET) and snapshot round trips, which must
 * be byte-identical, plus restores of corrupted states, which must be
 * rejected or round-trip too.  A queue kick runs the fake device's notify,
 * which pops, copies, pushes and signals like a real device.  Guest memory
 * is two 64 KiB regions around a 64 KiB hole.  Single-threaded.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"
#include "virtio/mmio.h"
#include "vmm/mem.h"

#define REGION 0x10000u
#define HOLE_END 0x20000u
#define QSIZE 16
#define CONFIG_SIZE 12

#define REG_STATUS 0x070
#define REG_QUEUE_SEL 0x030
#define REG_QUEUE_NUM 0x038
#define REG_QUEUE_READY 0x044
#define REG_DRV_FEATURES 0x020
#define REG_DRV_FEATURES_SEL 0x024

struct cursor {
	const uint8_t *p;
	size_t left;
};

struct fake {
	struct virtio_dev vd;
	uint8_t config[CONFIG_SIZE];
	int activate_ret;
};

static uint8_t ram[2 * REGION];
static struct guest_mem gm;
static struct fake dev;
static struct virtq_chain chain;

static uint8_t next(struct cursor *c)
{
	if (!c->left)
		return 0;
	c->left--;
	return *c->p++;
}

static uint32_t next32(struct cursor *c)
{
	uint32_t v = next(c);

	v |= (uint32_t)next(c) << 8;
	v |= (uint32_t)next(c) << 16;
	return v | (uint32_t)next(c) << 24;
}

static void must_hold(struct virtio_dev *vd)
{
	if (pthread_mutex_trylock(&vd->lock) != EBUSY)
		abort(); /* a device op ran without vd->lock */
}

static uint64_t f_features(struct virtio_dev *vd)
{
	must_hold(vd);
	return 1ull << 0 | 1ull << 5 | 1ull << 40 | 1ull << 55;
}

static int f_activate(struct virtio_dev *vd)
{
	must_hold(vd);
	if (!(vd->status & VIRTIO_STATUS_DRIVER_OK) || !(vd->status & VIRTIO_STATUS_FEATURES_OK))
		abort();
	return container_of(vd, struct fake, vd)->activate_ret;
}

static void f_reset(struct virtio_dev *vd)
{
	must_hold(vd);
}

/* What a device does on a kick: drain the queue, answer each chain, signal. */
static void f_notify(struct virtio_dev *vd, unsigned qi)
{
	struct virtq *q = &vd->vqs[qi];
	uint8_t buf[64];

	must_hold(vd);
	if (qi >= vd->ops->nr_queues)
		abort();
	if (!virtio_dev_running(vd))
		return;
	for (unsigned budget = 4 * QSIZE; budget; budget--) {
		int ret = virtq_pop(q, &chain);
		size_t n;

		if (ret < 0) {
			virtio_dev_needs_reset(vd, "malformed chain");
			return;
		}
		if (!ret) {
			virtq_set_notify(q, true);
			if (!virtq_has_avail(q))
				break;
			continue;
		}
		for (unsigned i = 0; i < chain.nr_out + chain.nr_in; i++) {
			const uint8_t *b = chain.iov[i].iov_base;

			if (b < ram || b + chain.iov[i].iov_len > ram + sizeof(ram))
				abort();
		}
		n = virtq_chain_read(&chain, 0, buf, sizeof(buf));
		n = virtq_chain_write(&chain, 0, buf, n);
		virtq_push(q, chain.head, (uint32_t)n);
	}
	virtio_dev_signal_used(vd, qi);
}

static void f_config_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
	must_hold(vd);
	if (off + len > CONFIG_SIZE)
		abort();
	memcpy(buf, container_of(vd, struct fake, vd)->config + off, len);
}

static void f_config_write(struct virtio_dev *vd, unsigned off, const void *buf, unsigned len)
{
	must_hold(vd);
	if (off + len > CONFIG_SIZE)
		abort();
	memcpy(container_of(vd, struct fake, vd)->config + off, buf, len);
}

static const struct virtio_dev_ops fake_ops = {
	.name = "fuzz",
	.type = VIRTIO_ID_BLOCK,
	.nr_queues = 2,
	.queue_size = QSIZE,
	.config_size = CONFIG_SIZE,
	.features = f_features,
	.activate = f_activate,
	.reset = f_reset,
	.notify = f_notify,
	.config_read = f_config_read,
	.config_write = f_config_write,
};

static void hook_irq(void *opaque)
{
	struct virtio_dev *vd = opaque;

	if (__atomic_load_n(&vd->interrupt_status, __ATOMIC_SEQ_CST) & ~3u)
		abort();
}

/* The event loop's side of a kick: lock, notify, unlock (so it must come unlocked). */
static void hook_kick(void *opaque, unsigned q)
{
	struct virtio_dev *vd = opaque;

	if (pthread_mutex_trylock(&vd->lock))
		abort();
	vd->ops->notify(vd, q);
	pthread_mutex_unlock(&vd->lock);
}

static int fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	if (virtio_dev_init(&f->vd, &fake_ops, &gm))
		return -1;
	f->vd.hooks = (struct virtio_hooks){ .irq = hook_irq, .kick = hook_kick, .opaque = &f->vd };
	return 0;
}

static uint32_t rd(unsigned off)
{
	uint32_t v;

	virtio_mmio_ops.read(&dev.vd, off, &v, 4);
	return v;
}

static void wr(unsigned off, uint32_t v)
{
	virtio_mmio_ops.write(&dev.vd, off, &v, 4);
}

static void check_invariants(void)
{
	uint32_t st = dev.vd.status;

	if (st & 0x30)
		abort(); /* undefined status bits */
	if (dev.vd.interrupt_status & ~3u)
		abort();
	if (virtio_dev_running(&dev.vd) && !(st & VIRTIO_STATUS_FEATURES_OK))
		abort();
	if ((st & VIRTIO_STATUS_FEATURES_OK) && !virtio_has_feature(&dev.vd, VIRTIO_F_VERSION_1))
		abort();
}

/* The canned driver: ACK, DRIVER, features, FEATURES_OK, two queues, DRIVER_OK. */
static void canned_init(struct cursor *c)
{
	uint8_t sel = next(c);

	wr(REG_STATUS, 0);
	wr(REG_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(REG_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(REG_DRV_FEATURES_SEL, 0);
	wr(REG_DRV_FEATURES, (sel & 1 ? 1u << VIRTIO_F_INDIRECT_DESC : 0) |
				     (sel & 2 ? 1u << VIRTIO_F_EVENT_IDX : 0) | (sel & 4 ? 1u : 0));
	wr(REG_DRV_FEATURES_SEL, 1);
	wr(REG_DRV_FEATURES, 1); /* VERSION_1 */
	wr(REG_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < 2; q++) {
		uint32_t base = 0x1000u * (q + 1);

		wr(REG_QUEUE_SEL, q);
		wr(REG_QUEUE_NUM, QSIZE);
		wr(0x080, base);
		wr(0x084, 0);
		wr(0x090, base + 0x400);
		wr(0x094, 0);
		wr(0x0a0, base + 0x800);
		wr(0x0a4, 0);
		wr(REG_QUEUE_READY, 1);
	}
	dev.activate_ret = (sel & 8) ? -EIO : 0;
	wr(REG_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

static void round_trip(struct cursor *c)
{
	static struct virtio_mmio_state a, b;
	static struct fake t;
	size_t at;

	virtio_mmio_save(&dev.vd, &a);
	if (fake_init(&t))
		abort();
	if (virtio_mmio_restore(&t.vd, &a)) {
		fprintf(stderr, "restore of a saved state: %s\n", err_msg());
		abort(); /* a saved state must always load */
	}
	virtio_mmio_save(&t.vd, &b);
	if (memcmp(&a, &b, sizeof(a)))
		abort();
	/* Corrupt one byte: restore must reject it or round-trip it exactly. */
	at = ((size_t)next(c) << 8 | next(c)) % sizeof(a);
	((uint8_t *)&a)[at] ^= (uint8_t)(next(c) | 1);
	if (virtio_mmio_restore(&t.vd, &a) == 0) {
		virtio_mmio_save(&t.vd, &b);
		if (memcmp(&a, &b, sizeof(a)))
			abort();
	}
	virtio_dev_destroy(&t.vd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned widths[8] = { 1, 2, 4, 8, 3, 4, 4, 16 };
	struct cursor c = { data, size };
	uint8_t buf[16];

	log_set_level(LOG_ERR); /* guest oddities are expected here */
	memset(ram, 0, sizeof(ram));
	gm.nr = 2;
	gm.regions[0] = (struct gm_region){ .gpa = 0, .size = REGION, .hva = ram };
	gm.regions[1] = (struct gm_region){ .gpa = HOLE_END, .size = REGION, .hva = ram + REGION };
	if (fake_init(&dev))
		return 0;
	while (c.left) {
		uint8_t op = next(&c);
		uint32_t v;
		unsigned off, len;

		switch (op % 8) {
		case 0: /* aligned 32-bit register write (0x000..0x3fc: registers and config) */
			off = (unsigned)next(&c) * 4;
			wr(off, next32(&c));
			break;
		case 1: /* aligned 32-bit register read */
			(void)rd((unsigned)next(&c) * 4);
			break;
		case 2: /* any offset, any width, either direction */
			off = next(&c);
			off |= (unsigned)(next(&c) & 3) << 8;
			len = widths[op >> 5];
			memset(buf, next(&c), sizeof(buf));
			if (op & 0x10)
				virtio_mmio_ops.write(&dev.vd, off, buf, len);
			else
				virtio_mmio_ops.read(&dev.vd, off, buf, len);
			break;
		case 3: /* the driver writes guest RAM */
			off = next(&c);
			off |= (unsigned)next(&c) << 8;
			len = next(&c) % 32;
			for (unsigned i = 0; i < len; i++) {
				uint8_t b = next(&c);
				uint32_t gpa = (op & 0x80) ? HOLE_END + off + i : off + i;
				uint8_t *p = gm_ptr(&gm, gpa, 1);

				if (p)
					*p = b;
			}
			break;
		case 4:
			canned_init(&c);
			break;
		case 5: /* device-side events */
			v = next(&c);
			pthread_mutex_lock(&dev.vd.lock);
			if (v & 1)
				virtio_dev_config_changed(&dev.vd);
			if (v & 2)
				virtio_dev_needs_reset(&dev.vd, "fuzz");
			if (v & 4)
				virtio_dev_signal_used(&dev.vd, (v >> 3) & 3);
			pthread_mutex_unlock(&dev.vd.lock);
			break;
		case 6:
			round_trip(&c);
			break;
		default: /* a status write of chosen bits, or a queue kick */
			v = next(&c);
			if (op & 0x80)
				wr(VIRTIO_MMIO_QUEUE_NOTIFY, v & 3);
			else
				wr(REG_STATUS, v);
			if (!v && !(op & 0x80) && dev.vd.status)
				abort(); /* writing 0 always resets */
			break;
		}
		check_invariants();
	}
	virtio_dev_destroy(&dev.vd);
	return 0;
}
