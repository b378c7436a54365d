// SPDX-License-Identifier: Apache-2.0
/* Unit tests: bus overlap checks and dispatch (src/vmm/bus.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vmm/bus.h"

struct rec {
	uint64_t off;
	unsigned len;
	bool write;
	uint8_t data[8];
	int calls;
};

static void rec_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct rec *r = dev;

	r->off = off;
	r->len = len;
	r->write = false;
	r->calls++;
	memset(data, 0xab, len);
}

static void rec_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct rec *r = dev;

	r->off = off;
	r->len = len;
	r->write = true;
	r->calls++;
	memcpy(r->data, data, len);
}

static const struct bus_ops rec_ops = { .read = rec_read, .write = rec_write };

Test(bus, dispatch_gives_offsets)
{
	struct bus b;
	struct rec a = { 0 }, c = { 0 };
	uint8_t v = 0x5a, out[4];

	bus_init(&b, "t");
	cr_assert_eq(bus_add(&b, 0x3f8, 8, &rec_ops, &a, "a"), 0);
	cr_assert_eq(bus_add(&b, 0x70, 2, &rec_ops, &c, "c"), 0);
	cr_assert(bus_access(&b, 0x3fb, &v, 1, true));
	cr_assert_eq(a.off, 3);
	cr_assert(a.write);
	cr_assert_eq(a.data[0], 0x5a);
	cr_assert(bus_access(&b, 0x71, out, 1, false));
	cr_assert_eq(c.off, 1);
	cr_assert_eq(out[0], 0xab);
	bus_destroy(&b);
}

Test(bus, unclaimed_reads_all_ones)
{
	struct bus b;
	struct rec a = { 0 };
	uint8_t out[4] = { 0 };

	bus_init(&b, "t");
	cr_assert_eq(bus_add(&b, 0x100, 4, &rec_ops, &a, "a"), 0);
	cr_assert_not(bus_access(&b, 0x200, out, 4, false));
	cr_assert_eq(out[0], 0xff);
	cr_assert_eq(out[3], 0xff);
	/* Straddling the end of a range is not claimed either. */
	cr_assert_not(bus_access(&b, 0x102, out, 4, false));
	cr_assert_eq(a.calls, 0);
	bus_destroy(&b);
}

Test(bus, overlap_refused)
{
	struct bus b;
	struct rec a = { 0 };

	bus_init(&b, "t");
	cr_assert_eq(bus_add(&b, 0x100, 0x10, &rec_ops, &a, "a"), 0);
	cr_assert_eq(bus_add(&b, 0x10f, 1, &rec_ops, &a, "b"), -EEXIST);
	cr_assert_eq(bus_add(&b, 0xf8, 0x9, &rec_ops, &a, "c"), -EEXIST);
	cr_assert_eq(bus_add(&b, 0xf0, 0x10, &rec_ops, &a, "d"), 0);
	cr_assert_eq(bus_add(&b, 0x110, 0x10, &rec_ops, &a, "e"), 0);
	cr_assert_eq(bus_add(&b, 0x200, 0, &rec_ops, &a, "empty"), -EINVAL);
	cr_assert_eq(bus_add(&b, UINT64_MAX - 1, 4, &rec_ops, &a, "wrap"), -EINVAL);
	bus_destroy(&b);
}

Test(bus, many_ranges_sorted_lookup)
{
	struct bus b;
	struct rec r[64];

	memset(r, 0, sizeof(r));
	bus_init(&b, "t");
	/* Insert out of order. */
	for (int i = 63; i >= 0; i--)
		cr_assert_eq(bus_add(&b, 0x1000 + (uint64_t)i * 0x100, 0x80, &rec_ops, &r[i], "r"),
			     0);
	for (int i = 0; i < 64; i++) {
		const struct bus_range *found = bus_find(&b, 0x1000 + (uint64_t)i * 0x100 + 0x7f);

		cr_assert_not_null(found);
		cr_assert_eq(found->dev, &r[i]);
		cr_assert_null(bus_find(&b, 0x1000 + (uint64_t)i * 0x100 + 0x80));
	}
	bus_destroy(&b);
}
