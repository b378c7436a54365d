// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: virtio-vsock (src/virtio/vsock.c) and the vhost helper
 * (src/virtio/vhost.c), driven through the virtio-mmio registers like a
 * guest driver, with a fake vhost back end (struct vhost_ops) that records
 * every ioctl, and rings in fake guest memory.  Also: InterruptStatus of a
 * backend_irq device and the transport's ring-feature offer.
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <linux/vhost.h>

#include "fakes/fake_mem.h"
#include "fakes/virtio_driver.h"
#include "fakes/fake_virtio.h"
#include "lib/err.h"
#include "virtio/mmio.h"
#include "virtio/vhost.h"
#include "virtio/vsock.h"

#define QSZ 16
#define EVQ_BUF 0x10000ull
#define FAKE_FD 77
#define KICK_FD(q) (100 + (int)(q))
#define CALL_FD 200
#define MAX_CALLS 1024
#define MAX_BUSY 512

#define BIT(n) (1ull << (n))
#define F_SEQPACKET BIT(1)
#define F_NOTIFY_ON_EMPTY BIT(24)
#define F_LOG_ALL BIT(26)
#define F_ANY_LAYOUT BIT(27)
#define F_INDIRECT BIT(28)
#define F_EVENT_IDX BIT(29)
#define F_VERSION_1 BIT(32)
#define F_ACCESS_PLATFORM BIT(33)
/* What a current kernel's vhost-vsock offers (VHOST_VSOCK_FEATURES). */
#define VHOST_ALL                                                                                  \
	(F_SEQPACKET | F_NOTIFY_ON_EMPTY | F_LOG_ALL | F_ANY_LAYOUT | F_INDIRECT | F_EVENT_IDX |   \
	 F_VERSION_1 | F_ACCESS_PLATFORM)

/* Ring placement per queue: rx in low RAM, tx in high RAM, event in low RAM. */
static const uint64_t ring_gpa[3][3] = {
	{ 0x1000, 0x2000, 0x3000 },
	{ FAKE_MEM_HIGH + 0x1000, FAKE_MEM_HIGH + 0x2000, FAKE_MEM_HIGH + 0x3000 },
	{ 0x7000, 0x8000, 0x9000 },
};

/* ---- the fake vhost back end ---- */

struct call {
	unsigned long req;
	uint64_t u64; /* features, CID */
	int i;	      /* SET_RUNNING */
	struct vhost_vring_state st;
	struct vhost_vring_file file;
	struct vhost_vring_addr addr;
	unsigned nregions;
	struct vhost_memory_region regions[GM_MAX_REGIONS];
};

struct fake_vhost {
	int open_err; /* open() fails with this (-errno) */
	uint64_t features;
	uint64_t busy[MAX_BUSY]; /* CIDs in use by "other VMs" */
	unsigned nbusy;
	bool all_busy;
	unsigned busy_first;	/* the next this many SET_GUEST_CIDs clash */
	unsigned long fail_req; /* this ioctl fails with -EIO */
	uint16_t base[2];	/* what GET_VRING_BASE answers */
	struct call calls[MAX_CALLS];
	unsigned ncalls;
	unsigned opens, closes;
};

static struct fake_vhost fv;

static int f_open(void *opaque, const char *path)
{
	struct fake_vhost *f = opaque;

	if (f->open_err)
		return f->open_err;
	f->opens++;
	return FAKE_FD;
}

static void f_close(void *opaque, int fd)
{
	struct fake_vhost *f = opaque;

	cr_assert_eq(fd, FAKE_FD);
	f->closes++;
}

static bool cid_busy(const struct fake_vhost *f, uint64_t cid)
{
	if (f->all_busy)
		return true;
	for (unsigned i = 0; i < f->nbusy; i++)
		if (f->busy[i] == cid)
			return true;
	return false;
}

