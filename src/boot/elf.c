// SPDX-License-Identifier: Apache-2.0
/*
 * ELF vmlinux loading and the PVH start info (see elf.h).  The file is
 * untrusted: headers are copied out with memcpy (no unaligned casts), every
 * offset and size is checked against the file with overflow-safe
 * arithmetic, and every destination range must lie wholly in one guest RAM
 * region (gm_ptr) before anything is written.  Main thread while the VM is
 * built; no state, no locks.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "elf.h"
#include "lib/err.h"
#include "lib/util.h"

/* [off, off + len) lies within a file of size bytes (no overflow). */
static bool in_file(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

bool elf_is_elf(const void *img, size_t size)
{
	return size >= SELFMAG && !memcmp(img, ELFMAG, SELFMAG);
}

/* Check the ELF header and the program header table; copy the header out. */
static int check_header(const void *img, size_t size, Elf64_Ehdr *eh)
{
	const unsigned char *id = img;

	if (!elf_is_elf(img, size))
		return err_setx(-ENOEXEC, "kernel: not an ELF file");
	if (size < sizeof(*eh))
		return err_setx(-ENOEXEC,
				"kernel: truncated ELF: header needs %zu bytes, file has %zu",
				sizeof(*eh), size);
	if (id[EI_CLASS] != ELFCLASS64 || id[EI_DATA] != ELFDATA2LSB)
		return err_setx(-ENOEXEC,
				"kernel: ELF is not 64-bit little-endian (a 32-bit vmlinux?)");
	memcpy(eh, img, sizeof(*eh));
	if (eh->e_machine != EM_X86_64)
		return err_setx(-ENOEXEC, "kernel: ELF machine %u is not x86_64", eh->e_machine);
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return err_setx(-ENOEXEC, "kernel: ELF type %u is not an executable", eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum || eh->e_phnum == PN_XNUM)
		return err_setx(-ENOEXEC,
				"kernel: ELF program header table is malformed "
				"(entry size %u, %u entries)",
				eh->e_phentsize, eh->e_phnum);
	if (!in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), size))
		return err_setx(-ENOEXEC,
				"kernel: truncated ELF: program headers run past the end");
	return 0;
}

static void get_phdr(const void *img, const Elf64_Ehdr *eh, unsigned i, Elf64_Phdr *ph)
{
	memcpy(ph, (const uint8_t *)img + eh->e_phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
}

/* Walk the notes in [off, off + len) of the file for Xen's PHYS32_ENTRY. */
static bool find_pvh_note(const uint8_t *img, uint64_t off, uint64_t len, uint32_t *entry)
{
	uint64_t pos = 0;

	while (len - pos >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name, desc, next;

		memcpy(&nh, img + off + pos, sizeof(nh)); /* untrusted */
		name = pos + sizeof(nh);
		/* ELF notes: name and descriptor are each padded to 4 bytes. */
		desc = name + ALIGN_UP((uint64_t)nh.n_namesz, 4);
		next = desc + ALIGN_UP((uint64_t)nh.n_descsz, 4);
		if (next > len || desc + nh.n_descsz > len)
			return false;
		/* Linux: ELFNOTE(Xen, XEN_ELFNOTE_PHYS32_ENTRY, _ASM_PTR pvh_start_xen - ...):
		 * a 4- or 8-byte little-endian physical address. */
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(img + off + name, "Xen", 4) && (nh.n_descsz == 4 || nh.n_descsz == 8)) {
			uint64_t v = 0;

			memcpy(&v, img + off + desc, nh.n_descsz);
			if (v > UINT32_MAX)
				return false;
			*entry = (uint32_t)v;
			return true;
		}
		pos = next;
	}
	return false;
}

/* The PVH entry from a PT_NOTE segment or, failing that, an SHT_NOTE section. */
static bool pvh_entry(const uint8_t *img, size_t size, const Elf64_Ehdr *eh, uint32_t *entry)
{
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		get_phdr(img, eh, i, &ph);
		if (ph.p_type == PT_NOTE && in_file(ph.p_offset, ph.p_filesz, size) &&
		    find_pvh_note(img, ph.p_offset, ph.p_filesz, entry))
			return true;
	}
	if (!eh->e_shoff || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), size))
		return false;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		Elf64_Shdr sh;

		memcpy(&sh, img + eh->e_shoff + (uint64_t)i * sizeof(sh), sizeof(sh));
		if (sh.sh_type == SHT_NOTE && in_file(sh.sh_offset, sh.sh_size, size) &&
		    find_pvh_note(img, sh.sh_offset, sh.sh_size, entry))
			return true;
	}
	return false;
}

/*
 * vmlinux's e_entry is physical (ENTRY(phys_startup_64)); translate through
 * the segments if an image gives a virtual one instead.
 */
static int entry_point(const struct guest_mem *gm, const uint8_t *img, const Elf64_Ehdr *eh,
		       uint64_t *out)
{
	if (gm_ptr(gm, eh->e_entry, 1)) {
		*out = eh->e_entry;
		return 0;
	}
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		get_phdr(img, eh, i, &ph);
		if (ph.p_type != PT_LOAD || eh->e_entry < ph.p_vaddr ||
		    eh->e_entry - ph.p_vaddr >= ph.p_memsz)
			continue;
		*out = eh->e_entry - ph.p_vaddr + ph.p_paddr;
		return 0;
	}
	return err_setx(-ENOEXEC,
			"kernel: ELF entry point 0x%llx is neither in guest RAM nor in a "
			"loaded segment",
			(unsigned long long)eh->e_entry);
}

