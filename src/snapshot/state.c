// SPDX-License-Identifier: Apache-2.0
/*
 * The snapshot state file (see state.h): a section writer and a reader that
 * checks size, magic, version, SHA-256 and every section's bounds before
 * handing out a byte.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/util.h"
#include "state.h"

#define HDR_SIZE 24u /* magic 8, version 4, flags 4, size 8 */
#define SEC_HDR 16u  /* id 4, instance 4, length 8 */
#define DIGEST 32u
#define PAD8(n) (((n) + 7) & ~(size_t)7)

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static void reserve(struct snap_writer *w, size_t more)
{
	size_t cap = w->cap ? w->cap : 4096;
	uint8_t *nb;

	if (w->err)
		return;
	if (more > SNAP_MAX_FILE || w->len + more > SNAP_MAX_FILE) {
		w->err = -EFBIG;
		return;
	}
	while (cap < w->len + more)
		cap *= 2;
	if (cap == w->cap)
		return;
	nb = realloc(w->buf, cap);
	if (!nb) {
		w->err = -ENOMEM;
		return;
	}
	w->buf = nb;
	w->cap = cap;
}

void snapw_init(struct snap_writer *w)
{
	memset(w, 0, sizeof(*w));
	reserve(w, HDR_SIZE);
	if (w->err)
		return;
	memcpy(w->buf, SNAP_MAGIC, 8);
	put32(w->buf + 8, SNAP_VERSION);
	put32(w->buf + 12, 0);
	put64(w->buf + 16, 0);
	w->len = HDR_SIZE;
}

void snapw_add(struct snap_writer *w, uint32_t id, uint32_t instance, const void *data, size_t len)
{
	size_t total = SEC_HDR + PAD8(len);

	if (len > SNAP_MAX_FILE) {
		w->err = w->err ? w->err : -EFBIG;
		return;
	}
	reserve(w, total);
	if (w->err)
		return;
	put32(w->buf + w->len, id);
	put32(w->buf + w->len + 4, instance);
	put64(w->buf + w->len + 8, len);
	if (len)
		memcpy(w->buf + w->len + SEC_HDR, data, len);
	memset(w->buf + w->len + SEC_HDR + len, 0, PAD8(len) - len);
	w->len += total;
}

const uint8_t *snapw_finish(struct snap_writer *w, size_t *len)
{
	struct sha256_ctx h;

	reserve(w, SEC_HDR + DIGEST);
	if (w->err)
		return NULL;
	put32(w->buf + w->len, SNAP_SEC_END);
	put32(w->buf + w->len + 4, 0);
	put64(w->buf + w->len + 8, DIGEST);
	w->len += SEC_HDR;
	put64(w->buf + 16, w->len + DIGEST);
	sha256_init(&h);
	sha256_update(&h, w->len, w->buf);
	sha256_digest(&h, DIGEST, w->buf + w->len);
	w->len += DIGEST;
	*len = w->len;
	return w->buf;
}

