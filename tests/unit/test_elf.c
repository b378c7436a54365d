// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: ELF vmlinux loading with and without the PVH note
 * (src/boot/elf.c through loader_load), on ELF files synthesised here and
 * on the real vmlinux unpacked from the /boot bzImage when xz can do it.
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "boot/bzimage.h"
#include "boot/elf.h"
#include "boot/kernel.h"
#include "boot/loader.h"
#include "lib/err.h"
#include "lib/util.h"
#include "vmm/mem.h"

#define RAM (256 * MiB)
#define LOAD (16 * MiB)
#define ENTRY (LOAD + 0x40)
#define PVH_ENTRY (LOAD + 0x850)
#define TEST_RSDP 0xe0000ull

#define cr_assert_msg_has(needle)                                                                  \
	cr_assert(strstr(err_msg(), (needle)), "message \"%s\" lacks \"%s\"", err_msg(), (needle))

struct seg {
	uint32_t type;
	uint64_t paddr, vaddr, memsz;
	const void *data;
	size_t filesz;
};

struct spec {
	uint64_t entry;
	struct seg segs[4];
	unsigned nsegs;
	const void *shnote; /* note bytes reachable only through an SHT_NOTE section */
	size_t shnote_len;
};

static uint8_t code[4096];

/* Notes: an unrelated Xen note first, then XEN_ELFNOTE_PHYS32_ENTRY with a descsz-byte value. */
static size_t make_notes(uint8_t *buf, uint64_t entry, unsigned descsz)
{
	Elf64_Nhdr n1 = { .n_namesz = 4, .n_descsz = 6, .n_type = 6 };
	Elf64_Nhdr n2 = { .n_namesz = 4, .n_descsz = descsz, .n_type = XEN_ELFNOTE_PHYS32_ENTRY };
	size_t off = 0;

	memcpy(buf + off, &n1, sizeof(n1));
	off += sizeof(n1);
	memcpy(buf + off, "Xen", 4);
	off += 4;
	memcpy(buf + off, "linux\0\0", 8); /* 6 bytes padded to 8 */
	off += 8;
	memcpy(buf + off, &n2, sizeof(n2));
	off += sizeof(n2);
	memcpy(buf + off, "Xen", 4);
	off += 4;
	memcpy(buf + off, &entry, descsz);
	off += ALIGN_UP(descsz, 4u);
	return off;
}

static uint8_t *build(const struct spec *s, size_t *size)
{
	size_t off = sizeof(Elf64_Ehdr) + s->nsegs * sizeof(Elf64_Phdr);
	uint8_t *img = calloc(1, 1 * MiB);
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB,
			     EV_CURRENT },
		.e_type = ET_EXEC,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_entry = s->entry,
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = (uint16_t)s->nsegs,
	};

	cr_assert_not_null(img);
	for (unsigned i = 0; i < s->nsegs; i++) {
		const struct seg *g = &s->segs[i];
		Elf64_Phdr ph = {
			.p_type = g->type,
			.p_offset = off,
			.p_vaddr = g->vaddr ? g->vaddr : g->paddr,
			.p_paddr = g->paddr,
			.p_filesz = g->filesz,
			.p_memsz = g->memsz,
			.p_align = 8,
		};

		memcpy(img + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
		if (g->filesz)
			memcpy(img + off, g->data, g->filesz);
		off = ALIGN_UP(off + g->filesz, 8);
	}
	if (s->shnote) {
		Elf64_Shdr sh[2] = {
			{ 0 },
			{ .sh_type = SHT_NOTE, .sh_offset = off, .sh_size = s->shnote_len },
		};

		memcpy(img + off, s->shnote, s->shnote_len);
		off = ALIGN_UP(off + s->shnote_len, 8);
		memcpy(img + off, sh, sizeof(sh));
		eh.e_shoff = off;
		eh.e_shentsize = sizeof(Elf64_Shdr);
		eh.e_shnum = 2;
		off += sizeof(sh);
	}
	memcpy(img, &eh, sizeof(eh));
	*size = off;
	return img;
}

static Elf64_Phdr *phdr(uint8_t *img, unsigned i)
{
	return (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr));
}

/* One PT_LOAD: 4 KiB of code and 4 KiB of bss at 16 MiB. */
static struct spec simple(void)
{
	struct spec s = { .entry = ENTRY, .nsegs = 1 };

