/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest RAM.  One MAP_NORESERVE mapping, 2 MiB aligned, split into KVM
 * memory slots around the 32-bit MMIO hole: RAM past the hole start is
 * relocated above 4 GiB.  gm_ptr() is the only road from a guest-physical
 * address to a host pointer; it checks the whole range.  Any thread: the
 * region table is fixed once the VM is built.
 */
#ifndef CLONE_VMM_MEM_H
#define CLONE_VMM_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GM_MAX_REGIONS 4

struct gm_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_mem {
	struct gm_region regions[GM_MAX_REGIONS];
	unsigned nr;
	uint8_t *map;	   /* the whole mapping (2 MiB aligned) */
	size_t map_len;	   /* bytes mapped (guest RAM) */
	uint64_t ram_size; /* bytes of guest RAM */
	void *map_raw;	   /* what mmap returned, for munmap */
	size_t map_raw_len;
};

enum {
	GM_MERGEABLE = 1u << 0, /* madvise(MADV_MERGEABLE): let KSM share pages */
	GM_HUGEPAGE = 1u << 1,	/* madvise(MADV_HUGEPAGE) */
};

/* The slot layout for ram_size bytes, without mapping anything (pure). */
unsigned gm_layout(uint64_t ram_size, struct gm_region *out, unsigned max);
/* Map ram_size bytes of anonymous guest RAM.  0 or -errno with the message set. */
int gm_init(struct guest_mem *gm, uint64_t ram_size, unsigned flags);
void gm_destroy(struct guest_mem *gm);
/* Host pointer for [gpa, gpa+len) if it lies wholly in one region, else NULL. */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);
/* Copy to/from guest memory; -EFAULT when the range is not RAM. */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *buf, size_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *buf, size_t len);
/* Highest guest-physical address + 1 that is RAM. */
uint64_t gm_end(const struct guest_mem *gm);

#endif
