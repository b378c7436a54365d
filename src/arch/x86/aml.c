// SPDX-License-Identifier: Apache-2.0
/*
 * AML byte-code writer (see aml.h).  Owns nothing but the caller's buffer
 * and the stack of open PkgLength objects.  A PkgLength's size depends on
 * the length it encodes, so it is not reserved up front: aml_end() shifts
 * the object's body right by the 1..4 bytes the encoding needs (and for a
 * Buffer by the BufferSize integer too).  Tables are a few KiB, so the
 * memmove costs nothing.  Pure code, run on the main thread while the VM is
 * built; no locks, no globals.
 */
#include <errno.h>
#include <string.h>

#include "aml.h"
#include "lib/err.h"

/* Latch the first error with its message; later ones would only be fallout. */
static void fail(struct aml *a, int code, const char *what)
{
	if (a->err)
		return;
	a->err = err_setx(code, "aml: %s", what);
}

void aml_init(struct aml *a, void *buf, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->buf = buf;
	a->cap = cap;
}

int aml_finish(struct aml *a)
{
	if (!a->err && a->depth)
		fail(a, -EINVAL, "object left open (missing aml_end)");
	if (a->err)
		return a->err;
	return (int)a->len;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->err)
		return;
	if (n > a->cap - a->len) {
		fail(a, -ENOSPC, "output buffer full");
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* Insert n bytes at pos, shifting what follows. */
static void insert(struct aml *a, size_t pos, const uint8_t *p, size_t n)
{
	if (a->err)
		return;
	if (n > a->cap - a->len) {
		fail(a, -ENOSPC, "output buffer full");
		return;
	}
	memmove(a->buf + pos + n, a->buf + pos, a->len - pos);
	memcpy(a->buf + pos, p, n);
	a->len += n;
}

/*
 * §20.2.4: bits 7-6 of the lead byte count the bytes that follow (0..3).
 * With none, bits 5-0 hold the length (up to 63); otherwise bits 3-0 hold
 * its low nibble and each following byte the next 8 bits, so 2, 3 and 4
 * bytes reach 2^12-1, 2^20-1 and 2^28-1.  The length counts itself.
 */
unsigned aml_pkglen_encode(uint8_t out[4], size_t len)
{
	unsigned extra;

	if (len <= 0x3f) {
		out[0] = (uint8_t)len;
		return 1;
	}
	if (len <= 0xfff)
		extra = 1;
	else if (len <= 0xfffff)
		extra = 2;
	else if (len <= 0xfffffff)
		extra = 3;
	else
		return 0;
	out[0] = (uint8_t)((extra << 6) | (len & 0xf));
	for (unsigned i = 1; i <= extra; i++)
		out[i] = (uint8_t)(len >> (4 + 8 * (i - 1)));
	return extra + 1;
}

/* Integer encoding into out (at most 9 bytes); returns its size. */
static size_t integer_encode(uint8_t out[9], uint64_t v)
{
	size_t n;

	if (v == 0) {
		out[0] = AML_ZERO_OP;
		return 1;
	}
	if (v == 1) {
		out[0] = AML_ONE_OP;
		return 1;
	}
	/* OnesOp is all ones at the table's integer width: 64 bits for DSDT revision >= 2. */
	if (v == UINT64_MAX) {
		out[0] = AML_ONES_OP;
		return 1;
	}
	if (v <= UINT8_MAX) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= UINT16_MAX) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= UINT32_MAX) {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (size_t i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(v >> (8 * i));
	return n + 1;
}

void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t enc[9];

	aml_bytes(a, enc, integer_encode(enc, v));
}

void aml_string(struct aml *a, const char *s)
{
	size_t n = strlen(s);

	/* §20.2.3: AsciiCharList is 0x01-0x7F; NUL terminates it. */
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] > 0x7f) {
			fail(a, -EINVAL, "string has a non-ASCII character");
			return;
		}
	}
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, n + 1);
}

