// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: clone-agent's pure parts, compiled in from agent/ (the agent
 * itself is a separate musl binary, not part of libclone): the /proc
 * parsers and address validation of agent/sys.c, and the frame → action
 * decisions of agent/dispatch.c.  Only the side-effect-free functions are
 * called here.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "../../agent/dispatch.c"
#include "../../agent/sys.c"

Test(agent_sys, uptime)
{
	uint64_t ms;

	cr_assert_eq(asys_parse_uptime("12345.67 23456.78\n", &ms), 0);
	cr_assert_eq(ms, 12345670);
	cr_assert_eq(asys_parse_uptime("5 1\n", &ms), 0);
	cr_assert_eq(ms, 5000);
	cr_assert_eq(asys_parse_uptime("x", &ms), -EINVAL);
}

Test(agent_sys, loadavg)
{
	uint32_t l[3];

	cr_assert_eq(asys_parse_loadavg("0.52 1.05 12.00 2/345 6789\n", l), 0);
	cr_assert_eq(l[0], 52);
	cr_assert_eq(l[1], 105);
	cr_assert_eq(l[2], 1200);
	cr_assert_eq(asys_parse_loadavg("0.52 1.05\n", l), -EINVAL);
}

Test(agent_sys, meminfo)
{
	uint64_t t, a;
	const char *s = "MemTotal:        2028436 kB\nMemFree:          1768420 kB\n"
			"MemAvailable:    1811452 kB\nBuffers:            2864 kB\n";

	cr_assert_eq(asys_parse_meminfo(s, &t, &a), 0);
	cr_assert_eq(t, 2028436);
	cr_assert_eq(a, 1811452);
	cr_assert_eq(asys_parse_meminfo("MemTotal: 100 kB\nMemFree: 7 kB\n", &t, &a), 0);
	cr_assert_eq(a, 7);
	cr_assert_eq(asys_parse_meminfo("MemFree: 7 kB\n", &t, &a), -EINVAL);
	/* "MemTotalX" is not MemTotal */
	cr_assert_eq(asys_parse_meminfo("MemTotalX: 1 kB\nMemFree: 7 kB\n", &t, &a), -EINVAL);
}

Test(agent_sys, psi)
{
	uint32_t some, full;

	cr_assert_eq(asys_parse_psi("some avg10=1.23 avg60=0.50 avg300=0.00 total=123\n"
				    "full avg10=0.07 avg60=0.00 avg300=0.00 total=45\n",
				    &some, &full),
		     0);
	cr_assert_eq(some, 123);
	cr_assert_eq(full, 7);
	cr_assert_eq(
		asys_parse_psi("some avg10=100.00 avg60=0.00 avg300=0.00 total=1\n", &some, &full),
		0);
	cr_assert_eq(some, 10000);
	cr_assert_eq(full, 0);
	cr_assert_eq(asys_parse_psi("garbage", &some, &full), -EINVAL);
}

Test(agent_sys, cpu_busy)
{
	struct cpu_times a, b;

	cr_assert_eq(asys_parse_stat_cpu("cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n", &a),
		     0);
	cr_assert_eq(a.total, 1000);
	cr_assert_eq(a.busy, 200);
	cr_assert_eq(asys_parse_stat_cpu("cpu  150 0 150 1600 100 0 0 0 0 0\n", &b), 0);
	cr_assert_eq(asys_cpu_busy(&a, &b), 100); /* 100 busy of 1000 ticks */
	cr_assert_eq(asys_cpu_busy(&a, &a), 0);
	cr_assert_eq(asys_cpu_busy(&b, &a), 0); /* time going backwards */
	cr_assert_eq(asys_parse_stat_cpu("cpu0 1 2 3 4\n", &a), -EINVAL);
	cr_assert_eq(asys_parse_stat_cpu("cpu  1 2\n", &a), -EINVAL);
}

