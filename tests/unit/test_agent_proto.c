// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: the clone ↔ clone-agent wire protocol (src/api/agent_proto.c):
 * round trips of every message, the framing checks, every decoder's
 * refusals (overruns, wrong integer sizes, NUL in strings, missing
 * required fields, limits) and the token comparison.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/agent_proto.h"

static uint8_t buf[AP_MAX_FRAME];
static uint8_t src[AP_MAX_FRAME]; /* input bytes, never overlapping buf */

/* Parse buf[0..n) as exactly one frame. */
static struct ap_frame parse1(const uint8_t *b, long n)
{
	struct ap_frame f;

	cr_assert_gt(n, 0);
	cr_assert_eq(ap_frame_parse(b, (size_t)n, &f), n);
	return f;
}

/* A frame of type with a hand-built payload. */
static struct ap_frame raw_frame(uint16_t type, const uint8_t *payload, size_t len)
{
	struct ap_msg m;

	ap_msg_init(&m, buf, sizeof(buf), type);
	ap_put_raw(&m, payload, len);
	return parse1(buf, ap_msg_finish(&m));
}

static const uint8_t tok[AP_TOKEN_LEN] = { 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
					   12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
					   23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

/* ---- framing ------------------------------------------------------------ */

Test(agent_proto, frame_header_layout)
{
	long n = ap_encode_data(buf, sizeof(buf), AP_STDOUT, "abc", 3);
	struct ap_frame f;

	cr_assert_eq(n, 11);
	cr_assert_eq(buf[0], 3);
	cr_assert_eq(buf[1] | buf[2] | buf[3], 0);
	cr_assert_eq(buf[4], AP_STDOUT);
	cr_assert_eq(buf[5] | buf[6] | buf[7], 0);
	f = parse1(buf, n);
	cr_assert_eq(f.type, AP_STDOUT);
	cr_assert_eq(f.len, 3);
	cr_assert_eq(memcmp(f.payload, "abc", 3), 0);
}

Test(agent_proto, frame_truncated_and_invalid)
{
	struct ap_frame f;
	long n = ap_encode_data(buf, sizeof(buf), AP_STDIN, "hello", 5);

	for (long i = 0; i < n; i++)
		cr_assert_eq(ap_frame_parse(buf, (size_t)i, &f), 0, "prefix %ld", i);
	/* flags != 0 */
	buf[6] = 1;
	cr_assert_eq(ap_frame_parse(buf, (size_t)n, &f), -EPROTO);
	buf[6] = 0;
	buf[7] = 0x80;
	cr_assert_eq(ap_frame_parse(buf, (size_t)n, &f), -EPROTO);
	buf[7] = 0;
	/* len over the maximum, even with only the header present */
	buf[0] = 0x01;
	buf[1] = 0x00;
	buf[2] = 0x01; /* 65537 */
	cr_assert_eq(ap_frame_parse(buf, AP_HDR_SIZE, &f), -EPROTO);
	/* exactly the maximum is fine */
	cr_assert_eq(ap_encode_data(buf, sizeof(buf), AP_STDOUT, src, AP_MAX_PAYLOAD),
		     AP_MAX_FRAME);
	cr_assert_eq(ap_frame_parse(buf, AP_MAX_FRAME, &f), AP_MAX_FRAME);
	cr_assert_eq(ap_encode_data(buf, sizeof(buf), AP_STDOUT, src, AP_MAX_PAYLOAD + 1),
		     -EMSGSIZE);
}

Test(agent_proto, two_frames_in_one_buffer)
{
	long a = ap_encode_signal(buf, sizeof(buf), 9);
	long b = ap_encode_started(buf + a, sizeof(buf) - (size_t)a, 1234);
	struct ap_frame f;
	uint32_t v;

	cr_assert_eq(ap_frame_parse(buf, (size_t)(a + b), &f), a);
	cr_assert_eq(ap_decode_signal(&f, &v), 0);
	cr_assert_eq(v, 9);
	cr_assert_eq(ap_frame_parse(buf + a, (size_t)b, &f), b);
	cr_assert_eq(ap_decode_started(&f, &v), 0);
	cr_assert_eq(v, 1234);
}

Test(agent_proto, msg_overflow)
{
	uint8_t small[16];
	struct ap_msg m;

	ap_msg_init(&m, small, sizeof(small), AP_ACK);
	ap_put_u32(&m, AP_T_REQ_ID, 1); /* 8 + 8 = 16: fits */
	cr_assert_eq(ap_msg_finish(&m), 16);
	ap_put_u8(&m, AP_T_ACTIVE, 1);
	cr_assert_eq(ap_msg_finish(&m), -EMSGSIZE);
	ap_msg_init(&m, small, 4, AP_ACK);
	cr_assert_eq(ap_msg_finish(&m), -EMSGSIZE);
	cr_assert_eq(ap_encode_hello(small, sizeof(small), &(struct ap_hello){ .version = 1 }),
		     -EMSGSIZE);
}

Test(agent_proto, integers_little_endian)
{
	struct ap_msg m;
	struct ap_frame f;
	struct ap_iter it;
	struct ap_field fld;
	uint64_t v64;

	ap_msg_init(&m, buf, sizeof(buf), AP_REPORT);
	ap_put_u64(&m, AP_T_SEQ, 0x0102030405060708ull);
	f = parse1(buf, ap_msg_finish(&m));
	cr_assert_eq(f.payload[0], AP_T_SEQ);
	cr_assert_eq(f.payload[2], 8);
	cr_assert_eq(f.payload[4], 0x08);
	cr_assert_eq(f.payload[11], 0x01);
	ap_iter_init(&it, &f);
	cr_assert_eq(ap_iter_next(&it, &fld), 1);
	cr_assert_eq(ap_field_u64(&fld, &v64), 0);
	cr_assert_eq(v64, 0x0102030405060708ull);
	cr_assert_eq(ap_iter_next(&it, &fld), 0);
}

Test(agent_proto, field_reads)
{
	struct ap_field f = { .tag = 1, .len = 3, .val = (const uint8_t *)"a\0b" };
	char s[8];
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	cr_assert_eq(ap_field_str(&f, s, sizeof(s)), -EPROTO);
	f.val = (const uint8_t *)"abc";
	cr_assert_eq(ap_field_str(&f, s, 3), -E2BIG);
	cr_assert_eq(ap_field_str(&f, s, 4), 0);
	cr_assert_str_eq(s, "abc");
	cr_assert_eq(ap_field_u8(&f, &v8), -EPROTO);
	cr_assert_eq(ap_field_u16(&f, &v16), -EPROTO);
	cr_assert_eq(ap_field_u32(&f, &v32), -EPROTO);
	cr_assert_eq(ap_field_u64(&f, &v64), -EPROTO);
	f.len = 0;
	cr_assert_eq(ap_field_str(&f, s, 1), 0);
	cr_assert_str_eq(s, "");
}

Test(agent_proto, field_overrun)
{
	/* tag 1, len 10, only 2 value bytes */
	const uint8_t p[] = { 1, 0, 10, 0, 0xaa, 0xbb };
	const uint8_t q[] = { 1, 0, 4, 0, 1, 0, 0, 0, 9 }; /* trailing partial header */
	struct ap_frame f = raw_frame(AP_REPORT, p, sizeof(p));
	struct ap_report r;
	struct ap_iter it;
	struct ap_field fld;

	ap_iter_init(&it, &f);
	cr_assert_eq(ap_iter_next(&it, &fld), -EPROTO);
	cr_assert_eq(ap_decode_report(&f, &r), -EPROTO);
	f = raw_frame(AP_REPORT, q, sizeof(q));
	cr_assert_eq(ap_decode_report(&f, &r), -EPROTO);
}

/* ---- round trips -------------------------------------------------------- */

Test(agent_proto, hello_round_trip)
{
	struct ap_hello h = { .version = AP_VERSION, .has_token = true }, d;
	struct ap_frame f;

	memcpy(h.token, tok, sizeof(tok));
	strcpy(h.agent_version, "clone-agent 1");
	strcpy(h.kernel, "6.1.0-18-amd64");
	strcpy(h.hostname, "vm1");
	f = parse1(buf, ap_encode_hello(buf, sizeof(buf), &h));
	cr_assert_eq(f.type, AP_HELLO);
	cr_assert_eq(ap_decode_hello(&f, &d), 0);
	cr_assert_eq(memcmp(&h, &d, sizeof(h)), 0);
}

Test(agent_proto, report_round_trip)
{
	struct ap_report r = { .seq = 1ull << 40,
			       .active = true,
			       .cpu_busy = 999,
			       .psi_some = 1234,
			       .psi_full = 56,
			       .load = { 1, 20, 300 },
			       .procs = 77,
			       .mem_total = 1ull << 33,
			       .mem_avail = 12345,
			       .uptime_ms = 987654321 },
			 d;
	struct ap_frame f = parse1(buf, ap_encode_report(buf, sizeof(buf), &r));

	cr_assert_eq(ap_decode_report(&f, &d), 0);
	cr_assert(d.seq == r.seq && d.active && d.cpu_busy == 999 && d.psi_some == 1234 &&
		  d.psi_full == 56 && d.load[0] == 1 && d.load[1] == 20 && d.load[2] == 300 &&
		  d.procs == 77 && d.mem_total == r.mem_total && d.mem_avail == 12345 &&
		  d.uptime_ms == 987654321);
}

Test(agent_proto, ack_round_trip)
{
	struct ap_ack a = { .req_type = AP_IDENTITY, .req_id = 42, .status = -EINVAL }, d;
	struct ap_frame f;

	strcpy(a.message, "invalid address");
	f = parse1(buf, ap_encode_ack(buf, sizeof(buf), &a));
	cr_assert_eq(ap_decode_ack(&f, &d), 0);
	cr_assert(d.req_type == AP_IDENTITY && d.req_id == 42);
	cr_assert_str_eq(d.message, "invalid address");
	cr_assert_eq(d.status, -EINVAL);
}

Test(agent_proto, identity_round_trip)
{
	struct ap_identity id = { .req_id = 5, .nr_addrs = 2, .nr_dns = 2 }, d;
	struct ap_frame f;

	strcpy(id.hostname, "box");
	strcpy(id.addrs[0], "10.0.0.2/24");
	strcpy(id.addrs[1], "10.1.0.2/16");
	strcpy(id.iface, "eth0");
	strcpy(id.gateway, "10.0.0.1");
	strcpy(id.dns[0], "1.1.1.1");
	strcpy(id.dns[1], "2606:4700::1111");
	f = parse1(buf, ap_encode_identity(buf, sizeof(buf), &id));
	cr_assert_eq(ap_decode_identity(&f, &d), 0);
	cr_assert_eq(memcmp(&id, &d, sizeof(id)), 0);
}

Test(agent_proto, shutdown_round_trip)
{
	struct ap_shutdown s = { .req_id = 9, .mode = AP_SHUTDOWN_REBOOT }, d;
	struct ap_frame f = parse1(buf, ap_encode_shutdown(buf, sizeof(buf), &s));

	cr_assert_eq(ap_decode_shutdown(&f, &d), 0);
	cr_assert_eq(d.req_id, 9);
	cr_assert_eq(d.mode, AP_SHUTDOWN_REBOOT);
}

Test(agent_proto, exec_round_trip)
{
	const char *argv[] = { "sh", "-c", "", "echo hi" };
	const char *envp[] = { "PATH=/bin", "A=b=c" };
	struct ap_exec e;
	struct ap_frame f = parse1(buf, ap_encode_exec(buf, sizeof(buf), tok, argv, 4, envp, 2,
						       "/tmp", true, 40, 120));

	cr_assert_eq(ap_decode_exec(&f, &e), 0);
	cr_assert(e.has_token);
	cr_assert_eq(memcmp(e.token, tok, sizeof(tok)), 0);
	cr_assert_eq(e.argc, 4);
	cr_assert_eq(e.envc, 2);
	for (int i = 0; i < 4; i++)
		cr_assert_str_eq(e.argv[i], argv[i]);
	cr_assert_null(e.argv[4]);
	cr_assert_str_eq(e.envp[0], "PATH=/bin");
	cr_assert_str_eq(e.envp[1], "A=b=c");
	cr_assert_null(e.envp[2]);
	cr_assert_str_eq(e.cwd, "/tmp");
	cr_assert(e.tty);
	cr_assert_eq(e.rows, 40);
	cr_assert_eq(e.cols, 120);
	ap_exec_free(&e);
	cr_assert_null(e.block);

	/* minimal: one arg, no env, no cwd, no tty */
	f = parse1(buf, ap_encode_exec(buf, sizeof(buf), tok, argv, 1, NULL, 0, NULL, false, 0, 0));
	cr_assert_eq(ap_decode_exec(&f, &e), 0);
	cr_assert_eq(e.argc, 1);
	cr_assert_eq(e.envc, 0);
	cr_assert_null(e.envp[0]);
	cr_assert_str_eq(e.cwd, "");
	cr_assert(!e.tty);
	ap_exec_free(&e);
	/* argc 0 cannot be encoded */
	cr_assert_eq(ap_encode_exec(buf, sizeof(buf), tok, argv, 0, NULL, 0, NULL, false, 0, 0),
		     -EMSGSIZE);
}

Test(agent_proto, small_messages_round_trip)
{
	struct ap_frame f;
	uint16_t rows, cols;
	uint32_t v;
	struct ap_exit x = { .signaled = true, .code = 11, .core = true }, dx;
	struct ap_error er = { .status = -ENOENT }, de;

	f = parse1(buf, ap_encode_resize(buf, sizeof(buf), 50, 132));
	cr_assert_eq(ap_decode_resize(&f, &rows, &cols), 0);
	cr_assert_eq(rows, 50);
	cr_assert_eq(cols, 132);
	f = parse1(buf, ap_encode_signal(buf, sizeof(buf), 15));
	cr_assert_eq(ap_decode_signal(&f, &v), 0);
	cr_assert_eq(v, 15);
	f = parse1(buf, ap_encode_started(buf, sizeof(buf), 4242));
	cr_assert_eq(ap_decode_started(&f, &v), 0);
	cr_assert_eq(v, 4242);
	f = parse1(buf, ap_encode_exit(buf, sizeof(buf), &x));
	cr_assert_eq(ap_decode_exit(&f, &dx), 0);
	cr_assert(dx.signaled && dx.code == 11 && dx.core);
	x = (struct ap_exit){ .code = 255 };
	f = parse1(buf, ap_encode_exit(buf, sizeof(buf), &x));
	cr_assert_eq(ap_decode_exit(&f, &dx), 0);
	cr_assert(!dx.signaled && dx.code == 255 && !dx.core);
	strcpy(er.message, "foo: command not found");
	f = parse1(buf, ap_encode_error(buf, sizeof(buf), &er));
	cr_assert_eq(ap_decode_error(&f, &de), 0);
	cr_assert_eq(de.status, -ENOENT);
	cr_assert_str_eq(de.message, "foo: command not found");
	f = parse1(buf, ap_encode_data(buf, sizeof(buf), AP_STDIN, NULL, 0));
	cr_assert_eq(f.len, 0);
}

/* ---- refusals ----------------------------------------------------------- */

/* Build a frame from fields added by the caller through m. */
static struct ap_msg M;
static void begin(uint16_t type)
{
	ap_msg_init(&M, buf, sizeof(buf), type);
}
static struct ap_frame end(void)
{
	return parse1(buf, ap_msg_finish(&M));
}

Test(agent_proto, required_fields)
{
	struct ap_frame f;
	struct ap_hello h;
	struct ap_ack a;
	struct ap_exit x;
	struct ap_error e;
	struct ap_identity id;
	struct ap_shutdown s;
	struct ap_exec ex;
	uint16_t r16, c16;
	uint32_t v;

	begin(AP_HELLO);
	ap_put_u32(&M, AP_T_VERSION, 1);
	f = end();
	cr_assert_eq(ap_decode_hello(&f, &h), -EPROTO, "HELLO without TOKEN");
	begin(AP_HELLO);
	ap_put_bytes(&M, AP_T_TOKEN, tok, sizeof(tok));
	f = end();
	cr_assert_eq(ap_decode_hello(&f, &h), -EPROTO, "HELLO without VERSION");

	begin(AP_ACK);
	ap_put_u16(&M, AP_T_REQ_TYPE, AP_SHUTDOWN);
	ap_put_u32(&M, AP_T_REQ_ID, 1);
	f = end();
	cr_assert_eq(ap_decode_ack(&f, &a), -EPROTO, "ACK without STATUS");

	begin(AP_EXIT);
	ap_put_u8(&M, AP_T_CORE, 1);
	f = end();
	cr_assert_eq(ap_decode_exit(&f, &x), -EPROTO, "EXIT without code or signal");
	begin(AP_EXIT);
	ap_put_u32(&M, AP_T_EXIT_CODE, 256);
	f = end();
	cr_assert_eq(ap_decode_exit(&f, &x), -EPROTO, "EXIT code 256");

	begin(AP_ERROR);
	ap_put_str(&M, AP_T_MESSAGE, "x");
	f = end();
	cr_assert_eq(ap_decode_error(&f, &e), -EPROTO, "ERROR without STATUS");

	begin(AP_IDENTITY);
	ap_put_str(&M, AP_T_HOSTNAME, "x");
	f = end();
	cr_assert_eq(ap_decode_identity(&f, &id), -EPROTO, "IDENTITY without REQ_ID");

	begin(AP_SHUTDOWN);
	ap_put_u32(&M, AP_T_REQ_ID, 1);
	f = end();
	cr_assert_eq(ap_decode_shutdown(&f, &s), -EPROTO, "SHUTDOWN without MODE");
	begin(AP_SHUTDOWN);
	ap_put_u32(&M, AP_T_REQ_ID, 1);
	ap_put_u8(&M, AP_T_MODE, 2);
	f = end();
	cr_assert_eq(ap_decode_shutdown(&f, &s), -EPROTO, "SHUTDOWN MODE 2");

	begin(AP_RESIZE);
	ap_put_u16(&M, AP_T_ROWS, 1);
	f = end();
	cr_assert_eq(ap_decode_resize(&f, &r16, &c16), -EPROTO, "RESIZE without COLS");
	begin(AP_SIGNAL);
	f = end();
	cr_assert_eq(ap_decode_signal(&f, &v), -EPROTO, "SIGNAL without SIGNO");
	begin(AP_STARTED);
	f = end();
	cr_assert_eq(ap_decode_started(&f, &v), -EPROTO, "STARTED without PID");

	begin(AP_EXEC);
	ap_put_str(&M, AP_T_ARG, "true");
	f = end();
	cr_assert_eq(ap_decode_exec(&f, &ex), -EPROTO, "EXEC without TOKEN");
	cr_assert_null(ex.block);
	begin(AP_EXEC);
	ap_put_bytes(&M, AP_T_TOKEN, tok, sizeof(tok));
	f = end();
	cr_assert_eq(ap_decode_exec(&f, &ex), -EPROTO, "EXEC without ARG");
	cr_assert_null(ex.block);
}

Test(agent_proto, wrong_sizes_and_nul)
{
	struct ap_frame f;
	struct ap_hello h;
	struct ap_report r;
	struct ap_exec ex;
	uint32_t v;

	begin(AP_HELLO);
	ap_put_u16(&M, AP_T_VERSION, 1);
	ap_put_bytes(&M, AP_T_TOKEN, tok, sizeof(tok));
	f = end();
	cr_assert_eq(ap_decode_hello(&f, &h), -EPROTO, "u16 VERSION");
	begin(AP_HELLO);
	ap_put_u32(&M, AP_T_VERSION, 1);
	ap_put_bytes(&M, AP_T_TOKEN, tok, sizeof(tok) - 1);
	f = end();
	cr_assert_eq(ap_decode_hello(&f, &h), -EPROTO, "short TOKEN");
	begin(AP_HELLO);
	ap_put_u32(&M, AP_T_VERSION, 1);
	ap_put_bytes(&M, AP_T_TOKEN, tok, sizeof(tok));
	ap_put_bytes(&M, AP_T_HOSTNAME, "a\0b", 3);
	f = end();
	cr_assert_eq(ap_decode_hello(&f, &h), -EPROTO, "NUL in HOSTNAME");
	begin(AP_HELLO);
	ap_put_u32(&M, AP_T_VERSION, 1);
	ap_put_bytes(&M, AP_T_TOKEN, tok, sizeof(tok));
	ap_put_bytes(&M, AP_T_AGENT_VERSION, src, 64); /* 64 bytes need 65 */
	f = end();
	cr_assert_eq(ap_decode_hello(&f, &h), -EPROTO, "string too long for its buffer");

	begin(AP_REPORT);
	ap_put_u32(&M, AP_T_SEQ, 1);
	f = end();
	cr_assert_eq(ap_decode_report(&f, &r), -EPROTO, "u32 SEQ");
	begin(AP_REPORT);
	ap_put_u8(&M, AP_T_ACTIVE, 2);
	f = end();
	cr_assert_eq(ap_decode_report(&f, &r), -EPROTO, "ACTIVE 2");
	begin(AP_SIGNAL);
	ap_put_u64(&M, AP_T_SIGNO, 9);
	f = end();
	cr_assert_eq(ap_decode_signal(&f, &v), -EPROTO, "u64 SIGNO");

	begin(AP_EXEC);
	ap_put_bytes(&M, AP_T_TOKEN, tok, sizeof(tok));
	ap_put_bytes(&M, AP_T_ARG, "a\0", 2);
	f = end();
	cr_assert_eq(ap_decode_exec(&f, &ex), -EPROTO, "NUL in ARG");
	begin(AP_EXEC);
	ap_put_bytes(&M, AP_T_TOKEN, tok, sizeof(tok));
	ap_put_str(&M, AP_T_ARG, "a");
	ap_put_str(&M, AP_T_ENV, "NOEQUALS");
	f = end();
	cr_assert_eq(ap_decode_exec(&f, &ex), -EPROTO, "ENV without '='");
	begin(AP_EXEC);
	ap_put_bytes(&M, AP_T_TOKEN, tok, sizeof(tok));
	ap_put_u16(&M, AP_T_TTY, 1);
	ap_put_str(&M, AP_T_ARG, "a");
	f = end();
	cr_assert_eq(ap_decode_exec(&f, &ex), -EPROTO, "u16 TTY");
	cr_assert_null(ex.block);
}

Test(agent_proto, wrong_type_refused)
{
	struct ap_frame f = parse1(buf, ap_encode_signal(buf, sizeof(buf), 9));
	uint32_t v;

	cr_assert_eq(ap_decode_started(&f, &v), -EPROTO);
}

Test(agent_proto, limits)
{
	struct ap_frame f;
	struct ap_exec ex;
	struct ap_identity id;

	/* AP_MAX_ARGS + 1 empty args fit in one payload (4 bytes each). */
	begin(AP_EXEC);
	ap_put_bytes(&M, AP_T_TOKEN, tok, sizeof(tok));
	for (int i = 0; i < AP_MAX_ARGS; i++)
		ap_put_str(&M, AP_T_ARG, "");
	f = end();
	cr_assert_eq(ap_decode_exec(&f, &ex), 0);
	cr_assert_eq(ex.argc, AP_MAX_ARGS);
	ap_exec_free(&ex);
	begin(AP_EXEC);
	ap_put_bytes(&M, AP_T_TOKEN, tok, sizeof(tok));
	for (int i = 0; i <= AP_MAX_ARGS; i++)
		ap_put_str(&M, AP_T_ARG, "");
	f = end();
	cr_assert_eq(ap_decode_exec(&f, &ex), -EPROTO, "too many args");
	cr_assert_null(ex.block);

	begin(AP_EXEC);
	ap_put_bytes(&M, AP_T_TOKEN, tok, sizeof(tok));
	for (int i = 0; i <= AP_MAX_ENVS; i++)
		ap_put_str(&M, AP_T_ENV, "A=");
	ap_put_str(&M, AP_T_ARG, "x");
	f = end();
	cr_assert_eq(ap_decode_exec(&f, &ex), -EPROTO, "too many envs");

	memset(src, 'a', AP_MAX_STR + 1);
	begin(AP_EXEC);
	ap_put_bytes(&M, AP_T_TOKEN, tok, sizeof(tok));
	ap_put_bytes(&M, AP_T_ARG, src, AP_MAX_STR + 1);
	cr_assert_gt(ap_msg_finish(&M), 0);
	f = parse1(buf, (long)M.len);
	cr_assert_eq(ap_decode_exec(&f, &ex), -EPROTO, "ARG over AP_MAX_STR");

	begin(AP_IDENTITY);
	ap_put_u32(&M, AP_T_REQ_ID, 1);
	for (int i = 0; i <= AP_MAX_ADDRS; i++)
		ap_put_str(&M, AP_T_ADDRESS, "10.0.0.1/8");
	f = end();
	cr_assert_eq(ap_decode_identity(&f, &id), -EPROTO, "too many addresses");
	begin(AP_IDENTITY);
	ap_put_u32(&M, AP_T_REQ_ID, 1);
	for (int i = 0; i < 5; i++)
		ap_put_str(&M, AP_T_DNS, "1.1.1.1");
	f = end();
	cr_assert_eq(ap_decode_identity(&f, &id), -EPROTO, "too many DNS servers");
}

Test(agent_proto, unknown_tags_skipped_last_wins)
{
	struct ap_frame f;
	struct ap_shutdown s;

	begin(AP_SHUTDOWN);
	ap_put_bytes(&M, 999, "whatever", 8);
	ap_put_u32(&M, AP_T_REQ_ID, 1);
	ap_put_u8(&M, AP_T_MODE, 1);
	ap_put_u32(&M, AP_T_REQ_ID, 2);
	ap_put_u8(&M, AP_T_MODE, 0);
	ap_put_bytes(&M, 12345, NULL, 0);
	f = end();
	cr_assert_eq(ap_decode_shutdown(&f, &s), 0);
	cr_assert_eq(s.req_id, 2);
	cr_assert_eq(s.mode, 0);
}

Test(agent_proto, token_equal)
{
	uint8_t a[AP_TOKEN_LEN], b[AP_TOKEN_LEN];

	memcpy(a, tok, sizeof(a));
	memcpy(b, tok, sizeof(b));
	cr_assert(ap_token_equal(a, b));
	for (int i = 0; i < AP_TOKEN_LEN; i++) {
		b[i] ^= 0x80;
		cr_assert(!ap_token_equal(a, b), "byte %d", i);
		b[i] ^= 0x80;
	}
}

Test(agent_proto, type_names)
{
	cr_assert_str_eq(ap_type_name(AP_HELLO), "HELLO");
	cr_assert_str_eq(ap_type_name(AP_ERROR), "ERROR");
	cr_assert_str_eq(ap_type_name(0), "?");
}
