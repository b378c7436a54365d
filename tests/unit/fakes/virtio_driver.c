// SPDX-License-Identifier: Apache-2.0
/* The guest driver's side of virtio-mmio for tests and fuzzers. */
#include "virtio_driver.h"

#include "virtio/mmio.h"

/* Registers of the virtio-mmio transport (virtio 1.x, section 4.2.2). */
#define DEVICE_FEATURES 0x010
#define DEVICE_FEATURES_SEL 0x014
#define DRIVER_FEATURES 0x020
#define DRIVER_FEATURES_SEL 0x024
#define QUEUE_SEL 0x030
#define QUEUE_NUM 0x038
#define QUEUE_READY 0x044
#define STATUS 0x070
#define QUEUE_DESC_LO 0x080
#define QUEUE_DESC_HI 0x084
#define QUEUE_DRIVER_LO 0x090
#define QUEUE_DRIVER_HI 0x094
#define QUEUE_DEVICE_LO 0x0a0
#define QUEUE_DEVICE_HI 0x0a4

uint32_t drv_rd(struct virtio_dev *vd, unsigned off)
{
	uint32_t v = 0;

	virtio_mmio_ops.read(vd, off, &v, 4);
	return v;
}

void drv_wr(struct virtio_dev *vd, unsigned off, uint32_t v)
{
	virtio_mmio_ops.write(vd, off, &v, 4);
}

uint64_t drv_offered(struct virtio_dev *vd)
{
	uint64_t f;

	drv_wr(vd, DEVICE_FEATURES_SEL, 0);
	f = drv_rd(vd, DEVICE_FEATURES);
	drv_wr(vd, DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)drv_rd(vd, DEVICE_FEATURES) << 32;
}

uint32_t drv_negotiate(struct virtio_dev *vd, uint64_t f)
{
	drv_wr(vd, STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	drv_wr(vd, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	drv_wr(vd, DRIVER_FEATURES_SEL, 0);
	drv_wr(vd, DRIVER_FEATURES, (uint32_t)f);
	drv_wr(vd, DRIVER_FEATURES_SEL, 1);
	drv_wr(vd, DRIVER_FEATURES, (uint32_t)(f >> 32));
	drv_wr(vd, STATUS,
	       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return drv_rd(vd, STATUS);
}

void drv_queue(struct virtio_dev *vd, unsigned q, unsigned size, uint64_t desc, uint64_t avail,
	       uint64_t used)
{
	drv_wr(vd, QUEUE_SEL, q);
	drv_wr(vd, QUEUE_NUM, size);
	drv_wr(vd, QUEUE_DESC_LO, (uint32_t)desc);
	drv_wr(vd, QUEUE_DESC_HI, (uint32_t)(desc >> 32));
	drv_wr(vd, QUEUE_DRIVER_LO, (uint32_t)avail);
	drv_wr(vd, QUEUE_DRIVER_HI, (uint32_t)(avail >> 32));
	drv_wr(vd, QUEUE_DEVICE_LO, (uint32_t)used);
	drv_wr(vd, QUEUE_DEVICE_HI, (uint32_t)(used >> 32));
	drv_wr(vd, QUEUE_READY, 1);
}

uint32_t drv_driver_ok(struct virtio_dev *vd)
{
	drv_wr(vd, STATUS, drv_rd(vd, STATUS) | VIRTIO_STATUS_DRIVER_OK);
	return drv_rd(vd, STATUS);
}
