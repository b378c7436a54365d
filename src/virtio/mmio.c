// SPDX-License-Identifier: Apache-2.0
/*
 * The virtio-mmio version 2 transport (virtio 1.2 section 4.2, see mmio.h):
 * the register file, feature negotiation, queue configuration, the device
 * status state machine (section 2.1, initialisation per section 3.1) and
 * the transport's snapshot state.  Register accesses arrive on vCPU
 * threads.  Every access takes vd->lock except two: QueueNotify, which
 * calls hooks.kick unlocked because the kick path (a test, or a device
 * kicked synchronously) takes the lock itself, and InterruptACK, which is
 * one atomic AND on interrupt_status.  Device ops (features, activate,
 * reset, config_*) are called with the lock held.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#define LOG_TAG "virtio-mmio"
#include "lib/log.h"
#include "lib/util.h"
#include "virtio/mmio.h"

/* Register offsets (section 4.2.2, table "MMIO Device Register Layout"). */
#define REG_MAGIC 0x000
#define REG_VERSION 0x004
#define REG_DEVICE_ID 0x008
#define REG_VENDOR_ID 0x00c
#define REG_DEVICE_FEATURES 0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES 0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL 0x030
#define REG_QUEUE_NUM_MAX 0x034
#define REG_QUEUE_NUM 0x038
#define REG_QUEUE_READY 0x044
#define REG_QUEUE_NOTIFY VIRTIO_MMIO_QUEUE_NOTIFY
#define REG_INTERRUPT_STATUS 0x060
#define REG_INTERRUPT_ACK 0x064
#define REG_STATUS 0x070
#define REG_QUEUE_DESC_LOW 0x080
#define REG_QUEUE_DESC_HIGH 0x084
#define REG_QUEUE_DRIVER_LOW 0x090
#define REG_QUEUE_DRIVER_HIGH 0x094
#define REG_QUEUE_DEVICE_LOW 0x0a0
#define REG_QUEUE_DEVICE_HIGH 0x0a4
#define REG_SHM_SEL 0x0ac
#define REG_SHM_LEN_LOW 0x0b0
#define REG_SHM_LEN_HIGH 0x0b4
#define REG_SHM_BASE_LOW 0x0b8
#define REG_SHM_BASE_HIGH 0x0bc
#define REG_QUEUE_RESET 0x0c0
#define REG_CONFIG_GENERATION 0x0fc

#define MMIO_VERSION 2 /* modern only: no legacy (version 1) register file */

#define BIT64(n) (1ull << (n))
/*
 * Feature bits 24..41 belong to the transport and queue mechanics (section
 * 6).  The device's own bits there are dropped and the transport offers
 * exactly what it implements, so nothing like RING_PACKED slips through.
 */
#define TRANSPORT_MASK (BIT64(42) - BIT64(24))
#define TRANSPORT_OFFER                                                                            \
	(BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_F_INDIRECT_DESC) | BIT64(VIRTIO_F_EVENT_IDX))

#define S_ACK VIRTIO_STATUS_ACKNOWLEDGE
#define S_DRIVER VIRTIO_STATUS_DRIVER
#define S_FEATURES_OK VIRTIO_STATUS_FEATURES_OK
#define S_DRIVER_OK VIRTIO_STATUS_DRIVER_OK
#define S_NEEDS_RESET VIRTIO_STATUS_NEEDS_RESET
#define S_FAILED VIRTIO_STATUS_FAILED
/* Bits that do not take part in the initialisation sequence. */
#define S_SIDE (S_NEEDS_RESET | S_FAILED)

#define INT_MASK (VIRTIO_INT_USED | VIRTIO_INT_CONFIG)

_Static_assert(sizeof(struct virtio_mmio_state) == 360, "virtio_mmio_state layout");

/*
 * The initialisation sequence (section 3.1.1): each write adds exactly one
 * bit, in this order.  Writing 0 (reset) and setting FAILED are allowed
 * from any state and handled apart; everything else is refused.
 */
