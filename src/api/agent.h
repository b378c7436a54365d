/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host end of the guest agent's control channel (docs/agent-protocol.md):
 * the VMM listens on vsock port AP_HOST_PORT(cid); clone-agent in the guest
 * connects, says HELLO (its exec token included), then reports on a
 * heartbeat.  This side keeps the last hello and report for `clone status`,
 * sends the VM's identity (hostname) after every HELLO and shutdown/reboot
 * requests.  Only connections from the VM's own CID are accepted; a newer
 * connection replaces an older one (the agent restarted).  Everything runs
 * on the event-loop thread.
 */
#ifndef CLONE_API_AGENT_H
#define CLONE_API_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "api/agent_proto.h"

struct evloop;
struct agent_host;

struct agent_host_config {
	uint32_t cid;	      /* the guest's CID */
	uint32_t port;	      /* 0: AP_HOST_PORT(cid) */
	uint32_t peer_cid;    /* 0: cid (tests on vsock loopback pass 1) */
	const char *hostname; /* sent in IDENTITY after every HELLO, or NULL */
	/*
	 * Network identities (one per NIC: mac, addresses, gateway, DNS), each
	 * sent in its own IDENTITY after the hostname's.  Copied.  The agent
	 * counts as ready once it has acknowledged all of them, so `clone exec`
	 * finds the guest's network configured.
	 */
	const struct ap_identity *nets;
	unsigned nr_nets;
	/* The agent connected (said HELLO) or went away (any thread may not call). */
	void (*changed)(void *opaque);
	void *opaque;
};

/*
 * Bind and listen.  0, or -errno with the message set; -EADDRINUSE when the
 * port is taken (another VM with this CID, or a squatter): pick another CID.
 */
int agent_host_create(struct evloop *loop, const struct agent_host_config *cfg,
		      struct agent_host **out);
void agent_host_destroy(struct agent_host *a);

/* The agent said HELLO and acknowledged the identities sent after it. */
bool agent_host_ready(const struct agent_host *a);
/* The last HELLO, or NULL before the first. */
const struct ap_hello *agent_host_hello(const struct agent_host *a);
/* The last REPORT, or NULL; *age_ms how long ago it came. */
const struct ap_report *agent_host_report(const struct agent_host *a, uint64_t *age_ms);
/* Ask the agent to power off (or reboot) the guest.  0, or -ENOTCONN (no agent), -EIO. */
int agent_host_shutdown(struct agent_host *a, bool reboot);

#endif