Test(agent_sys, addresses)
{
	uint32_t addr;
	unsigned p;

	cr_assert_eq(asys_parse_cidr("10.0.0.2/24", &addr, &p), 0);
	cr_assert_eq(addr, htonl(0x0a000002));
	cr_assert_eq(p, 24);
	cr_assert_eq(asys_parse_cidr("10.0.0.2/0", &addr, &p), 0);
	cr_assert_eq(asys_parse_cidr("10.0.0.2/32", &addr, &p), 0);
	cr_assert_eq(asys_parse_cidr("10.0.0.2/33", &addr, &p), -EINVAL);
	cr_assert_eq(asys_parse_cidr("10.0.0.2", &addr, &p), -EINVAL);
	cr_assert_eq(asys_parse_cidr("10.0.0.2/", &addr, &p), -EINVAL);
	cr_assert_eq(asys_parse_cidr("10.0.0.2/-1", &addr, &p), -EINVAL);
	cr_assert_eq(asys_parse_cidr("10.0.0.2/24x", &addr, &p), -EINVAL);
	cr_assert_eq(asys_parse_cidr("10.0.0.300/24", &addr, &p), -EINVAL);
	cr_assert_eq(asys_parse_cidr("/24", &addr, &p), -EINVAL);
	cr_assert_eq(asys_parse_ipv4("010.0.0.1", &addr), -EINVAL);
	cr_assert_eq(asys_parse_ipv4("192.168.1.1", &addr), 0);
	cr_assert(asys_valid_hostname("vm-1.example"));
	cr_assert(!asys_valid_hostname(""));
	cr_assert(!asys_valid_hostname("-x"));
	cr_assert(!asys_valid_hostname("bad host"));
	cr_assert(!asys_valid_hostname(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

Test(agent_sys, init_kind)
{
	cr_assert_eq(asys_init_kind_from("systemd\n", "/usr/lib/systemd/systemd"), INIT_SYSTEMD);
	cr_assert_eq(asys_init_kind_from("init\n", "/bin/busybox"), INIT_BUSYBOX);
	cr_assert_eq(asys_init_kind_from("init\n", "/sbin/init"), INIT_OTHER);
	cr_assert_eq(asys_init_kind_from("", ""), INIT_OTHER);
	cr_assert_eq(asys_init_signal(INIT_SYSTEMD, AP_SHUTDOWN_POWEROFF), 38);
	cr_assert_eq(asys_init_signal(INIT_SYSTEMD, AP_SHUTDOWN_REBOOT), SIGINT);
	cr_assert_eq(asys_init_signal(INIT_BUSYBOX, AP_SHUTDOWN_POWEROFF), SIGUSR2);
	cr_assert_eq(asys_init_signal(INIT_BUSYBOX, AP_SHUTDOWN_REBOOT), SIGTERM);
	cr_assert_eq(asys_init_signal(INIT_OTHER, AP_SHUTDOWN_REBOOT), 0);
}

/* ---- dispatch.c ---------------------------------------------------------- */

Test(agent_dispatch, path_search)
{
	char out[64];
	size_t pos = 0;

	cr_assert_eq(disp_path_next("/a:/b::/c", "ls", &pos, out, sizeof(out)), 1);
	cr_assert_str_eq(out, "/a/ls");
	cr_assert_eq(disp_path_next("/a:/b::/c", "ls", &pos, out, sizeof(out)), 1);
	cr_assert_str_eq(out, "/b/ls");
	cr_assert_eq(disp_path_next("/a:/b::/c", "ls", &pos, out, sizeof(out)), 1);
	cr_assert_str_eq(out, "./ls");
	cr_assert_eq(disp_path_next("/a:/b::/c", "ls", &pos, out, sizeof(out)), 1);
	cr_assert_str_eq(out, "/c/ls");
	cr_assert_eq(disp_path_next("/a:/b::/c", "ls", &pos, out, sizeof(out)), 0);
	pos = 0;
	cr_assert_eq(disp_path_next("/a", "./x/y", &pos, out, sizeof(out)), 1);
	cr_assert_str_eq(out, "./x/y");
	cr_assert_eq(disp_path_next("/a", "./x/y", &pos, out, sizeof(out)), 0);
	pos = 0;
	cr_assert_eq(disp_path_next("/a:/b", "ls", &pos, out, 4), -ENAMETOOLONG);
	cr_assert_eq(disp_path_next("/a:/b", "ls", &pos, out, 4), -ENAMETOOLONG);
	cr_assert_eq(disp_path_next("/a:/b", "ls", &pos, out, 4), 0);
	char *env[] = { "PATHX=1", "PATH=/p", NULL };
	cr_assert_str_eq(disp_env_get(env, "PATH"), "/p");
	cr_assert_null(disp_env_get(env, "HOME"));
}

static uint8_t fbuf[AP_MAX_FRAME];
static const uint8_t tok[AP_TOKEN_LEN] = { 7 };

Test(agent_dispatch, exec_first)
{
	const char *argv[] = { "true" };
	uint8_t bad[AP_TOKEN_LEN] = { 8 };
	struct ap_exec ex;
	struct ap_error err;
	struct ap_frame f;
	long n;

	n = ap_encode_exec(fbuf, sizeof(fbuf), tok, argv, 1, NULL, 0, NULL, true, 0, 0);
	cr_assert_eq(ap_frame_parse(fbuf, (size_t)n, &f), n);
	cr_assert_eq(disp_exec_first(&f, tok, &ex, &err), 0);
	cr_assert_eq(ex.rows, 24); /* a tty gets a default size */
	ap_exec_free(&ex);
	cr_assert_eq(disp_exec_first(&f, bad, &ex, &err), -EACCES);
	cr_assert_str_eq(err.message, "bad token");
	cr_assert_null(ex.block);
	n = ap_encode_signal(fbuf, sizeof(fbuf), 9);
	ap_frame_parse(fbuf, (size_t)n, &f);
	cr_assert_eq(disp_exec_first(&f, tok, &ex, &err), -EPROTO);
}

Test(agent_dispatch, session_frames)
{
	struct sess_action a;
	struct ap_frame f;
	long n;

	n = ap_encode_data(fbuf, sizeof(fbuf), AP_STDIN, "xy", 2);
	ap_frame_parse(fbuf, (size_t)n, &f);
	cr_assert_eq(disp_session(&f, &a), 0);
	cr_assert(a.act == SESS_STDIN && a.len == 2);
	n = ap_encode_data(fbuf, sizeof(fbuf), AP_STDIN, NULL, 0);
	ap_frame_parse(fbuf, (size_t)n, &f);
	cr_assert_eq(disp_session(&f, &a), 0);
	cr_assert_eq(a.act, SESS_STDIN_EOF);
	n = ap_encode_signal(fbuf, sizeof(fbuf), 0);
	ap_frame_parse(fbuf, (size_t)n, &f);
	cr_assert_eq(disp_session(&f, &a), 0);
	cr_assert_eq(a.act, SESS_NONE);
	n = ap_encode_signal(fbuf, sizeof(fbuf), 2);
	ap_frame_parse(fbuf, (size_t)n, &f);
	cr_assert_eq(disp_session(&f, &a), 0);
	cr_assert(a.act == SESS_SIGNAL && a.signo == 2);
	n = ap_encode_resize(fbuf, sizeof(fbuf), 0, 80);
	ap_frame_parse(fbuf, (size_t)n, &f);
	cr_assert_eq(disp_session(&f, &a), 0);
	cr_assert_eq(a.act, SESS_NONE);
	n = ap_encode_data(fbuf, sizeof(fbuf), AP_RESIZE, "x", 1);
	ap_frame_parse(fbuf, (size_t)n, &f);
	cr_assert_eq(disp_session(&f, &a), -EPROTO);
	n = ap_encode_data(fbuf, sizeof(fbuf), 200, "x", 1);
	ap_frame_parse(fbuf, (size_t)n, &f);
	cr_assert_eq(disp_session(&f, &a), 0);
	cr_assert_eq(a.act, SESS_NONE);
}

Test(agent_dispatch, exit_status)
{
	struct ap_exit e;

	disp_exit_status(3 << 8, &e);
	cr_assert(!e.signaled && e.code == 3);
	disp_exit_status(SIGKILL, &e);
	cr_assert(e.signaled && e.code == SIGKILL && !e.core);
	disp_exit_status(SIGSEGV | 0x80, &e);
	cr_assert(e.signaled && e.code == SIGSEGV && e.core);
}

static int fake_identity(void *opaque, const struct ap_identity *id, char *msg, size_t cap)
{
	(*(int *)opaque)++;
	snprintf(msg, cap, "nope");
	return id->hostname[0] ? -EINVAL : 0;
}

Test(agent_dispatch, control)
{
	static const struct ctl_ops ops = { .identity = fake_identity };
	struct ap_identity id = { .req_id = 3 };
	struct ap_shutdown sd = { .req_id = 4, .mode = AP_SHUTDOWN_REBOOT };
	uint8_t out[512];
	enum ctl_after after;
	struct ap_frame f, af;
	struct ap_ack ack;
	int calls = 0;
	long n;

	strcpy(id.hostname, "x");
	n = ap_encode_identity(fbuf, sizeof(fbuf), &id);
	ap_frame_parse(fbuf, (size_t)n, &f);
	n = disp_control(&f, &ops, &calls, out, sizeof(out), &after);
	cr_assert_gt(n, 0);
	ap_frame_parse(out, (size_t)n, &af);
	cr_assert_eq(ap_decode_ack(&af, &ack), 0);
	cr_assert(ack.req_type == AP_IDENTITY && ack.req_id == 3 && ack.status == -EINVAL);
	cr_assert_str_eq(ack.message, "nope");
	cr_assert_eq(after, CTL_AFTER_NONE);
	cr_assert_eq(calls, 1);

	n = ap_encode_shutdown(fbuf, sizeof(fbuf), &sd);
	ap_frame_parse(fbuf, (size_t)n, &f);
	n = disp_control(&f, &ops, &calls, out, sizeof(out), &after);
	ap_frame_parse(out, (size_t)n, &af);
	cr_assert_eq(ap_decode_ack(&af, &ack), 0);
	cr_assert(ack.req_type == AP_SHUTDOWN && ack.req_id == 4 && ack.status == 0);
	cr_assert_eq(after, CTL_AFTER_REBOOT);

	/* malformed: MODE 7; the ACK still names REQ_ID 4 */
	n = ap_encode_data(
		fbuf, sizeof(fbuf), AP_SHUTDOWN,
		(const uint8_t[]){ AP_T_REQ_ID, 0, 4, 0, 4, 0, 0, 0, AP_T_MODE, 0, 1, 0, 7 }, 13);
	ap_frame_parse(fbuf, (size_t)n, &f);
	n = disp_control(&f, &ops, &calls, out, sizeof(out), &after);
	ap_frame_parse(out, (size_t)n, &af);
	cr_assert_eq(ap_decode_ack(&af, &ack), 0);
	cr_assert(ack.req_id == 4 && ack.status == -EPROTO);
	cr_assert_eq(after, CTL_AFTER_NONE);

	/* agent-to-host types are not requests */
	n = ap_encode_started(fbuf, sizeof(fbuf), 1);
	ap_frame_parse(fbuf, (size_t)n, &f);
	cr_assert_eq(disp_control(&f, &ops, &calls, out, sizeof(out), &after), 0);
}

Test(agent_dispatch, rbuf_reassembly)
{
	static struct ap_rbuf rb;
	struct ap_frame f;
	uint8_t stream[64];
	size_t room, len = 0;
	long n;

	n = ap_encode_signal(stream, sizeof(stream), 9);
	len += (size_t)n;
	n = ap_encode_data(stream + len, sizeof(stream) - len, AP_STDIN, "abc", 3);
	len += (size_t)n;
	ap_rbuf_init(&rb);
	/* one byte at a time */
	int frames = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t *dst = ap_rbuf_space(&rb, &room);

		cr_assert_geq(room, 1);
		*dst = stream[i];
		ap_rbuf_fill(&rb, 1);
		while (ap_rbuf_next(&rb, &f) == 1)
			frames++;
	}
	cr_assert_eq(frames, 2);
	cr_assert_eq(f.type, AP_STDIN);
	cr_assert_eq(memcmp(f.payload, "abc", 3), 0);
	/* a bad header */
	uint8_t *dst = ap_rbuf_space(&rb, &room);
	memset(dst, 0xff, 8);
	ap_rbuf_fill(&rb, 8);
	cr_assert_eq(ap_rbuf_next(&rb, &f), -EPROTO);
}
