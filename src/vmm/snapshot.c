// SPDX-License-Identifier: Apache-2.0
/*
 * Snapshot and restore of a whole VM (see snapshot.h): the order of the
 * steps, the dirty-page tracking for incremental snapshots, frozen disk
 * copies and the identity a restored VM gets.  The formats live in
 * snapshot/ (state file, memory files, template metadata); the KVM state
 * in arch/x86/kvm_state.c; each device saves itself.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/identity.h"
#include "arch/x86/kvm_state.h"
#include "arch/x86/layout.h"
#include "block/disk.h"
#include "devices/boot_timer.h"
#include "devices/i8042.h"
#include "devices/pm.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "lib/err.h"
#define LOG_TAG "snapshot"
#include "lib/log.h"
#include "lib/util.h"
#include "snapshot/memfile.h"
#include "snapshot/state.h"
#include "snapshot/template.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/vsock.h"
#include "snapshot.h"
#include "vm.h"

#define PAGE 4096u
#define PAGEMAP_SOFT_DIRTY (1ull << 55)
#define COPY_CHUNK (4u << 20)

/* What the VM remembers of its newest snapshot, for the next one to be a layer. */
struct vm_snap_track {
	char name[TEMPLATE_NAME_MAX + 1];
	uint8_t digest[32];	    /* of the state file it wrote */
	struct template_meta *meta; /* that state's metadata */
	bool logging;		    /* KVM dirty logging is on, soft-dirty bits were cleared */
};

void snapshot_track_free(struct vm *vm)
{
	if (!vm->snap)
		return;
	free(vm->snap->meta);
	free(vm->snap);
	vm->snap = NULL;
}

/* ---- identity ---- */

int snapshot_write_identity(struct vm *vm, const char *template_name)
{
	struct identity_page p;
	uint8_t genid[16];
	uint32_t present = 0;

	/* The hotplug slots in use: the guest's _STA reads this word (acpi.h). */
	for (unsigned slot = vm->hotplug_first; slot < vm->vdevs.nr; slot++)
		present |= 1u << ((slot - vm->hotplug_first) & 31);
	present = htole32(present);
	memset(&p, 0, sizeof(p));
	memcpy(p.magic, IDENTITY_MAGIC, sizeof(p.magic));
	p.version = htole32(IDENTITY_VERSION);
	p.size = htole32(sizeof(p));
	p.generation = htole64(vm->generation);
	p.cid = htole64(vm->vsock ? vsock_cid(vm->vsock) : 0);
	memcpy(p.vm_id, vm->vm_id, sizeof(p.vm_id));
	snprintf(p.name, sizeof(p.name), "%s", vm->cfg->name ? vm->cfg->name : "");
	snprintf(p.hostname, sizeof(p.hostname), "%s", vm->cfg->name ? vm->cfg->name : "");
	snprintf(p.template_name, sizeof(p.template_name), "%s",
		 template_name ? template_name : "");
	if (getrandom(p.entropy, sizeof(p.entropy), 0) != (ssize_t)sizeof(p.entropy) ||
	    getrandom(genid, sizeof(genid), 0) != (ssize_t)sizeof(genid))
		return err_set(-errno, "getrandom");
	if (gm_write(&vm->mem, LAYOUT_IDENTITY, &p, sizeof(p)) ||
	    gm_write(&vm->mem, LAYOUT_VMGENID, genid, sizeof(genid)) ||
	    gm_write(&vm->mem, LAYOUT_HOTPLUG, &present, sizeof(present)))
		return err_setx(-EFAULT, "the identity page is not in guest RAM");
	return 0;
}

/* ---- dirty pages ---- */

static uint64_t ram_pages(const struct vm *vm)
{
	return vm->mem.ram_size / PAGE;
}

static int set_dirty_logging(struct vm *vm, bool on)
{
	for (unsigned i = 0; i < vm->mem.nr; i++) {
		const struct gm_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region kr = {
			.slot = i,
			.flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};

		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0)
			return err_set(-errno, "KVM_SET_USER_MEMORY_REGION (dirty logging) slot %u",
				       i);
	}
	return 0;
}

static int clear_soft_dirty(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return err_set(-errno, "/proc/self/clear_refs");
	if (write(fd, "4", 1) != 1)
		ret = err_set(-errno, "clearing soft-dirty bits (/proc/self/clear_refs)");
	close(fd);
	return ret;
}

