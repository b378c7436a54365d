// SPDX-License-Identifier: Apache-2.0
/*
 * ACPI tables: structure, pointers and checksums decoded from the bytes,
 * the FADT and MADT fields the guest kernel depends on, size limits, and a
 * cross-check against the reference implementation: every table goes
 * through `iasl -d` (ACPICA's disassembler, acpica-tools), which must not
 * complain, and the disassembled tables must compile back (`iasl -oa`, no
 * optimisation) to the very bytes we emitted.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"
#include "lib/err.h"
#include "lib/util.h"

#define BASE LAYOUT_ACPI
#define AREA (LAYOUT_ACPI_END - LAYOUT_ACPI)

static uint8_t area[AREA];

struct tables {
	const struct acpi_rsdp *rsdp;
	const struct acpi_header *xsdt;
	const struct acpi_fadt *fadt;
	const struct acpi_madt *madt;
	const struct acpi_header *dsdt;
	const struct acpi_facs *facs;
	size_t used;
};

static struct acpi_mmio_dev mmio_devs[ACPI_MAX_MMIO];

static const struct acpi_mmio_dev *make_mmio(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		mmio_devs[i] = (struct acpi_mmio_dev){
			.base = LAYOUT_VIRTIO_MMIO_BASE + i * 0x1000ull,
			.size = 0x1000,
			.gsi = 5 + i,
		};
	return mmio_devs;
}

static uint8_t sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + b[i]);
	return s;
}

/* A pointer into area for a guest-physical range, which must lie inside it. */
static const void *at(uint64_t gpa, size_t len)
{
	cr_assert(gpa >= BASE && gpa + len <= BASE + AREA, "0x%llx+%zu outside the ACPI area",
		  (unsigned long long)gpa, len);
	return area + (gpa - BASE);
}

static const struct acpi_header *table_at(uint64_t gpa, const char *sig)
{
	const struct acpi_header *h = at(gpa, sizeof(*h));

	cr_assert_arr_eq(h->signature, sig, 4, "table at 0x%llx is not %s", (unsigned long long)gpa,
			 sig);
	at(gpa, h->length);
	cr_assert_eq(sum(h, h->length), 0, "%s checksum", sig);
	cr_assert_arr_eq(h->oem_id, "CLONE ", 6);
	cr_assert_arr_eq(h->oem_table_id, "CLONEVM ", 8);
	return h;
}

/* Build and follow every pointer from the RSDP, checking checksums on the way. */
/* VMGenID address for the next build() (0: none), with its GED on GSI 3. */
static uint64_t build_vmgenid;
/* Hotplug slots for the next build() (after its nr_mmio devices), their word at 0x9d800. */
static unsigned build_hotplug;

static void build(struct tables *t, unsigned cpus, unsigned nr_mmio)
{
	struct acpi_config cfg = { .nr_cpus = cpus,
				   .mmio = make_mmio(nr_mmio + build_hotplug),
				   .nr_mmio = nr_mmio,
				   .vmgenid_gpa = build_vmgenid,
				   .ged_gsi = 3,
				   .nr_hotplug = build_hotplug,
				   .hotplug_gpa = build_hotplug ? 0x9d800 : 0 };
	size_t rsdp_off = 1;
	int n;
	const uint8_t *x;
	uint64_t e[2];

	memset(area, 0xa5, sizeof(area));
	n = acpi_build_tables(area, sizeof(area), BASE, &cfg, &rsdp_off);
	cr_assert_gt(n, 0, "acpi_build_tables: %d %s", n, err_msg());
	t->used = (size_t)n;

	cr_assert_eq(rsdp_off, 0, "RSDP first in the area");
	t->rsdp = at(BASE + rsdp_off, sizeof(*t->rsdp));
	cr_assert_arr_eq(t->rsdp->signature, "RSD PTR ", 8);
	cr_assert_eq(sum(t->rsdp, 20), 0, "RSDP checksum");
	cr_assert_eq(sum(t->rsdp, 36), 0, "RSDP extended checksum");
	cr_assert_eq(t->rsdp->revision, 2);
	cr_assert_eq(t->rsdp->length, 36);
	cr_assert_eq(t->rsdp->rsdt_address, 0);
	cr_assert_arr_eq(t->rsdp->oem_id, "CLONE ", 6);

	t->xsdt = table_at(t->rsdp->xsdt_address, "XSDT");
	cr_assert_eq(t->xsdt->length, 36 + 2 * 8, "XSDT lists the FADT and the MADT");
	x = (const uint8_t *)t->xsdt + 36;
	memcpy(e, x, sizeof(e));
	t->fadt = (const struct acpi_fadt *)table_at(e[0], "FACP");
	t->madt = (const struct acpi_madt *)table_at(e[1], "APIC");
	t->dsdt = table_at(t->fadt->x_dsdt, "DSDT");
	t->facs = at(t->fadt->firmware_ctrl, sizeof(*t->facs));
}

