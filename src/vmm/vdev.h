/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Placing virtio devices on the machine: each gets a virtio-mmio window
 * (LAYOUT_VIRTIO_MMIO_BASE + 4 KiB * slot) on the MMIO bus, an IOAPIC GSI
 * driven through an irqfd, and one ioeventfd per queue on QueueNotify whose
 * kicks land on the event loop.  The guest learns about them from ACPI
 * (DSDT devices LNRO0005, vdev_acpi()).  Main thread while the VM is
 * built; kicks run on the event-loop thread.
 */
#ifndef CLONE_VMM_VDEV_H
#define CLONE_VMM_VDEV_H

#include "arch/x86/acpi.h"
#include "virtio/virtio.h"

#define VDEV_MAX 15	     /* GSIs free for virtio: 16-23, then ISA 5 6 7 10 11 14 15 */
#define VDEV_HOTPLUG_SLOTS 8 /* spare slots a booted VM announces for devices added later */

struct vm;

struct vdev_kick {
	struct vdev *vdev;
	unsigned q;
	int fd;
};

struct vdev {
	struct virtio_dev *vd;
	uint64_t base;
	unsigned gsi;
	int irq_fd;
	struct vdev_kick kicks[VIRTIO_MAX_QUEUES];
	struct evloop *loop;
};

struct vdev_table {
	struct vdev devs[VDEV_MAX];
	unsigned nr;
};

/* Place vd on vm (slot = the next free one).  0 or -errno with the message set. */
int vdev_add(struct vm *vm, struct vdev_table *t, struct virtio_dev *vd);
/*
 * The DSDT entries for every placed device and then for spare slots more
 * (hotplug: the next vdev_add()s land there); returns how many (≤ max).
 */
unsigned vdev_acpi(const struct vdev_table *t, unsigned spare, struct acpi_mmio_dev *out,
		   unsigned max);
/* How many hotplug slots a VM booting with t's devices gets (≤ VDEV_HOTPLUG_SLOTS). */
unsigned vdev_spare_slots(const struct vdev_table *t);
/* Unregister and close the eventfds (the devices themselves are their owners'). */
void vdev_destroy_all(struct vdev_table *t);

#endif