/* Start tracking from now: KVM's log on and reset, soft-dirty bits cleared. */
static int dirty_start(struct vm *vm)
{
	int ret;

	/*
	 * Soft-dirty bits of a huge page cover 2 MiB: keep the RAM in 4 KiB
	 * pages (no new huge pages; existing ones split by changing one page's
	 * protection and back) so a layer holds what was written, not its
	 * neighbourhood.  KVM maps a logged slot with 4 KiB pages anyway.
	 */
	if (madvise(vm->mem.map, vm->mem.ram_size, MADV_NOHUGEPAGE) < 0)
		log_debug("madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
	for (uint64_t off = 0; off < vm->mem.ram_size; off += 2 << 20) {
		uint8_t *p = vm->mem.map + off;

		if (mprotect(p, PAGE, PROT_READ) < 0 ||
		    mprotect(p, PAGE, PROT_READ | PROT_WRITE) < 0)
			return err_set(-errno, "splitting huge pages of guest memory");
	}
	ret = set_dirty_logging(vm, true);

	if (!ret)
		ret = clear_soft_dirty();
	return ret;
}

/* OR KVM's dirty log of every slot into bm (and reset it). */
static int collect_kvm_log(struct vm *vm, uint64_t *bm)
{
	for (unsigned i = 0; i < vm->mem.nr; i++) {
		const struct gm_region *r = &vm->mem.regions[i];
		uint64_t first = (uint64_t)(r->hva - vm->mem.map) / PAGE, n = r->size / PAGE;
		uint64_t *log = calloc((n + 63) / 64, sizeof(*log));
		struct kvm_dirty_log dl = { .slot = i, .dirty_bitmap = log };

		if (!log)
			return err_set(-ENOMEM, "dirty bitmap");
		if (ioctl(vm->fd, KVM_GET_DIRTY_LOG, &dl) < 0) {
			int ret = err_set(-errno, "KVM_GET_DIRTY_LOG slot %u", i);

			free(log);
			return ret;
		}
		for (uint64_t p = 0; p < n; p++)
			if (log[p / 64] & (1ull << (p % 64)))
				bm[(first + p) / 64] |= 1ull << ((first + p) % 64);
		free(log);
	}
	return 0;
}

/* OR the soft-dirty bits of the RAM's pages into bm (then clear them for next time). */
static int collect_soft_dirty(struct vm *vm, uint64_t *bm)
{
	enum { BATCH = 4096 };
	uint64_t *ent = malloc(BATCH * sizeof(*ent)), total = ram_pages(vm);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC), ret = 0;

	if (!ent || fd < 0) {
		ret = fd < 0 ? err_set(-errno, "/proc/self/pagemap") : err_set(-ENOMEM, "pagemap");
		goto out;
	}
	for (uint64_t p = 0; p < total; p += BATCH) {
		uint64_t n = MIN((uint64_t)BATCH, total - p);
		off_t off = (off_t)(((uintptr_t)vm->mem.map / PAGE + p) * sizeof(*ent));
		ssize_t got = pread(fd, ent, n * sizeof(*ent), off);

		if (got != (ssize_t)(n * sizeof(*ent))) {
			ret = err_set(got < 0 ? -errno : -EIO, "reading /proc/self/pagemap");
			goto out;
		}
		for (uint64_t i = 0; i < n; i++)
			if (ent[i] & PAGEMAP_SOFT_DIRTY)
				bm[(p + i) / 64] |= 1ull << ((p + i) % 64);
	}
	ret = clear_soft_dirty();
out:
	if (fd >= 0)
		close(fd);
	free(ent);
	return ret;
}

/* ---- frozen disk copies ---- */

