// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: the virtio-mmio v2 transport (src/virtio/mmio.c) and the
 * shared device helpers (src/virtio/virtio.c), driven through the bus ops
 * as a guest driver would, against a tiny fake device whose ops record
 * their calls and check that they run under vd->lock, with fake guest
 * memory for the rings.  Covers identification, feature negotiation, the
 * whole status transition table, queue programming and its lockout,
 * activation and its failures, reset, notify, interrupts, configuration
 * space, malformed accesses and save/restore.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "fakes/fake_mem.h"
#include "fakes/fake_virtio.h"
#include "lib/err.h"
#include "lib/util.h"
#include "virtio/mmio.h"

#define MAGIC 0x000
#define VERSION 0x004
#define DEVICE_ID 0x008
#define VENDOR_ID 0x00c
#define DEV_FEATURES 0x010
#define DEV_FEATURES_SEL 0x014
#define DRV_FEATURES 0x020
#define DRV_FEATURES_SEL 0x024
#define QUEUE_SEL 0x030
#define QUEUE_NUM_MAX 0x034
#define QUEUE_NUM 0x038
#define QUEUE_READY 0x044
#define QUEUE_NOTIFY 0x050
#define INT_STATUS 0x060
#define INT_ACK 0x064
#define STATUS 0x070
#define QUEUE_DESC_LO 0x080
#define QUEUE_DESC_HI 0x084
#define QUEUE_DRIVER_LO 0x090
#define QUEUE_DRIVER_HI 0x094
#define QUEUE_DEVICE_LO 0x0a0
#define QUEUE_DEVICE_HI 0x0a4
#define SHM_SEL 0x0ac
#define SHM_LEN_LO 0x0b0
#define SHM_LEN_HI 0x0b4
#define SHM_BASE_LO 0x0b8
#define SHM_BASE_HI 0x0bc
#define QUEUE_RESET 0x0c0
#define CONFIG_GEN 0x0fc
#define CONFIG 0x100

#define ACK VIRTIO_STATUS_ACKNOWLEDGE
#define DRV VIRTIO_STATUS_DRIVER
#define FOK VIRTIO_STATUS_FEATURES_OK
#define DOK VIRTIO_STATUS_DRIVER_OK
#define NR VIRTIO_STATUS_NEEDS_RESET
#define FAIL VIRTIO_STATUS_FAILED

#define B(n) (1ull << (n))
#define OFFERED                                                                                    \
	(B(5) | B(9) | B(50) | B(VIRTIO_F_VERSION_1) | B(VIRTIO_F_INDIRECT_DESC) |                 \
	 B(VIRTIO_F_EVENT_IDX))

#define QSIZE FAKE_VIRTIO_QSIZE
#define CONFIG_SIZE FAKE_VIRTIO_CONFIG_SIZE

static struct guest_mem gm;
static struct fake_dev dev;
static struct virtio_dev *vd = &dev.vd;

static void init_dev(struct fake_dev *d)
{
	cr_assert_eq(fake_virtio_init(d, &gm), 0);
}

static void setup(void)
{
	cr_assert_eq(fake_mem_init_std(&gm), 0);
	init_dev(&dev);
}

static void teardown(void)
{
	virtio_dev_destroy(&dev.vd);
	fake_mem_destroy(&gm);
}

TestSuite(virtio_mmio, .init = setup, .fini = teardown, .timeout = 10);

static uint32_t rd_dev(struct virtio_dev *v, unsigned off)
{
	uint32_t x = 0xdeadbeef;

	virtio_mmio_ops.read(v, off, &x, 4);
	return x;
}

static void wr_dev(struct virtio_dev *v, unsigned off, uint32_t x)
{
	virtio_mmio_ops.write(v, off, &x, 4);
}

static uint32_t rd(unsigned off)
{
	return rd_dev(vd, off);
}

static void wr(unsigned off, uint32_t x)
{
	wr_dev(vd, off, x);
}

static void write_features(uint64_t f)
{
	wr(DRV_FEATURES_SEL, 0);
	wr(DRV_FEATURES, (uint32_t)f);
	wr(DRV_FEATURES_SEL, 1);
	wr(DRV_FEATURES, (uint32_t)(f >> 32));
}

/* Queue i's rings: 64 KiB apart, all in the low region. */
static uint64_t ring_base(unsigned i)
{
	return 0x10000ull + 0x10000ull * i;
}

static void program_queue_at(unsigned i, uint16_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(QUEUE_SEL, i);
	cr_assert_eq(rd(QUEUE_READY), 0);
	wr(QUEUE_NUM, num);
	wr(QUEUE_DESC_LO, (uint32_t)desc);
	wr(QUEUE_DESC_HI, (uint32_t)(desc >> 32));
	wr(QUEUE_DRIVER_LO, (uint32_t)avail);
	wr(QUEUE_DRIVER_HI, (uint32_t)(avail >> 32));
	wr(QUEUE_DEVICE_LO, (uint32_t)used);
	wr(QUEUE_DEVICE_HI, (uint32_t)(used >> 32));
	wr(QUEUE_READY, 1);
}

static void program_queue(unsigned i)
{
	program_queue_at(i, QSIZE, ring_base(i), ring_base(i) + 0x4000, ring_base(i) + 0x8000);
}

/* Through FEATURES_OK with everything offered accepted. */
static void negotiate(void)
{
	wr(STATUS, ACK);
	wr(STATUS, ACK | DRV);
	write_features(OFFERED);
	wr(STATUS, ACK | DRV | FOK);
	cr_assert_eq(rd(STATUS), ACK | DRV | FOK);
}