static int f_ioctl(void *opaque, int fd, unsigned long req, void *arg)
{
	struct fake_vhost *f = opaque;
	struct call *c;

	cr_assert_eq(fd, FAKE_FD);
	cr_assert_lt(f->ncalls, MAX_CALLS);
	c = &f->calls[f->ncalls++];
	memset(c, 0, sizeof(*c));
	c->req = req;
	switch (req) {
	case VHOST_GET_FEATURES:
		*(uint64_t *)arg = f->features;
		break;
	case VHOST_SET_FEATURES:
	case VHOST_VSOCK_SET_GUEST_CID:
		c->u64 = *(uint64_t *)arg;
		break;
	case VHOST_VSOCK_SET_RUNNING:
		c->i = *(int *)arg;
		break;
	case VHOST_SET_MEM_TABLE: {
		const struct vhost_memory *m = arg;

		cr_assert_leq(m->nregions, GM_MAX_REGIONS);
		c->nregions = m->nregions;
		memcpy(c->regions, m->regions, m->nregions * sizeof(m->regions[0]));
		break;
	}
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_BASE:
		c->st = *(struct vhost_vring_state *)arg;
		break;
	case VHOST_GET_VRING_BASE: {
		struct vhost_vring_state *s = arg;

		cr_assert_lt(s->index, 2);
		c->st.index = s->index;
		s->num = f->base[s->index];
		break;
	}
	case VHOST_SET_VRING_ADDR:
		c->addr = *(struct vhost_vring_addr *)arg;
		break;
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
		c->file = *(struct vhost_vring_file *)arg;
		break;
	default:
		break;
	}
	if (req == f->fail_req)
		return -EIO;
	if (req == VHOST_VSOCK_SET_GUEST_CID && f->busy_first) {
		f->busy_first--;
		return -EADDRINUSE;
	}
	if (req == VHOST_VSOCK_SET_GUEST_CID && cid_busy(f, c->u64))
		return -EADDRINUSE;
	return 0;
}

static const struct vhost_ops fake_ops = {
	.open = f_open,
	.ioctl = f_ioctl,
	.close = f_close,
};

/* ---- the device under test ---- */

static struct guest_mem gm;
static struct vsock *v;
static struct virtio_dev *vd;
static unsigned irqs;

static void hook_irq(void *opaque)
{
	irqs++;
}

/* The event loop's part: a kick of a polled queue runs notify under the lock. */
static void hook_kick(void *opaque, unsigned q)
{
	struct virtio_dev *d = opaque;

	pthread_mutex_lock(&d->lock);
	if (virtio_dev_running(d))
		d->ops->notify(d, q);
	pthread_mutex_unlock(&d->lock);
}

static int hook_kick_fd(void *opaque, unsigned q)
{
	return KICK_FD(q);
}

static int hook_irq_fd(void *opaque)
{
	return CALL_FD;
}

static void install_hooks(struct virtio_dev *d)
{
	d->hooks = (struct virtio_hooks){ .irq = hook_irq,
					  .kick = hook_kick,
					  .kick_fd = hook_kick_fd,
					  .irq_fd = hook_irq_fd,
					  .opaque = d };
}

static int create(uint64_t cid, struct vsock **out)
{
	struct vsock_config cfg = { .cid = cid, .ops = &fake_ops, .ops_opaque = &fv };

	return vsock_create(&cfg, &gm, out);
}

static void make(uint64_t cid)
{
	cr_assert_eq(create(cid, &v), 0, "%s", err_msg());
	vd = vsock_virtio(v);
	install_hooks(vd);
}

static void setup(void)
{
	memset(&fv, 0, sizeof(fv));
	fv.features = VHOST_ALL;
	irqs = 0;
	v = NULL;
	vd = NULL;
	cr_assert_eq(fake_mem_init_std(&gm), 0);
}

static void setup_dev(void)
{
	setup();
	make(42);
}

static void teardown(void)
{
	vsock_destroy(v);
	if (v)
		cr_assert_eq(fv.closes, fv.opens, "vhost fd leaked");
	fake_mem_destroy(&gm);
}

TestSuite(vsock, .init = setup_dev, .fini = teardown, .timeout = 10);
/* Tests that create their devices themselves. */
TestSuite(vsock_bare, .init = setup, .fini = teardown, .timeout = 10);

static void wr(unsigned off, uint32_t val)
{
	drv_wr(vd, off, val);
}

static uint32_t rd(unsigned off)
{
	return drv_rd(vd, off);
}

static uint64_t offered(void)
{
	return drv_offered(vd);
}

static void setup_queue(unsigned q, const uint64_t *gpa)
{
	wr(0x30, q);
	cr_assert_eq(rd(0x34), VSOCK_QUEUE_SIZE);
	drv_queue(vd, q, QSZ, gpa[0], gpa[1], gpa[2]);
}

/* The driver's initialisation up to (not including) DRIVER_OK; accepts features f. */
static void init_to_features_ok(uint64_t f)
{
	cr_assert_eq(drv_negotiate(vd, f), 11, "FEATURES_OK refused");
	for (unsigned q = 0; q < 3; q++)
		setup_queue(q, ring_gpa[q]);
}

