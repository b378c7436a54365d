/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Boot-time CPU state: GDT and identity page tables in guest memory, then
 * the registers, FPU, MSRs and LAPIC LINT pins of each vCPU.  Main thread,
 * before vCPU threads start.
 */
#ifndef CLONE_ARCH_X86_REGS_H
#define CLONE_ARCH_X86_REGS_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/mem.h"

enum regs_boot_mode {
	REGS_BOOT_LONG64, /* Linux 64-bit entry: paging on, RSI = zero page */
	REGS_BOOT_PVH32,  /* PVH: 32-bit protected mode, paging off, EBX = start info */
};

/* GDT selectors Clone's boot GDT uses. */
#define GDT_SEL_CODE 0x08
#define GDT_SEL_DATA 0x10
#define GDT_SEL_TSS 0x18

/* Write the GDT/IDT for mode at LAYOUT_GDT/LAYOUT_IDT; 0 or -EFAULT. */
int regs_write_gdt(struct guest_mem *gm, enum regs_boot_mode mode);
/* Write PML4, PDPT and LAYOUT_PD_COUNT page directories identity-mapping 64 GiB with 2 MiB pages. */
int regs_write_page_tables(struct guest_mem *gm);
/* The GDT entry encoding for (flags, base, limit) (pure; exposed for tests). */
uint64_t regs_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);

/*
 * Set every register of a vCPU for boot.  The bootstrap processor gets the
 * entry point; application processors only get FPU/MSR/LAPIC defaults and
 * wait for INIT/SIPI from the BSP through the in-kernel LAPIC.
 */
int regs_setup_vcpu(int vcpu_fd, bool bsp, enum regs_boot_mode mode, uint64_t ip,
		    uint64_t boot_info);

#endif
