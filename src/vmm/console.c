// SPDX-License-Identifier: Apache-2.0
/*
 * Host console plumbing for the UART (see console.h).  console_output()
 * runs on vCPU threads: one write(2) to stdout or the log file, then, under
 * c->lock, an append to the scrollback ring and to every socket client's
 * output ring (never a socket write: the event loop flushes the rings, woken
 * through wake_fd once per batch).  Input (stdin and clients), the listener
 * and client sockets are handled on the event-loop thread; the client list
 * changes only there, under c->lock.  The saved terminal state is
 * process-global because a process has one controlling terminal and the
 * fatal-signal handler must be able to restore it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "devices/serial.h"
#include "evloop.h"
#include "lib/err.h"
#define LOG_TAG "console"
#include "lib/log.h"
#include "lib/usock.h"
#include "lib/util.h"

#define CTRL_A 0x01
#define CLIENT_READ 128 /* half of c->pending, like stdin */

struct console_client {
	struct console *con;
	int fd;
	uint32_t events; /* as registered with the loop (loop thread) */
	bool in_eof;	 /* the peer shut down its writing side (loop thread) */
	/* Under con->lock: */
	uint64_t head, tail; /* bytes queued / sent, ever; buf[x % CONSOLE_CLIENT_BUF] */
	uint64_t dropped;    /* bytes lost since the last notice */
	char notice[80];
	size_t notice_len, notice_off;
	uint8_t buf[CONSOLE_CLIENT_BUF];
};

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

int console_raw_terminal(int fd, bool keep_opost)
{
	struct termios t;

	if (tcgetattr(fd, &saved_termios) < 0)
		return err_set(-errno, "tcgetattr");
	t = saved_termios;
	cfmakeraw(&t);
	/* The VMM keeps \n → \r\n: the host terminal still shows our own log lines. */
	if (keep_opost)
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
	int ret;

	memset(c, 0, sizeof(*c));
	c->in_fd = c->out_fd = c->wake_fd = c->listen_fd = -1;
	ret = -pthread_mutex_init(&c->lock, NULL);
	if (ret)
		return err_set(ret, "console lock");
	c->inited = true;
	switch (mode) {
	case SERIAL_STDIO:
		c->in_fd = STDIN_FILENO;
		c->out_fd = STDOUT_FILENO;
		if (isatty(STDIN_FILENO)) {
			ret = console_raw_terminal(STDIN_FILENO, true);
			if (ret)
				goto fail;
			c->raw = true;
		}
		break;
	case SERIAL_FILE:
		/* Detached VMs (clone run -d) log here; there is no stdin in this mode. */
		c->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0644);
		if (c->out_fd < 0) {
			ret = err_set(-errno, "--serial file=%s", path);
			goto fail;
		}
		c->own_out = true;
		break;
	case SERIAL_NONE:
		break;
	}
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake_fd < 0) {
		ret = err_set(-errno, "eventfd");
		goto fail;
	}
	return 0;
fail:
	console_close(c);
	return ret;
}

/* Append to a ring of size cap whose write position is *total (under c->lock). */
static void ring_put(uint8_t *ring, size_t cap, uint64_t *total, const uint8_t *p, size_t len)
{
	if (len > cap) {
		*total += len - cap;
		p += len - cap;
		len = cap;
	}
	while (len) {
		size_t off = *total % cap;
		size_t n = MIN(len, cap - off);

		memcpy(ring + off, p, n);
		*total += n;
		p += n;
		len -= n;
	}
}

/* Queue output for one client, dropping its oldest bytes beyond the ring (under c->lock). */
static void client_put(struct console_client *cl, const uint8_t *p, size_t len)
{
	ring_put(cl->buf, sizeof(cl->buf), &cl->head, p, len);
	if (cl->head - cl->tail > sizeof(cl->buf)) {
		cl->dropped += cl->head - cl->tail - sizeof(cl->buf);
		cl->tail = cl->head - sizeof(cl->buf);
	}
}

void console_output(void *opaque, const uint8_t *buf, size_t len)
{
	struct console *c = opaque;
	bool kick = false;

	if (c->out_fd >= 0 && write_full(c->out_fd, buf, len) < 0)
		log_warn_rl("console output: %s", strerror(errno));
	pthread_mutex_lock(&c->lock);
	ring_put(c->scrollback, sizeof(c->scrollback), &c->sb_total, buf, len);
	for (unsigned i = 0; i < c->nr_clients; i++)
		client_put(c->clients[i], buf, len);
	if (c->nr_clients && !c->out_kicked) {
		c->out_kicked = true;
		kick = true;
	}
	pthread_mutex_unlock(&c->lock);
	if (kick) {
		uint64_t one = 1;

		(void)!write(c->wake_fd, &one, sizeof(one));
	}
}

