/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ACPI tables for the x86 guest: RSDP -> XSDT -> {FADT -> {FACS, DSDT},
 * MADT}.  The guest is a full (not hardware-reduced) ACPI platform with a
 * PM1a event/control block in port I/O, so the kernel gets a fixed-feature
 * power button, S5 poweroff and a reset register.  Section numbers cite
 * ACPI 6.5.  The structs are the wire format (little-endian, packed) and
 * are exported for the unit tests and for anyone decoding the tables.
 */
#ifndef CLONE_ARCH_X86_ACPI_H
#define CLONE_ARCH_X86_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/mem.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ACPI tables are little-endian");

#define ACPI_MAX_CPUS 255	   /* xAPIC ids 0..254; 0xff is the broadcast id */
#define ACPI_MAX_MMIO 256	   /* DSDT device names VR00..VRFF, hotplug slots included */
#define ACPI_MAX_HOTPLUG 32	   /* one bit each in HPST */
#define ACPI_STA_PRESENT 0x0f	   /* _STA: present, enabled, shown, functioning */
#define ACPI_NOTIFY_BUS_CHECK 0x00 /* §5.6.6: re-enumerate below this device */

#define ACPI_OEM_ID "CLONE "
#define ACPI_OEM_TABLE_ID "CLONEVM "

/*
 * The PM1a registers the FADT announces, which the PM device must implement
 * (chapter 4, "PM1 Event Grouping" and "PM1 Control Grouping"):
 *  - PM1_STS, 16 bits at PORT_PM_EVT: write 1 to clear.
 *  - PM1_EN, 16 bits at PORT_PM_EVT + 2: plain read/write of all 16 bits.
 *    ACPICA sets enable bits (GBL_EN at init, RTC_EN from rtc_cmos,
 *    PWRBTN_EN from the button driver) and reads them back; a bit that
 *    does not stick is logged as an ACPI error.
 *  - PM1_CNT, 16 bits at PORT_PM_CNT: SCI_EN reads as 1; SLP_EN with
 *    SLP_TYP = ACPI_SLP_TYP_S5 powers off.
 * The SCI is GSI IRQ_SCI, level-triggered active-high (MADT override):
 * assert it while (PM1_STS & PM1_EN) != 0.
 */
#define ACPI_PM1_STS_PWRBTN (1u << 8) /* set to press the power button */
#define ACPI_PM1_STS_WAK (1u << 15)
#define ACPI_PM1_EN_GBL (1u << 5)
#define ACPI_PM1_EN_PWRBTN (1u << 8)
#define ACPI_PM1_EN_RTC (1u << 10)
#define ACPI_PM1_CNT_SCI_EN (1u << 0) /* reads as 1: no SMI_CMD, so always in ACPI mode */
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP_MASK (7u << ACPI_PM1_CNT_SLP_TYP_SHIFT)
#define ACPI_PM1_CNT_SLP_EN (1u << 13)
/*
 * SLP_TYP for S5 (soft off) as announced by the DSDT's \_S5 package: the
 * guest powers off by writing
 * (ACPI_SLP_TYP_S5 << ACPI_PM1_CNT_SLP_TYP_SHIFT) | ACPI_PM1_CNT_SLP_EN to PM1_CNT.
 */
#define ACPI_SLP_TYP_S5 5

/* §5.2.5.3 Root System Description Pointer, revision 2. */
struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* first 20 bytes */
	char oem_id[6];
	uint8_t revision; /* 2 */
	uint32_t rsdt_address;
	uint32_t length; /* 36 */
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP is 36 bytes");

/* §5.2.6 System Description Table Header. */
struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "table header is 36 bytes");

/* §5.2.3.2 Generic Address Structure. */
struct acpi_gas {
	uint8_t space_id; /* ACPI_GAS_* */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size; /* 1 byte, 2 word, 3 dword, 4 qword */
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS is 12 bytes");

#define ACPI_GAS_SYSTEM_IO 1
#define ACPI_GAS_ACCESS_BYTE 1
#define ACPI_GAS_ACCESS_WORD 2

/* §5.2.9 Fixed ACPI Description Table, revision 6. */
struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6 is 276 bytes");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT Flags at offset 112");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT at offset 140");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT layout");

/* FADT Flags (Table 5.10). */
#define ACPI_FADT_WBINVD (1u << 0)
#define ACPI_FADT_PROC_C1 (1u << 2)
#define ACPI_FADT_PWR_BUTTON (1u << 4) /* set: no fixed-feature power button */
#define ACPI_FADT_SLP_BUTTON (1u << 5) /* set: no fixed-feature sleep button */
#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_FADT_HW_REDUCED (1u << 20)
/* IA-PC boot architecture flags (Table 5.11). */
#define ACPI_IAPC_LEGACY_DEVICES (1u << 0)
#define ACPI_IAPC_8042 (1u << 1)
#define ACPI_IAPC_VGA_NOT_PRESENT (1u << 2)
#define ACPI_IAPC_MSI_NOT_SUPPORTED (1u << 3)
#define ACPI_IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)

