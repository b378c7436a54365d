// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: everything a restore parses from a template before
 * trusting it.  The input is tried as a state file (snapr_parse; when it
 * parses, each section found goes to its own parser: the META JSON to
 * template_meta_from_json, vCPU and VM sections to the KVM state
 * parsers, layer sections to the extent check), and directly as KVM
 * state blobs and as an extent list.  Single-threaded, no I/O.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/kvm_state.h"
#include "snapshot/memfile.h"
#include "snapshot/state.h"
#include "snapshot/template.h"

static void meta(const void *p, size_t len)
{
	static struct template_meta m;
	json_t *j = json_loadb(p, len, 0, NULL);

	if (j && !template_meta_from_json(j, &m)) {
		/* What was accepted must survive a round trip. */
		json_t *again = template_meta_to_json(&m);
		static struct template_meta m2;

		if (!again || template_meta_from_json(again, &m2) || memcmp(&m, &m2, sizeof(m)))
			abort();
		json_decref(again);
	}
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_reader r;

	if (!snapr_parse(&r, data, size, "fuzz")) {
		for (unsigned i = 0; i < r.nr; i++) {
			const struct snap_sec_ref *s = &r.secs[i];
			const uint8_t *p = r.buf + s->off;

			if (s->off > size || s->len > size - s->off)
				abort();
			if (s->id == SNAP_SEC_META)
				meta(p, s->len);
			else if (s->id == SNAP_SEC_VCPU)
				(void)kvmstate_vcpu_parse(p, s->len);
			else if (s->id == SNAP_SEC_VM)
				(void)kvmstate_vm_parse(p, s->len, NULL);
			else if (s->id == SNAP_SEC_LAYER &&
				 s->len % sizeof(struct snap_extent) == 0)
				(void)memfile_check_extents((const void *)p,
							    s->len / sizeof(struct snap_extent),
							    1ull << 30);
		}
		snapr_free(&r);
	}
	(void)kvmstate_vcpu_parse(data, size);
	(void)kvmstate_vm_parse(data, size, NULL);
	if (size % sizeof(struct snap_extent) == 0) {
		struct snap_extent *e = malloc(size ? size : 1);

		memcpy(e, data, size);
		(void)memfile_check_extents(e, size / sizeof(*e), 1ull << 30);
		free(e);
	}
	return 0;
}
