// SPDX-License-Identifier: Apache-2.0
/*
 * i8042 reset line (see i8042.h).  Port offsets follow the PC: 0 is the data
 * port (0x60), 4 the command/status port (0x64); 1..3 (0x61..0x63) belong
 * to other chips and are handled in-kernel by KVM's PIT speaker port, so an
 * access reaching us there is unexpected.  Handlers run on vCPU threads.
 * The device is immutable after creation, so it needs no lock; the reset
 * callback does its own locking.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "i8042.h"
#include "lib/err.h"
#define LOG_TAG "i8042"
#include "lib/log.h"

#define PORT_DATA 0
#define PORT_CMD 4 /* write: command; read: status */

struct i8042 {
	void (*reset)(void *opaque);
	void *opaque;
};

static void i8042_read(void *dev, uint64_t off, void *data, unsigned len)
{
	/* guest-controlled: off, len */
	if (len != 1 || (off != PORT_DATA && off != PORT_CMD)) {
		log_warn_rl("%u-byte read at offset %#llx ignored", len, (unsigned long long)off);
		memset(data, 0xff, len);
		return;
	}
	/*
	 * Status 0: output buffer empty (OBF, bit 0) and input buffer empty
	 * (IBF, bit 1), so Linux's kb_wait() before 0xFE returns at once.
	 * The data port has nothing to give either.
	 */
	*(uint8_t *)data = 0;
}

static void i8042_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct i8042 *i = dev;

	/* guest-controlled: off, len, data */
	if (len != 1 || (off != PORT_DATA && off != PORT_CMD)) {
		log_warn_rl("%u-byte write at offset %#llx ignored", len, (unsigned long long)off);
		return;
	}
	/* Keyboard data and every other controller command are dropped: there is no keyboard. */
	if (off == PORT_CMD && *(const uint8_t *)data == I8042_CMD_RESET && i->reset)
		i->reset(i->opaque);
}

void i8042_save(struct i8042 *i, struct i8042_state *st)
{
	memset(st, 0, sizeof(*st));
}

int i8042_restore(struct i8042 *i, const struct i8042_state *st)
{
	for (size_t k = 0; k < sizeof(st->reserved); k++)
		if (st->reserved[k])
			return err_setx(-EINVAL, "i8042 state: nonzero reserved bytes");
	return 0;
}

const struct bus_ops i8042_bus_ops = {
	.read = i8042_read,
	.write = i8042_write,
};

int i8042_create(void (*reset)(void *opaque), void *opaque, struct i8042 **out)
{
	struct i8042 *i = calloc(1, sizeof(*i));

	if (!i)
		return err_set(-ENOMEM, "i8042: allocate device");
	i->reset = reset;
	i->opaque = opaque;
	*out = i;
	return 0;
}

void i8042_destroy(struct i8042 *i)
{
	free(i);
}