static void bring_up_with(uint64_t features)
{
	wr(STATUS, ACK);
	wr(STATUS, ACK | DRV);
	write_features(features);
	wr(STATUS, ACK | DRV | FOK);
	program_queue(0);
	program_queue(1);
	wr(STATUS, ACK | DRV | FOK | DOK);
	cr_assert_eq(rd(STATUS), ACK | DRV | FOK | DOK);
}

static void bring_up(void)
{
	negotiate();
	program_queue(0);
	program_queue(1);
	wr(STATUS, ACK | DRV | FOK | DOK);
	cr_assert_eq(rd(STATUS), ACK | DRV | FOK | DOK);
	cr_assert(virtio_dev_running(vd));
}

static void needs_reset(struct virtio_dev *v)
{
	pthread_mutex_lock(&v->lock);
	virtio_dev_needs_reset(v, "test");
	pthread_mutex_unlock(&v->lock);
}

/* ---- identification ---- */

Test(virtio_mmio, identification)
{
	cr_assert_eq(rd(MAGIC), 0x74726976);
	cr_assert_eq(rd(VERSION), 2);
	cr_assert_eq(rd(DEVICE_ID), VIRTIO_ID_RNG);
	cr_assert_eq(rd(VENDOR_ID), VIRTIO_MMIO_VENDOR);
	cr_assert_eq(rd(STATUS), 0);
	cr_assert_eq(rd(INT_STATUS), 0);
	cr_assert_eq(rd(CONFIG_GEN), 0);
}

Test(virtio_mmio, init_rejects_bad_ops)
{
	struct virtio_dev t;
	struct virtio_dev_ops o = fake_virtio_ops;

	o.nr_queues = VIRTIO_MAX_QUEUES + 1;
	cr_assert_eq(virtio_dev_init(&t, &o, &gm), -EINVAL);
	virtio_dev_destroy(&t);
	o = fake_virtio_ops;
	o.queue_size = 100;
	cr_assert_eq(virtio_dev_init(&t, &o, &gm), -EINVAL);
	o = fake_virtio_ops;
	o.config_size = 257;
	cr_assert_eq(virtio_dev_init(&t, &o, &gm), -EINVAL);
	virtio_dev_destroy(&t);
}

Test(virtio_mmio, no_shared_memory_regions)
{
	for (uint32_t sel = 0; sel < 3; sel++) {
		wr(SHM_SEL, sel);
		cr_assert_eq(rd(SHM_LEN_LO), 0xffffffff);
		cr_assert_eq(rd(SHM_LEN_HI), 0xffffffff);
		cr_assert_eq(rd(SHM_BASE_LO), 0xffffffff);
		cr_assert_eq(rd(SHM_BASE_HI), 0xffffffff);
	}
	cr_assert_eq(rd(QUEUE_RESET), 0);
}

Test(virtio_mmio, read_only_and_write_only_registers)
{
	wr(MAGIC, 0);
	wr(VERSION, 1);
	wr(DEVICE_ID, 7);
	wr(QUEUE_NUM_MAX, 1);
	wr(INT_STATUS, 3);
	wr(CONFIG_GEN, 9);
	wr(0x0f8, 1); /* reserved */
	cr_assert_eq(rd(MAGIC), 0x74726976);
	cr_assert_eq(rd(VERSION), 2);
	cr_assert_eq(rd(QUEUE_NUM_MAX), QSIZE);
	cr_assert_eq(rd(CONFIG_GEN), 0);
	/* Write-only registers read as 0. */
	cr_assert_eq(rd(QUEUE_NUM), 0);
	cr_assert_eq(rd(QUEUE_DESC_LO), 0);
	cr_assert_eq(rd(DRV_FEATURES), 0);
	cr_assert_eq(rd(QUEUE_NOTIFY), 0);
	cr_assert_eq(rd(INT_ACK), 0);
	cr_assert_eq(rd(0x0f8), 0);
}

/* ---- feature negotiation ---- */

Test(virtio_mmio, device_features_both_halves)
{
	wr(DEV_FEATURES_SEL, 0);
	cr_assert_eq(rd(DEV_FEATURES), (uint32_t)OFFERED);
	wr(DEV_FEATURES_SEL, 1);
	cr_assert_eq(rd(DEV_FEATURES), (uint32_t)(OFFERED >> 32));
	cr_assert_eq(rd(DEV_FEATURES) & B(VIRTIO_F_RING_PACKED - 32), 0, "packed never offered");
	cr_assert(rd(DEV_FEATURES) & B(VIRTIO_F_VERSION_1 - 32));
	wr(DEV_FEATURES_SEL, 2);
	cr_assert_eq(rd(DEV_FEATURES), 0);
	wr(DEV_FEATURES_SEL, 0xffffffff);
	cr_assert_eq(rd(DEV_FEATURES), 0);
}

Test(virtio_mmio, negotiation_accepts_subset)
{
	uint64_t f = B(VIRTIO_F_VERSION_1) | B(50) | B(5);

	wr(STATUS, ACK);
	wr(STATUS, ACK | DRV);
	write_features(f);
	cr_assert_eq(vd->driver_features, f);
	wr(STATUS, ACK | DRV | FOK);
	cr_assert_eq(rd(STATUS), ACK | DRV | FOK);
	cr_assert_eq(vd->features, f);
	cr_assert(virtio_has_feature(vd, 50));
	cr_assert_not(virtio_has_feature(vd, VIRTIO_F_EVENT_IDX));
}