static int copy_range(int in, int out, off_t from, off_t to, uint8_t *buf)
{
	while (from < to) {
		size_t n = (size_t)MIN((off_t)COPY_CHUNK, to - from);
		ssize_t got = copy_file_range(in, &(loff_t){ from }, out, &(loff_t){ from }, n, 0);

		if (got < 0 &&
		    (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
			got = pread(in, buf, n, from);
			if (got > 0 && pwrite(out, buf, (size_t)got, from) != got)
				got = -1;
		}
		if (got <= 0)
			return got < 0 ? -errno : -EIO;
		from += got;
	}
	return 0;
}

/* Copy the image behind d (flushed) into dirfd/name, holes kept; *bytes = data copied. */
static int freeze_disk(struct disk *d, int dirfd, const char *name, uint64_t *bytes)
{
	uint8_t *buf = malloc(COPY_CHUNK);
	struct stat st;
	off_t pos = 0;
	int out = -1, ret;

	if (!buf)
		return err_set(-ENOMEM, "copy buffer");
	ret = disk_flush(d);
	if (ret)
		goto out;
	if (fstat(d->fd, &st) < 0) {
		ret = err_set(-errno, "%s", d->path);
		goto out;
	}
	out = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0 || ftruncate(out, st.st_size) < 0) {
		ret = err_set(-errno, "frozen copy of %s", d->path);
		goto out;
	}
	while (pos < st.st_size) {
		off_t data = lseek(d->fd, pos, SEEK_DATA), hole;

		if (data < 0)
			break; /* ENXIO: no more data */
		hole = lseek(d->fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = st.st_size;
		ret = copy_range(d->fd, out, data, hole, buf);
		if (ret) {
			ret = err_set(ret, "copying %s", d->path);
			goto out;
		}
		*bytes += (uint64_t)(hole - data);
		pos = hole;
	}
	if (fsync(out) < 0)
		ret = err_set(-errno, "fsync of the frozen copy of %s", d->path);
out:
	if (out >= 0)
		close(out);
	if (ret && out >= 0)
		unlinkat(dirfd, name, 0);
	free(buf);
	return ret;
}

/* Record the VM's disks in m: read-only ones by path, writable ones as frozen copies. */
static int snapshot_disks(struct vm *vm, int dirfd, struct template_meta *m, unsigned layer,
			  uint64_t *bytes)
{
	m->nr_disks = 0;
	for (unsigned i = 0; i < vm->nr_blks; i++) {
		struct template_disk *td = &m->disks[m->nr_disks++];
		struct disk *d = vm->disk_refs[i].disk;
		struct stat st;
		int ret;

		memset(td, 0, sizeof(*td));
		snprintf(td->serial, sizeof(td->serial), "%s", vm->disk_refs[i].serial);
		snprintf(td->format, sizeof(td->format), "%s", d->ops->name);
		td->ro = vm->disk_refs[i].ro;
		td->size = d->size;
		if (td->ro) {
			if (!realpath(d->path, td->path) || stat(td->path, &st) < 0)
				return err_set(-errno, "%s", d->path);
			td->dev = st.st_dev;
			td->ino = st.st_ino;
			td->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
			continue;
		}
		if (!strcmp(d->ops->name, "qcow2") && vm->disk_refs[i].has_backing)
			return err_setx(-ENOTSUP,
					"disk %s is a qcow2 image with a backing file: a snapshot "
					"cannot freeze it (use a standalone image)",
					d->path);
		snprintf(td->frozen, sizeof(td->frozen), "disk-%u.%u.%s", i, layer,
			 !strcmp(td->format, "qcow2") ? "qcow2" : "img");
		ret = freeze_disk(d, dirfd, td->frozen, bytes);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- device and CPU state ---- */

enum dev_kind { DEV_NONE, DEV_BLK, DEV_NET, DEV_VSOCK };

struct dev_ref {
	enum dev_kind kind;
	struct blk *blk;
	struct net *net;
};

static struct dev_ref find_dev(struct vm *vm, struct virtio_dev *vd)
{
	for (unsigned i = 0; i < vm->nr_blks; i++)
		if (blk_virtio(vm->blks[i]) == vd)
			return (struct dev_ref){ .kind = DEV_BLK, .blk = vm->blks[i] };
	for (unsigned i = 0; i < vm->net.nr; i++)
		if (vm->net.nics[i].dev && net_virtio(vm->net.nics[i].dev) == vd)
			return (struct dev_ref){ .kind = DEV_NET, .net = vm->net.nics[i].dev };
	if (vm->vsock && vsock_virtio(vm->vsock) == vd)
		return (struct dev_ref){ .kind = DEV_VSOCK };
	return (struct dev_ref){ .kind = DEV_NONE };
}

/* Stop every device's I/O so that guest memory and the rings stay still. */
static int quiesce(struct vm *vm)
{
	int ret = 0;

	for (unsigned i = 0; i < vm->nr_blks; i++) {
		blk_drain(vm->blks[i]);
		blk_complete_pending(vm->blks[i]);
	}
	for (unsigned i = 0; !ret && i < vm->net.nr; i++)
		if (vm->net.nics[i].dev)
			ret = net_pause(vm->net.nics[i].dev);
	if (!ret && vm->vsock)
		ret = vsock_pause(vm->vsock);
	return ret;
}

static void unquiesce(struct vm *vm)
{
	for (unsigned i = 0; i < vm->net.nr; i++)
		if (vm->net.nics[i].dev && net_resume(vm->net.nics[i].dev))
			log_warn("resuming %s: %s", vm->net.nics[i].id, err_msg());
	if (vm->vsock && vsock_resume(vm->vsock))
		log_warn("resuming vsock: %s", err_msg());
}

static int save_blob(struct snap_writer *w, uint32_t id, uint32_t inst, int ret, void *blob,
		     size_t len)
{
	if (!ret)
		snapw_add(w, id, inst, blob, len);
	free(blob);
	return ret;
}

static int save_machine(struct vm *vm, struct snap_writer *w, struct template_meta *m)
{
	struct serial_state ss;
	struct rtc_state rs;
	struct i8042_state is;
	struct pm_state ps;
	struct boot_timer_state bs;
	void *blob = NULL;
	size_t len = 0;
	int ret;

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		ret = kvmstate_vcpu_save(vm->kvm.fd, vm->vcpus[i].fd, &blob, &len);
		ret = save_blob(w, SNAP_SEC_VCPU, i, ret, blob, len);
		if (ret)
			return ret;
	}
	ret = kvmstate_vm_save(vm->fd, &blob, &len);
	ret = save_blob(w, SNAP_SEC_VM, 0, ret, blob, len);
	if (ret)
		return ret;
	serial_save(vm->serial, &ss);
	snapw_add(w, SNAP_SEC_SERIAL, 0, &ss, sizeof(ss));
	rtc_save(vm->rtc, &rs);
	snapw_add(w, SNAP_SEC_RTC, 0, &rs, sizeof(rs));
	i8042_save(vm->i8042, &is);
	snapw_add(w, SNAP_SEC_I8042, 0, &is, sizeof(is));
	pm_save(vm->pm, &ps);
	snapw_add(w, SNAP_SEC_PM, 0, &ps, sizeof(ps));
	boot_timer_save(vm->boot_timer, &bs);
	snapw_add(w, SNAP_SEC_BOOT_TIMER, 0, &bs, sizeof(bs));

	m->nr_devices = 0;
	m->hotplug_first = vm->hotplug_first;
	m->hotplug_slots = vm->hotplug_slots;
	for (unsigned slot = 0; slot < vm->vdevs.nr; slot++) {
		struct virtio_dev *vd = vm->vdevs.devs[slot].vd;
		struct dev_ref d = find_dev(vm, vd);
		struct virtio_mmio_state ts;

		m->devices[m->nr_devices++] = vd->ops->type;
		virtio_mmio_save(vd, &ts);
		snapw_add(w, SNAP_SEC_VIRTIO, slot, &ts, sizeof(ts));
		if (d.kind == DEV_BLK) {
			struct blk_state s;

			blk_save(d.blk, &s);
			snapw_add(w, SNAP_SEC_BLK, slot, &s, sizeof(s));
		} else if (d.kind == DEV_NET) {
			struct net_state s;

			net_save(d.net, &s);
			snapw_add(w, SNAP_SEC_NET, slot, &s, sizeof(s));
		} else if (d.kind == DEV_VSOCK) {
			struct vsock_state s;

			vsock_save(vm->vsock, &s);
			snapw_add(w, SNAP_SEC_VSOCK, slot, &s, sizeof(s));
		} else {
			return err_setx(-ENOTSUP,
					"virtio device %s in slot %u cannot be snapshotted",
					vd->ops->name, slot);
		}
	}
	return 0;
}

/* ---- the snapshot ---- */

static void fill_meta(struct vm *vm, struct template_meta *m, const char *name, uint64_t rt)
{
	const struct vm_config *c = vm->cfg;

	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->source, sizeof(m->source), "%s", c->name ? c->name : "");
	snprintf(m->hostname, sizeof(m->hostname), "%s", c->name ? c->name : "");
	m->created = rt / 1000000000ull;
	m->realtime_ns = rt;
	m->mem_bytes = vm->mem.ram_size;
	m->vcpus = vm->nr_vcpus;
	m->cid = vm->vsock ? vsock_cid(vm->vsock) : 0;
	m->ksm = c->ksm;
	m->no_vsock = !vm->vsock;
	m->agent_expected = vm->agent_expected;
	m->generation = vm->generation;
	m->nr_nics = vm->net.nr;
	for (unsigned i = 0; i < vm->net.nr; i++) {
		struct template_nic *tn = &m->nics[i];

		memset(tn, 0, sizeof(*tn));
		tn->mode = c->nics[i].mode;
		memcpy(tn->mac, vm->net.nics[i].mac, 6);
		if (c->nics[i].tap)
			snprintf(tn->tap, sizeof(tn->tap), "%s", c->nics[i].tap);
		if (c->nics[i].bridge)
			snprintf(tn->bridge, sizeof(tn->bridge), "%s", c->nics[i].bridge);
	}
}

/* Copy the layers' extent lists of the previous state into w. */
static int carry_layers(const char *dir, struct snap_writer *w, unsigned nr_layers)
{
	char path[PATH_MAX + 16];
	struct snap_reader r;
	int ret;

	snprintf(path, sizeof(path), "%s/state", dir);
	ret = snapr_load(&r, path);
	if (ret)
		return ret;
	for (unsigned l = 1; l <= nr_layers; l++) {
		size_t len;
		const void *p = snapr_find(&r, SNAP_SEC_LAYER, l, &len);

		if (!p) {
			snapr_free(&r);
			return err_setx(-EINVAL, "%s: layer %u has no extent list", path, l);
		}
		snapw_add(w, SNAP_SEC_LAYER, l, p, len);
	}
	snapr_free(&r);
	return 0;
}

static int write_meta(struct snap_writer *w, const struct template_meta *m)
{
	json_t *j = template_meta_to_json(m);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (!s)
		return err_set(-ENOMEM, "snapshot metadata");
	snapw_add(w, SNAP_SEC_META, 0, s, strlen(s));
	free(s);
	return 0;
}

/* Whether the previous snapshot of this VM is the newest state of template name. */
static bool can_layer(struct vm *vm, const char *dir, const char *name)
{
	struct vm_snap_track *t = vm->snap;
	char path[PATH_MAX + 16];
	struct snap_reader r;
	bool same;

	if (!t || !t->logging || strcmp(t->name, name) ||
	    t->meta->nr_mem >= 1 + TEMPLATE_MAX_LAYERS)
		return false;
	snprintf(path, sizeof(path), "%s/state", dir);
	if (snapr_load(&r, path))
		return false;
	same = !memcmp(r.digest, t->digest, sizeof(t->digest));
	snapr_free(&r);
	return same;
}

static int remember(struct vm *vm, const char *dir, const char *name, const struct template_meta *m)
{
	char path[PATH_MAX + 16];
	struct snap_reader r;
	int ret;

	if (!vm->snap) {
		vm->snap = calloc(1, sizeof(*vm->snap));
		if (!vm->snap)
			return err_set(-ENOMEM, "snapshot tracking");
	}
	if (!vm->snap->meta) {
		vm->snap->meta = malloc(sizeof(*m));
		if (!vm->snap->meta)
			return err_set(-ENOMEM, "snapshot tracking");
	}
	*vm->snap->meta = *m;
	snprintf(vm->snap->name, sizeof(vm->snap->name), "%s", name);
	snprintf(path, sizeof(path), "%s/state", dir);
	ret = snapr_load(&r, path);
	if (ret)
		return ret;
	memcpy(vm->snap->digest, r.digest, sizeof(r.digest));
	snapr_free(&r);
	return 0;
}

/* rm -r of a template directory's files (one level). */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(dir);
}

