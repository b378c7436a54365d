/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The identity page: 4 KiB of guest-physical memory at LAYOUT_IDENTITY
 * (0x9e000, E820-reserved) that the VMM fills before the guest's first
 * instruction, at boot and again in every fork or restore.  clone-agent
 * reads it through /dev/mem (the low megabyte is readable there even with
 * STRICT_DEVMEM) to learn who it is and whether it was just forked
 * (generation changed), and takes the entropy to reseed the kernel's RNG.
 * Little-endian, fixed layout: a guest ABI, docs/guest.md.
 */
#ifndef CLONE_API_IDENTITY_H
#define CLONE_API_IDENTITY_H

#include <stdint.h>

#define IDENTITY_GPA 0x9e000ull
#define IDENTITY_SIZE 4096u
#define IDENTITY_MAGIC "CLONEID1"
#define IDENTITY_VERSION 1u
#define IDENTITY_ENTROPY 64u

struct identity_page {
	char magic[8];			   /* IDENTITY_MAGIC, not NUL-terminated */
	uint32_t version;		   /* IDENTITY_VERSION */
	uint32_t size;			   /* sizeof(struct identity_page) */
	uint64_t generation;		   /* 0 at boot; +1 at every fork or restore */
	uint64_t cid;			   /* the VM's vsock CID */
	uint8_t vm_id[16];		   /* random per VM instance (a fork gets its own) */
	char name[64];			   /* the VM's name, NUL-terminated */
	char hostname[64];		   /* the hostname the VM should have, NUL-terminated */
	uint8_t entropy[IDENTITY_ENTROPY]; /* fresh host randomness for this generation */
	char template_name[64];		   /* the template a fork came from, or "" */
};

_Static_assert(sizeof(struct identity_page) <= IDENTITY_SIZE, "identity page fits");

#endif