Test(virtio_mmio, negotiation_halves_are_independent)
{
	wr(STATUS, ACK);
	wr(STATUS, ACK | DRV);
	wr(DRV_FEATURES_SEL, 1);
	wr(DRV_FEATURES, 1); /* VERSION_1 */
	wr(DRV_FEATURES_SEL, 0);
	wr(DRV_FEATURES, (uint32_t)B(9));
	cr_assert_eq(vd->driver_features, B(VIRTIO_F_VERSION_1) | B(9));
	wr(DRV_FEATURES, (uint32_t)B(5)); /* rewriting the low half keeps the high one */
	cr_assert_eq(vd->driver_features, B(VIRTIO_F_VERSION_1) | B(5));
	wr(DRV_FEATURES_SEL, 2);
	wr(DRV_FEATURES, 0xffffffff); /* no such word: ignored */
	cr_assert_eq(vd->driver_features, B(VIRTIO_F_VERSION_1) | B(5));
	wr(STATUS, ACK | DRV | FOK);
	cr_assert_eq(rd(STATUS), ACK | DRV | FOK);
}

Test(virtio_mmio, refused_without_version_1)
{
	wr(STATUS, ACK);
	wr(STATUS, ACK | DRV);
	write_features(B(5) | B(VIRTIO_F_EVENT_IDX));
	wr(STATUS, ACK | DRV | FOK);
	cr_assert_eq(rd(STATUS), ACK | DRV, "FEATURES_OK reads back clear");
	cr_assert_eq(vd->features, 0);
	/* The driver may try again with an acceptable set. */
	write_features(B(VIRTIO_F_VERSION_1) | B(5));
	wr(STATUS, ACK | DRV | FOK);
	cr_assert_eq(rd(STATUS), ACK | DRV | FOK);
}

Test(virtio_mmio, refused_with_unoffered_bits)
{
	static const unsigned bad[] = { 6, VIRTIO_F_RING_PACKED, VIRTIO_F_ACCESS_PLATFORM, 63, 24 };

	wr(STATUS, ACK);
	wr(STATUS, ACK | DRV);
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		write_features(B(VIRTIO_F_VERSION_1) | B(bad[i]));
		wr(STATUS, ACK | DRV | FOK);
		cr_assert_eq(rd(STATUS), ACK | DRV, "bit %u", bad[i]);
	}
}

Test(virtio_mmio, features_frozen_after_features_ok)
{
	negotiate();
	write_features(B(VIRTIO_F_VERSION_1));
	cr_assert_eq(vd->driver_features, OFFERED);
	cr_assert_eq(vd->features, OFFERED);
}

/* ---- the status state machine ---- */

static const uint32_t chain[] = { 0, ACK, ACK | DRV, ACK | DRV | FOK, ACK | DRV | FOK | DOK };

/* Drive a fresh device to chain[step], then add side bits (NEEDS_RESET, FAILED). */
static void reach(unsigned step, uint32_t side)
{
	for (unsigned i = 1; i <= step; i++) {
		if (chain[i] & ~chain[i - 1] & FOK)
			write_features(OFFERED);
		if (chain[i] & ~chain[i - 1] & DOK) {
			program_queue(0);
		}
		wr(STATUS, chain[i]);
	}
	if (side & NR)
		needs_reset(vd);
	if (side & FAIL)
		wr(STATUS, rd(STATUS) | FAIL);
	cr_assert_eq(rd(STATUS), chain[step] | side);
}

/*
 * The expected outcome of writing w in state s, from the table: 0 resets,
 * FAILED sticks from anywhere, the sequence advances one bit at a time
 * unless FAILED, rewriting the current value is harmless, all else is
 * ignored.  (The driver's NEEDS_RESET bit is ignored, the device's kept.)
 */
static uint32_t expected(uint32_t s, uint32_t w)
{
	uint32_t base = s & ~(NR | FAIL), req = w & ~NR;

	if (!w)
		return 0;
	if (w & FAIL)
		return s | FAIL;
	if (s & FAIL)
		return s;
	for (unsigned i = 0; i + 1 < ARRAY_SIZE(chain); i++)
		if (base == chain[i] && req == chain[i + 1])
			return s | req;
	return s;
}

Test(virtio_mmio, status_transition_table, .timeout = 60)
{
	static const uint32_t sides[] = { 0, NR, FAIL, NR | FAIL };
	static const uint32_t bits[] = { ACK, DRV, FOK, DOK, NR, FAIL };
	unsigned checked = 0;

	for (unsigned step = 0; step < ARRAY_SIZE(chain); step++) {
		for (unsigned si = 0; si < ARRAY_SIZE(sides); si++) {
			for (uint32_t m = 0; m < 64; m++) {
				uint32_t w = 0, s = chain[step] | sides[si], want;
				unsigned activates;

				for (unsigned b = 0; b < ARRAY_SIZE(bits); b++)
					if (m & (1u << b))
						w |= bits[b];
				virtio_dev_destroy(vd);
				init_dev(&dev);
				reach(step, sides[si]);
				write_features(OFFERED); /* so FEATURES_OK can be accepted */
				activates = dev.activates;
				want = expected(s, w);
				wr(STATUS, w);
				cr_assert_eq(rd(STATUS), want,
					     "state %#x write %#x: got %#x want %#x", s, w,
					     rd(STATUS), want);
				cr_assert_eq(dev.resets, w == 0 ? 1 : 0,
					     "state %#x write %#x: only 0 resets", s, w);
				/* Activation only on the one transition, and never when broken. */
				cr_assert_eq(dev.activates - activates,
					     (!(s & DOK) && (want & DOK) && !(s & NR)) ? 1 : 0,
					     "state %#x write %#x", s, w);
				checked++;
			}
		}
	}
	cr_assert_eq(checked, 5 * 4 * 64);
	/* Writes of undefined bits are refused too. */
	virtio_dev_destroy(vd);
	init_dev(&dev);
	wr(STATUS, 0x10);
	cr_assert_eq(rd(STATUS), 0);
	wr(STATUS, ACK | 0x20);
	cr_assert_eq(rd(STATUS), 0);
}