/* Frozen disk copies no state refers to any more (the previous state's). */
static void drop_old_disks(int dirfd, const struct template_meta *old,
			   const struct template_meta *m)
{
	for (unsigned i = 0; i < old->nr_disks; i++) {
		bool used = false;

		if (!old->disks[i].frozen[0])
			continue;
		for (unsigned j = 0; j < m->nr_disks; j++)
			used |= !strcmp(old->disks[i].frozen, m->disks[j].frozen);
		if (!used)
			unlinkat(dirfd, old->disks[i].frozen, 0);
	}
}

static int snapshot_paused(struct vm *vm, const struct vm_snapshot_req *req,
			   struct vm_snapshot_res *res, struct template_meta *m, uint64_t rt)
{
	char root[PATH_MAX], dir[PATH_MAX], work[PATH_MAX + 32];
	struct snap_writer w;
	uint64_t *dirty = NULL;
	bool layer, logging = vm->snap && vm->snap->logging;
	int dirfd = -1, ret;

	ret = template_root(root, sizeof(root), true);
	if (!ret)
		ret = template_dir(req->name, dir, sizeof(dir));
	if (ret)
		return ret;
	snprintf(res->dir, sizeof(res->dir), "%s", dir);
	layer = !req->full && can_layer(vm, dir, req->name);
	snapw_init(&w);
	if (layer) {
		*m = *vm->snap->meta;
		snprintf(work, sizeof(work), "%s", dir);
	} else {
		memset(m, 0, sizeof(*m));
		snprintf(work, sizeof(work), "%s/.%s.new-%d", root, req->name, (int)getpid());
		remove_dir(work);
		if (mkdir(work, 0700) < 0)
			return err_set(-errno, "mkdir %s", work);
	}
	dirfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		ret = err_set(-errno, "%s", work);
		goto out;
	}
	/* CPU and devices first: their clocks then match the pause, not the end of the writing. */
	ret = save_machine(vm, &w, m);
	if (ret)
		goto out;
	if (layer) {
		unsigned l = m->nr_mem;
		struct memfile_info *info = &m->mem[l];
		struct snap_extent *ext = NULL;
		size_t nr_ext = 0;
		char name[32];

		dirty = calloc((ram_pages(vm) + 63) / 64, sizeof(*dirty));
		if (!dirty) {
			ret = err_set(-ENOMEM, "dirty bitmap");
			goto out;
		}
		ret = collect_kvm_log(vm, dirty);
		if (!ret)
			ret = collect_soft_dirty(vm, dirty);
		snprintf(name, sizeof(name), "mem.%u", l);
		if (!ret)
			ret = memfile_write_layer(&vm->mem, dirty, dirfd, name, info, &ext,
						  &nr_ext);
		if (!ret) {
			snapw_add(&w, SNAP_SEC_LAYER, l, ext, nr_ext * sizeof(*ext));
			ret = carry_layers(dir, &w, l - 1);
		}
		free(ext);
		if (ret)
			goto out;
		m->nr_mem = l + 1;
		res->incremental = true;
		res->layer = l;
	} else {
		ret = memfile_write_full(&vm->mem, dirfd, "mem", &m->mem[0]);
		if (ret)
			goto out;
		m->nr_mem = 1;
	}
	res->mem_bytes = m->mem[m->nr_mem - 1].allocated;
	/* From here on the next snapshot can be a layer over this one. */
	if (!logging) {
		ret = dirty_start(vm);
		logging = !ret;
		if (ret) {
			log_warn("%s: later snapshots of this VM will be full ones", err_msg());
			set_dirty_logging(vm, false);
			ret = 0;
		}
	}
	{
		struct template_meta *old = layer ? vm->snap->meta : NULL;

		fill_meta(vm, m, req->name, rt);
		ret = snapshot_disks(vm, dirfd, m, m->nr_mem - 1, &res->disk_bytes);
		if (!ret)
			ret = write_meta(&w, m);
		if (!ret)
			ret = snapw_commit(&w, dirfd, "state");
		if (ret)
			goto out;
		if (old)
			drop_old_disks(dirfd, old, m);
	}
	if (!layer) {
		/* Put the new directory in place, the old one (if any) out of the way. */
		if (renameat2(AT_FDCWD, work, AT_FDCWD, dir, RENAME_EXCHANGE) == 0) {
			remove_dir(work);
		} else if (errno == ENOENT) {
			if (rename(work, dir) < 0) {
				ret = err_set(-errno, "rename %s to %s", work, dir);
				goto out;
			}
		} else {
			ret = err_set(-errno, "replacing %s", dir);
			goto out;
		}
	}
	ret = remember(vm, dir, req->name, m);
	if (!ret)
		vm->snap->logging = logging;
