/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built-in default guest: a newc initramfs assembled at run time from
 * the host's statically linked busybox (Debian busybox-static).  It boots
 * to a root shell on ttyS0 and signals the VMM's boot timer.  With disks,
 * the same archive carries the kernel's modules for them, or becomes a
 * generated /init that mounts a root disk (or an overlay on it) and
 * switches to it.  docs/guest.md describes both.  Main thread, before the
 * VM is built.
 */
#ifndef CLONE_BOOT_INITRAMFS_H
#define CLONE_BOOT_INITRAMFS_H

#include <stdbool.h>
#include <stddef.h>

#define INITRAMFS_BUSYBOX "/bin/busybox"
/* The line /etc/profile prints when a shell is ready; tests wait for it. */
#define INITRAMFS_READY_LINE "clone-guest: shell ready"

/*
 * Build the default guest into a malloc'ed buffer.  0, or with the message
 * set: -ENOENT/-ENOEXEC "busybox-static is not installed: apt-get install
 * busybox-static" (missing, or /bin/busybox is dynamically linked), other
 * -errno from reading it, -ENOMEM.
 */
int initramfs_build_default(void **data, size_t *len);
/* The same with another busybox binary (tests). */
int initramfs_build(const char *busybox, void **data, size_t *len);

/* virtio-blk serials (VIRTIO_BLK_T_GET_ID) by which the init finds its disks. */
#define INITRAMFS_ROOT_SERIAL "clone-root"
#define INITRAMFS_UPPER_SERIAL "clone-upper"

enum initramfs_root {
	INITRAMFS_ROOT_RAM,	/* the default guest: a shell in RAM */
	INITRAMFS_ROOT_DISK,	/* mount the clone-root disk read-write, switch_root */
	INITRAMFS_ROOT_OVERLAY, /* clone-root read-only + a writable upper layer */
};
enum initramfs_upper {
	INITRAMFS_UPPER_TMPFS, /* upper layer in guest RAM */
	INITRAMFS_UPPER_DISK,  /* upper layer on the ext4 of the clone-upper disk */
};

struct initramfs_spec {
	const char *busybox; /* NULL: INITRAMFS_BUSYBOX */
	enum initramfs_root root;
	enum initramfs_upper upper; /* INITRAMFS_ROOT_OVERLAY only */
	bool virtio_blk;	    /* disks are attached: load their drivers (RAM root too) */
	bool agent;		    /* carry and start clone-agent; load the virtio-vsock driver */
	bool acpid;	  /* RAM root: busybox acpid powers off on the ACPI power button */
	bool virtio_net;  /* NICs are attached: load virtio-net (the agent configures them) */
	const char *kver; /* the kernel's version (bzImage header); NULL: unknown */
	/* NULL: /lib/modules/<kver>; "none": the kernel has its drivers built in */
	const char *modules_dir;
};

/*
 * Build the initramfs for spec into a malloc'ed buffer.  For a disk root it
 * carries busybox, the .ko files (decompressed) the kernel needs for
 * virtio-mmio, virtio-blk, ext4 and overlay with their dependencies in load
 * order (none that modules.builtin lists), and an /init that loads them,
 * mounts /proc, /sys, /dev, finds its disks by serial, mounts the root
 * (and the overlay), starts clone-agent (with agent: the copy the clone
 * binary carries, chrooted into the new root, plus the virtio-vsock driver)
 * and switches root to /sbin/init (or init= from the command line); see
 * docs/guest.md.  A RAM root (the default guest) with agent also starts the
 * agent from its rcS, and with acpid loads the power button's drivers and
 * runs busybox acpid.  A RAM root without virtio_blk, agent and acpid is
 * initramfs_build()'s image, byte for byte.  0, or -errno with the message set: -ENOENT naming
 * a missing module directory or module, -EINVAL (kver NULL while modules
 * are needed from the default directory; an unknown root or upper), the
 * errors of initramfs_build() and modules_resolve()/modules_read()
 * (src/boot/modules.h), -ENOMEM.
 */
int initramfs_build_spec(const struct initramfs_spec *spec, void **data, size_t *len);

#endif
