// SPDX-License-Identifier: Apache-2.0
/*
 * ACPI PM1a event/control blocks and the reset register (see pm.h), after
 * ACPI 6.4 chapter 4 ("PM1 Event Grouping", "PM1 Control Grouping", "Reset
 * Register"; tables 4.11-4.13).  The block is byte-addressed: an access of 1, 2
 * or 4 bytes at any offset touches the bytes it covers, and each register
 * then applies its own rule once per access.  Bus handlers run on vCPU
 * threads and pm_power_button() on the event loop; pm->lock covers the
 * registers and the SCI level.  The SCI is driven under the lock (so levels
 * arrive in order); the event callback is called after unlocking, since it
 * takes the VM's lock.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "lib/err.h"
#define LOG_TAG "pm"
#include "lib/log.h"
#include "pm.h"

/* Offsets inside the block. */
#define OFF_STS 0x0
#define OFF_EN 0x2
#define OFF_CNT 0x4
#define OFF_RESET 0x8

/* PM1 status/enable bits (ACPI 6.4 tables 4.11, 4.12). */
#define PWRBTN 0x0100 /* PWRBTN_STS / PWRBTN_EN */

/* PM1 control bits (ACPI 6.4 table 4.13). */
#define CNT_SCI_EN 0x0001
#define CNT_BM_RLD 0x0002
#define CNT_GBL_RLS 0x0004 /* write-only */
#define CNT_SLP_TYP_SHIFT 10
#define CNT_SLP_TYP (7u << CNT_SLP_TYP_SHIFT)
#define CNT_SLP_EN 0x2000 /* write-only, reads 0 */
#define CNT_STORED (CNT_BM_RLD | CNT_SLP_TYP)

struct pm {
	pthread_mutex_t lock;
	struct irq_line sci;
	void (*event)(void *opaque, enum pm_event ev);
	void *opaque;
	uint16_t sts;
	uint16_t en;
	uint16_t cnt;
	int sci_level;
};

/* The SCI is level-triggered: asserted while any enabled status bit is set (ACPI 6.4 table 4.11). */
static void update_sci(struct pm *pm)
{
	int level = (pm->sts & pm->en) != 0;

	if (level != pm->sci_level) {
		pm->sci_level = level;
		irq_line_set(&pm->sci, level);
	}
}

/* The block as the guest sees it, byte by byte. */
static void image(const struct pm *pm, uint8_t img[PM_NR_PORTS])
{
	/*
	 * SCI_EN reads 1: there is no SMI handler to hand the hardware over,
	 * so the platform is in ACPI mode from power-on (ACPI 6.4 table 4.13).
	 */
	uint16_t cnt = pm->cnt | CNT_SCI_EN;

	memset(img, 0, PM_NR_PORTS);
	img[OFF_STS] = (uint8_t)pm->sts;
	img[OFF_STS + 1] = (uint8_t)(pm->sts >> 8);
	img[OFF_EN] = (uint8_t)pm->en;
	img[OFF_EN + 1] = (uint8_t)(pm->en >> 8);
	img[OFF_CNT] = (uint8_t)cnt;
	img[OFF_CNT + 1] = (uint8_t)(cnt >> 8);
	/* RESET_REG is write-only; it reads 0. */
}

static bool bad_access(uint64_t off, unsigned len)
{
	return (len != 1 && len != 2 && len != 4) || off >= PM_NR_PORTS || len > PM_NR_PORTS - off;
}

static void pm_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct pm *pm = dev;
	uint8_t img[PM_NR_PORTS];

	/* guest-controlled: off, len */
	if (bad_access(off, len)) {
		log_warn_rl("%u-byte read at offset %#llx ignored", len, (unsigned long long)off);
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&pm->lock);
	image(pm, img);
	pthread_mutex_unlock(&pm->lock);
	memcpy(data, img + off, len);
}

/* The part of a write that lands in the 16-bit register at reg: value and byte mask. */
static uint16_t field16(unsigned reg, uint64_t off, unsigned len, const uint8_t *p, uint16_t *mask)
{
	uint16_t v = 0, m = 0;

	for (unsigned b = 0; b < 2; b++) {
		uint64_t at = reg + b;

		if (at >= off && at < off + len) {
			v |= (uint16_t)(p[at - off] << (8 * b));
			m |= (uint16_t)(0xff << (8 * b));
		}
	}
	*mask = m;
	return v;
}

static bool covers(uint64_t off, unsigned len, unsigned at)
{
	return at >= off && at < off + len;
}

