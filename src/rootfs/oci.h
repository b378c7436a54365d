/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI image layouts (image-spec v1: oci-layout, index.json, blobs/sha256/)
 * and the Docker v2 manifests they may hold: find the image's manifest and
 * its layers, in order, each checked against its digest and size before
 * it is applied.  The JSON parsers are pure (fuzzed).  One thread.
 */
#ifndef CLONE_ROOTFS_OCI_H
#define CLONE_ROOTFS_OCI_H

#include <stddef.h>
#include <stdint.h>

#define OCI_MAX_LAYERS 128
#define OCI_JSON_MAX (4u << 20) /* index or manifest size, at most */

struct oci_desc {
	char hex[65]; /* the sha256 digest's hex digits */
	uint64_t size;
	char media_type[128];
	char ref[128];	   /* org.opencontainers.image.ref.name, or "" */
	char platform[64]; /* "os/arch", or "" */
	int is_index;	   /* the descriptor is an image index (nested) */
};

struct oci_manifest {
	struct oci_desc layers[OCI_MAX_LAYERS];
	unsigned nr_layers;
};

/*
 * The manifest descriptor index.json (json, len bytes) picks: the only one,
 * else the one whose ref.name is ref (ref may be NULL), else the one for
 * linux/amd64.  0, or -EINVAL/-ENOENT with the message set.
 */
int oci_parse_index(const char *json, size_t len, const char *ref, struct oci_desc *out);
/* An image manifest's layers.  0 or -EINVAL with the message set. */
int oci_parse_manifest(const char *json, size_t len, struct oci_manifest *m);

/* Progress: bytes of layer i applied so far (opaque: the caller's). */
typedef void (*oci_progress_fn)(void *opaque, unsigned layer, unsigned nr_layers, uint64_t done,
				uint64_t total);

/*
 * Apply the image in the OCI layout directory layout (ref as for
 * oci_parse_index) under rootfd: every layer's blob checked (size,
 * SHA-256), its whiteouts applied, then extracted (tar.h).  0 or -errno
 * with the message set ("blob sha256:... is missing", "... digest
 * mismatch", ...).
 */
int oci_unpack(const char *layout, const char *ref, int rootfd, oci_progress_fn progress,
	       void *opaque);

#endif