	for (size_t i = 0; i < sizeof(code); i++)
		code[i] = (uint8_t)(i ^ 0x5a);
	s.segs[0] = (struct seg){ PT_LOAD, LOAD, 0, 8192, code, sizeof(code) };
	return s;
}

static uint8_t notes[128];

static struct spec with_pvh(unsigned descsz)
{
	struct spec s = simple();
	size_t n = make_notes(notes, PVH_ENTRY, descsz);

	s.segs[s.nsegs++] = (struct seg){ PT_NOTE, 0, 0, n, notes, n };
	return s;
}

struct fixture {
	struct guest_mem gm;
	struct e820_entry e820[E820_MAX];
	struct boot_setup in;
	struct boot_entry out;
};

static void fixture_init(struct fixture *f)
{
	static const uint8_t initrd[5000] = { 7 };

	memset(f, 0, sizeof(*f));
	cr_assert_eq(gm_init(&f->gm, RAM, 0), 0);
	f->in.cmdline = "console=ttyS0 root=/dev/vda";
	f->in.rsdp = TEST_RSDP;
	f->in.e820 = f->e820;
	f->in.e820_nr = e820_build(&f->gm, f->e820, E820_MAX);
	f->in.initrd = initrd;
	f->in.initrd_size = sizeof(initrd);
}

static void check_start_info(struct fixture *f, uint64_t initrd_size)
{
	struct hvm_start_info *si = gm_ptr(&f->gm, LAYOUT_PVH_INFO, sizeof(*si));
	struct hvm_memmap_table_entry *map;
	struct hvm_modlist_entry *mod;

	cr_assert_not_null(si);
	cr_assert_eq(si->magic, 0x336ec578);
	cr_assert_eq(si->version, 1);
	cr_assert_eq(si->flags, 0);
	cr_assert_eq(si->cmdline_paddr, LAYOUT_CMDLINE);
	cr_assert_str_eq((char *)gm_ptr(&f->gm, si->cmdline_paddr, 1), f->in.cmdline);
	cr_assert_eq(si->rsdp_paddr, TEST_RSDP);
	cr_assert_eq(si->memmap_entries, f->in.e820_nr);
	map = gm_ptr(&f->gm, si->memmap_paddr, si->memmap_entries * sizeof(*map));
	cr_assert_not_null(map);
	for (unsigned i = 0; i < f->in.e820_nr; i++) {
		cr_assert_eq(map[i].addr, f->e820[i].addr);
		cr_assert_eq(map[i].size, f->e820[i].size);
		cr_assert_eq(map[i].type, f->e820[i].type);
		cr_assert_eq(map[i].reserved, 0);
	}
	if (!initrd_size) {
		cr_assert_eq(si->nr_modules, 0);
		return;
	}
	cr_assert_eq(si->nr_modules, 1);
	mod = gm_ptr(&f->gm, si->modlist_paddr, sizeof(*mod));
	cr_assert_not_null(mod);
	cr_assert_eq(mod->paddr, f->out.initrd_addr);
	cr_assert_eq(mod->size, initrd_size);
	cr_assert_eq(mod->paddr % 4096, 0);
	cr_assert_geq(mod->paddr, f->out.kernel_end);
	cr_assert_leq(mod->paddr + mod->size, RAM);
	cr_assert_eq(memcmp(gm_ptr(&f->gm, mod->paddr, mod->size), f->in.initrd, mod->size), 0);
}

