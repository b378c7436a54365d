/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel file on the host: finding the default one in /boot, reading
 * it, and checking it against an expected SHA-256.  Main thread, before
 * the VM is built.
 */
#ifndef CLONE_BOOT_KERNEL_H
#define CLONE_BOOT_KERNEL_H

#include <stddef.h>

#include "lib/util.h"

#define KERNEL_MAX_SIZE (256 * MiB)
#define KERNEL_DEFAULT_DIR "/boot"

/*
 * Put the newest /boot/vmlinuz-* (by version order, strverscmp) into path.
 * 0, -ENOENT "no kernel found in /boot: install linux-image-amd64 or pass
 * --kernel", -EACCES "cannot read /boot/vmlinuz-...: permission denied (run
 * as root or pass --kernel)", -ENAMETOOLONG, or another -errno.
 */
int kernel_find_default(char *path, size_t len);
/* The same in any directory (tests point it at a temporary one). */
int kernel_find_in(const char *dir, char *path, size_t len);

/*
 * Read a kernel file into a malloc'ed buffer.  0, or with the message set:
 * -EACCES, -ENOENT (open), -EINVAL (not a regular file), -ENOEXEC (empty),
 * -EFBIG (over KERNEL_MAX_SIZE), -EIO (short read), -ENOMEM.
 */
int kernel_read(const char *path, void **data, size_t *len);

/*
 * Compare SHA-256(data) with hex (64 hex digits, either case).  0,
 * -EINVAL "--kernel-sha256: expected 64 hex digits", or -EBADMSG "kernel
 * sha256 mismatch: expected X, got Y".
 */
int kernel_verify_sha256(const void *data, size_t len, const char *hex);

/*
 * Copy the release of the kernel in data ("6.1.0-56-amd64", the
 * /lib/modules directory name) into buf: from a bzImage's setup header
 * (bzimage_version), or from the "Linux version X " banner an ELF vmlinux
 * carries.  0, or with the message set: -ENOEXEC (neither format, or a bad
 * version string), -ENOENT (none recorded), -ENOSPC (buf too small).
 */
int kernel_version(const void *data, size_t len, char *buf, size_t buflen);

#endif
