/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The x86 guest-physical memory map.  docs/architecture.md has the picture.
 *
 *   0x0000_0500  GDT (boot segments), then the IDT
 *   0x0000_7000  zero page (struct boot_params) for the Linux boot protocol
 *   0x0000_8000  PVH hvm_start_info, module list and memory map
 *   0x0000_9000  PML4, 0x0000_a000 PDPT
 *   0x0001_0000  page directories: 64 x 4 KiB = identity map of 64 GiB, 2 MiB pages
 *   0x0005_0000  kernel command line (up to 64 KiB)
 *   0x0008_f000  boot stack top (grows down)
 *   0x0009_d000  VMGenID: the 16-byte generation ID (reserved page)
 *   0x0009_e000  identity page (reserved; api/identity.h)
 *   0x0009_fc00  EBDA (reserved) .. 0x000a_0000
 *   0x000e_0000  ACPI tables (RSDP first, where legacy scans look) .. 0x0010_0000
 *   0x0010_0000  kernel (bzImage protected-mode part; ELF at its own addresses)
 *   ...          initrd, as high as the kernel allows below the hole
 *   0xc000_0000  32-bit MMIO hole: virtio-mmio windows, IOAPIC, LAPIC .. 4 GiB
 *   0x1_0000_0000 RAM above the hole
 */
#ifndef CLONE_ARCH_X86_LAYOUT_H
#define CLONE_ARCH_X86_LAYOUT_H

#define LAYOUT_GDT 0x500ull
#define LAYOUT_IDT 0x520ull
#define LAYOUT_ZERO_PAGE 0x7000ull
#define LAYOUT_PVH_INFO 0x8000ull
#define LAYOUT_PML4 0x9000ull
#define LAYOUT_PDPT 0xa000ull
#define LAYOUT_PD 0x10000ull
#define LAYOUT_PD_COUNT 64ull /* one PD maps 1 GiB: 64 GiB identity mapped */
#define LAYOUT_CMDLINE 0x50000ull
#define LAYOUT_CMDLINE_MAX 0x10000ull
#define LAYOUT_BOOT_STACK 0x8ff00ull
#define LAYOUT_VMGENID 0x9d000ull	   /* 16 bytes, 8-byte aligned, in a reserved page */
#define LAYOUT_HOTPLUG 0x9d800ull	   /* 32-bit present mask of the hotplug slots (acpi.h) */
#define LAYOUT_IDENTITY 0x9e000ull	   /* = IDENTITY_GPA (api/identity.h), one page */
#define LAYOUT_RESERVED_LOW LAYOUT_VMGENID /* E820: reserved from here to 1 MiB's RAM */
#define LAYOUT_EBDA 0x9fc00ull
#define LAYOUT_LOW_RAM_END 0xa0000ull
#define LAYOUT_ACPI 0xe0000ull
#define LAYOUT_ACPI_END 0x100000ull
#define LAYOUT_HIGH_MEM 0x100000ull /* 1 MiB: where protected-mode kernels load */
#define LAYOUT_MMIO_HOLE 0xc0000000ull
#define LAYOUT_MMIO_HOLE_END 0x100000000ull
#define LAYOUT_VIRTIO_MMIO_BASE 0xd0000000ull /* virtio-mmio windows, 4 KiB each */
#define LAYOUT_IOAPIC 0xfec00000ull
#define LAYOUT_LAPIC 0xfee00000ull
#define LAYOUT_TSS 0xfffbd000ull	  /* KVM_SET_TSS_ADDR: three pages */
#define LAYOUT_IDENTITY_MAP 0xfffbc000ull /* KVM_SET_IDENTITY_MAP_ADDR: one page */

/* Port I/O devices. */
#define PORT_RTC 0x70
#define PORT_I8042 0x60 /* 0x60 data, 0x64 command/status */
#define PORT_COM1 0x3f8
#define IRQ_COM1 4
#define PORT_PM_BASE 0x600 /* ACPI PM1a event (4 bytes) and control (2 bytes) */
#define PORT_PM_EVT 0x600
#define PORT_PM_CNT 0x604
#define PORT_ACPI_RESET 0x608 /* FADT RESET_REG: write ACPI_RESET_VALUE */
#define ACPI_RESET_VALUE 0x01
#define PORT_BOOT_TIMER 0x610 /* guest writes BOOT_TIMER_INIT here when its init runs */
#define BOOT_TIMER_INIT 0x7b
#define IRQ_SCI 9
#define IRQ_GED 3 /* ACPI Generic Event Device (ACPI0013): VMGenID change notifications */

#endif
