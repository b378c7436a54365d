// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net's userspace data path against a datagram socketpair standing
 * in for the TAP (each datagram one frame with its virtio-net header):
 * configuration space, tx, rx with mergeable buffers, waiting for receive
 * buffers without dropping, tx rate limiting released by the timer, and
 * malformed chains.  The event loop is pumped step by step.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fakes/fake_mem.h"
#include "fakes/virtio_driver.h"
#include "lib/util.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "vmm/evloop.h"

#define QSZ 16
#define HDR 12
#define BUF 0x40000ull

static const uint64_t ring[2][3] = {
	{ 0x10000, 0x11000, 0x12000 }, /* rx: desc, avail, used */
	{ 0x20000, 0x21000, 0x22000 }, /* tx */
};

static struct guest_mem gm;
static struct evloop loop;
static struct net *n;
static struct virtio_dev *vd;
static int peer = -1, efd[2] = { -1, -1 };
static unsigned irqs;
static uint16_t avail[2], next_desc[2];

static void hook_irq(void *opaque)
{
	irqs++;
}

static int hook_kick_fd(void *opaque, unsigned q)
{
	return q < 2 ? efd[q] : -ENODEV;
}

static int hook_irq_fd(void *opaque)
{
	return -ENODEV;
}

static void wr(unsigned off, uint32_t v)
{
	drv_wr(vd, off, v);
}

static uint32_t rd(unsigned off)
{
	return drv_rd(vd, off);
}

static uint64_t offered(void)
{
	return drv_offered(vd);
}

static void pump(int timeout_ms)
{
	while (evl_run_once(&loop, timeout_ms) > 0)
		timeout_ms = 0;
}

