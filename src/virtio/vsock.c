// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock on vhost-vsock (see vsock.h).  The kernel serves rx and tx:
 * at DRIVER_OK activate() hands it the negotiated features, the memory
 * table, both vrings with the queues' ioeventfds as kick fds and the
 * device's irqfd as call fd, then sets it running; a reset (status 0)
 * stops it and forgets the vring bases.  The event queue is served here,
 * on the event-loop thread (notify) or by whoever calls
 * vsock_transport_reset().  Device ops run with vd.lock held (vCPU threads
 * for activate/reset/config, the event loop for notify); the public
 * functions take it.
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <linux/vhost.h>

#include "lib/err.h"
#define LOG_TAG "vsock"
#include "lib/log.h"
#include "lib/util.h"
#include "virtio/vhost.h"
#include "virtio/vsock.h"

#define RX_Q 0
#define TX_Q 1
#define EVENT_Q 2
#define NR_BACKEND_Q 2 /* rx and tx: the vrings vhost-vsock has */

/* Feature bits (section 5.10.3). */
#define VIRTIO_VSOCK_F_SEQPACKET 1
#define VIRTIO_VSOCK_EVENT_TRANSPORT_RESET 0

#define BIT64(n) (1ull << (n))
/* What we can carry when vhost offers it; VERSION_1 is added by the transport. */
#define VSOCK_SUPPORTED                                                                            \
	(BIT64(VIRTIO_VSOCK_F_SEQPACKET) | BIT64(VIRTIO_F_INDIRECT_DESC) |                         \
	 BIT64(VIRTIO_F_EVENT_IDX) | BIT64(VIRTIO_F_VERSION_1))

_Static_assert(sizeof(struct vsock_state) == 16, "vsock_state layout");

struct vsock {
	struct virtio_dev vd;
	struct vhost vh;
	uint64_t cid;
	bool cid_explicit; /* created with --cid: restore keeps it */
	bool started;	   /* the vrings are programmed and vhost runs */
	bool paused;	   /* vsock_pause() stopped a started back end */
	bool pending_reset;
	uint16_t base[NR_BACKEND_Q]; /* next avail index of rx/tx while stopped */
	struct virtq_chain chain;    /* event-queue scratch (large: not on the stack) */
};

static struct vsock *to_vsock(struct virtio_dev *vd)
{
	return container_of(vd, struct vsock, vd);
}

/* ---- CID ---- */

static int set_guest_cid(struct vsock *v, uint64_t cid)
{
	uint64_t c = cid;
	int ret = vhost_call(&v->vh, VHOST_VSOCK_SET_GUEST_CID, "VHOST_VSOCK_SET_GUEST_CID", &c);

	return ret < 0 ? ret : 0;
}

static uint32_t random_u32(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == sizeof(r))
		return r;
	/* No entropy yet (early boot): any spread will do, clashes are retried. */
	return (uint32_t)(monotonic_ns() ^ ((uint64_t)getpid() << 16));
}

/* An automatic CID other than avoid: random start, then the following ones. */
static int choose_cid(struct vsock *v, uint64_t avoid)
{
	const uint32_t span = VSOCK_CID_AUTO_MAX - VSOCK_CID_MIN + 1;
	uint32_t start = random_u32() % span;
	int ret;

	for (unsigned i = 0; i < VSOCK_CID_TRIES; i++) {
		uint64_t cid = VSOCK_CID_MIN + (start + i) % span;

		if (cid == avoid)
			continue;
		ret = set_guest_cid(v, cid);
		if (!ret) {
			v->cid = cid;
			return 0;
		}
		if (ret != -EADDRINUSE)
			return ret;
	}
	return err_setx(-EADDRINUSE, "no free vsock CID after %u tries from %u", VSOCK_CID_TRIES,
			VSOCK_CID_MIN + start);
}

