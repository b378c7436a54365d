// SPDX-License-Identifier: Apache-2.0
/*
 * CMOS RTC (see rtc.h), after the Motorola MC146818A datasheet ("MC146818A"
 * below) and the PC's 128-byte CMOS extension.  It exists so the guest
 * finds a clock at once: without one Linux polls port 0x71 some 20,000
 * times per boot.  Time registers are computed from the injected clock on
 * every read; guest writes to them are dropped, so the guest's RTC always
 * reads host UTC (no offset to save, and snapshots stay in wall time).  Bus
 * handlers run on vCPU threads; rtc->lock covers the index and the RAM.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/err.h"
#define LOG_TAG "rtc"
#include "lib/log.h"
#include "lib/util.h"
#include "rtc.h"

#define PORT_INDEX 0
#define PORT_DATA 1

#define INDEX_NMI_DISABLE 0x80 /* bit 7 of the index port: NMI mask, not ours */
#define INDEX_MASK 0x7f

/* Register map (MC146818A address map, plus the PC century byte). */
#define REG_SECONDS 0x00
#define REG_SECONDS_ALARM 0x01
#define REG_MINUTES 0x02
#define REG_MINUTES_ALARM 0x03
#define REG_HOURS 0x04
#define REG_HOURS_ALARM 0x05
#define REG_DAY_OF_WEEK 0x06
#define REG_DAY_OF_MONTH 0x07
#define REG_MONTH 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d

#define A_UIP 0x80     /* update in progress: never set, reads are always safe */
#define A_DEFAULT 0x26 /* 32.768 kHz time base (DV=010), 1.024 kHz periodic rate */

#define B_SET 0x80
#define B_UIE 0x10
#define B_DM_BINARY 0x04
#define B_24H 0x02
#define B_DEFAULT B_24H /* 24-hour, BCD: what PC firmware leaves and Linux assumes */

#define D_VRT 0x80 /* valid RAM and time: the battery is good */

#define HOURS_PM 0x80 /* 12-hour mode: bit 7 of the hours byte is PM */

struct rtc {
	pthread_mutex_t lock;
	uint64_t (*now_ns)(void);
	uint8_t index;
	uint8_t cmos[RTC_CMOS_SIZE];
};

/* Binary or BCD, as status B's DM bit says (MC146818A table 3). */
static uint8_t encode(const struct rtc *rtc, unsigned v)
{
	if (rtc->cmos[REG_B] & B_DM_BINARY)
		return (uint8_t)v;
	return (uint8_t)((v / 10) << 4 | v % 10);
}

static uint8_t encode_hours(const struct rtc *rtc, unsigned h)
{
	unsigned h12;

	if (rtc->cmos[REG_B] & B_24H)
		return encode(rtc, h);
	/* 12-hour mode: 12, 1..11 with bit 7 set for PM (MC146818A table 3). */
	h12 = h % 12 ? h % 12 : 12;
	return encode(rtc, h12) | (h >= 12 ? HOURS_PM : 0);
}

static bool is_time_reg(unsigned reg)
{
	switch (reg) {
	case REG_SECONDS:
	case REG_MINUTES:
	case REG_HOURS:
	case REG_DAY_OF_WEEK:
	case REG_DAY_OF_MONTH:
	case REG_MONTH:
	case REG_YEAR:
	case RTC_REG_CENTURY:
		return true;
	default:
		return false;
	}
}

static uint8_t read_time(const struct rtc *rtc, unsigned reg)
{
	time_t t = (time_t)(rtc->now_ns() / 1000000000ull);
	struct tm tm;
	unsigned year;

	if (!gmtime_r(&t, &tm))
		return 0;
	year = (unsigned)tm.tm_year + 1900;
	switch (reg) {
	case REG_SECONDS:
		/* A leap second (tm_sec 60) never comes from gmtime, but stay in range. */
		return encode(rtc, MIN((unsigned)tm.tm_sec, 59u));
	case REG_MINUTES:
		return encode(rtc, (unsigned)tm.tm_min);
	case REG_HOURS:
		return encode_hours(rtc, (unsigned)tm.tm_hour);
	case REG_DAY_OF_WEEK:
		return encode(rtc, (unsigned)tm.tm_wday + 1); /* 1 = Sunday */
	case REG_DAY_OF_MONTH:
		return encode(rtc, (unsigned)tm.tm_mday);
	case REG_MONTH:
		return encode(rtc, (unsigned)tm.tm_mon + 1);
	case REG_YEAR:
		return encode(rtc, year % 100);
	default: /* RTC_REG_CENTURY */
		return encode(rtc, (year / 100) % 100);
	}
}

