// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: virtio-blk request parsing (src/virtio/blk.c) behind
 * the virtio-mmio transport, on a 1 MiB raw disk in a memfd.  The input is
 * a guest memory image (64 KiB of RAM: descriptor table at 0, avail ring at
 * 0x1000, used ring at 0x2000, the rest for headers, data and status
 * bytes), whose first two bytes say how many chains the avail ring offers
 * and which features the driver takes.  The device is brought up, kicked,
 * the worker pool drained and completions delivered; then it is reset.
 * It must never crash, hang, leak, or touch memory outside guest RAM.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/aio.h"
#include "block/disk.h"
#include "fakes/virtio_driver.h"
#include "lib/log.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "vmm/mem.h"

#define RAM 0x10000u
#define QSZ 16

static uint8_t ram[RAM];
static struct aio_pool *pool;
static char disk_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void irq(void *opaque)
{
}

static int setup(void)
{
	int fd;

	if (pool)
		return 0;
	log_set_level(LOG_ERR);
	fd = memfd_create("fuzz-blk-disk", 0);
	if (fd < 0 || ftruncate(fd, 1 << 20))
		return -1;
	snprintf(disk_path, sizeof(disk_path), "/proc/self/fd/%d", fd);
	return aio_pool_create(2, &pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem gm = { .nr = 1 };
	struct blk_config bc = { .serial = "fuzz" };
	struct virtio_dev *vd;
	struct disk *d;
	struct blk *b;
	uint64_t f;
	uint16_t *avail;

	if (size < 2 || setup())
		return 0;
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data + 2, size - 2 < RAM ? size - 2 : RAM);
	gm.regions[0] = (struct gm_region){ .gpa = 0, .size = RAM, .hva = ram };
	gm.map = ram;
	gm.map_len = gm.ram_size = RAM;
	bc.ro = data[1] & 0x80;
	if (disk_open(disk_path, DISK_FMT_RAW, 0, &d))
		return 0;
	bc.disk = d;
	if (blk_create(&bc, &gm, pool, NULL, &b))
		return 0;
	vd = blk_virtio(b);
	vd->hooks.irq = irq;

	f = drv_offered(vd);
	if (!(data[1] & 1))
		f &= ~(1ull << 29); /* EVENT_IDX */
	if (!(data[1] & 2))
		f &= ~(1ull << 28); /* INDIRECT_DESC */
	drv_negotiate(vd, f);
	drv_queue(vd, 0, QSZ, 0, 0x1000, 0x2000);
	drv_driver_ok(vd);

	/* The avail index comes from the input too, but bounded to a few laps. */
	avail = (uint16_t *)(ram + 0x1000);
	avail[1] = data[0] % (2 * QSZ + 1);
	for (int round = 0; round < 2; round++) {
		pthread_mutex_lock(&vd->lock);
		vd->ops->notify(vd, 0);
		pthread_mutex_unlock(&vd->lock);
		blk_drain(b);
		blk_complete_pending(b);
	}
	drv_wr(vd, 0x70, 0); /* driver reset with requests possibly in flight */
	blk_destroy(b);
	return 0;
}