out:
	/* The dirty pages collected are gone: the next snapshot must be a full one. */
	if (ret && vm->snap)
		vm->snap->name[0] = '\0';
	if (dirfd >= 0)
		close(dirfd);
	if (ret && !layer)
		remove_dir(work);
	snapw_free(&w);
	free(dirty);
	return ret;
}

int vm_snapshot(struct vm *vm, const struct vm_snapshot_req *req, struct vm_snapshot_res *res)
{
	bool was_paused = vm_paused(vm);
	struct template_meta *m;
	uint64_t t0, rt;
	int ret;

	memset(res, 0, sizeof(*res));
	ret = template_check_name(req->name);
	if (ret)
		return ret;
	m = malloc(sizeof(*m));
	if (!m)
		return err_set(-ENOMEM, "snapshot metadata");
	if (!was_paused) {
		ret = vm_pause(vm);
		if (ret) {
			free(m);
			return ret;
		}
	}
	t0 = monotonic_ns();
	rt = realtime_ns();
	ret = quiesce(vm);
	if (!ret)
		ret = snapshot_paused(vm, req, res, m, rt);
	unquiesce(vm);
	res->pause_ms = (monotonic_ns() - t0) / 1000000;
	free(m);
	if (!ret && req->stop) {
		log_info("snapshot %s taken; the VM stops", req->name);
		vm_request_exit(vm, VM_EXIT_POWEROFF, 0);
	} else if (!was_paused) {
		vm_resume(vm);
	}
	if (!ret)
		log_info("snapshot %s: %s, %llu MiB of memory, %llu ms paused", req->name,
			 res->incremental ? "incremental" : "full",
			 (unsigned long long)(res->mem_bytes >> 20),
			 (unsigned long long)res->pause_ms);
	return ret;
}