Test(acpi, checksums_and_pointers)
{
	struct tables t;

	build(&t, 3, 3);
	/* Every table lies inside what acpi_build_tables() said it used. */
	cr_assert_leq((const uint8_t *)t.dsdt + t.dsdt->length, area + t.used);
	cr_assert_leq((const uint8_t *)t.madt + t.madt->h.length, area + t.used);
	cr_assert_leq((const uint8_t *)t.xsdt + t.xsdt->length, area + t.used);
	/* Bytes past the end were zeroed, not left as they were. */
	for (size_t i = t.used; i < AREA; i++)
		cr_assert_eq(area[i], 0, "byte %zu not cleared", i);

	cr_assert_eq(t.xsdt->revision, 1);
	cr_assert_eq(t.dsdt->revision, 2, "DSDT revision 2: 64-bit integers");
	cr_assert_eq(t.fadt->dsdt, t.fadt->x_dsdt, "DSDT and X_DSDT agree");

	cr_assert_arr_eq(t.facs->signature, "FACS", 4);
	cr_assert_eq(t.facs->length, 64);
	cr_assert_eq(t.fadt->firmware_ctrl % 64, 0, "FACS is 64-byte aligned");
	cr_assert_eq(t.fadt->x_firmware_ctrl, 0, "only one FACS pointer may be set");
}

Test(acpi, fadt_fields)
{
	struct tables t;
	const struct acpi_fadt *f;

	build(&t, 1, 0);
	f = t.fadt;
	cr_assert_eq(f->h.length, 276);
	cr_assert_eq(f->h.revision, 6);
	cr_assert_eq(f->sci_int, IRQ_SCI);
	cr_assert_eq(f->sci_int, 9);
	cr_assert_eq(f->smi_cmd, 0);
	cr_assert_eq(f->acpi_enable, 0);
	cr_assert_eq(f->acpi_disable, 0);

	cr_assert_eq(f->pm1a_evt_blk, PORT_PM_EVT);
	cr_assert_eq(f->pm1a_evt_blk, 0x600);
	cr_assert_eq(f->pm1_evt_len, 4);
	cr_assert_eq(f->x_pm1a_evt_blk.space_id, ACPI_GAS_SYSTEM_IO);
	cr_assert_eq(f->x_pm1a_evt_blk.address, 0x600);
	cr_assert_eq(f->x_pm1a_evt_blk.bit_width, 8 * f->pm1_evt_len);
	cr_assert_eq(f->x_pm1a_evt_blk.bit_offset, 0);

	cr_assert_eq(f->pm1a_cnt_blk, PORT_PM_CNT);
	cr_assert_eq(f->pm1a_cnt_blk, 0x604);
	cr_assert_eq(f->pm1_cnt_len, 2);
	cr_assert_eq(f->x_pm1a_cnt_blk.space_id, ACPI_GAS_SYSTEM_IO);
	cr_assert_eq(f->x_pm1a_cnt_blk.address, 0x604);
	cr_assert_eq(f->x_pm1a_cnt_blk.bit_width, 8 * f->pm1_cnt_len);

	/* No PM1b, PM2, PM timer or GPE blocks, in either form. */
	cr_assert_eq(f->pm1b_evt_blk | f->pm1b_cnt_blk | f->pm2_cnt_blk | f->pm_tmr_blk, 0);
	cr_assert_eq(f->gpe0_blk | f->gpe1_blk, 0);
	cr_assert_eq(f->pm2_cnt_len | f->pm_tmr_len | f->gpe0_blk_len | f->gpe1_blk_len, 0);
	cr_assert_eq(f->x_pm1b_evt_blk.address | f->x_pm1b_cnt_blk.address |
			     f->x_pm2_cnt_blk.address | f->x_pm_tmr_blk.address |
			     f->x_gpe0_blk.address | f->x_gpe1_blk.address,
		     0);

	cr_assert_eq(f->reset_reg.space_id, ACPI_GAS_SYSTEM_IO);
	cr_assert_eq(f->reset_reg.bit_width, 8);
	cr_assert_eq(f->reset_reg.bit_offset, 0);
	cr_assert_eq(f->reset_reg.address, PORT_ACPI_RESET);
	cr_assert_eq(f->reset_reg.address, 0x608);
	cr_assert_eq(f->reset_value, ACPI_RESET_VALUE);

	cr_assert_eq(f->flags,
		     ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_SLP_BUTTON |
			     ACPI_FADT_RESET_REG_SUP,
		     "flags 0x%x", f->flags);
	cr_assert_eq(f->flags & ACPI_FADT_PWR_BUTTON, 0, "fixed power button present");
	cr_assert_eq(f->flags & ACPI_FADT_HW_REDUCED, 0);
	cr_assert_eq(f->iapc_boot_arch, ACPI_IAPC_VGA_NOT_PRESENT, "boot arch 0x%x",
		     f->iapc_boot_arch);
	cr_assert_eq(f->iapc_boot_arch & ACPI_IAPC_8042, 0);
	cr_assert_eq(f->iapc_boot_arch & ACPI_IAPC_CMOS_RTC_NOT_PRESENT, 0);
	cr_assert_gt(f->p_lvl2_lat, 100, "no C2");
	cr_assert_gt(f->p_lvl3_lat, 1000, "no C3");
	cr_assert_arr_eq(&f->hypervisor_vendor_id, "CLONE\0\0\0", 8);
}