unsigned console_nr_clients(struct console *c)
{
	unsigned n;

	pthread_mutex_lock(&c->lock);
	n = c->nr_clients;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/*
 * Send what the client has queued without blocking (loop thread, under
 * c->lock).  1: more is queued (wait for EPOLLOUT), 0: all sent, -errno:
 * the client is gone.
 */
static int client_flush(struct console_client *cl)
{
	for (;;) {
		const uint8_t *p;
		size_t n;
		ssize_t w;

		if (cl->notice_off < cl->notice_len) {
			p = (const uint8_t *)cl->notice + cl->notice_off;
			n = cl->notice_len - cl->notice_off;
		} else if (cl->dropped) {
			/* The gap is right before tail: say so where it happened. */
			int k = snprintf(cl->notice, sizeof(cl->notice),
					 "\r\n[clone: %llu bytes of console output dropped]\r\n",
					 (unsigned long long)cl->dropped);

			cl->notice_len = (size_t)MIN(k, (int)sizeof(cl->notice) - 1);
			cl->notice_off = 0;
			cl->dropped = 0;
			continue;
		} else if (cl->head != cl->tail) {
			size_t off = cl->tail % sizeof(cl->buf);

			p = cl->buf + off;
			n = (size_t)MIN(cl->head - cl->tail, (uint64_t)(sizeof(cl->buf) - off));
		} else {
			return 0;
		}
		w = send(cl->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			return -errno;
		}
		if (cl->notice_off < cl->notice_len)
			cl->notice_off += (size_t)w;
		else
			cl->tail += (uint64_t)w;
	}
}

/* Register what the client should wake us for (loop thread). */
static void client_set_events(struct console_client *cl, bool want_out)
{
	struct console *c = cl->con;
	uint32_t ev = (want_out ? EPOLLOUT : 0) | (c->in_paused || cl->in_eof ? 0 : EPOLLIN);

	if (ev != cl->events && evl_mod(c->loop, cl->fd, ev) == 0)
		cl->events = ev;
}

static void client_close(struct console_client *cl)
{
	struct console *c = cl->con;

	if (c->loop)
		evl_del(c->loop, cl->fd);
	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < c->nr_clients; i++) {
		if (c->clients[i] == cl) {
			c->clients[i] = c->clients[--c->nr_clients];
			c->clients[c->nr_clients] = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	close(cl->fd);
	free(cl);
	log_debug("console client left");
	/* A slot (and an fd) is free again: accept() may have been paused on EMFILE. */
	if (c->listen_fd >= 0 && c->listen_added)
		evl_mod(c->loop, c->listen_fd, EPOLLIN);
}

/* Stop or resume reading every input source (stdin and clients). */
static void set_inputs_paused(struct console *c, bool paused)
{
	if (c->in_paused == paused)
		return;
	c->in_paused = paused;
	if (c->in_fd >= 0)
		evl_mod(c->loop, c->in_fd, paused ? 0 : EPOLLIN);
	for (unsigned i = 0; i < c->nr_clients; i++)
		client_set_events(c->clients[i], c->clients[i]->events & EPOLLOUT);
}

/* Push pending input into the UART; pause all input while the UART is full. */
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
		set_inputs_paused(c, false);
	} else {
		set_inputs_paused(c, true);
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
	/* The escape is for the VMM's own terminal only, never for socket clients. */
	c->pending_len = filter_escape(c, buf, (size_t)n, c->pending);
	c->pending_off = 0;
	flush_pending(c);
}

static void on_client(void *opaque, uint32_t events)
{
	struct console_client *cl = opaque;
	struct console *c = cl->con;
	ssize_t got = 0;
	int ret;

	if (events & EPOLLOUT) {
		pthread_mutex_lock(&c->lock);
		ret = client_flush(cl);
		pthread_mutex_unlock(&c->lock);
		if (ret < 0) {
			client_close(cl);
			return;
		}
		client_set_events(cl, ret > 0);
	}
	if ((events & EPOLLIN) && !cl->in_eof && !c->pending_len) {
		got = read(cl->fd, c->pending, CLIENT_READ);
		if (got < 0 && errno != EINTR && errno != EAGAIN) {
			client_close(cl);
			return;
		}
		if (got == 0) {
			/* Half-closed: the client still gets output until it hangs up. */
			cl->in_eof = true;
			client_set_events(cl, cl->events & EPOLLOUT);
		} else if (got > 0) {
			/* Client bytes go to the guest as they are: no escape. */
			c->pending_len = (size_t)got;
			c->pending_off = 0;
			flush_pending(c);
		}
	}
	/*
	 * Gone.  Keep reading while it still has input for us, unless input is
	 * paused (a hung-up socket polls ready forever: we would spin).
	 */
	if (events & (EPOLLHUP | EPOLLERR)) {
		if ((events & EPOLLERR) || got <= 0 || cl->in_eof || c->in_paused)
			client_close(cl);
	}
}

static void refuse(int fd, const char *msg)
{
	if (msg)
		(void)!send(fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

static void on_accept(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	struct console_client *cl;
	struct ucred cred;
	uint64_t n;
	int fd, ret;

	fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* Level-triggered: wait for a client to leave instead of spinning. */
			log_warn_rl("console socket: accept: %s", strerror(errno));
			evl_mod(c->loop, c->listen_fd, 0);
		}
		return;
	}
	if (usock_peer_owner(fd, &cred)) {
		log_warn_rl("console socket: refused a client of uid %d", (int)cred.uid);
		refuse(fd, NULL);
		return;
	}
	if (console_nr_clients(c) >= CONSOLE_MAX_CLIENTS) {
		log_warn_rl("console socket: refused a client: %d attached already",
			    CONSOLE_MAX_CLIENTS);
		refuse(fd, "clone: too many clients on this console (16); try again later\r\n");
		return;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		refuse(fd, "clone: out of memory\r\n");
		return;
	}
	cl->con = c;
	cl->fd = fd;
	cl->events = c->in_paused ? 0 : EPOLLIN;
	ret = evl_add(c->loop, fd, cl->events, on_client, cl);
	if (ret) {
		log_warn_rl("console socket: %s", err_msg());
		free(cl);
		refuse(fd, NULL);
		return;
	}
	/* Scrollback and registration under one lock: no byte is missed or repeated. */
	pthread_mutex_lock(&c->lock);
	n = MIN(c->sb_total, (uint64_t)sizeof(c->scrollback));
	for (uint64_t i = c->sb_total - n; i < c->sb_total; i++)
		cl->buf[cl->head++] = c->scrollback[i % sizeof(c->scrollback)];
	c->clients[c->nr_clients++] = cl;
	ret = client_flush(cl);
	pthread_mutex_unlock(&c->lock);
	log_debug("console client attached");
	if (ret < 0)
		client_close(cl);
	else
		client_set_events(cl, ret > 0);
}

static void on_wake(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	int ret[CONSOLE_MAX_CLIENTS];
	unsigned n;
	uint64_t v;

	(void)!read(c->wake_fd, &v, sizeof(v));
	flush_pending(c);
	/* Output queued by vCPUs.  The list changes only on this thread. */
	pthread_mutex_lock(&c->lock);
	c->out_kicked = false;
	n = c->nr_clients;
	for (unsigned i = 0; i < n; i++)
		ret[i] = (c->clients[i]->events & EPOLLOUT) ? 1 : client_flush(c->clients[i]);
	pthread_mutex_unlock(&c->lock);
	for (unsigned i = n; i-- > 0;) {
		if (ret[i] < 0)
			client_close(c->clients[i]);
		else
			client_set_events(c->clients[i], ret[i] > 0);
	}
}

void console_rx_ready(void *opaque)
{
	struct console *c = opaque;
	uint64_t one = 1;

	(void)!write(c->wake_fd, &one, sizeof(one));
}

static int add_listener(struct console *c)
{
	int ret = evl_add(c->loop, c->listen_fd, EPOLLIN, on_accept, c);

	if (!ret)
		c->listen_added = true;
	return ret;
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
		if (ret)
			return ret;
	}
	if (c->listen_fd >= 0)
		ret = add_listener(c);
	return ret;
}

