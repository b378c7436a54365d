// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: virtio-blk (src/virtio/blk.c) driven like a guest driver
 * would: through the virtio-mmio registers, with rings and buffers in fake
 * guest memory and a raw image in a temporary file.  Requests run on the
 * real worker pool; blk_drain + blk_complete_pending stand in for the
 * event loop.  The rate-limit tests run a real event loop (the limiter's
 * timer and the completions) step by step with evl_run_once().
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/aio.h"
#include "block/disk.h"
#include "fakes/fake_mem.h"
#include "fakes/virtio_driver.h"
#include "virtio/blk.h"
#include "lib/util.h"
#include "virtio/mmio.h"
#include "vmm/evloop.h"

#define DISK_SIZE (1u << 20)
#define QSZ 16
#define DESC 0x1000ull
#define AVAIL 0x2000ull
#define USED 0x3000ull
#define HDR 0x8000ull
#define STATUS 0x9000ull
#define DATA 0x10000ull

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define T_WRITE_ZEROES 13

static struct guest_mem gm;
static struct aio_pool *pool;
static struct blk *b;
static struct virtio_dev *vd;
static char path[] = "/tmp/clone-test-blk-XXXXXX";
static int irqs;
static uint16_t avail_idx;
static struct evloop loop;
static bool have_loop;

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static void hook_irq(void *opaque)
{
	irqs++;
}

static void wr(unsigned off, uint32_t v)
{
	drv_wr(vd, off, v);
}

static uint32_t rd(unsigned off)
{
	return drv_rd(vd, off);
}

static void make_blk_on(bool ro, const char *serial, const struct rl_config *rl, struct evloop *l)
{
	struct disk *d;
	struct blk_config bc = { .ro = ro, .serial = serial };
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, DISK_SIZE), 0);
	close(fd);
	cr_assert_eq(fake_mem_init_std(&gm), 0);
	cr_assert_eq(aio_pool_create(2, &pool), 0);
	cr_assert_eq(disk_open(path, DISK_FMT_RAW, 0, &d), 0);
	bc.disk = d;
	if (rl)
		bc.rl = *rl;
	cr_assert_eq(blk_create(&bc, &gm, pool, l, &b), 0);
	vd = blk_virtio(b);
	vd->hooks.irq = hook_irq;
}

static void make_blk(bool ro, const char *serial)
{
	make_blk_on(ro, serial, NULL, NULL);
}

static uint64_t features(void)
{
	return drv_offered(vd);
}

static void bring_up(void)
{
	cr_assert_eq(drv_negotiate(vd, features()), 11, "FEATURES_OK refused");
	wr(0x30, 0);
	cr_assert_geq(rd(0x34), QSZ);
	drv_queue(vd, 0, QSZ, DESC, AVAIL, USED);
	cr_assert_eq(drv_driver_ok(vd), 15);
	avail_idx = 0;
}

static void setup_rw(void)
{
	make_blk(false, "serial-123");
	bring_up();
}

static void setup_ro(void)
{
	make_blk(true, NULL);
	bring_up();
}

static void teardown(void)
{
	blk_destroy(b);
	b = NULL;
	if (have_loop)
		evl_destroy(&loop);
	have_loop = false;
	aio_pool_destroy(pool);
	fake_mem_destroy(&gm);
	unlink(path);
	strcpy(path, "/tmp/clone-test-blk-XXXXXX");
}

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct desc *d = fake_mem_at(&gm, DESC + 16 * i);

	*d = (struct desc){ addr, len, flags, next };
}

/* Offer the chain starting at head and run it to completion; returns used len. */
static uint32_t run_chain(uint16_t head)
{
	uint16_t *avail = fake_mem_at(&gm, AVAIL);
	uint16_t *used_idx = fake_mem_at(&gm, USED + 2);
	uint32_t *used_ring = fake_mem_at(&gm, USED + 4);
	uint16_t before = *used_idx;

	avail[2 + avail_idx % QSZ] = head;
	avail_idx++;
	__atomic_store_n(&avail[1], avail_idx, __ATOMIC_RELEASE);
	pthread_mutex_lock(&vd->lock);
	vd->ops->notify(vd, 0);
	pthread_mutex_unlock(&vd->lock);
	blk_drain(b);
	blk_complete_pending(b);
	cr_assert_eq(*used_idx, (uint16_t)(before + 1), "request not completed");
	cr_assert_eq(used_ring[2 * (before % QSZ)], head);
	return used_ring[2 * (before % QSZ) + 1];
}