static const struct {
	uint32_t from, to;
} valid_transitions[] = {
	{ 0, S_ACK },
	{ S_ACK, S_ACK | S_DRIVER },
	{ S_ACK | S_DRIVER, S_ACK | S_DRIVER | S_FEATURES_OK },
	{ S_ACK | S_DRIVER | S_FEATURES_OK, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK },
};

static uint64_t offered_features(struct virtio_dev *vd)
{
	uint64_t f = vd->ops->features ? vd->ops->features(vd) : 0;
	uint64_t ring = TRANSPORT_OFFER;

	/* A device whose queues a back end serves offers only the ring features it has. */
	if (vd->ops->ring_features_from_device)
		ring = (f & TRANSPORT_OFFER) | BIT64(VIRTIO_F_VERSION_1);
	return (f & ~TRANSPORT_MASK) | ring;
}

static void set_status(struct virtio_dev *vd, uint32_t v)
{
	__atomic_store_n(&vd->status, v, __ATOMIC_RELEASE);
}

static struct virtq *selected_queue(struct virtio_dev *vd)
{
	return vd->queue_sel < vd->ops->nr_queues ? &vd->vqs[vd->queue_sel] : NULL;
}

static bool queue_size_ok(const struct virtio_dev *vd, uint32_t n)
{
	return n && n <= vd->ops->queue_size && !(n & (n - 1));
}

/* ---- status state machine ---- */

static void reset(struct virtio_dev *vd)
{
	if (vd->ops->reset)
		vd->ops->reset(vd);
	vd->features = 0;
	vd->driver_features = 0;
	vd->dev_features_sel = 0;
	vd->drv_features_sel = 0;
	vd->queue_sel = 0;
	for (unsigned i = 0; i < vd->ops->nr_queues; i++) {
		virtq_init(&vd->vqs[i], vd->gm);
		vd->vqs[i].size = vd->ops->queue_size;
	}
	__atomic_store_n(&vd->interrupt_status, 0, __ATOMIC_SEQ_CST);
	set_status(vd, 0);
}

/* Section 2.2.2: refuse FEATURES_OK for a subset we cannot honour. */
static bool features_acceptable(struct virtio_dev *vd)
{
	uint64_t f = vd->driver_features; /* guest-controlled */
	uint64_t extra = f & ~offered_features(vd);

	if (!(f & BIT64(VIRTIO_F_VERSION_1))) {
		log_warn_rl("%s: driver features %#llx lack VERSION_1 (legacy is not offered)",
			    vd->ops->name, (unsigned long long)f);
		return false;
	}
	if (extra) {
		log_warn_rl("%s: driver accepted features %#llx that were not offered",
			    vd->ops->name, (unsigned long long)extra);
		return false;
	}
	return true;
}

/* DRIVER_OK was just set: check the queues, then let the device go. */
static void activate(struct virtio_dev *vd)
{
	char why[160];
	int ret;

	for (unsigned i = 0; i < vd->ops->nr_queues; i++) {
		struct virtq *q = &vd->vqs[i];

		if (!q->ready)
			continue;
		if (!queue_size_ok(vd, q->size)) {
			snprintf(why, sizeof(why),
				 "queue %u: size %u is not a power of two in 1..%u", i, q->size,
				 vd->ops->queue_size);
			virtio_dev_needs_reset(vd, why);
			return;
		}
		if (virtq_validate(q)) {
			snprintf(why, sizeof(why), "queue %u: %s", i, err_msg());
			virtio_dev_needs_reset(vd, why);
			return;
		}
	}
	/* Start with driver notifications enabled (also initialises avail_event). */
	for (unsigned i = 0; i < vd->ops->nr_queues; i++)
		if (vd->vqs[i].ready)
			virtq_set_notify(&vd->vqs[i], true);
	ret = vd->ops->activate ? vd->ops->activate(vd) : 0;
	if (ret) {
		snprintf(why, sizeof(why), "activation failed: %s", err_msg());
		virtio_dev_needs_reset(vd, why);
	}
}

