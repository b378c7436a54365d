// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: tar archives as `clone rootfs create` reads them
 * (--from-tar, OCI layers, the Alpine minirootfs): the input goes through
 * the decompressor (gzip/xz/zstd/plain by magic) and the tar reader, every
 * member's data read; and directly to the pax record parser.  Nothing is
 * extracted.  Single-threaded; the input is served from a memfd.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/zstream.h"
#include "rootfs/tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tar_entry e;
	static struct tar_override o;
	struct zstream *z;
	struct tar_reader *t;
	uint8_t buf[4096];
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return 0;
	}
	if (!zs_open(fd, "fuzz", &z)) {
		if (!tar_open(z, "fuzz", &t)) {
			/* Bounded: decompression bombs are the decompressor's problem, not ours. */
			for (int i = 0; i < 1000 && tar_next(t, &e) == 1; i++) {
				ssize_t n;
				uint64_t total = 0;

				if (strstr(e.path, "..") && !strstr(e.path, "..."))
					for (const char *p = e.path; (p = strstr(p, "..")); p++)
						if ((p == e.path || p[-1] == '/') &&
						    (p[2] == '\0' || p[2] == '/'))
							abort(); /* ".." must never come out */
				while ((n = tar_read_data(t, buf, sizeof(buf))) > 0 &&
				       (total += (uint64_t)n) < (64u << 20))
					;
			}
			tar_close(t);
		}
		zs_close(z);
	}
	close(fd);
	memset(&o, 0, sizeof(o));
	(void)tar_parse_pax((const char *)data, size, &o);
	if (size >= 512)
		(void)tar_parse_header(data, NULL, &e);
	return 0;
}
