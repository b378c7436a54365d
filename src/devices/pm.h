/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ACPI fixed-hardware PM1a event and control blocks plus the FADT reset
 * register, at PORT_PM_BASE (PM_NR_PORTS ports):
 *   +0x0 PM1a_STS (16 bits, write 1 to clear)   +0x2 PM1a_EN (16 bits)
 *   +0x4 PM1a_CNT (16 bits)                      +0x8 RESET_REG (8 bits)
 * The FADT must describe exactly these (PM1_EVT_LEN 4, PM1_CNT_LEN 2, the
 * \_S5 package SLP_TYP PM_SLP_TYP_S5, RESET_VALUE ACPI_RESET_VALUE).
 * Handlers run on vCPU threads, pm_power_button() on the event loop; one
 * mutex per device.  Poweroff and reset requests go to an event callback.
 */
#ifndef CLONE_DEVICES_PM_H
#define CLONE_DEVICES_PM_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"

#define PM_NR_PORTS 16
#define PM_EVT_LEN 4	/* FADT PM1_EVT_LEN: status + enable */
#define PM_CNT_LEN 2	/* FADT PM1_CNT_LEN */
#define PM_SLP_TYP_S5 5 /* SLP_TYP value for soft-off; \_S5 must return it */

enum pm_event {
	PM_EVENT_POWEROFF, /* SLP_EN with SLP_TYP S5 */
	PM_EVENT_RESET,	   /* ACPI_RESET_VALUE written to RESET_REG */
};

struct pm;

/* Snapshot: fixed layout, little-endian. */
struct pm_state {
	uint16_t sts;
	uint16_t en;
	uint16_t cnt; /* stored bits only: BM_RLD and SLP_TYP (SCI_EN is implied) */
	uint8_t reserved[2];
};
_Static_assert(sizeof(struct pm_state) == 8, "pm_state layout");

extern const struct bus_ops pm_bus_ops;

/*
 * *sci is copied.  event(opaque, ev) runs on the writing vCPU thread with
 * no device lock held.  0 or -errno.
 */
int pm_create(const struct irq_line *sci, void (*event)(void *opaque, enum pm_event ev),
	      void *opaque, struct pm **out);
/* NULL is fine.  No handler may be running. */
void pm_destroy(struct pm *pm);

/*
 * The host pressed the power button: set PWRBTN_STS; the SCI is raised if
 * the guest enabled PWRBTN_EN (Linux's ACPI button driver does).  Any thread.
 */
void pm_power_button(struct pm *pm);

void pm_save(struct pm *pm, struct pm_state *st);
/* -EINVAL (message set) for a malformed state; otherwise loads it and drives the SCI. */
int pm_restore(struct pm *pm, const struct pm_state *st);

#endif
