// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: arbitrary bytes as a qcow2 image, opened read-only
 * through disk_open(DISK_FMT_QCOW2) and, when it opens, read at a few
 * places (start, middle, end, and where the L1 table's first entries
 * lead).  It must never crash, leak or hang; everything the driver
 * allocates at open is bounded by the file size.  The image lives in a
 * private directory under /tmp, so relative backing names find nothing.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/disk.h"
#include "lib/log.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fuzz-qcow2-XXXXXX";
static char path[64];

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

static void setup(void)
{
	if (!mkdtemp(dir))
		__builtin_trap();
	snprintf(path, sizeof(path), "%s/img", dir);
	atexit(cleanup);
	log_set_level(LOG_ERR);
}

static void try_read(struct disk *d, uint64_t off, uint64_t len, uint8_t *buf)
{
	struct iovec iov[2];

	if (off >= d->size)
		return;
	len = MIN(len, d->size - off);
	iov[0] = (struct iovec){ .iov_base = buf, .iov_len = (size_t)(len / 2) };
	iov[1] = (struct iovec){ .iov_base = buf + len / 2, .iov_len = (size_t)(len - len / 2) };
	disk_preadv(d, iov, 2, off);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static uint8_t buf[256 * 1024];
	struct disk *d = NULL;
	FILE *f;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size > (1 << 20))
		return 0;
	f = fopen(path, "w");
	if (!f)
		__builtin_trap();
	if (size && fwrite(data, 1, size, f) != size)
		__builtin_trap();
	fclose(f);
	if (disk_open(path, DISK_FMT_QCOW2, DISK_RDONLY, &d) == 0) {
		try_read(d, 0, sizeof(buf), buf);
		try_read(d, 65536 - 100, 4096, buf);
		try_read(d, d->size / 2, 8192, buf);
		try_read(d, d->size >= 4096 ? d->size - 4096 : 0, 4096, buf);
		try_read(d, 1ull << 30, 70000, buf);
		disk_close(d);
	}
	unlink(path);
	return 0;
}