Test(virtio_mmio, status_sequence_named_cases)
{
	wr(STATUS, DRV);
	cr_assert_eq(rd(STATUS), 0, "DRIVER before ACKNOWLEDGE");
	wr(STATUS, ACK | DRV);
	cr_assert_eq(rd(STATUS), 0, "two bits in one write");
	wr(STATUS, ACK);
	wr(STATUS, ACK);
	cr_assert_eq(rd(STATUS), ACK, "rewrite is harmless");
	wr(STATUS, ACK | FOK);
	cr_assert_eq(rd(STATUS), ACK, "FEATURES_OK before DRIVER");
	wr(STATUS, ACK | DRV);
	wr(STATUS, ACK | DRV | DOK);
	cr_assert_eq(rd(STATUS), ACK | DRV, "DRIVER_OK before FEATURES_OK");
	write_features(OFFERED);
	wr(STATUS, ACK | DRV | FOK);
	wr(STATUS, ACK);
	cr_assert_eq(rd(STATUS), ACK | DRV | FOK, "clearing bits is not a thing");
	wr(STATUS, ACK | DRV | FOK | DOK);
	cr_assert_eq(rd(STATUS), ACK | DRV | FOK | DOK);
	cr_assert_eq(dev.activates, 1);
	wr(STATUS, ACK | DRV | FOK | DOK);
	cr_assert_eq(dev.activates, 1, "rewriting DRIVER_OK does not activate again");
	wr(STATUS, ACK | DRV | FOK | DOK | FAIL);
	cr_assert_eq(rd(STATUS), ACK | DRV | FOK | DOK | FAIL);
	cr_assert_not(virtio_dev_running(vd));
	wr(STATUS, 0);
	cr_assert_eq(rd(STATUS), 0);
	cr_assert_eq(dev.resets, 1);
}

Test(virtio_mmio, failed_blocks_the_sequence)
{
	wr(STATUS, ACK);
	wr(STATUS, ACK | FAIL);
	cr_assert_eq(rd(STATUS), ACK | FAIL);
	wr(STATUS, ACK | DRV | FAIL);
	cr_assert_eq(rd(STATUS), ACK | FAIL, "FAILED sticks; nothing else moves");
	wr(STATUS, ACK | DRV);
	cr_assert_eq(rd(STATUS), ACK | FAIL);
	wr(STATUS, 0);
	wr(STATUS, ACK);
	cr_assert_eq(rd(STATUS), ACK, "reset clears FAILED");
}

/* ---- queues ---- */

Test(virtio_mmio, queue_registers)
{
	wr(QUEUE_SEL, 0);
	cr_assert_eq(rd(QUEUE_NUM_MAX), QSIZE);
	wr(QUEUE_SEL, 1);
	cr_assert_eq(rd(QUEUE_NUM_MAX), QSIZE);
	wr(QUEUE_SEL, 2);
	cr_assert_eq(rd(QUEUE_NUM_MAX), 0, "no queue 2");
	cr_assert_eq(rd(QUEUE_READY), 0);
	wr(QUEUE_READY, 1);
	cr_assert_eq(rd(QUEUE_READY), 0);
	wr(QUEUE_SEL, 0xffffffff);
	wr(QUEUE_NUM, 4);
	cr_assert_eq(rd(QUEUE_NUM_MAX), 0);

	program_queue_at(1, 64, 0x1234500000ull, 0xabcdef002ull, 0x7700000004ull);
	cr_assert_eq(vd->vqs[1].size, 64);
	cr_assert_eq(vd->vqs[1].desc_gpa, 0x1234500000ull);
	cr_assert_eq(vd->vqs[1].avail_gpa, 0xabcdef002ull);
	cr_assert_eq(vd->vqs[1].used_gpa, 0x7700000004ull);
	cr_assert(vd->vqs[1].ready);
	cr_assert_eq(rd(QUEUE_READY), 1);
	wr(QUEUE_SEL, 0);
	cr_assert_eq(rd(QUEUE_READY), 0, "QueueReady is per queue");
	cr_assert_eq(vd->vqs[0].size, QSIZE, "QueueNum defaults to the maximum");
}

Test(virtio_mmio, queue_locked_while_ready)
{
	program_queue(0);
	wr(QUEUE_NUM, 16);
	wr(QUEUE_DESC_LO, 0x5000);
	wr(QUEUE_DESC_HI, 1);
	wr(QUEUE_DRIVER_LO, 0x6000);
	wr(QUEUE_DEVICE_LO, 0x7000);
	cr_assert_eq(vd->vqs[0].size, QSIZE);
	cr_assert_eq(vd->vqs[0].desc_gpa, ring_base(0));
	cr_assert_eq(vd->vqs[0].avail_gpa, ring_base(0) + 0x4000);
	cr_assert_eq(vd->vqs[0].used_gpa, ring_base(0) + 0x8000);
	/* Before DRIVER_OK the driver may take the queue back (Linux's del_vq). */
	wr(QUEUE_READY, 0);
	cr_assert_eq(rd(QUEUE_READY), 0);
	wr(QUEUE_NUM, 16);
	cr_assert_eq(vd->vqs[0].size, 16);
	wr(QUEUE_READY, 2);
	cr_assert_eq(rd(QUEUE_READY), 0, "only 0 and 1 are meaningful");
}