struct madt_counts {
	unsigned lapic, ioapic, iso, nmi, other;
};

static struct madt_counts walk_madt(const struct acpi_madt *m, unsigned cpus)
{
	struct madt_counts c = { 0 };
	const uint8_t *p = (const uint8_t *)m + sizeof(*m);
	const uint8_t *end = (const uint8_t *)m + m->h.length;

	cr_assert_eq(m->lapic_address, 0xfee00000);
	cr_assert_eq(m->flags, ACPI_MADT_PCAT_COMPAT);
	while (p < end) {
		cr_assert_geq(p[1], 2, "MADT entry length");
		cr_assert_leq(p + p[1], end, "MADT entry overruns the table");
		switch (p[0]) {
		case ACPI_MADT_LAPIC: {
			const struct acpi_madt_lapic *l = (const void *)p;

			cr_assert_eq(l->length, 8);
			cr_assert_eq(l->apic_id, c.lapic, "LAPIC ids in order");
			cr_assert_eq(l->processor_uid, l->apic_id);
			cr_assert_eq(l->flags, 1, "enabled");
			c.lapic++;
			break;
		}
		case ACPI_MADT_IOAPIC: {
			const struct acpi_madt_ioapic *io = (const void *)p;

			cr_assert_eq(io->length, 12);
			cr_assert_eq(io->ioapic_id, 0);
			cr_assert_eq(io->address, 0xfec00000);
			cr_assert_eq(io->gsi_base, 0);
			c.ioapic++;
			break;
		}
		case ACPI_MADT_ISO: {
			const struct acpi_madt_iso *iso = (const void *)p;

			cr_assert_eq(iso->length, 10);
			cr_assert_eq(iso->bus, 0);
			if (iso->source == 0) {
				cr_assert_eq(iso->gsi, 2);
				cr_assert_eq(iso->flags, 0);
			} else {
				cr_assert_eq(iso->source, 9);
				cr_assert_eq(iso->gsi, 9);
				cr_assert_eq(iso->flags, 0x000d, "SCI level, active high");
			}
			c.iso++;
			break;
		}
		case ACPI_MADT_LAPIC_NMI: {
			const struct acpi_madt_lapic_nmi *nmi = (const void *)p;

			cr_assert_eq(nmi->length, 6);
			cr_assert_eq(nmi->processor_uid, 0xff);
			cr_assert_eq(nmi->lint, 1);
			c.nmi++;
			break;
		}
		default:
			c.other++;
		}
		p += p[1];
	}
	cr_assert_eq(p, end);
	cr_assert_eq(c.lapic, cpus);
	cr_assert_eq(c.ioapic, 1);
	cr_assert_eq(c.iso, 2);
	cr_assert_eq(c.nmi, 1);
	cr_assert_eq(c.other, 0);
	return c;
}

Test(acpi, madt_counts)
{
	static const unsigned cpus[] = { 1, 3, 255 };

	for (size_t i = 0; i < ARRAY_SIZE(cpus); i++) {
		struct tables t;

		build(&t, cpus[i], 2);
		cr_assert_eq(t.madt->h.length, 44 + 8 * cpus[i] + 12 + 2 * 10 + 6);
		walk_madt(t.madt, cpus[i]);
	}
}

Test(acpi, fits_for_largest_config)
{
	struct tables t;

	build(&t, ACPI_MAX_CPUS, ACPI_MAX_MMIO);
	cr_assert_leq(t.used, AREA);
	walk_madt(t.madt, ACPI_MAX_CPUS);
	/* The last device is VRFF. */
	cr_assert(memmem(t.dsdt, t.dsdt->length, "VRFF", 4), "VRFF missing");
}

