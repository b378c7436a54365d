/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Linux x86 boot protocol (Documentation/arch/x86/boot.rst): the setup
 * header a bzImage carries at 0x1f1, the zero page (struct boot_params) a
 * loader hands to the 64-bit entry, and loading a bzImage's protected-mode
 * part.  Pure functions of their inputs; any thread.
 */
#ifndef CLONE_BOOT_BZIMAGE_H
#define CLONE_BOOT_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/e820.h"
#include "vmm/mem.h"

#define BZ_HDR_OFFSET 0x1f1	 /* the setup header inside both the file and the zero page */
#define BZ_HDR_END_MAX 0x290	 /* edd_mbr_sig_buffer follows: no header can run past it */
#define BZ_BOOT_FLAG 0xaa55	 /* at 0x1fe */
#define BZ_HDRS_MAGIC 0x53726448 /* "HdrS" at 0x202 */
#define BZ_ENTRY64_OFFSET 0x200	 /* 64-bit entry: protected-mode load address + 0x200 */
#define BZ_MIN_PROTOCOL 0x020c	 /* 2.12: xloadflags and XLF_KERNEL_64 */
#define BZ_PROTOCOL_RSDP 0x020e	 /* 2.14: acpi_rsdp_addr in the zero page */

/* loadflags */
#define BZ_LOADED_HIGH (1u << 0)
#define BZ_KEEP_SEGMENTS (1u << 6)
#define BZ_CAN_USE_HEAP (1u << 7)
/* xloadflags */
#define BZ_XLF_KERNEL_64 (1u << 0)
#define BZ_XLF_CAN_BE_LOADED_ABOVE_4G (1u << 1)

#define BZ_LOADER_UNDEFINED 0xff /* type_of_loader: a loader with no assigned ID */
#define BZ_HEAP_END_PTR 0xde00	 /* heap_end 0xe000 - 0x200, as boot.rst suggests */
#define BZ_E820_MAX 128		 /* E820_MAX_ENTRIES_ZEROPAGE */
/* x86 COMMAND_LINE_SIZE: the kernel keeps at most this many bytes, NUL included. */
#define BZ_COMMAND_LINE_SIZE 2048

/* The setup header, field for field as boot.rst lists it (offsets are from the file start). */
struct setup_header {
	uint8_t setup_sects;		/* 0x1f1 */
	uint16_t root_flags;		/* 0x1f2 */
	uint32_t syssize;		/* 0x1f4: 16-byte paragraphs of protected-mode code */
	uint16_t ram_size;		/* 0x1f8 */
	uint16_t vid_mode;		/* 0x1fa */
	uint16_t root_dev;		/* 0x1fc */
	uint16_t boot_flag;		/* 0x1fe */
	uint16_t jump;			/* 0x200: its second byte + 0x202 is the header's end */
	uint32_t header;		/* 0x202 */
	uint16_t version;		/* 0x206 */
	uint32_t realmode_swtch;	/* 0x208 */
	uint16_t start_sys_seg;		/* 0x20c */
	uint16_t kernel_version;	/* 0x20e: version string at this + 0x200 */
	uint8_t type_of_loader;		/* 0x210 */
	uint8_t loadflags;		/* 0x211 */
	uint16_t setup_move_size;	/* 0x212 */
	uint32_t code32_start;		/* 0x214 */
	uint32_t ramdisk_image;		/* 0x218 */
	uint32_t ramdisk_size;		/* 0x21c */
	uint32_t bootsect_kludge;	/* 0x220 */
	uint16_t heap_end_ptr;		/* 0x224 */
	uint8_t ext_loader_ver;		/* 0x226 */
	uint8_t ext_loader_type;	/* 0x227 */
	uint32_t cmd_line_ptr;		/* 0x228 */
	uint32_t initrd_addr_max;	/* 0x22c: highest byte address the initrd may occupy */
	uint32_t kernel_alignment;	/* 0x230 */
	uint8_t relocatable_kernel;	/* 0x234 */
	uint8_t min_alignment;		/* 0x235 */
	uint16_t xloadflags;		/* 0x236 */
	uint32_t cmdline_size;		/* 0x238: longest command line, NUL excluded */
	uint32_t hardware_subarch;	/* 0x23c */
	uint64_t hardware_subarch_data; /* 0x240 */
	uint32_t payload_offset;	/* 0x248 */
	uint32_t payload_length;	/* 0x24c */
	uint64_t setup_data;		/* 0x250 */
	uint64_t pref_address;		/* 0x258 */
	uint32_t init_size;		/* 0x260: memory the kernel needs from its load address */
	uint32_t handover_offset;	/* 0x264 */
	uint32_t kernel_info_offset;	/* 0x268 */
} __attribute__((packed));

