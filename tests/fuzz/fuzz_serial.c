// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the 16550A UART (src/devices/serial.c).  The input is a
 * program of byte-coded operations on one device: register reads and
 * writes (including bad offsets and widths), host input in small and large
 * pieces, rx-ready toggling and snapshot round trips (which must be
 * byte-identical), plus restores of corrupted states, which must be either
 * rejected or round-trip too.  Single-threaded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/serial.h"
#include "lib/log.h"

struct cursor {
	const uint8_t *p;
	size_t left;
};

static struct serial *dev;
static int irq_level;
static size_t out_bytes;
static unsigned rx_ready_calls;

static uint8_t next(struct cursor *c)
{
	if (!c->left)
		return 0;
	c->left--;
	return *c->p++;
}

static void irq_set(void *opaque, unsigned gsi, int level)
{
	if (level != 0 && level != 1)
		abort();
	irq_level = level;
}

static void out(void *opaque, const uint8_t *buf, size_t len)
{
	out_bytes += len;
}

static void rx_ready(void *opaque)
{
	/* Runs without the device lock: taking it again must not deadlock. */
	if (serial_rx_space(opaque) == 0)
		abort();
	rx_ready_calls++;
}

static void round_trip(struct cursor *c)
{
	static struct serial_state a, b;
	struct serial *t;
	const struct irq_line line = { irq_set, NULL, 4 };

	serial_save(dev, &a);
	if (serial_create(&line, out, NULL, &t))
		return;
	if (serial_restore(t, &a) != 0)
		abort(); /* a saved state must always load */
	serial_save(t, &b);
	if (memcmp(&a, &b, sizeof(a)))
		abort();
	/* Corrupt one byte: restore must reject it or round-trip it exactly. */
	{
		size_t at = ((size_t)next(c) << 8 | next(c)) % sizeof(a);

		((uint8_t *)&a)[at] ^= (uint8_t)(next(c) | 1);
		if (serial_restore(t, &a) == 0) {
			serial_save(t, &b);
			if (memcmp(&a, &b, sizeof(a)))
				abort();
		}
	}
	serial_destroy(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned widths[8] = { 1, 1, 1, 1, 1, 2, 4, 8 };
	static uint8_t bulk[SERIAL_RX_SIZE];
	const struct irq_line line = { irq_set, NULL, 4 };
	struct cursor c = { data, size };
	uint8_t buf[8];

	log_set_level(LOG_ERR); /* guest oddities are expected here */
	irq_level = 0;
	if (serial_create(&line, out, NULL, &dev))
		return 0;
	while (c.left) {
		uint8_t op = next(&c), arg = next(&c);
		unsigned off = arg & 0x0f, len = widths[arg >> 5];
		size_t n;

		switch (op % 7) {
		case 0: /* read a register; offsets 8..15 are out of range */
			serial_bus_ops.read(dev, off, buf, len);
			break;
		case 1: /* write a register */
			memset(buf, next(&c), sizeof(buf));
			serial_bus_ops.write(dev, off, buf, (op & 0x80) ? len : 1);
			break;
		case 2: /* host input taken from the program */
			n = arg < c.left ? arg : c.left;
			if (serial_input(dev, c.p, n) > n)
				abort();
			c.p += n;
			c.left -= n;
			break;
		case 3: /* a paste: enough to fill the buffer */
			memset(bulk, arg, sizeof(bulk));
			n = (size_t)(arg % 17) * 256;
			if (serial_input(dev, bulk, n) > n)
				abort();
			if (serial_rx_space(dev) > SERIAL_RX_SIZE)
				abort();
			break;
		case 4:
			round_trip(&c);
			break;
		case 5:
			if (arg & 1)
				serial_set_rx_ready(dev, rx_ready, dev);
			else
				serial_set_rx_ready(dev, NULL, NULL);
			break;
		default: /* a burst of register reads, as a polling driver does */
			for (unsigned i = 0; i < (arg & 0x3f); i++)
				serial_bus_ops.read(dev, i % SERIAL_NR_PORTS, buf, 1);
			break;
		}
	}
	serial_destroy(dev);
	dev = NULL;
	return 0;
}
