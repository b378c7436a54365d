// SPDX-License-Identifier: Apache-2.0
/*
 * AML builder: exact bytes for every encoding it emits.  The expected byte
 * strings for devices and resource templates were produced by compiling the
 * equivalent ASL with iasl 20200925 (default optimisation), so they pin the
 * builder to what the reference compiler emits.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "arch/x86/aml.h"
#include "lib/err.h"

static uint8_t out[8192];

static void expect_bytes(const struct aml *a, const uint8_t *want, size_t n)
{
	cr_assert_eq(a->err, 0, "builder error %d: %s", a->err, err_msg());
	cr_assert_eq(a->len, n, "length %zu, want %zu", a->len, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(a->buf[i], want[i], "byte %zu: 0x%02x, want 0x%02x", i, a->buf[i],
			     want[i]);
}

#define EXPECT(a, ...)                                                                             \
	do {                                                                                       \
		static const uint8_t want_[] = { __VA_ARGS__ };                                    \
		expect_bytes(a, want_, sizeof(want_));                                             \
	} while (0)

static void expect_integer(uint64_t v, const uint8_t *want, size_t n)
{
	struct aml a;

	aml_init(&a, out, sizeof(out));
	aml_integer(&a, v);
	expect_bytes(&a, want, n);
}

Test(aml, integer_encodings)
{
	/* §20.2.3: ZeroOp, OneOp, OnesOp, then Byte/Word/DWord/QWord prefixes. */
	expect_integer(0, (const uint8_t[]){ 0x00 }, 1);
	expect_integer(1, (const uint8_t[]){ 0x01 }, 1);
	expect_integer(UINT64_MAX, (const uint8_t[]){ 0xff }, 1);
	expect_integer(2, (const uint8_t[]){ 0x0a, 0x02 }, 2);
	expect_integer(0xff, (const uint8_t[]){ 0x0a, 0xff }, 2);
	expect_integer(0x100, (const uint8_t[]){ 0x0b, 0x00, 0x01 }, 3);
	expect_integer(0xffff, (const uint8_t[]){ 0x0b, 0xff, 0xff }, 3);
	expect_integer(0x10000, (const uint8_t[]){ 0x0c, 0x00, 0x00, 0x01, 0x00 }, 5);
	expect_integer(0xfee00000, (const uint8_t[]){ 0x0c, 0x00, 0x00, 0xe0, 0xfe }, 5);
	expect_integer(0xffffffff, (const uint8_t[]){ 0x0c, 0xff, 0xff, 0xff, 0xff }, 5);
	expect_integer(0x100000000ull,
		       (const uint8_t[]){ 0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00 },
		       9);
	expect_integer(0x0123456789abcdefull,
		       (const uint8_t[]){ 0x0e, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01 },
		       9);
	expect_integer(UINT64_MAX - 1,
		       (const uint8_t[]){ 0x0e, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		       9);
}

static void expect_pkglen(size_t len, const uint8_t *want, unsigned n)
{
	uint8_t enc[4];

	cr_assert_eq(aml_pkglen_encode(enc, len), n, "PkgLength %zu: size", len);
	cr_assert_arr_eq(enc, want, n, "PkgLength %zu: bytes", len);
}

Test(aml, pkglen_encode_boundaries)
{
	/* §20.2.4: 6 bits in one byte, then 4 + 8k bits in 1 + k bytes. */
	expect_pkglen(0, (const uint8_t[]){ 0x00 }, 1);
	expect_pkglen(63, (const uint8_t[]){ 0x3f }, 1);
	expect_pkglen(64, (const uint8_t[]){ 0x40, 0x04 }, 2);
	expect_pkglen(4095, (const uint8_t[]){ 0x4f, 0xff }, 2);
	expect_pkglen(4096, (const uint8_t[]){ 0x80, 0x00, 0x01 }, 3);
	expect_pkglen(0xfffff, (const uint8_t[]){ 0x8f, 0xff, 0xff }, 3);
	expect_pkglen(0x100000, (const uint8_t[]){ 0xc0, 0x00, 0x00, 0x01 }, 4);
	expect_pkglen(0xfffffff, (const uint8_t[]){ 0xcf, 0xff, 0xff, 0xff }, 4);
	cr_assert_eq(aml_pkglen_encode((uint8_t[4]){ 0 }, 0x10000000), 0);
}

