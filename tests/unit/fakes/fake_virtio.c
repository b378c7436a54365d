// SPDX-License-Identifier: Apache-2.0
/*
 * The fake virtio device (see fake_virtio.h).  Test-only; its callbacks
 * run on the test's thread, under vd->lock as the transport promises.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "fake_virtio.h"
#include "lib/err.h"
#include "lib/util.h"

static void assert_locked(struct virtio_dev *v)
{
	cr_assert_eq(pthread_mutex_trylock(&v->lock), EBUSY, "device op called without vd->lock");
}

static uint64_t fd_features(struct virtio_dev *v)
{
	assert_locked(v);
	return FAKE_VIRTIO_DEV_BITS;
}

static int fd_activate(struct virtio_dev *v)
{
	struct fake_dev *d = container_of(v, struct fake_dev, vd);

	assert_locked(v);
	d->activates++;
	if (d->activate_ret)
		return err_setx(d->activate_ret, "fake activation failure");
	return 0;
}

static void fd_reset(struct virtio_dev *v)
{
	assert_locked(v);
	container_of(v, struct fake_dev, vd)->resets++;
}

static void fd_notify(struct virtio_dev *v, unsigned q)
{
	struct fake_dev *d = container_of(v, struct fake_dev, vd);

	assert_locked(v);
	d->notifies++;
	d->last_notify = q;
}

static void fd_config_read(struct virtio_dev *v, unsigned off, void *buf, unsigned len)
{
	assert_locked(v);
	cr_assert_leq(off + len, FAKE_VIRTIO_CONFIG_SIZE);
	memcpy(buf, container_of(v, struct fake_dev, vd)->config + off, len);
}

static void fd_config_write(struct virtio_dev *v, unsigned off, const void *buf, unsigned len)
{
	assert_locked(v);
	cr_assert_leq(off + len, FAKE_VIRTIO_CONFIG_SIZE);
	memcpy(container_of(v, struct fake_dev, vd)->config + off, buf, len);
}

const struct virtio_dev_ops fake_virtio_ops = {
	.name = "fake",
	.type = VIRTIO_ID_RNG,
	.nr_queues = 2,
	.queue_size = FAKE_VIRTIO_QSIZE,
	.config_size = FAKE_VIRTIO_CONFIG_SIZE,
	.features = fd_features,
	.activate = fd_activate,
	.reset = fd_reset,
	.notify = fd_notify,
	.config_read = fd_config_read,
	.config_write = fd_config_write,
};

static void hook_irq(void *opaque)
{
	((struct fake_dev *)opaque)->irqs++;
}

/* What the vmm glue does on the event loop: take the lock and notify. */
static void hook_kick(void *opaque, unsigned q)
{
	struct fake_dev *d = opaque;

	cr_assert_eq(pthread_mutex_trylock(&d->vd.lock), 0, "kick called with vd->lock held");
	d->kicks++;
	d->vd.ops->notify(&d->vd, q);
	pthread_mutex_unlock(&d->vd.lock);
}

int fake_virtio_init(struct fake_dev *d, const struct guest_mem *gm)
{
	int ret;

	memset(d, 0, sizeof(*d));
	ret = virtio_dev_init(&d->vd, &fake_virtio_ops, gm);
	if (ret)
		return ret;
	d->vd.hooks = (struct virtio_hooks){ .irq = hook_irq, .kick = hook_kick, .opaque = d };
	for (unsigned i = 0; i < FAKE_VIRTIO_CONFIG_SIZE; i++)
		d->config[i] = (uint8_t)(0xa0 + i);
	return 0;
}
