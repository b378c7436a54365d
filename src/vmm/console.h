/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host side of the serial console: guest output to stdout or a file,
 * host stdin to the UART with flow control (stdin is not read while the
 * UART's receive buffer is full), the terminal in raw mode while the VM
 * runs, and the escape Ctrl-A x (quit; Ctrl-A Ctrl-A sends Ctrl-A).
 * Output runs on vCPU threads (the UART's sink); input on the event loop.
 */
#ifndef CLONE_VMM_CONSOLE_H
#define CLONE_VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct evloop;
struct serial;

struct console {
	int in_fd;  /* -1: no input */
	int out_fd; /* -1: output discarded */
	bool own_out;
	bool raw;
	int wake_fd; /* eventfd: the UART freed receive space */
	struct evloop *loop;
	struct serial *serial;
	bool in_paused;
	bool escape;
	uint8_t pending[256];
	size_t pending_len;
	size_t pending_off;
	void (*quit)(void *opaque); /* Ctrl-A x */
	void *quit_opaque;
};

/* Open the sink/source for mode; put a terminal stdin into raw mode.  0 or -errno. */
int console_open(struct console *c, enum serial_mode mode, const char *path);
/* Start reading input into serial (event-loop thread). */
int console_attach(struct console *c, struct evloop *loop, struct serial *serial,
		   void (*quit)(void *opaque), void *opaque);
/* The UART's output sink (serial_out_fn). */
void console_output(void *opaque, const uint8_t *buf, size_t len);
/* The UART's rx-ready callback: resume reading input (any thread). */
void console_rx_ready(void *opaque);
void console_close(struct console *c);
/* Restore the terminal if console_open() made it raw; async-signal-safe. */
void console_restore_terminal(void);

#endif