Test(virtio_mmio, queue_locked_after_driver_ok)
{
	bring_up();
	wr(QUEUE_SEL, 0);
	wr(QUEUE_READY, 0);
	cr_assert_eq(rd(QUEUE_READY), 1, "cannot un-ready after DRIVER_OK");
	wr(QUEUE_DESC_LO, 0x5000);
	cr_assert_eq(vd->vqs[0].desc_gpa, ring_base(0));
	virtio_dev_destroy(vd);
	init_dev(&dev);
	/* A queue left unready cannot be configured after DRIVER_OK either. */
	negotiate();
	program_queue(0);
	wr(STATUS, ACK | DRV | FOK | DOK);
	wr(QUEUE_SEL, 1);
	wr(QUEUE_NUM, 8);
	wr(QUEUE_DESC_LO, 0x5000);
	wr(QUEUE_READY, 1);
	cr_assert_eq(vd->vqs[1].size, QSIZE);
	cr_assert_eq(vd->vqs[1].desc_gpa, 0);
	cr_assert_eq(rd(QUEUE_READY), 0);
}

Test(virtio_mmio, activation_sets_ring_features)
{
	wr(STATUS, ACK);
	wr(STATUS, ACK | DRV);
	write_features(B(VIRTIO_F_VERSION_1) | B(VIRTIO_F_EVENT_IDX));
	wr(STATUS, ACK | DRV | FOK);
	program_queue(0);
	wr(STATUS, ACK | DRV | FOK | DOK);
	cr_assert_eq(dev.activates, 1);
	cr_assert(vd->vqs[0].event_idx);
	cr_assert_not(vd->vqs[0].indirect);
	cr_assert(virtio_dev_running(vd));
}

Test(virtio_mmio, activation_with_bad_queue_size)
{
	static const uint32_t bad[] = { 0, 3, 100, QSIZE * 2, 0x10000, 0xffffffff };

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		virtio_dev_destroy(vd);
		init_dev(&dev);
		negotiate();
		program_queue_at(0, QSIZE, ring_base(0), ring_base(0) + 0x4000,
				 ring_base(0) + 0x8000);
		wr(QUEUE_READY, 0);
		wr(QUEUE_NUM, bad[i]);
		wr(QUEUE_READY, 1);
		wr(STATUS, ACK | DRV | FOK | DOK);
		cr_assert_eq(rd(STATUS), ACK | DRV | FOK | DOK | NR, "size %#x", bad[i]);
		cr_assert_eq(dev.activates, 0);
		cr_assert_not(virtio_dev_running(vd));
		cr_assert_eq(rd(INT_STATUS), VIRTIO_INT_CONFIG);
		cr_assert_eq(dev.irqs, 1);
	}
}

Test(virtio_mmio, activation_with_rings_outside_ram)
{
	negotiate();
	program_queue(0);
	program_queue_at(1, 16, FAKE_MEM_LOW - 128, 0x9000, 0xa000); /* table crosses the hole */
	wr(STATUS, ACK | DRV | FOK | DOK);
	cr_assert_eq(rd(STATUS), ACK | DRV | FOK | DOK | NR);
	cr_assert_eq(dev.activates, 0);
	cr_assert_eq(rd(INT_STATUS), VIRTIO_INT_CONFIG);
}

Test(virtio_mmio, activation_ignores_unready_queue_garbage)
{
	negotiate();
	program_queue(0);
	wr(QUEUE_SEL, 1);
	wr(QUEUE_DESC_LO, 0x3); /* never made ready */
	wr(STATUS, ACK | DRV | FOK | DOK);
	cr_assert_eq(rd(STATUS), ACK | DRV | FOK | DOK);
	cr_assert_eq(dev.activates, 1);
}

Test(virtio_mmio, activate_failure)
{
	dev.activate_ret = -ENOSPC;
	negotiate();
	program_queue(0);
	wr(STATUS, ACK | DRV | FOK | DOK);
	cr_assert_eq(dev.activates, 1);
	cr_assert_eq(rd(STATUS), ACK | DRV | FOK | DOK | NR);
	cr_assert_not(virtio_dev_running(vd));
	cr_assert_eq(rd(INT_STATUS), VIRTIO_INT_CONFIG);
	cr_assert_eq(dev.irqs, 1);
	wr(QUEUE_NOTIFY, 0);
	cr_assert_eq(dev.kicks, 0, "a broken device takes no notifications");
	/* Reset recovers. */
	dev.activate_ret = 0;
	wr(STATUS, 0);
	negotiate();
	program_queue(0);
	wr(STATUS, ACK | DRV | FOK | DOK);
	cr_assert(virtio_dev_running(vd));
}

Test(virtio_mmio, driver_ok_initialises_avail_event)
{
	uint16_t *ev = fake_mem_at(&gm, ring_base(0) + 0x8000 + 4 + 8 * QSIZE);

	*ev = 0x5555;
	bring_up();
	cr_assert_eq(*ev, 0, "avail_event = last_avail: kick on the next buffer");
}

/* ---- reset ---- */

