/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's disks as the configuration describes them: the --rootfs image
 * (read-write, or read-only under an overlay), the overlay's qcow2 upper
 * disk (persistent, or a temporary one deleted as soon as it is open), and
 * every --disk.  Everything is opened and checked before KVM is touched, so
 * a corrupt or missing image is an input error and the guest never starts.
 * Main thread.
 */
#ifndef CLONE_VMM_STORAGE_H
#define CLONE_VMM_STORAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/initramfs.h"
#include "config.h"

#define STORAGE_MAX_DISKS (CONFIG_MAX_DISKS + 2)
#define STORAGE_DEFAULT_OVERLAY_SIZE (16ull << 30)

struct disk;

struct storage_disk {
	struct disk *disk; /* NULL once handed to a device */
	bool ro;
	char serial[CONFIG_DISK_SERIAL_MAX + 1]; /* also the drive's id on the control socket */
	struct rl_config rl;			 /* --disk ...,bps=...: zero is unlimited */
};

struct storage {
	struct storage_disk disks[STORAGE_MAX_DISKS]; /* attach order: root, upper, --disk... */
	unsigned nr;
	unsigned nr_boot; /* disks[0 .. nr_boot) are there at boot, the others hot-added */
	enum initramfs_root root;
	enum initramfs_upper upper;
};

/* Open every disk cfg names.  0, or -errno with the message set (an input error). */
int storage_open(const struct vm_config *cfg, struct storage *s);
/* Close the disks not handed over. */
void storage_close(struct storage *s);

/*
 * Create the qcow2 overlay file path (size bytes, which must not exist)
 * holding an empty ext4 file system made by mkfs.ext4.  On failure nothing
 * is left at path.  0 or -errno with the message set.
 */
int storage_create_overlay(const char *path, uint64_t size);
/* The directory for Clone's own files: $XDG_DATA_HOME/clone or ~/.local/share/clone. */
int storage_data_dir(char *buf, size_t len);

#endif
