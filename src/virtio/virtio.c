// SPDX-License-Identifier: Apache-2.0
/*
 * The transport-independent half of a virtio device (see virtio.h): its
 * lock and queues, and the three ways a device talks back to the driver
 * outside a register access: a used-buffer interrupt, a configuration
 * change interrupt, and DEVICE_NEEDS_RESET.  These run on whatever thread
 * completes the work (the event loop, usually) with vd->lock held;
 * interrupt_status and config_generation are also read by vCPU threads in
 * mmio.c, so they are changed with atomic operations.
 */
#include <errno.h>
#include <string.h>

#include "lib/err.h"
#define LOG_TAG "virtio"
#include "lib/log.h"
#include "virtio/virtio.h"

int virtio_dev_init(struct virtio_dev *vd, const struct virtio_dev_ops *ops,
		    const struct guest_mem *gm)
{
	uint16_t qs = ops->queue_size;
	int ret;

	memset(vd, 0, sizeof(*vd));
	if (ops->nr_queues > VIRTIO_MAX_QUEUES)
		return err_setx(-EINVAL, "%s: %u queues, at most %u", ops->name, ops->nr_queues,
				VIRTIO_MAX_QUEUES);
	if (ops->nr_queues && (!qs || qs > VIRTQ_MAX_SIZE || (qs & (qs - 1))))
		return err_setx(-EINVAL, "%s: queue size %u is not a power of two in 1..%u",
				ops->name, qs, VIRTQ_MAX_SIZE);
	/* virtio-mmio has 256 bytes of configuration space after the registers. */
	if (ops->config_size > 0x100)
		return err_setx(-EINVAL, "%s: %zu bytes of configuration space, at most 256",
				ops->name, ops->config_size);
	ret = pthread_mutex_init(&vd->lock, NULL);
	if (ret)
		return err_set(-ret, "%s: mutex", ops->name);
	vd->ops = ops;
	vd->gm = gm;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		virtq_init(&vd->vqs[i], gm);
		if (i < ops->nr_queues)
			vd->vqs[i].size = qs;
	}
	return 0;
}

void virtio_dev_destroy(struct virtio_dev *vd)
{
	if (!vd->ops)
		return; /* never initialised, or init failed before the lock */
	pthread_mutex_destroy(&vd->lock);
	vd->ops = NULL;
}

static void raise_irq(struct virtio_dev *vd, uint32_t cause)
{
	__atomic_fetch_or(&vd->interrupt_status, cause, __ATOMIC_SEQ_CST);
	if (vd->hooks.irq)
		vd->hooks.irq(vd->hooks.opaque);
}

static uint32_t status_of(const struct virtio_dev *vd)
{
	return __atomic_load_n(&vd->status, __ATOMIC_ACQUIRE);
}

void virtio_dev_signal_used(struct virtio_dev *vd, unsigned q)
{
	/* Section 2.7.13 (3.1): no used-buffer notifications before DRIVER_OK. */
	if (q >= vd->ops->nr_queues || !vd->vqs[q].ready ||
	    !(status_of(vd) & VIRTIO_STATUS_DRIVER_OK))
		return;
	if (virtq_should_notify(&vd->vqs[q]))
		raise_irq(vd, VIRTIO_INT_USED);
}

void virtio_dev_config_changed(struct virtio_dev *vd)
{
	__atomic_fetch_add(&vd->config_generation, 1, __ATOMIC_SEQ_CST);
	/* Before DRIVER_OK the driver reads the space anyway; the new generation suffices. */
	if (status_of(vd) & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(vd, VIRTIO_INT_CONFIG);
}

void virtio_dev_needs_reset(struct virtio_dev *vd, const char *why)
{
	uint32_t old = __atomic_fetch_or(&vd->status, VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_SEQ_CST);

	log_warn_rl("%s: device needs reset: %s", vd->ops->name, why);
	if (old & VIRTIO_STATUS_NEEDS_RESET)
		return; /* the driver was told already */
	/* Section 2.1.2: DEVICE_NEEDS_RESET comes with a configuration change notification. */
	raise_irq(vd, VIRTIO_INT_CONFIG);
}

bool virtio_dev_running(const struct virtio_dev *vd)
{
	uint32_t s = status_of(vd);

	return (s & VIRTIO_STATUS_DRIVER_OK) &&
	       !(s & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}