/* ---- restore ---- */

int snapshot_map_memory(struct vm *vm, const struct template_meta *m, const struct snap_reader *r)
{
	struct memfile_layer layers[1 + TEMPLATE_MAX_LAYERS];
	char dir[PATH_MAX];
	int dfd, ret;

	if (m->mem_bytes != vm->mem.ram_size)
		return err_setx(-EINVAL, "template %s has %llu MiB of memory, the VM %llu", m->name,
				(unsigned long long)(m->mem_bytes >> 20),
				(unsigned long long)(vm->mem.ram_size >> 20));
	ret = template_dir(m->name, dir, sizeof(dir));
	if (ret)
		return ret;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_set(-errno, "%s", dir);
	memset(layers, 0, sizeof(layers));
	for (unsigned i = 0; i < m->nr_mem; i++)
		layers[i].fd = -1;
	for (unsigned i = 0; i < m->nr_mem; i++) {
		bool hashed;

		ret = memfile_check(dfd, &m->mem[i], &hashed);
		if (ret)
			goto out;
		if (hashed)
			log_info("template %s: %s verified by its checksum (the file was copied or "
				 "touched)",
				 m->name, m->mem[i].name);
		layers[i].fd = openat(dfd, m->mem[i].name, O_RDONLY | O_CLOEXEC);
		if (layers[i].fd < 0) {
			ret = err_set(-errno, "%s/%s", dir, m->mem[i].name);
			goto out;
		}
		if (i) {
			size_t len;
			const void *p = snapr_find(r, SNAP_SEC_LAYER, i, &len);

			if (!p || len % sizeof(struct snap_extent)) {
				ret = err_setx(-EINVAL,
					       "template %s: layer %u has no valid extent list",
					       m->name, i);
				goto out;
			}
			layers[i].ext = p;
			layers[i].nr_ext = len / sizeof(struct snap_extent);
		}
	}
	ret = memfile_map(&vm->mem, layers, m->nr_mem);
	if (!ret && vm->cfg->ksm && madvise(vm->mem.map, vm->mem.ram_size, MADV_MERGEABLE) < 0)
		log_warn("madvise(MADV_MERGEABLE): %s", strerror(errno));
out:
	for (unsigned i = 0; i < m->nr_mem; i++)
		if (layers[i].fd >= 0)
			close(layers[i].fd);
	close(dfd);
	return ret;
}