Test(elf, no_pvh_note_uses_linux64_with_zero_page)
{
	struct spec s = simple();
	struct fixture f;
	struct boot_params *bp;
	size_t size;
	uint8_t *img = build(&s, &size), *bss;

	fixture_init(&f);
	/* Stale bytes where the bss goes: the loader must clear them. */
	bss = gm_ptr(&f.gm, LOAD + 4096, 4096);
	memset(bss, 0xaa, 4096);
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), 0, "%s", err_msg());
	cr_assert_eq(f.out.mode, BOOT_ENTRY_LINUX64);
	cr_assert_eq(f.out.ip, ENTRY);
	cr_assert_eq(f.out.boot_info, LAYOUT_ZERO_PAGE);
	cr_assert_eq(f.out.kernel_start, LOAD);
	cr_assert_eq(f.out.kernel_end, LOAD + 8192);
	cr_assert_eq(memcmp(gm_ptr(&f.gm, LOAD, sizeof(code)), code, sizeof(code)), 0);
	for (size_t i = 0; i < 4096; i++)
		cr_assert_eq(bss[i], 0, "bss byte %zu", i);
	bp = gm_ptr(&f.gm, LAYOUT_ZERO_PAGE, sizeof(*bp));
	cr_assert_eq(bp->hdr.boot_flag, 0xaa55);
	cr_assert_eq(bp->hdr.header, BZ_HDRS_MAGIC);
	cr_assert_geq(bp->hdr.version, BZ_PROTOCOL_RSDP);
	cr_assert_eq(bp->hdr.type_of_loader, 0xff);
	cr_assert_eq(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	cr_assert_str_eq((char *)gm_ptr(&f.gm, LAYOUT_CMDLINE, 1), f.in.cmdline);
	cr_assert_eq(bp->hdr.ramdisk_image, f.out.initrd_addr);
	cr_assert_eq(bp->hdr.ramdisk_size, f.in.initrd_size);
	cr_assert_geq(bp->hdr.ramdisk_image, LOAD + 8192);
	cr_assert_eq(bp->e820_entries, f.in.e820_nr);
	cr_assert_eq(memcmp(bp->e820_table, f.e820, f.in.e820_nr * sizeof(f.e820[0])), 0);
	cr_assert_eq(bp->acpi_rsdp_addr, TEST_RSDP);
	gm_destroy(&f.gm);
	free(img);
}

Test(elf, pvh_note_uses_pvh_entry_and_start_info)
{
	for (unsigned descsz = 4; descsz <= 8; descsz += 4) {
		struct spec s = with_pvh(descsz);
		struct fixture f;
		size_t size;
		uint8_t *img = build(&s, &size);

		fixture_init(&f);
		cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), 0, "%s", err_msg());
		cr_assert_eq(f.out.mode, BOOT_ENTRY_PVH32);
		cr_assert_eq(f.out.ip, PVH_ENTRY);
		cr_assert_eq(f.out.boot_info, LAYOUT_PVH_INFO);
		check_start_info(&f, f.in.initrd_size);
		gm_destroy(&f.gm);
		free(img);
	}
}

Test(elf, pvh_without_initrd_has_no_module)
{
	struct spec s = with_pvh(8);
	struct fixture f;
	size_t size;
	uint8_t *img = build(&s, &size);

	fixture_init(&f);
	f.in.initrd = NULL;
	f.in.initrd_size = 0;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), 0, "%s", err_msg());
	cr_assert_eq(f.out.initrd_addr, 0);
	check_start_info(&f, 0);
	gm_destroy(&f.gm);
	free(img);
}

Test(elf, pvh_note_found_in_section)
{
	struct spec s = simple();
	struct fixture f;
	size_t size;
	uint8_t *img;

	s.shnote_len = make_notes(notes, PVH_ENTRY, 8);
	s.shnote = notes;
	img = build(&s, &size);
	fixture_init(&f);
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), 0, "%s", err_msg());
	cr_assert_eq(f.out.mode, BOOT_ENTRY_PVH32);
	cr_assert_eq(f.out.ip, PVH_ENTRY);
	gm_destroy(&f.gm);
	free(img);
}

Test(elf, pvh_ignores_a_bad_e_entry)
{
	struct spec s = with_pvh(4);
	struct fixture f;
	size_t size;
	uint8_t *img;

	s.entry = 0x123456789ull; /* unusable, but PVH never jumps there */
	img = build(&s, &size);
	fixture_init(&f);
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), 0, "%s", err_msg());
	cr_assert_eq(f.out.ip, PVH_ENTRY);
	gm_destroy(&f.gm);
	free(img);
}