static void bring_up(void)
{
	init_to_features_ok(offered());
	cr_assert_eq(drv_driver_ok(vd), 15, "device did not start: status %#x", rd(0x70));
}

static const struct call *find_call(unsigned long req, unsigned from)
{
	for (unsigned i = from; i < fv.ncalls; i++)
		if (fv.calls[i].req == req)
			return &fv.calls[i];
	return NULL;
}

static unsigned count_calls(unsigned long req)
{
	unsigned n = 0;

	for (unsigned i = 0; i < fv.ncalls; i++)
		n += fv.calls[i].req == req;
	return n;
}

static uint64_t hva(uint64_t gpa)
{
	return (uint64_t)(uintptr_t)fake_mem_at(&gm, gpa);
}

/* The exact sequence activate() must issue from calls[from]; returns the index after it. */
static unsigned expect_start(unsigned from, uint64_t features, const uint16_t *base)
{
	const struct call *c = &fv.calls[from];

	cr_assert_geq(fv.ncalls, from + 13, "only %u calls", fv.ncalls - from);
	cr_assert_eq(c[0].req, VHOST_SET_FEATURES);
	cr_assert_eq(c[0].u64, features, "features %#llx", (unsigned long long)c[0].u64);
	cr_assert_eq(c[1].req, VHOST_SET_MEM_TABLE);
	cr_assert_eq(c[1].nregions, gm.nr);
	for (unsigned i = 0; i < gm.nr; i++) {
		cr_assert_eq(c[1].regions[i].guest_phys_addr, gm.regions[i].gpa);
		cr_assert_eq(c[1].regions[i].memory_size, gm.regions[i].size);
		cr_assert_eq(c[1].regions[i].userspace_addr,
			     (uint64_t)(uintptr_t)gm.regions[i].hva);
		cr_assert_eq(c[1].regions[i].flags_padding, 0);
	}
	for (unsigned q = 0; q < 2; q++) {
		const struct call *r = &c[2 + 5 * q];

		cr_assert_eq(r[0].req, VHOST_SET_VRING_NUM);
		cr_assert_eq(r[0].st.index, q);
		cr_assert_eq(r[0].st.num, QSZ);
		cr_assert_eq(r[1].req, VHOST_SET_VRING_BASE);
		cr_assert_eq(r[1].st.index, q);
		cr_assert_eq(r[1].st.num, base[q]);
		cr_assert_eq(r[2].req, VHOST_SET_VRING_ADDR);
		cr_assert_eq(r[2].addr.index, q);
		cr_assert_eq(r[2].addr.flags, 0);
		cr_assert_eq(r[2].addr.desc_user_addr, hva(ring_gpa[q][0]));
		cr_assert_eq(r[2].addr.avail_user_addr, hva(ring_gpa[q][1]));
		cr_assert_eq(r[2].addr.used_user_addr, hva(ring_gpa[q][2]));
		cr_assert_eq(r[3].req, VHOST_SET_VRING_KICK);
		cr_assert_eq(r[3].file.index, q);
		cr_assert_eq(r[3].file.fd, KICK_FD(q));
		cr_assert_eq(r[4].req, VHOST_SET_VRING_CALL);
		cr_assert_eq(r[4].file.index, q);
		cr_assert_eq(r[4].file.fd, CALL_FD);
	}
	cr_assert_eq(c[12].req, VHOST_VSOCK_SET_RUNNING);
	cr_assert_eq(c[12].i, 1);
	return from + 13;
}

/* ---- identification, config, features ---- */

Test(vsock, identification_and_creation_sequence)
{
	cr_assert_eq(rd(0x8), 19);
	cr_assert_eq(vsock_cid(v), 42);
	cr_assert_eq(fv.opens, 1);
	cr_assert_eq(fv.ncalls, 3);
	cr_assert_eq(fv.calls[0].req, VHOST_SET_OWNER, "SET_OWNER must come first");
	cr_assert_eq(fv.calls[1].req, VHOST_GET_FEATURES);
	cr_assert_eq(fv.calls[2].req, VHOST_VSOCK_SET_GUEST_CID);
	cr_assert_eq(fv.calls[2].u64, 42);
	/* Only the event queue is polled by the loop. */
	cr_assert_eq(vd->ops->backend_queues, 3);
	cr_assert(vd->backend_irq);
}

