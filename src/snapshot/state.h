/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The snapshot state file: everything of a paused VM except its RAM.
 *
 *   header   magic "CLONESNP", u32 format version, u32 flags (0),
 *            u64 total file size
 *   sections u32 id, u32 instance, u64 length, bytes, zero padding to 8
 *   trailer  u32 id SNAP_SEC_END, u32 0, u64 32, SHA-256 of every byte
 *            before the trailer's digest
 *
 * Little-endian.  A section is found by (id, instance): instance numbers
 * vCPUs, disks, NICs...  A reader refuses, with a message that names the
 * file and what is wrong: a short or long file ("truncated": the size in
 * the header does not match), a bad magic ("not a Clone snapshot"), a
 * newer version, a digest mismatch ("checksum mismatch: the file was
 * modified or damaged"), overlapping or out-of-bounds sections, duplicate
 * (id, instance) pairs, a missing trailer.  The parser never trusts a
 * length before checking it (fuzzed: tests/fuzz/fuzz_snapshot.c).
 *
 * Files are written to a temporary name in the directory, fsync()ed and
 * renamed over the final name, so a reader sees the old file or the new
 * one, never half of one.  Any thread; no globals.
 */
#ifndef CLONE_SNAPSHOT_STATE_H
#define CLONE_SNAPSHOT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC "CLONESNP"
#define SNAP_VERSION 1u
#define SNAP_MAX_FILE (64u << 20) /* a state file is small; anything larger is refused */
#define SNAP_MAX_SECTIONS 4096u

enum snap_section {
	SNAP_SEC_END = 0,	 /* the trailer */
	SNAP_SEC_META = 1,	 /* JSON: template name, VM config, memory files, times */
	SNAP_SEC_VM = 2,	 /* arch/x86/kvm_state VM blob */
	SNAP_SEC_VCPU = 3,	 /* instance = vCPU index: kvm_state vCPU blob */
	SNAP_SEC_SERIAL = 4,	 /* struct serial_state */
	SNAP_SEC_RTC = 5,	 /* struct rtc_state */
	SNAP_SEC_I8042 = 6,	 /* struct i8042_state */
	SNAP_SEC_PM = 7,	 /* struct pm_state */
	SNAP_SEC_BOOT_TIMER = 8, /* struct boot_timer_state */
	SNAP_SEC_VIRTIO = 9,	 /* instance = vdev slot: struct virtio_mmio_state */
	SNAP_SEC_BLK = 10,	 /* instance = vdev slot: struct blk_state */
	SNAP_SEC_NET = 11,	 /* instance = vdev slot: struct net_state */
	SNAP_SEC_VSOCK = 12,	 /* instance = vdev slot: struct vsock_state */
	SNAP_SEC_LAYER = 13,	 /* instance = layer index: struct snap_extent[] (memfile.h) */
};

/* Builds a state file in memory. */
struct snap_writer {
	uint8_t *buf;
	size_t len, cap;
	int err; /* first failure (-ENOMEM), reported by snapw_commit() */
};

void snapw_init(struct snap_writer *w);
/* Append a section (data copied).  Errors are remembered for snapw_commit(). */
void snapw_add(struct snap_writer *w, uint32_t id, uint32_t instance, const void *data, size_t len);
/*
 * Finish (size, trailer) and write the file as dirfd/name atomically
 * (temporary file, fsync, rename, fsync of the directory).  0 or -errno
 * with the message set; nothing is left behind on failure.
 */
int snapw_commit(struct snap_writer *w, int dirfd, const char *name);
/* The finished bytes, without writing (tests, fuzz corpus); NULL on error. */
const uint8_t *snapw_finish(struct snap_writer *w, size_t *len);
void snapw_free(struct snap_writer *w);

struct snap_sec_ref {
	uint32_t id, instance;
	size_t off, len; /* into snap_reader.buf */
};

struct snap_reader {
	uint8_t *buf; /* owned (snapr_load) or borrowed (snapr_parse) */
	size_t len;
	bool owned;
	struct snap_sec_ref *secs;
	unsigned nr;
	uint32_t version;
	uint8_t digest[32]; /* the file's SHA-256 (identifies a state: layers name their parent) */
};

/*
 * Read and check path (≤ SNAP_MAX_FILE).  0, -ENOENT ("no snapshot at
 * PATH") or -EINVAL with the message set (see the top of this file).
 */
int snapr_load(struct snap_reader *r, const char *path);
/* Check len bytes at buf (borrowed: must outlive r).  0 or -EINVAL with the message set. */
int snapr_parse(struct snap_reader *r, const void *buf, size_t len, const char *what);
/* A section's bytes (len in *len), or NULL when there is none. */
const void *snapr_find(const struct snap_reader *r, uint32_t id, uint32_t instance, size_t *len);
/*
 * Copy a fixed-size section into out: 0, -ENOENT (absent) or -EINVAL
 * (wrong size: "state file: section S has N bytes, expected M").
 */
int snapr_get(const struct snap_reader *r, uint32_t id, uint32_t instance, void *out, size_t size);
void snapr_free(struct snap_reader *r);

#endif
