// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: the console socket (src/vmm/console.c).  A real console, a
 * real UART (src/devices/serial.c) and a real event loop running in its own
 * thread; the test thread plays the vCPU (console_output, reading RBR) and
 * the attached clients (plain AF_UNIX sockets).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devices/serial.h"
#include "lib/util.h"
#include "vmm/console.h"
#include "vmm/evloop.h"

#define RBR 0
#define LSR 5
#define LSR_DR 0x01
#define TIMEOUT_MS 10000

static struct evloop loop;
static struct console con;
static struct serial *ser;
static pthread_t loop_thread;
static bool loop_running;
static char dir[64], path[128];
static int quit_calls;

static void irq_set(void *opaque, unsigned gsi, int level)
{
}

static void on_quit(void *opaque)
{
	quit_calls++;
}

static void *loop_main(void *arg)
{
	evl_run(&loop);
	return NULL;
}

static void start(enum serial_mode mode, const char *file)
{
	const struct irq_line line = { irq_set, NULL, 4 };

	strcpy(dir, "/tmp/clone-console-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vm.console", dir);
	quit_calls = 0;
	cr_assert_eq(evl_init(&loop), 0);
	cr_assert_eq(console_open(&con, mode, file), 0);
	cr_assert_eq(serial_create(&line, console_output, &con, &ser), 0);
	serial_set_rx_ready(ser, console_rx_ready, &con);
	cr_assert_eq(console_attach(&con, &loop, ser, on_quit, NULL), 0);
	cr_assert_eq(console_listen(&con, path), 0);
	cr_assert_eq(pthread_create(&loop_thread, NULL, loop_main, NULL), 0);
	loop_running = true;
}

static void stop_loop(void)
{
	if (loop_running) {
		evl_stop(&loop);
		pthread_join(loop_thread, NULL);
		loop_running = false;
	}
}

static void setup(void)
{
	start(SERIAL_NONE, NULL);
}

static void teardown(void)
{
	stop_loop();
	console_close(&con);
	serial_destroy(ser);
	evl_destroy(&loop);
	cr_assert_eq(access(path, F_OK), -1, "console_close() leaves the socket behind");
	rmdir(dir);
}

static void out(const void *p, size_t len)
{
	console_output(&con, p, len);
}

static void outs(const char *s)
{
	out(s, strlen(s));
}

static int client(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	strcpy(sa.sun_path, path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s",
		     strerror(errno));
	return fd;
}

/* Read exactly n bytes (fails the test on EOF or after TIMEOUT_MS of silence). */
static void read_exact(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		cr_assert_eq(poll(&p, 1, TIMEOUT_MS), 1, "no data after %zu of %zu bytes", got, n);
		r = read(fd, (char *)buf + got, n - got);
		cr_assert_gt(r, 0, "EOF or error after %zu of %zu bytes", got, n);
		got += (size_t)r;
	}
}

static void expect(int fd, const char *s)
{
	char buf[256];

	cr_assert_lt(strlen(s), sizeof(buf));
	read_exact(fd, buf, strlen(s));
	cr_assert_arr_eq(buf, s, strlen(s));
}

/* Read until EOF into a malloc'ed buffer. */
static char *read_all(int fd, size_t *len)
{
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap + 1);

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		cr_assert_eq(poll(&p, 1, TIMEOUT_MS), 1, "no EOF");
		if (n == cap)
			buf = realloc(buf, (cap *= 2) + 1);
		r = read(fd, buf + n, cap - n);
		cr_assert_geq(r, 0);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

