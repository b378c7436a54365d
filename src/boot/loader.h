/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Putting a Linux kernel into guest memory: detect the format (bzImage or
 * ELF vmlinux), load it, place the command line and initrd, and write the
 * boot information the entry point expects (zero page or PVH start info).
 * Main thread, while the VM is built, before any vCPU runs.
 */
#ifndef CLONE_BOOT_LOADER_H
#define CLONE_BOOT_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/e820.h"
#include "vmm/mem.h"

struct boot_setup {
	const char *cmdline; /* NUL-terminated; NULL means empty */
	const void *initrd;  /* may be NULL/0 */
	size_t initrd_size;
	uint64_t rsdp; /* ACPI RSDP guest-physical address (0: none) */
	const struct e820_entry *e820;
	unsigned e820_nr;
};

enum boot_entry_mode { BOOT_ENTRY_LINUX64, BOOT_ENTRY_PVH32 };

struct boot_entry {
	enum boot_entry_mode mode;
	/* 64-bit entry (bzImage: load addr + 0x200; ELF: e_entry physical) or PVH 32-bit entry */
	uint64_t ip;
	/* LINUX64: zero page GPA (goes in RSI); PVH32: hvm_start_info GPA (goes in EBX) */
	uint64_t boot_info;
	/* Where things went, for logs and tests. */
	uint64_t kernel_start, kernel_end; /* [start, end): memory the kernel claims */
	uint64_t initrd_addr;		   /* 0 when there is no initrd */
};

/*
 * Load kernel (bzImage or ELF vmlinux; untrusted bytes) + cmdline + initrd
 * into gm and write the zero page / start info.  Writes only through
 * gm_ptr()-checked ranges.  0, or with the message set:
 *   -ENOEXEC  garbage, truncated or unsupported image
 *             ("kernel: not a bzImage or ELF vmlinux", "kernel: truncated
 *             bzImage: setup needs N bytes, file has M", ...);
 *   -EINVAL   bad setup (command line longer than the kernel accepts, too
 *             many E820 entries);
 *   -ENOMEM   guest RAM cannot hold the kernel;
 *   -ENOSPC   the initrd does not fit where the kernel can reach it.
 */
int loader_load(struct guest_mem *gm, const void *kernel, size_t size, const struct boot_setup *in,
		struct boot_entry *out);

#endif
