// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: bzImage parsing and loading (src/boot/bzimage.c) and the
 * loader front end (src/boot/loader.c) on synthetic images and on the real
 * distro kernel in /boot (skipped when there is none).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "boot/bzimage.h"
#include "boot/kernel.h"
#include "boot/loader.h"
#include "lib/err.h"
#include "lib/util.h"
#include "vmm/mem.h"

#define SYN_SETUP_SECTS 1
#define SYN_SETUP_SIZE ((SYN_SETUP_SECTS + 1) * 512)
#define SYN_PM_SIZE (64 * KiB)
#define SYN_VERSION_AT 0x300
#define SYN_LOAD (16 * MiB)
#define RAM (256 * MiB)
#define TEST_RSDP 0xe0000ull

#define cr_assert_msg_has(needle)                                                                  \
	cr_assert(strstr(err_msg(), (needle)), "message \"%s\" lacks \"%s\"", err_msg(), (needle))

/* A minimal, valid protocol-2.15 bzImage: 1 setup sector, 64 KiB of protected-mode bytes. */
static uint8_t *make_bzimage(size_t *size)
{
	size_t len = SYN_SETUP_SIZE + SYN_PM_SIZE;
	uint8_t *img = calloc(1, len);
	struct setup_header h = {
		.setup_sects = SYN_SETUP_SECTS,
		.syssize = SYN_PM_SIZE / 16,
		.boot_flag = BZ_BOOT_FLAG,
		.jump = 0x6aeb, /* "jmp short +0x6a": header ends at 0x26c */
		.header = BZ_HDRS_MAGIC,
		.version = 0x020f,
		.kernel_version = SYN_VERSION_AT - 0x200,
		.loadflags = BZ_LOADED_HIGH,
		.initrd_addr_max = 0x7fffffff,
		.kernel_alignment = 2 * MiB,
		.relocatable_kernel = 1,
		.xloadflags = BZ_XLF_KERNEL_64,
		.cmdline_size = 2047,
		.pref_address = SYN_LOAD,
		.init_size = 4 * MiB,
	};

	cr_assert_not_null(img);
	img[0] = 'M';
	img[1] = 'Z';
	memcpy(img + BZ_HDR_OFFSET, &h, sizeof(h));
	strcpy((char *)img + SYN_VERSION_AT, "9.8.7-test (builder@example) #1 SMP");
	for (size_t i = 0; i < SYN_PM_SIZE; i++)
		img[SYN_SETUP_SIZE + i] = (uint8_t)(i * 7 + 3);
	*size = len;
	return img;
}

static struct setup_header *hdr(uint8_t *img)
{
	return (struct setup_header *)(img + BZ_HDR_OFFSET);
}

/* The newest /boot kernel, or skip the test. */
static uint8_t *real_kernel(size_t *size, char *path, size_t path_len)
{
	void *data;

	if (kernel_find_default(path, path_len))
		cr_skip_test("no readable kernel in /boot: %s", err_msg());
	cr_assert_eq(kernel_read(path, &data, size), 0, "%s", err_msg());
	return data;
}

struct fixture {
	struct guest_mem gm;
	struct e820_entry e820[E820_MAX];
	struct boot_setup in;
	struct boot_entry out;
};

static void fixture_init(struct fixture *f, uint64_t ram)
{
	memset(f, 0, sizeof(*f));
	cr_assert_eq(gm_init(&f->gm, ram, 0), 0);
	f->in.cmdline = "console=ttyS0 panic=-1";
	f->in.rsdp = TEST_RSDP;
	f->in.e820 = f->e820;
	f->in.e820_nr = e820_build(&f->gm, f->e820, E820_MAX);
}

static struct boot_params *zero_page(struct fixture *f)
{
	struct boot_params *bp = gm_ptr(&f->gm, LAYOUT_ZERO_PAGE, sizeof(*bp));

	cr_assert_not_null(bp);
	return bp;
}

