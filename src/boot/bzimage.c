// SPDX-License-Identifier: Apache-2.0
/*
 * bzImage parsing and loading after the Linux x86 boot protocol
 * (Documentation/arch/x86/boot.rst).  Every byte of the image is
 * untrusted: each size in the header is checked against the file before it
 * is used, and guest writes go through gm_ptr().  Runs on the main thread
 * while the VM is built; no state, no locks.
 */
#include <errno.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "bzimage.h"
#include "lib/err.h"
#include "lib/util.h"

#define SECTOR 512
#define DIV_ROUND_UP(n, d) (((n) + (d)-1) / (d))
#define HDR_MIN_END 0x208 /* through "HdrS" and the version: enough to decide anything */

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int bzimage_parse(const void *img, size_t size, struct bzimage_info *out)
{
	const uint8_t *p = img; /* untrusted */
	struct setup_header h;
	uint64_t pm_size;
	size_t hdr_end;

	memset(out, 0, sizeof(*out));
	if (size < HDR_MIN_END) {
		/* EFI-stub kernels (every distro kernel) start with the PE "MZ" signature. */
		if (size >= 2 && p[0] == 'M' && p[1] == 'Z')
			return err_setx(-ENOEXEC,
					"kernel: truncated bzImage: setup header needs %d bytes, "
					"file has %zu",
					HDR_MIN_END, size);
		return err_setx(-ENOEXEC, "kernel: not a bzImage (%zu bytes is too short)", size);
	}
	if (le16(p + 0x1fe) != BZ_BOOT_FLAG || le32(p + 0x202) != BZ_HDRS_MAGIC)
		return err_setx(-ENOEXEC,
				"kernel: not a bzImage (no boot flag 0xAA55 and \"HdrS\" magic)");
	/* boot.rst: the header ends at 0x202 + the byte at 0x201 (the jump's offset). */
	hdr_end = 0x202 + p[0x201];
	if (hdr_end < HDR_MIN_END || hdr_end > BZ_HDR_END_MAX)
		return err_setx(-ENOEXEC,
				"kernel: bzImage setup header ends at 0x%zx, outside 0x%x..0x%x",
				hdr_end, HDR_MIN_END, BZ_HDR_END_MAX);
	out->hdr_end = hdr_end;
	/* boot.rst: "If this field is 0, the real value is 4." */
	out->setup_sects = p[0x1f1] ? p[0x1f1] : 4;
	out->setup_size = (size_t)(out->setup_sects + 1) * SECTOR;
	if (size < out->setup_size)
		return err_setx(-ENOEXEC,
				"kernel: truncated bzImage: setup needs %zu bytes, file has %zu",
				out->setup_size, size);
	/* setup_size >= 5 * 512 > BZ_HDR_END_MAX: the whole header is in the file. */
	memcpy(&h, p + BZ_HDR_OFFSET, sizeof(h));
	out->protocol = h.version;
	out->loadflags = h.loadflags;
	/* Fields newer than the image's protocol are not part of its header: use boot.rst's defaults. */
	out->initrd_addr_max = h.version >= 0x0203 ? h.initrd_addr_max : 0x37ffffff;
	if (h.version >= 0x0205) {
		out->relocatable = h.relocatable_kernel != 0;
		out->kernel_alignment = h.kernel_alignment;
	}
	out->cmdline_size = h.version >= 0x0206 ? h.cmdline_size : 255;
	if (h.version >= 0x020a) {
		out->pref_address = h.pref_address;
		out->init_size = h.init_size;
	}
	if (h.version >= 0x020c) {
		out->xloadflags = h.xloadflags;
		out->kernel_64 = h.xloadflags & BZ_XLF_KERNEL_64;
	}
	/* syssize is 32 bits from protocol 2.04 on; earlier only its low word counts. */
	pm_size = (uint64_t)(h.version >= 0x0204 ? h.syssize : (h.syssize & 0xffff)) * 16;
	if (!pm_size)
		return err_setx(-ENOEXEC, "kernel: bzImage has no protected-mode part (syssize 0)");
	/* Signed kernels carry more than syssize after setup (the PE signature): fine. */
	if (pm_size > size - out->setup_size)
		return err_setx(-ENOEXEC,
				"kernel: truncated bzImage: protected-mode part needs %llu bytes, "
				"file has %zu",
				(unsigned long long)pm_size, size - out->setup_size);
	out->pm_size = (size_t)pm_size;
	return 0;
}

