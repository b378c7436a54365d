/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The few rtnetlink requests Clone makes on the host (or inside a network
 * namespace it set up): links (bridge create/delete, up, master) and IPv4
 * addresses.  Each call opens a NETLINK_ROUTE socket in the caller's
 * network namespace, sends one request with NLM_F_ACK and reads the
 * answer; kernel errors come back as -errno with the message naming the
 * request and the object ("adding 172.20.0.1/24 to clone0: File exists").
 * No library: the kernel's uapi headers only.
 */
#ifndef CLONE_NET_NETLINK_H
#define CLONE_NET_NETLINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

struct nl_addr {
	char ifname[IFNAMSIZ];
	uint32_t addr; /* IPv4, network byte order */
	unsigned prefix;
};

struct nl_link {
	char ifname[IFNAMSIZ];
	int index;
	unsigned master; /* the bridge's index, 0 when none */
	unsigned flags;	 /* IFF_UP, ... */
	char kind[16];	 /* IFLA_INFO_KIND: "bridge", "tun", "veth"; "" for hardware */
};

/* The index of link name, or -ENODEV. */
int nl_link_index(const char *name);
/* Create a bridge; -EEXIST when a link with the name exists. */
int nl_bridge_create(const char *name);
/* The link's kind ("bridge", "tun", "veth", ...) into kind; 0 or -ENODEV. */
int nl_link_kind(const char *name, char *kind, unsigned cap);
/* Link name's details; 0 or -ENODEV. */
int nl_link_get(const char *name, struct nl_link *l);
/* Every link; returns how many (<= max) or -errno. */
int nl_link_list(struct nl_link *out, unsigned max);
int nl_link_set_up(const char *name);
/* Enslave name to master (a bridge); master NULL: release it. */
int nl_link_set_master(const char *name, const char *master);
int nl_link_del(const char *name);
/* Add addr/prefix (network byte order) to name; -EEXIST when it is there already. */
int nl_addr_add(const char *name, uint32_t addr, unsigned prefix);
/* Every IPv4 address of every link; returns how many (<= max) or -errno. */
int nl_addr_list(struct nl_addr *out, unsigned max);

#endif
