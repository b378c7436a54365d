// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: the CMOS RTC (src/devices/rtc.c) with an injected clock:
 * BCD/binary and 12/24-hour formats, status registers, CMOS RAM and
 * save/restore.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "devices/rtc.h"

#define NS 1000000000ull
/* 2026-11-23 10:12:34 UTC, a Monday. */
#define T_MORNING 1795428754ull
/* 2026-11-23 22:12:34 UTC. */
#define T_EVENING 1795471954ull
/* 2026-11-23 00:05:00 UTC. */
#define T_MIDNIGHT 1795392300ull
/* 2026-11-23 12:00:00 UTC. */
#define T_NOON 1795435200ull
/* 2099-12-31 23:59:59 UTC, a Thursday, and one second later. */
#define T_2099_END 4102444799ull

static uint64_t fake_now;
static struct rtc *rtc;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static void setup(void)
{
	fake_now = T_MORNING * NS + 123456789;
	cr_assert_eq(rtc_create(fake_clock, &rtc), 0);
}

static void teardown(void)
{
	rtc_destroy(rtc);
	rtc = NULL;
}

TestSuite(rtc, .init = setup, .fini = teardown, .timeout = 10);

static uint8_t cmos_read_dev(struct rtc *r, uint8_t index)
{
	uint8_t v = 0xee;

	rtc_bus_ops.write(r, 0, &index, 1);
	rtc_bus_ops.read(r, 1, &v, 1);
	return v;
}

static void cmos_write_dev(struct rtc *r, uint8_t index, uint8_t v)
{
	rtc_bus_ops.write(r, 0, &index, 1);
	rtc_bus_ops.write(r, 1, &v, 1);
}

static uint8_t cmos_read(uint8_t index)
{
	return cmos_read_dev(rtc, index);
}

static void cmos_write(uint8_t index, uint8_t v)
{
	cmos_write_dev(rtc, index, v);
}

Test(rtc, bcd_time_and_date)
{
	cr_assert_eq(cmos_read(0x00), 0x34);
	cr_assert_eq(cmos_read(0x02), 0x12);
	cr_assert_eq(cmos_read(0x04), 0x10);
	cr_assert_eq(cmos_read(0x06), 0x02, "Monday (1 = Sunday)");
	cr_assert_eq(cmos_read(0x07), 0x23);
	cr_assert_eq(cmos_read(0x08), 0x11);
	cr_assert_eq(cmos_read(0x09), 0x26);
	cr_assert_eq(cmos_read(RTC_REG_CENTURY), 0x20);
}

Test(rtc, binary_mode)
{
	cmos_write(0x0b, 0x02 | 0x04);
	cr_assert_eq(cmos_read(0x0b), 0x06);
	cr_assert_eq(cmos_read(0x00), 34);
	cr_assert_eq(cmos_read(0x02), 12);
	cr_assert_eq(cmos_read(0x04), 10);
	cr_assert_eq(cmos_read(0x06), 2);
	cr_assert_eq(cmos_read(0x07), 23);
	cr_assert_eq(cmos_read(0x08), 11);
	cr_assert_eq(cmos_read(0x09), 26);
	cr_assert_eq(cmos_read(RTC_REG_CENTURY), 20);
}

Test(rtc, twelve_hour_mode)
{
	cmos_write(0x0b, 0x00); /* 12-hour, BCD */
	cr_assert_eq(cmos_read(0x04), 0x10, "10 AM");
	fake_now = T_EVENING * NS;
	cr_assert_eq(cmos_read(0x04), 0x80 | 0x10, "10 PM");
	fake_now = T_MIDNIGHT * NS;
	cr_assert_eq(cmos_read(0x04), 0x12, "12 AM");
	fake_now = T_NOON * NS;
	cr_assert_eq(cmos_read(0x04), 0x80 | 0x12, "12 PM");
	cmos_write(0x0b, 0x04); /* 12-hour, binary */
	fake_now = T_EVENING * NS;
	cr_assert_eq(cmos_read(0x04), 0x80 | 10);
}

Test(rtc, clock_advances_and_century_rolls)
{
	fake_now = T_2099_END * NS;
	cr_assert_eq(cmos_read(0x00), 0x59);
	cr_assert_eq(cmos_read(0x09), 0x99);
	cr_assert_eq(cmos_read(0x06), 0x05, "Thursday");
	cr_assert_eq(cmos_read(RTC_REG_CENTURY), 0x20);
	fake_now += NS;
	cr_assert_eq(cmos_read(0x00), 0x00);
	cr_assert_eq(cmos_read(0x04), 0x00);
	cr_assert_eq(cmos_read(0x07), 0x01);
	cr_assert_eq(cmos_read(0x08), 0x01);
	cr_assert_eq(cmos_read(0x09), 0x00);
	cr_assert_eq(cmos_read(RTC_REG_CENTURY), 0x21);
}

Test(rtc, status_registers)
{
	cr_assert_eq(cmos_read(0x0a), 0x26);
	cr_assert_eq(cmos_read(0x0b), 0x02, "24-hour, BCD");
	cr_assert_eq(cmos_read(0x0c), 0x00);
	cr_assert_eq(cmos_read(0x0d), 0x80, "valid RAM and time");

	cmos_write(0x0a, 0xa6); /* UIP is read-only */
	cr_assert_eq(cmos_read(0x0a), 0x26);
	cmos_write(0x0c, 0xff);
	cmos_write(0x0d, 0x00);
	cr_assert_eq(cmos_read(0x0c), 0x00);
	cr_assert_eq(cmos_read(0x0d), 0x80);
	cmos_write(0x0b, 0x80 | 0x10 | 0x02); /* SET clears UIE */
	cr_assert_eq(cmos_read(0x0b), 0x82);
}

