/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock (virtio 1.2 section 5.10) on the kernel's vhost-vsock back
 * end: the rx and tx queues (0 and 1) are served by the kernel, which
 * reads the kick eventfds and writes the irqfd itself; the event queue (2)
 * is ours, for VIRTIO_VSOCK_EVENT_TRANSPORT_RESET after the CID changed
 * (snapshot fork).  The guest CID is claimed at creation, so a clash is
 * known before the guest boots.
 *
 * Every function here takes the device's vd->lock; call none of them with
 * it held.  The device must be placed with hooks that provide kick_fd and
 * irq_fd (vmm/vdev.c does).
 */
#ifndef CLONE_VIRTIO_VSOCK_H
#define CLONE_VIRTIO_VSOCK_H

#include <stdint.h>

#include "virtio/virtio.h"

struct guest_mem;
struct vhost_ops;

#define VSOCK_DEFAULT_DEV "/dev/vhost-vsock"
#define VSOCK_QUEUE_SIZE 256
#define VSOCK_CID_MIN 3		       /* 0-2 are reserved (hypervisor, local, host) */
#define VSOCK_CID_MAX 0xfffffffeull    /* the kernel refuses U32_MAX and above */
#define VSOCK_CID_AUTO_MAX 0x3fffffffu /* automatic CIDs are drawn from 3..this */
#define VSOCK_CID_TRIES 256	       /* automatic CIDs tried before giving up */

struct vsock_config {
	uint64_t cid;		     /* 0: choose a free one at random */
	const char *dev_path;	     /* NULL: VSOCK_DEFAULT_DEV */
	const struct vhost_ops *ops; /* NULL: the real system calls (tests pass a fake) */
	void *ops_opaque;
};

/* The device's own snapshot state (the transport saves the rest), little-endian. */
struct vsock_state {
	uint64_t cid;
	uint16_t vring_base[2]; /* next avail index of rx and tx */
	uint8_t pending_reset;	/* a TRANSPORT_RESET event waits for an event buffer */
	uint8_t pad[3];
};

struct vsock;

/*
 * Open the vhost node, become its owner and claim the CID
 * (VHOST_VSOCK_SET_GUEST_CID).  An explicit CID that is taken fails with
 * -EADDRINUSE ("--cid N is in use by another VM"); an automatic one starts
 * at random in VSOCK_CID_MIN..VSOCK_CID_AUTO_MAX and walks on.  0 or -errno
 * with the message set.
 */
int vsock_create(const struct vsock_config *cfg, const struct guest_mem *gm, struct vsock **out);
/* Stop the back end and close it (NULL is fine). */
void vsock_destroy(struct vsock *v);
struct virtio_dev *vsock_virtio(struct vsock *v);
uint64_t vsock_cid(const struct vsock *v);
/*
 * Claim another CID: cid, or 0 for another automatic one (never the
 * current).  Meant for before the guest runs; if it runs, follow with
 * vsock_transport_reset() so that it learns the new CID.  On failure the
 * old CID is kept.  0 or -errno (-EADDRINUSE, -EINVAL) with the message set.
 */
int vsock_set_cid(struct vsock *v, uint64_t cid);
/*
 * Tell the driver that its connections are gone and the CID may have
 * changed: a VIRTIO_VSOCK_EVENT_TRANSPORT_RESET event in the next event
 * buffer, with an interrupt.  1: delivered; 0: no buffer (or the driver is
 * not up): remembered and delivered on the next kick of the event queue.
 */
int vsock_transport_reset(struct vsock *v);
/*
 * Stop the back end (VHOST_VSOCK_SET_RUNNING 0) and fetch the vring bases,
 * so that guest memory stays still for a snapshot; vsock_resume() starts it
 * again.  0 or -errno.
 */
int vsock_pause(struct vsock *v);
int vsock_resume(struct vsock *v);
/* The device's state; between vsock_pause() and vsock_resume() for a consistent one. */
void vsock_save(struct vsock *v, struct vsock_state *s);
/*
 * Load s after the transport (virtio_mmio_restore()).  The saved CID is
 * claimed again unless the device was created with an explicit one; if the
 * CID the guest knows cannot be had (in use, e.g. by the VM this one was
 * forked from), the current one is kept and a TRANSPORT_RESET is queued so
 * that the guest re-reads it.  If the transport is running, the back end is
 * started with the saved vring bases.  -EINVAL for a malformed s (v
 * unchanged), other -errno from the back end, with the message set.
 */
int vsock_restore(struct vsock *v, const struct vsock_state *s);

#endif
