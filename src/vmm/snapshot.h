/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshots of a running VM into a template (snapshot/template.h) and the
 * way back: a VM built from a template (restore or fork) gets the
 * template's memory mapped MAP_PRIVATE and its CPU, irqchip, clock and
 * device state loaded before its first instruction, plus its own identity
 * (identity page, VMGenID, vsock CID, MACs) and clocks moved to now.
 *
 * A snapshot pauses the vCPUs, quiesces the devices (block requests
 * drained, vhost stopped), writes the memory (the whole RAM, sparse; or,
 * when the VM's previous snapshot went to the same template and is still
 * its newest state, only the pages dirtied since, as a layer), freezes
 * copies of the writable disks, writes the state file and resumes.
 * Dirty pages are the union of KVM's dirty log (the guest's writes) and
 * the soft-dirty bits of the VMM's page tables (writes by the VMM's
 * device emulation and by vhost, which KVM does not see).
 *
 * Event-loop thread (the control API), or the main thread before the VM
 * runs (restore).
 */
#ifndef CLONE_VMM_SNAPSHOT_H
#define CLONE_VMM_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct template_meta;
struct snap_reader;

struct vm_snapshot_req {
	const char *name; /* the template */
	bool full;	  /* never a layer */
	bool stop;	  /* end the VM afterwards instead of resuming it */
};

struct vm_snapshot_res {
	bool incremental;
	unsigned layer;	     /* 0: the base */
	uint64_t mem_bytes;  /* bytes of RAM written (allocated in the new memory file) */
	uint64_t disk_bytes; /* bytes of frozen disk copies written */
	uint64_t pause_ms;   /* how long the guest was paused */
	char dir[4096];	     /* the template's directory */
};

/* Take a snapshot of vm.  0 or -errno with the message set; the VM runs on either way. */
int vm_snapshot(struct vm *vm, const struct vm_snapshot_req *req, struct vm_snapshot_res *res);

/*
 * Restore: map the template's memory over vm's RAM (after gm_init, before
 * the KVM slots are registered).  0 or -errno with the message set.
 */
int snapshot_map_memory(struct vm *vm, const struct template_meta *m, const struct snap_reader *r);
/*
 * Load every saved state into vm's devices, vCPUs and VM (devices made
 * from the template's config), give it its identity and move its clocks.
 * 0 or -errno with the message set.
 */
int snapshot_restore(struct vm *vm, const struct template_meta *m, const struct snap_reader *r);

/*
 * Write the identity page, a new VMGenID and the hotplug slots' present mask
 * for vm (boot and restore).  0 or -errno.
 */
int snapshot_write_identity(struct vm *vm, const char *template_name);

/* Drop what incremental snapshots remember (vm_destroy). */
void snapshot_track_free(struct vm *vm);

#endif
