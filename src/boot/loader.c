// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel loading front end (see loader.h): detects bzImage or ELF vmlinux,
 * lets bzimage.c/elf.c place the kernel, then does what every format
 * shares: the command line at LAYOUT_CMDLINE, the initrd as high as the
 * kernel allows, and the zero page (Linux 64-bit entry) or hvm_start_info
 * (PVH).  Main thread while the VM is built; no state, no locks.
 */
#include <errno.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "bzimage.h"
#include "elf.h"
#include "lib/err.h"
#include "lib/util.h"
#include "loader.h"

/*
 * An ELF vmlinux has no setup header to say how high the initrd may go;
 * use what every protocol-2.03+ bzImage advertises (2 GiB - 1).
 */
#define ELF_INITRD_ADDR_MAX 0x7fffffffull
#define INITRD_ALIGN 4096ull

/* The limits the kernel's format imposes on what loader.c places. */
struct kernel_limits {
	uint64_t start, end;	  /* [start, end): memory the kernel claims */
	uint64_t initrd_addr_max; /* highest byte the initrd may occupy */
	uint32_t cmdline_size;	  /* longest command line, NUL excluded */
};

static int write_cmdline(struct guest_mem *gm, const char *cmdline, uint32_t max)
{
	size_t n = strlen(cmdline);

	if (n > max || n + 1 > LAYOUT_CMDLINE_MAX)
		return err_setx(-EINVAL,
				"kernel command line is %zu bytes; this kernel accepts at most %u",
				n, (unsigned)MIN((uint64_t)max, LAYOUT_CMDLINE_MAX - 1));
	if (gm_write(gm, LAYOUT_CMDLINE, cmdline, n + 1))
		return err_setx(-EFAULT, "guest RAM does not cover the command line at 0x%llx",
				LAYOUT_CMDLINE);
	return 0;
}

/* End of the RAM region that starts at 0 (low RAM, below the 32-bit hole). */
static uint64_t low_ram_end(const struct guest_mem *gm)
{
	for (unsigned i = 0; i < gm->nr; i++)
		if (gm->regions[i].gpa == 0)
			return gm->regions[i].size;
	return 0;
}

/*
 * The initrd goes as high as possible below min(initrd_addr_max + 1, end of
 * low RAM, the MMIO hole), page aligned, never overlapping the kernel: the
 * kernel's decompressor and early allocations grow upwards from the kernel,
 * so the top of RAM is the spot least likely to be in the way (boot.rst
 * recommends the same).  Below the kernel, above 1 MiB, is the fallback.
 */
static int place_initrd(const struct guest_mem *gm, const struct kernel_limits *k, size_t size,
			uint64_t *out)
{
	uint64_t limit = MIN(k->initrd_addr_max + 1, MIN(low_ram_end(gm), LAYOUT_MMIO_HOLE));
	uint64_t addr;

	*out = 0;
	if (!size)
		return 0;
	if (size <= limit) {
		addr = ALIGN_DOWN(limit - size, INITRD_ALIGN);
		if (addr >= LAYOUT_HIGH_MEM && (addr >= k->end || addr + size <= k->start))
			goto found;
		if (k->start >= size) {
			addr = ALIGN_DOWN(k->start - size, INITRD_ALIGN);
			if (addr >= LAYOUT_HIGH_MEM)
				goto found;
		}
	}
	return err_setx(-ENOSPC,
			"initrd (%llu MiB) does not fit in guest RAM below %llu MiB beside the "
			"kernel (%llu-%llu MiB): raise --mem-mb",
			(unsigned long long)((size + MiB - 1) / MiB),
			(unsigned long long)(limit / MiB), (unsigned long long)(k->start / MiB),
			(unsigned long long)((k->end + MiB - 1) / MiB));
found:
	*out = addr;
	return 0;
}

static int write_initrd(struct guest_mem *gm, const struct boot_setup *in, uint64_t addr)
{
	if (!in->initrd_size)
		return 0;
	if (gm_write(gm, addr, in->initrd, in->initrd_size))
		return err_setx(-EFAULT, "initrd does not fit guest RAM at 0x%llx",
				(unsigned long long)addr);
	return 0;
}

/*
 * Fill what the loader owns in a zero page that already carries the setup
 * header (boot.rst, "Details of header fields" and the 64-bit boot
 * protocol), then write it at LAYOUT_ZERO_PAGE.
 */
static int write_zero_page(struct guest_mem *gm, struct boot_params *bp,
			   const struct boot_setup *in, uint64_t initrd_addr)
{
	struct setup_header *h = &bp->hdr;

	if (in->e820_nr > BZ_E820_MAX)
		return err_setx(-EINVAL, "zero page: %u E820 entries, at most %d fit", in->e820_nr,
				BZ_E820_MAX);
	h->type_of_loader = BZ_LOADER_UNDEFINED;
	h->loadflags |= BZ_LOADED_HIGH | BZ_CAN_USE_HEAP;
	h->heap_end_ptr = BZ_HEAP_END_PTR;
	h->cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
	bp->ext_cmd_line_ptr = 0;
	h->ramdisk_image = (uint32_t)initrd_addr;
	h->ramdisk_size = (uint32_t)in->initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(initrd_addr >> 32);
	bp->ext_ramdisk_size = (uint32_t)((uint64_t)in->initrd_size >> 32);
	h->setup_data = 0; /* no setup_data list: whatever the file said is meaningless here */
	bp->sentinel = 0;
	bp->e820_entries = (uint8_t)in->e820_nr;
	if (in->e820_nr)
		memcpy(bp->e820_table, in->e820, in->e820_nr * sizeof(in->e820[0]));
	/* acpi_rsdp_addr is part of the protocol from 2.14; older kernels scan 0xe0000. */
	if (h->version >= BZ_PROTOCOL_RSDP)
		bp->acpi_rsdp_addr = in->rsdp;
	if (gm_write(gm, LAYOUT_ZERO_PAGE, bp, sizeof(*bp)))
		return err_setx(-EFAULT, "guest RAM does not cover the zero page");
	return 0;
}

