/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A VM's networking, from its config to running NICs: for each --net or
 * --tap, the TAP (an existing one; one made on the host bridge with a
 * leased address; or the one in pasta's namespace for --net user), its
 * MAC (given, or derived from the VM's name), the virtio-net device and
 * the identity the agent applies in the guest (address, gateway, DNS,
 * found by MAC).  Also --netns, which moves the whole VMM into a network
 * namespace before anything is set up.  Main thread while the VM is built.
 */
#ifndef CLONE_VMM_NETWORK_H
#define CLONE_VMM_NETWORK_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/agent_proto.h"
#include "net/bridge.h"
#include "net/usernet.h"
#include "vmm/config.h"

struct vm;
struct net;

struct vm_nic {
	struct net *dev;
	char id[8];	       /* "net0" */
	char ifname[IFNAMSIZ]; /* the host side: the TAP */
	uint8_t mac[6];
	const char *mode;	   /* "bridge", "user", "tap" */
	struct bridge_lease lease; /* NIC_BRIDGE */
	char bridge[IFNAMSIZ];
	struct ap_identity identity; /* what the agent applies (nr_addrs 0: nothing) */
};

struct vm_network {
	struct vm_nic nics[CONFIG_MAX_NICS];
	unsigned nr;
	struct usernet user; /* --net user */
	bool user_started;
};

/*
 * Enter the network namespace name (/run/netns/NAME) or path, for the
 * whole process: call before any thread starts.  0 or -errno with the
 * message set.
 */
int network_enter_netns(const char *name);
/* Create and place every NIC of vm->cfg.  0 or -errno with the message set. */
int network_setup(struct vm *vm, struct vm_network *net);
/* The agent identities of the NICs that have an address (out has room for CONFIG_MAX_NICS). */
unsigned network_identities(const struct vm_network *net, struct ap_identity *out);
/* The NIC with id ("net0"), or NULL. */
struct vm_nic *network_find(struct vm_network *net, const char *id);
/* Tear down: devices, pasta, leases (the TAPs go with their fds).  Idempotent. */
void network_destroy(struct vm_network *net);

#endif