static void wait_for(bool (*cond)(void), const char *what)
{
	for (int i = 0; i < TIMEOUT_MS; i++) {
		if (cond())
			return;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	cr_assert_fail("timed out waiting for %s", what);
}

static size_t want_space;

static bool rx_space_is(void)
{
	return serial_rx_space(ser) == want_space;
}

static unsigned want_clients;

static bool clients_are(void)
{
	return console_nr_clients(&con) == want_clients;
}

static int rbr(void)
{
	uint8_t lsr = 0, b = 0;

	serial_bus_ops.read(ser, LSR, &lsr, 1);
	if (!(lsr & LSR_DR))
		return -1;
	serial_bus_ops.read(ser, RBR, &b, 1);
	return b;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	cr_assert_not_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

TestSuite(console, .init = setup, .fini = teardown);

Test(console, socket_is_private)
{
	struct stat st;

	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
}

Test(console, client_gets_scrollback_then_live_output)
{
	int fd;

	outs("login: ");
	fd = client();
	expect(fd, "login: ");
	outs("root\r\n# ");
	expect(fd, "root\r\n# ");
	close(fd);
}

Test(console, scrollback_is_the_last_16k)
{
	static uint8_t data[20000], got[CONSOLE_SCROLLBACK];
	int fd;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + i / 251);
	/* Byte by byte, as the UART calls it. */
	for (size_t i = 0; i < sizeof(data); i++)
		out(&data[i], 1);
	fd = client();
	read_exact(fd, got, sizeof(got));
	cr_assert_arr_eq(got, data + sizeof(data) - sizeof(got), sizeof(got));
	outs("live");
	expect(fd, "live");
	close(fd);
}

Test(console, two_clients_both_receive)
{
	int a, b;

	outs("# ");
	a = client();
	b = client();
	expect(a, "# ");
	expect(b, "# ");
	outs("hello\r\n");
	expect(a, "hello\r\n");
	expect(b, "hello\r\n");
	close(a);
	close(b);
}

Test(console, client_input_reaches_the_uart)
{
	int fd = client();
	char got[4] = { 0 };

	cr_assert_eq(write(fd, "ls\n", 3), 3);
	want_space = SERIAL_RX_SIZE - 3;
	wait_for(rx_space_is, "input in the UART");
	for (int i = 0; i < 3; i++)
		got[i] = (char)rbr();
	cr_assert_str_eq(got, "ls\n");
	cr_assert_eq(rbr(), -1);
	close(fd);
}

Test(console, client_cannot_quit_the_vm)
{
	int fd = client();

	/* Ctrl-A x is the VMM's own escape; from a client it is two plain bytes. */
	cr_assert_eq(write(fd, "\x01x", 2), 2);
	want_space = SERIAL_RX_SIZE - 2;
	wait_for(rx_space_is, "input in the UART");
	cr_assert_eq(quit_calls, 0);
	cr_assert_eq(rbr(), 0x01);
	cr_assert_eq(rbr(), 'x');
	close(fd);
}

Test(console, client_input_is_flow_controlled)
{
	static uint8_t data[3 * SERIAL_RX_SIZE + 123];
	int a = client(), b = client();
	size_t got = 0;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i % 251);
	cr_assert_eq(write(a, data, sizeof(data)), (ssize_t)sizeof(data));
	want_space = 0;
	wait_for(rx_space_is, "a full UART");
	{
		/* Paused, not polling: the loop thread sleeps while the UART is full. */
		clockid_t clk;
		struct timespec t0, t1;
		uint64_t used;

		cr_assert_eq(pthread_getcpuclockid(loop_thread, &clk), 0);
		clock_gettime(clk, &t0);
		nanosleep(&(struct timespec){ .tv_nsec = 200000000 }, NULL);
		clock_gettime(clk, &t1);
		used = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ull + (uint64_t)t1.tv_nsec -
		       (uint64_t)t0.tv_nsec;
		cr_assert_lt(used, 50000000ull, "the loop spun for %llu ms of 200",
			     (unsigned long long)(used / 1000000));
	}
	/* Full: the rest waits in the console and the socket, nothing is lost. */
	while (got < sizeof(data)) {
		int ch = rbr();

		if (ch < 0) {
			/* The loop refills the UART after rx-ready; wait for it. */
			want_space = SERIAL_RX_SIZE;
			for (int i = 0; i < TIMEOUT_MS && (ch = rbr()) < 0; i++)
				nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
			cr_assert_geq(ch, 0, "input stalled after %zu of %zu bytes", got,
				      sizeof(data));
		}
		cr_assert_eq(ch, data[got], "byte %zu", got);
		got++;
	}
	/* Input from the second client still flows afterwards. */
	cr_assert_eq(write(b, "ok", 2), 2);
	want_space = SERIAL_RX_SIZE - 2;
	wait_for(rx_space_is, "input from the second client");
	cr_assert_eq(rbr(), 'o');
	cr_assert_eq(rbr(), 'k');
	close(a);
	close(b);
}

