/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel modules the generated initramfs carries: resolving a few module
 * names against a host module tree (/lib/modules/<kver>: modules.dep,
 * modules.softdep, modules.alias, modules.builtin) into a load order, and
 * reading a module file decompressed (.ko, .ko.xz, .ko.zst, .ko.gz).  Main
 * thread, before the VM is built; no shared state.
 */
#ifndef CLONE_BOOT_MODULES_H
#define CLONE_BOOT_MODULES_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/util.h"

#define MODULES_BASE "/lib/modules"  /* the default tree is MODULES_BASE/<kver> */
#define MODULES_NONE "none"	     /* a module directory meaning "all built in" */
#define MODULES_MAX 64		     /* modules one resolution may yield */
#define MODULES_NAME_MAX 64	     /* the kernel's MODULE_NAME_LEN is 56 */
#define MODULES_DEPTH_MAX 16	     /* dependency chain length */
#define MODULES_INDEX_MAX (32 * MiB) /* modules.dep, modules.alias, ... */
#define MODULES_KO_MAX (128 * MiB)   /* one module file, before and after decompression */

struct module {
	char name[MODULES_NAME_MAX]; /* normalised: '-' becomes '_' ("crc32c_intel") */
	char *path;		     /* the host file (malloc'ed), maybe compressed */
	bool optional;		     /* a softdep or alias candidate: loading it may fail */
};

struct modules {
	struct module *mod; /* load order: every module after its dependencies */
	size_t n;
};

/*
 * Resolve names (module names; '-' and '_' are the same) into out, in load
 * order: hard dependencies (modules.dep) and "pre:" soft dependencies
 * (modules.softdep, through modules.alias: every candidate present, marked
 * optional) before each module, each module once, none that
 * modules.builtin lists.  dir NULL means MODULES_BASE/<kver>; MODULES_NONE
 * yields an empty list.  0, or -errno with the message set: -EINVAL (kver
 * NULL with dir NULL), -ENOENT (no such directory, naming the kernel and
 * what is needed; no modules.dep; a name neither built in nor present; a
 * module file missing), -ELOOP (chain deeper than MODULES_DEPTH_MAX),
 * -E2BIG (more than MODULES_MAX), -EFBIG, -ENOMEM.  out is empty on failure.
 */
int modules_resolve(const char *dir, const char *kver, const char *const *names, size_t n,
		    struct modules *out);
void modules_destroy(struct modules *m);

/*
 * Read one module file into a malloc'ed buffer, decompressed (xz, zstd or
 * gzip, told by the magic bytes) and checked to be an ELF object.  0, or
 * -errno with the message set: -EBADMSG (corrupt stream), -ENOEXEC (not
 * ELF), -EFBIG (over MODULES_KO_MAX), -ENOMEM, or from reading the file.
 */
int modules_read(const struct module *m, void **data, size_t *len);

/* Copy name into out with '-' turned to '_' (the kernel's own spelling). */
void modules_normalise(char *out, size_t len, const char *name);

#endif
