// SPDX-License-Identifier: Apache-2.0
/*
 * The Clone ↔ clone-agent wire protocol (agent_proto.h,
 * docs/agent-protocol.md): framing, field iteration, typed field reads and
 * the encoders/decoders of every message.  Pure libc, no I/O, no globals:
 * any thread may call it, and it is built both into clone (glibc) and into
 * clone-agent (musl).  Every decoder takes untrusted bytes (a guest or a
 * host peer) and checks every length before it reads; integers are encoded
 * byte by byte in little-endian order so no unaligned access happens.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/agent_proto.h"

/* ---- Little-endian helpers --------------------------------------------- */

static void le16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le32_put(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void le64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t le16_get(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t le32_get(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t le64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* ---- Framing ----------------------------------------------------------- */

long ap_frame_parse(const uint8_t *buf, size_t len, struct ap_frame *f)
{
	uint32_t plen;
	uint16_t flags;

	if (len < AP_HDR_SIZE)
		return 0;
	plen = le32_get(buf);
	flags = le16_get(buf + 6);
	/* Header checks first: a bad header is fatal even if the rest is missing. */
	if (plen > AP_MAX_PAYLOAD || flags != 0)
		return -EPROTO;
	if (len - AP_HDR_SIZE < plen)
		return 0;
	f->len = plen;
	f->type = le16_get(buf + 4);
	f->flags = flags;
	f->payload = buf + AP_HDR_SIZE;
	return (long)(AP_HDR_SIZE + plen);
}

void ap_msg_init(struct ap_msg *m, uint8_t *buf, size_t cap, uint16_t type)
{
	m->buf = buf;
	m->cap = cap;
	m->len = AP_HDR_SIZE;
	m->overflow = cap < AP_HDR_SIZE;
	if (m->overflow)
		return;
	le32_put(buf, 0);
	le16_put(buf + 4, type);
	le16_put(buf + 6, 0);
}

/* Reserve n bytes at the end of the frame; NULL (and the error flag) if they do not fit. */
static uint8_t *msg_room(struct ap_msg *m, size_t n)
{
	uint8_t *p;

	if (m->overflow || n > m->cap - m->len || m->len - AP_HDR_SIZE + n > AP_MAX_PAYLOAD) {
		m->overflow = true;
		return NULL;
	}
	p = m->buf + m->len;
	m->len += n;
	return p;
}

static uint8_t *put_field(struct ap_msg *m, uint16_t tag, size_t n)
{
	uint8_t *p;

	if (n > UINT16_MAX) {
		m->overflow = true;
		return NULL;
	}
	p = msg_room(m, 4 + n);
	if (!p)
		return NULL;
	le16_put(p, tag);
	le16_put(p + 2, (uint16_t)n);
	return p + 4;
}

void ap_put_u8(struct ap_msg *m, uint16_t tag, uint8_t v)
{
	uint8_t *p = put_field(m, tag, 1);

	if (p)
		*p = v;
}

void ap_put_u16(struct ap_msg *m, uint16_t tag, uint16_t v)
{
	uint8_t *p = put_field(m, tag, 2);

	if (p)
		le16_put(p, v);
}

void ap_put_u32(struct ap_msg *m, uint16_t tag, uint32_t v)
{
	uint8_t *p = put_field(m, tag, 4);

	if (p)
		le32_put(p, v);
}

void ap_put_u64(struct ap_msg *m, uint16_t tag, uint64_t v)
{
	uint8_t *p = put_field(m, tag, 8);

	if (p)
		le64_put(p, v);
}

void ap_put_bytes(struct ap_msg *m, uint16_t tag, const void *v, size_t n)
{
	uint8_t *p = put_field(m, tag, n);

	if (p && n)
		memcpy(p, v, n);
}

void ap_put_str(struct ap_msg *m, uint16_t tag, const char *s)
{
	ap_put_bytes(m, tag, s, strlen(s));
}

void ap_put_raw(struct ap_msg *m, const void *v, size_t n)
{
	uint8_t *p = msg_room(m, n);

	if (p && n)
		memcpy(p, v, n);
}

long ap_msg_finish(struct ap_msg *m)
{
	if (m->overflow)
		return -EMSGSIZE;
	le32_put(m->buf, (uint32_t)(m->len - AP_HDR_SIZE));
	return (long)m->len;
}

/* ---- Fields ------------------------------------------------------------ */

void ap_iter_init(struct ap_iter *it, const struct ap_frame *f)
{
	it->p = f->payload;
	it->left = f->len;
}

int ap_iter_next(struct ap_iter *it, struct ap_field *out)
{
	uint16_t n;

	if (!it->left)
		return 0;
	if (it->left < 4)
		return -EPROTO;
	n = le16_get(it->p + 2);
	if (it->left - 4 < n)
		return -EPROTO;
	out->tag = le16_get(it->p);
	out->len = n;
	out->val = it->p + 4;
	it->p += 4 + (size_t)n;
	it->left -= 4 + (size_t)n;
	return 1;
}

int ap_field_u8(const struct ap_field *f, uint8_t *v)
{
	if (f->len != 1)
		return -EPROTO;
	*v = f->val[0];
	return 0;
}

int ap_field_u16(const struct ap_field *f, uint16_t *v)
{
	if (f->len != 2)
		return -EPROTO;
	*v = le16_get(f->val);
	return 0;
}

int ap_field_u32(const struct ap_field *f, uint32_t *v)
{
	if (f->len != 4)
		return -EPROTO;
	*v = le32_get(f->val);
	return 0;
}

int ap_field_u64(const struct ap_field *f, uint64_t *v)
{
	if (f->len != 8)
		return -EPROTO;
	*v = le64_get(f->val);
	return 0;
}

int ap_field_str(const struct ap_field *f, char *dst, size_t cap)
{
	if (f->len && memchr(f->val, 0, f->len))
		return -EPROTO;
	if ((size_t)f->len >= cap)
		return -E2BIG;
	if (f->len)
		memcpy(dst, f->val, f->len);
	dst[f->len] = '\0';
	return 0;
}

/* In decoders a string that does not fit its buffer is a malformed frame. */
static int field_str(const struct ap_field *f, char *dst, size_t cap)
{
	return ap_field_str(f, dst, cap) ? -EPROTO : 0;
}

static int field_token(const struct ap_field *f, uint8_t token[AP_TOKEN_LEN])
{
	if (f->len != AP_TOKEN_LEN)
		return -EPROTO;
	memcpy(token, f->val, AP_TOKEN_LEN);
	return 0;
}

static int field_bool(const struct ap_field *f, bool *v)
{
	uint8_t b;

	if (ap_field_u8(f, &b) || b > 1)
		return -EPROTO;
	*v = b;
	return 0;
}

static int check_type(const struct ap_frame *f, uint16_t type)
{
	return f->type == type && f->flags == 0 && f->len <= AP_MAX_PAYLOAD ? 0 : -EPROTO;
}

/* ---- Decoders ---------------------------------------------------------- */

/*
 * Each decoder walks the fields once; a switch picks the known tags,
 * anything else is skipped.  "have" bits track required fields.
 */
#define FOR_EACH_FIELD(f, it, fld, r)                                                              \
	for (ap_iter_init(&(it), (f)); ((r) = ap_iter_next(&(it), &(fld))) > 0;)

int ap_decode_hello(const struct ap_frame *f, struct ap_hello *out)
{
	struct ap_iter it;
	struct ap_field fld;
	bool have_version = false;
	int r, e = 0;

	if (check_type(f, AP_HELLO))
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	FOR_EACH_FIELD(f, it, fld, r)
	{
		switch (fld.tag) {
		case AP_T_VERSION:
			e = ap_field_u32(&fld, &out->version);
			have_version = true;
			break;
		case AP_T_TOKEN:
			e = field_token(&fld, out->token);
			out->has_token = true;
			break;
		case AP_T_AGENT_VERSION:
			e = field_str(&fld, out->agent_version, sizeof(out->agent_version));
			break;
		case AP_T_KERNEL:
			e = field_str(&fld, out->kernel, sizeof(out->kernel));
			break;
		case AP_T_HOSTNAME:
			e = field_str(&fld, out->hostname, sizeof(out->hostname));
			break;
		}
		if (e)
			return e;
	}
	if (r < 0 || !have_version || !out->has_token)
		return -EPROTO;
	return 0;
}

int ap_decode_report(const struct ap_frame *f, struct ap_report *out)
{
	struct ap_iter it;
	struct ap_field fld;
	int r, e = 0;

	if (check_type(f, AP_REPORT))
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	FOR_EACH_FIELD(f, it, fld, r)
	{
		switch (fld.tag) {
		case AP_T_SEQ:
			e = ap_field_u64(&fld, &out->seq);
			break;
		case AP_T_ACTIVE:
			e = field_bool(&fld, &out->active);
			break;
		case AP_T_CPU_BUSY:
			e = ap_field_u32(&fld, &out->cpu_busy);
			break;
		case AP_T_PSI_SOME:
			e = ap_field_u32(&fld, &out->psi_some);
			break;
		case AP_T_PSI_FULL:
			e = ap_field_u32(&fld, &out->psi_full);
			break;
		case AP_T_LOAD1:
		case AP_T_LOAD5:
		case AP_T_LOAD15:
			e = ap_field_u32(&fld, &out->load[fld.tag - AP_T_LOAD1]);
			break;
		case AP_T_PROCS:
			e = ap_field_u32(&fld, &out->procs);
			break;
		case AP_T_MEM_TOTAL:
			e = ap_field_u64(&fld, &out->mem_total);
			break;
		case AP_T_MEM_AVAIL:
			e = ap_field_u64(&fld, &out->mem_avail);
			break;
		case AP_T_UPTIME_MS:
			e = ap_field_u64(&fld, &out->uptime_ms);
			break;
		}
		if (e)
			return e;
	}
	return r < 0 ? -EPROTO : 0;
}

int ap_decode_ack(const struct ap_frame *f, struct ap_ack *out)
{
	struct ap_iter it;
	struct ap_field fld;
	unsigned have = 0;
	uint32_t st = 0;
	int r, e = 0;

	if (check_type(f, AP_ACK))
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	FOR_EACH_FIELD(f, it, fld, r)
	{
		switch (fld.tag) {
		case AP_T_REQ_TYPE:
			e = ap_field_u16(&fld, &out->req_type);
			have |= 1;
			break;
		case AP_T_REQ_ID:
			e = ap_field_u32(&fld, &out->req_id);
			have |= 2;
			break;
		case AP_T_STATUS:
			e = ap_field_u32(&fld, &st);
			out->status = (int32_t)st;
			have |= 4;
			break;
		case AP_T_MESSAGE:
			e = field_str(&fld, out->message, sizeof(out->message));
			break;
		}
		if (e)
			return e;
	}
	if (r < 0 || have != 7)
		return -EPROTO;
	return 0;
}

int ap_decode_identity(const struct ap_frame *f, struct ap_identity *out)
{
	struct ap_iter it;
	struct ap_field fld;
	bool have_id = false;
	int r, e = 0;

	if (check_type(f, AP_IDENTITY))
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	FOR_EACH_FIELD(f, it, fld, r)
	{
		switch (fld.tag) {
		case AP_T_REQ_ID:
			e = ap_field_u32(&fld, &out->req_id);
			have_id = true;
			break;
		case AP_T_HOSTNAME:
			e = field_str(&fld, out->hostname, sizeof(out->hostname));
			break;
		case AP_T_ADDRESS:
			if (out->nr_addrs >= AP_MAX_ADDRS)
				return -EPROTO;
			e = field_str(&fld, out->addrs[out->nr_addrs], sizeof(out->addrs[0]));
			out->nr_addrs++;
			break;
		case AP_T_IFACE:
			e = field_str(&fld, out->iface, sizeof(out->iface));
			break;
		case AP_T_MAC:
			e = field_str(&fld, out->mac, sizeof(out->mac));
			break;
		case AP_T_MATCH_MAC:
			e = field_str(&fld, out->match_mac, sizeof(out->match_mac));
			break;
		case AP_T_GATEWAY:
			e = field_str(&fld, out->gateway, sizeof(out->gateway));
			break;
		case AP_T_DNS:
			if (out->nr_dns >= sizeof(out->dns) / sizeof(out->dns[0]))
				return -EPROTO;
			e = field_str(&fld, out->dns[out->nr_dns], sizeof(out->dns[0]));
			out->nr_dns++;
			break;
		}
		if (e)
			return e;
	}
	if (r < 0 || !have_id)
		return -EPROTO;
	return 0;
}

int ap_decode_shutdown(const struct ap_frame *f, struct ap_shutdown *out)
{
	struct ap_iter it;
	struct ap_field fld;
	unsigned have = 0;
	int r, e = 0;

	if (check_type(f, AP_SHUTDOWN))
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	FOR_EACH_FIELD(f, it, fld, r)
	{
		switch (fld.tag) {
		case AP_T_REQ_ID:
			e = ap_field_u32(&fld, &out->req_id);
			have |= 1;
			break;
		case AP_T_MODE:
			e = ap_field_u8(&fld, &out->mode);
			have |= 2;
			break;
		}
		if (e)
			return e;
	}
	if (r < 0 || have != 3 || out->mode > AP_SHUTDOWN_REBOOT)
		return -EPROTO;
	return 0;
}

static bool valid_env(const struct ap_field *f)
{
	const uint8_t *eq = f->len ? memchr(f->val, '=', f->len) : NULL;

	return eq && eq != f->val;
}

int ap_decode_exec(const struct ap_frame *f, struct ap_exec *out)
{
	struct ap_iter it;
	struct ap_field fld;
	size_t strbytes = 0, nptr;
	unsigned ai = 0, ei = 0;
	char **ptrs, *s;
	int r, e = 0;

	memset(out, 0, sizeof(*out));
	if (check_type(f, AP_EXEC))
		return -EPROTO;
	/* Pass 1: validate everything, count args/envs and their bytes. */
	FOR_EACH_FIELD(f, it, fld, r)
	{
		switch (fld.tag) {
		case AP_T_TOKEN:
			e = field_token(&fld, out->token);
			out->has_token = true;
			break;
		case AP_T_ARG:
		case AP_T_ENV:
			if (fld.len > AP_MAX_STR || (fld.len && memchr(fld.val, 0, fld.len)))
				return -EPROTO;
			if (fld.tag == AP_T_ARG) {
				if (++out->argc > AP_MAX_ARGS)
					return -EPROTO;
			} else {
				if (!valid_env(&fld) || ++out->envc > AP_MAX_ENVS)
					return -EPROTO;
			}
			strbytes += (size_t)fld.len + 1;
			break;
		case AP_T_CWD:
			e = field_str(&fld, out->cwd, sizeof(out->cwd));
			break;
		case AP_T_TTY:
			e = field_bool(&fld, &out->tty);
			break;
		case AP_T_ROWS:
			e = ap_field_u16(&fld, &out->rows);
			break;
		case AP_T_COLS:
			e = ap_field_u16(&fld, &out->cols);
			break;
		}
		if (e)
			goto bad;
	}
	if (r < 0 || !out->has_token || out->argc == 0)
		goto bad;

	/* Pass 2: one block holding both pointer arrays and the strings. */
	nptr = (size_t)out->argc + 1 + out->envc + 1;
	out->block = malloc(nptr * sizeof(char *) + strbytes);
	if (!out->block) {
		out->argc = out->envc = 0;
		return -ENOMEM;
	}
	ptrs = out->block;
	out->argv = ptrs;
	out->envp = ptrs + out->argc + 1;
	s = (char *)(ptrs + nptr);
	FOR_EACH_FIELD(f, it, fld, r)
	{
		if (fld.tag != AP_T_ARG && fld.tag != AP_T_ENV)
			continue;
		if (fld.len)
			memcpy(s, fld.val, fld.len);
		s[fld.len] = '\0';
		if (fld.tag == AP_T_ARG)
			out->argv[ai++] = s;
		else
			out->envp[ei++] = s;
		s += (size_t)fld.len + 1;
	}
	out->argv[ai] = NULL;
	out->envp[ei] = NULL;
	return 0;
bad:
	out->argc = out->envc = 0;
	return -EPROTO;
}

void ap_exec_free(struct ap_exec *e)
{
	free(e->block);
	e->block = NULL;
	e->argv = NULL;
	e->envp = NULL;
	e->argc = 0;
	e->envc = 0;
}

/* Frames made of two u16 fields, both required (RESIZE). */
int ap_decode_resize(const struct ap_frame *f, uint16_t *rows, uint16_t *cols)
{
	struct ap_iter it;
	struct ap_field fld;
	unsigned have = 0;
	uint16_t rv = 0, cv = 0;
	int r, e = 0;

	if (check_type(f, AP_RESIZE))
		return -EPROTO;
	FOR_EACH_FIELD(f, it, fld, r)
	{
		if (fld.tag == AP_T_ROWS) {
			e = ap_field_u16(&fld, &rv);
			have |= 1;
		} else if (fld.tag == AP_T_COLS) {
			e = ap_field_u16(&fld, &cv);
			have |= 2;
		}
		if (e)
			return e;
	}
	if (r < 0 || have != 3)
		return -EPROTO;
	*rows = rv;
	*cols = cv;
	return 0;
}

/* Frames with one required u32 field (SIGNAL, STARTED). */
static int decode_one_u32(const struct ap_frame *f, uint16_t type, uint16_t tag, uint32_t *v)
{
	struct ap_iter it;
	struct ap_field fld;
	bool have = false;
	uint32_t x = 0;
	int r, e = 0;

	if (check_type(f, type))
		return -EPROTO;
	FOR_EACH_FIELD(f, it, fld, r)
	{
		if (fld.tag == tag) {
			e = ap_field_u32(&fld, &x);
			have = true;
		}
		if (e)
			return e;
	}
	if (r < 0 || !have)
		return -EPROTO;
	*v = x;
	return 0;
}

int ap_decode_signal(const struct ap_frame *f, uint32_t *signo)
{
	return decode_one_u32(f, AP_SIGNAL, AP_T_SIGNO, signo);
}

int ap_decode_started(const struct ap_frame *f, uint32_t *pid)
{
	return decode_one_u32(f, AP_STARTED, AP_T_PID, pid);
}

int ap_decode_exit(const struct ap_frame *f, struct ap_exit *out)
{
	struct ap_iter it;
	struct ap_field fld;
	bool have_code = false, have_sig = false;
	uint32_t code = 0, sig = 0;
	int r, e = 0;

	if (check_type(f, AP_EXIT))
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	FOR_EACH_FIELD(f, it, fld, r)
	{
		switch (fld.tag) {
		case AP_T_EXIT_CODE:
			e = ap_field_u32(&fld, &code);
			have_code = true;
			break;
		case AP_T_TERM_SIGNAL:
			e = ap_field_u32(&fld, &sig);
			have_sig = true;
			break;
		case AP_T_CORE:
			e = field_bool(&fld, &out->core);
			break;
		}
		if (e)
			return e;
	}
	/* Exactly one of the two; an exit code is 0..255, a signal 1..127. */
	if (r < 0 || have_code == have_sig)
		return -EPROTO;
	if (have_code && code > 255)
		return -EPROTO;
	if (have_sig && (sig == 0 || sig > 127))
		return -EPROTO;
	out->signaled = have_sig;
	out->code = have_sig ? sig : code;
	if (!have_sig)
		out->core = false;
	return 0;
}

int ap_decode_error(const struct ap_frame *f, struct ap_error *out)
{
	struct ap_iter it;
	struct ap_field fld;
	bool have = false;
	uint32_t st = 0;
	int r, e = 0;

	if (check_type(f, AP_ERROR))
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	FOR_EACH_FIELD(f, it, fld, r)
	{
		switch (fld.tag) {
		case AP_T_STATUS:
			e = ap_field_u32(&fld, &st);
			out->status = (int32_t)st;
			have = true;
			break;
		case AP_T_MESSAGE:
			e = field_str(&fld, out->message, sizeof(out->message));
			break;
		}
		if (e)
			return e;
	}
	if (r < 0 || !have)
		return -EPROTO;
	return 0;
}

/* ---- Encoders ---------------------------------------------------------- */

long ap_encode_hello(uint8_t *buf, size_t cap, const struct ap_hello *h)
{
	struct ap_msg m;

	ap_msg_init(&m, buf, cap, AP_HELLO);
	ap_put_u32(&m, AP_T_VERSION, h->version);
	if (h->has_token)
		ap_put_bytes(&m, AP_T_TOKEN, h->token, AP_TOKEN_LEN);
	ap_put_str(&m, AP_T_AGENT_VERSION, h->agent_version);
	ap_put_str(&m, AP_T_KERNEL, h->kernel);
	ap_put_str(&m, AP_T_HOSTNAME, h->hostname);
	return ap_msg_finish(&m);
}

long ap_encode_report(uint8_t *buf, size_t cap, const struct ap_report *r)
{
	struct ap_msg m;

	ap_msg_init(&m, buf, cap, AP_REPORT);
	ap_put_u64(&m, AP_T_SEQ, r->seq);
	ap_put_u8(&m, AP_T_ACTIVE, r->active ? 1 : 0);
	ap_put_u32(&m, AP_T_CPU_BUSY, r->cpu_busy);
	ap_put_u32(&m, AP_T_PSI_SOME, r->psi_some);
	ap_put_u32(&m, AP_T_PSI_FULL, r->psi_full);
	ap_put_u32(&m, AP_T_LOAD1, r->load[0]);
	ap_put_u32(&m, AP_T_LOAD5, r->load[1]);
	ap_put_u32(&m, AP_T_LOAD15, r->load[2]);
	ap_put_u32(&m, AP_T_PROCS, r->procs);
	ap_put_u64(&m, AP_T_MEM_TOTAL, r->mem_total);
	ap_put_u64(&m, AP_T_MEM_AVAIL, r->mem_avail);
	ap_put_u64(&m, AP_T_UPTIME_MS, r->uptime_ms);
	return ap_msg_finish(&m);
}

long ap_encode_ack(uint8_t *buf, size_t cap, const struct ap_ack *a)
{
	struct ap_msg m;

	ap_msg_init(&m, buf, cap, AP_ACK);
	ap_put_u16(&m, AP_T_REQ_TYPE, a->req_type);
	ap_put_u32(&m, AP_T_REQ_ID, a->req_id);
	ap_put_u32(&m, AP_T_STATUS, (uint32_t)a->status);
	if (a->message[0])
		ap_put_str(&m, AP_T_MESSAGE, a->message);
	return ap_msg_finish(&m);
}

long ap_encode_identity(uint8_t *buf, size_t cap, const struct ap_identity *id)
{
	struct ap_msg m;

	ap_msg_init(&m, buf, cap, AP_IDENTITY);
	ap_put_u32(&m, AP_T_REQ_ID, id->req_id);
	if (id->hostname[0])
		ap_put_str(&m, AP_T_HOSTNAME, id->hostname);
	if (id->iface[0])
		ap_put_str(&m, AP_T_IFACE, id->iface);
	if (id->mac[0])
		ap_put_str(&m, AP_T_MAC, id->mac);
	if (id->match_mac[0])
		ap_put_str(&m, AP_T_MATCH_MAC, id->match_mac);
	for (unsigned i = 0; i < id->nr_addrs && i < AP_MAX_ADDRS; i++)
		ap_put_str(&m, AP_T_ADDRESS, id->addrs[i]);
	if (id->gateway[0])
		ap_put_str(&m, AP_T_GATEWAY, id->gateway);
	for (unsigned i = 0; i < id->nr_dns && i < sizeof(id->dns) / sizeof(id->dns[0]); i++)
		ap_put_str(&m, AP_T_DNS, id->dns[i]);
	return ap_msg_finish(&m);
}

long ap_encode_shutdown(uint8_t *buf, size_t cap, const struct ap_shutdown *s)
{
	struct ap_msg m;

	ap_msg_init(&m, buf, cap, AP_SHUTDOWN);
	ap_put_u32(&m, AP_T_REQ_ID, s->req_id);
	ap_put_u8(&m, AP_T_MODE, s->mode);
	return ap_msg_finish(&m);
}

long ap_encode_exec(uint8_t *buf, size_t cap, const uint8_t token[AP_TOKEN_LEN],
		    const char *const *argv, unsigned argc, const char *const *envp, unsigned envc,
		    const char *cwd, bool tty, uint16_t rows, uint16_t cols)
{
	struct ap_msg m;

	ap_msg_init(&m, buf, cap, AP_EXEC);
	ap_put_bytes(&m, AP_T_TOKEN, token, AP_TOKEN_LEN);
	for (unsigned i = 0; i < argc; i++)
		ap_put_str(&m, AP_T_ARG, argv[i]);
	for (unsigned i = 0; i < envc; i++)
		ap_put_str(&m, AP_T_ENV, envp[i]);
	if (cwd)
		ap_put_str(&m, AP_T_CWD, cwd);
	if (tty)
		ap_put_u8(&m, AP_T_TTY, 1);
	if (rows)
		ap_put_u16(&m, AP_T_ROWS, rows);
	if (cols)
		ap_put_u16(&m, AP_T_COLS, cols);
	if (argc == 0)
		m.overflow = true; /* not a valid EXEC: refuse to build it */
	return ap_msg_finish(&m);
}

long ap_encode_data(uint8_t *buf, size_t cap, uint16_t type, const void *data, size_t len)
{
	struct ap_msg m;

	ap_msg_init(&m, buf, cap, type);
	ap_put_raw(&m, data, len);
	return ap_msg_finish(&m);
}

long ap_encode_resize(uint8_t *buf, size_t cap, uint16_t rows, uint16_t cols)
{
	struct ap_msg m;

	ap_msg_init(&m, buf, cap, AP_RESIZE);
	ap_put_u16(&m, AP_T_ROWS, rows);
	ap_put_u16(&m, AP_T_COLS, cols);
	return ap_msg_finish(&m);
}

long ap_encode_signal(uint8_t *buf, size_t cap, uint32_t signo)
{
	struct ap_msg m;

	ap_msg_init(&m, buf, cap, AP_SIGNAL);
	ap_put_u32(&m, AP_T_SIGNO, signo);
	return ap_msg_finish(&m);
}

long ap_encode_started(uint8_t *buf, size_t cap, uint32_t pid)
{
	struct ap_msg m;

	ap_msg_init(&m, buf, cap, AP_STARTED);
	ap_put_u32(&m, AP_T_PID, pid);
	return ap_msg_finish(&m);
}

long ap_encode_exit(uint8_t *buf, size_t cap, const struct ap_exit *e)
{
	struct ap_msg m;

	ap_msg_init(&m, buf, cap, AP_EXIT);
	if (e->signaled) {
		ap_put_u32(&m, AP_T_TERM_SIGNAL, e->code);
		if (e->core)
			ap_put_u8(&m, AP_T_CORE, 1);
	} else {
		ap_put_u32(&m, AP_T_EXIT_CODE, e->code);
	}
	return ap_msg_finish(&m);
}

long ap_encode_error(uint8_t *buf, size_t cap, const struct ap_error *e)
{
	struct ap_msg m;

	ap_msg_init(&m, buf, cap, AP_ERROR);
	ap_put_u32(&m, AP_T_STATUS, (uint32_t)e->status);
	if (e->message[0])
		ap_put_str(&m, AP_T_MESSAGE, e->message);
	return ap_msg_finish(&m);
}

/* ---- Misc --------------------------------------------------------------- */

bool ap_token_equal(const uint8_t a[AP_TOKEN_LEN], const uint8_t b[AP_TOKEN_LEN])
{
	/* Accumulate differences without an early exit; volatile keeps the compiler from adding one. */
	volatile uint8_t diff = 0;

	for (size_t i = 0; i < AP_TOKEN_LEN; i++)
		diff |= (uint8_t)(a[i] ^ b[i]);
	return diff == 0;
}

const char *ap_type_name(uint16_t type)
{
	switch (type) {
	case AP_HELLO:
		return "HELLO";
	case AP_REPORT:
		return "REPORT";
	case AP_ACK:
		return "ACK";
	case AP_IDENTITY:
		return "IDENTITY";
	case AP_SHUTDOWN:
		return "SHUTDOWN";
	case AP_EXEC:
		return "EXEC";
	case AP_STDIN:
		return "STDIN";
	case AP_RESIZE:
		return "RESIZE";
	case AP_SIGNAL:
		return "SIGNAL";
	case AP_STARTED:
		return "STARTED";
	case AP_STDOUT:
		return "STDOUT";
	case AP_STDERR:
		return "STDERR";
	case AP_EXIT:
		return "EXIT";
	case AP_ERROR:
		return "ERROR";
	}
	return "?";
}

/* ---- Frame reassembly ---------------------------------------------------- */

void ap_rbuf_init(struct ap_rbuf *r)
{
	r->start = 0;
	r->end = 0;
}

uint8_t *ap_rbuf_space(struct ap_rbuf *r, size_t *n)
{
	if (r->start) {
		memmove(r->data, r->data + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	*n = sizeof(r->data) - r->end;
	return r->data + r->end;
}

void ap_rbuf_fill(struct ap_rbuf *r, size_t n)
{
	if (n > sizeof(r->data) - r->end)
		n = sizeof(r->data) - r->end;
	r->end += n;
}

int ap_rbuf_next(struct ap_rbuf *r, struct ap_frame *f)
{
	long n = ap_frame_parse(r->data + r->start, r->end - r->start, f);

	if (n < 0)
		return -EPROTO;
	if (n == 0)
		return 0;
	r->start += (size_t)n;
	return 1;
}