static void write_status(struct virtio_dev *vd, uint32_t v) /* v guest-controlled */
{
	uint32_t cur = vd->status, base = cur & ~S_SIDE, req = v & ~S_NEEDS_RESET;

	if (!v) {
		reset(vd);
		return;
	}
	if (v & S_FAILED) {
		/* Section 2.1: the driver gave up; allowed at any time. */
		log_warn_rl("%s: driver set FAILED (status %#x)", vd->ops->name, cur);
		set_status(vd, cur | S_FAILED);
		return;
	}
	if (req == base)
		return; /* rewriting the current value (the driver may echo NEEDS_RESET) */
	if (!(cur & S_FAILED)) {
		for (size_t i = 0; i < ARRAY_SIZE(valid_transitions); i++) {
			if (valid_transitions[i].from != base || valid_transitions[i].to != req)
				continue;
			if ((req & ~base) == S_FEATURES_OK) {
				if (!features_acceptable(vd))
					return; /* FEATURES_OK stays clear: the driver reads it back */
				vd->features = vd->driver_features;
			}
			set_status(vd, cur | req);
			if ((req & ~base) != S_DRIVER_OK)
				return;
			/* The queues' ring features are final, whether or not the device starts. */
			for (unsigned q = 0; q < vd->ops->nr_queues; q++) {
				vd->vqs[q].event_idx = virtio_has_feature(vd, VIRTIO_F_EVENT_IDX);
				vd->vqs[q].indirect =
					virtio_has_feature(vd, VIRTIO_F_INDIRECT_DESC);
			}
			/* A device already marked broken is not started. */
			if (!(cur & S_NEEDS_RESET))
				activate(vd);
			return;
		}
	}
	log_warn_rl("%s: status %#x -> %#x is not a valid transition, ignored", vd->ops->name, cur,
		    v);
}

/* ---- registers ---- */

static uint32_t reg_read(struct virtio_dev *vd, unsigned off)
{
	const struct virtq *q = selected_queue(vd);

	switch (off) {
	case REG_MAGIC:
		return VIRTIO_MMIO_MAGIC;
	case REG_VERSION:
		return MMIO_VERSION;
	case REG_DEVICE_ID:
		return vd->ops->type;
	case REG_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case REG_DEVICE_FEATURES:
		if (vd->dev_features_sel > 1)
			return 0;
		return (uint32_t)(offered_features(vd) >> (32 * vd->dev_features_sel));
	case REG_QUEUE_NUM_MAX:
		/* Section 4.2.2: 0 means the queue is not available. */
		return q ? vd->ops->queue_size : 0;
	case REG_QUEUE_READY:
		return q ? q->ready : 0;
	case REG_INTERRUPT_STATUS:
		/*
		 * A back end (vhost) signals used buffers by writing the irqfd
		 * directly, so VIRTIO_INT_USED is never set here; but Linux's
		 * vm_interrupt() walks the vrings only when that bit reads as set.
		 * Report it always: a spurious "used" is harmless (vring_interrupt()
		 * checks each ring and finds nothing new).
		 */
		if (vd->backend_irq)
			return __atomic_load_n(&vd->interrupt_status, __ATOMIC_SEQ_CST) |
			       VIRTIO_INT_USED;
		return __atomic_load_n(&vd->interrupt_status, __ATOMIC_SEQ_CST);
	case REG_STATUS:
		return vd->status;
	case REG_SHM_LEN_LOW:
	case REG_SHM_LEN_HIGH:
	case REG_SHM_BASE_LOW:
	case REG_SHM_BASE_HIGH:
		/* Section 4.2.2: a region that does not exist has length -1. */
		return 0xffffffff;
	case REG_QUEUE_RESET:
		return 0; /* VIRTIO_F_RING_RESET is not offered */
	case REG_CONFIG_GENERATION:
		return __atomic_load_n(&vd->config_generation, __ATOMIC_SEQ_CST);
	default:
		log_warn_rl("%s: read of write-only or unknown register %#x", vd->ops->name, off);
		return 0;
	}
}