Test(console, slow_client_never_blocks_the_guest)
{
	static uint8_t chunk[64 * 1024];
	const size_t total = 32 * MiB;
	uint64_t t0, dt;
	size_t n;
	char *all;
	int fd;

	outs("x");
	fd = client();
	expect(fd, "x"); /* registered; from now on it never reads */
	memset(chunk, 'a', sizeof(chunk));
	t0 = monotonic_ns();
	for (size_t done = 0; done < total; done += sizeof(chunk))
		out(chunk, sizeof(chunk));
	for (int i = 0; i < 100000; i++)
		out("b", 1);
	dt = monotonic_ns() - t0;
	cr_assert_lt(dt, 3000000000ull, "console_output() took %llu ms for 32 MiB",
		     (unsigned long long)(dt / 1000000));
	cr_assert_eq(console_nr_clients(&con), 1, "the slow client is kept");
	outs("THE-END");
	{
		/* Drain until the marker. */
		size_t cap = 2 * CONSOLE_CLIENT_BUF + (1 << 20), len = 0;

		all = malloc(cap + 1);
		while (len < 7 || memcmp(all + len - 7, "THE-END", 7)) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			ssize_t r;

			cr_assert_eq(poll(&p, 1, TIMEOUT_MS), 1, "no THE-END");
			cr_assert_lt(len, cap, "more than the bounded buffer arrived");
			r = read(fd, all + len, cap - len);
			cr_assert_gt(r, 0);
			len += (size_t)r;
		}
		all[len] = 0;
		n = len;
	}
	cr_assert_lt(n, 2 * CONSOLE_CLIENT_BUF, "got %zu bytes", n);
	cr_assert_not_null(strstr(all, "bytes of console output dropped]"));
	/* The newest output survived: the 'b's right before the marker. */
	cr_assert_eq(all[n - 8], 'b');
	free(all);
	close(fd);
}

Test(console, half_closed_client_still_gets_output)
{
	int fd = client();

	outs("1");
	expect(fd, "1");
	shutdown(fd, SHUT_WR);
	outs("2");
	expect(fd, "2");
	close(fd);
}

Test(console, disconnected_clients_are_cleaned_up)
{
	int fds[3], before = count_fds();

	outs("x");
	for (int i = 0; i < 3; i++) {
		fds[i] = client();
		expect(fds[i], "x");
	}
	cr_assert_eq(console_nr_clients(&con), 3);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	want_clients = 0;
	wait_for(clients_are, "no clients");
	cr_assert_eq(count_fds(), before, "fd leak");
	/* Output with nobody attached still works and feeds the scrollback. */
	outs("y");
	fds[0] = client();
	expect(fds[0], "xy");
	close(fds[0]);
}

Test(console, clients_beyond_16_are_refused_with_a_message)
{
	int fds[CONSOLE_MAX_CLIENTS], extra;
	size_t n;
	char *msg;

	outs("x");
	for (int i = 0; i < CONSOLE_MAX_CLIENTS; i++) {
		fds[i] = client();
		expect(fds[i], "x");
	}
	extra = client();
	msg = read_all(extra, &n);
	cr_assert_not_null(strstr(msg, "too many clients"), "got '%s'", msg);
	cr_assert_eq(msg[n - 1], '\n');
	free(msg);
	close(extra);
	cr_assert_eq(console_nr_clients(&con), CONSOLE_MAX_CLIENTS);
	/* The others are unaffected. */
	outs("z");
	for (int i = 0; i < CONSOLE_MAX_CLIENTS; i++) {
		expect(fds[i], "z");
		close(fds[i]);
	}
}