/*
 * Scope (_SB) { <fill bytes> } whose body (NameString + fill) is body bytes
 * long: check the PkgLength written on close and that the body moved intact.
 */
static void expect_scope(size_t body, const uint8_t *pkglen, size_t n)
{
	struct aml a;

	aml_init(&a, out, sizeof(out));
	aml_scope_begin(&a, "_SB");
	for (size_t i = 4; i < body; i++)
		aml_byte(&a, (uint8_t)i);
	aml_end(&a);
	cr_assert_eq(aml_finish(&a), (int)(1 + n + body), "body %zu", body);
	cr_assert_eq(out[0], 0x10);
	cr_assert_arr_eq(out + 1, pkglen, n, "body %zu: PkgLength bytes", body);
	cr_assert_arr_eq(out + 1 + n, "_SB_", 4);
	for (size_t i = 4; i < body; i++)
		cr_assert_eq(out[1 + n + i], (uint8_t)i, "body %zu: byte %zu moved", body, i);
}

Test(aml, pkglen_boundaries_in_objects)
{
	/* The PkgLength counts itself: 62 + 1 = 63 fits one byte, 63 + 1 does not. */
	expect_scope(62, (const uint8_t[]){ 0x3f }, 1);
	expect_scope(63, (const uint8_t[]){ 0x41, 0x04 }, 2);	      /* 65 */
	expect_scope(4093, (const uint8_t[]){ 0x4f, 0xff }, 2);	      /* 4095 */
	expect_scope(4094, (const uint8_t[]){ 0x81, 0x00, 0x01 }, 3); /* 4097 */
}

Test(aml, eisaid)
{
	uint32_t v;
	struct aml a;

	cr_assert_eq(aml_eisaid_value("PNP0501", &v), 0);
	cr_assert_eq(v, 0x0105D041, "EISAID(PNP0501) = 0x%08x", v);
	cr_assert_eq(aml_eisaid_value("PNP0B00", &v), 0);
	cr_assert_eq(v, 0x000BD041, "EISAID(PNP0B00) = 0x%08x", v);
	cr_assert_eq(aml_eisaid_value("PNP0A03", &v), 0);
	cr_assert_eq(v, 0x030AD041, "EISAID(PNP0A03) = 0x%08x", v);
	cr_assert_eq(aml_eisaid_value("pnp0501", &v), -EINVAL);
	cr_assert_eq(aml_eisaid_value("PNP050", &v), -EINVAL);
	cr_assert_eq(aml_eisaid_value("PNP05011", &v), -EINVAL);
	cr_assert_eq(aml_eisaid_value("PNP05G1", &v), -EINVAL);
	cr_assert_eq(aml_eisaid_value("PNP05a1", &v), -EINVAL);

	aml_init(&a, out, sizeof(out));
	aml_eisaid(&a, "PNP0501");
	EXPECT(&a, 0x0c, 0x41, 0xd0, 0x05, 0x01);

	aml_init(&a, out, sizeof(out));
	aml_eisaid(&a, "PNP");
	cr_assert_eq(aml_finish(&a), -EINVAL);
	cr_assert(strstr(err_msg(), "EISA id"), "%s", err_msg());
}

static void expect_name(const char *path, const uint8_t *want, size_t n)
{
	struct aml a;

	aml_init(&a, out, sizeof(out));
	aml_namestring(&a, path);
	expect_bytes(&a, want, n);
}

static void expect_bad_name(const char *path)
{
	struct aml a;

	aml_init(&a, out, sizeof(out));
	aml_namestring(&a, path);
	cr_assert_eq(aml_finish(&a), -EINVAL, "\"%s\" accepted", path);
}

