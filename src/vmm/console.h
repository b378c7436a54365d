/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host side of the serial console: guest output to stdout or a file,
 * host stdin to the UART with flow control (stdin is not read while the
 * UART's receive buffer is full), the terminal in raw mode while the VM
 * runs, and the escape Ctrl-A x (quit; Ctrl-A Ctrl-A sends Ctrl-A).
 *
 * The console socket (console_listen()) makes the same console reachable
 * from other terminals (`clone attach`): every client gets the last
 * CONSOLE_SCROLLBACK bytes of output, then everything the guest prints;
 * what clients type goes to the UART like stdin input (no escape: a client
 * cannot stop the VM).  A client that reads slower than the guest writes
 * loses the oldest bytes beyond CONSOLE_CLIENT_BUF and is told how many
 * ("[clone: N bytes of console output dropped]"); the guest never waits.
 *
 * Output runs on vCPU threads (the UART's sink); input, the listener and
 * client I/O on the event loop.  c->lock guards the scrollback, the client
 * list and every client's output ring.
 */
#ifndef CLONE_VMM_CONSOLE_H
#define CLONE_VMM_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define CONSOLE_SCROLLBACK (16 * 1024)	/* replayed to every new client */
#define CONSOLE_CLIENT_BUF (256 * 1024) /* output queued per client before dropping */
#define CONSOLE_MAX_CLIENTS 16
#define CONSOLE_SOCK_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path) */

struct evloop;
struct serial;
struct console_client;

struct console {
	int in_fd;  /* -1: no input */
	int out_fd; /* -1: output discarded */
	bool own_out;
	bool raw;
	bool inited; /* console_open() ran: lock and listen_fd are valid */
	int wake_fd; /* eventfd: the UART freed receive space, or client output is queued */
	struct evloop *loop;
	struct serial *serial;
	bool in_paused; /* every input source (stdin, clients) is paused */
	bool escape;
	uint8_t pending[256];
	size_t pending_len;
	size_t pending_off;
	void (*quit)(void *opaque); /* Ctrl-A x */
	void *quit_opaque;

	/* The console socket (event-loop thread, except as noted). */
	int listen_fd; /* -1: none */
	bool listen_added;
	char sock_path[CONSOLE_SOCK_PATH_MAX];
	pthread_mutex_t lock; /* guards everything below */
	bool out_kicked;      /* wake_fd written for output not yet flushed */
	uint64_t sb_total;    /* bytes ever written to the scrollback */
	uint8_t scrollback[CONSOLE_SCROLLBACK];
	struct console_client *clients[CONSOLE_MAX_CLIENTS];
	unsigned nr_clients;
};

/* Open the sink/source for mode; put a terminal stdin into raw mode.  0 or -errno. */
int console_open(struct console *c, enum serial_mode mode, const char *path);
/* Start reading input into serial (event-loop thread). */
int console_attach(struct console *c, struct evloop *loop, struct serial *serial,
		   void (*quit)(void *opaque), void *opaque);
/*
 * Listen on the AF_UNIX stream socket sock_path (created mode 0600; a stale
 * file there is replaced; peers whose uid is neither ours nor 0 are closed
 * at once).  Call after console_open(), before or after console_attach()
 * (clients are served once both ran), before the event loop runs.  The
 * socket is unlinked by console_close().  0 or -errno with the message set.
 */
int console_listen(struct console *c, const char *sock_path);
/* Clients attached right now (any thread). */
unsigned console_nr_clients(struct console *c);
/* The UART's output sink (serial_out_fn); never blocks on socket clients. */
void console_output(void *opaque, const uint8_t *buf, size_t len);
/* The UART's rx-ready callback: resume reading input (any thread). */
void console_rx_ready(void *opaque);
/*
 * Release everything: clients, the socket (unlinked), files, the terminal.
 * Safe on a console that was zeroed with its fds set to -1 and never opened.
 * No vCPU may be running; the event loop, if any, must not be running.
 */
void console_close(struct console *c);

/*
 * Put the terminal fd into raw mode, remembering its state for
 * console_restore_terminal(); keep_opost keeps \n → \r\n on output.
 * One terminal per process.  0 or -errno with the message set.
 */
int console_raw_terminal(int fd, bool keep_opost);
/* Restore the terminal if it was made raw; async-signal-safe. */
void console_restore_terminal(void);

#endif