Test(bzimage, synthetic_header_parses)
{
	struct bzimage_info info;
	size_t size;
	uint8_t *img = make_bzimage(&size);
	char ver[64];

	cr_assert_eq(bzimage_parse(img, size, &info), 0, "%s", err_msg());
	cr_assert_eq(info.protocol, 0x020f);
	cr_assert_eq(info.setup_sects, 1);
	cr_assert_eq(info.setup_size, 1024);
	cr_assert_eq(info.hdr_end, 0x26c);
	cr_assert_eq(info.pm_size, SYN_PM_SIZE);
	cr_assert(info.kernel_64);
	cr_assert(info.relocatable);
	cr_assert_eq(info.pref_address, SYN_LOAD);
	cr_assert_eq(info.init_size, 4 * MiB);
	cr_assert_eq(info.cmdline_size, 2047);
	cr_assert_eq(bzimage_version(img, size, ver, sizeof(ver)), 0, "%s", err_msg());
	cr_assert_str_eq(ver, "9.8.7-test");
	free(img);
}

Test(bzimage, setup_sects_zero_means_four)
{
	struct bzimage_info info;
	size_t size;
	uint8_t *img = make_bzimage(&size);

	hdr(img)->setup_sects = 0;
	/* 5 sectors of setup now; the 64 KiB protected-mode part still covers syssize. */
	hdr(img)->syssize = (uint32_t)((size - 5 * 512) / 16);
	cr_assert_eq(bzimage_parse(img, size, &info), 0, "%s", err_msg());
	cr_assert_eq(info.setup_sects, 4);
	cr_assert_eq(info.setup_size, 5 * 512);
	free(img);
}

Test(bzimage, version_errors)
{
	size_t size;
	uint8_t *img = make_bzimage(&size);
	char ver[64];

	cr_assert_eq(bzimage_version(img, size, ver, 4), -ENOSPC);
	hdr(img)->kernel_version = 0;
	cr_assert_eq(bzimage_version(img, size, ver, sizeof(ver)), -ENOENT);
	/* A pointer past the setup sectors is refused, not followed. */
	hdr(img)->kernel_version = 0xfff0;
	cr_assert_eq(bzimage_version(img, size, ver, sizeof(ver)), -ENOEXEC);
	/* A string that never ends inside setup. */
	hdr(img)->kernel_version = SYN_VERSION_AT - 0x200;
	memset(img + SYN_VERSION_AT, 'x', SYN_SETUP_SIZE - SYN_VERSION_AT);
	cr_assert_eq(bzimage_version(img, size, ver, sizeof(ver)), -ENOEXEC);
	free(img);
}