int console_listen(struct console *c, const char *sock_path)
{
	int fd;

	if (!c->inited || c->listen_fd >= 0)
		return err_setx(-EINVAL, "console socket: console not open or already listening");
	if (strlen(sock_path) >= sizeof(c->sock_path))
		return err_setx(-ENAMETOOLONG, "console socket path too long: %s", sock_path);
	/* A socket left by a VM of this name that died is replaced (usock_listen). */
	fd = usock_listen("console socket", sock_path, CONSOLE_MAX_CLIENTS);
	if (fd < 0)
		return fd;
	strcpy(c->sock_path, sock_path);
	c->listen_fd = fd;
	/* On failure console_close() cleans up. */
	return c->loop ? add_listener(c) : 0;
}

void console_close(struct console *c)
{
	if (c->raw)
		console_restore_terminal();
	c->raw = false;
	if (c->inited) {
		/* The guest's last words (vCPUs are gone): best effort, never waiting. */
		pthread_mutex_lock(&c->lock);
		for (unsigned i = 0; i < c->nr_clients; i++)
			(void)client_flush(c->clients[i]);
		pthread_mutex_unlock(&c->lock);
		while (c->nr_clients)
			client_close(c->clients[c->nr_clients - 1]);
		if (c->listen_fd >= 0) {
			if (c->listen_added)
				evl_del(c->loop, c->listen_fd);
			close(c->listen_fd);
			unlink(c->sock_path);
		}
		c->listen_fd = -1;
		c->listen_added = false;
		pthread_mutex_destroy(&c->lock);
		c->inited = false;
	}
	if (c->loop) {
		if (c->in_fd >= 0)
			evl_del(c->loop, c->in_fd);
		if (c->wake_fd >= 0)
			evl_del(c->loop, c->wake_fd);
	}
	if (c->own_out && c->out_fd >= 0)
		close(c->out_fd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	c->out_fd = c->wake_fd = -1;
}
