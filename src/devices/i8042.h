/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reset half of the i8042 keyboard controller: ports 0x60..0x64
 * (I8042_NR_PORTS from PORT_I8042).  Command 0xFE written to 0x64 pulses
 * the CPU reset line, which is how Linux's reboot=k reboots; nothing else
 * is emulated (no keyboard, no mouse).  Status and data read 0: no output
 * waiting, input buffer empty, so a driver's wait loops end at once.
 * Handlers run on vCPU threads; the device has no mutable state.
 */
#ifndef CLONE_DEVICES_I8042_H
#define CLONE_DEVICES_I8042_H

#include <stdint.h>

#include "vmm/bus.h"

#define I8042_NR_PORTS 5
#define I8042_CMD_RESET 0xfe /* pulse output port bit 0: system reset */

struct i8042;

/* Snapshot: nothing guest-visible is kept yet; fixed so the section never changes size. */
struct i8042_state {
	uint8_t reserved[8]; /* zero */
};
_Static_assert(sizeof(struct i8042_state) == 8, "i8042_state layout");

extern const struct bus_ops i8042_bus_ops;

/*
 * reset(opaque) runs on the vCPU thread that wrote the reset command, with
 * no device lock held.  0 or -errno.
 */
int i8042_create(void (*reset)(void *opaque), void *opaque, struct i8042 **out);
/* NULL is fine.  No handler may be running. */
void i8042_destroy(struct i8042 *i);

void i8042_save(struct i8042 *i, struct i8042_state *st);
/* -EINVAL (message set) for a malformed state. */
int i8042_restore(struct i8042 *i, const struct i8042_state *st);

#endif
