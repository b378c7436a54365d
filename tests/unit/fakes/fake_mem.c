// SPDX-License-Identifier: Apache-2.0
/*
 * Fake guest memory (see fake_mem.h): one calloc'ed buffer carved into the
 * requested regions, described by a struct guest_mem exactly like the real
 * one, so the code under test goes through the real gm_ptr().  Test-only;
 * single-threaded setup and teardown.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_mem.h"

int fake_mem_init(struct guest_mem *gm, const struct gm_region *regions, unsigned nr)
{
	uint64_t total = 0;
	uint8_t *p;

	memset(gm, 0, sizeof(*gm));
	if (nr > GM_MAX_REGIONS)
		return -EINVAL;
	for (unsigned i = 0; i < nr; i++)
		total += regions[i].size;
	p = calloc(1, total ? total : 1);
	if (!p)
		return -ENOMEM;
	gm->map = p;
	gm->map_len = total;
	gm->ram_size = total;
	gm->nr = nr;
	for (unsigned i = 0; i < nr; i++) {
		gm->regions[i] = regions[i];
		gm->regions[i].hva = p;
		p += regions[i].size;
	}
	return 0;
}

int fake_mem_init_std(struct guest_mem *gm)
{
	const struct gm_region layout[] = {
		{ .gpa = 0, .size = FAKE_MEM_LOW },
		{ .gpa = FAKE_MEM_HIGH, .size = FAKE_MEM_HIGH_SIZE },
	};

	return fake_mem_init(gm, layout, 2);
}

void fake_mem_destroy(struct guest_mem *gm)
{
	free(gm->map);
	memset(gm, 0, sizeof(*gm));
}

void *fake_mem_at(const struct guest_mem *gm, uint64_t gpa)
{
	return gm_ptr(gm, gpa, 1);
}
