/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `--net user`: networking without privileges through pasta (Debian
 * passt).  A helper process made by the VMM holds a new user and network
 * namespace (the VMM's user is root there); inside it the helper creates
 * the guest's TAP (USERNET_TAP, USERNET_GATEWAY/24 and USERNET_DNS/32, so
 * the guest gets ARP answers for both), turns on forwarding
 * and installs nftables rules: masquerade for the guest subnet, DNAT of
 * every forwarded port to the guest (from the namespace's loopback too,
 * which is where pasta delivers connections made to the host's loopback),
 * and DNS: USERNET_DNS in the guest subnet is translated to pasta's DNS
 * forwarding address, which pasta maps to the host's first resolver (UDP
 * only: pasta forwards no DNS over TCP, so TCP to port 53 is refused).  The
 * TAP fd comes back to the VMM over a socketpair (SCM_RIGHTS), so the VMM
 * itself stays in the host's namespaces.  Then pasta joins the namespace
 * (--config-net: the host's addresses and routes, -t for each forward,
 * bound to the host's 127.0.0.1; --no-map-gw: the guest reaches what the
 * host reaches, the host's default gateway included, but not the host's
 * own loopback) and usernet_start() returns once pasta says it is ready.
 * Both children die with the VMM (PR_SET_PDEATHSIG).
 */
#ifndef CLONE_NET_USERNET_H
#define CLONE_NET_USERNET_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define USERNET_MAX_FWD 32
#define USERNET_TAP "tap0"
#define USERNET_SUBNET "10.0.2.0/24"
#define USERNET_GATEWAY "10.0.2.2"
#define USERNET_DNS "10.0.2.3"
#define USERNET_GUEST "10.0.2.15"
/*
 * pasta's --dns-forward address: routed through pasta's default route in
 * the namespace and translated by pasta (UDP port 53 only) to the host's
 * first resolver.  Link-local, so it collides with no host network pasta
 * copies into the namespace.
 */
#define USERNET_DNS_FWD "169.254.1.53"
#define USERNET_NFT_TABLE "clone-user"
/* Seconds usernet_start() waits for the helper and for pasta. */
#define USERNET_START_TIMEOUT 10

struct usernet_fwd {
	uint16_t host, guest; /* TCP ports */
};

struct usernet_config {
	struct usernet_fwd fwd[USERNET_MAX_FWD];
	unsigned nr_fwd;
	const char *pasta; /* NULL: "pasta" from PATH */
};

struct usernet {
	pid_t holder; /* the namespace holder, -1 when gone */
	pid_t pasta;  /* -1 when not running */
	int tap_fd;   /* handed to the NIC by the caller (then set it to -1 here) */
	int sock;     /* to the holder, which exits at EOF; -1 when closed */
	char ifname[IFNAMSIZ];
	/* What the guest is to use (strings for the agent's IDENTITY). */
	const char *guest_cidr; /* USERNET_GUEST "/24" */
	const char *gateway;	/* USERNET_GATEWAY */
	const char *dns;	/* USERNET_DNS */
};

/*
 * Parse one -p HOST:GUEST (or PORT, the same on both sides; TCP, each
 * 1..65535) into f; 0 or -EINVAL with the message set.
 */
int usernet_parse_fwd(const char *arg, struct usernet_fwd *f);
/*
 * Set everything up (see above).  Missing pasta: "--net user needs pasta:
 * apt-get install passt"; user namespaces refused: says so; a host port
 * that pasta cannot bind: pasta's message.  Nothing is left running on
 * failure.  0 or -errno with the message set.  Every field of u is set
 * first, so usernet_stop(u) is safe after a failed start too.  Call it
 * from a thread that lives as long as the VMM (the main thread): the
 * children's PR_SET_PDEATHSIG fires when the forking thread ends.  The
 * caller reaps the children (usernet_stop): do not reap all children with
 * waitpid(-1) elsewhere.
 */
int usernet_start(const struct usernet_config *c, struct usernet *u);
/*
 * Stop pasta (SIGTERM) and the holder (EOF), SIGKILL whichever is not gone
 * within a second, reap both, close the TAP fd if still held (idempotent).
 */
void usernet_stop(struct usernet *u);

/* ---- for tests: the pure pieces usernet_start() is built from ---- */

/* Forwards valid: 1..USERNET_MAX_FWD entries at most, ports 1..65535, no host port twice. */
int usernet_check_config(const struct usernet_config *c);
/*
 * The nft script the holder applies (see the top of this file) into buf:
 * its length, or -ENOSPC (message set) when cap is too small.
 */
int usernet_nft_script(const struct usernet_config *c, char *buf, size_t cap);

#define USERNET_ARGV_MAX 32
struct usernet_argv {
	char *argv[USERNET_ARGV_MAX]; /* NULL-terminated, pointing into buf */
	char buf[1024];
};
/*
 * pasta's command line: pasta joins holder's namespaces, runs in the
 * foreground as uid:gid (pasta would drop root to nobody, who cannot join
 * a namespace root owns), writes pidfile when ready, forwards TCP
 * 127.0.0.1:H for each forward (nothing else: -u/-T/-U none), IPv4 only.
 * 0 or -EINVAL (bad config) / -ENOSPC with the message set.
 */
int usernet_pasta_argv(const struct usernet_config *c, const char *pasta, const char *pidfile,
		       pid_t holder, uid_t uid, gid_t gid, struct usernet_argv *a);

#endif