int snapw_commit(struct snap_writer *w, int dirfd, const char *name)
{
	char tmp[256];
	const uint8_t *buf;
	size_t len = 0;
	int fd, ret = 0;

	buf = snapw_finish(w, &len);
	if (!buf)
		return err_set(w->err, "building the state file");
	snprintf(tmp, sizeof(tmp), ".%s.tmp-%d", name, (int)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(-errno, "creating %s", tmp);
	if (write_full(fd, buf, len) != (ssize_t)len)
		ret = err_set(-errno ? -errno : -EIO, "writing the state file");
	else if (fsync(fd) < 0)
		ret = err_set(-errno, "fsync of the state file");
	close(fd);
	if (!ret && renameat(dirfd, tmp, dirfd, name) < 0)
		ret = err_set(-errno, "renaming the state file to %s", name);
	if (ret)
		unlinkat(dirfd, tmp, 0);
	else
		fsync(dirfd);
	return ret;
}

void snapw_free(struct snap_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

int snapr_parse(struct snap_reader *r, const void *data, size_t len, const char *what)
{
	const uint8_t *buf = data;
	struct sha256_ctx h;
	uint8_t digest[DIGEST];
	size_t off, cap = 0;
	uint64_t size;
	uint32_t version;

	memset(r, 0, sizeof(*r));
	if (len < HDR_SIZE || memcmp(buf, SNAP_MAGIC, 8))
		return err_setx(-EINVAL, "%s: not a Clone snapshot state file", what);
	version = get32(buf + 8);
	if (version > SNAP_VERSION || version == 0)
		return err_setx(-EINVAL,
				"%s: state file version %u is not supported (this clone: %u)", what,
				version, SNAP_VERSION);
	if (get32(buf + 12))
		return err_setx(-EINVAL, "%s: unknown state file flags 0x%x", what,
				get32(buf + 12));
	size = get64(buf + 16);
	if (size != len)
		return err_setx(-EINVAL,
				"%s: truncated or damaged state file (%zu bytes, header says %llu)",
				what, len, (unsigned long long)size);
	if (len < HDR_SIZE + SEC_HDR + DIGEST)
		return err_setx(-EINVAL, "%s: truncated state file", what);
	sha256_init(&h);
	sha256_update(&h, len - DIGEST, buf);
	sha256_digest(&h, DIGEST, digest);
	if (memcmp(digest, buf + len - DIGEST, DIGEST))
		return err_setx(-EINVAL,
				"%s: checksum mismatch: the state file was modified or damaged",
				what);
	r->buf = (uint8_t *)buf;
	r->len = len;
	r->version = version;
	memcpy(r->digest, digest, DIGEST);
	for (off = HDR_SIZE;;) {
		uint32_t id, inst;
		uint64_t slen;

		if (len - off < SEC_HDR)
			goto bad;
		id = get32(buf + off);
		inst = get32(buf + off + 4);
		slen = get64(buf + off + 8);
		if (id == SNAP_SEC_END) {
			if (inst || slen != DIGEST || off + SEC_HDR + DIGEST != len)
				goto bad;
			return 0;
		}
		if (slen > len - off - SEC_HDR || PAD8(slen) > len - off - SEC_HDR)
			goto bad;
		for (unsigned i = 0; i < r->nr; i++)
			if (r->secs[i].id == id && r->secs[i].instance == inst) {
				snapr_free(r);
				return err_setx(-EINVAL, "%s: section %u/%u appears twice", what,
						id, inst);
			}
		if (r->nr == SNAP_MAX_SECTIONS) {
			snapr_free(r);
			return err_setx(-EINVAL, "%s: too many sections", what);
		}
		if (r->nr == cap) {
			struct snap_sec_ref *ns;

			cap = cap ? 2 * cap : 32;
			ns = realloc(r->secs, cap * sizeof(*ns));
			if (!ns) {
				snapr_free(r);
				return err_set(-ENOMEM, "%s", what);
			}
			r->secs = ns;
		}
		r->secs[r->nr++] = (struct snap_sec_ref){
			.id = id, .instance = inst, .off = off + SEC_HDR, .len = (size_t)slen
		};
		off += SEC_HDR + PAD8((size_t)slen);
	}
bad:
	snapr_free(r);
	return err_setx(-EINVAL, "%s: malformed section table", what);
}

int snapr_load(struct snap_reader *r, const char *path)
{
	struct stat st;
	uint8_t *buf;
	int fd, ret;

	memset(r, 0, sizeof(*r));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? err_setx(-ENOENT, "no snapshot at %s", path)
				       : err_set(-errno, "%s", path);
	if (fstat(fd, &st) < 0) {
		ret = err_set(-errno, "%s", path);
		close(fd);
		return ret;
	}
	if (st.st_size > SNAP_MAX_FILE) {
		close(fd);
		return err_setx(-EINVAL, "%s: %lld bytes: too large for a state file", path,
				(long long)st.st_size);
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return err_set(-ENOMEM, "%s", path);
	}
	if (read_full(fd, buf, (size_t)st.st_size) != st.st_size) {
		ret = err_set(-EIO, "reading %s", path);
		close(fd);
		free(buf);
		return ret;
	}
	close(fd);
	ret = snapr_parse(r, buf, (size_t)st.st_size, path);
	if (ret) {
		free(buf);
		return ret;
	}
	r->owned = true;
	return 0;
}

const void *snapr_find(const struct snap_reader *r, uint32_t id, uint32_t instance, size_t *len)
{
	for (unsigned i = 0; i < r->nr; i++)
		if (r->secs[i].id == id && r->secs[i].instance == instance) {
			*len = r->secs[i].len;
			return r->buf + r->secs[i].off;
		}
	return NULL;
}

int snapr_get(const struct snap_reader *r, uint32_t id, uint32_t instance, void *out, size_t size)
{
	size_t len;
	const void *p = snapr_find(r, id, instance, &len);

	if (!p)
		return -ENOENT;
	if (len != size)
		return err_setx(-EINVAL, "state file: section %u has %zu bytes, expected %zu", id,
				len, size);
	memcpy(out, p, size);
	return 0;
}

void snapr_free(struct snap_reader *r)
{
	if (r->owned)
		free(r->buf);
	free(r->secs);
	memset(r, 0, sizeof(*r));
}
