// SPDX-License-Identifier: Apache-2.0
/*
 * ACPI tables for the x86 guest (see acpi.h).  Owns the layout of the ACPI
 * area and the content of every table: RSDP first (16-byte aligned, so the
 * kernel's legacy scan of 0xe0000-0xfffff finds it too), then the FACS
 * (64-byte aligned), DSDT, FADT, MADT and XSDT, each 8-byte aligned.  The
 * DSDT is written with the AML builder in aml.c.  acpi_build_tables() is a
 * pure function of its config; acpi_build() copies nothing, it builds in
 * place through gm_ptr().  Runs on the main thread while the VM is built,
 * before any vCPU runs; no locks, no globals.  Section numbers cite ACPI 6.5.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define LOG_TAG "acpi"
#include "acpi.h"
#include "aml.h"
#include "layout.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"

#define CREATOR_ID "CLON"
#define CREATOR_REVISION 1
#define OEM_REVISION 1

/* Tables follow ACPI 6.3: FADT 6.3, MADT revision 5; DSDT revision 2 for 64-bit integers. */
#define FADT_REVISION 6
#define FADT_MINOR_VERSION 3
#define MADT_REVISION 5
#define DSDT_REVISION 2
#define XSDT_REVISION 1
#define FACS_VERSION 2

/* A cursor over the output buffer; offsets are aligned as guest-physical addresses. */
struct area {
	uint8_t *buf;
	size_t len;
	uint64_t base; /* guest-physical address of buf[0] */
	size_t pos;    /* first free byte */
};

/* Reserve size bytes at the next gpa aligned to align; -ENOSPC when they do not fit. */
static int reserve(struct area *ar, size_t align, size_t size, size_t *off)
{
	size_t o = (size_t)(ALIGN_UP(ar->base + ar->pos, (uint64_t)align) - ar->base);

	if (o > ar->len || size > ar->len - o)
		return err_setx(-ENOSPC, "acpi: tables do not fit in %zu bytes", ar->len);
	*off = o;
	ar->pos = o + size;
	return 0;
}

static uint64_t gpa(const struct area *ar, size_t off)
{
	return ar->base + off;
}

/* The byte that makes [p, p+n) sum to zero (§5.2.6: Checksum). */
static uint8_t checksum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)(0 - sum);
}

static void header_init(struct acpi_header *h, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = OEM_REVISION;
	memcpy(h->creator_id, CREATOR_ID, 4);
	h->creator_revision = CREATOR_REVISION;
}

/* Set the checksum of the table at p, whose header already carries its length. */
static void header_sum(void *p)
{
	struct acpi_header h;

	memcpy(&h, p, sizeof(h));
	((uint8_t *)p)[offsetof(struct acpi_header, checksum)] = 0;
	((uint8_t *)p)[offsetof(struct acpi_header, checksum)] = checksum(p, h.length);
}

static int validate(uint64_t base_gpa, size_t len, const struct acpi_config *cfg)
{
	if (!cfg)
		return err_setx(-EINVAL, "acpi: no configuration");
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > ACPI_MAX_CPUS)
		return err_setx(-EINVAL, "acpi: %u vCPUs: must be 1..%u", cfg->nr_cpus,
				ACPI_MAX_CPUS);
	if (cfg->nr_mmio > ACPI_MAX_MMIO || cfg->nr_hotplug > ACPI_MAX_HOTPLUG ||
	    cfg->nr_hotplug > ACPI_MAX_MMIO - cfg->nr_mmio)
		return err_setx(
			-EINVAL,
			"acpi: %u virtio-mmio devices and %u hotplug slots: at most %u and %u",
			cfg->nr_mmio, cfg->nr_hotplug, ACPI_MAX_MMIO, ACPI_MAX_HOTPLUG);
	if (cfg->nr_hotplug &&
	    (!cfg->vmgenid_gpa || !cfg->hotplug_gpa || cfg->hotplug_gpa > UINT32_MAX - 3))
		return err_setx(-EINVAL, "acpi: hotplug slots need the GED and a word below 4 GiB");
	if ((cfg->nr_mmio || cfg->nr_hotplug) && !cfg->mmio)
		return err_setx(-EINVAL, "acpi: nr_mmio is %u but no devices given", cfg->nr_mmio);
	for (unsigned i = 0; i < cfg->nr_mmio + cfg->nr_hotplug; i++) {
		const struct acpi_mmio_dev *d = &cfg->mmio[i];

		/* Memory32Fixed describes a window wholly below 4 GiB. */
		if (!d->size || d->base > UINT32_MAX ||
		    d->size > (uint64_t)UINT32_MAX + 1 - d->base)
			return err_setx(-EINVAL,
					"acpi: virtio-mmio window 0x%llx+0x%llx not below 4 GiB",
					(unsigned long long)d->base, (unsigned long long)d->size);
	}
	/* FADT's FIRMWARE_CTRL and DSDT are 32-bit pointers. */
	if (base_gpa > UINT32_MAX || len > (uint64_t)UINT32_MAX + 1 - base_gpa)
		return err_setx(-EINVAL, "acpi: table area 0x%llx+0x%zx not below 4 GiB",
				(unsigned long long)base_gpa, len);
	return 0;
}