/* Apply a write under the lock; returns true and sets *ev if an event must be sent. */
static bool apply_write(struct pm *pm, uint64_t off, unsigned len, const uint8_t *p,
			enum pm_event *ev)
{
	uint16_t v, m;
	bool fire = false;

	/* PM1_STS: write 1 to clear; 0 bits leave their status alone (ACPI 6.4 table 4.11). */
	v = field16(OFF_STS, off, len, p, &m);
	pm->sts = (uint16_t)(pm->sts & ~(v & m));

	v = field16(OFF_EN, off, len, p, &m);
	pm->en = (uint16_t)((pm->en & ~m) | (v & m));

	v = field16(OFF_CNT, off, len, p, &m);
	if (m) {
		pm->cnt = (uint16_t)((pm->cnt & ~(m & CNT_STORED)) | (v & m & CNT_STORED));
		/*
		 * Writing SLP_EN starts the sleep the stored SLP_TYP names
		 * (ACPI 6.4 table 4.13).  Linux writes SLP_TYP first, then
		 * SLP_TYP|SLP_EN, so the type comes from the merged value.
		 */
		if (v & m & CNT_SLP_EN) {
			unsigned typ = (pm->cnt & CNT_SLP_TYP) >> CNT_SLP_TYP_SHIFT;

			if (typ == PM_SLP_TYP_S5) {
				*ev = PM_EVENT_POWEROFF;
				fire = true;
			} else {
				log_warn_rl("sleep type %u requested; only S5 (%u) is supported",
					    typ, PM_SLP_TYP_S5);
			}
		}
	}

	if (covers(off, len, OFF_RESET)) {
		uint8_t r = p[OFF_RESET - off];

		if (r == ACPI_RESET_VALUE) {
			*ev = PM_EVENT_RESET;
			fire = true;
		} else {
			log_warn_rl("reset register write %#x ignored (want %#x)", r,
				    ACPI_RESET_VALUE);
		}
	}

	for (unsigned i = 0; i < len; i++) {
		uint64_t at = off + i;

		if (at == 6 || at == 7 || at > OFF_RESET) {
			log_warn_rl("write to unused offset %#llx ignored", (unsigned long long)at);
			break;
		}
	}
	update_sci(pm);
	return fire;
}

static void pm_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct pm *pm = dev;
	enum pm_event ev = PM_EVENT_POWEROFF;
	bool fire;

	/* guest-controlled: off, len, data */
	if (bad_access(off, len)) {
		log_warn_rl("%u-byte write at offset %#llx ignored", len, (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&pm->lock);
	fire = apply_write(pm, off, len, data, &ev);
	pthread_mutex_unlock(&pm->lock);
	if (fire && pm->event)
		pm->event(pm->opaque, ev);
}

void pm_power_button(struct pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts |= PWRBTN;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

void pm_save(struct pm *pm, struct pm_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&pm->lock);
	st->sts = htole16(pm->sts);
	st->en = htole16(pm->en);
	st->cnt = htole16(pm->cnt);
	pthread_mutex_unlock(&pm->lock);
}

int pm_restore(struct pm *pm, const struct pm_state *st)
{
	uint16_t cnt = le16toh(st->cnt);

	if (cnt & ~CNT_STORED)
		return err_setx(-EINVAL, "pm state: PM1_CNT %#x has unstored bits", cnt);
	if (st->reserved[0] || st->reserved[1])
		return err_setx(-EINVAL, "pm state: nonzero padding");
	pthread_mutex_lock(&pm->lock);
	pm->sts = le16toh(st->sts);
	pm->en = le16toh(st->en);
	pm->cnt = cnt;
	/* Drive the line even if unchanged: the irqchip may be fresh. */
	pm->sci_level = (pm->sts & pm->en) != 0;
	irq_line_set(&pm->sci, pm->sci_level);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

const struct bus_ops pm_bus_ops = {
	.read = pm_read,
	.write = pm_write,
};

int pm_create(const struct irq_line *sci, void (*event)(void *opaque, enum pm_event ev),
	      void *opaque, struct pm **out)
{
	struct pm *pm;
	int err;

	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return err_set(-ENOMEM, "pm: allocate device");
	err = pthread_mutex_init(&pm->lock, NULL);
	if (err) {
		free(pm);
		return err_set(-err, "pm: mutex");
	}
	if (sci)
		pm->sci = *sci;
	pm->event = event;
	pm->opaque = opaque;
	*out = pm;
	return 0;
}

void pm_destroy(struct pm *pm)
{
	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}
