/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A generic vhost-kernel back end (linux/vhost.h): the device node, its
 * owner, feature negotiation, the memory table built from guest RAM and the
 * per-virtqueue programming (size, base, ring addresses, kick and call
 * eventfds).  Used by virtio-vsock (/dev/vhost-vsock); written so that
 * vhost-net can use it too.  Every system call goes through struct
 * vhost_ops, so unit tests drive it with a fake that records the calls.
 *
 * Not thread-safe: the owning device serialises (it calls in with its
 * vd->lock held, or while the VM is built).  Errors return -errno with a
 * message naming the ioctl and the node.
 */
#ifndef CLONE_VIRTIO_VHOST_H
#define CLONE_VIRTIO_VHOST_H

#include <stdint.h>

struct guest_mem;
struct virtq;

struct vhost_ops {
	/* open(2) the node read-write, close-on-exec: an fd, or -errno. */
	int (*open)(void *opaque, const char *path);
	/* ioctl(2): the (non-negative) result, or -errno. */
	int (*ioctl)(void *opaque, int fd, unsigned long req, void *arg);
	void (*close)(void *opaque, int fd);
};

/* The real system calls (opaque unused). */
extern const struct vhost_ops vhost_kernel_ops;

struct vhost {
	const struct vhost_ops *ops;
	void *opaque;
	int fd;		   /* -1 when closed */
	char path[64];	   /* the node, for messages */
	uint64_t features; /* what the back end offers (VHOST_GET_FEATURES) */
};

/*
 * Open path through ops (NULL: vhost_kernel_ops), become its owner
 * (VHOST_SET_OWNER, which must come first) and read its features.  A
 * missing node says which module to load, EACCES that the user needs
 * access to the node.  h is usable with vhost_close() even on failure.
 */
int vhost_open(struct vhost *h, const char *path, const struct vhost_ops *ops, void *opaque);
/* Close the node: the kernel drops the rings, eventfds and memory table with it. */
void vhost_close(struct vhost *h);
/* One ioctl with the error message naming it: the result or -errno. */
int vhost_call(struct vhost *h, unsigned long req, const char *name, void *arg);
/* VHOST_SET_FEATURES with features & h->features (before the memory table and vrings). */
int vhost_set_features(struct vhost *h, uint64_t features);
/* VHOST_SET_MEM_TABLE: one region per guest RAM region (gpa, size, hva). */
int vhost_set_mem_table(struct vhost *h, const struct guest_mem *gm);
/*
 * Program vring index from the driver's queue q: VHOST_SET_VRING_NUM
 * (q->size), VHOST_SET_VRING_BASE (base: the next avail index, 0 on a
 * fresh start), VHOST_SET_VRING_ADDR (the HVAs of q's rings, -EINVAL when
 * one is not wholly in guest RAM, before any ioctl), VHOST_SET_VRING_KICK
 * (kick_fd) and VHOST_SET_VRING_CALL (call_fd).
 */
int vhost_set_vring(struct vhost *h, unsigned index, const struct virtq *q, uint16_t base,
		    int kick_fd, int call_fd);
/* VHOST_GET_VRING_BASE: the next avail index of a stopped vring. */
int vhost_get_vring_base(struct vhost *h, unsigned index, uint16_t *base);

#endif