/*
 * A virtio-mmio device, "LNRO0005" being the ACPI id Linux's virtio_mmio
 * driver matches.  A hotplug slot's _STA reads its bit of HPST (bit 0 for
 * the first spare slot).
 */
static void mmio_device(struct aml *a, const struct acpi_config *cfg, unsigned i, bool hotplug)
{
	const struct acpi_mmio_dev *d = &cfg->mmio[i];
	char name[5];

	snprintf(name, sizeof(name), "VR%02X", i & 0xff);
	aml_device_begin(a, name);
	aml_name_string(a, "_HID", "LNRO0005");
	aml_name_integer(a, "_UID", i);
	aml_name(a, "_CRS");
	aml_restemplate_begin(a);
	aml_res_mem32_fixed(a, true, (uint32_t)d->base, (uint32_t)d->size);
	aml_res_ext_irq(a, AML_IRQ_CONSUMER | AML_IRQ_EDGE, d->gsi);
	aml_restemplate_end(a);
	if (hotplug) {
		aml_method_begin(a, "_STA", 0, false);
		aml_if_and_begin(a, "HPST", 1ull << (i - cfg->nr_mmio));
		aml_return_integer(a, ACPI_STA_PRESENT);
		aml_end(a); /* If */
		aml_return_integer(a, 0);
		aml_end(a); /* _STA */
	}
	aml_end(a);
}

/*
 * The namespace (§5.7, §6.1): \_S5 for poweroff and, under \_SB, the legacy
 * ISA devices the VMM emulates plus one device per virtio-mmio window.  No
 * _STA but on hotplug slots: an absent _STA means present, enabled and
 * functioning (§6.3.7).
 */
static void dsdt_body(struct aml *a, const struct acpi_config *cfg)
{
	/*
	 * §7.4.2: \_S5 is {SLP_TYPa, SLP_TYPb, reserved, reserved}; OSPM
	 * writes SLP_TYPa with SLP_EN into PM1a_CNT (there is no PM1b).
	 */
	aml_name(a, "_S5");
	aml_package_begin(a, 4);
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a);

	aml_scope_begin(a, "\\_SB");

	/* The 16550 at COM1; PNP0501 binds Linux's 8250_pnp. */
	aml_device_begin(a, "COM1");
	aml_name_eisaid(a, "_HID", "PNP0501");
	aml_name_integer(a, "_UID", 1);
	aml_name(a, "_CRS");
	aml_restemplate_begin(a);
	aml_res_io(a, PORT_COM1, PORT_COM1, 1, 8);
	aml_res_irq_noflags(a, 1u << IRQ_COM1);
	aml_restemplate_end(a);
	aml_end(a);

	/*
	 * The CMOS RTC, I/O only.  Linux's rtc_cmos falls back to IRQ 8 for
	 * a PNP RTC at 0x70 that lists no IRQ, as long as there is a PIC.
	 */
	aml_device_begin(a, "RTC");
	aml_name_eisaid(a, "_HID", "PNP0B00");
	aml_name(a, "_CRS");
	aml_restemplate_begin(a);
	aml_res_io(a, PORT_RTC, PORT_RTC, 1, 2);
	aml_restemplate_end(a);
	aml_end(a);

	for (unsigned i = 0; i < cfg->nr_mmio; i++)
		mmio_device(a, cfg, i, false);
	if (cfg->vmgenid_gpa && cfg->nr_hotplug) {
		/* Spare slots in a container: its Bus Check rescans them (see acpi.h). */
		aml_device_begin(a, "HPC0");
		aml_name_string(a, "_HID", "ACPI0004");
		aml_name_integer(a, "_UID", 0);
		aml_opregion(a, "HPRG", AML_SPACE_SYSTEM_MEMORY, cfg->hotplug_gpa, 4);
		aml_field_begin(a, "HPRG", AML_FIELD_DWORD_ACC);
		aml_field_unit(a, "HPST", 32);
		aml_end(a); /* Field */
		for (unsigned i = 0; i < cfg->nr_hotplug; i++)
			mmio_device(a, cfg, cfg->nr_mmio + i, true);
		aml_end(a); /* HPC0 */
	}

	if (cfg->vmgenid_gpa) {
		/* VMGenID: the guest reads the 16-byte ID at ADDR (Linux: drivers/virt/vmgenid.c). */
		aml_device_begin(a, "VGEN");
		aml_name_string(a, "_HID", "CLNV0001");
		aml_name_string(a, "_CID", "VM_Gen_Counter");
		aml_name_string(a, "_DDN", "VM_Gen_Counter");
		aml_method_begin(a, "ADDR", 0, false);
		aml_byte(a, AML_RETURN_OP);
		aml_package_begin(a, 2);
		aml_integer(a, cfg->vmgenid_gpa & 0xffffffffu);
		aml_integer(a, cfg->vmgenid_gpa >> 32);
		aml_end(a); /* Package */
		aml_end(a); /* ADDR */
		aml_end(a); /* VGEN */
		/* Generic Event Device: an edge on its GSI makes the guest re-read the ID. */
		aml_device_begin(a, "GED0");
		aml_name_string(a, "_HID", "ACPI0013");
		aml_name_integer(a, "_UID", 0);
		aml_name(a, "_CRS");
		aml_restemplate_begin(a);
		aml_res_ext_irq(a, AML_IRQ_CONSUMER | AML_IRQ_EDGE, cfg->ged_gsi);
		aml_restemplate_end(a);
		aml_method_begin(a, "_EVT", 1, true);
		aml_byte(a, AML_NOTIFY_OP);
		aml_namestring(a, "\\_SB.VGEN");
		aml_integer(a, 0x80);
		if (cfg->nr_hotplug) {
			aml_byte(a, AML_NOTIFY_OP);
			aml_namestring(a, "\\_SB.HPC0");
			aml_integer(a, ACPI_NOTIFY_BUS_CHECK);
		}
		aml_end(a); /* _EVT */
		aml_end(a); /* GED0 */
	}
	aml_end(a); /* \_SB */
}