Test(virtio_mmio, reset_clears_everything)
{
	struct virtq fresh;

	bring_up();
	wr(DEV_FEATURES_SEL, 1);
	wr(DRV_FEATURES_SEL, 1);
	wr(QUEUE_SEL, 1);
	pthread_mutex_lock(&vd->lock);
	virtio_dev_config_changed(vd);
	vd->vqs[0].last_avail = 5;
	vd->vqs[0].used_idx = 4;
	pthread_mutex_unlock(&vd->lock);
	cr_assert_neq(rd(INT_STATUS), 0);
	wr(STATUS, 0);
	cr_assert_eq(dev.resets, 1);
	cr_assert_eq(rd(STATUS), 0);
	cr_assert_eq(rd(INT_STATUS), 0);
	cr_assert_eq(vd->features, 0);
	cr_assert_eq(vd->driver_features, 0);
	cr_assert_eq(vd->dev_features_sel, 0);
	cr_assert_eq(vd->drv_features_sel, 0);
	cr_assert_eq(vd->queue_sel, 0);
	cr_assert_eq(rd(CONFIG_GEN), 1, "the generation is not driver state");
	for (unsigned i = 0; i < fake_virtio_ops.nr_queues; i++) {
		virtq_init(&fresh, &gm);
		fresh.size = QSIZE;
		cr_assert_eq(memcmp(&vd->vqs[i], &fresh, sizeof(fresh)), 0, "queue %u", i);
	}
	cr_assert_not(virtio_dev_running(vd));
	/* And the device comes up again. */
	bring_up();
	cr_assert_eq(dev.activates, 2);
}

/* ---- notify and interrupts ---- */

Test(virtio_mmio, notify_calls_kick_unlocked)
{
	wr(QUEUE_NOTIFY, 0);
	cr_assert_eq(dev.kicks, 0, "no notifications before DRIVER_OK");
	bring_up();
	wr(QUEUE_NOTIFY, 1);
	cr_assert_eq(dev.kicks, 1);
	cr_assert_eq(dev.notifies, 1);
	cr_assert_eq(dev.last_notify, 1);
	wr(QUEUE_NOTIFY, 0);
	cr_assert_eq(dev.last_notify, 0);
	wr(QUEUE_NOTIFY, 2);
	wr(QUEUE_NOTIFY, 0xffffffff);
	cr_assert_eq(dev.kicks, 2, "no such queue");
	needs_reset(vd);
	wr(QUEUE_NOTIFY, 0);
	cr_assert_eq(dev.kicks, 2, "ignored until reset");
}

Test(virtio_mmio, notify_without_kick_hook)
{
	bring_up();
	vd->hooks.kick = NULL;
	wr(QUEUE_NOTIFY, 0);
	cr_assert_eq(dev.notifies, 0);
}

Test(virtio_mmio, used_interrupt_and_ack)
{
	bring_up();
	pthread_mutex_lock(&vd->lock);
	virtq_push(&vd->vqs[0], 0, 0);
	virtio_dev_signal_used(vd, 0);
	pthread_mutex_unlock(&vd->lock);
	cr_assert_eq(rd(INT_STATUS), VIRTIO_INT_USED);
	cr_assert_eq(dev.irqs, 1);
	pthread_mutex_lock(&vd->lock);
	virtio_dev_config_changed(vd);
	pthread_mutex_unlock(&vd->lock);
	cr_assert_eq(rd(INT_STATUS), VIRTIO_INT_USED | VIRTIO_INT_CONFIG);
	cr_assert_eq(rd(CONFIG_GEN), 1);
	cr_assert_eq(dev.irqs, 2);
	wr(INT_ACK, VIRTIO_INT_USED);
	cr_assert_eq(rd(INT_STATUS), VIRTIO_INT_CONFIG, "ACK clears only what it names");
	wr(INT_ACK, 0xfffffffc);
	cr_assert_eq(rd(INT_STATUS), VIRTIO_INT_CONFIG);
	wr(INT_ACK, 0xffffffff);
	cr_assert_eq(rd(INT_STATUS), 0);
}

Test(virtio_mmio, used_interrupt_suppressed)
{
	uint16_t *avail_flags;

	bring_up_with(B(VIRTIO_F_VERSION_1));
	avail_flags = fake_mem_at(&gm, vd->vqs[0].avail_gpa);
	*avail_flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	pthread_mutex_lock(&vd->lock);
	virtq_push(&vd->vqs[0], 0, 0);
	virtio_dev_signal_used(vd, 0);
	pthread_mutex_unlock(&vd->lock);
	cr_assert_eq(rd(INT_STATUS), 0);
	cr_assert_eq(dev.irqs, 0);
	virtio_dev_signal_used(vd, 7); /* no such queue: nothing */
	cr_assert_eq(dev.irqs, 0);
}

Test(virtio_mmio, no_used_interrupt_before_driver_ok)
{
	negotiate();
	program_queue(0);
	virtio_dev_signal_used(vd, 0);
	cr_assert_eq(rd(INT_STATUS), 0);
	cr_assert_eq(dev.irqs, 0);
	virtio_dev_config_changed(vd);
	cr_assert_eq(rd(INT_STATUS), 0, "config change before DRIVER_OK: generation only");
	cr_assert_eq(rd(CONFIG_GEN), 1);
}