Test(vsock, config_reads_the_cid_at_every_width)
{
	const uint64_t cid = 0x12345678;
	uint8_t want[8];
	uint64_t le;

	cr_assert_eq(vsock_set_cid(v, cid), 0, "%s", err_msg());
	le = htole64(cid);
	memcpy(want, &le, 8);
	for (unsigned len = 1; len <= 8; len *= 2) {
		for (unsigned off = 0; off + len <= 8; off++) {
			uint8_t buf[8];

			memset(buf, 0xee, sizeof(buf));
			virtio_mmio_ops.read(vd, 0x100 + off, buf, len);
			cr_assert_arr_eq(buf, want + off, len, "len %u off %u", len, off);
		}
	}
	/* Past the 8 bytes: zeroes (the transport refuses it). */
	{
		uint32_t x = 0xeeeeeeee;

		virtio_mmio_ops.read(vd, 0x100 + 6, &x, 4);
		cr_assert_eq(x, 0);
	}
}

Test(vsock, features_are_what_vhost_offers_and_we_support)
{
	uint64_t f = offered();

	cr_assert_eq(f, F_SEQPACKET | F_INDIRECT | F_EVENT_IDX | F_VERSION_1, "%#llx",
		     (unsigned long long)f);
}

Test(vsock_bare, features_of_a_bare_backend)
{
	uint64_t f;

	/* Without SEQPACKET, INDIRECT_DESC or EVENT_IDX: none of them offered. */
	fv.features = F_VERSION_1 | F_ANY_LAYOUT | F_LOG_ALL;
	make(42);
	f = offered();
	cr_assert_eq(f, F_VERSION_1, "%#llx", (unsigned long long)f);
}

Test(vsock_bare, features_from_a_limited_backend)
{
	uint64_t f;

	fv.features = F_EVENT_IDX | F_VERSION_1 | F_NOTIFY_ON_EMPTY;
	make(42);
	f = offered();
	cr_assert_eq(f, F_EVENT_IDX | F_VERSION_1, "%#llx", (unsigned long long)f);
	/* The driver cannot accept INDIRECT_DESC now. */
	wr(0x70, 1);
	wr(0x70, 3);
	wr(0x24, 0);
	wr(0x20, (uint32_t)(F_INDIRECT));
	wr(0x24, 1);
	wr(0x20, 1);
	wr(0x70, 11);
	cr_assert_eq(rd(0x70), 3, "FEATURES_OK with a feature not offered");
}

/* ---- activation ---- */

Test(vsock, driver_ok_programs_vhost_in_order)
{
	const uint16_t zero[2] = { 0, 0 };
	unsigned from = fv.ncalls, end;
	uint64_t want = F_SEQPACKET | F_EVENT_IDX | F_VERSION_1;

	init_to_features_ok(want);
	cr_assert_eq(fv.ncalls, from, "vhost touched before DRIVER_OK");
	wr(0x70, 15);
	cr_assert_eq(rd(0x70), 15);
	end = expect_start(from, want, zero);
	cr_assert_eq(fv.ncalls, end);
	/* The event queue is never given to the kernel. */
	for (unsigned i = from; i < end; i++)
		if (fv.calls[i].req == VHOST_SET_VRING_NUM ||
		    fv.calls[i].req == VHOST_SET_VRING_ADDR)
			cr_assert_lt(fv.calls[i].st.index + fv.calls[i].addr.index, 2);
}

Test(vsock, ring_outside_guest_memory_fails_the_device)
{
	const uint64_t bad[3] = { FAKE_MEM_LOW - 0x40, 0x2000 + 0x400, 0x3000 + 0x400 };
	unsigned from = fv.ncalls;

	init_to_features_ok(offered());
	/* Queue 1's descriptor table runs into the hole after low RAM. */
	wr(0x30, 1);
	wr(0x44, 0);
	setup_queue(1, bad);
	wr(0x70, 15);
	cr_assert(rd(0x70) & VIRTIO_STATUS_NEEDS_RESET, "status %#x", rd(0x70));
	cr_assert_null(find_call(VHOST_VSOCK_SET_RUNNING, from));
	/* The driver can reset and start over. */
	wr(0x70, 0);
	cr_assert_eq(rd(0x70), 0);
	bring_up();
	cr_assert_not_null(find_call(VHOST_VSOCK_SET_RUNNING, from));
}

