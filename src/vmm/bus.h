/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Address-range → device dispatch for port I/O and MMIO.  Ranges are added
 * while the VM is being built (or with every vCPU paused) and never change
 * while vCPUs run, so lookups from vCPU threads take no lock.  Handlers get
 * an offset into their own range, never the absolute address.
 */
#ifndef CLONE_VMM_BUS_H
#define CLONE_VMM_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus_ops {
	/* Fill data[0..len) for a read at off.  Runs on a vCPU thread. */
	void (*read)(void *dev, uint64_t off, void *data, unsigned len);
	/* Handle a write of data[0..len) at off.  Runs on a vCPU thread. */
	void (*write)(void *dev, uint64_t off, const void *data, unsigned len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *dev;
	const char *name;
};

struct bus {
	const char *name;
	struct bus_range *ranges; /* sorted by base, non-overlapping */
	size_t nr;
	size_t cap;
};

void bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);
/* Claim [base, base+len) for dev.  -EEXIST on overlap, -EINVAL on an empty or wrapping range. */
int bus_add(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops, void *dev,
	    const char *name);
/* The range holding addr, or NULL. */
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr);
/*
 * Dispatch an access of len bytes at addr.  false: nobody claims it (reads
 * then see all ones, which is what absent hardware returns).  An access that
 * straddles the end of a range is not claimed.
 */
bool bus_access(const struct bus *bus, uint64_t addr, void *data, unsigned len, bool write);

#endif