static int build_dsdt(struct area *ar, const struct acpi_config *cfg, size_t *off)
{
	struct acpi_header h = { 0 };
	struct aml a;
	int n;

	/* Written in place: reserve the header, let the AML take what is left. */
	if (reserve(ar, 8, sizeof(h), off) < 0)
		return -ENOSPC;
	aml_init(&a, ar->buf + ar->pos, ar->len - ar->pos);
	dsdt_body(&a, cfg);
	n = aml_finish(&a);
	if (n == -ENOSPC)
		return err_setx(-ENOSPC, "acpi: tables do not fit in %zu bytes (DSDT)", ar->len);
	if (n < 0)
		return n;
	ar->pos += (size_t)n;
	header_init(&h, "DSDT", (uint32_t)(sizeof(h) + (size_t)n), DSDT_REVISION);
	memcpy(ar->buf + *off, &h, sizeof(h));
	header_sum(ar->buf + *off);
	return 0;
}

static int build_facs(struct area *ar, size_t *off)
{
	struct acpi_facs f = { 0 };

	/*
	 * §5.2.10: 64-byte aligned.  Present so the Global Lock and the
	 * waking vector have a home on a non-hardware-reduced platform.
	 */
	if (reserve(ar, 64, sizeof(f), off) < 0)
		return -ENOSPC;
	memcpy(f.signature, "FACS", 4);
	f.length = sizeof(f);
	f.version = FACS_VERSION;
	memcpy(ar->buf + *off, &f, sizeof(f));
	return 0;
}

static struct acpi_gas gas_io(uint8_t bits, uint8_t access, uint16_t port)
{
	return (struct acpi_gas){
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = bits,
		.access_size = access,
		.address = port,
	};
}