Test(acpi, dsdt_content)
{
	struct tables t;
	const char *d;
	size_t n;

	build(&t, 1, 3);
	d = (const char *)t.dsdt;
	n = t.dsdt->length;
	/* Name (_S5, Package (4) {5, 5, 0, 0}) */
	cr_assert(memmem(d, n,
			 "\x08_S5_\x12\x08\x04\x0a"
			 "\x05\x0a\x05\x00\x00",
			 13),
		  "_S5 package");
	cr_assert_eq(ACPI_SLP_TYP_S5, 5);
	cr_assert(memmem(d, n, "\x08_HID\x0c\x41\xd0\x05\x01", 10), "COM1 _HID PNP0501");
	cr_assert(memmem(d, n, "\x08_HID\x0c\x41\xd0\x0b\x00", 10), "RTC _HID PNP0B00");
	cr_assert(memmem(d, n, "VR00", 4) && memmem(d, n, "VR01", 4) && memmem(d, n, "VR02", 4));
	cr_assert_null(memmem(d, n, "VR03", 4));
	/* VR02: Memory32Fixed at 0xd0002000, Interrupt {7}. */
	cr_assert(memmem(d, n, "\x86\x09\x00\x01\x00\x20\x00\xd0\x00\x10\x00\x00", 12));
	cr_assert(memmem(d, n, "\x89\x06\x00\x03\x01\x07\x00\x00\x00", 9));
}

Test(acpi, enospc)
{
	struct acpi_config cfg = { .nr_cpus = 4, .mmio = make_mmio(4), .nr_mmio = 4 };
	static uint8_t buf[AREA];
	size_t off;
	int need;

	cr_assert_eq(acpi_build_tables(buf, 16, BASE, &cfg, &off), -ENOSPC);
	cr_assert(strstr(err_msg(), "do not fit"), "%s", err_msg());
	cr_assert_eq(acpi_build_tables(buf, 200, BASE, &cfg, &off), -ENOSPC);

	need = acpi_build_tables(buf, sizeof(buf), BASE, &cfg, &off);
	cr_assert_gt(need, 0);
	/* Every size short of what is needed fails cleanly (DSDT, FADT, MADT, XSDT boundaries). */
	for (int len = 0; len < need; len++)
		cr_assert_eq(acpi_build_tables(buf, (size_t)len, BASE, &cfg, &off), -ENOSPC,
			     "len %d", len);
	cr_assert_eq(acpi_build_tables(buf, (size_t)need, BASE, &cfg, &off), need);
}

Test(acpi, bad_config)
{
	static uint8_t buf[AREA];
	struct acpi_mmio_dev high = { .base = 0x100000000ull, .size = 0x1000, .gsi = 5 };
	struct acpi_mmio_dev straddle = { .base = 0xfffff000ull, .size = 0x2000, .gsi = 5 };
	struct acpi_mmio_dev empty = { .base = 0xd0000000ull, .size = 0, .gsi = 5 };
	struct acpi_mmio_dev last = { .base = 0xfffff000ull, .size = 0x1000, .gsi = 5 };
	struct acpi_config cfg = { .nr_cpus = 0 };
	size_t off;

	cr_assert_eq(acpi_build_tables(buf, sizeof(buf), BASE, NULL, &off), -EINVAL);
	cr_assert_eq(acpi_build_tables(buf, sizeof(buf), BASE, &cfg, &off), -EINVAL);
	cfg.nr_cpus = 256;
	cr_assert_eq(acpi_build_tables(buf, sizeof(buf), BASE, &cfg, &off), -EINVAL);
	cfg.nr_cpus = 1;
	cfg.nr_mmio = 1;
	cr_assert_eq(acpi_build_tables(buf, sizeof(buf), BASE, &cfg, &off), -EINVAL);
	cfg.mmio = &high;
	cr_assert_eq(acpi_build_tables(buf, sizeof(buf), BASE, &cfg, &off), -EINVAL);
	cr_assert(strstr(err_msg(), "4 GiB"), "%s", err_msg());
	cfg.mmio = &straddle;
	cr_assert_eq(acpi_build_tables(buf, sizeof(buf), BASE, &cfg, &off), -EINVAL);
	cfg.mmio = &empty;
	cr_assert_eq(acpi_build_tables(buf, sizeof(buf), BASE, &cfg, &off), -EINVAL);
	cfg.mmio = &last;
	cr_assert_gt(acpi_build_tables(buf, sizeof(buf), BASE, &cfg, &off), 0);
	cfg.nr_mmio = ACPI_MAX_MMIO + 1;
	cr_assert_eq(acpi_build_tables(buf, sizeof(buf), BASE, &cfg, &off), -EINVAL);
	cfg.nr_mmio = 0;
	cr_assert_eq(acpi_build_tables(buf, sizeof(buf), 0x100000000ull, &cfg, &off), -EINVAL);
	cr_assert_eq(acpi_build_tables(buf, sizeof(buf), 0xffff0000ull, &cfg, &off), -EINVAL);
}

