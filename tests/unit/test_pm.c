// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: the ACPI PM1a block and reset register (src/devices/pm.c):
 * sleep requests, reset, power button and SCI, access widths, save/restore.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "devices/pm.h"

#define STS 0x0
#define EN 0x2
#define CNT 0x4
#define RESET 0x8

#define PWRBTN 0x0100
#define SLP_EN 0x2000
#define SLP_TYP(t) ((uint16_t)((t) << 10))

struct fake_irq {
	int level;
	int calls;
	unsigned gsi;
};

static struct fake_irq sci;
static struct pm *pm;
static int events[2];
static int nr_events;

static void fake_irq_set(void *opaque, unsigned gsi, int level)
{
	struct fake_irq *f = opaque;

	f->level = level;
	f->gsi = gsi;
	f->calls++;
}

static void on_event(void *opaque, enum pm_event ev)
{
	cr_assert_eq(opaque, events);
	cr_assert(ev == PM_EVENT_POWEROFF || ev == PM_EVENT_RESET);
	events[ev]++;
	nr_events++;
	/* Taking the device lock here proves the callback runs unlocked. */
	pm_power_button(pm);
}

static void setup(void)
{
	const struct irq_line line = { fake_irq_set, &sci, IRQ_SCI };

	memset(&sci, 0, sizeof(sci));
	memset(events, 0, sizeof(events));
	nr_events = 0;
	cr_assert_eq(pm_create(&line, on_event, events, &pm), 0);
}

static void teardown(void)
{
	pm_destroy(pm);
	pm = NULL;
}

TestSuite(pm, .init = setup, .fini = teardown, .timeout = 10);

