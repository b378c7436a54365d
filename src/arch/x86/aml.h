/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small AML (ACPI Machine Language) byte-code writer, enough for a static
 * DSDT: names, scopes, devices, packages, integers, strings, EISA ids,
 * resource templates and trivial methods.  Section numbers cite ACPI 6.5,
 * chapter 20 ("ACPI Machine Language Specification") and §6.4 (resource
 * data types).
 *
 * The writer is a byte stream into a caller-owned buffer.  Emitters never
 * fail one by one: the first error (-ENOSPC when the buffer is full,
 * -EINVAL for a malformed name or unbalanced begin/end, -ERANGE for a value
 * the encoding cannot hold) is latched with its message set through
 * err_setx(), later emitters do nothing, and aml_finish() returns it.
 * Objects with a PkgLength are opened with *_begin() and closed with
 * aml_end(); the length is patched in on close.  Pure code: any thread, no
 * shared state.
 */
#ifndef CLONE_ARCH_X86_AML_H
#define CLONE_ARCH_X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 16

/* §20.2.3 Data objects encoding */
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_ONES_OP 0xff
/* §20.2.2 Name objects encoding */
#define AML_ROOT_CHAR 0x5c
#define AML_PARENT_PREFIX 0x5e
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_NULL_NAME 0x00
/* §20.2.5 Term objects encoding */
#define AML_NAME_OP 0x08
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_METHOD_OP 0x14
#define AML_RETURN_OP 0xa4
#define AML_NOTIFY_OP 0x86
#define AML_IF_OP 0xa0
#define AML_AND_OP 0x7b
#define AML_OPREGION_OP 0x80 /* after AML_EXT_OP_PREFIX */
#define AML_FIELD_OP 0x81    /* after AML_EXT_OP_PREFIX */
#define AML_SPACE_SYSTEM_MEMORY 0x00
#define AML_FIELD_DWORD_ACC 0x03 /* FieldFlags: DWordAcc, NoLock, Preserve */
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP 0x82 /* after AML_EXT_OP_PREFIX */

/* Extended Interrupt descriptor flags (§6.4.3.6, Table 6.47), for aml_res_ext_irq(). */
#define AML_IRQ_CONSUMER (1u << 0) /* clear: ResourceProducer */
#define AML_IRQ_EDGE (1u << 1)	   /* clear: level-triggered */
#define AML_IRQ_ACTIVE_LOW (1u << 2)
#define AML_IRQ_SHARED (1u << 3)
#define AML_IRQ_WAKE (1u << 4)

struct aml_frame {
	size_t start; /* where the PkgLength (and BufferSize) go */
	bool buffer;  /* a Buffer: BufferSize is inserted on close too */
};

struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len; /* bytes written so far */
	int err;    /* first error, latched; 0 while all is well */
	unsigned depth;
	struct aml_frame open[AML_MAX_DEPTH];
};

/* Start writing into buf (cap bytes). */
void aml_init(struct aml *a, void *buf, size_t cap);
/*
 * Bytes written (>= 0), or the first latched error (-errno, message already
 * set); -EINVAL with the message set if an object is still open.
 */
int aml_finish(struct aml *a);

/*
 * Encode a PkgLength (§20.2.4) for a package whose total length, counting
 * the PkgLength bytes themselves, is len.  Returns the encoding size (1..4)
 * or 0 if len does not fit in 28 bits.  Pure.
 */
unsigned aml_pkglen_encode(uint8_t out[4], size_t len);
/*
 * Compress a 7-character PNP id such as "PNP0501" into its 32-bit EISA id
 * (ASL EISAID(): three 5-bit letters then four hex digits, stored
 * big-endian).  0 or -EINVAL (message set) if id is malformed.  Pure.
 */
int aml_eisaid_value(const char *id, uint32_t *out);

/* Raw bytes (opcodes the helpers below do not cover, resource descriptors). */
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/*
 * NameString (§20.2.2): optional '\' or '^'s, then dot-separated NameSegs of
 * 1..4 characters ([A-Z_] then [A-Z0-9_]), each padded with '_' to four.
 * "" is the NullName.  Examples: "_HID", "\\_SB.COM1", "^RTC".
 */
void aml_namestring(struct aml *a, const char *path);
/* Integer with the shortest encoding: Zero, One, Ones, Byte, Word, DWord, QWord. */
void aml_integer(struct aml *a, uint64_t v);
/* String: ASCII 0x01..0x7f, NUL-terminated in AML (§20.2.3). */
void aml_string(struct aml *a, const char *s);
/* EISAID("PNP0501") as a DWordConst, as iasl emits it. */
void aml_eisaid(struct aml *a, const char *id);

/* Name (name, ...): the caller follows with exactly one data object. */
void aml_name(struct aml *a, const char *name);
void aml_name_integer(struct aml *a, const char *name, uint64_t v);
void aml_name_string(struct aml *a, const char *name, const char *s);
void aml_name_eisaid(struct aml *a, const char *name, const char *id);

/* Scope (path) { ... } / Device (name) { ... }; close with aml_end(). */
void aml_scope_begin(struct aml *a, const char *path);
void aml_device_begin(struct aml *a, const char *name);
/* Package (n) { ... }: the caller emits exactly n elements (n <= 255). */
void aml_package_begin(struct aml *a, unsigned n);
/* Buffer () { bytes }: BufferSize is computed on aml_end(). */
void aml_buffer_begin(struct aml *a);
/* Method (name, nargs, Serialized?) { ... }: nargs <= 7, sync level 0. */
void aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool serialized);
/* Close the innermost open object, patching its PkgLength in. */
void aml_end(struct aml *a);
/* Return (v) */
void aml_return_integer(struct aml *a, uint64_t v);
/* OperationRegion (name, space, offset, len), constant offset and length (§19.6.100). */
void aml_opregion(struct aml *a, const char *name, uint8_t space, uint64_t offset, uint64_t len);
/* Field (region, flags) { ... }: one aml_field_unit() per field, then aml_end(). */
void aml_field_begin(struct aml *a, const char *region, uint8_t flags);
void aml_field_unit(struct aml *a, const char *name, unsigned bits);
/* If (And (name, mask)) { ... }: close with aml_end(). */
void aml_if_and_begin(struct aml *a, const char *name, uint64_t mask);

/*
 * ResourceTemplate () { ... } is a Buffer of resource descriptors closed by
 * an End Tag (§6.4.2.9) whose checksum byte is 0 ("treat as correct").
 */
void aml_restemplate_begin(struct aml *a);
void aml_restemplate_end(struct aml *a);
/* IO (Decode16, min, max, align, len) (§6.4.2.5). */
void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* IRQNoFlags () { ... }: mask bit n = ISA IRQ n, edge, active high (§6.4.2.1). */
void aml_res_irq_noflags(struct aml *a, uint16_t mask);
/* Memory32Fixed (ReadWrite|ReadOnly, base, len) (§6.4.3.4). */
void aml_res_mem32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t len);
/* Interrupt (flags: AML_IRQ_*) { gsi } (§6.4.3.6), one interrupt, no ResourceSource. */
void aml_res_ext_irq(struct aml *a, unsigned flags, uint32_t gsi);

#endif