Test(acpi, unaligned_base)
{
	static uint8_t buf[AREA];
	struct acpi_config cfg = { .nr_cpus = 2 };
	const struct acpi_rsdp *r;
	const struct acpi_fadt *f;
	uint64_t base = 0x7f008; /* 8 past a 16-byte boundary */
	uint64_t fadt;
	size_t off = 0;

	cr_assert_gt(acpi_build_tables(buf, sizeof(buf), base, &cfg, &off), 0);
	cr_assert_eq((base + off) % 16, 0, "RSDP 16-byte aligned");
	cr_assert_eq(off, 8);
	r = (const void *)(buf + off);
	cr_assert_eq(sum(r, 36), 0);
	memcpy(&fadt, buf + (r->xsdt_address - base) + sizeof(struct acpi_header), sizeof(fadt));
	f = (const void *)(buf + (fadt - base));
	cr_assert_arr_eq(f->h.signature, "FACP", 4);
	cr_assert_eq(f->firmware_ctrl % 64, 0, "FACS aligned as a gpa");
}

Test(acpi, build_in_guest_memory)
{
	struct acpi_config cfg = { .nr_cpus = 2, .mmio = make_mmio(1), .nr_mmio = 1 };
	struct guest_mem gm = { 0 };
	uint64_t rsdp = 0;
	static uint8_t ram[2 * MiB];
	const struct acpi_rsdp *r;

	gm.regions[0] = (struct gm_region){ .gpa = 0, .size = 2 * MiB, .hva = ram };
	gm.nr = 1;
	cr_assert_eq(acpi_build(&gm, &cfg, &rsdp), 0, "%s", err_msg());
	cr_assert_eq(rsdp, 0xe0000);
	r = (const void *)(ram + rsdp);
	cr_assert_arr_eq(r->signature, "RSD PTR ", 8);
	cr_assert_eq(sum(r, 36), 0);
	cr_assert_geq(r->xsdt_address, LAYOUT_ACPI);
	cr_assert_lt(r->xsdt_address, LAYOUT_ACPI_END);
	/* Nothing written outside the area. */
	for (size_t i = 0; i < 2 * MiB; i++)
		if (i < LAYOUT_ACPI || i >= LAYOUT_ACPI_END)
			cr_assert_eq(ram[i], 0, "byte 0x%zx written", i);

	/* RAM that stops short of the area: -EFAULT, nothing written. */
	gm.regions[0].size = 0xf0000;
	cr_assert_eq(acpi_build(&gm, &cfg, &rsdp), -EFAULT);
}

/* ---- Cross-check with ACPICA: iasl and acpiexec (acpica-tools) ---- */

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/clone-acpi-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void remove_tmpdir(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void write_table(const char *name, const void *p, size_t n)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(p, 1, n, f), n);
	cr_assert_eq(fclose(f), 0);
}

/* The whole file, NUL-terminated, in a static buffer (valid until the next call). */
static char *read_whole(const char *name, size_t *len, char *buf, size_t cap)
{
	char path[128];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, cap - 1, f);
	cr_assert(feof(f), "%s larger than %zu bytes", path, cap - 1);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Run an ACPICA tool inside tmpdir; its output (stdout + stderr) goes to out. */
static int tool(const char *cmdline, char *out, size_t cap)
{
	char cmd[512];
	size_t n = 0;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "cd '%s' && %s 2>&1", tmpdir, cmdline);
	p = popen(cmd, "r");
	cr_assert_not_null(p, "popen: %s", strerror(errno));
	while (n + 1 < cap) {
		size_t r = fread(out + n, 1, cap - 1 - n, p);

		if (r == 0)
			break;
		n += r;
	}
	out[n] = '\0';
	status = pclose(p);
	cr_assert(WIFEXITED(status), "%s died", cmdline);
	cr_assert_neq(WEXITSTATUS(status), 127, "%s: not found: install acpica-tools", cmdline);
	return WEXITSTATUS(status);
}

/* No line of text may mention an error or a warning (case-insensitive). */
static void assert_clean(const char *what, const char *text)
{
	const char *line = text;

	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		char buf[512];

		snprintf(buf, sizeof(buf), "%.*s", (int)MIN(n, sizeof(buf) - 1), line);
		/* The compiler's summary ("... 0 Errors, 0 Warnings ...") is checked by the caller. */
		if (strstr(buf, "Compilation successful.") == buf)
			buf[0] = '\0';
		cr_assert_null(strcasestr(buf, "error"), "%s: %s", what, buf);
		cr_assert_null(strcasestr(buf, "warning"), "%s: %s", what, buf);
		cr_assert_null(strcasestr(buf, "incorrect"), "%s: %s", what, buf);
		line += n + (nl ? 1 : 0);
	}
}