/* Section 4.2.3.2: a queue is configured only while it is not ready (and before DRIVER_OK). */
static struct virtq *writable_queue(struct virtio_dev *vd, unsigned off)
{
	struct virtq *q = selected_queue(vd);

	if (!q || q->ready || (vd->status & S_DRIVER_OK)) {
		log_warn_rl("%s: queue register %#x write for queue %u ignored (%s)", vd->ops->name,
			    off, vd->queue_sel,
			    !q	       ? "no such queue"
			    : q->ready ? "queue ready"
				       : "DRIVER_OK");
		return NULL;
	}
	return q;
}

static void set_half(uint64_t *r, bool high, uint32_t v)
{
	if (high)
		*r = (*r & 0xffffffffull) | (uint64_t)v << 32;
	else
		*r = (*r & ~0xffffffffull) | v;
}

static void reg_write(struct virtio_dev *vd, unsigned off, uint32_t v) /* v guest-controlled */
{
	struct virtq *q;

	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		vd->dev_features_sel = v;
		break;
	case REG_DRIVER_FEATURES:
		if (vd->status & S_FEATURES_OK) {
			log_warn_rl("%s: DriverFeatures written after FEATURES_OK, ignored",
				    vd->ops->name);
		} else if (vd->drv_features_sel > 1) {
			if (v)
				log_warn_rl("%s: driver features %#x in word %u, ignored",
					    vd->ops->name, v, vd->drv_features_sel);
		} else {
			set_half(&vd->driver_features, vd->drv_features_sel, v);
		}
		break;
	case REG_DRIVER_FEATURES_SEL:
		vd->drv_features_sel = v;
		break;
	case REG_QUEUE_SEL:
		vd->queue_sel = v;
		break;
	case REG_QUEUE_NUM:
		q = writable_queue(vd, off);
		if (!q)
			break;
		if (!queue_size_ok(vd, v)) {
			/* Remembered as 0 (unusable), so DRIVER_OK with this queue ready fails. */
			log_warn_rl("%s: queue %u size %u is not a power of two in 1..%u",
				    vd->ops->name, vd->queue_sel, v, vd->ops->queue_size);
			v = 0;
		}
		q->size = (uint16_t)v;
		break;
	case REG_QUEUE_READY:
		q = selected_queue(vd);
		if (!q || (vd->status & S_DRIVER_OK) || v > 1) {
			log_warn_rl("%s: QueueReady %u for queue %u ignored", vd->ops->name, v,
				    vd->queue_sel);
			break;
		}
		q->ready = v;
		break;
	case REG_STATUS:
		write_status(vd, v);
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		q = writable_queue(vd, off);
		if (q)
			set_half(&q->desc_gpa, off == REG_QUEUE_DESC_HIGH, v);
		break;
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
		q = writable_queue(vd, off);
		if (q)
			set_half(&q->avail_gpa, off == REG_QUEUE_DRIVER_HIGH, v);
		break;
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		q = writable_queue(vd, off);
		if (q)
			set_half(&q->used_gpa, off == REG_QUEUE_DEVICE_HIGH, v);
		break;
	case REG_SHM_SEL:
		break; /* every region reads as absent, whatever is selected */
	default:
		log_warn_rl("%s: write %#x to read-only or unknown register %#x ignored",
			    vd->ops->name, v, off);
		break;
	}
}

/* Bytes [off, off+len) of the device configuration space, checked against config_size. */
static bool config_range_ok(const struct virtio_dev *vd, uint64_t off, unsigned len)
{
	if (len != 1 && len != 2 && len != 4 && len != 8)
		return false;
	return off <= vd->ops->config_size && len <= vd->ops->config_size - off;
}