static int get_sec(const struct snap_reader *r, uint32_t id, uint32_t inst, void *out, size_t size,
		   const char *what)
{
	int ret = snapr_get(r, id, inst, out, size);

	if (ret == -ENOENT)
		return err_setx(-EINVAL, "the template's state has no %s", what);
	return ret;
}

static int restore_devices(struct vm *vm, const struct template_meta *m,
			   const struct snap_reader *r)
{
	struct serial_state ss;
	struct rtc_state rs;
	struct i8042_state is;
	struct pm_state ps;
	struct boot_timer_state bs;
	int ret;

	/* The template's devices come first; disks added after them are new to the guest. */
	if (m->nr_devices > vm->vdevs.nr)
		return err_setx(-EINVAL, "the template has %u virtio devices, this VM %u",
				m->nr_devices, vm->vdevs.nr);
	for (unsigned slot = 0; slot < m->nr_devices; slot++) {
		struct virtio_dev *vd = vm->vdevs.devs[slot].vd;
		struct dev_ref d = find_dev(vm, vd);
		struct virtio_mmio_state ts;

		if (vd->ops->type != m->devices[slot])
			return err_setx(
				-EINVAL,
				"virtio slot %u: the template has device type %u, this VM %s", slot,
				m->devices[slot], vd->ops->name);
		ret = get_sec(r, SNAP_SEC_VIRTIO, slot, &ts, sizeof(ts), "virtio transport");
		if (!ret)
			ret = virtio_mmio_restore(vd, &ts);
		if (ret)
			return ret;
		if (d.kind == DEV_BLK) {
			struct blk_state s;

			ret = get_sec(r, SNAP_SEC_BLK, slot, &s, sizeof(s), "virtio-blk state");
			if (!ret)
				ret = blk_restore(d.blk, &s);
		} else if (d.kind == DEV_NET) {
			struct net_state s;

			ret = get_sec(r, SNAP_SEC_NET, slot, &s, sizeof(s), "virtio-net state");
			if (!ret)
				ret = net_restore(d.net, &s);
		} else if (d.kind == DEV_VSOCK) {
			struct vsock_state s;

			ret = get_sec(r, SNAP_SEC_VSOCK, slot, &s, sizeof(s), "virtio-vsock state");
			/* Keep the CID this VM claimed; the reset below tells the guest. */
			s.cid = htole64(vsock_cid(vm->vsock));
			if (!ret)
				ret = vsock_restore(vm->vsock, &s);
		}
		if (ret)
			return ret;
	}
	ret = get_sec(r, SNAP_SEC_SERIAL, 0, &ss, sizeof(ss), "serial state");
	if (!ret)
		ret = serial_restore(vm->serial, &ss);
	if (!ret)
		ret = get_sec(r, SNAP_SEC_RTC, 0, &rs, sizeof(rs), "RTC state");
	if (!ret)
		ret = rtc_restore(vm->rtc, &rs);
	if (!ret)
		ret = get_sec(r, SNAP_SEC_I8042, 0, &is, sizeof(is), "i8042 state");
	if (!ret)
		ret = i8042_restore(vm->i8042, &is);
	if (!ret)
		ret = get_sec(r, SNAP_SEC_PM, 0, &ps, sizeof(ps), "ACPI PM state");
	if (!ret)
		ret = pm_restore(vm->pm, &ps);
	if (!ret)
		ret = get_sec(r, SNAP_SEC_BOOT_TIMER, 0, &bs, sizeof(bs), "boot timer state");
	if (!ret)
		ret = boot_timer_restore(vm->boot_timer, &bs);
	return ret;
}

