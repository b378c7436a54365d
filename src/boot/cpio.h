/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A writer for "newc" cpio archives (magic "070701"), the format the Linux
 * initramfs unpacker reads (Documentation/driver-api/early-userspace/
 * buffer-format.rst), into a growable memory buffer.  Paths are stored
 * without a leading '/'; parents must be added before their children.
 * One writer per thread; no shared state.
 */
#ifndef CLONE_BOOT_CPIO_H
#define CLONE_BOOT_CPIO_H

#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

#define CPIO_FILE_MAX (1 * GiB) /* largest host file cpio_add_host_file() takes */

struct cpio {
	uint8_t *buf;
	size_t len;
	size_t cap;
	uint32_t next_ino;
	uint32_t mtime; /* stamped on every entry; 0 keeps archives reproducible */
};

void cpio_init(struct cpio *c);
/* Free the buffer (after a failure, or instead of cpio_finish()). */
void cpio_destroy(struct cpio *c);

/* Each returns 0, -EINVAL (bad path or mode), -EFBIG (entry over 4 GiB) or -ENOMEM. */
int cpio_add_dir(struct cpio *c, const char *path, uint32_t perm);
int cpio_add_file(struct cpio *c, const char *path, uint32_t perm, const void *data, size_t len);
int cpio_add_symlink(struct cpio *c, const char *path, const char *target);
int cpio_add_chardev(struct cpio *c, const char *path, uint32_t perm, unsigned major,
		     unsigned minor);
/*
 * Add the host file host_path as path.  perm 0 takes the host file's
 * permission bits.  -errno from reading the file, with the message set.
 */
int cpio_add_host_file(struct cpio *c, const char *path, uint32_t perm, const char *host_path);

/*
 * Append the TRAILER!!! entry and hand the malloc'ed archive over (the
 * writer is left empty).  0 or -ENOMEM.
 */
int cpio_finish(struct cpio *c, void **data, size_t *len);

#endif
