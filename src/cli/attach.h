/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `clone attach NAME`: the pieces of attach.c that tests drive directly
 * (argument parsing, the detach-key scanner, the relay loop on given fds).
 */
#ifndef CLONE_CLI_ATTACH_H
#define CLONE_CLI_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ATTACH_DETACH_KEY 0x11 /* Ctrl-Q */

struct attach_opts {
	const char *name;
};

/* Parse `clone attach` arguments (argv[0] is "attach"): 0, CLI_HELP_SHOWN, or -EINVAL (message set). */
int attach_parse(int argc, char **argv, struct attach_opts *o);
void attach_usage(FILE *f);

/*
 * How many leading bytes of buf go to the guest: all of them, or those
 * before the first Ctrl-Q, in which case *detach is set (the key and what
 * follows it are never sent).  Pure.
 */
size_t attach_scan_input(const uint8_t *buf, size_t len, bool *detach);

enum attach_end {
	ATTACH_DETACHED,  /* Ctrl-Q on in_fd */
	ATTACH_STOPPED,	  /* the VM closed the console (its output is all written) */
	ATTACH_SIGNALLED, /* a signal arrived on sig_fd; *signo says which */
};

/*
 * Relay sock_fd (the console socket, nonblocking) ↔ in_fd/out_fd until
 * one of enum attach_end happens.  EOF on in_fd does not end it.  sig_fd
 * is a signalfd (or anything yielding struct signalfd_siginfo), -1 for
 * none.  Returns an enum attach_end or -errno with the message set.
 */
int attach_relay(int sock_fd, int in_fd, int out_fd, int sig_fd, int *signo);

#endif