_Static_assert(sizeof(struct setup_header) == 0x26c - BZ_HDR_OFFSET, "setup header layout");

/* The zero page: only the fields Clone writes are named; the rest stays zero. */
struct boot_params {
	uint8_t _pad0[0x070];
	uint64_t acpi_rsdp_addr; /* 0x070, protocol 2.14+ */
	uint8_t _pad1[0x0c0 - 0x078];
	uint32_t ext_ramdisk_image; /* 0x0c0: bits 63:32 */
	uint32_t ext_ramdisk_size;  /* 0x0c4 */
	uint32_t ext_cmd_line_ptr;  /* 0x0c8 */
	uint8_t _pad2[0x1e8 - 0x0cc];
	uint8_t e820_entries; /* 0x1e8 */
	uint8_t _pad3[0x1ef - 0x1e9];
	uint8_t sentinel; /* 0x1ef: must stay 0, or the kernel wipes "stale" fields */
	uint8_t _pad4;
	struct setup_header hdr; /* 0x1f1 */
	uint8_t _pad5[0x2d0 - 0x26c];
	struct e820_entry e820_table[BZ_E820_MAX]; /* 0x2d0 */
	uint8_t _pad6[0x1000 - 0xcd0];
} __attribute__((packed));

_Static_assert(sizeof(struct boot_params) == 4096, "the zero page is one page");
_Static_assert(__builtin_offsetof(struct boot_params, hdr) == BZ_HDR_OFFSET, "hdr at 0x1f1");
_Static_assert(__builtin_offsetof(struct boot_params, e820_table) == 0x2d0, "e820 at 0x2d0");

/* What bzimage_parse() learned; every size is checked against the file. */
struct bzimage_info {
	uint16_t protocol;    /* boot protocol version, e.g. 0x020f */
	unsigned setup_sects; /* 512-byte setup sectors after the boot sector (0 means 4) */
	size_t setup_size;    /* (setup_sects + 1) * 512: file offset of the protected-mode part */
	size_t hdr_end;	      /* file offset just past the setup header */
	size_t pm_size;	      /* syssize * 16: protected-mode bytes to load */
	uint8_t loadflags;
	uint16_t xloadflags;	   /* 0 before protocol 2.12 */
	bool kernel_64;		   /* XLF_KERNEL_64: 64-bit entry at load address + 0x200 */
	bool relocatable;	   /* protocol 2.05+ */
	uint32_t kernel_alignment; /* protocol 2.05+ */
	uint64_t pref_address;	   /* protocol 2.10+; 0 before */
	uint32_t init_size;	   /* protocol 2.10+; 0 before */
	uint32_t cmdline_size;	   /* protocol 2.06+; 255 before */
	uint32_t initrd_addr_max;  /* protocol 2.03+; 0x37ffffff before */
};

/*
 * Parse and bounds-check the setup header of img (untrusted).  0, or
 * -ENOEXEC with the message set: not a bzImage, truncated, or sizes that
 * contradict the file.  Old protocols parse; bzimage_load() refuses them.
 */
int bzimage_parse(const void *img, size_t size, struct bzimage_info *out);

/*
 * Copy the first word of the kernel's version string ("6.1.0-56-amd64",
 * the /lib/modules directory name) into buf.  0, -ENOEXEC (bad image or
 * bad string), -ENOENT (none recorded) or -ENOSPC (buf too small).
 */
int bzimage_version(const void *img, size_t size, char *buf, size_t len);

/*
 * Load the protected-mode part of a parsed image into guest memory.  Needs
 * protocol 2.12+ with XLF_KERNEL_64.  On success *load_addr is where it
 * went (entry at + BZ_ENTRY64_OFFSET) and [*load_addr, *footprint_end) is
 * the memory the kernel claims while it decompresses (init_size).
 * -ENOEXEC or -ENOMEM (guest RAM too small) with the message set.
 */
int bzimage_load(struct guest_mem *gm, const void *img, size_t size,
		 const struct bzimage_info *info, uint64_t *load_addr, uint64_t *footprint_end);

/* Start a zero page from the image's own setup header (boot.rst: "copy the setup header"). */
void bzimage_init_params(struct boot_params *bp, const void *img, const struct bzimage_info *info);

#endif