Test(bzimage, loads_at_pref_address_and_fills_zero_page)
{
	static const uint8_t initrd[3 * 4096 + 5] = { 1, 2, 3 };
	struct fixture f;
	struct boot_params *bp;
	size_t size;
	uint8_t *img = make_bzimage(&size);
	const char *cmdline;

	fixture_init(&f, RAM);
	f.in.initrd = initrd;
	f.in.initrd_size = sizeof(initrd);
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), 0, "%s", err_msg());
	cr_assert_eq(f.out.mode, BOOT_ENTRY_LINUX64);
	cr_assert_eq(f.out.ip, SYN_LOAD + 0x200);
	cr_assert_eq(f.out.boot_info, LAYOUT_ZERO_PAGE);
	cr_assert_eq(f.out.kernel_start, SYN_LOAD);
	cr_assert_eq(f.out.kernel_end, SYN_LOAD + 4 * MiB);
	cr_assert_eq(
		memcmp(gm_ptr(&f.gm, SYN_LOAD, SYN_PM_SIZE), img + SYN_SETUP_SIZE, SYN_PM_SIZE), 0);

	bp = zero_page(&f);
	cr_assert_eq(bp->hdr.boot_flag, BZ_BOOT_FLAG);
	cr_assert_eq(bp->hdr.header, BZ_HDRS_MAGIC);
	cr_assert_eq(bp->hdr.version, 0x020f);
	cr_assert_eq(bp->hdr.type_of_loader, 0xff);
	cr_assert_eq(bp->hdr.loadflags & (BZ_LOADED_HIGH | BZ_CAN_USE_HEAP),
		     BZ_LOADED_HIGH | BZ_CAN_USE_HEAP);
	cr_assert_eq(bp->hdr.heap_end_ptr, BZ_HEAP_END_PTR);
	cr_assert_eq(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	cmdline = gm_ptr(&f.gm, LAYOUT_CMDLINE, strlen(f.in.cmdline) + 1);
	cr_assert_str_eq(cmdline, f.in.cmdline);
	cr_assert_eq(bp->sentinel, 0);
	cr_assert_eq(bp->acpi_rsdp_addr, TEST_RSDP);

	/* The initrd: page aligned, as high as possible in RAM, clear of the kernel. */
	cr_assert_eq(bp->hdr.ramdisk_size, sizeof(initrd));
	cr_assert_eq(bp->ext_ramdisk_image, 0);
	cr_assert_eq(bp->hdr.ramdisk_image % 4096, 0);
	cr_assert_eq(bp->hdr.ramdisk_image, f.out.initrd_addr);
	cr_assert_geq(bp->hdr.ramdisk_image, f.out.kernel_end);
	cr_assert_leq(bp->hdr.ramdisk_image + sizeof(initrd), RAM);
	cr_assert_gt(bp->hdr.ramdisk_image + sizeof(initrd), RAM - 4096);
	cr_assert_eq(memcmp(gm_ptr(&f.gm, bp->hdr.ramdisk_image, sizeof(initrd)), initrd,
			    sizeof(initrd)),
		     0);

	/* The E820 map, entry for entry. */
	cr_assert_eq(bp->e820_entries, f.in.e820_nr);
	cr_assert_eq(memcmp(bp->e820_table, f.e820, f.in.e820_nr * sizeof(f.e820[0])), 0);
	gm_destroy(&f.gm);
	free(img);
}

Test(bzimage, no_initrd_leaves_ramdisk_zero)
{
	struct fixture f;
	size_t size;
	uint8_t *img = make_bzimage(&size);

	fixture_init(&f, RAM);
	f.in.cmdline = NULL; /* an empty command line */
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), 0, "%s", err_msg());
	cr_assert_eq(zero_page(&f)->hdr.ramdisk_image, 0);
	cr_assert_eq(zero_page(&f)->hdr.ramdisk_size, 0);
	cr_assert_eq(*(char *)gm_ptr(&f.gm, LAYOUT_CMDLINE, 1), '\0');
	gm_destroy(&f.gm);
	free(img);
}

Test(bzimage, old_protocol_gets_no_rsdp_field)
{
	struct fixture f;
	size_t size;
	uint8_t *img = make_bzimage(&size);

	hdr(img)->version = 0x020d;
	fixture_init(&f, RAM);
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), 0, "%s", err_msg());
	cr_assert_eq(zero_page(&f)->acpi_rsdp_addr, 0);
	gm_destroy(&f.gm);
	free(img);
}

Test(bzimage, initrd_falls_back_below_the_kernel)
{
	struct fixture f;
	size_t size, isize = 20 * MiB;
	uint8_t *img = make_bzimage(&size);
	void *initrd = calloc(1, isize);

	/* A kernel high in RAM leaves too little room above it; below it is free. */
	hdr(img)->pref_address = 200 * MiB;
	hdr(img)->init_size = 50 * MiB;
	fixture_init(&f, RAM);
	f.in.initrd = initrd;
	f.in.initrd_size = isize;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), 0, "%s", err_msg());
	cr_assert_eq(f.out.initrd_addr, 180 * MiB);
	cr_assert_eq(zero_page(&f)->hdr.ramdisk_image, 180 * MiB);
	gm_destroy(&f.gm);
	free(initrd);
	free(img);
}