static uint8_t data_read(struct rtc *rtc)
{
	unsigned reg = rtc->index;

	if (is_time_reg(reg))
		return read_time(rtc, reg);
	switch (reg) {
	case REG_A:
		return rtc->cmos[REG_A] & ~A_UIP;
	case REG_C:
		return 0; /* no interrupt flags: there is no IRQ 8 */
	case REG_D:
		return D_VRT;
	default:
		return rtc->cmos[reg]; /* B, alarms, RAM */
	}
}

static void data_write(struct rtc *rtc, uint8_t v)
{
	static struct log_rl time_rl;
	unsigned reg = rtc->index;

	if (is_time_reg(reg)) {
		/* Legitimate (hwclock --systohc, NTP's 11-minute sync), so not a warning. */
		log_msg_rl(&time_rl, LOG_DEBUG, LOG_TAG,
			   "guest write %#x to time register %#x ignored: the RTC follows host UTC",
			   v, reg);
		return;
	}
	switch (reg) {
	case REG_A:
		rtc->cmos[REG_A] = v & ~A_UIP; /* UIP is read-only */
		break;
	case REG_B:
		/* MC146818A: UIE is cleared when SET goes high. */
		if (v & B_SET)
			v &= ~B_UIE;
		rtc->cmos[REG_B] = v;
		break;
	case REG_C:
	case REG_D:
		log_warn_rl("write %#x to read-only status register %#x ignored", v, reg);
		break;
	default:
		rtc->cmos[reg] = v;
		break;
	}
}

static void rtc_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct rtc *rtc = dev;
	uint8_t *p = data;

	/* guest-controlled: off, len.  A wide access is byte cycles on ISA. */
	if (!len || off >= RTC_NR_PORTS || len > RTC_NR_PORTS - off) {
		log_warn_rl("%u-byte read at offset %#llx ignored", len, (unsigned long long)off);
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&rtc->lock);
	for (unsigned i = 0; i < len; i++)
		/* Port 0x70 is write-only on the PC: reads float high. */
		p[i] = off + i == PORT_INDEX ? 0xff : data_read(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

static void rtc_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct rtc *rtc = dev;
	const uint8_t *p = data;

	/* guest-controlled: off, len, data */
	if (!len || off >= RTC_NR_PORTS || len > RTC_NR_PORTS - off) {
		log_warn_rl("%u-byte write at offset %#llx ignored", len, (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&rtc->lock);
	for (unsigned i = 0; i < len; i++) {
		if (off + i == PORT_INDEX)
			rtc->index = p[i] & INDEX_MASK; /* bit 7 masks NMI; nothing to do */
		else
			data_write(rtc, p[i]);
	}
	pthread_mutex_unlock(&rtc->lock);
}

void rtc_save(struct rtc *rtc, struct rtc_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&rtc->lock);
	st->index = rtc->index;
	memcpy(st->cmos, rtc->cmos, sizeof(st->cmos));
	pthread_mutex_unlock(&rtc->lock);
}

int rtc_restore(struct rtc *rtc, const struct rtc_state *st)
{
	if (st->index & ~INDEX_MASK)
		return err_setx(-EINVAL, "rtc state: index %#x out of range", st->index);
	for (size_t i = 0; i < sizeof(st->reserved); i++)
		if (st->reserved[i])
			return err_setx(-EINVAL, "rtc state: nonzero padding");
	pthread_mutex_lock(&rtc->lock);
	rtc->index = st->index;
	memcpy(rtc->cmos, st->cmos, sizeof(rtc->cmos));
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}

const struct bus_ops rtc_bus_ops = {
	.read = rtc_read,
	.write = rtc_write,
};

int rtc_create(uint64_t (*now_ns)(void), struct rtc **out)
{
	struct rtc *rtc;
	int err;

	rtc = calloc(1, sizeof(*rtc));
	if (!rtc)
		return err_set(-ENOMEM, "rtc: allocate device");
	err = pthread_mutex_init(&rtc->lock, NULL);
	if (err) {
		free(rtc);
		return err_set(-err, "rtc: mutex");
	}
	rtc->now_ns = now_ns ? now_ns : realtime_ns;
	rtc->cmos[REG_A] = A_DEFAULT;
	rtc->cmos[REG_B] = B_DEFAULT;
	*out = rtc;
	return 0;
}

void rtc_destroy(struct rtc *rtc)
{
	if (!rtc)
		return;
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}
