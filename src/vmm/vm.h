/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct vm owns everything of one virtual machine: the KVM fds, guest
 * memory, the port-I/O and MMIO buses, the devices, the vCPUs and the event
 * loop.  vm_create() builds it from a vm_config in a visible order,
 * vm_run() runs it on the calling thread (which becomes the event-loop
 * thread) until the guest powers off or resets, a signal arrives or a fatal
 * error happens, and vm_destroy() tears it down.
 */
#ifndef CLONE_VMM_VM_H
#define CLONE_VMM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "config.h"
#include "console.h"
#include "evloop.h"
#include "kvm.h"
#include "mem.h"
#include "network.h"
#include "storage.h"
#include "vcpu.h"
#include "vdev.h"

struct serial;
struct rtc;
struct i8042;
struct pm;
struct boot_timer;
struct blk;
struct aio_pool;
struct vsock;
struct agent_host;
struct api_server;
struct disk;
struct vm_snap_track;

/* A disk as a virtio-blk device got it (the device owns it), for snapshots. */
struct vm_disk_ref {
	struct disk *disk;
	bool ro;
	bool has_backing;
	char serial[CONFIG_DISK_SERIAL_MAX + 1];
};

enum vm_exit_reason {
	VM_EXIT_NONE,
	VM_EXIT_POWEROFF, /* guest ACPI S5 or KVM shutdown event */
	VM_EXIT_RESET,	  /* guest reboot: i8042, ACPI reset register, triple fault */
	VM_EXIT_SIGNAL,	  /* SIGTERM/SIGINT/SIGHUP to the VMM */
	VM_EXIT_QUIT,	  /* console escape Ctrl-A x */
	VM_EXIT_KILL,	  /* the control socket's Kill action */
	VM_EXIT_ERROR,	  /* the VMM could not go on */
};

struct vm_timing {
	uint64_t start;	    /* clone's main() */
	uint64_t mem;	    /* guest RAM mapped and registered */
	uint64_t load;	    /* kernel, initrd, tables in guest memory */
	uint64_t devices;   /* devices created */
	uint64_t first_run; /* vCPU 0 entered KVM_RUN */
	uint64_t init;	    /* the guest's init wrote the boot-timer port */
};

struct vm {
	struct vm_config *cfg;
	struct kvm_host kvm;
	int fd;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct evloop loop;
	struct console console;
	int sig_fd;

	struct vcpu *vcpus;
	unsigned nr_vcpus;

	struct serial *serial;
	struct rtc *rtc;
	struct i8042 *i8042;
	struct pm *pm;
	struct boot_timer *boot_timer;
	struct storage storage; /* disks opened from the config, until handed to devices */
	struct aio_pool *aio;	/* block I/O workers (only when there are disks) */
	struct blk *blks[STORAGE_MAX_DISKS];
	struct vm_disk_ref disk_refs[STORAGE_MAX_DISKS]; /* blks[i]'s disk */
	unsigned nr_blks;
	/* Virtio slots from hotplug_first on are ACPI hotplug slots (hotplug_slots of them). */
	unsigned hotplug_first, hotplug_slots;
	struct vdev_table vdevs;    /* virtio-mmio placement: windows, GSIs, eventfds */
	struct vm_network net;	    /* NICs: virtio-net devices, their TAPs, pasta */
	struct vsock *vsock;	    /* virtio-vsock on vhost-vsock, or NULL */
	struct agent_host *agent;   /* the agent's control channel (with vsock) */
	bool agent_expected;	    /* the generated initramfs starts clone-agent */
	char agent_why[256];	    /* why there is no agent, for `clone exec` */
	struct api_server *api;	    /* the control socket, or NULL */
	uint64_t created;	    /* Unix seconds */
	uint64_t generation;	    /* the identity page's: +1 at every restore or fork */
	uint8_t vm_id[16];	    /* random, this instance's (identity page) */
	struct vm_snap_track *snap; /* the newest snapshot, for incremental ones (snapshot.c) */

	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t cond;
	enum vm_exit_reason exit_reason;
	int exit_code;
	bool stopping;
	bool pause_requested;
	unsigned parked;

	struct vm_timing t;
};

/*
 * Build the VM described by cfg (which must outlive it).  0 or -errno with
 * the message set; *input_error tells whether the user's inputs (kernel,
 * initrd, their hash or format) were at fault rather than the host.
 */
int vm_create(struct vm_config *cfg, uint64_t start_ns, struct vm **out, bool *input_error);
/* Run until the VM ends; returns the exit reason, *code gets the process exit code. */
enum vm_exit_reason vm_run(struct vm *vm, int *code);
void vm_destroy(struct vm *vm);

/* Ask the VM to end (any thread); the first request wins. */
void vm_request_exit(struct vm *vm, enum vm_exit_reason reason, int code);
/* Freeze every vCPU outside KVM_RUN (any thread but a vCPU's); 0 or -errno. */
int vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
/* True between vm_pause() and vm_resume(). */
bool vm_paused(struct vm *vm);

/* vCPU-thread hooks (vcpu.c): park while paused; false once the VM is stopping. */
bool vm_vcpu_checkpoint(struct vm *vm);
void vm_note_first_run(struct vm *vm);

#endif
