/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A struct guest_mem over malloc'ed memory for unit tests and fuzz targets:
 * any region layout (up to GM_MAX_REGIONS), so tests can place rings and
 * buffers at the end of RAM, in a hole between regions, or across it.
 * Single-threaded setup; gm_ptr() and friends work on it unchanged.
 */
#ifndef CLONE_TESTS_FAKE_MEM_H
#define CLONE_TESTS_FAKE_MEM_H

#include <stdint.h>

#include "vmm/mem.h"

/*
 * The standard test layout: [0, FAKE_MEM_LOW) is RAM, then a hole up to
 * FAKE_MEM_HIGH, then FAKE_MEM_HIGH_SIZE bytes of RAM.
 */
#define FAKE_MEM_LOW 0x100000ull       /* 1 MiB */
#define FAKE_MEM_HIGH 0x200000ull      /* 2 MiB */
#define FAKE_MEM_HIGH_SIZE 0x100000ull /* 1 MiB */

/* Back regions[0..nr) (gpa and size set, sorted, disjoint) with zeroed memory; 0 or -errno. */
int fake_mem_init(struct guest_mem *gm, const struct gm_region *regions, unsigned nr);
/* The standard layout above. */
int fake_mem_init_std(struct guest_mem *gm);
void fake_mem_destroy(struct guest_mem *gm);
/* Host pointer to gpa, which must be RAM (a test bug otherwise: returns NULL). */
void *fake_mem_at(const struct guest_mem *gm, uint64_t gpa);

#endif
