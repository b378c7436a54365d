/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clone-agent exec sessions: the listener on AP_EXEC_PORT and, per
 * accepted connection, a forked session process that checks the token,
 * starts the command (pipes or a pty) and relays its stdio until EXIT.
 */
#ifndef CLONE_AGENT_EXEC_H
#define CLONE_AGENT_EXEC_H

#include "agent.h"

/* The listening socket (CLOEXEC, non-blocking): fd or -errno. */
int exec_listen(const struct agent_opts *o);

/*
 * Accept one connection and fork its session process.  close_fds are the
 * main loop's descriptors the session must drop.  Returns the session's
 * pid, 0 when nothing was accepted or the peer was refused, -errno.
 */
int exec_accept(int lfd, const struct agent_opts *o, const uint8_t token[AP_TOKEN_LEN],
		const int *close_fds, unsigned nr_close);

#endif