static void mmio_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct virtio_dev *vd = dev;
	uint32_t v;

	memset(data, 0, len);
	/* guest-controlled: off, len */
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t coff = off - VIRTIO_MMIO_CONFIG;

		if (!config_range_ok(vd, coff, len)) {
			log_warn_rl("%s: %u-byte config read at %#llx outside %zu bytes",
				    vd->ops->name, len, (unsigned long long)coff,
				    vd->ops->config_size);
			return;
		}
		if (!vd->ops->config_read)
			return;
		pthread_mutex_lock(&vd->lock);
		vd->ops->config_read(vd, (unsigned)coff, data, len);
		pthread_mutex_unlock(&vd->lock);
		return;
	}
	/* Section 4.2.2.2: the register file is accessed with aligned 32-bit accesses only. */
	if (len != 4 || off & 3) {
		log_warn_rl("%s: %u-byte read at %#llx ignored", vd->ops->name, len,
			    (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&vd->lock);
	v = htole32(reg_read(vd, (unsigned)off));
	pthread_mutex_unlock(&vd->lock);
	memcpy(data, &v, 4);
}

static void mmio_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct virtio_dev *vd = dev;
	uint32_t v;

	/* guest-controlled: off, len, data */
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t coff = off - VIRTIO_MMIO_CONFIG;

		if (!config_range_ok(vd, coff, len) || !vd->ops->config_write) {
			log_warn_rl("%s: %u-byte config write at %#llx ignored", vd->ops->name, len,
				    (unsigned long long)coff);
			return;
		}
		pthread_mutex_lock(&vd->lock);
		vd->ops->config_write(vd, (unsigned)coff, data, len);
		pthread_mutex_unlock(&vd->lock);
		return;
	}
	if (len != 4 || off & 3) {
		log_warn_rl("%s: %u-byte write at %#llx ignored", vd->ops->name, len,
			    (unsigned long long)off);
		return;
	}
	memcpy(&v, data, 4);
	v = le32toh(v);
	switch (off) {
	case REG_QUEUE_NOTIFY:
		/* Unlocked: the kick path takes vd->lock itself.  hooks are fixed after setup. */
		if (v >= vd->ops->nr_queues || !virtio_dev_running(vd)) {
			log_warn_rl("%s: notify for queue %u ignored (status %#x)", vd->ops->name,
				    v, __atomic_load_n(&vd->status, __ATOMIC_RELAXED));
			return;
		}
		if (vd->hooks.kick)
			vd->hooks.kick(vd->hooks.opaque, v);
		return;
	case REG_INTERRUPT_ACK:
		__atomic_fetch_and(&vd->interrupt_status, ~(v & INT_MASK), __ATOMIC_SEQ_CST);
		return;
	default:
		pthread_mutex_lock(&vd->lock);
		reg_write(vd, (unsigned)off, v);
		pthread_mutex_unlock(&vd->lock);
		return;
	}
}

const struct bus_ops virtio_mmio_ops = {
	.read = mmio_read,
	.write = mmio_write,
};

/* ---- save / restore ---- */

void virtio_mmio_save(struct virtio_dev *vd, struct virtio_mmio_state *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&vd->lock);
	s->features = htole64(vd->features);
	s->driver_features = htole64(vd->driver_features);
	s->status = htole32(vd->status);
	s->interrupt_status = htole32(__atomic_load_n(&vd->interrupt_status, __ATOMIC_SEQ_CST));
	s->config_generation = htole32(vd->config_generation);
	s->dev_features_sel = htole32(vd->dev_features_sel);
	s->drv_features_sel = htole32(vd->drv_features_sel);
	s->queue_sel = htole32(vd->queue_sel);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_save(&vd->vqs[i], &s->vq[i]);
	pthread_mutex_unlock(&vd->lock);
}