static char log_buf[1 << 18];

/* Compile src with iasl (extra flags first): clean, and the output must equal want[skip..]. */
static void compile_and_compare(const char *flags, const char *src, const char *out,
				const void *want, size_t len, size_t skip)
{
	static char aml_buf[1 << 17];
	char cmd[256];
	size_t aml_len;

	snprintf(cmd, sizeof(cmd), "iasl %s -p %s %s", flags, out, src);
	cr_assert_eq(tool(cmd, log_buf, sizeof(log_buf)), 0, "%s:\n%s", cmd, log_buf);
	assert_clean(cmd, log_buf);
	cr_assert(strstr(log_buf, "0 Errors, 0 Warnings, 0 Remarks"), "%s:\n%s", cmd, log_buf);
	snprintf(cmd, sizeof(cmd), "%s.aml", out);
	read_whole(cmd, &aml_len, aml_buf, sizeof(aml_buf));
	cr_assert_eq(aml_len, len, "%s: recompiled to %zu bytes, we emitted %zu", src, aml_len,
		     len);
	for (size_t i = skip; i < len; i++)
		cr_assert_eq((uint8_t)aml_buf[i], ((const uint8_t *)want)[i],
			     "%s: byte %zu differs after recompiling", src, i);
}

/*
 * Disassemble name.dat (`iasl -d`): the log and the .dsl must be clean.
 * Then compile the .dsl back without optimisations (-oa, so iasl keeps our
 * namepaths and integer encodings) and compare with what we emitted.  For
 * tables with a header only the signature, length and revision and the body
 * are compared: iasl writes its own creator id and so its own checksum.
 */
static char *disassemble(const char *name, const void *table, size_t len, bool has_header)
{
	static char dsl_buf[1 << 20];
	char file[64], cmd[160];
	size_t dsl_len;

	snprintf(file, sizeof(file), "%s.dat", name);
	write_table(file, table, len);
	snprintf(cmd, sizeof(cmd), "iasl -d %s", file);
	cr_assert_eq(tool(cmd, log_buf, sizeof(log_buf)), 0, "%s:\n%s", cmd, log_buf);
	assert_clean(cmd, log_buf);
	snprintf(file, sizeof(file), "%s.dsl", name);
	read_whole(file, &dsl_len, dsl_buf, sizeof(dsl_buf));
	assert_clean(file, dsl_buf);

	snprintf(cmd, sizeof(cmd), "%s_re", name);
	compile_and_compare("-oa", file, cmd, table, len,
			    has_header ? sizeof(struct acpi_header) : 0);
	if (has_header) {
		char dat[64];
		size_t n;
		static char again[1 << 17];

		snprintf(dat, sizeof(dat), "%s_re.aml", name);
		read_whole(dat, &n, again, sizeof(again));
		cr_assert_arr_eq(again, table, 9, "%s: signature, length, revision", name);
	}
	return dsl_buf;
}

/*
 * iasl cannot disassemble a lone RSDP (its Length is not at offset 4), but
 * its data-table compiler builds one and computes both checksums: describe
 * our fields in its source format and the output must equal our bytes.
 */
static void check_rsdp(const struct acpi_rsdp *r)
{
	char src[1024];

	snprintf(src, sizeof(src),
		 "[0008] Signature : \"RSD PTR \"\n"
		 "[0001] Checksum : 00\n"
		 "[0006] Oem ID : \"%.6s\"\n"
		 "[0001] Revision : %02X\n"
		 "[0004] RSDT Address : %08X\n"
		 "[0004] Length : %08X\n"
		 "[0008] XSDT Address : %016llX\n"
		 "[0001] Extended Checksum : 00\n"
		 "[0003] Reserved : 000000\n",
		 r->oem_id, r->revision, r->rsdt_address, r->length,
		 (unsigned long long)r->xsdt_address);
	write_table("rsdp.asl", src, strlen(src));
	compile_and_compare("", "rsdp.asl", "rsdp", r, sizeof(*r), 0);
}

/*
 * acpiexec runs ACPICA, the interpreter Linux uses, on our tables: it
 * parses the FADT exactly as the kernel does (its 32/64X and length
 * warnings are the kernel's), loads the DSDT into a namespace, and lets us
 * evaluate \_S5 and decode every _CRS through the kernel's resource code.
 * Its built-in self-test pokes hardware the platform deliberately lacks
 * (PM2 for ARB_DIS, GPE blocks, the PM timer) and reports that as
 * "Unexpected AE_..." lines, which are not about the tables.
 */
