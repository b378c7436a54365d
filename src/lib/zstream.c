// SPDX-License-Identifier: Apache-2.0
/*
 * zstream (see zstream.h): an input buffer filled from the fd, and one of
 * zlib, liblzma or libzstd turning it into output on demand.
 */
#include <errno.h>
#include <lzma.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "err.h"
#include "zstream.h"

#define IN_SIZE (128 * 1024)

struct zstream {
	int fd;
	const char *what;
	enum zs_format fmt;
	bool eof, done;
	uint8_t *in;
	size_t in_pos, in_len;
	uint64_t consumed;
	z_stream z;
	lzma_stream x;
	ZSTD_DCtx *d;
};

static int fill(struct zstream *z)
{
	ssize_t n;

	if (z->in_pos < z->in_len || z->eof)
		return 0;
	do
		n = read(z->fd, z->in, IN_SIZE);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_set(-errno, "read %s", z->what);
	z->in_pos = 0;
	z->in_len = (size_t)n;
	z->consumed += (uint64_t)n;
	z->eof = n == 0;
	return 0;
}

int zs_open(int fd, const char *what, struct zstream **out)
{
	static const uint8_t xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
	static const uint8_t zst[] = { 0x28, 0xb5, 0x2f, 0xfd };
	static const uint8_t gz[] = { 0x1f, 0x8b };
	static const uint8_t bz[] = { 'B', 'Z', 'h' };
	struct zstream *z = calloc(1, sizeof(*z));
	int ret;

	if (!z || !(z->in = malloc(IN_SIZE))) {
		free(z);
		return err_set(-ENOMEM, "%s", what);
	}
	z->fd = fd;
	z->what = what;
	/* The magic may arrive in pieces (a pipe): read until 6 bytes or the end. */
	while (z->in_len < sizeof(xz) && !z->eof) {
		ssize_t n = read(fd, z->in + z->in_len, IN_SIZE - z->in_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = err_set(-errno, "read %s", what);
			goto fail;
		}
		z->in_len += (size_t)n;
		z->consumed += (uint64_t)n;
		z->eof = n == 0;
	}
	z->eof = false; /* fill() finds out again */
	if (z->in_len >= sizeof(xz) && !memcmp(z->in, xz, sizeof(xz))) {
		z->fmt = ZS_XZ;
		z->x = (lzma_stream)LZMA_STREAM_INIT;
		if (lzma_stream_decoder(&z->x, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
			ret = err_setx(-ENOMEM, "%s: liblzma cannot start", what);
			goto fail;
		}
	} else if (z->in_len >= sizeof(zst) && !memcmp(z->in, zst, sizeof(zst))) {
		z->fmt = ZS_ZSTD;
		z->d = ZSTD_createDCtx();
		if (!z->d) {
			ret = err_setx(-ENOMEM, "%s: out of memory", what);
			goto fail;
		}
	} else if (z->in_len >= sizeof(gz) && !memcmp(z->in, gz, sizeof(gz))) {
		z->fmt = ZS_GZIP;
		/* 16 + MAX_WBITS: a gzip wrapper; members one after another are read on. */
		if (inflateInit2(&z->z, 16 + MAX_WBITS) != Z_OK) {
			ret = err_setx(-ENOMEM, "%s: zlib cannot start", what);
			goto fail;
		}
	} else if (z->in_len >= sizeof(bz) && !memcmp(z->in, bz, sizeof(bz))) {
		ret = err_setx(-ENOTSUP, "%s is bzip2-compressed: use gzip, xz or zstd", what);
		goto fail;
	}
	*out = z;
	return 0;
fail:
	free(z->in);
	free(z);
	return ret;
}

static ssize_t read_gzip(struct zstream *z, void *buf, size_t len)
{
	for (;;) {
		int r, ret = fill(z);

		if (ret)
			return ret;
		z->z.next_in = z->in + z->in_pos;
		z->z.avail_in = (uInt)(z->in_len - z->in_pos);
		z->z.next_out = buf;
		z->z.avail_out = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
		r = inflate(&z->z, Z_NO_FLUSH);
		z->in_pos = z->in_len - z->z.avail_in;
		if (r == Z_STREAM_END) {
			size_t got = (size_t)((uint8_t *)z->z.next_out - (uint8_t *)buf);

			/* Another gzip member may follow (pigz, concatenated files). */
			if (fill(z) == 0 && z->in_pos < z->in_len) {
				inflateReset(&z->z);
			} else {
				z->done = true;
			}
			if (got || z->done)
				return (ssize_t)got;
			continue;
		}
		if (r != Z_OK && r != Z_BUF_ERROR)
			return err_setx(-EBADMSG, "%s: corrupt gzip data", z->what);
		if ((uint8_t *)z->z.next_out != (uint8_t *)buf)
			return (ssize_t)((uint8_t *)z->z.next_out - (uint8_t *)buf);
		if (z->eof)
			return err_setx(-EBADMSG, "%s: truncated gzip data", z->what);
	}
}

static ssize_t read_xz(struct zstream *z, void *buf, size_t len)
{
	for (;;) {
		lzma_ret r;
		int ret = fill(z);

		if (ret)
			return ret;
		z->x.next_in = z->in + z->in_pos;
		z->x.avail_in = z->in_len - z->in_pos;
		z->x.next_out = buf;
		z->x.avail_out = len;
		r = lzma_code(&z->x, z->eof ? LZMA_FINISH : LZMA_RUN);
		z->in_pos = z->in_len - z->x.avail_in;
		if (r == LZMA_STREAM_END) {
			z->done = true;
			return (ssize_t)(len - z->x.avail_out);
		}
		if (r == LZMA_MEM_ERROR)
			return err_setx(-ENOMEM, "%s: out of memory", z->what);
		if (r != LZMA_OK && r != LZMA_BUF_ERROR)
			return err_setx(-EBADMSG, "%s: corrupt xz data", z->what);
		if (z->x.avail_out != len)
			return (ssize_t)(len - z->x.avail_out);
		if (z->eof)
			return err_setx(-EBADMSG, "%s: truncated xz data", z->what);
	}
}

static ssize_t read_zstd(struct zstream *z, void *buf, size_t len)
{
	for (;;) {
		ZSTD_inBuffer ib;
		ZSTD_outBuffer ob = { buf, len, 0 };
		size_t r;
		int ret = fill(z);

		if (ret)
			return ret;
		if (z->eof && z->in_pos == z->in_len) {
			if (z->done)
				return 0;
			return err_setx(-EBADMSG, "%s: truncated zstd data", z->what);
		}
		ib = (ZSTD_inBuffer){ z->in, z->in_len, z->in_pos };
		r = ZSTD_decompressStream(z->d, &ob, &ib);
		z->in_pos = ib.pos;
		if (ZSTD_isError(r))
			return err_setx(-EBADMSG, "%s: corrupt zstd data (%s)", z->what,
					ZSTD_getErrorName(r));
		z->done = r == 0; /* a frame ended: the input may end here */
		if (ob.pos)
			return (ssize_t)ob.pos;
	}
}

ssize_t zs_read(struct zstream *z, void *buf, size_t len)
{
	if (!len)
		return 0;
	switch (z->fmt) {
	case ZS_GZIP:
		return z->done ? 0 : read_gzip(z, buf, len);
	case ZS_XZ:
		return z->done ? 0 : read_xz(z, buf, len);
	case ZS_ZSTD:
		return read_zstd(z, buf, len);
	case ZS_PLAIN:
	default: {
		size_t n;
		int ret = fill(z);

		if (ret)
			return ret;
		n = z->in_len - z->in_pos;
		if (n > len)
			n = len;
		memcpy(buf, z->in + z->in_pos, n);
		z->in_pos += n;
		return (ssize_t)n;
	}
	}
}

int zs_read_full(struct zstream *z, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = zs_read(z, p, len);

		if (n < 0)
			return (int)n;
		if (n == 0)
			return err_setx(-EBADMSG, "%s is truncated", z->what);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int zs_skip(struct zstream *z, uint64_t len)
{
	uint8_t buf[16384];

	while (len) {
		size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		int ret = zs_read_full(z, buf, n);

		if (ret)
			return ret;
		len -= n;
	}
	return 0;
}

enum zs_format zs_format(const struct zstream *z)
{
	return z->fmt;
}

uint64_t zs_consumed(const struct zstream *z)
{
	return z->consumed - (z->in_len - z->in_pos);
}

void zs_close(struct zstream *z)
{
	if (!z)
		return;
	if (z->fmt == ZS_GZIP)
		inflateEnd(&z->z);
	else if (z->fmt == ZS_XZ)
		lzma_end(&z->x);
	else if (z->fmt == ZS_ZSTD)
		ZSTD_freeDCtx(z->d);
	free(z->in);
	free(z);
}
