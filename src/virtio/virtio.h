/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every virtio device shares, independent of the transport: constants
 * from the virtio 1.x specification, struct virtio_dev (which each device
 * embeds and recovers with container_of) and its ops table.
 *
 * Threads and locks: the transport (mmio.c) runs register accesses on vCPU
 * threads and takes vd->lock around every call into the device ops;
 * notify() and back-end completions run on the event-loop thread and take
 * vd->lock too.  So device ops always run with vd->lock held and never
 * concurrently with each other.
 */
#ifndef CLONE_VIRTIO_VIRTIO_H
#define CLONE_VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/queue.h"

/* Device status bits (virtio 1.2 section 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

/* Transport feature bits (section 6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34

/* Device IDs (section 5). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_ID_VSOCK 19
#define VIRTIO_ID_FS 26

/* Interrupt causes (InterruptStatus bits of virtio-mmio, section 4.2.2). */
#define VIRTIO_INT_USED 1u
#define VIRTIO_INT_CONFIG 2u

#define VIRTIO_MAX_QUEUES 8

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;
	uint32_t type; /* VIRTIO_ID_* */
	unsigned nr_queues;
	uint16_t queue_size; /* QueueNumMax of every queue (a power of two) */
	size_t config_size;
	/*
	 * Queues served by a back end outside the VMM (vhost): bit q set means the
	 * placement does not poll queue q's kick eventfd (the device takes it with
	 * hooks.kick_fd) and notify() is never called for q.
	 */
	uint32_t backend_queues;
	/*
	 * false: the transport adds VERSION_1, INDIRECT_DESC and EVENT_IDX to what
	 * features() offers.  true: features() also says which of INDIRECT_DESC and
	 * EVENT_IDX the device's queues can carry (a back end may lack them); the
	 * transport still adds VERSION_1.
	 */
	bool ring_features_from_device;
	/* Device feature bits offered (see ring_features_from_device for bits 24..41). */
	uint64_t (*features)(struct virtio_dev *vd);
	/* DRIVER_OK: vd->features and the queues are final.  0, or -errno to fail the device. */
	int (*activate)(struct virtio_dev *vd);
	/* The driver wrote 0 to Status: stop using the queues, drop in-flight state. */
	void (*reset)(struct virtio_dev *vd);
	/* Queue q was kicked (event-loop thread). */
	void (*notify)(struct virtio_dev *vd, unsigned q);
	/* Device-specific configuration space; off + len <= config_size is checked by the transport. */
	void (*config_read)(struct virtio_dev *vd, unsigned off, void *buf, unsigned len);
	/* NULL: the space is read-only and writes are ignored. */
	void (*config_write)(struct virtio_dev *vd, unsigned off, const void *buf, unsigned len);
};

/*
 * Transport hooks, filled by whoever places the device (vmm glue, or a unit
 * test).  Both may be called with vd->lock held, from any thread.
 */
struct virtio_hooks {
	/* Raise the device's interrupt (after interrupt_status was updated). */
	void (*irq)(void *opaque);
	/* The driver wrote QueueNotify for q without an ioeventfd catching it. */
	void (*kick)(void *opaque, unsigned q);
	/*
	 * For devices with backend_queues (NULL elsewhere, or in tests without a
	 * back end): the eventfd that KVM signals when the driver kicks queue q,
	 * and the eventfd that raises the device's interrupt.  The fds stay owned
	 * by the placement; -errno when there is none.
	 */
	int (*kick_fd)(void *opaque, unsigned q);
	int (*irq_fd)(void *opaque);
	void *opaque;
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	const struct guest_mem *gm;
	pthread_mutex_t lock;
	struct virtq vqs[VIRTIO_MAX_QUEUES];
	uint64_t features;	   /* negotiated: offered & accepted by the driver */
	uint32_t status;	   /* the Status register */
	uint32_t interrupt_status; /* VIRTIO_INT_* pending; atomically updated */
	uint32_t config_generation;
	/* Transport registers (virtio-mmio). */
	uint64_t driver_features; /* DriverFeatures as written so far */
	uint32_t dev_features_sel;
	uint32_t drv_features_sel;
	uint32_t queue_sel;
	/*
	 * Set at creation by devices whose back end raises the interrupt itself
	 * (vhost writes the irqfd) without going through interrupt_status: reads
	 * of InterruptStatus then always include VIRTIO_INT_USED (see mmio.c).
	 */
	bool backend_irq;
	struct virtio_hooks hooks;
};

/*
 * Initialise vd for ops: everything zeroed (hooks included: set them
 * afterwards), the lock, queues bound to gm with QueueNum = queue_size.
 * -EINVAL for ops the transport cannot carry (too many queues, a queue size
 * that is not a power of two, over 256 bytes of config); 0 or -errno.
 */
int virtio_dev_init(struct virtio_dev *vd, const struct virtio_dev_ops *ops,
		    const struct guest_mem *gm);
void virtio_dev_destroy(struct virtio_dev *vd);

static inline bool virtio_has_feature(const struct virtio_dev *vd, unsigned bit)
{
	return (vd->features >> bit) & 1;
}

/*
 * After used buffers were pushed on queue q: raise the used-buffer interrupt
 * unless the driver suppressed it (VRING_AVAIL_F_NO_INTERRUPT or EVENT_IDX's
 * used_event).  vd->lock held.
 */
void virtio_dev_signal_used(struct virtio_dev *vd, unsigned q);
/* Raise the configuration-change interrupt (config_generation is bumped). */
void virtio_dev_config_changed(struct virtio_dev *vd);
/*
 * The driver broke the rules (a malformed chain...): set DEVICE_NEEDS_RESET
 * and notify it with a configuration-change interrupt (section 2.1.2).
 * Further notifications are ignored until the driver resets the device.
 * vd->lock held.  Logs rate-limited.
 */
void virtio_dev_needs_reset(struct virtio_dev *vd, const char *why);
/* True while the device may process its queues (DRIVER_OK, not NEEDS_RESET, not FAILED). */
bool virtio_dev_running(const struct virtio_dev *vd);

#endif
