/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CMOS real-time clock (MC146818) at ports 0x70 (index) and 0x71 (data);
 * register 2 ports (RTC_NR_PORTS).  The time and date registers read the
 * host's UTC clock; guest writes to them are ignored (the guest's clock
 * always follows the host).  No interrupt line: status C always reads 0.
 * The other indexes are 128 bytes of CMOS RAM.  Handlers run on vCPU
 * threads under the device's own mutex.
 */
#ifndef CLONE_DEVICES_RTC_H
#define CLONE_DEVICES_RTC_H

#include <stdint.h>

#include "vmm/bus.h"

#define RTC_NR_PORTS 2
#define RTC_CMOS_SIZE 128
#define RTC_REG_CENTURY 0x32 /* what the FADT's CENTURY field should name */

struct rtc;

/* Snapshot: fixed layout.  Time registers are not stored: they follow the host clock. */
struct rtc_state {
	uint8_t index; /* selected register, 0..127 (the NMI bit is not kept) */
	uint8_t reserved[7];
	uint8_t cmos[RTC_CMOS_SIZE]; /* RAM, including status A and B at 0x0a/0x0b */
};
_Static_assert(sizeof(struct rtc_state) == 8 + RTC_CMOS_SIZE, "rtc_state layout");

extern const struct bus_ops rtc_bus_ops;

/*
 * Create the RTC with status A = 0x26, B = 24-hour BCD.  now_ns returns
 * nanoseconds since the Unix epoch (UTC); NULL means CLOCK_REALTIME.
 * 0 or -errno.
 */
int rtc_create(uint64_t (*now_ns)(void), struct rtc **out);
/* NULL is fine.  No handler may be running. */
void rtc_destroy(struct rtc *rtc);

void rtc_save(struct rtc *rtc, struct rtc_state *st);
/* -EINVAL (message set) for a malformed state; the device is unchanged then. */
int rtc_restore(struct rtc *rtc, const struct rtc_state *st);

#endif