Test(console, other_users_are_refused)
{
	pid_t pid;
	int status;

	if (geteuid() != 0)
		cr_skip_test("needs root to connect as another uid");
	outs("secret");
	/* Open the way in so that only the SO_PEERCRED check stands. */
	cr_assert_eq(chmod(dir, 0755), 0);
	cr_assert_eq(chmod(path, 0666), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char buf[16];
		ssize_t r;
		int fd;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(3);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		strcpy(sa.sun_path, path);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(2);
		r = read(fd, buf, sizeof(buf)); /* EOF, without the scrollback */
		_exit(r == 0 ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0, "child exit %d (1: it got data)", WEXITSTATUS(status));
	cr_assert_eq(console_nr_clients(&con), 0);
}

Test(console, close_hangs_up_clients)
{
	int fd = client();
	size_t n;
	char *rest;

	outs("bye");
	expect(fd, "bye");
	stop_loop();
	/* Printed after the loop stopped (the guest's last words): still delivered. */
	outs("reboot: Power down\r\n");
	console_close(&con);
	rest = read_all(fd, &n);
	cr_assert_str_eq(rest, "reboot: Power down\r\n");
	free(rest);
	close(fd);
	/* teardown: console_close() again must be harmless */
}

/* Detached mode: guest output goes to the log file and to the socket; no stdin. */
Test(console_detached, log_file_and_socket)
{
	char log[160], buf[64] = { 0 };
	int fd, lfd;

	start(SERIAL_NONE, NULL);
	stop_loop();
	console_close(&con);
	serial_destroy(ser);
	evl_destroy(&loop);
	rmdir(dir);

	strcpy(dir, "/tmp/clone-console-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/vm.log", dir);
	{
		const struct irq_line line = { irq_set, NULL, 4 };

		snprintf(path, sizeof(path), "%s/vm.console", dir);
		cr_assert_eq(evl_init(&loop), 0);
		cr_assert_eq(console_open(&con, SERIAL_FILE, log), 0);
		cr_assert_eq(con.in_fd, -1);
		/* Listening before attaching works too. */
		cr_assert_eq(console_listen(&con, path), 0);
		cr_assert_eq(serial_create(&line, console_output, &con, &ser), 0);
		cr_assert_eq(console_attach(&con, &loop, ser, on_quit, NULL), 0);
		cr_assert_eq(pthread_create(&loop_thread, NULL, loop_main, NULL), 0);
		loop_running = true;
	}
	outs("booting\n");
	fd = client();
	expect(fd, "booting\n");
	outs("ready\n");
	expect(fd, "ready\n");
	lfd = open(log, O_RDONLY);
	cr_assert_geq(lfd, 0);
	cr_assert_eq(read(lfd, buf, sizeof(buf) - 1), 14);
	cr_assert_str_eq(buf, "booting\nready\n");
	close(lfd);
	close(fd);
	stop_loop();
	console_close(&con);
	serial_destroy(ser);
	evl_destroy(&loop);
	cr_assert_eq(access(path, F_OK), -1);
	unlink(log);
	rmdir(dir);
}

Test(console_detached, stale_socket_is_replaced_but_not_a_file)
{
	struct console c;
	char p[128];
	int fd;

	strcpy(dir, "/tmp/clone-console-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/vm.console", dir);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	close(fd);
	cr_assert_eq(console_open(&c, SERIAL_NONE, NULL), 0);
	cr_assert_eq(console_listen(&c, p), -EEXIST);
	unlink(p);
	/* A socket left by a dead VM is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		strcpy(sa.sun_path, p);
		cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	close(fd);
	cr_assert_eq(console_listen(&c, p), 0);
	console_close(&c);
	cr_assert_eq(access(p, F_OK), -1);
	rmdir(dir);
}
