/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TAP devices through /dev/net/tun: created by the VMM (not persistent, so
 * the kernel deletes them when the last fd closes: however the VMM ends,
 * SIGKILL included) or an existing one opened by name (--tap NAME).  Every
 * fd is opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, non-blocking and
 * close-on-exec, with the virtio-net header length set to 12 bytes
 * (struct virtio_net_hdr_v1, what VERSION_1 guests use).
 */
#ifndef CLONE_NET_TAP_H
#define CLONE_NET_TAP_H

#include <net/if.h>

#define TAP_DEV "/dev/net/tun"
#define TAP_VNET_HDR_LEN 12

/*
 * A new TAP named name (which may hold "%d" for the kernel to number).
 * Fails with -EEXIST when the name is taken (never attaches to someone
 * else's device).  ifname gets the kernel's name.  A missing /dev/net/tun
 * says so ("modprobe tun"), EACCES/EPERM that creating TAPs needs
 * CAP_NET_ADMIN (root, or --net user).  0 or -errno with the message set.
 */
int tap_create(const char *name, char ifname[IFNAMSIZ], int *fd);
/*
 * Attach to the existing TAP device name: -ENODEV "TAP device NAME does
 * not exist" when there is none (never creates one), -EINVAL when name is
 * not a TAP, -EBUSY when another process has it open (single queue).
 * 0 or -errno with the message set.
 */
int tap_open(const char *name, char ifname[IFNAMSIZ], int *fd);
/* TUNSETOFFLOAD with TUN_F_* flags (what the guest can receive). 0 or -errno. */
int tap_set_offload(int fd, unsigned tun_flags);

#endif