Test(elf, malformed_notes_are_ignored)
{
	struct spec s = with_pvh(8);
	struct fixture f;
	size_t size;
	uint8_t *img;

	/* A descriptor size that runs past the note segment: stop, don't read beyond. */
	((Elf64_Nhdr *)notes)->n_descsz = 0x7fffffff;
	img = build(&s, &size);
	fixture_init(&f);
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), 0, "%s", err_msg());
	cr_assert_eq(f.out.mode, BOOT_ENTRY_LINUX64);
	/* A note segment pointing past the file is skipped too. */
	phdr(img, 1)->p_offset = size;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), 0, "%s", err_msg());
	cr_assert_eq(f.out.mode, BOOT_ENTRY_LINUX64);
	gm_destroy(&f.gm);
	free(img);
}

Test(elf, virtual_entry_is_translated)
{
	struct spec s = simple();
	struct fixture f;
	size_t size;
	uint8_t *img;

	s.segs[0].vaddr = 0xffffffff81000000ull;
	s.entry = 0xffffffff81000040ull;
	img = build(&s, &size);
	fixture_init(&f);
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), 0, "%s", err_msg());
	cr_assert_eq(f.out.ip, ENTRY);
	gm_destroy(&f.gm);
	free(img);
}

Test(elf, segments_outside_ram_refused)
{
	static const uint64_t bad[][2] = {
		{ 1 * GiB, 4096 },	     /* past the end of RAM */
		{ RAM - 4096, 8192 },	     /* straddling the end */
		{ LAYOUT_MMIO_HOLE, 4096 },  /* in the MMIO hole */
		{ UINT64_MAX - 4095, 8192 }, /* wrapping around */
		{ 0x7000, 4096 },	     /* over the zero page */
		{ LOAD, UINT64_MAX },	     /* absurd memsz */
	};
	struct fixture f;

	fixture_init(&f);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct spec s = simple();
		size_t size;
		uint8_t *img;

		s.segs[0].paddr = bad[i][0];
		s.segs[0].memsz = bad[i][1];
		img = build(&s, &size);
		cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC, "case %zu", i);
		free(img);
	}
	gm_destroy(&f.gm);
}

Test(elf, segment_past_end_of_file_refused)
{
	struct spec s = simple();
	struct fixture f;
	size_t size;
	uint8_t *img = build(&s, &size);

	fixture_init(&f);
	phdr(img, 0)->p_offset = size - 100;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	cr_assert_msg_has("truncated ELF: segment 0");
	phdr(img, 0)->p_offset = UINT64_MAX - 10; /* offset + size wraps */
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	phdr(img, 0)->p_offset = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
	phdr(img, 0)->p_filesz = 16384; /* more than memsz, though inside the (1 MiB) buffer */
	cr_assert_eq(loader_load(&f.gm, img, 1 * MiB, &f.in, &f.out), -ENOEXEC);
	cr_assert_msg_has("more file bytes");
	gm_destroy(&f.gm);
	free(img);
}

Test(elf, bad_segment_writes_nothing)
{
	struct spec s = simple();
	struct fixture f;
	size_t size;
	uint8_t *img;

	s.segs[1] = (struct seg){ PT_LOAD, 1 * GiB, 0, 4096, code, 16 };
	s.nsegs = 2;
	img = build(&s, &size);
	fixture_init(&f);
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	cr_assert_msg_has("segment 1");
	for (size_t i = 0; i < sizeof(code); i++)
		cr_assert_eq(((uint8_t *)gm_ptr(&f.gm, LOAD, sizeof(code)))[i], 0);
	gm_destroy(&f.gm);
	free(img);
}

Test(elf, bad_headers_refused)
{
	struct spec s = simple();
	struct fixture f;
	size_t size;
	uint8_t *img = build(&s, &size);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;

	fixture_init(&f);
	cr_assert_eq(loader_load(&f.gm, img, 40, &f.in, &f.out), -ENOEXEC);
	cr_assert_msg_has("truncated ELF");
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	cr_assert_msg_has("not 64-bit");
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_machine = EM_AARCH64;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	cr_assert_msg_has("not x86_64");
	eh->e_machine = EM_X86_64;
	eh->e_phoff = size;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	cr_assert_msg_has("program headers run past the end");
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_phnum = 0;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	eh->e_phnum = 1;
	phdr(img, 0)->p_type = PT_NULL;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	cr_assert_msg_has("no loadable segment");
	phdr(img, 0)->p_type = PT_LOAD;
	eh->e_entry = 0x123456789ull; /* neither RAM nor inside a segment */
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	cr_assert_msg_has("entry point");
	gm_destroy(&f.gm);
	free(img);
}