static uint32_t rd_dev(struct pm *p, unsigned off, unsigned len)
{
	uint8_t b[4] = { 0xee, 0xee, 0xee, 0xee };

	pm_bus_ops.read(p, off, b, len);
	return (uint32_t)b[0] | (len > 1 ? (uint32_t)b[1] << 8 : 0) |
	       (len > 2 ? (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24 : 0);
}

static void wr_dev(struct pm *p, unsigned off, unsigned len, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	pm_bus_ops.write(p, off, b, len);
}

static uint32_t rd(unsigned off, unsigned len)
{
	return rd_dev(pm, off, len);
}

static void wr(unsigned off, unsigned len, uint32_t v)
{
	wr_dev(pm, off, len, v);
}

Test(pm, power_on_values)
{
	cr_assert_eq(rd(STS, 2), 0);
	cr_assert_eq(rd(EN, 2), 0);
	cr_assert_eq(rd(CNT, 2), 0x0001, "SCI_EN always set");
	cr_assert_eq(rd(RESET, 1), 0);
	cr_assert_eq(sci.level, 0);
}

Test(pm, poweroff_needs_slp_en_and_s5)
{
	/* ACPICA: write SLP_TYP, then SLP_TYP | SLP_EN. */
	wr(CNT, 2, SLP_TYP(PM_SLP_TYP_S5));
	cr_assert_eq(nr_events, 0, "SLP_TYP alone does nothing");
	cr_assert_eq(rd(CNT, 2), SLP_TYP(PM_SLP_TYP_S5) | 1);
	wr(CNT, 2, SLP_TYP(PM_SLP_TYP_S5) | SLP_EN);
	cr_assert_eq(events[PM_EVENT_POWEROFF], 1);
	cr_assert_eq(nr_events, 1);
	cr_assert_eq(rd(CNT, 2) & SLP_EN, 0, "SLP_EN is write-only");
}

Test(pm, other_sleep_types_are_ignored)
{
	for (unsigned t = 0; t < 8; t++) {
		if (t == PM_SLP_TYP_S5)
			continue;
		wr(CNT, 2, SLP_TYP(t) | SLP_EN);
	}
	cr_assert_eq(nr_events, 0);
}

Test(pm, poweroff_by_byte_writes)
{
	uint16_t v = SLP_TYP(PM_SLP_TYP_S5) | SLP_EN;

	wr(CNT, 1, v & 0xff);
	cr_assert_eq(nr_events, 0);
	wr(CNT + 1, 1, v >> 8);
	cr_assert_eq(events[PM_EVENT_POWEROFF], 1);
}

Test(pm, poweroff_by_dword_write)
{
	/* 4 bytes at PM1_CNT also cover the unused 0x606/0x607: the CNT part still counts. */
	wr(CNT, 4, SLP_TYP(PM_SLP_TYP_S5) | SLP_EN);
	cr_assert_eq(events[PM_EVENT_POWEROFF], 1);
}

Test(pm, reset_register)
{
	wr(RESET, 1, 0x02);
	cr_assert_eq(nr_events, 0);
	wr(RESET, 1, ACPI_RESET_VALUE);
	cr_assert_eq(events[PM_EVENT_RESET], 1);
	cr_assert_eq(events[PM_EVENT_POWEROFF], 0);
	cr_assert_eq(rd(RESET, 1), 0);
}

Test(pm, power_button_raises_sci_and_clearing_lowers_it)
{
	wr(EN, 2, PWRBTN);
	cr_assert_eq(sci.level, 0);
	pm_power_button(pm);
	cr_assert_eq(sci.level, 1);
	cr_assert_eq(sci.gsi, IRQ_SCI);
	cr_assert_eq(rd(STS, 2), PWRBTN);
	wr(STS, 2, 0); /* zeros do not clear */
	wr(STS, 2, 0xfeff);
	cr_assert_eq(sci.level, 1);
	cr_assert_eq(rd(STS, 2), PWRBTN);
	wr(STS, 2, PWRBTN); /* write 1 to clear */
	cr_assert_eq(sci.level, 0);
	cr_assert_eq(rd(STS, 2), 0);
	cr_assert_eq(rd(EN, 2), PWRBTN, "enable untouched");
}

Test(pm, power_button_without_enable_latches_status_only)
{
	pm_power_button(pm);
	cr_assert_eq(sci.level, 0);
	cr_assert_eq(rd(STS, 2), PWRBTN);
	wr(EN, 2, PWRBTN); /* enabling with status pending raises the SCI */
	cr_assert_eq(sci.level, 1);
	wr(EN, 2, 0); /* and disabling lowers it */
	cr_assert_eq(sci.level, 0);
	cr_assert_eq(rd(STS, 2), PWRBTN);
}

Test(pm, access_widths)
{
	wr(EN, 2, PWRBTN);
	pm_power_button(pm);
	/* Linux may read PM1a_EVT as one dword: status low, enable high. */
	cr_assert_eq(rd(STS, 4), (uint32_t)PWRBTN << 16 | PWRBTN);
	cr_assert_eq(rd(STS + 1, 1), 0x01);
	cr_assert_eq(rd(EN + 1, 1), 0x01);
	cr_assert_eq(rd(STS + 1, 2), 0x0001, "unaligned word: STS high, EN low");
	cr_assert_eq(rd(CNT, 4), 0x00000001);

	/* One dword write: clear status and reprogram enable together. */
	wr(STS, 4, (uint32_t)0x0020 << 16 | PWRBTN);
	cr_assert_eq(rd(STS, 2), 0);
	cr_assert_eq(rd(EN, 2), 0x0020);
	cr_assert_eq(sci.level, 0);

	/* Byte writes: the enable high byte alone. */
	wr(EN + 1, 1, 0x01);
	cr_assert_eq(rd(EN, 2), 0x0120);
	wr(EN, 1, 0x00);
	cr_assert_eq(rd(EN, 2), 0x0100);
	cr_assert_eq(rd(12, 4), 0);
}

Test(pm, bad_accesses_are_ignored)
{
	wr(EN, 2, PWRBTN);
	wr(EN, 3, 0);
	cr_assert_eq(rd(EN, 2), PWRBTN, "3-byte write ignored");
	cr_assert_eq(rd(EN, 3) & 0xffffff, 0xffffff);
	wr(14, 4, 0xffffffff); /* runs past the block */
	cr_assert_eq(rd(14, 4), 0xffffffff);
	wr(16, 1, 0xff);
	wr(6, 2, 0xffff); /* unused hole */
	wr(12, 4, 0xffffffff);
	cr_assert_eq(rd(6, 2), 0);
	cr_assert_eq(rd(EN, 2), PWRBTN);
	cr_assert_eq(nr_events, 0);
}

Test(pm, save_restore_save_is_identical)
{
	struct pm_state a, b, c;
	struct fake_irq sci2 = { 0 };
	const struct irq_line line2 = { fake_irq_set, &sci2, IRQ_SCI };
	struct pm *t;

	wr(EN, 2, PWRBTN | 0x0001);
	pm_power_button(pm);
	wr(CNT, 2, SLP_TYP(3) | 0x0002);
	pm_save(pm, &a);

	cr_assert_eq(pm_create(&line2, on_event, events, &t), 0);
	cr_assert_eq(pm_restore(t, &a), 0);
	pm_save(t, &b);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_assert_eq(sci2.level, 1, "restore drives the SCI");

	cr_assert_eq(rd_dev(t, STS, 4), rd(STS, 4));
	cr_assert_eq(rd_dev(t, CNT, 2), SLP_TYP(3) | 0x0003);
	wr_dev(t, STS, 2, PWRBTN);
	cr_assert_eq(sci2.level, 0);
	wr(STS, 2, PWRBTN);
	pm_save(pm, &b);
	pm_save(t, &c);
	cr_assert_eq(memcmp(&b, &c, sizeof(b)), 0);
	pm_destroy(t);
	pm_destroy(NULL);
}

Test(pm, restore_rejects_malformed_state)
{
	struct pm_state st;

	wr(EN, 2, PWRBTN);
	pm_save(pm, &st);
	st.cnt = SLP_EN;
	cr_assert_eq(pm_restore(pm, &st), -EINVAL);
	st.cnt = 0x0001; /* SCI_EN is implied, never stored */
	cr_assert_eq(pm_restore(pm, &st), -EINVAL);
	st.cnt = 0;
	st.reserved[0] = 1;
	cr_assert_eq(pm_restore(pm, &st), -EINVAL);
	cr_assert_eq(rd(EN, 2), PWRBTN);
}
