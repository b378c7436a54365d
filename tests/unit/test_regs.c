// SPDX-License-Identifier: Apache-2.0
/* Unit tests: boot GDT and identity page tables (src/arch/x86/regs.c). */
#include <criterion/criterion.h>

#include "arch/x86/layout.h"
#include "arch/x86/regs.h"
#include "lib/util.h"

/* Walk the guest's 4-level tables as the MMU would; -1 if not mapped. */
static int64_t translate(struct guest_mem *gm, uint64_t va)
{
	uint64_t *pml4 = gm_ptr(gm, LAYOUT_PML4, 4096);
	uint64_t e = pml4[(va >> 39) & 511];
	uint64_t *pdpt, *pd;

	if (!(e & 1))
		return -1;
	pdpt = gm_ptr(gm, e & ~0xfffull, 4096);
	e = pdpt[(va >> 30) & 511];
	if (!(e & 1) || (e & 0x80))
		return -1;
	pd = gm_ptr(gm, e & ~0xfffull, 4096);
	cr_assert_not_null(pd);
	e = pd[(va >> 21) & 511];
	if (!(e & 1) || !(e & 0x80))
		return -1;
	return (int64_t)((e & ~0x1fffffull) | (va & 0x1fffff));
}

Test(regs, identity_map_covers_64g_with_2m_pages)
{
	struct guest_mem gm;

	cr_assert_eq(gm_init(&gm, 64 * MiB, 0), 0);
	cr_assert_eq(regs_write_page_tables(&gm), 0);
	cr_assert_eq(translate(&gm, 0), 0);
	cr_assert_eq(translate(&gm, 0x1234567), 0x1234567);
	cr_assert_eq(translate(&gm, 4 * GiB + 0x2345), (int64_t)(4 * GiB + 0x2345));
	cr_assert_eq(translate(&gm, 64 * GiB - 1), (int64_t)(64 * GiB - 1));
	cr_assert_eq(translate(&gm, 64 * GiB), -1);
	/* The tables do not overlap what else lives in low memory. */
	cr_assert_leq(LAYOUT_PD + LAYOUT_PD_COUNT * 4096, LAYOUT_CMDLINE);
	cr_assert_leq(LAYOUT_PDPT + 4096, LAYOUT_PD);
	gm_destroy(&gm);
}

Test(regs, gdt_entries)
{
	struct guest_mem gm;
	uint64_t gdt[4];

	/* The kernel's GDT_ENTRY(0xa09b, 0, 0xfffff) == 0x00af9b000000ffff. */
	cr_assert_eq(regs_gdt_entry(0xa09b, 0, 0xfffff), 0x00af9b000000ffffull);
	cr_assert_eq(regs_gdt_entry(0xc093, 0, 0xfffff), 0x00cf93000000ffffull);
	cr_assert_eq(regs_gdt_entry(0xc09b, 0, 0xfffff), 0x00cf9b000000ffffull);
	cr_assert_eq(regs_gdt_entry(0x808b, 0x12345678, 0xabcde), 0x128a8b345678bcdeull);
	cr_assert_eq(gm_init(&gm, 16 * MiB, 0), 0);
	cr_assert_eq(regs_write_gdt(&gm, REGS_BOOT_LONG64), 0);
	cr_assert_eq(gm_read(&gm, LAYOUT_GDT, gdt, sizeof(gdt)), 0);
	cr_assert_eq(gdt[0], 0);
	cr_assert_eq(gdt[GDT_SEL_CODE / 8], 0x00af9b000000ffffull);
	cr_assert_eq(gdt[GDT_SEL_DATA / 8], 0x00cf93000000ffffull);
	cr_assert_eq(regs_write_gdt(&gm, REGS_BOOT_PVH32), 0);
	cr_assert_eq(gm_read(&gm, LAYOUT_GDT, gdt, sizeof(gdt)), 0);
	cr_assert_eq(gdt[GDT_SEL_CODE / 8], 0x00cf9b000000ffffull);
	gm_destroy(&gm);
}
