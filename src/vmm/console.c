// SPDX-License-Identifier: Apache-2.0
/*
 * Host console plumbing for the UART (see console.h).  console_output()
 * runs on vCPU threads (one write(2) per call, so no lock is needed);
 * input handling runs on the event-loop thread.  The saved terminal state
 * is process-global because a process has one controlling terminal and the
 * fatal-signal handler must be able to restore it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "devices/serial.h"
#include "evloop.h"
#include "lib/err.h"
#define LOG_TAG "console"
#include "lib/log.h"
#include "lib/util.h"

#define CTRL_A 0x01

static struct termios saved_termios;
static volatile int saved_termios_fd = -1;

void console_restore_terminal(void)
{
	int fd = saved_termios_fd;

	if (fd >= 0) {
		tcsetattr(fd, TCSANOW, &saved_termios);
		saved_termios_fd = -1;
	}
}

static int make_raw(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &saved_termios) < 0)
		return err_set(-errno, "tcgetattr");
	t = saved_termios;
	cfmakeraw(&t);
	/* Keep output post-processing: the host terminal still wants \n → \r\n for our own logs. */
	t.c_oflag |= OPOST | ONLCR;
	saved_termios_fd = fd;
	if (tcsetattr(fd, TCSANOW, &t) < 0) {
		saved_termios_fd = -1;
		return err_set(-errno, "tcsetattr");
	}
	return 0;
}

int console_open(struct console *c, enum serial_mode mode, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->in_fd = c->out_fd = c->wake_fd = -1;
	switch (mode) {
	case SERIAL_STDIO:
		c->in_fd = STDIN_FILENO;
		c->out_fd = STDOUT_FILENO;
		if (isatty(STDIN_FILENO)) {
			int ret = make_raw(STDIN_FILENO);

			if (ret)
				return ret;
			c->raw = true;
		}
		break;
	case SERIAL_FILE:
		c->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0644);
		if (c->out_fd < 0)
			return err_set(-errno, "--serial file=%s", path);
		c->own_out = true;
		break;
	case SERIAL_NONE:
		break;
	}
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake_fd < 0) {
		int ret = err_set(-errno, "eventfd");

		console_close(c);
		return ret;
	}
	return 0;
}

void console_output(void *opaque, const uint8_t *buf, size_t len)
{
	struct console *c = opaque;

	if (c->out_fd >= 0 && write_full(c->out_fd, buf, len) < 0)
		log_warn_rl("console output: %s", strerror(errno));
}

/* Push pending input into the UART; pause stdin while the UART is full. */
static void flush_pending(struct console *c)
{
	while (c->pending_off < c->pending_len) {
		size_t n = serial_input(c->serial, c->pending + c->pending_off,
					c->pending_len - c->pending_off);

		if (!n)
			break;
		c->pending_off += n;
	}
	if (c->pending_off == c->pending_len) {
		c->pending_off = c->pending_len = 0;
		if (c->in_paused && c->in_fd >= 0 && evl_mod(c->loop, c->in_fd, EPOLLIN) == 0)
			c->in_paused = false;
	} else if (!c->in_paused && c->in_fd >= 0) {
		if (evl_mod(c->loop, c->in_fd, 0) == 0)
			c->in_paused = true;
	}
}

/* Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A anything-else sends both. */
static size_t filter_escape(struct console *c, const uint8_t *in, size_t n, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t ch = in[i];

		if (c->escape) {
			c->escape = false;
			if (ch == 'x' || ch == 'X') {
				if (c->quit)
					c->quit(c->quit_opaque);
				return o;
			}
			if (ch != CTRL_A)
				out[o++] = CTRL_A;
			out[o++] = ch;
		} else if (ch == CTRL_A && c->raw) {
			c->escape = true;
		} else {
			out[o++] = ch;
		}
	}
	return o;
}

static void on_input(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint8_t buf[sizeof(c->pending) / 2];
	ssize_t n;

	if (c->pending_len)
		return;
	n = read(c->in_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF or error: the guest keeps running without input. */
		evl_del(c->loop, c->in_fd);
		c->in_fd = -1;
		return;
	}
	c->pending_len = filter_escape(c, buf, (size_t)n, c->pending);
	c->pending_off = 0;
	flush_pending(c);
}

static void on_wake(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint64_t v;

	(void)!read(c->wake_fd, &v, sizeof(v));
	flush_pending(c);
}

void console_rx_ready(void *opaque)
{
	struct console *c = opaque;
	uint64_t one = 1;

	(void)!write(c->wake_fd, &one, sizeof(one));
}

int console_attach(struct console *c, struct evloop *loop, struct serial *serial,
		   void (*quit)(void *opaque), void *opaque)
{
	int ret;

	c->loop = loop;
	c->serial = serial;
	c->quit = quit;
	c->quit_opaque = opaque;
	ret = evl_add(loop, c->wake_fd, EPOLLIN, on_wake, c);
	if (ret)
		return ret;
	if (c->in_fd >= 0) {
		ret = evl_add(loop, c->in_fd, EPOLLIN, on_input, c);
		if (ret == -EPERM) {
			/* A regular file or /dev/null cannot be polled: no console input. */
			c->in_fd = -1;
			ret = 0;
		}
	}
	return ret;
}

void console_close(struct console *c)
{
	if (c->raw)
		console_restore_terminal();
	c->raw = false;
	if (c->own_out && c->out_fd >= 0)
		close(c->out_fd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	c->out_fd = c->wake_fd = -1;
}
