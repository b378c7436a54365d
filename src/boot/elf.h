/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ELF vmlinux loading (64-bit x86_64, PT_LOAD at physical addresses) and
 * the PVH boot ABI that a "Xen" PHYS32_ENTRY note selects
 * (xen/include/public/arch-x86/hvm/start_info.h).  Pure functions of their
 * inputs plus guest-memory writes; any thread.
 */
#ifndef CLONE_BOOT_ELF_H
#define CLONE_BOOT_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/loader.h"
#include "vmm/mem.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18 /* xen/include/public/elfnote.h */

#define HVM_START_MAGIC 0x336ec578
#define HVM_START_VERSION 1 /* version 1 adds memmap_paddr/memmap_entries */

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* E820 type numbers */
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info ABI");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry ABI");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry ABI");

/* Inside the LAYOUT_PVH_INFO page: start info, one module, then the memory map. */
#define PVH_MODLIST_OFFSET 0x40
#define PVH_MEMMAP_OFFSET 0x80
#define PVH_MEMMAP_MAX ((4096 - PVH_MEMMAP_OFFSET) / sizeof(struct hvm_memmap_table_entry))

struct elf_info {
	uint64_t
		entry; /* 64-bit Linux entry, physical (e_entry, translated); 0 if unusable under PVH */
	bool pvh;      /* a XEN_ELFNOTE_PHYS32_ENTRY note was found */
	uint32_t pvh_entry; /* 32-bit PVH entry, physical */
	uint64_t start;	    /* lowest guest-physical byte a segment occupies */
	uint64_t end;	    /* one past the highest */
};

/* True when img starts with the ELF magic (any class). */
bool elf_is_elf(const void *img, size_t size);

/*
 * Validate an ELF64 x86_64 executable (untrusted) and copy every PT_LOAD
 * to its p_paddr, zeroing p_memsz beyond p_filesz.  Nothing is written
 * unless every segment checks out.  0 or -ENOEXEC with the message set.
 */
int elf_load(struct guest_mem *gm, const void *img, size_t size, struct elf_info *out);

/*
 * 1 if the ELF64 x86_64 file img has no PT_INTERP (statically linked), 0 if
 * it has one, -ENOEXEC (message set) when it is not such a file.
 */
int elf_is_static(const void *img, size_t size);

/*
 * Write hvm_start_info, the module list (the initrd, if any) and the memory
 * map into the LAYOUT_PVH_INFO page; the command line must already be at
 * LAYOUT_CMDLINE.  0, -EINVAL (too many E820 entries) or -EFAULT.
 */
int elf_write_start_info(struct guest_mem *gm, const struct boot_setup *in, uint64_t initrd_addr);

#endif