Test(bzimage, initrd_respects_initrd_addr_max)
{
	static const uint8_t initrd[4096];
	struct fixture f;
	size_t size;
	uint8_t *img = make_bzimage(&size);

	hdr(img)->initrd_addr_max = 64 * MiB - 1;
	fixture_init(&f, RAM);
	f.in.initrd = initrd;
	f.in.initrd_size = sizeof(initrd);
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), 0, "%s", err_msg());
	cr_assert_eq(f.out.initrd_addr, 64 * MiB - 4096);
	gm_destroy(&f.gm);
	free(img);
}

Test(bzimage, initrd_too_big_for_ram_refused)
{
	struct fixture f;
	size_t size, isize = 300 * MiB;
	uint8_t *img = make_bzimage(&size);
	void *initrd = calloc(1, isize);

	cr_assert_not_null(initrd);
	fixture_init(&f, RAM);
	f.in.initrd = initrd;
	f.in.initrd_size = isize;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOSPC);
	cr_assert_msg_has("initrd (300 MiB) does not fit");
	gm_destroy(&f.gm);
	free(initrd);
	free(img);
}

Test(bzimage, cmdline_longer_than_cmdline_size_refused)
{
	struct fixture f;
	size_t size;
	uint8_t *img = make_bzimage(&size);
	char cmdline[200];

	hdr(img)->cmdline_size = 100;
	memset(cmdline, 'a', sizeof(cmdline) - 1);
	cmdline[sizeof(cmdline) - 1] = '\0';
	fixture_init(&f, RAM);
	f.in.cmdline = cmdline;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -EINVAL);
	cr_assert_msg_has("kernel command line is 199 bytes; this kernel accepts at most 100");
	/* Exactly cmdline_size is fine. */
	cmdline[100] = '\0';
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), 0, "%s", err_msg());
	gm_destroy(&f.gm);
	free(img);
}

Test(bzimage, unsupported_images_refused)
{
	struct fixture f;
	size_t size;
	uint8_t *img = make_bzimage(&size);

	fixture_init(&f, RAM);
	hdr(img)->version = 0x020b;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	cr_assert_msg_has("boot protocol 2.11 is too old");
	hdr(img)->version = 0x020f;
	hdr(img)->xloadflags = 0;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	cr_assert_msg_has("no 64-bit entry point");
	hdr(img)->xloadflags = BZ_XLF_KERNEL_64;
	hdr(img)->loadflags = 0;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	cr_assert_msg_has("zImage");
	hdr(img)->loadflags = BZ_LOADED_HIGH;
	hdr(img)->kernel_alignment = 3 * MiB;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	cr_assert_msg_has("not a power of two");
	hdr(img)->kernel_alignment = 2 * MiB;
	hdr(img)->syssize = 0;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	cr_assert_msg_has("syssize 0");
	gm_destroy(&f.gm);
	free(img);
}

Test(bzimage, bad_header_end_refused)
{
	struct bzimage_info info;
	size_t size;
	uint8_t *img = make_bzimage(&size);

	img[0x201] = 0xff; /* header would run to 0x301, past edd_mbr_sig_buffer */
	cr_assert_eq(bzimage_parse(img, size, &info), -ENOEXEC);
	cr_assert_msg_has("setup header ends at 0x301");
	free(img);
}

Test(bzimage, huge_sizes_refused)
{
	struct fixture f;
	size_t size;
	uint8_t *img = make_bzimage(&size);

	fixture_init(&f, RAM);
	/* syssize claiming far more than the file holds. */
	hdr(img)->syssize = 0xffffffff;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	cr_assert_msg_has("truncated bzImage: protected-mode part needs 68719476720 bytes, "
			  "file has 65536");
	/* init_size beyond guest RAM. */
	hdr(img)->syssize = SYN_PM_SIZE / 16;
	hdr(img)->init_size = 0xffffffff;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOMEM);
	cr_assert_msg_has("guest RAM too small");
	/* A load address in the MMIO hole. */
	hdr(img)->init_size = 4 * MiB;
	hdr(img)->pref_address = LAYOUT_MMIO_HOLE;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOMEM);
	gm_destroy(&f.gm);
	free(img);
}

