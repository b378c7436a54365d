// SPDX-License-Identifier: Apache-2.0
/* Unit tests: guest memory layout around the MMIO hole, gm_ptr bounds, E820. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "lib/util.h"
#include "vmm/mem.h"

Test(mem, small_guest_is_one_region)
{
	struct gm_region r[GM_MAX_REGIONS];

	cr_assert_eq(gm_layout(256 * MiB, r, GM_MAX_REGIONS), 1);
	cr_assert_eq(r[0].gpa, 0);
	cr_assert_eq(r[0].size, 256 * MiB);
}

Test(mem, exactly_the_hole_start)
{
	struct gm_region r[GM_MAX_REGIONS];

	cr_assert_eq(gm_layout(LAYOUT_MMIO_HOLE, r, GM_MAX_REGIONS), 1);
	cr_assert_eq(r[0].size, LAYOUT_MMIO_HOLE);
}

Test(mem, large_guest_relocates_above_4g)
{
	struct gm_region r[GM_MAX_REGIONS];

	cr_assert_eq(gm_layout(5000 * MiB, r, GM_MAX_REGIONS), 2);
	cr_assert_eq(r[0].gpa, 0);
	cr_assert_eq(r[0].size, LAYOUT_MMIO_HOLE);
	cr_assert_eq(r[1].gpa, 4 * GiB);
	cr_assert_eq(r[1].size, 5000 * MiB - LAYOUT_MMIO_HOLE);
}

Test(mem, mapping_is_2m_aligned_and_checked)
{
	struct guest_mem gm;
	uint8_t b = 0x42, out = 0;

	cr_assert_eq(gm_init(&gm, 5000 * MiB, 0), 0);
	cr_assert_eq((uintptr_t)gm.regions[0].hva % (2 * MiB), 0);
	cr_assert_eq((uintptr_t)gm.regions[1].hva % (2 * MiB), 0);
	/* Inside each region. */
	cr_assert_not_null(gm_ptr(&gm, 0, 4096));
	cr_assert_not_null(gm_ptr(&gm, 4 * GiB, 4096));
	/* The hole is not RAM. */
	cr_assert_null(gm_ptr(&gm, LAYOUT_MMIO_HOLE, 1));
	cr_assert_null(gm_ptr(&gm, LAYOUT_IOAPIC, 4));
	/* A range that crosses the end of low RAM into the hole is refused. */
	cr_assert_null(gm_ptr(&gm, LAYOUT_MMIO_HOLE - 2, 4));
	/* Past the end, and an overflowing length. */
	cr_assert_null(gm_ptr(&gm, gm_end(&gm), 1));
	cr_assert_null(gm_ptr(&gm, 0x1000, UINT64_MAX));
	cr_assert_null(gm_ptr(&gm, UINT64_MAX, 2));
	cr_assert_eq(gm_write(&gm, 4 * GiB + 123, &b, 1), 0);
	cr_assert_eq(gm_read(&gm, 4 * GiB + 123, &out, 1), 0);
	cr_assert_eq(out, 0x42);
	cr_assert_eq(gm_write(&gm, LAYOUT_MMIO_HOLE, &b, 1), -EFAULT);
	gm_destroy(&gm);
}

Test(mem, bad_sizes_refused)
{
	struct guest_mem gm;

	cr_assert_eq(gm_init(&gm, 0, 0), -EINVAL);
	cr_assert_eq(gm_init(&gm, 4097, 0), -EINVAL);
}

Test(mem, overcommit_costs_only_touched_pages)
{
	struct guest_mem gm;

	/* 64 GiB of address space must map on a 24 GiB machine: MAP_NORESERVE. */
	cr_assert_eq(gm_init(&gm, 64 * GiB, 0), 0);
	gm_destroy(&gm);
}

Test(e820, matches_layout_around_the_hole)
{
	struct guest_mem gm;
	struct e820_entry e[E820_MAX];
	unsigned n;
	uint64_t ram = 0;

	cr_assert_eq(gm_init(&gm, 5000 * MiB, 0), 0);
	n = e820_build(&gm, e, E820_MAX);
	cr_assert_eq(n, 5);
	cr_assert_eq(e[0].addr, 0);
	/* Low RAM ends where the VMGenID and identity pages start; they and the EBDA are reserved. */
	cr_assert_eq(e[0].size, LAYOUT_RESERVED_LOW);
	cr_assert_eq(e[0].type, E820_RAM);
	cr_assert_eq(e[1].addr, LAYOUT_RESERVED_LOW);
	cr_assert_eq(e[1].addr + e[1].size, LAYOUT_LOW_RAM_END);
	cr_assert(LAYOUT_VMGENID >= e[1].addr && LAYOUT_IDENTITY + 4096 <= LAYOUT_EBDA);
	cr_assert_eq(e[1].type, E820_RESERVED);
	cr_assert_eq(e[2].addr, LAYOUT_ACPI);
	cr_assert_eq(e[2].addr + e[2].size, LAYOUT_ACPI_END);
	cr_assert_eq(e[2].type, E820_RESERVED);
	cr_assert_eq(e[3].addr, LAYOUT_HIGH_MEM);
	cr_assert_eq(e[3].addr + e[3].size, LAYOUT_MMIO_HOLE);
	cr_assert_eq(e[4].addr, 4 * GiB);
	cr_assert_eq(e[4].addr + e[4].size, gm_end(&gm));
	/* Entries are sorted and never overlap; every RAM entry is backed by guest memory. */
	for (unsigned i = 0; i < n; i++) {
		if (i)
			cr_assert_geq(e[i].addr, e[i - 1].addr + e[i - 1].size);
		if (e[i].type == E820_RAM) {
			cr_assert_not_null(gm_ptr(&gm, e[i].addr, e[i].size));
			ram += e[i].size;
		}
	}
	cr_assert_eq(ram, 5000 * MiB - (LAYOUT_HIGH_MEM - LAYOUT_RESERVED_LOW));
	gm_destroy(&gm);
}

Test(e820, small_guest)
{
	struct guest_mem gm;
	struct e820_entry e[E820_MAX];

	cr_assert_eq(gm_init(&gm, 64 * MiB, 0), 0);
	cr_assert_eq(e820_build(&gm, e, E820_MAX), 4);
	cr_assert_eq(e[3].addr + e[3].size, 64 * MiB);
	cr_assert_eq(e820_build(&gm, e, 2), 2);
	gm_destroy(&gm);
}
