/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest agent binary (static, musl) linked into clone
 * (src/boot/agent_blob.S).  Read-only; any thread.
 */
#ifndef CLONE_BOOT_AGENT_BLOB_H
#define CLONE_BOOT_AGENT_BLOB_H

#include <stddef.h>

extern const unsigned char clone_agent_blob[];
extern const unsigned char clone_agent_blob_end[];

static inline size_t clone_agent_size(void)
{
	return (size_t)(clone_agent_blob_end - clone_agent_blob);
}

#endif