struct hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* header → data (len bytes at DATA, device-writable when in) → status */
static uint32_t request(uint32_t type, uint64_t sector, uint32_t len, bool in)
{
	struct hdr *h = fake_mem_at(&gm, HDR);

	*h = (struct hdr){ type, 0, sector };
	*(uint8_t *)fake_mem_at(&gm, STATUS) = 0xff;
	set_desc(0, HDR, sizeof(*h), 1, 1);
	if (len) {
		set_desc(1, DATA, len, 1 | (in ? 2 : 0), 2);
		set_desc(2, STATUS, 1, 2, 0);
	} else {
		set_desc(1, STATUS, 1, 2, 0);
	}
	return run_chain(0);
}

static uint8_t status(void)
{
	return *(uint8_t *)fake_mem_at(&gm, STATUS);
}

static void file_read(void *buf, size_t len, off_t off)
{
	int fd = open(path, O_RDONLY);

	cr_assert_eq(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

TestSuite(blk, .fini = teardown, .timeout = 20);

Test(blk, config_space, .init = setup_rw)
{
	uint64_t cap = 0;
	uint32_t seg_max = 0, blk_size = 0;

	virtio_mmio_ops.read(vd, 0x100, &cap, 8);
	virtio_mmio_ops.read(vd, 0x100 + 12, &seg_max, 4);
	virtio_mmio_ops.read(vd, 0x100 + 20, &blk_size, 4);
	cr_assert_eq(cap, DISK_SIZE / 512);
	cr_assert_eq(seg_max, BLK_QUEUE_SIZE - 2);
	cr_assert_eq(blk_size, 512);
	cr_assert_eq(rd(0x8), 2, "device id");
}

Test(blk, write_then_read_back, .init = setup_rw)
{
	uint8_t *data = fake_mem_at(&gm, DATA), back[8192];

	for (int i = 0; i < 8192; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	cr_assert_eq(request(T_OUT, 8, 8192, false), 1);
	cr_assert_eq(status(), 0);
	file_read(back, sizeof(back), 8 * 512);
	cr_assert_arr_eq(back, data, sizeof(back));

	memset(data, 0, 8192);
	cr_assert_eq(request(T_IN, 8, 8192, true), 8192 + 1, "IN reports data + status");
	cr_assert_eq(status(), 0);
	cr_assert_arr_eq(back, data, sizeof(back));
	cr_assert_gt(irqs, 0);
}

Test(blk, bad_ranges_are_io_errors, .init = setup_rw)
{
	cr_assert_eq(request(T_IN, DISK_SIZE / 512, 512, true), 1);
	cr_assert_eq(status(), 1, "read past the end");
	cr_assert_eq(request(T_IN, DISK_SIZE / 512 - 1, 1024, true), 1);
	cr_assert_eq(status(), 1, "read straddling the end");
	cr_assert_eq(request(T_IN, UINT64_MAX, 512, true), 1);
	cr_assert_eq(status(), 1, "sector overflow");
	cr_assert_eq(request(T_OUT, 0, 100, false), 1);
	cr_assert_eq(status(), 1, "length not a multiple of 512");
	cr_assert_eq(request(T_IN, DISK_SIZE / 512 - 1, 512, true), 513);
	cr_assert_eq(status(), 0, "last sector");
}

Test(blk, get_id_flush_unsupported, .init = setup_rw)
{
	char *data = fake_mem_at(&gm, DATA);

	memset(data, 'x', 64);
	cr_assert_eq(request(T_GET_ID, 0, 20, true), 21, "20 serial bytes + status");
	cr_assert_eq(status(), 0);
	cr_assert_eq(memcmp(data, "serial-123\0", 11), 0);
	cr_assert_eq(request(T_FLUSH, 0, 0, false), 1);
	cr_assert_eq(status(), 0);
	cr_assert_eq(request(77, 0, 0, false), 1);
	cr_assert_eq(status(), 2, "unknown type: UNSUPP");
}

Test(blk, write_zeroes_and_discard, .init = setup_rw)
{
	uint8_t *data = fake_mem_at(&gm, DATA), back[4096];
	struct seg {
		uint64_t sector;
		uint32_t num;
		uint32_t flags;
	} *s = fake_mem_at(&gm, DATA + 0x8000);
	struct hdr *h = fake_mem_at(&gm, HDR);
	static const uint8_t zero[4096];

	memset(data, 0xab, 4096);
	request(T_OUT, 16, 4096, false);
	cr_assert_eq(status(), 0);

	*h = (struct hdr){ T_WRITE_ZEROES, 0, 0 };
	*s = (struct seg){ 16, 8, 1 };
	set_desc(0, HDR, 16, 1, 1);
	set_desc(1, DATA + 0x8000, 16, 1, 2);
	set_desc(2, STATUS, 1, 2, 0);
	run_chain(0);
	cr_assert_eq(status(), 0);
	file_read(back, sizeof(back), 16 * 512);
	cr_assert_arr_eq(back, zero, sizeof(back));

	*h = (struct hdr){ T_DISCARD, 0, 0 };
	*s = (struct seg){ 0, 8, 1 };
	run_chain(0);
	cr_assert_eq(status(), 2, "discard with the unmap flag is UNSUPP");
	*s = (struct seg){ 0, 8, 0 };
	run_chain(0);
	cr_assert_eq(status(), 0);
	*s = (struct seg){ DISK_SIZE / 512 - 4, 8, 0 };
	run_chain(0);
	cr_assert_eq(status(), 1, "discard past the end");
}

Test(blk, read_only_refuses_writes, .init = setup_ro)
{
	uint8_t *data = fake_mem_at(&gm, DATA), back[512];
	static const uint8_t zero[512];

	cr_assert(features() & (1u << 5), "VIRTIO_BLK_F_RO offered");
	cr_assert_not(features() & (1u << 13), "no discard on a read-only disk");
	memset(data, 0x5a, 512);
	cr_assert_eq(request(T_OUT, 0, 512, false), 1);
	cr_assert_eq(status(), 1);
	file_read(back, sizeof(back), 0);
	cr_assert_arr_eq(back, zero, sizeof(back));
	cr_assert_eq(request(T_IN, 0, 512, true), 513);
	cr_assert_eq(status(), 0);
}

Test(blk, malformed_chain_needs_reset, .init = setup_rw)
{
	uint16_t *avail = fake_mem_at(&gm, AVAIL);

	/* A header with no device-writable status byte. */
	set_desc(0, HDR, 16, 0, 0);
	avail[2] = 0;
	__atomic_store_n(&avail[1], 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&vd->lock);
	vd->ops->notify(vd, 0);
	pthread_mutex_unlock(&vd->lock);
	cr_assert(rd(0x70) & 64, "DEVICE_NEEDS_RESET");
	cr_assert(rd(0x60) & 2, "configuration-change interrupt");

	/* A reset and a fresh driver bring it back. */
	wr(0x70, 0);
	cr_assert_eq(rd(0x70), 0);
	memset(fake_mem_at(&gm, AVAIL), 0, 0x100);
	memset(fake_mem_at(&gm, USED), 0, 0x100);
	bring_up();
	cr_assert_eq(request(T_FLUSH, 0, 0, false), 1);
	cr_assert_eq(status(), 0);
}

Test(blk, many_requests_in_flight, .init = setup_rw)
{
	uint16_t *avail = fake_mem_at(&gm, AVAIL);
	uint16_t *used_idx = fake_mem_at(&gm, USED + 2);
	struct hdr *h;

	/* Five writes of distinct sectors offered at once: chains 3k, 3k+1, 3k+2. */
	for (unsigned k = 0; k < 5; k++) {
		h = fake_mem_at(&gm, HDR + 16 * k);
		*h = (struct hdr){ T_OUT, 0, k };
		memset(fake_mem_at(&gm, DATA + 512 * k), 'a' + k, 512);
		set_desc(3 * k, HDR + 16 * k, 16, 1, (uint16_t)(3 * k + 1));
		set_desc(3 * k + 1, DATA + 512 * k, 512, 1, (uint16_t)(3 * k + 2));
		set_desc(3 * k + 2, STATUS + k, 1, 2, 0);
		avail[2 + k] = (uint16_t)(3 * k);
	}
	__atomic_store_n(&avail[1], 5, __ATOMIC_RELEASE);
	pthread_mutex_lock(&vd->lock);
	vd->ops->notify(vd, 0);
	pthread_mutex_unlock(&vd->lock);
	blk_drain(b);
	blk_complete_pending(b);
	cr_assert_eq(*used_idx, 5);
	for (unsigned k = 0; k < 5; k++) {
		char back[512];

		cr_assert_eq(*(uint8_t *)fake_mem_at(&gm, STATUS + k), 0);
		file_read(back, 512, 512 * k);
		cr_assert_eq(back[0], 'a' + (char)k);
		cr_assert_eq(back[511], 'a' + (char)k);
	}
}

/* ---- rate limiting ---- */

static void setup_limited(const struct rl_config *rl)
{
	cr_assert_eq(evl_init(&loop), 0);
	have_loop = true;
	make_blk_on(false, "rl", rl, &loop);
	bring_up();
}

/* Chain k (descriptors 3k..3k+2): header, len bytes at DATA + k * 64 KiB, status byte STATUS + k. */
static void offer(unsigned k, uint32_t type, uint64_t sector, uint32_t len, bool in)
{
	uint16_t *avail = fake_mem_at(&gm, AVAIL);
	struct hdr *h = fake_mem_at(&gm, HDR + 16 * k);
	uint16_t d = (uint16_t)(3 * k);

	*h = (struct hdr){ type, 0, sector };
	*(uint8_t *)fake_mem_at(&gm, STATUS + k) = 0xff;
	set_desc(d, HDR + 16 * k, 16, 1, (uint16_t)(d + 1));
	if (len) {
		set_desc(d + 1u, DATA + 0x10000ull * k, len, 1 | (in ? 2 : 0), (uint16_t)(d + 2));
		set_desc(d + 2u, STATUS + k, 1, 2, 0);
	} else {
		set_desc(d + 1u, STATUS + k, 1, 2, 0);
	}
	avail[2 + avail_idx % QSZ] = d;
	avail_idx++;
	__atomic_store_n(&avail[1], avail_idx, __ATOMIC_RELEASE);
}

static void kick(void)
{
	pthread_mutex_lock(&vd->lock);
	vd->ops->notify(vd, 0);
	pthread_mutex_unlock(&vd->lock);
}

static uint16_t used(void)
{
	return __atomic_load_n((uint16_t *)fake_mem_at(&gm, USED + 2), __ATOMIC_ACQUIRE);
}

/* Run the loop until `target` requests are used or max_ms passed; returns the time it took. */
static uint64_t pump(uint16_t target, uint64_t max_ms)
{
	uint64_t t0 = monotonic_ns();

	while (used() < target && monotonic_ns() - t0 < max_ms * 1000000ull)
		cr_assert_geq(evl_run_once(&loop, 5), 0);
	return monotonic_ns() - t0;
}

Test(blk, ops_limit_holds_requests_until_the_timer)
{
	struct rl_config rl = { .ops = { .size = 1, .refill_ms = 100 } };
	uint64_t t0, t;

	setup_limited(&rl);
	for (unsigned k = 0; k < 3; k++)
		offer(k, T_FLUSH, 0, 0, false);
	t0 = monotonic_ns();
	kick();
	pump(1, 5000);
	cr_assert_eq(used(), 1, "the full bucket lets one through");
	cr_assert_eq(*(uint8_t *)fake_mem_at(&gm, STATUS + 1), 0xff, "the second is held");
	kick(); /* a kick while throttled changes nothing */
	pump(2, 5000);
	t = monotonic_ns() - t0;
	cr_assert_eq(used(), 2);
	cr_assert_geq(t, 100000000ull, "released after %llu ns", (unsigned long long)t);
	pump(3, 5000);
	t = monotonic_ns() - t0;
	cr_assert_eq(used(), 3);
	cr_assert_geq(t, 200000000ull, "released after %llu ns", (unsigned long long)t);
	cr_assert_lt(t, 4000000000ull);
	for (unsigned k = 0; k < 3; k++)
		cr_assert_eq(*(uint8_t *)fake_mem_at(&gm, STATUS + k), 0, "request %u", k);
}

Test(blk, bytes_limit_paces_reads)
{
	/* 8 KiB per 50 ms: five 8 KiB reads take at least 150 ms (the first is free,
	 * the second goes into debt at once). */
	struct rl_config rl = { .bytes = { .size = 8192, .refill_ms = 50 } };
	uint8_t pattern[8192];
	uint64_t t;
	int fd;

	setup_limited(&rl);
	for (unsigned i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 13 + 5);
	fd = open(path, O_WRONLY);
	cr_assert_eq(pwrite(fd, pattern, sizeof(pattern), 0), (ssize_t)sizeof(pattern));
	close(fd);
	for (unsigned k = 0; k < 5; k++)
		offer(k, T_IN, 0, 8192, true);
	t = monotonic_ns();
	kick();
	pump(5, 5000);
	t = monotonic_ns() - t;
	cr_assert_eq(used(), 5);
	cr_assert_geq(t, 150000000ull, "took %llu ns", (unsigned long long)t);
	for (unsigned k = 0; k < 5; k++) {
		cr_assert_eq(*(uint8_t *)fake_mem_at(&gm, STATUS + k), 0);
		cr_assert_arr_eq(fake_mem_at(&gm, DATA + 0x10000ull * k), pattern, sizeof(pattern));
	}
}

Test(blk, runtime_change_releases_held_requests)
{
	struct rl_config slow = { .ops = { .size = 1, .refill_ms = 60000 } }, none = { 0 }, got;
	uint64_t t;

	setup_limited(&slow);
	blk_get_rate_limit(b, &got);
	cr_assert_eq(got.ops.size, 1);
	cr_assert_eq(got.ops.refill_ms, 60000);
	offer(0, T_FLUSH, 0, 0, false);
	offer(1, T_FLUSH, 0, 0, false);
	kick();
	pump(1, 5000);
	pump(2, 30);
	cr_assert_eq(used(), 1, "held: one a minute");
	/* The same limit again: the level (empty) is kept, it stays held. */
	cr_assert_eq(blk_set_rate_limit(b, &slow), 0);
	pump(2, 30);
	cr_assert_eq(used(), 1);
	cr_assert_eq(blk_set_rate_limit(b, &none), 0);
	t = pump(2, 5000);
	cr_assert_eq(used(), 2);
	cr_assert_lt(t, 1000000000ull, "released at once, not after a minute");
	blk_get_rate_limit(b, &got);
	cr_assert_eq(got.ops.size, 0);
	/* Unlimited now: a burst goes straight through (chains 0..4 are free again). */
	for (unsigned k = 0; k < 3; k++)
		offer(k, T_FLUSH, 0, 0, false);
	kick();
	pump(5, 5000);
	cr_assert_eq(used(), 5);
	/* Limiting again starts with a full bucket. */
	cr_assert_eq(blk_set_rate_limit(b, &slow), 0);
	offer(3, T_FLUSH, 0, 0, false);
	offer(4, T_FLUSH, 0, 0, false);
	kick();
	pump(7, 50);
	cr_assert_eq(used(), 6);
}

Test(blk, reset_while_throttled_forgets_the_wait)
{
	struct rl_config rl = { .ops = { .size = 1, .refill_ms = 100 } }, none = { 0 };

	setup_limited(&rl);
	offer(0, T_FLUSH, 0, 0, false);
	offer(1, T_FLUSH, 0, 0, false);
	kick();
	pump(1, 5000);
	cr_assert_eq(used(), 1);
	wr(0x70, 0);
	cr_assert_eq(rd(0x70), 0);
	memset(fake_mem_at(&gm, AVAIL), 0, 0x100);
	memset(fake_mem_at(&gm, USED), 0, 0x100);
	/* Past the refill time: the disarmed timer must not touch the (reset) queue. */
	pump(1, 150);
	cr_assert_eq(used(), 0);
	cr_assert_eq(*(uint8_t *)fake_mem_at(&gm, STATUS + 1), 0xff, "the held request never ran");
	bring_up();
	cr_assert_eq(blk_set_rate_limit(b, &none), 0);
	offer(0, T_FLUSH, 0, 0, false);
	kick();
	pump(1, 5000);
	cr_assert_eq(used(), 1);
	cr_assert_eq(*(uint8_t *)fake_mem_at(&gm, STATUS), 0);
}

Test(blk, bad_rate_limits_are_refused)
{
	struct rl_config bad = { .bytes = { .size = 100, .refill_ms = 0 } };
	struct rl_config some = { .ops = { .size = 10, .refill_ms = 100 } };
	struct blk_config bc = { .rl = bad };
	struct blk *other = NULL;
	char other_path[] = "/tmp/clone-test-blk2-XXXXXX";
	struct disk *d;
	int fd;

	setup_rw(); /* no event loop */
	cr_assert_eq(blk_set_rate_limit(b, &bad), -EINVAL);
	cr_assert_eq(blk_set_rate_limit(b, &some), -ENOTSUP, "no loop for the timer");
	fd = mkstemp(other_path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 4096), 0);
	close(fd);
	cr_assert_eq(disk_open(other_path, DISK_FMT_RAW, 0, &d), 0);
	unlink(other_path);
	bc.disk = d;
	cr_assert_eq(blk_create(&bc, &gm, pool, NULL, &other), -EINVAL);
	cr_assert_null(other);
	cr_assert_eq(request(T_FLUSH, 0, 0, false), 1, "still unlimited");
}