Test(vsock, vhost_set_vring_refuses_rings_outside_ram)
{
	struct vhost h;
	struct virtq q;

	cr_assert_eq(vhost_open(&h, "/dev/vhost-vsock", &fake_ops, &fv), 0);
	virtq_init(&q, &gm);
	q.size = QSZ;
	q.desc_gpa = 0x1000;
	q.avail_gpa = 0x2000;
	q.used_gpa = FAKE_MEM_HIGH + FAKE_MEM_HIGH_SIZE - 8; /* runs off the end of RAM */
	fv.ncalls = 0;
	cr_assert_eq(vhost_set_vring(&h, 0, &q, 0, 1, 2), -EINVAL);
	cr_assert_eq(fv.ncalls, 0, "ioctls issued for a bad ring");
	cr_assert(strstr(err_msg(), "not wholly in guest RAM"), "%s", err_msg());
	q.used_gpa = 0x3002; /* misaligned */
	cr_assert_eq(vhost_set_vring(&h, 0, &q, 0, 1, 2), -EINVAL);
	q.used_gpa = 0x3000;
	cr_assert_eq(vhost_set_vring(&h, 0, &q, 5, 1, 2), 0);
	cr_assert_eq(fv.ncalls, 5);
	vhost_close(&h);
	cr_assert_eq(h.fd, -1);
}

Test(vsock, backend_failure_at_activation_needs_reset)
{
	fv.fail_req = VHOST_VSOCK_SET_RUNNING;
	init_to_features_ok(offered());
	wr(0x70, 15);
	cr_assert(rd(0x70) & VIRTIO_STATUS_NEEDS_RESET, "status %#x", rd(0x70));
	/* Not started: a reset does not stop it again. */
	fv.ncalls = 0;
	wr(0x70, 0);
	cr_assert_eq(count_calls(VHOST_VSOCK_SET_RUNNING), 0);
	fv.fail_req = 0;
	bring_up();
}

Test(vsock, missing_eventfds_fail_activation)
{
	vd->hooks.kick_fd = NULL;
	init_to_features_ok(offered());
	wr(0x70, 15);
	cr_assert(rd(0x70) & VIRTIO_STATUS_NEEDS_RESET);
	cr_assert_eq(count_calls(VHOST_VSOCK_SET_RUNNING), 0);
}

Test(vsock, reset_stops_vhost_and_reinit_starts_from_zero)
{
	const uint16_t zero[2] = { 0, 0 };
	unsigned from;

	bring_up();
	fv.base[0] = 11;
	fv.base[1] = 12;
	from = fv.ncalls;
	wr(0x70, 0);
	cr_assert_eq(fv.ncalls, from + 3);
	cr_assert_eq(fv.calls[from].req, VHOST_VSOCK_SET_RUNNING);
	cr_assert_eq(fv.calls[from].i, 0);
	cr_assert_eq(fv.calls[from + 1].req, VHOST_GET_VRING_BASE);
	cr_assert_eq(fv.calls[from + 1].st.index, 0);
	cr_assert_eq(fv.calls[from + 2].req, VHOST_GET_VRING_BASE);
	cr_assert_eq(fv.calls[from + 2].st.index, 1);
	/* A second reset has nothing to stop. */
	wr(0x70, 0);
	cr_assert_eq(fv.ncalls, from + 3);
	/* kexec / module reload: the new driver's rings start at 0. */
	from = fv.ncalls;
	bring_up();
	expect_start(from, offered(), zero);
	cr_assert_eq(fv.opens, 1, "vhost reopened");
}

Test(vsock, interrupt_status_reports_used)
{
	bring_up();
	cr_assert_eq(rd(0x60) & VIRTIO_INT_USED, VIRTIO_INT_USED);
	wr(0x64, 3);
	cr_assert_eq(rd(0x60), VIRTIO_INT_USED, "USED must read as set whatever was acked");
}

/* ---- the event queue ---- */

static void post_event_buffer(uint16_t slot, uint32_t len)
{
	uint8_t *desc = fake_mem_at(&gm, ring_gpa[2][0] + 16 * slot);
	uint16_t *avail = fake_mem_at(&gm, ring_gpa[2][1]);
	uint64_t addr = EVQ_BUF + 0x100 * slot;
	uint16_t flags = 2, next = 0; /* device-writable */

	memcpy(desc, &addr, 8);
	memcpy(desc + 8, &len, 4);
	memcpy(desc + 12, &flags, 2);
	memcpy(desc + 14, &next, 2);
	memset(fake_mem_at(&gm, addr), 0xff, 8);
	avail[2 + avail[1] % QSZ] = slot;
	__atomic_store_n(&avail[1], avail[1] + 1, __ATOMIC_RELEASE);
}

