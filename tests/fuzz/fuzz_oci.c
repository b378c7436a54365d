// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the JSON and text `clone rootfs create` reads from
 * image layouts and mirrors: OCI index.json and manifests, and Alpine's
 * latest-releases.yaml.  Single-threaded, no I/O.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs/oci.h"
#include "rootfs/rootfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct oci_manifest m;
	struct oci_desc d;
	char file[256], sha[65];
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (!oci_parse_index(text, size, NULL, &d) && (strlen(d.hex) != 64 || strchr(d.hex, '/')))
		abort(); /* a digest that could leave blobs/sha256/ */
	(void)oci_parse_index(text, size, "latest", &d);
	if (!oci_parse_manifest(text, size, &m))
		for (unsigned i = 0; i < m.nr_layers; i++)
			if (strlen(m.layers[i].hex) != 64)
				abort();
	if (!rootfs_alpine_release(text, file, sizeof(file), sha) && strchr(file, '/'))
		abort();
	free(text);
	return 0;
}