Test(bzimage, too_many_e820_entries_refused)
{
	static struct e820_entry many[BZ_E820_MAX + 1];
	struct fixture f;
	size_t size;
	uint8_t *img = make_bzimage(&size);

	fixture_init(&f, RAM);
	f.in.e820 = many;
	f.in.e820_nr = ARRAY_SIZE(many);
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -EINVAL);
	cr_assert_msg_has("129 E820 entries");
	gm_destroy(&f.gm);
	free(img);
}

Test(bzimage, garbage_refused)
{
	struct fixture f;
	size_t size = 1 * MiB;
	uint8_t *img = malloc(size);

	srand(1234);
	for (size_t i = 0; i < size; i++)
		img[i] = (uint8_t)rand();
	img[0] = 0; /* neither "MZ" nor "\177ELF" */
	fixture_init(&f, RAM);
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	cr_assert_str_eq(err_msg(), "kernel: not a bzImage or ELF vmlinux");
	cr_assert_eq(loader_load(&f.gm, img, 0, &f.in, &f.out), -ENOEXEC);
	cr_assert_str_eq(err_msg(), "kernel: empty file");
	gm_destroy(&f.gm);
	free(img);
}

Test(bzimage, real_kernel_header)
{
	char path[4096], ver[128];
	struct bzimage_info info;
	size_t size;
	uint8_t *img = real_kernel(&size, path, sizeof(path));
	const char *base = strrchr(path, '/') + 1;

	cr_assert_eq(bzimage_parse(img, size, &info), 0, "%s", err_msg());
	cr_assert_geq(info.protocol, BZ_MIN_PROTOCOL);
	cr_assert(info.kernel_64);
	cr_assert(info.loadflags & BZ_LOADED_HIGH);
	cr_assert_eq(info.setup_sects, img[0x1f1] ? img[0x1f1] : 4);
	cr_assert_eq(info.hdr_end, 0x202u + img[0x201]);
	cr_assert_gt(info.init_size, info.pm_size);
	cr_assert_geq(info.cmdline_size, 255);
	cr_assert_leq(info.setup_size + info.pm_size, size);
	/* The version string names /lib/modules/<version>, as does the file name. */
	cr_assert_eq(bzimage_version(img, size, ver, sizeof(ver)), 0, "%s", err_msg());
	cr_assert_str_eq(ver, base + strlen("vmlinuz-"));
	free(img);
}

Test(bzimage, real_kernel_loads)
{
	static const char initrd[] = "070701 not really an initramfs";
	char path[4096];
	struct bzimage_info info;
	struct boot_params *bp;
	struct fixture f;
	size_t size;
	uint8_t *img = real_kernel(&size, path, sizeof(path));

	cr_assert_eq(bzimage_parse(img, size, &info), 0, "%s", err_msg());
	fixture_init(&f, RAM);
	f.in.initrd = initrd;
	f.in.initrd_size = sizeof(initrd);
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), 0, "%s", err_msg());
	cr_assert_eq(f.out.mode, BOOT_ENTRY_LINUX64);
	cr_assert_eq(f.out.ip, info.pref_address + 0x200);
	cr_assert_eq(memcmp(gm_ptr(&f.gm, info.pref_address, info.pm_size), img + info.setup_size,
			    info.pm_size),
		     0);
	bp = zero_page(&f);
	/* The header came from the file; the loader's fields were then filled in. */
	cr_assert_eq(memcmp(&bp->hdr.setup_sects, img + 0x1f1, 0x210 - 0x1f1), 0);
	cr_assert_eq(bp->hdr.type_of_loader, 0xff);
	cr_assert_eq(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	cr_assert_geq(bp->hdr.ramdisk_image, info.pref_address + info.init_size);
	cr_assert_leq(bp->hdr.ramdisk_image + bp->hdr.ramdisk_size, RAM);
	cr_assert_eq(bp->hdr.ramdisk_size, sizeof(initrd));
	cr_assert_eq(bp->e820_entries, f.in.e820_nr);
	cr_assert_eq(bp->acpi_rsdp_addr, TEST_RSDP);
	gm_destroy(&f.gm);
	free(img);
}