static int build_fadt(struct area *ar, uint64_t facs, uint64_t dsdt, size_t *off)
{
	struct acpi_fadt f = { 0 };

	if (reserve(ar, 8, sizeof(f), off) < 0)
		return -ENOSPC;
	header_init(&f.h, "FACP", sizeof(f), FADT_REVISION);
	/*
	 * §5.2.9: only one of FIRMWARE_CTRL / X_FIRMWARE_CTRL may be
	 * non-zero.  DSDT and X_DSDT may both be set as long as they agree
	 * (ACPICA warns about a 32/64X mismatch otherwise).
	 */
	f.firmware_ctrl = (uint32_t)facs;
	f.dsdt = (uint32_t)dsdt;
	f.x_dsdt = dsdt;
	f.sci_int = IRQ_SCI;
	/* SMI_CMD 0: no SMI, the platform is always in ACPI mode (SCI_EN reads 1). */
	f.smi_cmd = 0;
	/*
	 * PM1a blocks in both the 32-bit and the X_ fields with matching
	 * widths: ACPICA warns on any 32/64X address or length mismatch.
	 * PM1_EVT is two 16-bit registers (status, enable), PM1_CNT one.
	 */
	f.pm1a_evt_blk = PORT_PM_EVT;
	f.pm1_evt_len = 4;
	f.x_pm1a_evt_blk = gas_io(32, ACPI_GAS_ACCESS_WORD, PORT_PM_EVT);
	f.pm1a_cnt_blk = PORT_PM_CNT;
	f.pm1_cnt_len = 2;
	f.x_pm1a_cnt_blk = gas_io(16, ACPI_GAS_ACCESS_WORD, PORT_PM_CNT);
	/* No PM timer, no GPE blocks (lengths stay 0 with their addresses). */
	/* Latencies above 100 / 1000 us mean C2 / C3 are not supported. */
	f.p_lvl2_lat = 0x0fff;
	f.p_lvl3_lat = 0x0fff;
	/*
	 * No VGA.  8042 clear, so Linux's i8042 does not probe the ports
	 * (the i8042 device is there for reset only).  CMOS_RTC_NOT_PRESENT
	 * clear: there is an RTC at 0x70.
	 */
	f.iapc_boot_arch = ACPI_IAPC_VGA_NOT_PRESENT;
	/*
	 * PWR_BUTTON clear keeps the fixed-feature power button, which the
	 * VMM presses (PM1_STS.PWRBTN_STS) for a graceful shutdown.
	 */
	f.flags = ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_SLP_BUTTON |
		  ACPI_FADT_RESET_REG_SUP;
	/* RESET_REG: Linux's acpi_reboot() wants an 8-bit register at bit offset 0. */
	f.reset_reg = gas_io(8, ACPI_GAS_ACCESS_BYTE, PORT_ACPI_RESET);
	f.reset_value = ACPI_RESET_VALUE;
	f.minor_version = FADT_MINOR_VERSION;
	memcpy(&f.hypervisor_vendor_id, "CLONE\0\0\0", 8);
	memcpy(ar->buf + *off, &f, sizeof(f));
	header_sum(ar->buf + *off);
	return 0;
}

static int build_madt(struct area *ar, const struct acpi_config *cfg, size_t *off)
{
	struct acpi_madt m = { 0 };
	struct acpi_madt_ioapic io = {
		.type = ACPI_MADT_IOAPIC,
		.length = sizeof(io),
		.ioapic_id = 0,
		.address = (uint32_t)LAYOUT_IOAPIC,
		.gsi_base = 0,
	};
	/* ISA IRQ 0 (PIT) is wired to IOAPIC pin 2; the SCI is level, active high. */
	struct acpi_madt_iso iso[] = {
		{ .type = ACPI_MADT_ISO, .length = sizeof(iso[0]), .source = 0, .gsi = 2 },
		{ .type = ACPI_MADT_ISO,
		  .length = sizeof(iso[0]),
		  .source = IRQ_SCI,
		  .gsi = IRQ_SCI,
		  .flags = ACPI_MPS_ACTIVE_HIGH | ACPI_MPS_LEVEL },
	};
	/* NMI on LINT1 of every processor (uid 0xff), bus-default polarity/trigger. */
	struct acpi_madt_lapic_nmi nmi = {
		.type = ACPI_MADT_LAPIC_NMI,
		.length = sizeof(nmi),
		.processor_uid = 0xff,
		.lint = 1,
	};
	size_t len = sizeof(m) + cfg->nr_cpus * sizeof(struct acpi_madt_lapic) + sizeof(io) +
		     sizeof(iso) + sizeof(nmi);
	uint8_t *p;

	if (reserve(ar, 8, len, off) < 0)
		return -ENOSPC;
	p = ar->buf + *off;
	header_init(&m.h, "APIC", (uint32_t)len, MADT_REVISION);
	m.lapic_address = (uint32_t)LAYOUT_LAPIC;
	m.flags = ACPI_MADT_PCAT_COMPAT; /* there is a dual 8259 (KVM's PIC) */
	memcpy(p, &m, sizeof(m));
	p += sizeof(m);
	for (unsigned i = 0; i < cfg->nr_cpus; i++) {
		struct acpi_madt_lapic l = {
			.type = ACPI_MADT_LAPIC,
			.length = sizeof(l),
			.processor_uid = (uint8_t)i,
			.apic_id = (uint8_t)i,
			.flags = 1, /* Enabled */
		};

		memcpy(p, &l, sizeof(l));
		p += sizeof(l);
	}
	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	memcpy(p, iso, sizeof(iso));
	p += sizeof(iso);
	memcpy(p, &nmi, sizeof(nmi));
	header_sum(ar->buf + *off);
	return 0;
}

