/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `clone rootfs create`: build a bootable root file system image from a
 * distribution (debootstrap for Debian and Ubuntu, the minirootfs tarball
 * for Alpine), a directory, a tarball, an OCI image layout or a container
 * engine's image.  The tree is assembled in a work directory next to the
 * output, made ready for Clone (clone-agent started at boot, a getty on
 * ttyS0, root login or an SSH key, hostname, fstab, networking, optionally
 * a kernel's modules), turned into an ext4 image by `mkfs.ext4 -d` (no
 * loop mounts; sparse), optionally converted to qcow2, and renamed into
 * place: a failed build leaves nothing behind.  Main thread; runs
 * debootstrap, curl, tar, mkfs.ext4 and docker/podman as child processes.
 */
#ifndef CLONE_ROOTFS_ROOTFS_H
#define CLONE_ROOTFS_ROOTFS_H

#include <stdbool.h>
#include <stdint.h>

enum rootfs_source { ROOTFS_DISTRO, ROOTFS_DIR, ROOTFS_TAR, ROOTFS_OCI, ROOTFS_DOCKER };

#define ROOTFS_DEFAULT_SIZE (2ull << 30)
#define ROOTFS_MIN_SIZE (16ull << 20)

struct rootfs_opts {
	enum rootfs_source source;
	const char *distro;  /* ROOTFS_DISTRO: debian, ubuntu, alpine */
	const char *release; /* NULL: the distro's default */
	const char *mirror;  /* NULL: the default (Debian: the host's apt source) */
	const char *keyring; /* debootstrap --keyring; NULL: the distro's default */
	const char *from;    /* DIR, FILE, OCI PATH[:REF] or IMAGE */
	const char *engine;  /* ROOTFS_DOCKER: "docker", "podman" or NULL (either) */
	const char *output;
	uint64_t size; /* bytes of the image */
	bool qcow2, force;
	const char *packages;	  /* "a,b,c" or NULL */
	const char *ssh_key;	  /* a public key file, or NULL */
	const char *hostname;	  /* NULL: "clone" */
	bool kernel_modules;	  /* install a kernel's modules */
	const char *kmod_version; /* NULL: the kernel clone run uses */
	bool progress;		  /* stderr is a terminal: redraw progress bars */
};

/* Known distributions and their default releases; NULL if unknown. */
const char *rootfs_default_release(const char *distro);
/* Whether release is one we know how to build for distro (message set if not). */
int rootfs_check_release(const char *distro, const char *release);
/* The first http(s) URI of the host's apt sources for Debian, or the public default. */
void rootfs_debian_mirror(const char *sources_dir, const char *sources_list, char *buf, size_t len);
/* Parse Alpine's latest-releases.yaml for the minirootfs file and its sha256 (pure). */
int rootfs_alpine_release(const char *yaml, char *file, size_t flen, char sha256[65]);

/* Build the image.  0 or -errno with the message set (one line). */
int rootfs_create(const struct rootfs_opts *o);

#endif
