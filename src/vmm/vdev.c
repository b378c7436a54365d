// SPDX-License-Identifier: Apache-2.0
/*
 * Virtio device placement (see vdev.h): MMIO window, irqfd, ioeventfds.
 * vdev_add() runs on the main thread while the VM is built; on_kick() runs
 * on the event-loop thread and calls the device's notify with vd->lock held;
 * the interrupt hook may run on any thread (it only writes an eventfd).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "irq.h"
#include "lib/err.h"
#define LOG_TAG "vdev"
#include "lib/log.h"
#include "vdev.h"
#include "virtio/mmio.h"
#include "vm.h"

#define VDEV_WINDOW 0x1000

static const unsigned vdev_gsis[VDEV_MAX] = { 16, 17, 18, 19, 20, 21, 22, 23,
					      5,  6,  7,  10, 11, 14, 15 };

/* Slot n's MMIO window. */
static uint64_t slot_base(unsigned n)
{
	return LAYOUT_VIRTIO_MMIO_BASE + (uint64_t)n * VDEV_WINDOW;
}

static void raise_irq(void *opaque)
{
	struct vdev *v = opaque;
	uint64_t one = 1;

	if (write(v->irq_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn_rl("interrupt for GSI %u: %s", v->gsi, strerror(errno));
}

/* QueueNotify reached the VMM (no ioeventfd matched): forward it to the loop. */
static void kick(void *opaque, unsigned q)
{
	struct vdev *v = opaque;
	uint64_t one = 1;

	if (q < VIRTIO_MAX_QUEUES && v->kicks[q].fd >= 0)
		(void)!write(v->kicks[q].fd, &one, sizeof(one));
}

/* A back end (vhost) takes the kick and interrupt eventfds themselves. */
static int kick_fd(void *opaque, unsigned q)
{
	struct vdev *v = opaque;

	if (q >= VIRTIO_MAX_QUEUES || v->kicks[q].fd < 0)
		return -ENOENT;
	return v->kicks[q].fd;
}

static int irq_fd(void *opaque)
{
	struct vdev *v = opaque;

	return v->irq_fd >= 0 ? v->irq_fd : -ENOENT;
}

static void on_kick(void *opaque, uint32_t events)
{
	struct vdev_kick *k = opaque;
	struct virtio_dev *vd = k->vdev->vd;
	uint64_t n;

	if (read(k->fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&vd->lock);
	if (virtio_dev_running(vd))
		vd->ops->notify(vd, k->q);
	pthread_mutex_unlock(&vd->lock);
}

int vdev_add(struct vm *vm, struct vdev_table *t, struct virtio_dev *vd)
{
	struct vdev *v;
	int ret;

	if (t->nr >= VDEV_MAX)
		return err_setx(-ENOSPC, "too many virtio devices (at most %u)", VDEV_MAX);
	v = &t->devs[t->nr];
	memset(v, 0, sizeof(*v));
	v->vd = vd;
	v->base = slot_base(t->nr);
	v->gsi = vdev_gsis[t->nr];
	v->irq_fd = -1;
	v->loop = &vm->loop;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		v->kicks[q].fd = -1;
	t->nr++; /* from here on vdev_destroy_all() cleans up */

	ret = irq_irqfd(vm->fd, v->gsi, &v->irq_fd);
	if (ret)
		return ret;
	for (unsigned q = 0; q < vd->ops->nr_queues; q++) {
		struct vdev_kick *k = &v->kicks[q];

		k->vdev = v;
		k->q = q;
		ret = irq_ioeventfd(vm->fd, v->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, q, &k->fd);
		/* A back-end queue's kicks go straight to the back end, not to the loop. */
		if (!ret && !(vd->ops->backend_queues & (1u << q)))
			ret = evl_add(&vm->loop, k->fd, EPOLLIN, on_kick, k);
		if (ret)
			return ret;
	}
	vd->hooks = (struct virtio_hooks){
		.irq = raise_irq, .kick = kick, .kick_fd = kick_fd, .irq_fd = irq_fd, .opaque = v
	};
	return bus_add(&vm->mmio, v->base, VIRTIO_MMIO_SIZE, &virtio_mmio_ops, vd, vd->ops->name);
}

unsigned vdev_acpi(const struct vdev_table *t, unsigned spare, struct acpi_mmio_dev *out,
		   unsigned max)
{
	unsigned n = 0;

	/* Spare slots get the windows and GSIs vdev_add() would give them. */
	for (; n < t->nr + spare && n < VDEV_MAX && n < max; n++)
		out[n] = (struct acpi_mmio_dev){ .base = slot_base(n),
						 .size = VDEV_WINDOW,
						 .gsi = vdev_gsis[n] };
	return n;
}

unsigned vdev_spare_slots(const struct vdev_table *t)
{
	unsigned free = VDEV_MAX - t->nr;

	return free < VDEV_HOTPLUG_SLOTS ? free : VDEV_HOTPLUG_SLOTS;
}

void vdev_destroy_all(struct vdev_table *t)
{
	for (unsigned i = 0; i < t->nr; i++) {
		struct vdev *v = &t->devs[i];

		for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
			if (v->kicks[q].fd < 0)
				continue;
			evl_del(v->loop, v->kicks[q].fd); /* -ENOENT for a back-end queue: fine */
			close(v->kicks[q].fd);
		}
		if (v->irq_fd >= 0)
			close(v->irq_fd);
	}
	t->nr = 0;
}
