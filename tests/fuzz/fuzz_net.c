// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: virtio-net's userspace data path (src/virtio/net.c)
 * behind the virtio-mmio transport, with a datagram socketpair as the TAP.
 * The input is a guest memory image (64 KiB of RAM: rx rings at 0 / 0x1000
 * / 0x2000, tx rings at 0x3000 / 0x4000 / 0x5000, the rest for buffers)
 * whose first four bytes say how many chains each avail ring offers, which
 * features the driver takes and how long the frame the host sends is.  The
 * device is brought up, kicked, the loop pumped, then reset.  It must never
 * crash, hang, leak, or touch memory outside guest RAM.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fakes/virtio_driver.h"
#include "lib/log.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "vmm/evloop.h"
#include "vmm/mem.h"

#define RAM 0x10000u
#define QSZ 16

static uint8_t ram[RAM];
static uint8_t frame[4096];
static int efd[2] = { -1, -1 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void irq(void *opaque)
{
}

static int kick_fd(void *opaque, unsigned q)
{
	return q < 2 ? efd[q] : -ENODEV;
}

static int irq_fd(void *opaque)
{
	return -ENODEV;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem gm = { .nr = 1 };
	struct net_config nc = { .id = "fuzz", .no_vhost = true, .mac = { 2 } };
	struct evloop loop;
	struct virtio_dev *vd;
	struct net *n;
	uint64_t f, one = 1;
	int sv[2];

	if (size < 4)
		return 0;
	log_set_level(LOG_ERR);
	for (unsigned q = 0; q < 2; q++)
		if (efd[q] < 0 && (efd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			return 0;
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data + 4, size - 4 < RAM ? size - 4 : RAM);
	gm.regions[0] = (struct gm_region){ .gpa = 0, .size = RAM, .hva = ram };
	gm.map = ram;
	gm.map_len = gm.ram_size = RAM;
	if (evl_init(&loop))
		return 0;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv)) {
		evl_destroy(&loop);
		return 0;
	}
	nc.tap_fd = sv[0];
	if (net_create(&nc, &gm, &loop, &n)) {
		close(sv[1]);
		evl_destroy(&loop);
		return 0;
	}
	vd = net_virtio(n);
	vd->hooks = (struct virtio_hooks){ .irq = irq, .kick_fd = kick_fd, .irq_fd = irq_fd };

	f = drv_offered(vd);
	if (!(data[1] & 1))
		f &= ~(1ull << 29); /* EVENT_IDX */
	if (!(data[1] & 2))
		f &= ~(1ull << 28); /* INDIRECT_DESC */
	if (!(data[1] & 4))
		f &= ~(1ull << 15); /* MRG_RXBUF */
	drv_negotiate(vd, f);
	drv_queue(vd, 0, QSZ, 0, 0x1000, 0x2000);
	drv_queue(vd, 1, QSZ, 0x3000, 0x4000, 0x5000);
	drv_driver_ok(vd);

	/* Avail indexes from the input, bounded to a few laps. */
	((uint16_t *)(ram + 0x1000))[1] = data[2] % (2 * QSZ + 1);
	((uint16_t *)(ram + 0x4000))[1] = data[0] % (2 * QSZ + 1);
	memset(frame, data[3], sizeof(frame));
	(void)!send(sv[1], frame, 12 + (size_t)data[3] * 16, 0);
	(void)!send(sv[1], frame, 12 + 1500, 0);
	(void)!write(efd[0], &one, sizeof(one));
	(void)!write(efd[1], &one, sizeof(one));
	for (int round = 0; round < 4 && evl_run_once(&loop, 0) > 0; round++)
		;
	while (recv(sv[1], frame, sizeof(frame), MSG_DONTWAIT) > 0)
		;
	drv_wr(vd, 0x70, 0); /* driver reset */
	evl_run_once(&loop, 0);
	net_destroy(n);
	close(sv[1]);
	evl_destroy(&loop);
	return 0;
}
