/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The identity page (src/api/identity.h) from the guest's side: read it
 * through /dev/mem, notice a new generation (this guest was forked or
 * restored), then push the page's fresh entropy into the kernel and
 * reseed its generator, draw a new exec token and write
 * /run/clone/identity for users and scripts.
 */
#ifndef CLONE_AGENT_IDENTITY_H
#define CLONE_AGENT_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/agent_proto.h"
#include "api/identity.h"

struct identity_state {
	bool known;	     /* a page was read before */
	uint64_t generation; /* ...with this generation */
	bool warned;	     /* "no identity page" said once */
};

/* Check a page read from guest memory (pure): 0 or -EINVAL. */
int identity_parse(const void *buf, size_t len, struct identity_page *out);
/* The /run/clone/identity text for p into out (pure): its length, or -ENOSPC. */
int identity_format(const struct identity_page *p, char *out, size_t cap);
/*
 * Read the page (mem_path: "/dev/mem" in a guest) and act on a new
 * generation: entropy, reseed, a new token into token, the identity file
 * under dir ("/run/clone").  Returns 1 when this was a new generation
 * (a fork or restore), 0 when nothing changed, -errno when the page
 * cannot be read.
 */
int identity_refresh(struct identity_state *st, const char *mem_path, const char *dir,
		     uint8_t token[AP_TOKEN_LEN]);

#endif
