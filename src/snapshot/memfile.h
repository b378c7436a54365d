/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest RAM on disk.  A memory file holds the guest's RAM as the VMM maps
 * it (struct guest_mem: the regions back to back, ram_size bytes), so
 * file offset = offset into gm->map.  Pages that are zero are holes: the
 * file is sparse and its allocated size is the RAM actually used.
 *
 * Layers (incremental snapshots): a layer file has the same size, but only
 * the pages dirtied since the previous snapshot were written; the extent
 * list (runs of whole pages, in the state file) says which ranges of the
 * layer replace the layers below.  A dirtied page that is now zero stays a
 * hole inside an extent (it reads as zero, as it should).
 *
 * Mapping (restore, fork): the base file is mapped MAP_PRIVATE over the
 * guest RAM, then each layer's extents MAP_PRIVATE|MAP_FIXED over it, in
 * order: every page the guest does not write stays shared through the
 * page cache.  Past MEMFILE_MAX_MAPS extents a layer's pages are read in
 * instead (private copies: slower, same contents) so that the process
 * keeps far from vm.max_map_count.
 *
 * Integrity: writing computes the file's SHA-256 (holes hash as zeroes)
 * and records the file's identity (device, inode, size, mtime, ctime)
 * after fsync.  memfile_check() accepts a file whose identity is
 * unchanged without reading it (ctime cannot be set back by a user), and
 * otherwise hashes the whole file: a copied template costs one read, a
 * modified one is refused ("memory file ... was modified").  Any thread.
 */
#ifndef CLONE_SNAPSHOT_MEMFILE_H
#define CLONE_SNAPSHOT_MEMFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mem.h"

#define MEMFILE_PAGE 4096u
#define MEMFILE_MAX_MAPS 8192u

/* A run of pages: [page * MEMFILE_PAGE, (page + count) * MEMFILE_PAGE). */
struct snap_extent {
	uint64_t page;
	uint64_t count;
};

/* What the state file records about one memory file. */
struct memfile_info {
	char name[64];	    /* file name inside the template directory */
	uint64_t size;	    /* = ram_size */
	uint64_t allocated; /* bytes with data (st_blocks * 512), for `clone template list` */
	uint8_t sha256[32];
	/* identity after the write, for the fast check */
	uint64_t dev, ino;
	int64_t mtime_ns, ctime_ns;
};

/*
 * Write the whole RAM of gm as dirfd/name (created with O_EXCL; a
 * temporary name, then renamed): zero pages become holes.  info gets the
 * digest and identity.  0 or -errno with the message set; nothing is left
 * behind on failure.
 */
int memfile_write_full(const struct guest_mem *gm, int dirfd, const char *name,
		       struct memfile_info *info);
/*
 * Write a layer: only the pages whose bit is set in dirty (bit i = page i
 * of the RAM, ram_size / MEMFILE_PAGE bits, 64 per word).  *ext (malloc'ed)
 * and *nr_ext get the runs written.  As memfile_write_full() otherwise.
 */
int memfile_write_layer(const struct guest_mem *gm, const uint64_t *dirty, int dirfd,
			const char *name, struct memfile_info *info, struct snap_extent **ext,
			size_t *nr_ext);

/*
 * Check the file dirfd/info->name against info: the size, then the fast
 * identity check, else the full digest.  0, -ENOENT, or -EINVAL with the
 * message set ("memory file X is truncated", "... was modified").
 * *hashed tells whether the whole file had to be read (may be NULL).
 */
int memfile_check(int dirfd, const struct memfile_info *info, bool *hashed);

/* One layer to map: its file and extents (NULL/0 for the base). */
struct memfile_layer {
	int fd;
	const struct snap_extent *ext;
	size_t nr_ext;
};

/*
 * Map layers[0] (the base: whole file) and then every further layer's
 * extents MAP_PRIVATE|MAP_FIXED over gm's RAM (gm from gm_init(), same
 * ram_size as the files).  Extents outside the RAM are refused (-EINVAL);
 * a layer past MEMFILE_MAX_MAPS extents is read in.  The fds may be closed
 * afterwards.  0 or -errno with the message set.
 */
int memfile_map(struct guest_mem *gm, const struct memfile_layer *layers, unsigned nr);

/* Validate an extent list against ram_size (sorted, non-overlapping, inside). 0 or -EINVAL. */
int memfile_check_extents(const struct snap_extent *ext, size_t nr, uint64_t ram_size);

#endif