static int build_xsdt(struct area *ar, const uint64_t *tables, unsigned n, size_t *off)
{
	struct acpi_header h = { 0 };
	size_t len = sizeof(h) + n * sizeof(uint64_t);

	if (reserve(ar, 8, len, off) < 0)
		return -ENOSPC;
	header_init(&h, "XSDT", (uint32_t)len, XSDT_REVISION);
	memcpy(ar->buf + *off, &h, sizeof(h));
	memcpy(ar->buf + *off + sizeof(h), tables, n * sizeof(uint64_t));
	header_sum(ar->buf + *off);
	return 0;
}

static void build_rsdp(struct area *ar, size_t off, uint64_t xsdt)
{
	struct acpi_rsdp r = { 0 };

	memcpy(r.signature, "RSD PTR ", 8);
	memcpy(r.oem_id, ACPI_OEM_ID, 6);
	r.revision = 2;
	r.rsdt_address = 0; /* XSDT only */
	r.length = sizeof(r);
	r.xsdt_address = xsdt;
	/* §5.2.5.3: Checksum covers the ACPI 1.0 part (20 bytes), Extended Checksum all. */
	r.checksum = checksum(&r, 20);
	r.extended_checksum = checksum(&r, sizeof(r));
	memcpy(ar->buf + off, &r, sizeof(r));
}

int acpi_build_tables(void *buf, size_t len, uint64_t base_gpa, const struct acpi_config *cfg,
		      size_t *rsdp_off)
{
	struct area ar = { .buf = buf, .len = len, .base = base_gpa };
	size_t rsdp = 0, facs = 0, dsdt = 0, fadt = 0, madt = 0, xsdt = 0;
	uint64_t xsdt_entries[2];
	int ret;

	ret = validate(base_gpa, len, cfg);
	if (ret < 0)
		return ret;
	memset(buf, 0, len);

	/* §5.2.5.1: the legacy scan looks at 16-byte boundaries. */
	ret = reserve(&ar, 16, sizeof(struct acpi_rsdp), &rsdp);
	if (ret < 0)
		return ret;
	ret = build_facs(&ar, &facs);
	if (ret < 0)
		return ret;
	ret = build_dsdt(&ar, cfg, &dsdt);
	if (ret < 0)
		return ret;
	ret = build_fadt(&ar, gpa(&ar, facs), gpa(&ar, dsdt), &fadt);
	if (ret < 0)
		return ret;
	ret = build_madt(&ar, cfg, &madt);
	if (ret < 0)
		return ret;
	/* The DSDT and FACS are reached through the FADT, not the XSDT (§5.2.8). */
	xsdt_entries[0] = gpa(&ar, fadt);
	xsdt_entries[1] = gpa(&ar, madt);
	ret = build_xsdt(&ar, xsdt_entries, ARRAY_SIZE(xsdt_entries), &xsdt);
	if (ret < 0)
		return ret;
	build_rsdp(&ar, rsdp, gpa(&ar, xsdt));
	*rsdp_off = rsdp;
	return (int)ar.pos;
}

int acpi_build(struct guest_mem *gm, const struct acpi_config *cfg, uint64_t *rsdp_gpa)
{
	const uint64_t size = LAYOUT_ACPI_END - LAYOUT_ACPI;
	void *p = gm_ptr(gm, LAYOUT_ACPI, size);
	size_t off;
	int ret;

	if (!p)
		return err_setx(-EFAULT, "acpi: 0x%llx..0x%llx is not guest RAM",
				(unsigned long long)LAYOUT_ACPI,
				(unsigned long long)LAYOUT_ACPI_END);
	ret = acpi_build_tables(p, size, LAYOUT_ACPI, cfg, &off);
	if (ret < 0)
		return ret;
	*rsdp_gpa = LAYOUT_ACPI + off;
	log_debug("tables: %d bytes at 0x%llx, RSDP at 0x%llx", ret,
		  (unsigned long long)LAYOUT_ACPI, (unsigned long long)*rsdp_gpa);
	return 0;
}
