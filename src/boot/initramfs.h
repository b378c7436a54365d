/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built-in default guest: a newc initramfs assembled at run time from
 * the host's statically linked busybox (Debian busybox-static).  It boots
 * to a root shell on ttyS0 and signals the VMM's boot timer; docs/guest.md
 * describes it.  Main thread, before the VM is built.
 */
#ifndef CLONE_BOOT_INITRAMFS_H
#define CLONE_BOOT_INITRAMFS_H

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

#endif