static bool status_reachable(uint32_t status)
{
	uint32_t base = status & ~S_SIDE;

	if (!base)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(valid_transitions); i++)
		if (valid_transitions[i].to == base)
			return true;
	return false;
}

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/* Check one queue of a state being restored; q is the candidate, already loaded. */
static int check_queue(struct virtio_dev *vd, unsigned i, const struct virtq *q, uint32_t status,
		       uint64_t features)
{
	bool driver_ok = status & S_DRIVER_OK;
	bool ev = driver_ok && (features & BIT64(VIRTIO_F_EVENT_IDX));
	bool ind = driver_ok && (features & BIT64(VIRTIO_F_INDIRECT_DESC));

	if (q->size && !queue_size_ok(vd, q->size))
		return err_setx(-EINVAL, "%s state: queue %u size %u over %u", vd->ops->name, i,
				q->size, vd->ops->queue_size);
	if (q->event_idx != ev || q->indirect != ind)
		return err_setx(-EINVAL, "%s state: queue %u ring features disagree with %#llx",
				vd->ops->name, i, (unsigned long long)features);
	/* The device side only moves after DRIVER_OK. */
	if (!driver_ok && (q->last_avail || q->used_idx || q->signalled_valid))
		return err_setx(-EINVAL, "%s state: queue %u in use before DRIVER_OK",
				vd->ops->name, i);
	/* A device that activated checked its ready queues, and they are locked since. */
	if (driver_ok && !(status & S_NEEDS_RESET) && q->ready &&
	    (!queue_size_ok(vd, q->size) || virtq_validate(q)))
		return err_setx(-EINVAL, "%s state: running queue %u is not valid", vd->ops->name,
				i);
	return 0;
}

/* Everything but the queues; vd->lock held (offered_features() calls the device). */
static int check_transport(struct virtio_dev *vd, uint32_t status, uint64_t features, uint64_t drv,
			   uint32_t ints)
{
	if (!status_reachable(status) ||
	    (status & ~(S_SIDE | S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK)))
		return err_setx(-EINVAL, "%s state: status %#x", vd->ops->name, status);
	if (status & S_FEATURES_OK) {
		if (!(features & BIT64(VIRTIO_F_VERSION_1)) || (features & ~offered_features(vd)) ||
		    drv != features)
			return err_setx(-EINVAL, "%s state: features %#llx were not negotiable",
					vd->ops->name, (unsigned long long)features);
	} else if (features) {
		return err_setx(-EINVAL, "%s state: features without FEATURES_OK", vd->ops->name);
	}
	if (ints & ~INT_MASK)
		return err_setx(-EINVAL, "%s state: interrupt status %#x", vd->ops->name, ints);
	return 0;
}

int virtio_mmio_restore(struct virtio_dev *vd, const struct virtio_mmio_state *s)
{
	struct virtq vqs[VIRTIO_MAX_QUEUES];
	uint64_t features = le64toh(s->features), drv = le64toh(s->driver_features);
	uint32_t status = le32toh(s->status), ints = le32toh(s->interrupt_status);
	int ret;

	pthread_mutex_lock(&vd->lock);
	ret = check_transport(vd, status, features, drv, ints);
	if (ret)
		goto out;
	memcpy(vqs, vd->vqs, sizeof(vqs));
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (i >= vd->ops->nr_queues) {
			/* Queues the device does not have never leave their zeroed state. */
			if (!all_zero(&s->vq[i], sizeof(s->vq[i]))) {
				ret = err_setx(-EINVAL, "%s state: queue %u does not exist",
					       vd->ops->name, i);
				goto out;
			}
			continue;
		}
		ret = virtq_restore(&vqs[i], &s->vq[i]);
		if (!ret)
			ret = check_queue(vd, i, &vqs[i], status, features);
		if (ret)
			goto out;
	}
	vd->features = features;
	vd->driver_features = drv;
	vd->config_generation = le32toh(s->config_generation);
	vd->dev_features_sel = le32toh(s->dev_features_sel);
	vd->drv_features_sel = le32toh(s->drv_features_sel);
	vd->queue_sel = le32toh(s->queue_sel);
	memcpy(vd->vqs, vqs, sizeof(vqs));
	__atomic_store_n(&vd->interrupt_status, ints, __ATOMIC_SEQ_CST);
	set_status(vd, status);
	/* The interrupt controller may be fresh: raise what is still pending. */
	if (ints && vd->hooks.irq)
		vd->hooks.irq(vd->hooks.opaque);
out:
	pthread_mutex_unlock(&vd->lock);
	return ret;
}