Test(bzimage, real_kernel_needs_enough_ram)
{
	char path[4096];
	struct fixture f;
	size_t size;
	uint8_t *img = real_kernel(&size, path, sizeof(path));

	fixture_init(&f, 32 * MiB);
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOMEM);
	cr_assert_msg_has("guest RAM too small");
	gm_destroy(&f.gm);
	free(img);
}

Test(bzimage, real_kernel_cmdline_limit)
{
	char path[4096], *cmdline;
	struct fixture f;
	size_t size;
	uint8_t *img = real_kernel(&size, path, sizeof(path));
	struct bzimage_info info;

	cr_assert_eq(bzimage_parse(img, size, &info), 0, "%s", err_msg());
	cmdline = malloc(info.cmdline_size + 2);
	memset(cmdline, 'x', info.cmdline_size + 1);
	cmdline[info.cmdline_size + 1] = '\0';
	fixture_init(&f, RAM);
	f.in.cmdline = cmdline;
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -EINVAL);
	cr_assert_msg_has("this kernel accepts at most");
	gm_destroy(&f.gm);
	free(cmdline);
	free(img);
}

/* Cut the real kernel at various points: each must fail with a clear line. */
Test(bzimage, real_kernel_truncated)
{
	static const struct {
		size_t cut;
		const char *msg;
	} cuts[] = {
		{ 0, "kernel: empty file" },
		{ 100, "kernel: truncated bzImage: setup header needs 520 bytes, file has 100" },
		{ 0x1f1, "kernel: truncated bzImage: setup header needs 520 bytes, file has 497" },
		{ 0x250, "kernel: truncated bzImage: setup needs " },
		{ SIZE_MAX, "kernel: truncated bzImage: protected-mode part needs " },
	};
	char path[4096];
	struct fixture f;
	size_t size;
	uint8_t *img = real_kernel(&size, path, sizeof(path));
	struct bzimage_info info;

	fixture_init(&f, RAM);
	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++) {
		size_t cut = cuts[i].cut == SIZE_MAX ? size / 2 : cuts[i].cut;

		cr_assert_eq(loader_load(&f.gm, img, cut, &f.in, &f.out), -ENOEXEC, "cut %zu", cut);
		cr_assert(!strncmp(err_msg(), cuts[i].msg, strlen(cuts[i].msg)),
			  "cut %zu: \"%s\" does not start with \"%s\"", cut, err_msg(),
			  cuts[i].msg);
		if (cut)
			cr_assert_eq(bzimage_parse(img, cut, &info), -ENOEXEC);
	}
	gm_destroy(&f.gm);
	free(img);
}

Test(bzimage, real_kernel_bad_magic)
{
	char path[4096];
	struct fixture f;
	size_t size;
	uint8_t *img = real_kernel(&size, path, sizeof(path));

	fixture_init(&f, RAM);
	img[0x202] = 'X'; /* "XdrS" */
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	cr_assert_msg_has("not a bzImage");
	img[0x202] = 'H';
	img[0x1fe] = 0; /* boot flag */
	cr_assert_eq(loader_load(&f.gm, img, size, &f.in, &f.out), -ENOEXEC);
	cr_assert_msg_has("not a bzImage");
	gm_destroy(&f.gm);
	free(img);
}