Test(elf, cmdline_limit_is_command_line_size)
{
	struct spec s = with_pvh(8);
	struct fixture f;
	size_t size;
	uint8_t *img = build(&s, &size);
	char cmdline[BZ_COMMAND_LINE_SIZE + 1];

	memset(cmdline, 'y', sizeof(cmdline) - 1);
	cmdline[sizeof(cmdline) - 1] = '\0';
	fixture_init(&f);
	f.in.cmdline = cmdline;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -EINVAL);
	cr_assert_msg_has("accepts at most 2047");
	gm_destroy(&f.gm);
	free(img);
}

Test(elf, static_detection)
{
	struct spec s = simple();
	size_t size;
	uint8_t *img = build(&s, &size);

	cr_assert_eq(elf_is_static(img, size), 1);
	phdr(img, 0)->p_type = PT_INTERP;
	cr_assert_eq(elf_is_static(img, size), 0);
	cr_assert_eq(elf_is_static("#!/bin/sh\n", 10), -ENOEXEC);
	free(img);
}

/* Unpack the real vmlinux from the /boot bzImage's payload (xz or gzip), or skip. */
static uint8_t *real_vmlinux(size_t *size)
{
	char path[4096], dir[] = "/tmp/clone-elf-XXXXXX", cmd[256], payload[64], out[64];
	struct bzimage_info info;
	const struct setup_header *h;
	const char *tool;
	void *bz, *elf = NULL;
	size_t bz_len;
	FILE *fp;
	uint8_t *p;

	if (kernel_find_default(path, sizeof(path)))
		cr_skip_test("no readable kernel in /boot: %s", err_msg());
	cr_assert_eq(kernel_read(path, &bz, &bz_len), 0, "%s", err_msg());
	cr_assert_eq(bzimage_parse(bz, bz_len, &info), 0, "%s", err_msg());
	h = (const struct setup_header *)((uint8_t *)bz + BZ_HDR_OFFSET);
	p = (uint8_t *)bz + info.setup_size + h->payload_offset;
	if (!memcmp(p,
		    "\xfd"
		    "7zXZ",
		    5))
		tool = "xz";
	else if (p[0] == 0x1f && p[1] == 0x8b)
		tool = "gzip";
	else
		cr_skip_test("kernel payload is neither xz nor gzip");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(payload, sizeof(payload), "%s/payload", dir);
	snprintf(out, sizeof(out), "%s/vmlinux", dir);
	fp = fopen(payload, "w");
	cr_assert_not_null(fp);
	cr_assert_eq(fwrite(p, 1, h->payload_length, fp), h->payload_length);
	fclose(fp);
	free(bz);
	/* The payload ends with the kernel's size word, which xz reports as trailing junk. */
	snprintf(cmd, sizeof(cmd), "%s -dc < %s > %s 2>/dev/null", tool, payload, out);
	if (system(cmd) == -1 || kernel_read(out, &elf, size) || !elf_is_elf(elf, *size)) {
		free(elf);
		elf = NULL;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
	if (!elf)
		cr_skip_test("%s could not unpack the kernel payload", tool);
	return elf;
}

Test(elf, real_vmlinux_boots_through_pvh, .timeout = 60)
{
	struct fixture f;
	size_t size;
	uint8_t *img = real_vmlinux(&size);
	struct elf_info info;

	fixture_init(&f);
	cr_assert_eq(elf_load(&f.gm, img, size, &info), 0, "%s", err_msg());
	cr_assert_eq(info.start, LOAD);
	cr_assert_geq(info.entry, info.start);
	cr_assert_lt(info.entry, info.end);
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), 0, "%s", err_msg());
	if (!info.pvh) {
		cr_assert_eq(f.out.mode, BOOT_ENTRY_LINUX64);
		cr_assert_eq(f.out.ip, info.entry);
	} else {
		cr_assert_eq(f.out.mode, BOOT_ENTRY_PVH32);
		cr_assert_eq(f.out.ip, info.pvh_entry);
		cr_assert_geq(f.out.ip, info.start);
		cr_assert_lt(f.out.ip, info.end);
		check_start_info(&f, f.in.initrd_size);
	}
	gm_destroy(&f.gm);
	free(img);
}
