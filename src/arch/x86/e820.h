/* SPDX-License-Identifier: Apache-2.0 */
/* The BIOS-style E820 memory map handed to the guest (zero page or PVH memmap). */
#ifndef CLONE_ARCH_X86_E820_H
#define CLONE_ARCH_X86_E820_H

#include <stdint.h>

#include "vmm/mem.h"

#define E820_RAM 1
#define E820_RESERVED 2
#define E820_MAX 16

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

_Static_assert(sizeof(struct e820_entry) == 20, "E820 entries are 20 bytes in boot_params");

/*
 * Fill out[] with the map matching gm: low RAM below the EBDA, the EBDA and
 * BIOS/ACPI area reserved, RAM from 1 MiB to the hole, RAM above 4 GiB.
 * Returns the entry count (pure; no guest writes).
 */
unsigned e820_build(const struct guest_mem *gm, struct e820_entry *out, unsigned max);

#endif
