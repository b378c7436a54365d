/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `--net` (root): a host bridge (default clone0, 172.20.0.1/24) that every
 * VM's TAP joins, NAT (nftables masquerade for the bridge's subnet leaving
 * through any other interface, in table `ip clone-BRIDGE`) and IP forwarding, and
 * an address per VM from the subnet.  bridge_up() is idempotent and safe
 * to race with another VMM doing the same; the bridge and the NAT stay
 * after the VM (the next VM reuses them) until bridge_down() (`clone net
 * down`).
 *
 * Addresses are leased with lock files: RUNDIR/net/BRIDGE/A.B.C.D held
 * with flock(LOCK_EX) for the VMM's life, so concurrent VMs never get the
 * same address and a VMM that dies (SIGKILL included) frees its address
 * with its fds.  RUNDIR is the registry's runtime directory.
 */
#ifndef CLONE_NET_BRIDGE_H
#define CLONE_NET_BRIDGE_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BRIDGE_DEFAULT_NAME "clone0"
#define BRIDGE_DEFAULT_ADDR "172.20.0.1/24"

struct bridge_config {
	char name[IFNAMSIZ];
	uint32_t addr; /* the host's address on the bridge (network order) */
	unsigned prefix;
};

/* 0 if name is a usable bridge name ([A-Za-z0-9_.-], < IFNAMSIZ), else -EINVAL with the message. */
int bridge_check_name(const char *name);
/* The bridge's NAT table name ("clone-BRIDGE", family ip) into buf; 0 or -EINVAL. */
int bridge_nat_table(const char *name, char *buf, size_t len);
/*
 * Parse "A.B.C.D/N" into c (name untouched); 0 or -EINVAL with the message set.
 * N is 8..30 and the address is neither the network nor the broadcast address.
 */
int bridge_parse_cidr(const char *cidr, struct bridge_config *c);
/*
 * Make sure the bridge exists with c's address and is up, IP forwarding is
 * on and the NAT table is in place.  A bridge that exists with another
 * address of ours is an error naming both; a subnet that overlaps an
 * address on another link is an error naming that link ("172.20.0.0/24
 * clashes with eth1 (172.20.0.5/16): choose another with --bridge-addr").
 * 0 or -errno with the message set.
 */
int bridge_up(const struct bridge_config *c);
/* Delete the bridge and the NAT table (each if present); 0 or -errno. */
int bridge_down(const char *name);

struct bridge_lease {
	int fd;	       /* the held lock file, -1 when none */
	uint32_t addr; /* the VM's address (network order) */
	char path[256];
};

/*
 * Lease a free address of c's subnet (not the network, broadcast or
 * bridge address).  -EADDRNOTAVAIL when the subnet is full.  0 or -errno.
 */
int bridge_lease_take(const struct bridge_config *c, struct bridge_lease *l);
void bridge_lease_release(struct bridge_lease *l);
/* Enslave ifname to the bridge and bring it up; 0 or -errno. */
int bridge_attach(const char *bridge, const char *ifname);

/* RUNDIR/net/BRIDGE, where the lease files are; 0 or -errno. */
int bridge_lease_dir(const char *bridge, char *buf, size_t len);

struct bridge_lease_info {
	uint32_t addr; /* network order */
	pid_t pid;     /* the holder (per /proc/locks), -1 when held but unknown */
};
/* The held leases of bridge, by address; returns how many (<= max) or -errno. */
int bridge_lease_list(const char *bridge, struct bridge_lease_info *out, unsigned max);

#endif
