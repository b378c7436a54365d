// SPDX-License-Identifier: Apache-2.0
/*
 * Guest RAM mapping and checked guest-physical access (see mem.h).  Set up
 * on the main thread; afterwards the tables are read-only and any thread may
 * translate addresses.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/x86/layout.h"
#include "lib/err.h"
#include "lib/util.h"
#include "mem.h"

#define GM_ALIGN (2 * MiB)

unsigned gm_layout(uint64_t ram_size, struct gm_region *out, unsigned max)
{
	uint64_t low = MIN(ram_size, LAYOUT_MMIO_HOLE);
	unsigned n = 0;

	if (!max || !ram_size)
		return 0;
	out[n++] = (struct gm_region){ .gpa = 0, .size = low };
	if (ram_size > low && n < max)
		out[n++] =
			(struct gm_region){ .gpa = LAYOUT_MMIO_HOLE_END, .size = ram_size - low };
	return n;
}

int gm_init(struct guest_mem *gm, uint64_t ram_size, unsigned flags)
{
	uint64_t off = 0;
	uint8_t *p;

	memset(gm, 0, sizeof(*gm));
	if (!ram_size || !IS_ALIGNED(ram_size, 4096))
		return err_setx(-EINVAL,
				"guest memory size %llu is not a positive multiple of 4 KiB",
				(unsigned long long)ram_size);
	/* Over-allocate address space by 2 MiB so the guest RAM can start 2 MiB aligned. */
	gm->map_raw_len = ram_size + GM_ALIGN;
	gm->map_raw = mmap(NULL, gm->map_raw_len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (gm->map_raw == MAP_FAILED) {
		gm->map_raw = NULL;
		return err_set(-errno, "map %llu MiB of guest memory",
			       (unsigned long long)(ram_size / MiB));
	}
	p = (uint8_t *)ALIGN_UP((uintptr_t)gm->map_raw, GM_ALIGN);
	gm->map = p;
	gm->map_len = ram_size;
	gm->ram_size = ram_size;
	if (flags & GM_MERGEABLE && madvise(p, ram_size, MADV_MERGEABLE) < 0) {
		int ret = err_set(-errno,
				  "madvise(MADV_MERGEABLE) on guest memory (is KSM built in?)");

		gm_destroy(gm);
		return ret;
	}
	if (flags & GM_HUGEPAGE)
		(void)madvise(p, ram_size, MADV_HUGEPAGE);
	gm->nr = gm_layout(ram_size, gm->regions, GM_MAX_REGIONS);
	for (unsigned i = 0; i < gm->nr; i++) {
		gm->regions[i].hva = p + off;
		off += gm->regions[i].size;
	}
	return 0;
}

void gm_destroy(struct guest_mem *gm)
{
	if (gm->map_raw)
		munmap(gm->map_raw, gm->map_raw_len);
	memset(gm, 0, sizeof(*gm));
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < gm->nr; i++) {
		const struct gm_region *r = &gm->regions[i];

		if (gpa < r->gpa)
			continue;
		if (gpa - r->gpa >= r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *buf, size_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *buf, size_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

uint64_t gm_end(const struct guest_mem *gm)
{
	return gm->nr ? gm->regions[gm->nr - 1].gpa + gm->regions[gm->nr - 1].size : 0;
}