/* An edge on the GED's interrupt: the guest re-reads the VMGenID. */
static void notify_vmgenid(struct vm *vm)
{
	struct kvm_irq_level irq = { .irq = IRQ_GED, .level = 1 };

	if (ioctl(vm->fd, KVM_IRQ_LINE, &irq) < 0)
		log_warn("VMGenID notification: %s", strerror(errno));
	irq.level = 0;
	(void)ioctl(vm->fd, KVM_IRQ_LINE, &irq);
}

int snapshot_restore(struct vm *vm, const struct template_meta *m, const struct snap_reader *r)
{
	struct kvmstate_vm_info info;
	uint64_t now, advance;
	const void *blob;
	size_t len;
	int ret;

	/* The clocks move on by the wall time since they were captured. */
	blob = snapr_find(r, SNAP_SEC_VM, 0, &len);
	if (!blob)
		return err_setx(-EINVAL, "the template's state has no VM state");
	ret = kvmstate_vm_parse(blob, len, &info);
	if (ret)
		return ret;
	now = realtime_ns();
	advance = now > info.realtime_ns ? now - info.realtime_ns : 0;

	if (m->vcpus != vm->nr_vcpus)
		return err_setx(-EINVAL, "the template has %u vCPUs, the VM %u", m->vcpus,
				vm->nr_vcpus);
	ret = restore_devices(vm, m, r);
	if (ret)
		return ret;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		blob = snapr_find(r, SNAP_SEC_VCPU, i, &len);
		if (!blob)
			return err_setx(-EINVAL, "the template's state has no vCPU %u", i);
		ret = kvmstate_vcpu_restore(vm->vcpus[i].fd, blob, len, advance);
		if (ret)
			return ret;
	}
	blob = snapr_find(r, SNAP_SEC_VM, 0, &len);
	if (!blob)
		return err_setx(-EINVAL, "the template's state has no VM state");
	ret = kvmstate_vm_restore(vm->fd, blob, len, advance);
	if (ret)
		return ret;
	/* The pause was deliberate: no soft-lockup reports for it. */
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (ioctl(vm->vcpus[i].fd, KVM_KVMCLOCK_CTRL, 0) < 0 && errno != EINVAL)
			log_debug("KVM_KVMCLOCK_CTRL vCPU %u: %s", i, strerror(errno));
	vm->generation = m->generation + 1;
	ret = snapshot_write_identity(vm, m->name);
	if (ret)
		return ret;
	notify_vmgenid(vm);
	if (vm->vsock)
		vsock_transport_reset(vm->vsock);
	log_info("restored from template %s (generation %llu, clocks moved %.3f s forward)",
		 m->name, (unsigned long long)vm->generation, (double)advance / 1e9);
	return 0;
}
