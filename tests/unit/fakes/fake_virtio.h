/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny virtio device for transport tests: two queues, a small
 * configuration space, feature bits that include one the transport must
 * never offer (RING_PACKED), an activation that fails on request, and ops
 * that count their calls and assert they run under vd->lock.  The hooks
 * count interrupts and play the event loop on a kick (lock, notify,
 * unlock), asserting the kick arrives unlocked.  Single-threaded tests.
 */
#ifndef CLONE_TESTS_FAKE_VIRTIO_H
#define CLONE_TESTS_FAKE_VIRTIO_H

#include <stdint.h>

#include "virtio/virtio.h"

#define FAKE_VIRTIO_QSIZE 256
#define FAKE_VIRTIO_CONFIG_SIZE 24
/* What features() returns; bit 34 is VIRTIO_F_RING_PACKED. */
#define FAKE_VIRTIO_DEV_BITS ((1ull << 5) | (1ull << 9) | (1ull << 34) | (1ull << 50))

struct fake_dev {
	struct virtio_dev vd;
	uint8_t config[FAKE_VIRTIO_CONFIG_SIZE]; /* starts as 0xa0, 0xa1, ... */
	int activate_ret;			 /* activate() returns this (-errno) */
	unsigned activates, resets, notifies, irqs, kicks, last_notify;
};

extern const struct virtio_dev_ops fake_virtio_ops;

/* Zero d, virtio_dev_init() it over gm and install the counting hooks; 0 or -errno. */
int fake_virtio_init(struct fake_dev *d, const struct guest_mem *gm);

#endif
