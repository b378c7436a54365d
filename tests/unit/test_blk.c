// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: virtio-blk (src/virtio/blk.c) driven like a guest driver
 * would: through the virtio-mmio registers, with rings and buffers in fake
 * guest memory and a raw image in a temporary file.  Requests run on the
 * real worker pool; blk_drain + blk_complete_pending stand in for the
 * event loop.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/aio.h"
#include "block/disk.h"
#include "fakes/fake_mem.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"

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
	virtio_mmio_ops.write(vd, off, &v, 4);
}

static uint32_t rd(unsigned off)
{
	uint32_t v = 0;

	virtio_mmio_ops.read(vd, off, &v, 4);
	return v;
}

static void make_blk(bool ro, const char *serial)
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
	cr_assert_eq(blk_create(&bc, &gm, pool, NULL, &b), 0);
	vd = blk_virtio(b);
	vd->hooks.irq = hook_irq;
}

static uint64_t features(void)
{
	uint64_t f;

	wr(0x14, 0);
	f = rd(0x10);
	wr(0x14, 1);
	return f | (uint64_t)rd(0x10) << 32;
}

static void bring_up(void)
{
	uint64_t f = features();

	wr(0x70, 1);
	wr(0x70, 3);
	wr(0x24, 0);
	wr(0x20, (uint32_t)f);
	wr(0x24, 1);
	wr(0x20, (uint32_t)(f >> 32));
	wr(0x70, 11);
	cr_assert_eq(rd(0x70), 11, "FEATURES_OK refused");
	wr(0x30, 0);
	cr_assert_geq(rd(0x34), QSZ);
	wr(0x38, QSZ);
	wr(0x80, (uint32_t)DESC);
	wr(0x84, 0);
	wr(0x90, (uint32_t)AVAIL);
	wr(0x94, 0);
	wr(0xa0, (uint32_t)USED);
	wr(0xa4, 0);
	wr(0x44, 1);
	wr(0x70, 15);
	cr_assert_eq(rd(0x70), 15);
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
