/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net (virtio 1.2 section 5.1) on a TAP device, one rx/tx queue
 * pair, no control queue.  Offered: checksum offload both ways, TSO4/6 and
 * ECN both ways, mergeable receive buffers, the MAC and link status.  The
 * TAP carries the 12-byte virtio_net_hdr_v1 in front of every frame
 * (IFF_VNET_HDR), so neither data path translates headers.
 *
 * Two data paths:
 *  - vhost-net (/dev/vhost-net): the kernel moves frames between the rings
 *    and the TAP; kicks and interrupts bypass the VMM.
 *  - userspace: the event loop moves them (tx on kicks, rx when the TAP is
 *    readable), used when vhost-net cannot be opened (said once in the
 *    log) and whenever the NIC has a rate limit (the kernel's data path
 *    cannot be throttled).  A NIC switches between the two at run time
 *    when limits are set or removed (net_set_rate_limit()).
 *
 * Rate limits: rx and tx each have a token-bucket limiter (lib/ratelimit.h)
 * charging a frame's bytes and one operation.  A throttled frame waits
 * (its chain stays in the ring, a received frame stays in the TAP) until
 * a timer says the bucket has refilled: nothing is dropped.
 *
 * The device takes its queues' kick eventfds itself (backend_queues), so
 * the placement must provide hooks.kick_fd and hooks.irq_fd (vmm/vdev.c
 * does).  Public functions take vd->lock; call none with it held.
 */
#ifndef CLONE_VIRTIO_NET_H
#define CLONE_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/ratelimit.h"
#include "virtio/virtio.h"

struct guest_mem;
struct evloop;
struct vhost_ops;

#define NET_QUEUE_SIZE 256
#define NET_DEFAULT_VHOST "/dev/vhost-net"

struct net_config {
	const char *id;		     /* "net0": messages and the control API */
	int tap_fd;		     /* handed over: closed by net_destroy() (or on failure) */
	uint8_t mac[6];		     /* the guest's MAC */
	bool no_vhost;		     /* never try vhost-net */
	const char *vhost_path;	     /* NULL: NET_DEFAULT_VHOST */
	const struct vhost_ops *ops; /* NULL: the real system calls */
	void *ops_opaque;
	struct rl_config rx, tx; /* zero: unlimited */
};

/* Statistics (event-loop path only; vhost does not count for us). */
struct net_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint64_t rx_throttled, tx_throttled; /* times a frame had to wait */
	uint64_t rx_dropped;		     /* frames the guest had no room for (too big) */
};

struct net;

/*
 * A NIC on cfg->tap_fd, served on loop.  0 or -errno with the message set;
 * on failure the TAP fd is closed.
 */
int net_create(const struct net_config *cfg, const struct guest_mem *gm, struct evloop *loop,
	       struct net **out);
void net_destroy(struct net *n);
struct virtio_dev *net_virtio(struct net *n);
const char *net_id(const struct net *n);
/* "vhost", "userspace", or "inactive" (the driver has not started the device). */
const char *net_data_path(struct net *n);
/*
 * Replace the rx and tx limits (NULL: keep that one).  The NIC moves to the
 * userspace data path when a limit appears and back to vhost-net (if it
 * has it) when none is left.  0 or -errno with the message set.
 */
int net_set_rate_limit(struct net *n, const struct rl_config *rx, const struct rl_config *tx);
void net_get_rate_limit(struct net *n, struct rl_config *rx, struct rl_config *tx);
void net_get_stats(struct net *n, struct net_stats *out);

/* The device's own snapshot state (the transport saves the rest), little-endian. */
struct net_state {
	uint16_t vring_base[2]; /* next avail index of rx and tx */
	uint8_t mac[6];		/* the MAC the guest was given (a fork gets its own) */
	struct rl_config rx, tx;
};

/*
 * Stop moving frames so that guest memory stays still for a snapshot:
 * vhost-net is stopped and its vring bases fetched, the userspace path
 * stops serving kicks and the TAP (a frame held for the guest is dropped,
 * as a wire may).  net_resume() undoes it.  0 or -errno with the message
 * set.  Event-loop thread (the deferred watch changes run there).
 */
int net_pause(struct net *n);
int net_resume(struct net *n);
/* Between net_pause() and net_resume(). */
void net_save(struct net *n, struct net_state *s);
/*
 * Load s after the transport (virtio_mmio_restore()) into a NIC created
 * for this VM (its own TAP and MAC: s->mac is not applied, a fork keeps
 * the MAC it was created with).  Limits from s are applied unless the
 * configuration of this NIC set its own.  If the transport runs, the data
 * path starts with the saved vring bases.  -EINVAL for a malformed s (n
 * unchanged), other -errno from the back end, with the message set.
 */
int net_restore(struct net *n, const struct net_state *s);

#endif
