/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest driver's side of virtio-mmio for device tests and fuzzers:
 * register access through virtio_mmio_ops (as a vCPU's MMIO exit does) and
 * the initialisation steps of the virtio spec (3.1.1).  No assertions:
 * callers check the status they get back, so fuzzers can use it too.
 */
#ifndef CLONE_TESTS_VIRTIO_DRIVER_H
#define CLONE_TESTS_VIRTIO_DRIVER_H

#include <stdint.h>

#include "virtio/virtio.h"

uint32_t drv_rd(struct virtio_dev *vd, unsigned off);
void drv_wr(struct virtio_dev *vd, unsigned off, uint32_t v);
/* The 64 feature bits the device offers. */
uint64_t drv_offered(struct virtio_dev *vd);
/* ACKNOWLEDGE, DRIVER, accept features f, FEATURES_OK: the status read back. */
uint32_t drv_negotiate(struct virtio_dev *vd, uint64_t f);
/* Queue q: its size and ring addresses, then QueueReady. */
void drv_queue(struct virtio_dev *vd, unsigned q, unsigned size, uint64_t desc, uint64_t avail,
	       uint64_t used);
/* DRIVER_OK added to the status: the status read back. */
uint32_t drv_driver_ok(struct virtio_dev *vd);

#endif