static void check_acpiexec(unsigned nr_mmio)
{
	char cmd[256];
	const char *p;

	snprintf(cmd, sizeof(cmd),
		 "acpiexec -b 'evaluate \\_S5; resources \\_SB.COM1; resources \\_SB.RTC%s' "
		 "dsdt.dat facp.dat apic.dat",
		 nr_mmio ? "; resources \\_SB.VR00" : "");
	cr_assert_eq(tool(cmd, log_buf, sizeof(log_buf)), 0, "%s:\n%s", cmd, log_buf);
	assert_clean("acpiexec", log_buf);
	cr_assert(strstr(log_buf, "1 ACPI AML tables successfully acquired and loaded"), "%s",
		  log_buf);
	p = strstr(log_buf, "[Package] Contains 4 Elements:");
	cr_assert(p, "\\_S5:\n%s", log_buf);
	cr_assert(strstr(p, "[Integer] = 0000000000000005\n    [Integer] = 0000000000000005\n"
			    "    [Integer] = 0000000000000000\n    [Integer] = 0000000000000000"),
		  "%s", p);
	cr_assert(strstr(log_buf, "Address Minimum : 03F8"), "%s", log_buf);
	cr_assert(strstr(log_buf, "Interrupt List : 4"), "%s", log_buf);
	cr_assert(strstr(log_buf, "Address Minimum : 0070"), "%s", log_buf);
	if (nr_mmio) {
		cr_assert(strstr(log_buf, "32-Bit Fixed Memory Range Resource"), "%s", log_buf);
		cr_assert(strstr(log_buf, "Address : D0000000"), "%s", log_buf);
		cr_assert(strstr(log_buf, "Triggering : Edge"), "%s", log_buf);
		cr_assert(strstr(log_buf, "Dword00 : 00000005"), "%s", log_buf);
	}
}

static void check_with_acpica(unsigned cpus, unsigned nr_mmio)
{
	struct tables t;
	const char *dsl;

	build(&t, cpus, nr_mmio);

	dsl = disassemble("dsdt", t.dsdt, t.dsdt->length, true);
	cr_assert(strstr(dsl, "EisaId (\"PNP0501\")"), "COM1 _HID");
	cr_assert(strstr(dsl, "EisaId (\"PNP0B00\")"), "RTC _HID");
	cr_assert(strstr(dsl, "Name (_S5, Package (0x04)"), "\\_S5");
	cr_assert(strstr(dsl, "Device (COM1)") && strstr(dsl, "Device (RTC)"));
	if (nr_mmio) {
		char name[32];

		snprintf(name, sizeof(name), "Device (VR%02X)", (nr_mmio - 1) & 0xff);
		cr_assert(strstr(dsl, name), "%s", name);
		cr_assert(strstr(dsl, "Name (_HID, \"LNRO0005\")"), "virtio-mmio _HID");
		cr_assert(strstr(dsl, "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive"));
		cr_assert(strstr(dsl, "Memory32Fixed (ReadWrite"));
	}

	dsl = disassemble("facp", t.fadt, t.fadt->h.length, true);
	cr_assert(strstr(dsl, "Signature : \"FACP\""), "%s", dsl);
	dsl = disassemble("apic", t.madt, t.madt->h.length, true);
	cr_assert(strstr(dsl, "Signature : \"APIC\""), "%s", dsl);
	disassemble("xsdt", t.xsdt, t.xsdt->length, true);
	disassemble("facs", t.facs, sizeof(*t.facs), false);
	check_rsdp(t.rsdp);
	check_acpiexec(nr_mmio);
}

Test(acpi, iasl_small, .init = make_tmpdir, .fini = remove_tmpdir)
{
	check_with_acpica(1, 0);
}

Test(acpi, iasl_typical, .init = make_tmpdir, .fini = remove_tmpdir)
{
	check_with_acpica(3, 3);
}

Test(acpi, iasl_large, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 60)
{
	check_with_acpica(255, 32);
}

/*
 * VMGenID and its Generic Event Device, as Linux's vmgenid and evged
 * drivers read them: ADDR returns the address as two integers, GED0's
 * _CRS has one edge interrupt and _EVT notifies VGEN with 0x80.
 */