Test(aml, namestrings)
{
	expect_name("_HID", (const uint8_t[]){ '_', 'H', 'I', 'D' }, 4);
	expect_name("RTC", (const uint8_t[]){ 'R', 'T', 'C', '_' }, 4);
	expect_name("_S5", (const uint8_t[]){ '_', 'S', '5', '_' }, 4);
	expect_name("A", (const uint8_t[]){ 'A', '_', '_', '_' }, 4);
	expect_name("\\_SB", (const uint8_t[]){ 0x5c, '_', 'S', 'B', '_' }, 5);
	expect_name("\\_SB.COM1",
		    (const uint8_t[]){ 0x5c, 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1' }, 10);
	expect_name("\\_SB.PCI0.ISA",
		    (const uint8_t[]){ 0x5c, 0x2f, 0x03, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
				       'I', 'S', 'A', '_' },
		    15);
	expect_name("^^VR0", (const uint8_t[]){ 0x5e, 0x5e, 'V', 'R', '0', '_' }, 6);
	expect_name("", (const uint8_t[]){ 0x00 }, 1);
	expect_name("\\", (const uint8_t[]){ 0x5c, 0x00 }, 2);

	expect_bad_name("1ABC");
	expect_bad_name("ABCDE");
	expect_bad_name("abc");
	expect_bad_name("A..B");
	expect_bad_name("A.");
	expect_bad_name(".A");
	expect_bad_name("A-B");
	expect_bad_name("\\^A");
}

Test(aml, strings)
{
	struct aml a;

	aml_init(&a, out, sizeof(out));
	aml_string(&a, "LNRO0005");
	EXPECT(&a, 0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00);

	aml_init(&a, out, sizeof(out));
	aml_string(&a, "");
	EXPECT(&a, 0x0d, 0x00);

	aml_init(&a, out, sizeof(out));
	aml_string(&a, "caf\xc3\xa9");
	cr_assert_eq(aml_finish(&a), -EINVAL);
}

Test(aml, s5_package)
{
	struct aml a;

	/* Name (_S5, Package (4) {5, 5, 0, 0}) */
	aml_init(&a, out, sizeof(out));
	aml_name(&a, "_S5");
	aml_package_begin(&a, 4);
	aml_integer(&a, 5);
	aml_integer(&a, 5);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_end(&a);
	EXPECT(&a, 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00);
}

Test(aml, com1_device_matches_iasl)
{
	struct aml a;

	/*
	 * Device (COM1) { Name (_HID, EisaId ("PNP0501")) Name (_UID, 1)
	 *   Name (_CRS, ResourceTemplate () { IO (Decode16, 0x3F8, 0x3F8, 1, 8)
	 *   IRQNoFlags () {4} }) }
	 */
	aml_init(&a, out, sizeof(out));
	aml_device_begin(&a, "COM1");
	aml_name_eisaid(&a, "_HID", "PNP0501");
	aml_name_integer(&a, "_UID", 1);
	aml_name(&a, "_CRS");
	aml_restemplate_begin(&a);
	aml_res_io(&a, 0x3f8, 0x3f8, 1, 8);
	aml_res_irq_noflags(&a, 1u << 4);
	aml_restemplate_end(&a);
	aml_end(&a);
	cr_assert_eq(aml_finish(&a), 45);
	EXPECT(&a, 0x5b, 0x82, 0x2b, 'C', 'O', 'M', '1', 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0,
	       0x05, 0x01, 0x08, '_', 'U', 'I', 'D', 0x01, 0x08, '_', 'C', 'R', 'S', 0x11, 0x10,
	       0x0a, 0x0d, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00, 0x79,
	       0x00);
}

Test(aml, virtio_mmio_crs_matches_iasl)
{
	struct aml a;

	/*
	 * ResourceTemplate () { Memory32Fixed (ReadWrite, 0xD0000000, 0x1000)
	 *   Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) {5} }
	 */
	aml_init(&a, out, sizeof(out));
	aml_restemplate_begin(&a);
	aml_res_mem32_fixed(&a, true, 0xd0000000, 0x1000);
	aml_res_ext_irq(&a, AML_IRQ_CONSUMER | AML_IRQ_EDGE, 5);
	aml_restemplate_end(&a);
	EXPECT(&a, 0x11, 0x1a, 0x0a, 0x17, 0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00,
	       0x10, 0x00, 0x00, 0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00, 0x79, 0x00);

	/* Memory32Fixed (ReadOnly, ...) and Interrupt (ResourceProducer, Level, ActiveLow, Shared) */
	aml_init(&a, out, sizeof(out));
	aml_res_mem32_fixed(&a, false, 0x12345678, 0x9abcdef0);
	aml_res_ext_irq(&a, AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED, 0x40);
	EXPECT(&a, 0x86, 0x09, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12, 0xf0, 0xde, 0xbc, 0x9a, 0x89,
	       0x06, 0x00, 0x0c, 0x01, 0x40, 0x00, 0x00, 0x00);
}

Test(aml, buffer_sizes)
{
	struct aml a;

	/* Buffer () {}: BufferSize Zero.  Buffer () { 300 bytes }: WordConst size, 2-byte PkgLength. */
	aml_init(&a, out, sizeof(out));
	aml_buffer_begin(&a);
	aml_end(&a);
	EXPECT(&a, 0x11, 0x02, 0x00);

	aml_init(&a, out, sizeof(out));
	aml_buffer_begin(&a);
	for (int i = 0; i < 300; i++)
		aml_byte(&a, (uint8_t)i);
	aml_end(&a);
	cr_assert_eq(aml_finish(&a), 1 + 2 + 3 + 300);
	/* PkgLength 2 + 3 + 300 = 305 = 0x131 */
	cr_assert_eq(out[0], 0x11);
	cr_assert_eq(out[1], 0x41);
	cr_assert_eq(out[2], 0x13);
	cr_assert_eq(out[3], 0x0b);
	cr_assert_eq(out[4], 0x2c);
	cr_assert_eq(out[5], 0x01);
	cr_assert_eq(out[6], 0x00);
	cr_assert_eq(out[305], (uint8_t)299);
}

Test(aml, methods_match_iasl)
{
	struct aml a;

	/* Method (_STA, 0, NotSerialized) { Return (0x0F) } Method (FOO, 3, Serialized) { Return (0x1234) } */
	aml_init(&a, out, sizeof(out));
	aml_method_begin(&a, "_STA", 0, false);
	aml_return_integer(&a, 0x0f);
	aml_end(&a);
	aml_method_begin(&a, "FOO", 3, true);
	aml_return_integer(&a, 0x1234);
	aml_end(&a);
	EXPECT(&a, 0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f, 0x14, 0x0a, 'F', 'O',
	       'O', '_', 0x0b, 0xa4, 0x0b, 0x34, 0x12);

	aml_init(&a, out, sizeof(out));
	aml_method_begin(&a, "FOO", 8, false);
	cr_assert_eq(aml_finish(&a), -ERANGE);
}

Test(aml, nested_scope_device)
{
	struct aml a;

	/* Scope (\_SB) { Device (RTC) { Name (_HID, EisaId ("PNP0B00")) } } */
	aml_init(&a, out, sizeof(out));
	aml_scope_begin(&a, "\\_SB");
	aml_device_begin(&a, "RTC");
	aml_name_eisaid(&a, "_HID", "PNP0B00");
	aml_end(&a);
	aml_end(&a);
	EXPECT(&a, 0x10, 0x17, 0x5c, '_', 'S', 'B', '_', 0x5b, 0x82, 0x0f, 'R', 'T', 'C', '_', 0x08,
	       '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0b, 0x00);
}

Test(aml, enospc_is_latched)
{
	uint8_t small[8];
	struct aml a;

	aml_init(&a, small, sizeof(small));
	aml_name_string(&a, "_HID", "LNRO0005");
	cr_assert_eq(a.err, -ENOSPC);
	/* Later emitters are no-ops and do not replace the first error. */
	aml_byte(&a, 0);
	aml_namestring(&a, "1BAD");
	cr_assert_eq(aml_finish(&a), -ENOSPC);
	cr_assert(strstr(err_msg(), "full"), "%s", err_msg());
	cr_assert_leq(a.len, sizeof(small));
}

Test(aml, enospc_when_closing)
{
	uint8_t small[66];
	struct aml a;

	/* A scope with a 65-byte body fits until its PkgLength needs a second byte. */
	aml_init(&a, small, sizeof(small));
	aml_scope_begin(&a, "_SB");
	for (int i = 0; i < 61; i++)
		aml_byte(&a, 0xaa);
	cr_assert_eq(a.len, 66);
	aml_end(&a);
	cr_assert_eq(aml_finish(&a), -ENOSPC);

	/* One byte less in the body: the 1-byte PkgLength fits exactly. */
	aml_init(&a, small, sizeof(small));
	aml_scope_begin(&a, "_SB");
	for (int i = 0; i < 58; i++)
		aml_byte(&a, 0xaa);
	aml_end(&a);
	cr_assert_eq(aml_finish(&a), 64);
	cr_assert_eq(small[1], 63);
}

Test(aml, unbalanced)
{
	struct aml a;

	aml_init(&a, out, sizeof(out));
	aml_end(&a);
	cr_assert_eq(aml_finish(&a), -EINVAL);

	aml_init(&a, out, sizeof(out));
	aml_scope_begin(&a, "_SB");
	cr_assert_eq(aml_finish(&a), -EINVAL);
	cr_assert(strstr(err_msg(), "open"), "%s", err_msg());

	aml_init(&a, out, sizeof(out));
	for (int i = 0; i <= AML_MAX_DEPTH; i++)
		aml_scope_begin(&a, "_SB");
	cr_assert_eq(aml_finish(&a), -EINVAL);

	aml_init(&a, out, sizeof(out));
	aml_package_begin(&a, 256);
	cr_assert_eq(aml_finish(&a), -ERANGE);
}

Test(aml, hotplug_status_objects)
{
	struct aml a;

	/*
	 * OperationRegion (HPRG, SystemMemory, 0x9D800, 4)
	 * Field (HPRG, DWordAcc, NoLock, Preserve) { HPST, 32 }
	 * Method (_STA) { If (And (HPST, 2)) { Return (0x0F) } Return (Zero) }
	 */
	aml_init(&a, out, sizeof(out));
	aml_opregion(&a, "HPRG", AML_SPACE_SYSTEM_MEMORY, 0x9d800, 4);
	aml_field_begin(&a, "HPRG", AML_FIELD_DWORD_ACC);
	aml_field_unit(&a, "HPST", 32);
	aml_end(&a);
	aml_method_begin(&a, "_STA", 0, false);
	aml_if_and_begin(&a, "HPST", 2);
	aml_return_integer(&a, 0x0f);
	aml_end(&a);
	aml_return_integer(&a, 0);
	aml_end(&a);
	EXPECT(&a, 0x5b, 0x80, 'H', 'P', 'R', 'G', 0x00, 0x0c, 0x00, 0xd8, 0x09, 0x00, 0x0a, 0x04,
	       0x5b, 0x81, 0x0b, 'H', 'P', 'R', 'G', 0x03, 'H', 'P', 'S', 'T', 0x20, 0x14, 0x15,
	       '_', 'S', 'T', 'A', 0x00, 0xa0, 0x0c, 0x7b, 'H', 'P', 'S', 'T', 0x0a, 0x02, 0x00,
	       0xa4, 0x0a, 0x0f, 0xa4, 0x00);
	cr_assert_eq(aml_finish(&a), (int)a.len);

	/* A field unit's name is one NameSeg, its width 1 bit or more. */
	aml_init(&a, out, sizeof(out));
	aml_field_unit(&a, "HP.ST", 32);
	cr_assert_eq(aml_finish(&a), -EINVAL);
	aml_init(&a, out, sizeof(out));
	aml_field_unit(&a, "HPST", 0);
	cr_assert_eq(aml_finish(&a), -ERANGE);
}
