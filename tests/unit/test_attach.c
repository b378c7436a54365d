// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: `clone attach` (src/cli/attach.c): argument parsing, the
 * Ctrl-Q scanner, and the relay loop on a socketpair (the "VMM" end) and
 * pipes (the "terminal"), run in a thread of its own.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/attach.h"
#include "cli/cli.h"
#include "lib/err.h"

#define TIMEOUT_MS 10000

static int parse(struct attach_opts *o, int argc, ...)
{
	char *argv[8];
	va_list ap;

	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;
	return attach_parse(argc, argv, o);
}

Test(attach_parse, name)
{
	struct attach_opts o;

	cr_assert_eq(parse(&o, 2, "attach", "web-1"), 0);
	cr_assert_str_eq(o.name, "web-1");
}

Test(attach_parse, help)
{
	struct attach_opts o;

	cr_assert_eq(parse(&o, 2, "attach", "-h"), CLI_HELP_SHOWN);
	cr_assert_eq(parse(&o, 2, "attach", "--help"), CLI_HELP_SHOWN);
}

Test(attach_parse, errors)
{
	struct attach_opts o;

	cr_assert_eq(parse(&o, 1, "attach"), -EINVAL);
	cr_assert_not_null(strstr(err_msg(), "which VM"));
	cr_assert_eq(parse(&o, 3, "attach", "a", "b"), -EINVAL);
	cr_assert_not_null(strstr(err_msg(), "'b'"));
	cr_assert_eq(parse(&o, 3, "attach", "--bogus", "a"), -EINVAL);
	cr_assert_not_null(strstr(err_msg(), "--bogus"));
	cr_assert_eq(parse(&o, 3, "attach", "-x", "a"), -EINVAL);
	cr_assert_not_null(strstr(err_msg(), "-x"));
	cr_assert_eq(parse(&o, 2, "attach", "../etc"), -EINVAL);
	cr_assert_eq(parse(&o, 2, "attach", ""), -EINVAL);
}

Test(attach_scan, no_key)
{
	bool d = true;

	cr_assert_eq(attach_scan_input((const uint8_t *)"ls -l\r", 6, &d), 6);
	cr_assert_not(d);
	cr_assert_eq(attach_scan_input((const uint8_t *)"", 0, &d), 0);
	cr_assert_not(d);
}

Test(attach_scan, key_splits)
{
	bool d = false;

	cr_assert_eq(attach_scan_input((const uint8_t *)"ab\x11"
							"cd",
				       5, &d),
		     2);
	cr_assert(d);
	d = false;
	cr_assert_eq(attach_scan_input((const uint8_t *)"\x11", 1, &d), 0);
	cr_assert(d);
	d = false;
	/* Binary-safe: NULs and other control bytes are data, the first Ctrl-Q wins. */
	cr_assert_eq(attach_scan_input((const uint8_t *)"\0\x01\x13\x11\x11", 5, &d), 3);
	cr_assert(d);
}

/* The relay in a thread: vm = the VMM's end, in_w = typing, out_r = the screen. */
struct relay {
	pthread_t t;
	int sock, vm, in_r, in_w, out_r, out_w, sig_r, sig_w;
	int ret, signo;
};

static void *relay_main(void *arg)
{
	struct relay *r = arg;

	r->ret = attach_relay(r->sock, r->in_r, r->out_w, r->sig_r, &r->signo);
	return NULL;
}

static void relay_start(struct relay *r)
{
	int sv[2], p[2];

	memset(r, 0, sizeof(*r));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	r->sock = sv[0];
	r->vm = sv[1];
	fcntl(r->sock, F_SETFL, O_NONBLOCK);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	r->in_r = p[0];
	r->in_w = p[1];
	cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	r->out_r = p[0];
	r->out_w = p[1];
	fcntl(r->out_r, F_SETFL, 0);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	r->sig_r = p[0];
	r->sig_w = p[1];
	cr_assert_eq(pthread_create(&r->t, NULL, relay_main, r), 0);
}

static void closefd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Wait for the relay to end; close every fd not already closed by the test. */
static int relay_join(struct relay *r)
{
	pthread_join(r->t, NULL);
	closefd(&r->sock);
	closefd(&r->vm);
	closefd(&r->in_r);
	closefd(&r->in_w);
	closefd(&r->out_r);
	closefd(&r->out_w);
	closefd(&r->sig_r);
	closefd(&r->sig_w);
	return r->ret;
}

