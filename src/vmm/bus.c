// SPDX-License-Identifier: Apache-2.0
/*
 * Port I/O and MMIO dispatch (see bus.h): a sorted array, binary search.
 * Built on the main thread before vCPUs start; read-only afterwards, so
 * vCPU threads look ranges up without locks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "lib/err.h"

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

void bus_destroy(struct bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
}

int bus_add(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops, void *dev,
	    const char *name)
{
	size_t i;

	if (!len || base + len < base)
		return err_setx(-EINVAL, "%s bus: bad range %#llx+%#llx for %s", bus->name,
				(unsigned long long)base, (unsigned long long)len, name);
	for (i = 0; i < bus->nr; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (base < r->base + r->len && r->base < base + len)
			return err_setx(-EEXIST, "%s bus: %s at %#llx overlaps %s", bus->name, name,
					(unsigned long long)base, r->name);
		if (r->base > base)
			break;
	}
	if (bus->nr == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *n = realloc(bus->ranges, cap * sizeof(*n));

		if (!n)
			return err_set(-ENOMEM, "%s bus", bus->name);
		bus->ranges = n;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->nr - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct bus_range){
		.base = base, .len = len, .ops = ops, .dev = dev, .name = name
	};
	bus->nr++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool bus_access(const struct bus *bus, uint64_t addr, void *data, unsigned len, bool write)
{
	const struct bus_range *r = bus_find(bus, addr);
	uint64_t off;

	if (!r || !len)
		goto unclaimed;
	off = addr - r->base;
	if (len > r->len - off)
		goto unclaimed;
	if (write) {
		if (r->ops->write)
			r->ops->write(r->dev, off, data, len);
	} else {
		if (r->ops->read)
			r->ops->read(r->dev, off, data, len);
		else
			memset(data, 0xff, len);
	}
	return true;
unclaimed:
	if (!write)
		memset(data, 0xff, len);
	return false;
}