static void make(const struct rl_config *tx)
{
	struct net_config nc = { .id = "net0",
				 .mac = { 2, 0, 0, 0x12, 0x34, 0x56 },
				 .no_vhost = true };
	int sv[2];

	if (tx)
		nc.tx = *tx;
	cr_assert_eq(fake_mem_init_std(&gm), 0);
	cr_assert_eq(evl_init(&loop), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	peer = sv[1];
	nc.tap_fd = sv[0];
	for (unsigned q = 0; q < 2; q++) {
		efd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		cr_assert_geq(efd[q], 0);
	}
	cr_assert_eq(net_create(&nc, &gm, &loop, &n), 0);
	vd = net_virtio(n);
	vd->hooks = (struct virtio_hooks){ .irq = hook_irq,
					   .kick_fd = hook_kick_fd,
					   .irq_fd = hook_irq_fd };
}

static void bring_up(void)
{
	cr_assert_eq(drv_negotiate(vd, offered()), 11);
	for (unsigned q = 0; q < 2; q++)
		drv_queue(vd, q, QSZ, ring[q][0], ring[q][1], ring[q][2]);
	cr_assert_eq(drv_driver_ok(vd), 15);
	pump(0); /* the deferred reconcile: the loop now watches the kicks and the TAP */
}

static void setup(void)
{
	make(NULL);
	bring_up();
}

static void teardown(void)
{
	net_destroy(n);
	n = NULL;
	evl_destroy(&loop);
	for (unsigned q = 0; q < 2; q++) {
		if (efd[q] >= 0)
			close(efd[q]);
		efd[q] = -1;
		avail[q] = next_desc[q] = 0;
	}
	if (peer >= 0)
		close(peer);
	peer = -1;
	irqs = 0;
	fake_mem_destroy(&gm);
}

TestSuite(net, .init = setup, .fini = teardown, .timeout = 20);
/* Tests that make their own device. */
TestSuite(net_own, .fini = teardown, .timeout = 20);

/* Put a one-descriptor chain of len bytes at gpa on queue q's avail ring. */
static uint16_t post(unsigned q, uint64_t gpa, uint32_t len, bool writable)
{
	uint16_t d = next_desc[q]++ % QSZ;
	uint8_t *desc = fake_mem_at(&gm, ring[q][0] + 16ull * d);
	uint8_t *av = fake_mem_at(&gm, ring[q][1]);
	uint16_t flags = writable ? 2 : 0, slot = avail[q] % QSZ;

	memcpy(desc, &gpa, 8);
	memcpy(desc + 8, &len, 4);
	memcpy(desc + 12, &flags, 2);
	memset(desc + 14, 0, 2);
	memcpy(av + 4 + 2 * slot, &d, 2);
	avail[q]++;
	__atomic_store_n((uint16_t *)(av + 2), avail[q], __ATOMIC_RELEASE);
	return d;
}

static void kick(unsigned q)
{
	uint64_t one = 1;

	cr_assert_eq(write(efd[q], &one, 8), 8);
}

static uint16_t used_idx(unsigned q)
{
	return __atomic_load_n((uint16_t *)fake_mem_at(&gm, ring[q][2] + 2), __ATOMIC_ACQUIRE);
}

static void used_elem(unsigned q, unsigned i, uint32_t *id, uint32_t *len)
{
	uint8_t *e = fake_mem_at(&gm, ring[q][2] + 4 + 8ull * (i % QSZ));

	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
}

Test(net, config_space_has_the_mac_and_link_up)
{
	uint8_t cfg[8];

	cr_assert_eq(rd(0x08), 1); /* DeviceID: network card */
	for (unsigned i = 0; i < 8; i++)
		virtio_mmio_ops.read(vd, 0x100 + i, &cfg[i], 1);
	cr_assert_arr_eq(cfg, ((uint8_t[]){ 2, 0, 0, 0x12, 0x34, 0x56, 1, 0 }), 8);
	cr_assert_str_eq(net_id(n), "net0");
	cr_assert_str_eq(net_data_path(n), "userspace");
}

Test(net_own, offers_offloads_and_mergeable_buffers)
{
	make(NULL);
	uint64_t f = offered();

	for (unsigned bit = 0; bit <= 16; bit++) {
		bool want = bit == 0 || bit == 1 || bit == 5 || bit == 7 || bit == 8 || bit == 9 ||
			    bit == 11 || bit == 12 || bit == 13 || bit == 15 || bit == 16;

		cr_assert_eq(!!(f & (1ull << bit)), want, "feature bit %u", bit);
	}
	cr_assert(f & (1ull << 32), "VERSION_1");
	cr_assert(f & (1ull << 29), "EVENT_IDX");
}

Test(net, tx_writes_each_chain_as_one_frame)
{
	uint8_t frame[HDR + 60], got[200];

	for (unsigned i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7);
	memcpy(fake_mem_at(&gm, BUF), frame, sizeof(frame));
	uint16_t d = post(1, BUF, sizeof(frame), false);

	kick(1);
	pump(0);
	cr_assert_eq(recv(peer, got, sizeof(got), MSG_DONTWAIT), (ssize_t)sizeof(frame));
	cr_assert_arr_eq(got, frame, sizeof(frame));
	cr_assert_eq(used_idx(1), 1);
	uint32_t id, len;

	used_elem(1, 0, &id, &len);
	cr_assert_eq(id, d);
	cr_assert_eq(len, 0);
	cr_assert_gt(irqs, 0);
}

Test(net, rx_spreads_a_frame_over_mergeable_buffers)
{
	uint8_t frame[HDR + 2000];
	uint32_t id, len;

	memset(frame, 0, HDR);
	for (unsigned i = HDR; i < sizeof(frame); i++)
		frame[i] = (uint8_t)i;
	for (unsigned i = 0; i < 3; i++)
		post(0, BUF + 0x1000 * i, 1024, true);
	cr_assert_eq(send(peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	pump(0);
	cr_assert_eq(used_idx(0), 2);
	used_elem(0, 0, &id, &len);
	cr_assert_eq(len, 1024);
	used_elem(0, 1, &id, &len);
	cr_assert_eq(len, sizeof(frame) - 1024);
	uint8_t *b0 = fake_mem_at(&gm, BUF), *b1 = fake_mem_at(&gm, BUF + 0x1000);

	cr_assert_eq(b0[10] | b0[11] << 8, 2, "num_buffers");
	cr_assert_arr_eq(b0 + HDR, frame + HDR, 1024 - HDR);
	cr_assert_arr_eq(b1, frame + 1024, sizeof(frame) - 1024);
}

Test(net, rx_waits_for_buffers_and_drops_nothing)
{
	uint8_t frame[HDR + 100] = { 0 };

	frame[HDR] = 0xab;
	cr_assert_eq(send(peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	cr_assert_eq(send(peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	pump(0);
	cr_assert_eq(used_idx(0), 0, "no buffers yet");
	post(0, BUF, 1024, true);
	kick(0);
	pump(0);
	cr_assert_eq(used_idx(0), 1);
	cr_assert_eq(((uint8_t *)fake_mem_at(&gm, BUF))[HDR], 0xab);
	post(0, BUF + 0x1000, 1024, true);
	kick(0);
	pump(0);
	cr_assert_eq(used_idx(0), 2, "the second frame waited in the TAP");
	struct net_stats st;

	net_get_stats(n, &st);
	cr_assert_eq(st.rx_frames, 2);
	cr_assert_eq(st.rx_dropped, 0);
}

Test(net_own, tx_rate_limit_delays_and_never_drops)
{
	/* 10 000 bytes/s in 1 000-byte buckets: a 1 000-byte frame every 100 ms. */
	struct rl_config tx = { .bytes = { .size = 1000, .refill_ms = 100 } };
	uint8_t got[2048];
	unsigned frames = 0;
	uint64_t t0;

	make(&tx);
	bring_up();
	for (unsigned i = 0; i < 4; i++)
		post(1, BUF + 0x1000 * i, HDR + 1000, false);
	t0 = monotonic_ns();
	kick(1);
	pump(0);
	while (recv(peer, got, sizeof(got), MSG_DONTWAIT) > 0)
		frames++;
	/* A frame goes while the bucket holds a token, perhaps into debt: at most two at once. */
	cr_assert_leq(frames, 2, "the bucket holds back the rest");
	while (frames < 4 && monotonic_ns() - t0 < 5000000000ull) {
		pump(50);
		while (recv(peer, got, sizeof(got), MSG_DONTWAIT) > 0)
			frames++;
	}
	cr_assert_eq(frames, 4, "throttled frames are sent later, not dropped");
	cr_assert_geq(monotonic_ns() - t0, 190000000ull, "the debt of 3000 bytes: 2 refills");
	cr_assert_eq(used_idx(1), 4);
	struct net_stats st;

	net_get_stats(n, &st);
	cr_assert_gt(st.tx_throttled, 0);

	/* Lifted at run time: what follows goes at once. */
	struct rl_config none = { 0 };

	cr_assert_eq(net_set_rate_limit(n, NULL, &none), 0);
	pump(0);
	for (unsigned i = 0; i < 4; i++)
		post(1, BUF + 0x1000 * i, HDR + 1000, false);
	kick(1);
	pump(0);
	frames = 0;
	while (recv(peer, got, sizeof(got), MSG_DONTWAIT) > 0)
		frames++;
	cr_assert_eq(frames, 4);
}

Test(net, malformed_chains_are_survived)
{
	/* A tx frame shorter than its header: returned unused, nothing sent. */
	post(1, BUF, 4, false);
	kick(1);
	pump(0);
	cr_assert_eq(used_idx(1), 1);
	cr_assert_eq(recv(peer, (char[16]){ 0 }, 16, MSG_DONTWAIT), -1);

	/* A receive buffer outside guest memory: the device needs a reset. */
	post(0, FAKE_MEM_LOW + 0x100, 1024, true); /* in the hole */
	cr_assert_eq(send(peer, (char[HDR + 20]){ 0 }, HDR + 20, 0), HDR + 20);
	pump(0);
	cr_assert(rd(0x70) & VIRTIO_STATUS_NEEDS_RESET);
	/* A reset brings it back. */
	wr(0x70, 0);
	cr_assert_eq(rd(0x70), 0);
}

Test(net, rx_frame_larger_than_the_buffers_waits_for_more)
{
	uint8_t frame[HDR + 2500] = { 0 };
	uint16_t avail_event;

	/* Two 1 KiB buffers cannot hold 2.5 KiB: nothing is taken, nothing spins. */
	post(0, BUF, 1024, true);
	post(0, BUF + 0x1000, 1024, true);
	cr_assert_eq(send(peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	pump(0);
	cr_assert_eq(used_idx(0), 0);
	/* The driver is asked to kick on its next buffer (EVENT_IDX: avail_event = avail idx). */
	memcpy(&avail_event, fake_mem_at(&gm, ring[0][2] + 4 + 8 * QSZ), 2);
	cr_assert_eq(avail_event, avail[0]);
	post(0, BUF + 0x2000, 1024, true);
	kick(0);
	pump(0);
	cr_assert_eq(used_idx(0), 3, "one frame over three buffers");
	cr_assert_eq(((uint8_t *)fake_mem_at(&gm, BUF))[10], 3, "num_buffers");
}