Test(virtio_mmio, needs_reset_once)
{
	bring_up();
	needs_reset(vd);
	needs_reset(vd);
	cr_assert_eq(rd(STATUS), ACK | DRV | FOK | DOK | NR);
	cr_assert_eq(rd(INT_STATUS), VIRTIO_INT_CONFIG);
	cr_assert_eq(dev.irqs, 1, "the driver is told once");
	cr_assert_not(virtio_dev_running(vd));
	/* The driver echoes NEEDS_RESET back: harmless. */
	wr(STATUS, ACK | DRV | FOK | DOK | NR);
	cr_assert_eq(rd(STATUS), ACK | DRV | FOK | DOK | NR);
	wr(STATUS, 0);
	cr_assert_eq(rd(STATUS), 0);
	bring_up();
	cr_assert(virtio_dev_running(vd));
}

/* ---- configuration space ---- */

Test(virtio_mmio, config_reads_all_widths)
{
	uint64_t v;

	for (unsigned len = 1; len <= 8; len *= 2) {
		for (unsigned off = 0; off + len <= CONFIG_SIZE; off++) {
			uint64_t want = 0;

			v = 0x1111111111111111ull;
			virtio_mmio_ops.read(vd, CONFIG + off, &v, len);
			memcpy(&want, dev.config + off, len);
			cr_assert_eq(memcmp(&v, &want, len), 0, "off %u len %u", off, len);
		}
	}
}

Test(virtio_mmio, config_bounds)
{
	uint64_t v = ~0ull;

	virtio_mmio_ops.read(vd, CONFIG + CONFIG_SIZE - 4, &v, 8);
	cr_assert_eq(v, 0, "crossing the end reads 0");
	v = ~0ull;
	virtio_mmio_ops.read(vd, CONFIG + CONFIG_SIZE, &v, 1);
	cr_assert_eq(v & 0xff, 0);
	v = ~0ull;
	virtio_mmio_ops.read(vd, CONFIG + 0xff, &v, 1);
	cr_assert_eq(v & 0xff, 0);
	v = ~0ull;
	virtio_mmio_ops.read(vd, 0x1000, &v, 4);
	cr_assert_eq(v & 0xffffffff, 0);
	v = ~0ull;
	virtio_mmio_ops.read(vd, UINT64_MAX - 1, &v, 2);
	cr_assert_eq(v & 0xffff, 0);
	v = ~0ull;
	virtio_mmio_ops.read(vd, CONFIG, &v, 3);
	cr_assert_eq(v & 0xffffff, 0, "3 bytes is not an access width");
}

Test(virtio_mmio, config_writes)
{
	uint8_t before[CONFIG_SIZE];
	uint64_t v = 0x0807060504030201ull;

	virtio_mmio_ops.write(vd, CONFIG + 8, &v, 8);
	cr_assert_eq(memcmp(dev.config + 8, &v, 8), 0);
	virtio_mmio_ops.write(vd, CONFIG + 1, &v, 2);
	cr_assert_eq(dev.config[1], 1);
	cr_assert_eq(dev.config[2], 2);
	memcpy(before, dev.config, sizeof(before));
	virtio_mmio_ops.write(vd, CONFIG + CONFIG_SIZE - 1, &v, 2);
	virtio_mmio_ops.write(vd, CONFIG + CONFIG_SIZE, &v, 1);
	virtio_mmio_ops.write(vd, CONFIG, &v, 3);
	virtio_mmio_ops.write(vd, CONFIG, &v, 16);
	cr_assert_eq(memcmp(before, dev.config, sizeof(before)), 0, "out of bounds: ignored");
}

Test(virtio_mmio, config_without_callbacks)
{
	struct virtio_dev t;
	struct virtio_dev_ops o = fake_virtio_ops;
	uint32_t v = 0xffffffff;

	o.config_read = NULL;
	o.config_write = NULL;
	cr_assert_eq(virtio_dev_init(&t, &o, &gm), 0);
	virtio_mmio_ops.read(&t, CONFIG, &v, 4);
	cr_assert_eq(v, 0);
	virtio_mmio_ops.write(&t, CONFIG, &v, 4); /* read-only space */
	virtio_dev_destroy(&t);
}

/* ---- malformed register accesses ---- */

Test(virtio_mmio, short_and_unaligned_accesses_ignored)
{
	uint64_t v;

	v = ~0ull;
	virtio_mmio_ops.read(vd, MAGIC, &v, 2);
	cr_assert_eq(v & 0xffff, 0);
	v = ~0ull;
	virtio_mmio_ops.read(vd, MAGIC, &v, 1);
	cr_assert_eq(v & 0xff, 0);
	v = ~0ull;
	virtio_mmio_ops.read(vd, MAGIC, &v, 8);
	cr_assert_eq(v, 0, "64-bit register reads are not allowed");
	v = ~0ull;
	virtio_mmio_ops.read(vd, MAGIC + 2, &v, 4);
	cr_assert_eq(v & 0xffffffff, 0);
	v = ACK;
	virtio_mmio_ops.write(vd, STATUS, &v, 1);
	virtio_mmio_ops.write(vd, STATUS, &v, 2);
	virtio_mmio_ops.write(vd, STATUS, &v, 8);
	virtio_mmio_ops.write(vd, STATUS + 1, &v, 4);
	cr_assert_eq(rd(STATUS), 0);
	v = 0;
	virtio_mmio_ops.write(vd, QUEUE_NOTIFY, &v, 2);
	virtio_mmio_ops.write(vd, QUEUE_NOTIFY + 2, &v, 4);
	cr_assert_eq(dev.kicks, 0);
}

/* ---- save / restore ---- */