/* §5.2.10 Firmware ACPI Control Structure (no checksum; 64-byte aligned). */
struct acpi_facs {
	char signature[4]; /* "FACS" */
	uint32_t length;   /* 64 */
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version; /* 2 */
	uint8_t reserved0[3];
	uint32_t ospm_flags;
	uint8_t reserved1[24];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS is 64 bytes");

/* §5.2.12 Multiple APIC Description Table. */
struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_address;
	uint32_t flags; /* ACPI_MADT_PCAT_COMPAT */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT fixed part is 44 bytes");

#define ACPI_MADT_PCAT_COMPAT (1u << 0)

enum {
	ACPI_MADT_LAPIC = 0,
	ACPI_MADT_IOAPIC = 1,
	ACPI_MADT_ISO = 2,
	ACPI_MADT_LAPIC_NMI = 4,
};

/* §5.2.12.2 Processor Local APIC. */
struct acpi_madt_lapic {
	uint8_t type;	/* 0 */
	uint8_t length; /* 8 */
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags; /* bit 0 Enabled */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT LAPIC entry is 8 bytes");

/* §5.2.12.3 I/O APIC. */
struct acpi_madt_ioapic {
	uint8_t type;	/* 1 */
	uint8_t length; /* 12 */
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT I/O APIC entry is 12 bytes");

/* §5.2.12.5 Interrupt Source Override. */
struct acpi_madt_iso {
	uint8_t type;	/* 2 */
	uint8_t length; /* 10 */
	uint8_t bus;	/* 0: ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags; /* MPS INTI flags */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_iso) == 10, "MADT ISO entry is 10 bytes");

/* §5.2.12.7 Local APIC NMI. */
struct acpi_madt_lapic_nmi {
	uint8_t type;	       /* 4 */
	uint8_t length;	       /* 6 */
	uint8_t processor_uid; /* 0xff: all processors */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT LAPIC NMI entry is 6 bytes");

/* MPS INTI flags (Table 5.50): polarity bits 1-0, trigger mode bits 3-2. */
#define ACPI_MPS_ACTIVE_HIGH 0x1
#define ACPI_MPS_ACTIVE_LOW 0x3
#define ACPI_MPS_EDGE (0x1 << 2)
#define ACPI_MPS_LEVEL (0x3 << 2)

struct acpi_mmio_dev { /* a virtio-mmio device to announce in the DSDT */
	uint64_t base; /* MMIO window base (guest-physical, below 4 GiB) */
	uint64_t size; /* window size, e.g. 0x1000 */
	unsigned gsi;  /* its interrupt (IOAPIC GSI), edge-triggered active-high */
};

struct acpi_config {
	unsigned nr_cpus;		  /* 1..ACPI_MAX_CPUS; LAPIC ids 0..nr_cpus-1 */
	const struct acpi_mmio_dev *mmio; /* may be NULL when nr_mmio is 0 */
	unsigned nr_mmio;		  /* 0..ACPI_MAX_MMIO */
	/*
	 * VMGenID (Microsoft's "Virtual Machine Generation ID" as Linux's
	 * drivers/virt/vmgenid.c reads it): a device VGEN (_CID
	 * "VM_Gen_Counter") whose ADDR method returns vmgenid_gpa, the 16-byte
	 * generation ID in reserved RAM; and a Generic Event Device (ACPI0013)
	 * on ged_gsi (edge, active high) whose _EVT notifies VGEN (0x80), so a
	 * pulse on ged_gsi makes the guest re-read the ID and reseed its RNG.
	 * vmgenid_gpa 0: neither device.
	 */
	uint64_t vmgenid_gpa;
	unsigned ged_gsi;
	/*
	 * Hotplug slots for virtio-mmio devices added later (forks with
	 * --disk): mmio[nr_mmio .. nr_mmio + nr_hotplug) are announced inside
	 * a container \_SB.HPC0 (ACPI0004) whose devices are present when
	 * their bit (0 for the first spare slot) is set in the 32-bit word at
	 * hotplug_gpa (reserved RAM the VMM writes).  The GED's _EVT also
	 * sends the container a Bus Check, so after a pulse on ged_gsi the
	 * guest rescans it and probes what became present.  Needs the GED
	 * (vmgenid_gpa != 0); nr_hotplug <= 32.
	 */
	unsigned nr_hotplug;
	uint64_t hotplug_gpa;
};

/*
 * Build all tables into buf, which will live at guest-physical base_gpa
 * (len bytes, wholly below 4 GiB).  Pure function, no guest memory access;
 * unused bytes of buf are zeroed.  *rsdp_off = offset of the RSDP in buf (the
 * first 16-byte aligned address, so 0 when base_gpa is aligned).  Returns
 * the bytes used, or -EINVAL (bad config) / -ENOSPC (len too small) with
 * the message set.  Any thread.
 */
int acpi_build_tables(void *buf, size_t len, uint64_t base_gpa, const struct acpi_config *cfg,
		      size_t *rsdp_off);

/*
 * Build the tables at LAYOUT_ACPI..LAYOUT_ACPI_END inside gm and set
 * *rsdp_gpa to the RSDP (for boot_params.acpi_rsdp_addr / PVH rsdp_paddr).
 * 0 or -errno with the message set (-EFAULT if that range is not RAM).
 * Main thread, before the vCPUs run.
 */
int acpi_build(struct guest_mem *gm, const struct acpi_config *cfg, uint64_t *rsdp_gpa);

#endif