static int claim_cid(struct vsock *v, uint64_t cid)
{
	int ret;

	if (!cid)
		return choose_cid(v, v->cid);
	if (cid < VSOCK_CID_MIN || cid > VSOCK_CID_MAX)
		return err_setx(-EINVAL, "--cid %llu: a guest CID is in %u..%llu",
				(unsigned long long)cid, VSOCK_CID_MIN, VSOCK_CID_MAX);
	ret = set_guest_cid(v, cid);
	if (ret == -EADDRINUSE)
		return err_setx(ret, "--cid %llu is in use by another VM", (unsigned long long)cid);
	if (!ret)
		v->cid = cid;
	return ret;
}

/* ---- event queue ---- */

/* vd.lock held.  1: delivered; 0: deferred. */
static int deliver_reset(struct vsock *v)
{
	struct virtq *q = &v->vd.vqs[EVENT_Q];
	uint32_t id = htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	int ret;

	v->pending_reset = true;
	if (!virtio_dev_running(&v->vd) || !q->ready)
		return 0;
	/* Bounded: every round takes one chain the driver made available. */
	for (unsigned i = 0; i <= q->size; i++) {
		ret = virtq_pop(q, &v->chain); /* guest-controlled chain */
		if (ret < 0) {
			virtio_dev_needs_reset(&v->vd, "event queue: malformed descriptor chain");
			return 0;
		}
		if (!ret)
			return 0; /* wait for the next kick of the event queue */
		if (v->chain.in_len < sizeof(id)) {
			log_warn_rl("event buffer of %llu bytes is too small, returned unused",
				    (unsigned long long)v->chain.in_len);
			virtq_push(q, v->chain.head, 0);
			virtio_dev_signal_used(&v->vd, EVENT_Q);
			continue;
		}
		virtq_chain_write(&v->chain, 0, &id, sizeof(id));
		virtq_push(q, v->chain.head, sizeof(id));
		virtio_dev_signal_used(&v->vd, EVENT_Q);
		v->pending_reset = false;
		return 1;
	}
	return 0;
}

/* ---- back end ---- */

static int set_running(struct vsock *v, int on)
{
	int r = on;
	int ret = vhost_call(&v->vh, VHOST_VSOCK_SET_RUNNING, "VHOST_VSOCK_SET_RUNNING", &r);

	return ret < 0 ? ret : 0;
}

/* Program the kernel from the transport's state and let it run; vd.lock held. */
static int start(struct vsock *v)
{
	struct virtio_dev *vd = &v->vd;
	int ret, call;

	for (unsigned q = 0; q < NR_BACKEND_Q; q++)
		if (!vd->vqs[q].ready)
			return err_setx(-EINVAL, "queue %u was not set up by the driver", q);
	if (!vd->hooks.kick_fd || !vd->hooks.irq_fd)
		return err_setx(-ENODEV, "placed without kick and interrupt eventfds");
	call = vd->hooks.irq_fd(vd->hooks.opaque);
	if (call < 0)
		return err_setx(call, "no interrupt eventfd");
	/* The kernel's order: features, then the memory table, then the vrings. */
	ret = vhost_set_features(&v->vh, vd->features);
	if (!ret)
		ret = vhost_set_mem_table(&v->vh, vd->gm);
	for (unsigned q = 0; q < NR_BACKEND_Q && !ret; q++) {
		int kick = vd->hooks.kick_fd(vd->hooks.opaque, q);

		if (kick < 0)
			return err_setx(kick, "no kick eventfd for queue %u", q);
		ret = vhost_set_vring(&v->vh, q, &vd->vqs[q], v->base[q], kick, call);
	}
	/* vhost-vsock refuses to run before both vrings are set. */
	if (!ret)
		ret = set_running(v, 1);
	if (ret)
		return ret;
	v->started = true;
	return 0;
}