int elf_load(struct guest_mem *gm, const void *img, size_t size, struct elf_info *out)
{
	const uint8_t *p = img; /* untrusted */
	unsigned nr_load = 0;
	Elf64_Ehdr eh = { 0 };
	int ret;

	memset(out, 0, sizeof(*out));
	ret = check_header(img, size, &eh);
	if (ret)
		return ret;
	out->start = UINT64_MAX;
	/* Check every segment before writing any, so a bad file leaves guest RAM alone. */
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		get_phdr(img, &eh, i, &ph);
		if (ph.p_type != PT_LOAD)
			continue;
		if (!in_file(ph.p_offset, ph.p_filesz, size))
			return err_setx(-ENOEXEC,
					"kernel: truncated ELF: segment %u needs bytes up to %llu, "
					"file has %zu",
					i, (unsigned long long)ph.p_offset + ph.p_filesz, size);
		if (ph.p_filesz > ph.p_memsz)
			return err_setx(
				-ENOEXEC,
				"kernel: ELF segment %u has more file bytes (%llu) than memory "
				"(%llu)",
				i, (unsigned long long)ph.p_filesz, (unsigned long long)ph.p_memsz);
		if (!ph.p_memsz)
			continue;
		/* Below 1 MiB live the zero page, page tables and command line. */
		if (ph.p_paddr < LAYOUT_HIGH_MEM)
			return err_setx(
				-ENOEXEC,
				"kernel: ELF segment %u at 0x%llx overlaps the boot area below "
				"1 MiB",
				i, (unsigned long long)ph.p_paddr);
		if (!gm_ptr(gm, ph.p_paddr, ph.p_memsz))
			return err_setx(
				-ENOEXEC,
				"kernel: ELF segment %u [0x%llx, +0x%llx) is not inside guest RAM",
				i, (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz);
		out->start = MIN(out->start, ph.p_paddr);
		out->end = MAX(out->end, ph.p_paddr + ph.p_memsz);
		nr_load++;
	}
	if (!nr_load)
		return err_setx(-ENOEXEC, "kernel: ELF has no loadable segment");
	out->pvh = pvh_entry(p, size, &eh, &out->pvh_entry);
	if (out->pvh && !gm_ptr(gm, out->pvh_entry, 1))
		return err_setx(-ENOEXEC, "kernel: PVH entry point 0x%x is not in guest RAM",
				out->pvh_entry);
	/* PVH boots never use e_entry: only insist on it when it is the way in. */
	ret = entry_point(gm, p, &eh, &out->entry);
	if (ret && !out->pvh)
		return ret;
	if (ret)
		err_clear();
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint8_t *dst;

		get_phdr(img, &eh, i, &ph);
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		dst = gm_ptr(gm, ph.p_paddr, ph.p_memsz); /* checked above */
		memcpy(dst, p + ph.p_offset, ph.p_filesz);
		/* The bss: guest RAM may not be fresh (a reused guest_mem). */
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	return 0;
}

int elf_is_static(const void *img, size_t size)
{
	Elf64_Ehdr eh = { 0 };
	int ret = check_header(img, size, &eh);

	if (ret)
		return ret;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		get_phdr(img, &eh, i, &ph);
		if (ph.p_type == PT_INTERP)
			return 0;
	}
	return 1;
}

int elf_write_start_info(struct guest_mem *gm, const struct boot_setup *in, uint64_t initrd_addr)
{
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = HVM_START_VERSION,
		.cmdline_paddr = LAYOUT_CMDLINE,
		.rsdp_paddr = in->rsdp,
		.memmap_paddr = LAYOUT_PVH_INFO + PVH_MEMMAP_OFFSET,
		.memmap_entries = in->e820_nr,
	};
	struct hvm_memmap_table_entry map[PVH_MEMMAP_MAX];
	int ret;

	if (in->e820_nr > PVH_MEMMAP_MAX)
		return err_setx(-EINVAL, "PVH: %u memory map entries, at most %zu fit", in->e820_nr,
				PVH_MEMMAP_MAX);
	memset(map, 0, sizeof(map));
	for (unsigned i = 0; i < in->e820_nr; i++) {
		map[i].addr = in->e820[i].addr;
		map[i].size = in->e820[i].size;
		map[i].type = in->e820[i].type; /* start_info.h: E820 type numbers */
	}
	if (in->initrd_size) {
		struct hvm_modlist_entry mod = { .paddr = initrd_addr, .size = in->initrd_size };

		si.nr_modules = 1;
		si.modlist_paddr = LAYOUT_PVH_INFO + PVH_MODLIST_OFFSET;
		ret = gm_write(gm, si.modlist_paddr, &mod, sizeof(mod));
		if (ret)
			return err_setx(ret, "PVH: guest RAM does not cover the module list");
	}
	ret = gm_write(gm, si.memmap_paddr, map, in->e820_nr * sizeof(map[0]));
	if (!ret)
		ret = gm_write(gm, LAYOUT_PVH_INFO, &si, sizeof(si));
	if (ret)
		return err_setx(ret, "PVH: guest RAM does not cover the start info page");
	return 0;
}