Test(acpi, vmgenid_and_ged, .init = make_tmpdir, .fini = remove_tmpdir)
{
	struct tables t;
	const char *dsl;
	char cmd[256];

	build_vmgenid = 0x9d000;
	build(&t, 1, 2);
	build_vmgenid = 0;
	dsl = disassemble("dsdt", t.dsdt, t.dsdt->length, true);
	cr_assert(strstr(dsl, "Device (VGEN)"), "%s", dsl);
	cr_assert(strstr(dsl, "Name (_CID, \"VM_Gen_Counter\")"), "%s", dsl);
	cr_assert(strstr(dsl, "Method (ADDR, 0, NotSerialized)"), "%s", dsl);
	cr_assert(strstr(dsl, "Device (GED0)"), "%s", dsl);
	cr_assert(strstr(dsl, "ACPI0013"), "%s", dsl);
	cr_assert(strstr(dsl, "Method (_EVT, 1, Serialized)"), "%s", dsl);
	cr_assert(strstr(dsl, "Notify (VGEN, 0x80)") || strstr(dsl, "Notify (\\_SB.VGEN, 0x80)"),
		  "%s", dsl);
	disassemble("facp", t.fadt, t.fadt->h.length, true);
	disassemble("apic", t.madt, t.madt->h.length, true);
	snprintf(cmd, sizeof(cmd),
		 "acpiexec -b 'evaluate \\_SB.VGEN.ADDR; resources \\_SB.GED0; "
		 "evaluate \\_SB.GED0._EVT 3' dsdt.dat facp.dat apic.dat");
	cr_assert_eq(tool(cmd, log_buf, sizeof(log_buf)), 0, "%s:\n%s", cmd, log_buf);
	assert_clean("acpiexec", log_buf);
	cr_assert(strstr(log_buf, "[Package] Contains 2 Elements:"), "%s", log_buf);
	cr_assert(strstr(log_buf, "[Integer] = 000000000009D000\n    [Integer] = 0000000000000000"),
		  "%s", log_buf);
	cr_assert(strstr(log_buf, "Dword00 : 00000003"), "%s", log_buf);
	/* No VMGenID asked for: neither device. */
	build(&t, 1, 2);
	cr_assert_null(memmem(t.dsdt, t.dsdt->length, "VGEN", 4));
	cr_assert_null(memmem(t.dsdt, t.dsdt->length, "GED0", 4));
}

Test(acpi, hotplug_slots, .init = make_tmpdir, .fini = remove_tmpdir)
{
	struct tables t;
	const char *dsl;
	char cmd[256];

	build_vmgenid = 0x9d000;
	build_hotplug = 3;
	build(&t, 1, 2);
	build_vmgenid = 0;
	build_hotplug = 0;
	dsl = disassemble("dsdt", t.dsdt, t.dsdt->length, true);
	/* Two fixed devices outside the container, three slots inside it. */
	cr_assert(strstr(dsl, "Device (VR01)"), "%s", dsl);
	cr_assert(strstr(dsl, "Device (HPC0)"), "%s", dsl);
	cr_assert(strstr(dsl, "\"ACPI0004\""), "%s", dsl);
	cr_assert(strstr(dsl, "OperationRegion (HPRG, SystemMemory, 0x0009D800, 0x04)"), "%s", dsl);
	cr_assert(strstr(dsl, "Field (HPRG, DWordAcc, NoLock, Preserve)"), "%s", dsl);
	cr_assert(strstr(dsl, "Device (VR04)"), "%s", dsl);
	cr_assert_null(strstr(dsl, "Device (VR05)"), "%s", dsl);
	cr_assert(strstr(dsl, "If ((HPST & 0x04))"), "%s", dsl);
	cr_assert(strstr(dsl, "Notify (\\_SB.HPC0, Zero) // Bus Check"), "%s", dsl);
	disassemble("facp", t.fadt, t.fadt->h.length, true);
	disassemble("apic", t.madt, t.madt->h.length, true);
	/* acpiexec's memory regions start zeroed: no slot is present. */
	snprintf(cmd, sizeof(cmd),
		 "acpiexec -b 'evaluate \\_SB.HPC0.VR02._STA; evaluate \\_SB.HPC0.VR04._STA; "
		 "resources \\_SB.HPC0.VR03; evaluate \\_SB.GED0._EVT 3' "
		 "dsdt.dat facp.dat apic.dat");
	cr_assert_eq(tool(cmd, log_buf, sizeof(log_buf)), 0, "%s:\n%s", cmd, log_buf);
	assert_clean("acpiexec", log_buf);
	cr_assert(strstr(log_buf, "[Integer] = 0000000000000000"), "%s", log_buf);
	cr_assert(strstr(log_buf, "Dword00 : 00000008"), "%s", log_buf); /* VR03's GSI: 5 + 3 */
	/* Slots need the GED to be announced. */
	{
		struct acpi_config cfg = {
			.nr_cpus = 1, .mmio = make_mmio(2), .nr_hotplug = 2, .hotplug_gpa = 0x9d800
		};
		size_t off;

		cr_assert_eq(acpi_build_tables(area, sizeof(area), BASE, &cfg, &off), -EINVAL);
		cfg.vmgenid_gpa = 0x9d000;
		cfg.nr_hotplug = ACPI_MAX_HOTPLUG + 1;
		cr_assert_eq(acpi_build_tables(area, sizeof(area), BASE, &cfg, &off), -EINVAL);
	}
}