/* Stop the kernel and read where it stopped; vd.lock held. */
static int stop(struct vsock *v)
{
	int ret;

	if (!v->started)
		return 0;
	ret = set_running(v, 0);
	if (ret) {
		log_warn_rl("%s", err_msg());
		return ret;
	}
	v->started = false;
	for (unsigned q = 0; q < NR_BACKEND_Q; q++) {
		ret = vhost_get_vring_base(&v->vh, q, &v->base[q]);
		if (ret) {
			log_warn_rl("%s", err_msg());
			return ret;
		}
	}
	return 0;
}

/* ---- device ops ---- */

static uint64_t vsock_features(struct virtio_dev *vd)
{
	return to_vsock(vd)->vh.features & VSOCK_SUPPORTED;
}

static int vsock_activate(struct virtio_dev *vd)
{
	struct vsock *v = to_vsock(vd);
	int ret;

	if (v->paused)
		return 0; /* a restore while paused: vsock_resume() starts it */
	ret = start(v);
	if (ret)
		return ret; /* the transport marks the device as needing reset and logs */
	if (v->pending_reset)
		deliver_reset(v);
	return 0;
}

static void vsock_reset(struct virtio_dev *vd)
{
	struct vsock *v = to_vsock(vd);

	/* A failure was logged; the next activation reprograms every vring anyway. */
	(void)stop(v);
	v->started = false;
	v->paused = false;
	/* The new driver starts its rings from index 0 and probes the CID itself. */
	memset(v->base, 0, sizeof(v->base));
	v->pending_reset = false;
}

static void vsock_notify(struct virtio_dev *vd, unsigned q)
{
	struct vsock *v = to_vsock(vd);

	/* rx and tx kicks go to the kernel; only the event queue lands here. */
	if (q == EVENT_Q && v->pending_reset)
		deliver_reset(v);
}

static void vsock_config_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
	uint64_t cid = htole64(to_vsock(vd)->cid); /* struct virtio_vsock_config */

	memcpy(buf, (uint8_t *)&cid + off, len); /* off + len <= 8: the transport checks */
}

static const struct virtio_dev_ops vsock_ops = {
	.name = "virtio-vsock",
	.type = VIRTIO_ID_VSOCK,
	.nr_queues = 3,
	.queue_size = VSOCK_QUEUE_SIZE,
	.config_size = sizeof(uint64_t),
	.backend_queues = (1u << RX_Q) | (1u << TX_Q),
	.ring_features_from_device = true,
	.features = vsock_features,
	.activate = vsock_activate,
	.reset = vsock_reset,
	.notify = vsock_notify,
	.config_read = vsock_config_read,
};

/* ---- public API ---- */

uint64_t vsock_cid(const struct vsock *v)
{
	return v->cid;
}

struct virtio_dev *vsock_virtio(struct vsock *v)
{
	return &v->vd;
}

int vsock_set_cid(struct vsock *v, uint64_t cid)
{
	int ret;

	pthread_mutex_lock(&v->vd.lock);
	ret = claim_cid(v, cid);
	if (!ret)
		v->cid_explicit = cid != 0;
	pthread_mutex_unlock(&v->vd.lock);
	return ret;
}

int vsock_transport_reset(struct vsock *v)
{
	int ret;

	pthread_mutex_lock(&v->vd.lock);
	ret = deliver_reset(v);
	pthread_mutex_unlock(&v->vd.lock);
	return ret;
}

int vsock_pause(struct vsock *v)
{
	int ret = 0;

	pthread_mutex_lock(&v->vd.lock);
	if (v->started) {
		ret = stop(v);
		if (!ret)
			v->paused = true;
	}
	pthread_mutex_unlock(&v->vd.lock);
	return ret;
}

int vsock_resume(struct vsock *v)
{
	int ret = 0;

	pthread_mutex_lock(&v->vd.lock);
	if (v->paused) {
		v->paused = false;
		if (virtio_dev_running(&v->vd)) {
			ret = start(v);
			if (ret)
				virtio_dev_needs_reset(&v->vd, err_msg());
			else if (v->pending_reset)
				deliver_reset(v);
		}
	}
	pthread_mutex_unlock(&v->vd.lock);
	return ret;
}