int bzimage_version(const void *img, size_t size, char *buf, size_t len)
{
	const uint8_t *p = img;
	struct bzimage_info info;
	size_t off, n = 0;
	uint16_t kv;
	int ret;

	ret = bzimage_parse(img, size, &info);
	if (ret)
		return ret;
	if (info.protocol < 0x0200 || info.hdr_end < 0x210)
		return err_setx(-ENOENT, "kernel: bzImage records no version string");
	kv = le16(p + 0x20e); /* untrusted */
	if (!kv)
		return err_setx(-ENOENT, "kernel: bzImage records no version string");
	/* boot.rst: a pointer to a NUL-terminated string, less 0x200; it lives in setup. */
	off = (size_t)kv + 0x200;
	if (off >= info.setup_size)
		return err_setx(-ENOEXEC,
				"kernel: bzImage version string offset 0x%zx is outside setup",
				off);
	while (off + n < info.setup_size && p[off + n] > ' ' && p[off + n] < 0x7f)
		n++;
	if (!n || off + n == info.setup_size || (p[off + n] != ' ' && p[off + n] != '\0'))
		return err_setx(-ENOEXEC, "kernel: bzImage version string is malformed");
	if (n >= len)
		return err_setx(-ENOSPC,
				"kernel: version string (%zu bytes) does not fit the buffer", n);
	memcpy(buf, p + off, n);
	buf[n] = '\0';
	return 0;
}

/*
 * Where the protected-mode part goes.  pref_address (LOAD_PHYSICAL_ADDR,
 * 16 MiB on distro kernels) rather than the traditional 1 MiB: the
 * decompressor relocates itself to max(load address rounded up to
 * kernel_alignment, LOAD_PHYSICAL_ADDR) and uses init_size bytes from
 * there (arch/x86/boot/compressed/head_64.S), so a kernel loaded at 1 MiB
 * needs RAM at 16 MiB anyway and additionally dirties 8+ MiB at 1 MiB.
 * Loading at pref_address keeps the whole footprint in one range that the
 * kernel claims regardless: fewer touched pages to snapshot, fork or merge.
 */
static uint64_t load_address(const struct bzimage_info *info)
{
	uint64_t a = info->pref_address;

	if (a < LAYOUT_HIGH_MEM || !IS_ALIGNED(a, 4096))
		return LAYOUT_HIGH_MEM;
	if (info->relocatable && !IS_ALIGNED(a, (uint64_t)info->kernel_alignment))
		return LAYOUT_HIGH_MEM;
	return a;
}

int bzimage_load(struct guest_mem *gm, const void *img, size_t size,
		 const struct bzimage_info *info, uint64_t *load_addr, uint64_t *footprint_end)
{
	const uint8_t *p = img;
	uint64_t addr, need;
	void *dst;

	if (info->protocol < BZ_MIN_PROTOCOL)
		return err_setx(
			-ENOEXEC,
			"kernel: bzImage boot protocol %u.%02u is too old: the 64-bit entry "
			"needs 2.12 or newer (Linux 3.8+)",
			info->protocol >> 8, info->protocol & 0xff);
	if (!info->kernel_64)
		return err_setx(-ENOEXEC,
				"kernel: bzImage has no 64-bit entry point (XLF_KERNEL_64 clear): "
				"a 32-bit kernel?");
	if (!(info->loadflags & BZ_LOADED_HIGH))
		return err_setx(-ENOEXEC, "kernel: zImage (loaded low) is not supported");
	if (info->relocatable &&
	    (!info->kernel_alignment || (info->kernel_alignment & (info->kernel_alignment - 1))))
		return err_setx(-ENOEXEC,
				"kernel: bzImage kernel_alignment 0x%x is not a power of two",
				info->kernel_alignment);
	if (info->setup_size > size || info->pm_size > size - info->setup_size)
		return err_setx(-ENOEXEC, "kernel: bzImage info does not match the file");
	addr = load_address(info);
	need = MAX((uint64_t)info->init_size, (uint64_t)info->pm_size);
	dst = gm_ptr(gm, addr, need);
	if (!dst)
		return err_setx(
			-ENOMEM,
			"kernel: guest RAM too small: the kernel needs %llu MiB from %llu MiB "
			"(init_size), guest RAM ends at %llu MiB below the 32-bit hole",
			(unsigned long long)DIV_ROUND_UP(need, MiB),
			(unsigned long long)(addr / MiB),
			(unsigned long long)(MIN(gm_end(gm), LAYOUT_MMIO_HOLE) / MiB));
	/* Only the file's bytes: the rest of init_size is fresh (zero) guest RAM; touching it
	 * would cost host memory for nothing. */
	memcpy(dst, p + info->setup_size, info->pm_size);
	*load_addr = addr;
	*footprint_end = addr + need;
	return 0;
}

void bzimage_init_params(struct boot_params *bp, const void *img, const struct bzimage_info *info)
{
	memset(bp, 0, sizeof(*bp));
	/* boot.rst, 64-bit boot protocol: the setup header goes into the zero page as is;
	 * hdr_end <= BZ_HDR_END_MAX keeps the copy inside the page's header area. */
	memcpy((uint8_t *)bp + BZ_HDR_OFFSET, (const uint8_t *)img + BZ_HDR_OFFSET,
	       info->hdr_end - BZ_HDR_OFFSET);
}