static bool is_lead(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name(char c)
{
	return is_lead(c) || (c >= '0' && c <= '9');
}

/* Length of the NameSeg at s (up to '.' or the end), or 0 if it is not one (§20.2.2). */
static size_t seg_len(const char *s)
{
	size_t n = 0;

	if (!is_lead(*s))
		return 0;
	while (s[n] && s[n] != '.') {
		if (n == 4 || !is_name(s[n]))
			return 0;
		n++;
	}
	return n;
}

void aml_namestring(struct aml *a, const char *path)
{
	const char *p = path;
	unsigned nseg = 0;

	if (*p == '\\') {
		aml_byte(a, AML_ROOT_CHAR);
		p++;
	} else {
		while (*p == '^') {
			aml_byte(a, AML_PARENT_PREFIX);
			p++;
		}
	}
	/* Validate and count first: the segment count prefix comes before the segments. */
	for (const char *s = p; *s; nseg++) {
		size_t n = seg_len(s);

		if (!n || (s[n] == '.' && !s[n + 1])) {
			fail(a, -EINVAL, "name segment is not 1-4 of A-Z, 0-9, _ led by A-Z or _");
			return;
		}
		s += n + (s[n] == '.');
	}
	if (nseg == 0) {
		aml_byte(a, AML_NULL_NAME);
		return;
	}
	if (nseg == 2) {
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	} else if (nseg > 2) {
		if (nseg > UINT8_MAX) {
			fail(a, -EINVAL, "name path has more than 255 segments");
			return;
		}
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)nseg);
	}
	/* NameSegs shorter than four characters are padded with '_'. */
	while (*p) {
		size_t n = seg_len(p);
		char padded[4] = { '_', '_', '_', '_' };

		memcpy(padded, p, n);
		aml_bytes(a, padded, sizeof(padded));
		p += n + (p[n] == '.');
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int aml_eisaid_value(const char *id, uint32_t *out)
{
	uint32_t v = 0;

	if (strlen(id) != 7)
		return err_setx(-EINVAL, "aml: EISA id \"%s\" is not 7 characters", id);
	/* Three uppercase letters, 5 bits each ('A' = 1), then four hex digits. */
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return err_setx(-EINVAL, "aml: EISA id \"%s\": bad vendor letter", id);
		v = (v << 5) | (uint32_t)(id[i] - 'A' + 1);
	}
	for (int i = 3; i < 7; i++) {
		int h = hexval(id[i]);

		if (h < 0)
			return err_setx(-EINVAL, "aml: EISA id \"%s\": bad hex digit", id);
		v = (v << 4) | (uint32_t)h;
	}
	/* The 32-bit value is stored big-endian; read back as a little-endian DWord. */
	*out = __builtin_bswap32(v);
	return 0;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;
	uint8_t enc[5];

	if (a->err)
		return;
	if (aml_eisaid_value(id, &v) < 0) {
		a->err = -EINVAL; /* message already set */
		return;
	}
	/* Always a DWordConst, even when a shorter encoding would fit, as iasl does. */
	enc[0] = AML_DWORD_PREFIX;
	for (int i = 0; i < 4; i++)
		enc[1 + i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, enc, sizeof(enc));
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, name);
}

void aml_name_integer(struct aml *a, const char *name, uint64_t v)
{
	aml_name(a, name);
	aml_integer(a, v);
}

void aml_name_string(struct aml *a, const char *name, const char *s)
{
	aml_name(a, name);
	aml_string(a, s);
}

void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
	aml_name(a, name);
	aml_eisaid(a, id);
}

/* Open an object whose PkgLength starts at the current position. */
static void open_pkg(struct aml *a, bool buffer)
{
	if (a->err)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		fail(a, -EINVAL, "objects nested too deeply");
		return;
	}
	a->open[a->depth++] = (struct aml_frame){ .start = a->len, .buffer = buffer };
}

void aml_scope_begin(struct aml *a, const char *path)
{
	aml_byte(a, AML_SCOPE_OP);
	open_pkg(a, false);
	aml_namestring(a, path);
}

void aml_device_begin(struct aml *a, const char *name)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	open_pkg(a, false);
	aml_namestring(a, name);
}

void aml_package_begin(struct aml *a, unsigned n)
{
	/* PackageOp's NumElements is one byte; VarPackageOp would be needed beyond. */
	if (n > UINT8_MAX) {
		fail(a, -ERANGE, "package has more than 255 elements");
		return;
	}
	aml_byte(a, AML_PACKAGE_OP);
	open_pkg(a, false);
	aml_byte(a, (uint8_t)n);
}

void aml_buffer_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	open_pkg(a, true);
}

void aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool serialized)
{
	/* MethodFlags: bits 2-0 ArgCount, bit 3 SerializeFlag, bits 7-4 SyncLevel (0). */
	if (nargs > 7) {
		fail(a, -ERANGE, "method takes at most 7 arguments");
		return;
	}
	aml_byte(a, AML_METHOD_OP);
	open_pkg(a, false);
	aml_namestring(a, name);
	aml_byte(a, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
}

void aml_end(struct aml *a)
{
	struct aml_frame f;
	uint8_t enc[9];
	size_t n;

	if (a->err)
		return;
	if (!a->depth) {
		fail(a, -EINVAL, "aml_end without an open object");
		return;
	}
	f = a->open[--a->depth];
	/* DefBuffer := BufferOp PkgLength BufferSize ByteList (§20.2.5.4). */
	if (f.buffer) {
		n = integer_encode(enc, a->len - f.start);
		insert(a, f.start, enc, n);
	}
	/* The PkgLength counts itself: try each size until the total fits it. */
	for (size_t size = 1; size <= 4; size++) {
		n = aml_pkglen_encode(enc, a->len - f.start + size);
		if (n == size) {
			insert(a, f.start, enc, n);
			return;
		}
		if (n == 0)
			break;
	}
	fail(a, -ERANGE, "object longer than a PkgLength can encode");
}

void aml_return_integer(struct aml *a, uint64_t v)
{
	aml_byte(a, AML_RETURN_OP);
	aml_integer(a, v);
}

void aml_opregion(struct aml *a, const char *name, uint8_t space, uint64_t offset, uint64_t len)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_OPREGION_OP);
	aml_namestring(a, name);
	aml_byte(a, space);
	aml_integer(a, offset);
	aml_integer(a, len);
}

void aml_field_begin(struct aml *a, const char *region, uint8_t flags)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_FIELD_OP);
	open_pkg(a, false);
	aml_namestring(a, region);
	aml_byte(a, flags);
}

void aml_field_unit(struct aml *a, const char *name, unsigned bits)
{
	uint8_t enc[4];
	unsigned n;

	/* NamedField := NameSeg PkgLength, the PkgLength holding the width in bits. */
	if (strlen(name) != 4) {
		fail(a, -EINVAL, "field unit name is not one NameSeg");
		return;
	}
	n = bits ? aml_pkglen_encode(enc, bits) : 0;
	if (!n) {
		fail(a, -ERANGE, "field unit width out of range");
		return;
	}
	aml_namestring(a, name);
	aml_bytes(a, enc, n);
}

void aml_if_and_begin(struct aml *a, const char *name, uint64_t mask)
{
	aml_byte(a, AML_IF_OP);
	open_pkg(a, false);
	aml_byte(a, AML_AND_OP);
	aml_namestring(a, name);
	aml_integer(a, mask);
	aml_byte(a, AML_NULL_NAME); /* no Target */
}

void aml_restemplate_begin(struct aml *a)
{
	aml_buffer_begin(a);
}

void aml_restemplate_end(struct aml *a)
{
	/* §6.4.2.9 End Tag: tag 0x79 (small item 0xf, length 1); checksum 0 is accepted. */
	static const uint8_t end_tag[] = { 0x79, 0x00 };

	aml_bytes(a, end_tag, sizeof(end_tag));
	aml_end(a);
}

void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	/* §6.4.2.5 I/O Port Descriptor: tag 0x47 (item 0x8, length 7); bit 0 = 16-bit decode. */
	const uint8_t d[] = {
		0x47,  0x01, (uint8_t)min, (uint8_t)(min >> 8), (uint8_t)max, (uint8_t)(max >> 8),
		align, len,
	};

	aml_bytes(a, d, sizeof(d));
}

void aml_res_irq_noflags(struct aml *a, uint16_t mask)
{
	/* §6.4.2.1 IRQ Descriptor, 2-byte form (tag 0x22): edge, active high, exclusive. */
	const uint8_t d[] = { 0x22, (uint8_t)mask, (uint8_t)(mask >> 8) };

	aml_bytes(a, d, sizeof(d));
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void aml_res_mem32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t len)
{
	/* §6.4.3.4 32-Bit Fixed Memory Range: large item 0x86, length 9; bit 0 = writable. */
	uint8_t d[12] = { 0x86, 0x09, 0x00, writable ? 0x01 : 0x00 };

	put32(d + 4, base);
	put32(d + 8, len);
	aml_bytes(a, d, sizeof(d));
}

void aml_res_ext_irq(struct aml *a, unsigned flags, uint32_t gsi)
{
	/*
	 * §6.4.3.6 Extended Interrupt Descriptor: large item 0x89, length 6 for
	 * one interrupt and no ResourceSource: flags, table length, the DWord.
	 */
	uint8_t d[9] = { 0x89, 0x06, 0x00, (uint8_t)(flags & 0x1f), 0x01 };

	put32(d + 5, gsi);
	aml_bytes(a, d, sizeof(d));
}