/* cmdline, initrd and zero page for the Linux 64-bit entry. */
static int finish_linux64(struct guest_mem *gm, const struct boot_setup *in,
			  const struct kernel_limits *k, struct boot_params *bp,
			  struct boot_entry *out)
{
	int ret;

	ret = write_cmdline(gm, in->cmdline, k->cmdline_size);
	if (!ret)
		ret = place_initrd(gm, k, in->initrd_size, &out->initrd_addr);
	if (!ret)
		ret = write_initrd(gm, in, out->initrd_addr);
	if (!ret)
		ret = write_zero_page(gm, bp, in, out->initrd_addr);
	if (ret)
		return ret;
	out->mode = BOOT_ENTRY_LINUX64;
	out->boot_info = LAYOUT_ZERO_PAGE;
	out->kernel_start = k->start;
	out->kernel_end = k->end;
	return 0;
}

static int load_bzimage(struct guest_mem *gm, const void *img, size_t size,
			const struct boot_setup *in, struct boot_entry *out)
{
	struct bzimage_info info;
	struct boot_params bp;
	struct kernel_limits k;
	uint64_t addr, end;
	int ret;

	ret = bzimage_parse(img, size, &info);
	if (!ret)
		ret = bzimage_load(gm, img, size, &info, &addr, &end);
	if (ret)
		return ret;
	k = (struct kernel_limits){
		.start = addr,
		.end = end,
		.initrd_addr_max = info.initrd_addr_max,
		.cmdline_size = info.cmdline_size,
	};
	bzimage_init_params(&bp, img, &info);
	out->ip = addr + BZ_ENTRY64_OFFSET;
	return finish_linux64(gm, in, &k, &bp, out);
}

/*
 * A vmlinux has no setup header; synthesise the fields the kernel reads on
 * the 64-bit path (as Firecracker does): the magics, a protocol version
 * that has acpi_rsdp_addr, and the limits Clone applied.
 */
static void synth_params(struct boot_params *bp, const struct kernel_limits *k)
{
	memset(bp, 0, sizeof(*bp));
	bp->hdr.boot_flag = BZ_BOOT_FLAG;
	bp->hdr.header = BZ_HDRS_MAGIC;
	bp->hdr.version = 0x020f;
	bp->hdr.cmdline_size = k->cmdline_size;
	bp->hdr.initrd_addr_max = (uint32_t)k->initrd_addr_max;
	bp->hdr.kernel_alignment = 2 * MiB;
}

static int load_elf(struct guest_mem *gm, const void *img, size_t size, const struct boot_setup *in,
		    struct boot_entry *out)
{
	struct boot_params bp;
	struct kernel_limits k;
	struct elf_info info;
	int ret;

	ret = elf_load(gm, img, size, &info);
	if (ret)
		return ret;
	k = (struct kernel_limits){
		.start = info.start,
		.end = info.end,
		.initrd_addr_max = ELF_INITRD_ADDR_MAX,
		/* x86's COMMAND_LINE_SIZE is fixed at 2048; the kernel would truncate silently. */
		.cmdline_size = BZ_COMMAND_LINE_SIZE - 1,
	};
	if (!info.pvh) {
		synth_params(&bp, &k);
		out->ip = info.entry;
		return finish_linux64(gm, in, &k, &bp, out);
	}
	ret = write_cmdline(gm, in->cmdline, k.cmdline_size);
	if (!ret)
		ret = place_initrd(gm, &k, in->initrd_size, &out->initrd_addr);
	if (!ret)
		ret = write_initrd(gm, in, out->initrd_addr);
	if (!ret)
		ret = elf_write_start_info(gm, in, out->initrd_addr);
	if (ret)
		return ret;
	out->mode = BOOT_ENTRY_PVH32;
	out->ip = info.pvh_entry;
	out->boot_info = LAYOUT_PVH_INFO;
	out->kernel_start = k.start;
	out->kernel_end = k.end;
	return 0;
}

int loader_load(struct guest_mem *gm, const void *kernel, size_t size, const struct boot_setup *in,
		struct boot_entry *out)
{
	const uint8_t *p = kernel; /* untrusted */
	struct boot_setup s = *in;

	memset(out, 0, sizeof(*out));
	if (!s.cmdline)
		s.cmdline = "";
	if (s.initrd_size && !s.initrd)
		return err_setx(-EINVAL, "loader: initrd of %zu bytes without data", s.initrd_size);
	if (s.e820_nr && !s.e820)
		return err_setx(-EINVAL, "loader: E820 map of %u entries without data", s.e820_nr);
	if (!size)
		return err_setx(-ENOEXEC, "kernel: empty file");
	if (elf_is_elf(kernel, size))
		return load_elf(gm, kernel, size, &s, out);
	/* "HdrS" decides; "MZ" alone (EFI stub) is a bzImage cut short. */
	if ((size >= 0x206 && !memcmp(p + 0x202, "HdrS", 4)) ||
	    (size >= 2 && p[0] == 'M' && p[1] == 'Z'))
		return load_bzimage(gm, kernel, size, &s, out);
	return err_setx(-ENOEXEC, "kernel: not a bzImage or ELF vmlinux");
}
