/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Boot-timer port (PORT_BOOT_TIMER, 1 port): the guest writes a byte when a
 * boot milestone is reached (the built-in init writes BOOT_TIMER_INIT) and
 * the VMM timestamps it.  Reads return 0.  Handlers run on vCPU threads;
 * the device has no mutable state.
 */
#ifndef CLONE_DEVICES_BOOT_TIMER_H
#define CLONE_DEVICES_BOOT_TIMER_H

#include <stdint.h>

#include "vmm/bus.h"

#define BOOT_TIMER_NR_PORTS 1

struct boot_timer;

/* Snapshot: nothing guest-visible is kept; fixed so the section never changes size. */
struct boot_timer_state {
	uint8_t reserved[8]; /* zero */
};
_Static_assert(sizeof(struct boot_timer_state) == 8, "boot_timer_state layout");

extern const struct bus_ops boot_timer_bus_ops;

/*
 * fn(opaque, value) runs on the writing vCPU thread, no device lock held,
 * for every 1-byte guest write.  0 or -errno.
 */
int boot_timer_create(void (*fn)(void *opaque, uint8_t value), void *opaque,
		      struct boot_timer **out);
/* NULL is fine.  No handler may be running. */
void boot_timer_destroy(struct boot_timer *bt);

void boot_timer_save(struct boot_timer *bt, struct boot_timer_state *st);
/* -EINVAL (message set) for a malformed state. */
int boot_timer_restore(struct boot_timer *bt, const struct boot_timer_state *st);

#endif