static void expect(int fd, const char *s)
{
	size_t n = strlen(s), got = 0;
	char buf[256];

	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;

		cr_assert_eq(poll(&p, 1, TIMEOUT_MS), 1, "waiting for '%s'", s);
		k = read(fd, buf + got, n - got);
		cr_assert_gt(k, 0);
		got += (size_t)k;
	}
	cr_assert_arr_eq(buf, s, n);
}

static void put(int fd, const void *p, size_t n)
{
	cr_assert_eq(write(fd, p, n), (ssize_t)n);
}

Test(attach_relay, both_ways_then_ctrl_q_detaches)
{
	struct relay r;

	relay_start(&r);
	put(r.vm, "login: ", 7);
	expect(r.out_r, "login: ");
	put(r.in_w, "root\r", 5);
	expect(r.vm, "root\r");
	/* Binary data both ways. */
	put(r.vm, "\0\xff\r\n", 4);
	expect(r.out_r, "\0\xff\r\n");
	put(r.in_w, "\0\x13", 2);
	expect(r.vm, "\0\x13");
	put(r.in_w, "\x11", 1);
	cr_assert_eq(relay_join(&r), ATTACH_DETACHED);
}

Test(attach_relay, bytes_before_ctrl_q_are_sent_not_the_key)
{
	struct relay r;
	char buf[8];
	int vm;

	relay_start(&r);
	vm = dup(r.vm);
	put(r.in_w,
	    "ab\x11"
	    "cd",
	    5);
	cr_assert_eq(relay_join(&r), ATTACH_DETACHED);
	/* Everything else is closed now: what the VMM got is all it will get. */
	cr_assert_eq(read(vm, buf, sizeof(buf)), 2);
	cr_assert_arr_eq(buf, "ab", 2);
	cr_assert_eq(read(vm, buf, sizeof(buf)), 0);
	close(vm);
}

Test(attach_relay, eof_on_stdin_keeps_output_until_the_vm_ends)
{
	struct relay r;

	relay_start(&r);
	put(r.in_w, "poweroff\r", 9);
	closefd(&r.in_w);
	expect(r.vm, "poweroff\r");
	put(r.vm, "reboot: Power down\r\n", 20);
	expect(r.out_r, "reboot: Power down\r\n");
	closefd(&r.vm);
	cr_assert_eq(relay_join(&r), ATTACH_STOPPED);
}

Test(attach_relay, output_is_flushed_before_stopped)
{
	static char big[200000];
	struct relay r;
	size_t got = 0;
	char buf[4096];

	memset(big, 'q', sizeof(big));
	relay_start(&r);
	/* More than the pipe holds: the relay has to wait for the screen. */
	for (size_t off = 0; off < sizeof(big);) {
		ssize_t n = write(r.vm, big + off, sizeof(big) - off);

		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = r.out_r, .events = POLLIN };

			cr_assert_eq(poll(&p, 1, TIMEOUT_MS), 1);
			got += (size_t)read(r.out_r, buf, sizeof(buf));
			continue;
		}
		cr_assert_gt(n, 0);
		off += (size_t)n;
	}
	closefd(&r.vm);
	while (got < sizeof(big)) {
		struct pollfd p = { .fd = r.out_r, .events = POLLIN };
		ssize_t n;

		cr_assert_eq(poll(&p, 1, TIMEOUT_MS), 1, "stuck at %zu", got);
		n = read(r.out_r, buf, sizeof(buf));
		cr_assert_gt(n, 0);
		got += (size_t)n;
	}
	cr_assert_eq(got, sizeof(big));
	cr_assert_eq(relay_join(&r), ATTACH_STOPPED);
}

Test(attach_relay, signal_ends_it)
{
	struct signalfd_siginfo si = { .ssi_signo = SIGTERM };
	struct relay r;

	relay_start(&r);
	put(r.sig_w, &si, sizeof(si));
	cr_assert_eq(relay_join(&r), ATTACH_SIGNALLED);
	cr_assert_eq(r.signo, SIGTERM);
}

Test(attach_relay, closed_stdout_ends_it)
{
	struct relay r;

	relay_start(&r);
	put(r.vm, "x", 1);
	expect(r.out_r, "x");
	/* `clone attach vm | head -c 1`: nothing more to write, yet we notice. */
	closefd(&r.out_r);
	cr_assert_eq(relay_join(&r), -EPIPE);
}
