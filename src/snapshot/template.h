/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Templates: named snapshots in the user's data directory
 * ($XDG_DATA_HOME/clone/templates/NAME/, ~/.local/share/clone/... or
 * /var/lib/clone/templates for root), one directory each:
 *
 *   state        the state file (state.h): CPU, irqchip, devices, and a
 *                SNAP_SEC_META JSON document that this module reads and writes
 *   mem          guest RAM, sparse (memfile.h)
 *   mem.1 ...    layers of incremental snapshots, newest last
 *   disk-N.img   frozen copies of the disks the guest could write, taken
 *                with the snapshot (forks put a qcow2 overlay on them)
 *
 * Files in a template are never modified once written: a fork maps mem
 * MAP_PRIVATE, so changing the file would change every fork's memory.  A
 * new full snapshot under an existing name writes new files and renames
 * the directory over the old one (running forks keep the old files open).
 * Main thread; no globals.
 */
#ifndef CLONE_SNAPSHOT_TEMPLATE_H
#define CLONE_SNAPSHOT_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "snapshot/memfile.h"
#include "vmm/config.h"

#define TEMPLATE_NAME_MAX 63
#define TEMPLATE_MAX_LAYERS 64
#define TEMPLATE_MAX_DISKS (CONFIG_MAX_DISKS + 2)
#define TEMPLATE_MAX_DEVICES 16

struct template_disk {
	char serial[CONFIG_DISK_SERIAL_MAX + 1];
	bool ro;	   /* the guest sees it read-only */
	char path[4096];   /* ro: the original image (absolute) */
	char frozen[64];   /* writable: the frozen copy in the template directory */
	char format[8];	   /* "raw" or "qcow2": of path or frozen */
	uint64_t size;	   /* virtual size, bytes */
	uint64_t dev, ino; /* ro: the original's identity when the snapshot was taken */
	int64_t mtime_ns;
};

struct template_nic {
	enum nic_mode mode;
	uint8_t mac[6];
	char tap[32];	 /* NIC_TAP */
	char bridge[32]; /* NIC_BRIDGE, "" for the default */
};

struct template_meta {
	char name[TEMPLATE_NAME_MAX + 1];
	char source[64];      /* the VM it was taken from */
	uint64_t created;     /* Unix seconds of the newest snapshot */
	uint64_t realtime_ns; /* host CLOCK_REALTIME when the VM was paused for it */
	uint64_t mem_bytes;
	unsigned vcpus;
	uint64_t cid;
	bool ksm;
	bool no_vsock, agent_expected;
	char hostname[64];
	uint64_t generation; /* the identity page's generation in the snapshot */
	struct memfile_info mem[1 + TEMPLATE_MAX_LAYERS]; /* base, then layers */
	unsigned nr_mem;
	struct template_disk disks[TEMPLATE_MAX_DISKS];
	unsigned nr_disks;
	struct template_nic nics[CONFIG_MAX_NICS];
	unsigned nr_nics;
	uint32_t devices[TEMPLATE_MAX_DEVICES]; /* virtio device ID per slot */
	unsigned nr_devices;
	/*
	 * The guest's ACPI tables announce slots hotplug_first .. +hotplug_slots
	 * as hotplug slots (devices there are disks added after boot: a fork's
	 * --disk); a fork can add disks while slots are free.
	 */
	unsigned hotplug_first, hotplug_slots;
};

/* The templates directory (created 0700 when create is true).  0 or -errno with the message set. */
int template_root(char *buf, size_t len, bool create);
/* NAME's directory; -EINVAL for a bad name ([A-Za-z0-9][A-Za-z0-9_.-]*, ≤ 63). */
int template_dir(const char *name, char *buf, size_t len);
int template_check_name(const char *name);

/* The META document for m, and back (every field checked: -EINVAL with the message set). */
json_t *template_meta_to_json(const struct template_meta *m);
int template_meta_from_json(json_t *j, struct template_meta *m);

/*
 * Load NAME: its state file checked (state.h) and the META section
 * parsed.  r (may be NULL) keeps the state for the caller (snapr_free()).
 * 0, -ENOENT ("no template NAME (clone template list shows them)") or
 * -EINVAL with the message set.
 */
struct snap_reader;
int template_load(const char *name, struct template_meta *m, struct snap_reader *r);

/* Bytes the template's files occupy on disk (allocated blocks). */
uint64_t template_disk_usage(const char *dir);

/* Remove NAME and its files.  0, -ENOENT, or -errno with the message set. */
int template_remove(const char *name);

/*
 * Fill cfg for a VM made from m: memory, vCPUs, NICs (the template's
 * modes and, when keep_identity, MACs and the CID; a fork gets MACs
 * derived from its own name), disks (the template's), device flags.
 * Options the user gave in cfg win where they make sense (--net/--tap
 * backends for the template's NICs, --cid, --name); contradictions are
 * refused with a clear message: another number of NICs, --rootfs or a
 * kernel, more --disk than the template has free hotplug slots,
 * --mem-mb/--vcpus that differ.  cfg's --disk entries stay: they are
 * added after the template's devices.  0 or -EINVAL with the message set.
 */
int template_apply(const struct template_meta *m, struct vm_config *cfg, bool keep_identity);

#endif