static uint16_t used_idx(void)
{
	return *(uint16_t *)fake_mem_at(&gm, ring_gpa[2][2] + 2);
}

static void used_elem(unsigned i, uint32_t *id, uint32_t *len)
{
	uint32_t *e = fake_mem_at(&gm, ring_gpa[2][2] + 4 + 8 * i);

	*id = e[0];
	*len = e[1];
}

Test(vsock, transport_reset_event_is_delivered)
{
	const uint8_t want[8] = { 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
	uint32_t id, len;
	unsigned before;

	bring_up();
	post_event_buffer(3, 4);
	before = irqs;
	cr_assert_eq(vsock_transport_reset(v), 1);
	cr_assert_arr_eq(fake_mem_at(&gm, EVQ_BUF + 0x300), want, 8);
	cr_assert_eq(used_idx(), 1);
	used_elem(0, &id, &len);
	cr_assert_eq(id, 3);
	cr_assert_eq(len, 4);
	cr_assert_gt(irqs, before, "no interrupt");
	cr_assert_eq(rd(0x60) & VIRTIO_INT_USED, VIRTIO_INT_USED);
}

Test(vsock, transport_reset_waits_for_a_buffer)
{
	uint32_t id, len;

	bring_up();
	cr_assert_eq(vsock_transport_reset(v), 0);
	cr_assert_eq(used_idx(), 0);
	/* A kick with nothing new changes nothing. */
	wr(0x50, 2);
	cr_assert_eq(used_idx(), 0);
	/* A too-small buffer is returned unused, the next one gets the event. */
	post_event_buffer(0, 2);
	post_event_buffer(1, 8);
	wr(0x50, 2);
	cr_assert_eq(used_idx(), 2);
	used_elem(0, &id, &len);
	cr_assert_eq(id, 0);
	cr_assert_eq(len, 0);
	used_elem(1, &id, &len);
	cr_assert_eq(id, 1);
	cr_assert_eq(len, 4);
	cr_assert_eq(*(uint32_t *)fake_mem_at(&gm, EVQ_BUF + 0x100), 0);
	/* Delivered once: another kick with a buffer posts nothing. */
	post_event_buffer(2, 4);
	wr(0x50, 2);
	cr_assert_eq(used_idx(), 2);
}

Test(vsock, transport_reset_before_driver_ok_and_reset_forgets)
{
	cr_assert_eq(vsock_transport_reset(v), 0);
	init_to_features_ok(offered());
	post_event_buffer(0, 4);
	wr(0x70, 15);
	cr_assert_eq(used_idx(), 1, "pending event not delivered at DRIVER_OK");
	cr_assert_eq(vsock_transport_reset(v), 0);
	wr(0x70, 0);
	memset(fake_mem_at(&gm, ring_gpa[2][1]), 0, 4);
	memset(fake_mem_at(&gm, ring_gpa[2][2]), 0, 4);
	init_to_features_ok(offered());
	post_event_buffer(0, 4);
	wr(0x70, 15);
	cr_assert_eq(used_idx(), 0, "event survived a device reset");
}

Test(vsock, malformed_event_chain_needs_reset)
{
	uint8_t *desc;

	bring_up();
	post_event_buffer(0, 4);
	desc = fake_mem_at(&gm, ring_gpa[2][0]);
	{
		uint64_t addr = FAKE_MEM_LOW + 0x10; /* in the hole */

		memcpy(desc, &addr, 8);
	}
	cr_assert_eq(vsock_transport_reset(v), 0);
	cr_assert(rd(0x70) & VIRTIO_STATUS_NEEDS_RESET);
}

/* ---- CIDs ---- */

/* The SET_GUEST_CID tries from calls[]: consecutive, wrapping from 0x3fffffff to 3. */
static unsigned check_cid_walk(void)
{
	uint64_t prev = 0;
	unsigned n = 0;

	for (unsigned i = 0; i < fv.ncalls; i++) {
		const struct call *c = &fv.calls[i];

		if (c->req != VHOST_VSOCK_SET_GUEST_CID)
			continue;
		cr_assert(c->u64 >= 3 && c->u64 <= 0x3fffffff, "CID %llu",
			  (unsigned long long)c->u64);
		if (n)
			cr_assert_eq(c->u64, prev == 0x3fffffff ? 3 : prev + 1);
		prev = c->u64;
		n++;
	}
	return n;
}

Test(vsock_bare, automatic_cid_walks_on_when_in_use)
{
	fv.busy_first = 5;
	make(0);
	cr_assert_eq(check_cid_walk(), 6);
	cr_assert_eq(fv.calls[fv.ncalls - 1].req, VHOST_VSOCK_SET_GUEST_CID);
	cr_assert_eq(vsock_cid(v), fv.calls[fv.ncalls - 1].u64, "the CID kept is the last set");
}

Test(vsock_bare, automatic_cid_gives_up_after_a_few_hundred_tries)
{
	struct vsock *x;

	fv.all_busy = true;
	cr_assert_eq(create(0, &x), -EADDRINUSE);
	cr_assert_eq(check_cid_walk(), VSOCK_CID_TRIES);
	cr_assert(strstr(err_msg(), "no free vsock CID"), "%s", err_msg());
	cr_assert_eq(fv.closes, fv.opens);
}

Test(vsock_bare, automatic_cids_are_spread)
{
	uint64_t first;
	bool differ = false;

	make(0);
	first = vsock_cid(v);
	/* Ten more draws: not all equal (a fixed start would clash between VMs). */
	for (unsigned i = 0; i < 10; i++) {
		cr_assert_eq(vsock_set_cid(v, 0), 0, "%s", err_msg());
		differ |= vsock_cid(v) != first;
	}
	cr_assert(differ);
}

Test(vsock_bare, explicit_cid_clash_is_a_clear_error)
{
	struct vsock *x;

	fv.busy[fv.nbusy++] = 42;
	cr_assert_eq(create(42, &x), -EADDRINUSE);
	cr_assert_str_eq(err_msg(), "--cid 42 is in use by another VM");
	cr_assert_eq(count_calls(VHOST_VSOCK_SET_GUEST_CID), 1, "an explicit CID is not walked");
	cr_assert_eq(fv.closes, fv.opens, "vhost fd leaked on failure");
	cr_assert_eq(create(2, &x), -EINVAL);
	cr_assert_eq(create(0xffffffffull, &x), -EINVAL);
	cr_assert_eq(create(0x100000000ull, &x), -EINVAL);
	cr_assert_eq(fv.closes, fv.opens);
	make(43);
	cr_assert_eq(vsock_cid(v), 43);
}

Test(vsock, set_cid_changes_or_keeps_the_cid)
{
	fv.busy[fv.nbusy++] = 50;
	cr_assert_eq(vsock_set_cid(v, 50), -EADDRINUSE);
	cr_assert_eq(vsock_cid(v), 42, "CID changed on failure");
	cr_assert_eq(vsock_set_cid(v, 0), 0);
	cr_assert_neq(vsock_cid(v), 42);
	cr_assert_eq(fv.calls[fv.ncalls - 1].u64, vsock_cid(v));
	cr_assert_eq(vsock_set_cid(v, 60), 0);
	cr_assert_eq(vsock_cid(v), 60);
}

Test(vsock_bare, open_errors_say_what_to_do)
{
	struct vsock *x;

	fv.open_err = -ENOENT;
	cr_assert_eq(create(0, &x), -ENOENT);
	cr_assert_str_eq(err_msg(), "cannot open /dev/vhost-vsock: No such file or directory "
				    "(load the vhost_vsock module: modprobe vhost_vsock)");
	fv.open_err = -EACCES;
	cr_assert_eq(create(0, &x), -EACCES);
	cr_assert(strstr(err_msg(), "/dev/vhost-vsock") && strstr(err_msg(), "access"), "%s",
		  err_msg());
	fv.open_err = 0;
	fv.fail_req = VHOST_SET_OWNER;
	cr_assert_eq(create(0, &x), -EIO);
	cr_assert(strstr(err_msg(), "VHOST_SET_OWNER"), "%s", err_msg());
	cr_assert_eq(fv.closes, fv.opens);
}

/* ---- pause, save, restore ---- */

Test(vsock, pause_resume_and_save_restore)
{
	struct vsock_state s;
	struct virtio_mmio_state ms;
	struct vsock *w;
	struct virtio_dev *wd;
	unsigned from;
	const uint16_t base[2] = { 7, 9 };

	bring_up();
	fv.base[0] = 7;
	fv.base[1] = 9;
	from = fv.ncalls;
	cr_assert_eq(vsock_pause(v), 0);
	cr_assert_eq(fv.calls[from].req, VHOST_VSOCK_SET_RUNNING);
	cr_assert_eq(fv.calls[from].i, 0);
	vsock_save(v, &s);
	virtio_mmio_save(vd, &ms);
	cr_assert_eq(le64toh(s.cid), 42);
	cr_assert_eq(le16toh(s.vring_base[0]), 7);
	cr_assert_eq(le16toh(s.vring_base[1]), 9);
	cr_assert_eq(s.pending_reset, 0);
	from = fv.ncalls;
	cr_assert_eq(vsock_resume(v), 0);
	expect_start(from, offered(), base);

	/* Restore into a fresh device (automatic CID): it takes the saved CID back. */
	vsock_destroy(v);
	v = NULL;
	fv.opens = fv.closes = 0;
	make(0);
	w = v;
	wd = vd;
	cr_assert_eq(virtio_mmio_restore(wd, &ms), 0, "%s", err_msg());
	from = fv.ncalls;
	cr_assert_eq(vsock_restore(w, &s), 0, "%s", err_msg());
	cr_assert_eq(vsock_cid(w), 42);
	cr_assert_eq(fv.calls[from].req, VHOST_VSOCK_SET_GUEST_CID);
	cr_assert_eq(fv.calls[from].u64, 42);
	expect_start(from + 1, offered(), base);
	cr_assert_eq(rd(0x70), 15);
}

Test(vsock, restore_with_the_cid_taken_keeps_ours_and_resets_transport)
{
	struct vsock_state s;
	struct virtio_mmio_state ms;
	uint64_t mine;

	bring_up();
	post_event_buffer(0, 4);
	cr_assert_eq(vsock_pause(v), 0);
	vsock_save(v, &s);
	virtio_mmio_save(vd, &ms);
	vsock_destroy(v);
	v = NULL;
	fv.opens = fv.closes = 0;
	/* The original VM (a fork's parent) still holds CID 42. */
	fv.busy[fv.nbusy++] = 42;
	make(0);
	mine = vsock_cid(v);
	cr_assert_eq(virtio_mmio_restore(vd, &ms), 0, "%s", err_msg());
	cr_assert_eq(vsock_restore(v, &s), 0, "%s", err_msg());
	cr_assert_eq(vsock_cid(v), mine);
	cr_assert_eq(used_idx(), 1, "transport reset not delivered");
	cr_assert_eq(*(uint32_t *)fake_mem_at(&gm, EVQ_BUF), 0);
}

Test(vsock, restore_refuses_malformed_state)
{
	struct vsock_state s;
	unsigned from = fv.ncalls;

	vsock_save(v, &s);
	s.pad[1] = 1;
	cr_assert_eq(vsock_restore(v, &s), -EINVAL);
	vsock_save(v, &s);
	s.pending_reset = 2;
	cr_assert_eq(vsock_restore(v, &s), -EINVAL);
	vsock_save(v, &s);
	s.cid = htole64(2);
	cr_assert_eq(vsock_restore(v, &s), -EINVAL);
	cr_assert_eq(fv.ncalls, from);
	/* A valid state of a device that never started: nothing to program. */
	vsock_save(v, &s);
	cr_assert_eq(vsock_restore(v, &s), 0);
	cr_assert_eq(fv.ncalls, from);
}

/* ---- transport: InterruptStatus and ring features of other devices ---- */

Test(vsock_bare, interrupt_status_of_a_plain_device_is_unchanged)
{
	struct fake_dev d;

	cr_assert_eq(fake_virtio_init(&d, &gm), 0);
	cr_assert_eq(drv_rd(&d.vd, 0x60), 0);
	d.vd.backend_irq = true;
	cr_assert_eq(drv_rd(&d.vd, 0x60), VIRTIO_INT_USED);
	d.vd.backend_irq = false;
	__atomic_store_n(&d.vd.interrupt_status, VIRTIO_INT_CONFIG, __ATOMIC_SEQ_CST);
	cr_assert_eq(drv_rd(&d.vd, 0x60), VIRTIO_INT_CONFIG);
	d.vd.backend_irq = true;
	cr_assert_eq(drv_rd(&d.vd, 0x60), VIRTIO_INT_CONFIG | VIRTIO_INT_USED);
	/* Its offer still has the transport's ring features. */
	drv_wr(&d.vd, 0x14, 0);
	cr_assert_eq(drv_rd(&d.vd, 0x10) & (uint32_t)(F_INDIRECT | F_EVENT_IDX),
		     (uint32_t)(F_INDIRECT | F_EVENT_IDX));
	virtio_dev_destroy(&d.vd);
}
