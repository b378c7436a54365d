// SPDX-License-Identifier: Apache-2.0
/*
 * E820 map derived from the guest memory regions (see e820.h).  Pure
 * function of the layout; runs on the main thread while the VM is built.
 */
#include "e820.h"
#include "layout.h"
#include "lib/util.h"

static unsigned add(struct e820_entry *out, unsigned n, unsigned max, uint64_t addr, uint64_t end,
		    uint32_t type)
{
	if (end <= addr || n >= max)
		return n;
	out[n] = (struct e820_entry){ .addr = addr, .size = end - addr, .type = type };
	return n + 1;
}

unsigned e820_build(const struct guest_mem *gm, struct e820_entry *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < gm->nr; i++) {
		const struct gm_region *r = &gm->regions[i];
		uint64_t end = r->gpa + r->size;

		if (r->gpa == 0) {
			/* The VMGenID and identity pages, then the EBDA, are reserved. */
			n = add(out, n, max, 0, MIN(end, LAYOUT_RESERVED_LOW), E820_RAM);
			if (end > LAYOUT_RESERVED_LOW)
				n = add(out, n, max, LAYOUT_RESERVED_LOW, LAYOUT_LOW_RAM_END,
					E820_RESERVED);
			if (end > LAYOUT_ACPI)
				n = add(out, n, max, LAYOUT_ACPI, LAYOUT_ACPI_END, E820_RESERVED);
			n = add(out, n, max, LAYOUT_HIGH_MEM, end, E820_RAM);
		} else {
			n = add(out, n, max, r->gpa, end, E820_RAM);
		}
	}
	return n;
}
