// SPDX-License-Identifier: Apache-2.0
/*
 * Boot-timer port (see boot_timer.h): turns a guest outb into a callback so
 * the VMM can record when the guest reached user space.  Handlers run on
 * vCPU threads; the device is immutable after creation, so it has no lock,
 * and the callback does its own locking.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot_timer.h"
#include "lib/err.h"
#define LOG_TAG "boot-timer"
#include "lib/log.h"

struct boot_timer {
	void (*fn)(void *opaque, uint8_t value);
	void *opaque;
};

static void boot_timer_read(void *dev, uint64_t off, void *data, unsigned len)
{
	/* guest-controlled: off, len */
	if (len != 1 || off >= BOOT_TIMER_NR_PORTS) {
		log_warn_rl("%u-byte read at offset %#llx ignored", len, (unsigned long long)off);
		memset(data, 0xff, len);
		return;
	}
	*(uint8_t *)data = 0;
}

static void boot_timer_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct boot_timer *bt = dev;

	/* guest-controlled: off, len, data */
	if (len != 1 || off >= BOOT_TIMER_NR_PORTS) {
		log_warn_rl("%u-byte write at offset %#llx ignored", len, (unsigned long long)off);
		return;
	}
	if (bt->fn)
		bt->fn(bt->opaque, *(const uint8_t *)data);
}

void boot_timer_save(struct boot_timer *bt, struct boot_timer_state *st)
{
	memset(st, 0, sizeof(*st));
}

int boot_timer_restore(struct boot_timer *bt, const struct boot_timer_state *st)
{
	for (size_t i = 0; i < sizeof(st->reserved); i++)
		if (st->reserved[i])
			return err_setx(-EINVAL, "boot-timer state: nonzero reserved bytes");
	return 0;
}

const struct bus_ops boot_timer_bus_ops = {
	.read = boot_timer_read,
	.write = boot_timer_write,
};

int boot_timer_create(void (*fn)(void *opaque, uint8_t value), void *opaque,
		      struct boot_timer **out)
{
	struct boot_timer *bt = calloc(1, sizeof(*bt));

	if (!bt)
		return err_set(-ENOMEM, "boot-timer: allocate device");
	bt->fn = fn;
	bt->opaque = opaque;
	*out = bt;
	return 0;
}

void boot_timer_destroy(struct boot_timer *bt)
{
	free(bt);
}
