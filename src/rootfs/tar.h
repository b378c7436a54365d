/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading tar archives (POSIX ustar and pax, GNU long names, base-256
 * numbers) from a zstream, and extracting them under a root directory
 * without ever leaving it: every path is resolved inside the root
 * (openat2 RESOLVE_IN_ROOT), so an archive's "../x", absolute symlinks or
 * symlinked directories cannot write outside.  Entries are cleaned
 * ("./a//b/" is "a/b"); ".." components are refused.  One thread.
 */
#ifndef CLONE_ROOTFS_TAR_H
#define CLONE_ROOTFS_TAR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/zstream.h"

#define TAR_PATH_MAX 4096
#define TAR_PAX_MAX (1u << 20) /* a pax header's records, at most */

enum tar_type {
	TAR_FILE = '0',
	TAR_HARDLINK = '1',
	TAR_SYMLINK = '2',
	TAR_CHAR = '3',
	TAR_BLOCK = '4',
	TAR_DIR = '5',
	TAR_FIFO = '6',
};

struct tar_entry {
	char path[TAR_PATH_MAX]; /* cleaned, relative; "" is the root itself */
	char link[TAR_PATH_MAX]; /* symlink target as stored; hard link: cleaned path */
	char type;		 /* enum tar_type */
	uint32_t mode;		 /* permission bits with setuid, setgid, sticky */
	uint32_t uid, gid;
	uint64_t size; /* data bytes (regular files) */
	int64_t mtime;
	uint32_t devmajor, devminor;
};

/* Overrides from pax records (path, linkpath, size, uid, gid, mtime) or GNU L/K headers. */
struct tar_override {
	char path[TAR_PATH_MAX], link[TAR_PATH_MAX];
	bool has_path, has_link, has_size, has_uid, has_gid, has_mtime;
	uint64_t size, uid, gid;
	int64_t mtime;
};

/*
 * Pure parsers, for the reader and the fuzzer.  tar_parse_header: one
 * 512-byte header block (checksum checked) plus the overrides in o (may be
 * NULL) into e, with e->type normalised ('\0' and '7' are TAR_FILE);
 * metadata headers ('x', 'g', 'L', 'K') come back with their type and
 * size and no path.  0 or -EBADMSG with the message set.
 */
int tar_parse_header(const uint8_t hdr[512], const struct tar_override *o, struct tar_entry *e);
/* pax records ("LEN key=value\n"...) into o.  0 or -EBADMSG. */
int tar_parse_pax(const char *data, size_t len, struct tar_override *o);
/* Clean a member name into out: -EBADMSG for "..", empty or over-long names. */
int tar_clean_path(const char *in, char *out, size_t len);
/* Whether a block is all zeros (the end-of-archive marker). */
bool tar_zero_block(const uint8_t hdr[512]);

struct tar_reader;

int tar_open(struct zstream *z, const char *what, struct tar_reader **out);
/* The next member: 1 (e filled), 0 at the end, or -errno with the message set. */
int tar_next(struct tar_reader *t, struct tar_entry *e);
/* The current member's data: > 0, 0 at its end, -errno. */
ssize_t tar_read_data(struct tar_reader *t, void *buf, size_t len);
void tar_close(struct tar_reader *t);

/* What an extraction did. */
struct tar_stats {
	uint64_t entries, bytes, whiteouts, skipped_devices;
};

/* Progress callback: compressed bytes consumed so far (opaque is the caller's). */
typedef void (*tar_progress_fn)(void *opaque, uint64_t consumed);

#define TAR_OCI (1u << 0) /* an OCI layer: .wh. entries are whiteouts, not files */

/*
 * Extract the archive on z under rootfd (an O_PATH or O_DIRECTORY fd of the
 * root).  With TAR_OCI, whiteouts are applied first (a first pass reads the
 * archive's names: the caller rewinds the fd and calls again with a fresh
 * zstream, see tar_apply_whiteouts) and skipped here.  Owners are set when
 * running as root; device nodes that cannot be made are counted and
 * skipped.  0 or -errno with the message set (which names the member).
 */
int tar_extract(struct zstream *z, const char *what, int rootfd, unsigned flags,
		struct tar_stats *st, tar_progress_fn progress, void *opaque);
/*
 * First pass over an OCI layer: remove what its whiteouts hide (".wh.NAME":
 * NAME; ".wh..wh..opq" in D: everything in D from the layers below).
 */
int tar_apply_whiteouts(struct zstream *z, const char *what, int rootfd, struct tar_stats *st);

/* Remove path (anything, recursively) under rootfd, resolved inside it; absent is fine. */
int inroot_remove(int rootfd, const char *path);
/*
 * Open (O_PATH | O_DIRECTORY) the directory path under rootfd, resolved
 * inside it, creating missing components (mode 0755) when create is set.
 */
int inroot_dir(int rootfd, const char *path, bool create);

#endif
