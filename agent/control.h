/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clone-agent control channel: connect to the VMM (reconnecting with
 * backoff, re-reading the CID each time), HELLO, a REPORT every
 * CTL_REPORT_MS, and IDENTITY/SHUTDOWN requests answered with ACK.
 * Main process, driven by main.c's poll loop.
 */
#ifndef CLONE_AGENT_CONTROL_H
#define CLONE_AGENT_CONTROL_H

#include <poll.h>

#include "agent.h"
#include "dispatch.h"
#include "sys.h"

#define CTL_REPORT_MS 2000
#define CTL_BACKOFF_MIN_MS 100
#define CTL_BACKOFF_MAX_MS 2000
#define CTL_CONNECT_MS 5000
#define CTL_SHUTDOWN_GRACE_MS 5000

struct control {
	const struct agent_opts *o;
	const uint8_t *token;
	int fd;
	enum { CTL_DOWN, CTL_CONNECTING, CTL_UP } state;
	uint64_t retry_at, connect_deadline, report_at;
	unsigned backoff_ms;
	struct report_state rs;
	struct ap_rbuf rb;
	uint8_t wb[4 * AP_MAX_FRAME];
	size_t wlen, woff;
	/* shutdown: ACK first, then ask init, then reboot(2) after a grace period */
	int shutdown_mode; /* -1: none requested */
	bool shutdown_asked;
	uint64_t shutdown_at;
};

void ctl_init(struct control *c, const struct agent_opts *o, const uint8_t *token);
/* The pollfd to watch (fd -1 when nothing). */
void ctl_pollfd(const struct control *c, struct pollfd *p);
/* Milliseconds until ctl_tick has work (≥ 0). */
int ctl_timeout(const struct control *c, uint64_t now);
void ctl_event(struct control *c, short revents, unsigned sessions);
void ctl_tick(struct control *c, uint64_t now, unsigned sessions);
/*
 * The guest went from idle to running a command or back (sessions from 0
 * or to 0): report at once, so the host sees activity edges without
 * waiting for the heartbeat; the next heartbeat is CTL_REPORT_MS later.
 */
void ctl_activity_changed(struct control *c, uint64_t now, unsigned sessions);

#endif
