/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-mmio transport, version 2 (virtio 1.2 section 4.2, modern
 * only): the register file of one device as bus_ops, the device-status
 * state machine (a table of valid transitions), feature negotiation and
 * queue configuration.  I/O-free: interrupts and kicks leave through
 * vd->hooks, so it is unit-tested and fuzzed without KVM.
 *
 * Register accesses run on vCPU threads and take vd->lock.  Only 32-bit
 * aligned accesses are valid below the configuration space (section
 * 4.2.2.2); others are ignored (reads return 0) and logged rate-limited.
 */
#ifndef CLONE_VIRTIO_MMIO_H
#define CLONE_VIRTIO_MMIO_H

#include <stdint.h>

#include "virtio/virtio.h"
#include "vmm/bus.h"

#define VIRTIO_MMIO_SIZE 0x200	       /* registers + up to 256 bytes of config */
#define VIRTIO_MMIO_MAGIC 0x74726976   /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x454e4f43  /* "CONE" */
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050 /* where ioeventfds sit */
#define VIRTIO_MMIO_CONFIG 0x100

extern const struct bus_ops virtio_mmio_ops; /* dev = struct virtio_dev * */

/* Transport state for snapshots. */
struct virtio_mmio_state {
	uint64_t features;
	uint32_t status;
	uint32_t interrupt_status;
	uint32_t config_generation;
	uint32_t dev_features_sel;
	uint32_t drv_features_sel;
	uint32_t queue_sel;
	struct virtq_state vq[VIRTIO_MAX_QUEUES];
	uint64_t driver_features; /* DriverFeatures as written (negotiation may be midway) */
};

/* The transport's state (not the device's own), little-endian.  Takes vd->lock. */
void virtio_mmio_save(struct virtio_dev *vd, struct virtio_mmio_state *s);
/*
 * Load what virtio_mmio_save() wrote; -EINVAL (vd unchanged) when s cannot
 * belong to this device: an unreachable status, features not offered,
 * queues it does not have, a running queue whose rings are not in RAM.
 * Restores the transport only: the caller restores the device itself (and
 * re-arms its back end if virtio_dev_running()).  A pending interrupt is
 * raised again through hooks.irq.  Takes vd->lock.
 */
int virtio_mmio_restore(struct virtio_dev *vd, const struct virtio_mmio_state *s);

#endif