void vsock_save(struct vsock *v, struct vsock_state *s)
{
	uint16_t base[NR_BACKEND_Q];

	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&v->vd.lock);
	memcpy(base, v->base, sizeof(base));
	/* Running (not paused): the kernel's current position, best effort. */
	for (unsigned q = 0; q < NR_BACKEND_Q && v->started; q++)
		if (vhost_get_vring_base(&v->vh, q, &base[q]))
			log_warn("save: %s", err_msg());
	s->cid = htole64(v->cid);
	for (unsigned q = 0; q < NR_BACKEND_Q; q++)
		s->vring_base[q] = htole16(base[q]);
	s->pending_reset = v->pending_reset;
	pthread_mutex_unlock(&v->vd.lock);
}

int vsock_restore(struct vsock *v, const struct vsock_state *s)
{
	uint64_t cid = le64toh(s->cid);
	int ret = 0;

	if (s->pending_reset > 1 || s->pad[0] || s->pad[1] || s->pad[2] || cid < VSOCK_CID_MIN ||
	    cid > VSOCK_CID_MAX)
		return err_setx(-EINVAL, "virtio-vsock state: malformed (cid %llu)",
				(unsigned long long)cid);
	pthread_mutex_lock(&v->vd.lock);
	if (v->started) {
		ret = stop(v);
		if (ret)
			goto out;
	}
	v->paused = false;
	for (unsigned q = 0; q < NR_BACKEND_Q; q++)
		v->base[q] = le16toh(s->vring_base[q]);
	v->pending_reset = s->pending_reset;
	if (cid != v->cid && !v->cid_explicit) {
		ret = set_guest_cid(v, cid);
		if (!ret) {
			v->cid = cid;
		} else if (ret == -EADDRINUSE) {
			log_info(
				"saved CID %llu is in use; the guest gets CID %llu and a transport "
				"reset",
				(unsigned long long)cid, (unsigned long long)v->cid);
			ret = 0;
		} else {
			goto out;
		}
	}
	/* The guest knows the saved CID: tell it if it changed. */
	if (cid != v->cid)
		v->pending_reset = true;
	if (virtio_dev_running(&v->vd)) {
		ret = start(v);
		if (ret)
			goto out;
		if (v->pending_reset)
			deliver_reset(v);
	}
out:
	pthread_mutex_unlock(&v->vd.lock);
	return ret;
}

/* ---- create / destroy ---- */

int vsock_create(const struct vsock_config *cfg, const struct guest_mem *gm, struct vsock **out)
{
	struct vsock *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return err_set(-ENOMEM, "virtio-vsock");
	v->vh.fd = -1;
	ret = vhost_open(&v->vh, cfg->dev_path ? cfg->dev_path : VSOCK_DEFAULT_DEV, cfg->ops,
			 cfg->ops_opaque);
	if (ret)
		goto fail;
	ret = claim_cid(v, cfg->cid);
	if (ret)
		goto fail;
	v->cid_explicit = cfg->cid != 0;
	ret = virtio_dev_init(&v->vd, &vsock_ops, gm);
	if (ret)
		goto fail;
	/* vhost writes the irqfd itself, never through interrupt_status (see mmio.c). */
	v->vd.backend_irq = true;
	*out = v;
	return 0;
fail:
	vsock_destroy(v);
	return ret;
}

void vsock_destroy(struct vsock *v)
{
	if (!v)
		return;
	if (v->started)
		(void)set_running(v, 0);
	vhost_close(&v->vh); /* the kernel releases the CID, rings and eventfds */
	if (v->vd.ops)
		virtio_dev_destroy(&v->vd);
	free(v);
}