static void round_trip(void)
{
	struct virtio_mmio_state a, b;
	struct fake_dev t;

	virtio_mmio_save(vd, &a);
	init_dev(&t);
	cr_assert_eq(virtio_mmio_restore(&t.vd, &a), 0, "%s", err_msg());
	virtio_mmio_save(&t.vd, &b);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_assert_eq(t.vd.status, vd->status);
	cr_assert_eq(t.vd.features, vd->features);
	cr_assert_eq(t.vd.driver_features, vd->driver_features);
	cr_assert_eq(t.irqs, vd->interrupt_status ? 1 : 0, "pending interrupts raised again");
	cr_assert_eq(t.activates, 0, "restore is the transport's state only");
	virtio_dev_destroy(&t.vd);
}

Test(virtio_mmio, save_restore_identity_at_every_stage)
{
	round_trip();
	wr(STATUS, ACK);
	wr(STATUS, ACK | DRV);
	round_trip();
	wr(DRV_FEATURES_SEL, 1);
	wr(DRV_FEATURES, 1);
	round_trip(); /* negotiation half done */
	write_features(OFFERED);
	wr(STATUS, ACK | DRV | FOK);
	wr(DEV_FEATURES_SEL, 7);
	round_trip();
	program_queue(0);
	wr(QUEUE_SEL, 1);
	wr(QUEUE_DESC_LO, 0x123450); /* configured halfway, garbage so far */
	round_trip();
	wr(STATUS, ACK | DRV | FOK | DOK);
	pthread_mutex_lock(&vd->lock);
	vd->vqs[0].last_avail = 65535;
	virtq_push(&vd->vqs[0], 3, 4);
	virtio_dev_signal_used(vd, 0);
	virtio_dev_config_changed(vd);
	pthread_mutex_unlock(&vd->lock);
	round_trip();
	needs_reset(vd);
	round_trip();
	wr(STATUS, rd(STATUS) | FAIL);
	round_trip();
}

Test(virtio_mmio, restore_rejects_impossible_states)
{
	struct virtio_mmio_state good, bad, now;

	bring_up();
	virtio_mmio_save(vd, &good);

	bad = good;
	bad.status = ACK | DOK;
	cr_assert_eq(virtio_mmio_restore(vd, &bad), -EINVAL, "DRIVER_OK without the rest");
	bad = good;
	bad.status |= 0x10;
	cr_assert_eq(virtio_mmio_restore(vd, &bad), -EINVAL, "undefined status bit");
	bad = good;
	bad.features &= ~B(VIRTIO_F_VERSION_1);
	bad.driver_features = bad.features;
	cr_assert_eq(virtio_mmio_restore(vd, &bad), -EINVAL, "no VERSION_1");
	bad = good;
	bad.features |= B(6);
	bad.driver_features = bad.features;
	cr_assert_eq(virtio_mmio_restore(vd, &bad), -EINVAL, "a feature not offered");
	bad = good;
	bad.driver_features = B(VIRTIO_F_VERSION_1);
	cr_assert_eq(virtio_mmio_restore(vd, &bad), -EINVAL, "driver features frozen at FOK");
	bad = good;
	bad.status = ACK | DRV;
	cr_assert_eq(virtio_mmio_restore(vd, &bad), -EINVAL, "features before FEATURES_OK");
	bad = good;
	bad.interrupt_status = 4;
	cr_assert_eq(virtio_mmio_restore(vd, &bad), -EINVAL, "interrupt bit");
	bad = good;
	bad.vq[2].size = 16;
	cr_assert_eq(virtio_mmio_restore(vd, &bad), -EINVAL, "a queue the device lacks");
	bad = good;
	bad.vq[0].size = 2 * QSIZE;
	cr_assert_eq(virtio_mmio_restore(vd, &bad), -EINVAL, "queue over QueueNumMax");
	bad = good;
	bad.vq[0].event_idx = 0;
	cr_assert_eq(virtio_mmio_restore(vd, &bad), -EINVAL, "ring features disagree");
	bad = good;
	bad.vq[0].used_gpa = FAKE_MEM_LOW + 0x1000;
	cr_assert_eq(virtio_mmio_restore(vd, &bad), -EINVAL, "running queue outside RAM");
	bad = good;
	bad.vq[0].ready = 3;
	cr_assert_eq(virtio_mmio_restore(vd, &bad), -EINVAL, "malformed queue");

	virtio_mmio_save(vd, &now);
	cr_assert_eq(memcmp(&good, &now, sizeof(now)), 0, "refused restores change nothing");

	/* The same queue outside RAM is fine in a device that already needs reset. */
	needs_reset(vd);
	virtio_mmio_save(vd, &good);
	bad = good;
	bad.vq[0].used_gpa = FAKE_MEM_LOW + 0x1000;
	cr_assert_eq(virtio_mmio_restore(vd, &bad), 0);

	/* Before DRIVER_OK, the device side of a queue has not moved. */
	wr(STATUS, 0);
	negotiate();
	virtio_mmio_save(vd, &good);
	bad = good;
	bad.vq[0].last_avail = 1;
	cr_assert_eq(virtio_mmio_restore(vd, &bad), -EINVAL);
	bad = good;
	bad.vq[0].event_idx = 1;
	cr_assert_eq(virtio_mmio_restore(vd, &bad), -EINVAL);
}

Test(virtio_mmio, driver_ok_on_a_broken_device)
{
	negotiate();
	program_queue(0);
	needs_reset(vd);
	wr(STATUS, ACK | DRV | FOK | DOK);
	cr_assert_eq(rd(STATUS), ACK | DRV | FOK | DOK | NR);
	cr_assert_eq(dev.activates, 0, "a device that needs reset is not started");
	cr_assert(vd->vqs[0].event_idx, "ring features are still final");
	round_trip();
}