Test(rtc, time_writes_are_ignored)
{
	cmos_write(0x00, 0x59);
	cmos_write(0x09, 0x99);
	cmos_write(RTC_REG_CENTURY, 0x19);
	cr_assert_eq(cmos_read(0x00), 0x34);
	cr_assert_eq(cmos_read(0x09), 0x26);
	cr_assert_eq(cmos_read(RTC_REG_CENTURY), 0x20);
}

Test(rtc, nmi_bit_and_index_port)
{
	uint8_t idx = 0x80 | 0x00, v;

	rtc_bus_ops.write(rtc, 0, &idx, 1);
	rtc_bus_ops.read(rtc, 1, &v, 1);
	cr_assert_eq(v, 0x34, "bit 7 of the index is the NMI mask");
	rtc_bus_ops.read(rtc, 0, &v, 1);
	cr_assert_eq(v, 0xff, "the index port is write-only");
}

Test(rtc, cmos_ram_round_trip)
{
	for (unsigned i = 0x0e; i < RTC_CMOS_SIZE; i++) {
		if (i == RTC_REG_CENTURY)
			continue;
		cmos_write((uint8_t)i, (uint8_t)(i ^ 0xa5));
	}
	for (unsigned i = 0x0e; i < RTC_CMOS_SIZE; i++) {
		if (i == RTC_REG_CENTURY)
			continue;
		cr_assert_eq(cmos_read((uint8_t)i), (uint8_t)(i ^ 0xa5), "index %#x", i);
	}
	/* Alarm registers are plain storage. */
	cmos_write(0x01, 0x30);
	cmos_write(0x03, 0x15);
	cmos_write(0x05, 0x07);
	cr_assert_eq(cmos_read(0x01), 0x30);
	cr_assert_eq(cmos_read(0x03), 0x15);
	cr_assert_eq(cmos_read(0x05), 0x07);
}

Test(rtc, wide_and_bad_accesses)
{
	uint8_t pair[2] = { 0x40, 0x77 }, v[4];

	/* outw 0x70: index then data, as two ISA byte cycles. */
	rtc_bus_ops.write(rtc, 0, pair, 2);
	cr_assert_eq(cmos_read(0x40), 0x77);
	rtc_bus_ops.read(rtc, 0, v, 4);
	cr_assert_eq(v[0], 0xff);
	cr_assert_eq(v[3], 0xff);
	rtc_bus_ops.write(rtc, 1, pair, 2); /* runs past the range: ignored */
	rtc_bus_ops.read(rtc, 2, v, 1);
	cr_assert_eq(v[0], 0xff);
	cr_assert_eq(cmos_read(0x40), 0x77);
}

Test(rtc, null_clock_is_host_realtime)
{
	struct rtc *r;
	uint8_t century, year;

	cr_assert_eq(rtc_create(NULL, &r), 0);
	century = cmos_read_dev(r, RTC_REG_CENTURY);
	year = cmos_read_dev(r, 0x09);
	cr_assert_eq(century, 0x20);
	cr_assert_geq(year, 0x25);
	cr_assert_leq(year & 0x0f, 9, "BCD digit");
	rtc_destroy(r);
	rtc_destroy(NULL);
}

Test(rtc, save_restore_save_is_identical)
{
	struct rtc_state a, b, c;
	struct rtc *t;

	cmos_write(0x0b, 0x06);
	cmos_write(0x0a, 0x2f);
	cmos_write(0x50, 0xde);
	cmos_write(0x01, 0x42);
	rtc_bus_ops.write(rtc, 0, &(uint8_t){ 0x50 }, 1);
	rtc_save(rtc, &a);
	cr_assert_eq(a.index, 0x50);

	cr_assert_eq(rtc_create(fake_clock, &t), 0);
	cr_assert_eq(rtc_restore(t, &a), 0);
	rtc_save(t, &b);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);

	/* The restored device keeps the selected index, the mode and the RAM. */
	{
		uint8_t v;

		rtc_bus_ops.read(t, 1, &v, 1);
		cr_assert_eq(v, 0xde);
	}
	cr_assert_eq(cmos_read_dev(t, 0x00), 34, "binary mode survived");
	cr_assert_eq(cmos_read_dev(t, 0x0a), 0x2f);
	cr_assert_eq(cmos_read_dev(t, 0x01), 0x42);

	cr_assert_eq(cmos_read(0x01), 0x42); /* same last index on both */
	rtc_save(rtc, &b);
	rtc_save(t, &c);
	cr_assert_eq(memcmp(&b, &c, sizeof(b)), 0);
	rtc_destroy(t);
}

Test(rtc, restore_rejects_malformed_state)
{
	struct rtc_state st;

	cmos_write(0x60, 0x11);
	rtc_save(rtc, &st);
	st.index = 0x80;
	cr_assert_eq(rtc_restore(rtc, &st), -EINVAL);
	st.index = 0x10;
	st.reserved[3] = 1;
	cr_assert_eq(rtc_restore(rtc, &st), -EINVAL);
	cr_assert_eq(cmos_read(0x60), 0x11);
}
