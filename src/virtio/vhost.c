// SPDX-License-Identifier: Apache-2.0
/*
 * The vhost-kernel back-end helper (see vhost.h).  Runs on whichever thread
 * the owning device runs on (the main thread at creation, a vCPU thread at
 * DRIVER_OK or reset, both under the device's vd->lock); holds no state
 * beyond struct vhost and takes no locks itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vhost.h>

#include "lib/err.h"
#include "lib/util.h"
#include "virtio/queue.h"
#include "virtio/vhost.h"
#include "vmm/mem.h"

/* ---- the real system calls ---- */

static int k_open(void *opaque, const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int k_ioctl(void *opaque, int fd, unsigned long req, void *arg)
{
	int ret = ioctl(fd, req, arg);

	return ret < 0 ? -errno : ret;
}

static void k_close(void *opaque, int fd)
{
	close(fd);
}

const struct vhost_ops vhost_kernel_ops = {
	.open = k_open,
	.ioctl = k_ioctl,
	.close = k_close,
};

/* ---- helpers ---- */

int vhost_call(struct vhost *h, unsigned long req, const char *name, void *arg)
{
	int ret;

	if (h->fd < 0)
		return err_setx(-EBADF, "%s on %s: the device is not open", name, h->path);
	ret = h->ops->ioctl(h->opaque, h->fd, req, arg);
	if (ret < 0)
		return err_set(ret, "%s on %s", name, h->path);
	return ret;
}

/* The module that provides a node, for the "cannot open" hint. */
static const char *module_of(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (!strcmp(base, "vhost-vsock"))
		return "vhost_vsock";
	if (!strcmp(base, "vhost-net"))
		return "vhost_net";
	return NULL;
}

int vhost_open(struct vhost *h, const char *path, const struct vhost_ops *ops, void *opaque)
{
	const char *mod;
	uint64_t f = 0;
	int ret;

	memset(h, 0, sizeof(*h));
	h->fd = -1;
	h->ops = ops ? ops : &vhost_kernel_ops;
	h->opaque = opaque;
	snprintf(h->path, sizeof(h->path), "%s", path);
	ret = h->ops->open(opaque, path);
	if (ret < 0) {
		mod = module_of(path);
		if (ret == -ENOENT && mod)
			return err_setx(ret, "cannot open %s: %s (load the %s module: modprobe %s)",
					path, strerror(-ret), mod, mod);
		if (ret == -EACCES || ret == -EPERM)
			return err_setx(
				ret,
				"cannot open %s: %s (the user running clone needs read-write "
				"access to it, e.g. through its group)",
				path, strerror(-ret));
		return err_set(ret, "cannot open %s", path);
	}
	h->fd = ret;
	/* The kernel refuses every other request until there is an owner. */
	ret = vhost_call(h, VHOST_SET_OWNER, "VHOST_SET_OWNER", NULL);
	if (ret < 0)
		return ret;
	ret = vhost_call(h, VHOST_GET_FEATURES, "VHOST_GET_FEATURES", &f);
	if (ret < 0)
		return ret;
	h->features = f;
	return 0;
}

void vhost_close(struct vhost *h)
{
	if (h->fd >= 0)
		h->ops->close(h->opaque, h->fd);
	h->fd = -1;
}

int vhost_set_features(struct vhost *h, uint64_t features)
{
	uint64_t f = features & h->features;
	int ret = vhost_call(h, VHOST_SET_FEATURES, "VHOST_SET_FEATURES", &f);

	return ret < 0 ? ret : 0;
}

int vhost_set_mem_table(struct vhost *h, const struct guest_mem *gm)
{
	struct vhost_memory *m;
	int ret;

	m = calloc(1, sizeof(*m) + GM_MAX_REGIONS * sizeof(m->regions[0]));
	if (!m)
		return err_set(-ENOMEM, "VHOST_SET_MEM_TABLE");
	for (unsigned i = 0; i < gm->nr && i < GM_MAX_REGIONS; i++) {
		m->regions[i] = (struct vhost_memory_region){
			.guest_phys_addr = gm->regions[i].gpa,
			.memory_size = gm->regions[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)gm->regions[i].hva,
		};
		m->nregions++;
	}
	ret = vhost_call(h, VHOST_SET_MEM_TABLE, "VHOST_SET_MEM_TABLE", m);
	free(m);
	return ret < 0 ? ret : 0;
}

/* Host address of [gpa, gpa+len) with the alignment a ring needs, or 0. */
static uint64_t ring_hva(const struct virtq *q, uint64_t gpa, uint64_t len, uint64_t align)
{
	void *p;

	if (gpa & (align - 1))
		return 0;
	p = gm_ptr(q->gm, gpa, len);
	return (uint64_t)(uintptr_t)p;
}

int vhost_set_vring(struct vhost *h, unsigned index, const struct virtq *q, uint16_t base,
		    int kick_fd, int call_fd)
{
	unsigned n = q->size;
	struct vhost_vring_state num = { .index = index, .num = n };
	struct vhost_vring_state st = { .index = index, .num = base };
	struct vhost_vring_file kick = { .index = index, .fd = kick_fd };
	struct vhost_vring_file call = { .index = index, .fd = call_fd };
	struct vhost_vring_addr addr = { .index = index, .flags = 0 };
	int ret;

	if (!n || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return err_setx(-EINVAL, "vring %u: size %u is not a power of two", index, n);
	/* Section 2.7: the ring sizes, with the event index fields counted always. */
	addr.desc_user_addr = ring_hva(q, q->desc_gpa, 16ull * n, 16);
	addr.avail_user_addr = ring_hva(q, q->avail_gpa, 4 + 2ull * n + 2, 2);
	addr.used_user_addr = ring_hva(q, q->used_gpa, 4 + 8ull * n + 2, 4);
	if (!addr.desc_user_addr || !addr.avail_user_addr || !addr.used_user_addr)
		return err_setx(-EINVAL,
				"vring %u: rings (desc %#llx avail %#llx used %#llx, size %u) are "
				"misaligned or not wholly in guest RAM",
				index, (unsigned long long)q->desc_gpa,
				(unsigned long long)q->avail_gpa, (unsigned long long)q->used_gpa,
				n);
	ret = vhost_call(h, VHOST_SET_VRING_NUM, "VHOST_SET_VRING_NUM", &num);
	if (ret >= 0)
		ret = vhost_call(h, VHOST_SET_VRING_BASE, "VHOST_SET_VRING_BASE", &st);
	if (ret >= 0)
		ret = vhost_call(h, VHOST_SET_VRING_ADDR, "VHOST_SET_VRING_ADDR", &addr);
	if (ret >= 0)
		ret = vhost_call(h, VHOST_SET_VRING_KICK, "VHOST_SET_VRING_KICK", &kick);
	if (ret >= 0)
		ret = vhost_call(h, VHOST_SET_VRING_CALL, "VHOST_SET_VRING_CALL", &call);
	return ret < 0 ? ret : 0;
}

int vhost_get_vring_base(struct vhost *h, unsigned index, uint16_t *base)
{
	struct vhost_vring_state st = { .index = index };
	int ret = vhost_call(h, VHOST_GET_VRING_BASE, "VHOST_GET_VRING_BASE", &st);

	if (ret < 0)
		return ret;
	*base = (uint16_t)st.num;
	return 0;
}
