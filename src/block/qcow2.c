// SPDX-License-Identifier: Apache-2.0
/*
 * qcow2 images (QEMU docs/interop/qcow2.txt), versions 2 and 3: opening and
 * validating the header, the backing chain, guest reads and writes,
 * write_zeroes/discard.  Metadata lives in qcow2_meta.c, image creation
 * in qcow2_create.c.  Open and close run on the main thread; requests run on any
 * number of I/O worker threads at once: q->lock guards all metadata and is
 * held for the lookups and for allocating writes, while reads and writes of
 * clusters that are already allocated do their data I/O after dropping it.
 * q->drain (read side per request) keeps a cluster from being freed and
 * reused while such unlocked I/O may still target it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define LOG_TAG "qcow2"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"
#include "qcow2.h"

enum { X_DATA, X_ZERO, X_UNALLOC, X_COMP };

/* One piece of a request: guest bytes [pos, pos + len) of it, one kind. */
struct ext {
	uint64_t pos, len;
	uint64_t host; /* X_DATA: file offset of pos */
	uint64_t entry;
	int type;
};

#define MAX_EXT 16
#define MAX_RUN 512

/* A stack of the images above, to spot a backing chain that loops. */
struct chain {
	const struct chain *up;
	dev_t dev;
	ino_t ino;
};

static const uint8_t zeroes[64 * 1024] __attribute__((aligned(4096)));

static int open_image(const char *path, unsigned flags, unsigned depth, const struct chain *up,
		      struct disk **out);

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64_at(const uint8_t *p)
{
	return (uint64_t)be32_at(p) << 32 | be32_at(p + 4);
}

/* ---- lookups (q->lock held) ---- */

static int entry_at(struct qcow2 *q, uint64_t vc, uint64_t *e)
{
	void *t;
	int ret = qcow2_l2_get(q, vc >> q->l2_bits, &t);

	if (ret)
		return ret;
	*e = t ? qcow2_be64(t, vc & ((1ull << q->l2_bits) - 1)) : 0;
	return 0;
}

/* The kind of an L2 entry, its data cluster's offset in *host. */
static int classify(struct qcow2 *q, uint64_t vc, uint64_t e, uint64_t *host)
{
	uint64_t h;

	if (e & QCOW_OFLAG_COMPRESSED) {
		uint64_t off, len;

		qcow2_compressed_range(q, e, &off, &len);
		if ((off >> q->cluster_bits) >= q->end || off < q->cs)
			return qcow2_corrupt(q,
					     "compressed cluster for guest offset %#llx at %#llx",
					     (unsigned long long)(vc << q->cluster_bits),
					     (unsigned long long)off);
		return X_COMP;
	}
	if (e & QCOW_OFLAG_ZERO)
		return X_ZERO;
	h = e & L2E_OFFSET_MASK;
	if (!h)
		return X_UNALLOC;
	if ((h & (q->cs - 1)) || (h >> q->cluster_bits) >= q->end)
		return qcow2_corrupt(q, "L2 entry for guest offset %#llx points at %#llx",
				     (unsigned long long)(vc << q->cluster_bits),
				     (unsigned long long)h);
	*host = h;
	return X_DATA;
}

/* True when a data write may go straight to the cluster (allocated, refcount 1). */
static bool simple_entry(uint64_t e)
{
	return (e & QCOW_OFLAG_COPIED) && !(e & (QCOW_OFLAG_COMPRESSED | QCOW_OFLAG_ZERO)) &&
	       (e & L2E_OFFSET_MASK);
}

/* A data cluster must never overlap the header, the L1 table or the refcount table. */
static bool overlaps_meta(const struct qcow2 *q, uint64_t h)
{
	uint64_t l1_end = q->l1_off + (uint64_t)q->l1_size * 8;
	uint64_t rt_end = q->rt_off + ((uint64_t)q->rt_clusters << q->cluster_bits);

	return h < q->cs || (h < l1_end && h + q->cs > q->l1_off) ||
	       (h < rt_end && h + q->cs > q->rt_off);
}

/*
 * Map up to MAX_EXT pieces of [off, off + len).  for_write stops at the
 * first cluster that needs allocating (its index in *stop).
 */
static int map(struct qcow2 *q, uint64_t off, uint64_t len, bool for_write, struct ext *x, int *nx)
{
	uint64_t pos = 0;
	int n = 0;

	while (pos < len && n < MAX_EXT) {
		uint64_t vo = off + pos, vc = vo >> q->cluster_bits, in = vo & (q->cs - 1);
		uint64_t k = MIN(q->cs - in, len - pos), e, h = 0;
		int type, ret = entry_at(q, vc, &e);

		if (ret)
			return ret;
		if (for_write && !simple_entry(e))
			break;
		type = classify(q, vc, e, &h);
		if (type < 0)
			return type;
		if (for_write && overlaps_meta(q, h))
			return qcow2_corrupt(q, "data cluster %#llx overlaps metadata",
					     (unsigned long long)h);
		if (type == X_DATA)
			h += in;
		if (n && x[n - 1].type == type && type != X_COMP &&
		    (type != X_DATA || x[n - 1].host + x[n - 1].len == h)) {
			x[n - 1].len += k;
		} else {
			x[n] = (struct ext){
				.pos = pos, .len = k, .host = h, .entry = e, .type = type
			};
			n++;
		}
		pos += k;
	}
	*nx = n;
	return 0;
}

/* ---- data ---- */

/* Guest bytes [voff, voff + len) of the backing file (zeroes past its end) into iov at skip. */
static int read_backing(struct qcow2 *q, const struct iovec *iov, int cnt, uint64_t skip,
			uint64_t len, uint64_t voff)
{
	struct disk *b = q->backing;
	uint64_t have = (b && voff < b->size) ? MIN(len, b->size - voff) : 0;

	while (have) {
		struct iovec v[64];
		uint64_t got;
		int n = disk_iov_slice(iov, cnt, skip, have, v, 64, &got), ret;

		if (!got)
			break;
		ret = b->ops->preadv(b, v, n, voff);
		if (ret)
			return ret;
		skip += got;
		voff += got;
		len -= got;
		have -= got;
	}
	disk_iov_zero(iov, cnt, skip, len);
	return 0;
}

/* Inflate the compressed cluster of entry e into out (one cluster). */
static int decompress(struct qcow2 *q, uint64_t e, void *out)
{
	uint64_t off, len, a = q->direct ? 4096 : 1, start, rlen;
	z_stream z = { 0 };
	void *buf = NULL;
	int ret, zr;

	qcow2_compressed_range(q, e, &off, &len);
	start = off / a * a;
	rlen = (off + len - start + a - 1) / a * a;
	if (posix_memalign(&buf, 4096, rlen))
		return err_setx(-ENOMEM, "%s: out of memory", q->d.path);
	ret = qcow2_read(q, buf, rlen, start);
	if (ret)
		goto out;
	/* Raw deflate, 4 KiB window (spec: compressed clusters, zlib type). */
	if (inflateInit2(&z, -12) != Z_OK) {
		ret = err_setx(-ENOMEM, "%s: inflateInit2 failed", q->d.path);
		goto out;
	}
	z.next_in = (Bytef *)buf + (off - start);
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)q->cs;
	zr = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	if ((zr != Z_STREAM_END && zr != Z_BUF_ERROR) || z.avail_out) {
		log_warn_rl("%s: compressed cluster at %#llx does not inflate", q->d.path,
			    (unsigned long long)off);
		ret = err_setx(-EIO, "%s: bad compressed cluster at %#llx", q->d.path,
			       (unsigned long long)off);
	}
out:
	free(buf);
	return ret;
}

static int read_ext(struct qcow2 *q, const struct iovec *iov, int cnt, uint64_t off,
		    const struct ext *x)
{
	uint64_t vo = off + x->pos;
	void *buf;
	int ret;

	switch (x->type) {
	case X_DATA:
		return disk_file_io(q->d.fd, iov, cnt, x->pos, x->len, x->host, false);
	case X_ZERO:
		disk_iov_zero(iov, cnt, x->pos, x->len);
		return 0;
	case X_UNALLOC:
		return read_backing(q, iov, cnt, x->pos, x->len, vo);
	default:
		if (posix_memalign(&buf, 4096, q->cs))
			return err_setx(-ENOMEM, "%s: out of memory", q->d.path);
		ret = decompress(q, x->entry, buf);
		if (!ret)
			disk_iov_from_buf(iov, cnt, x->pos, (char *)buf + (vo & (q->cs - 1)),
					  x->len);
		free(buf);
		return ret;
	}
}

static int qcow2_preadv(struct disk *d, const struct iovec *iov, int cnt, uint64_t off)
{
	struct qcow2 *q = container_of(d, struct qcow2, d);
	struct ext x[MAX_EXT];
	uint64_t len, pos = 0;
	int ret = disk_iov_len(iov, cnt, &len);

	if (ret)
		return ret;
	pthread_rwlock_rdlock(&q->drain);
	while (pos < len && !ret) {
		int n;

		pthread_mutex_lock(&q->lock);
		ret = map(q, off + pos, len - pos, false, x, &n);
		pthread_mutex_unlock(&q->lock);
		for (int i = 0; i < n && !ret; i++) {
			x[i].pos += pos;
			ret = read_ext(q, iov, cnt, off, &x[i]);
			if (!ret && i == n - 1)
				pos = x[i].pos + x[i].len;
		}
	}
	pthread_rwlock_unlock(&q->drain);
	return ret;
}

/* The current contents of guest cluster vc (entry e) into buf, for copy-on-write. */
static int fill_old(struct qcow2 *q, uint64_t vc, uint64_t e, void *buf)
{
	struct iovec iov = { .iov_base = buf, .iov_len = (size_t)q->cs };
	uint64_t h = 0;
	int type = classify(q, vc, e, &h);

	switch (type) {
	case X_DATA:
		return qcow2_read(q, buf, q->cs, h);
	case X_ZERO:
		memset(buf, 0, q->cs);
		return 0;
	case X_UNALLOC:
		return read_backing(q, &iov, 1, 0, q->cs, vc << q->cluster_bits);
	case X_COMP:
		return decompress(q, e, buf);
	default:
		return type;
	}
}

/*
 * Write the part of [off, off + len) from *pos on that falls in a run of
 * clusters needing allocation (unallocated, zero, compressed, shared),
 * all in one L2 table.  Order: refcounts, then data, then L2 entries, and
 * only then the old clusters' references are dropped.
 */
static int write_alloc(struct qcow2 *q, const struct iovec *iov, int cnt, uint64_t off,
		       uint64_t len, uint64_t *pos)
{
	/*
	 * A run stays below half a refcount block's reach: new refcount blocks
	 * land inside fresh territory every block-reach clusters, so a run as
	 * long as that might never find room.
	 */
	unsigned max_run = (unsigned)MIN((uint64_t)MAX_RUN, (1ull << q->rb_bits) / 2);
	uint64_t vc0 = (off + *pos) >> q->cluster_bits, l1i = vc0 >> q->l2_bits;
	uint64_t l2i0 = vc0 & ((1ull << q->l2_bits) - 1), end = off + len, host;
	uint64_t old[MAX_RUN], full_start = 0, full_n = 0;
	unsigned run = 1;
	void *t;
	int ret = qcow2_l2_get_writable(q, l1i, &t);

	if (ret)
		return ret;
	while (run < max_run && l2i0 + run < (1ull << q->l2_bits) &&
	       ((vc0 + run) << q->cluster_bits) < end && !simple_entry(qcow2_be64(t, l2i0 + run)))
		run++;
	for (unsigned i = 0; i < run; i++)
		old[i] = qcow2_be64(t, l2i0 + i);
	ret = qcow2_alloc(q, run, &host);
	if (ret)
		return ret;
	for (unsigned i = 0; i <= run; i++) {
		uint64_t vs = (vc0 + i) << q->cluster_bits, a = 0, b = 0;

		if (i < run) {
			a = MAX(off + *pos, vs) - vs;
			b = MIN(end, vs + q->cs) - vs;
			if (a == 0 && b == q->cs) {
				if (!full_n++)
					full_start = i;
				continue;
			}
		}
		if (full_n) {
			uint64_t fs = (vc0 + full_start) << q->cluster_bits;

			ret = disk_file_io(q->d.fd, iov, cnt, fs - off, full_n << q->cluster_bits,
					   host + (full_start << q->cluster_bits), true);
			if (ret)
				return ret;
			full_n = 0;
		}
		if (i == run)
			break;
		ret = fill_old(q, vc0 + i, old[i], q->bounce);
		if (ret)
			return ret;
		disk_iov_to_buf(iov, cnt, vs + a - off, (char *)q->bounce + a, b - a);
		ret = qcow2_write(q, q->bounce, q->cs, host + ((uint64_t)i << q->cluster_bits));
		if (ret)
			return ret;
	}
	for (unsigned i = 0; i < run; i++)
		qcow2_set_be64(t, l2i0 + i,
			       (host + ((uint64_t)i << q->cluster_bits)) | QCOW_OFLAG_COPIED);
	ret = qcow2_l2_flush(q, l1i, t, (unsigned)l2i0, run);
	if (ret) {
		for (unsigned i = 0; i < run; i++)
			qcow2_set_be64(t, l2i0 + i, old[i]);
		return ret;
	}
	/* None of the old clusters takes unlocked I/O (not simple): no drain needed. */
	for (unsigned i = 0; i < run && !ret; i++)
		ret = qcow2_free_entry(q, old[i]);
	*pos = MIN(len, ((vc0 + run) << q->cluster_bits) - off);
	return ret;
}

static int qcow2_pwritev(struct disk *d, const struct iovec *iov, int cnt, uint64_t off)
{
	struct qcow2 *q = container_of(d, struct qcow2, d);
	struct ext x[MAX_EXT];
	uint64_t len, pos = 0;
	int ret = disk_iov_len(iov, cnt, &len);

	if (ret)
		return ret;
	if (d->rdonly)
		return err_setx(-EROFS, "%s is read-only", d->path);
	pthread_rwlock_rdlock(&q->drain);
	pthread_mutex_lock(&q->lock);
	while (pos < len && !ret) {
		int n;

		if (q->broken) {
			ret = err_setx(-EIO, "%s is marked corrupt; writes are refused", d->path);
			break;
		}
		ret = map(q, off + pos, len - pos, true, x, &n);
		if (ret)
			break;
		if (!n) {
			ret = write_alloc(q, iov, cnt, off, len, &pos);
			continue;
		}
		pthread_mutex_unlock(&q->lock);
		for (int i = 0; i < n && !ret; i++)
			ret = disk_file_io(d->fd, iov, cnt, pos + x[i].pos, x[i].len, x[i].host,
					   true);
		pos += x[n - 1].pos + x[n - 1].len;
		if (pos >= len || ret)
			goto out;
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
out:
	pthread_rwlock_unlock(&q->drain);
	return ret;
}

/* Write real zeroes over [off, off + len) through the normal write path. */
static int write_zero_bytes(struct qcow2 *q, uint64_t off, uint64_t len)
{
	while (len) {
		struct iovec v[32];
		uint64_t chunk = MIN(len, (uint64_t)ARRAY_SIZE(v) * sizeof(zeroes));
		int n = 0, ret;

		for (uint64_t done = 0; done < chunk; done += sizeof(zeroes), n++) {
			v[n].iov_base = (void *)zeroes;
			v[n].iov_len = (size_t)MIN(sizeof(zeroes), chunk - done);
		}
		ret = qcow2_pwritev(&q->d, v, n, off);
		if (ret)
			return ret;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

/*
 * Make whole clusters [vc, vc + n) read as zeroes with L2 entries alone
 * (v3 zero flag, or unallocated when nothing shows through).  Freed
 * clusters wait for the drain: unlocked I/O may still target them.
 */
static int zero_clusters(struct qcow2 *q, uint64_t vc, uint64_t n, bool unmap)
{
	uint64_t per = 1ull << q->l2_bits, *freed = NULL;
	int ret = 0;

	freed = malloc(MIN(n, per) * sizeof(*freed));
	if (!freed)
		return err_setx(-ENOMEM, "%s: out of memory", q->d.path);
	while (n && !ret) {
		uint64_t l1i = vc >> q->l2_bits, l2i = vc & (per - 1), k = MIN(n, per - l2i);
		unsigned nf = 0, lo = UINT32_MAX, hi = 0;
		void *t;

		pthread_mutex_lock(&q->lock);
		if (q->broken)
			ret = err_setx(-EIO, "%s is marked corrupt; writes are refused", q->d.path);
		if (!ret)
			ret = qcow2_l2_get(q, l1i, &t);
		if (!ret && !t && q->backing)
			ret = qcow2_l2_get_writable(q, l1i, &t);
		else if (!ret && t && !(qcow2_be64(q->l1, l1i) & QCOW_OFLAG_COPIED))
			ret = qcow2_l2_get_writable(q, l1i, &t);
		for (uint64_t i = 0; !ret && t && i < k; i++) {
			uint64_t e = qcow2_be64(t, l2i + i), ne;
			bool keep = !unmap && simple_entry(e);

			if (keep)
				ne = (e & L2E_OFFSET_MASK) | QCOW_OFLAG_COPIED | QCOW_OFLAG_ZERO;
			else if (q->backing)
				ne = QCOW_OFLAG_ZERO;
			else
				ne = 0;
			if (ne == e)
				continue;
			qcow2_set_be64(t, l2i + i, ne);
			lo = MIN(lo, (unsigned)(l2i + i));
			hi = (unsigned)(l2i + i + 1);
			if (!keep && ((e & QCOW_OFLAG_COMPRESSED) || (e & L2E_OFFSET_MASK)))
				freed[nf++] = e;
		}
		if (!ret && hi > lo)
			ret = qcow2_l2_flush(q, l1i, t, lo, hi - lo);
		pthread_mutex_unlock(&q->lock);
		if (!ret && nf) {
			pthread_rwlock_wrlock(&q->drain);
			pthread_rwlock_unlock(&q->drain);
			pthread_mutex_lock(&q->lock);
			for (unsigned i = 0; i < nf && !ret; i++)
				ret = qcow2_free_entry(q, freed[i]);
			pthread_mutex_unlock(&q->lock);
		}
		vc += k;
		n -= k;
	}
	free(freed);
	return ret;
}

static int qcow2_write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool may_unmap)
{
	struct qcow2 *q = container_of(d, struct qcow2, d);
	uint64_t cs = q->cs, head, tail, first, last;
	int ret;

	if (d->rdonly)
		return err_setx(-EROFS, "%s is read-only", d->path);
	/* v2 has no zero flag: zeroes must be written unless nothing shows through. */
	if (q->version < 3 && (q->backing || !may_unmap))
		return write_zero_bytes(q, off, len);
	first = (off + cs - 1) & ~(cs - 1);
	last = (off + len) & ~(cs - 1);
	/* The partial cluster at the very end of the disk counts as whole. */
	if (off + len == d->size && last < off + len)
		last = off + len;
	if (first >= last)
		return write_zero_bytes(q, off, len);
	head = first - off;
	tail = off + len - last;
	if (head && (ret = write_zero_bytes(q, off, head)))
		return ret;
	ret = zero_clusters(q, first / cs, (last - first + cs - 1) / cs, may_unmap);
	if (!ret && tail)
		ret = write_zero_bytes(q, last, tail);
	return ret;
}

static int qcow2_discard(struct disk *d, uint64_t off, uint64_t len)
{
	return qcow2_write_zeroes(d, off, len, true);
}

static int qcow2_flush(struct disk *d)
{
	/* Metadata is written through, so the data sync covers it too. */
	if (fdatasync(d->fd) < 0)
		return err_set(-errno, "fdatasync %s", d->path);
	return 0;
}

static void qcow2_close(struct disk *d)
{
	struct qcow2 *q = container_of(d, struct qcow2, d);

	disk_close(q->backing);
	qcow2_cache_free(q);
	free(q->l1);
	free(q->rt);
	free(q->bounce);
	pthread_mutex_destroy(&q->lock);
	pthread_rwlock_destroy(&q->drain);
	if (d->fd >= 0)
		close(d->fd);
	free(d->path);
	free(q);
}

static const struct disk_ops qcow2_ops = {
	.name = "qcow2",
	.preadv = qcow2_preadv,
	.pwritev = qcow2_pwritev,
	.flush = qcow2_flush,
	.discard = qcow2_discard,
	.write_zeroes = qcow2_write_zeroes,
	.close = qcow2_close,
};

bool disk_has_backing(const struct disk *d)
{
	return d->ops == &qcow2_ops && container_of(d, const struct qcow2, d)->backing;
}

/* ---- open ---- */

/* A backing file name relative to the image's directory, as QEMU resolves it. */
char *qcow2_resolve(const char *image, const char *name)
{
	const char *slash = strrchr(image, '/');
	char *p;

	if (name[0] == '/' || !slash)
		return strdup(name);
	if (asprintf(&p, "%.*s/%s", (int)(slash - image), image, name) < 0)
		return NULL;
	return p;
}

int qcow2_parse_fmt(const char *path, const char *name, enum disk_format *fmt)
{
	if (!strcmp(name, "raw"))
		*fmt = DISK_FMT_RAW;
	else if (!strcmp(name, "qcow2"))
		*fmt = DISK_FMT_QCOW2;
	else
		return err_setx(-ENOTSUP, "%s: backing format '%s' is not supported (raw, qcow2)",
				path, name);
	return 0;
}

static int open_backing(struct qcow2 *q, const char *name, const char *fmt_name, unsigned depth,
			const struct chain *up)
{
	struct chain self = { .up = up, .dev = q->d.dev, .ino = q->d.ino };
	enum disk_format fmt;
	struct stat st;
	char *path;
	int ret;

	if (depth + 1 >= QCOW2_MAX_CHAIN)
		return err_setx(-ELOOP, "%s: backing chain deeper than %d images", q->d.path,
				QCOW2_MAX_CHAIN);
	path = qcow2_resolve(q->d.path, name);
	if (!path)
		return err_setx(-ENOMEM, "%s: out of memory", q->d.path);
	if (stat(path, &st) < 0) {
		ret = err_set(-errno, "%s: backing file %s", q->d.path, path);
		goto out;
	}
	for (const struct chain *c = &self; c; c = c->up) {
		if (c->dev == st.st_dev && c->ino == st.st_ino) {
			ret = err_setx(-ELOOP, "%s: backing chain loops back to %s", q->d.path,
				       path);
			goto out;
		}
	}
	ret = fmt_name ? qcow2_parse_fmt(q->d.path, fmt_name, &fmt) : disk_probe(path, &fmt);
	if (ret)
		goto out;
	if (fmt == DISK_FMT_RAW)
		ret = raw_open(path, DISK_RDONLY, &q->backing);
	else
		ret = open_image(path, DISK_RDONLY, depth + 1, &self, &q->backing);
out:
	free(path);
	return ret;
}

/* "bit 5 (name), bit 9" for the incompatible bits in mask, named by the feature table. */
static void name_bits(char *out, size_t cap, uint64_t mask, const uint8_t *tbl, uint32_t tbl_len)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned bit = 0; bit < 64 && used < cap; bit++) {
		const char *name = NULL;
		int nlen = 0, w;

		if (!(mask & (1ull << bit)))
			continue;
		for (uint32_t i = 0; tbl && i + 48 <= tbl_len; i += 48) {
			if (tbl[i] == 0 && tbl[i + 1] == bit) {
				name = (const char *)tbl + i + 2;
				nlen = (int)strnlen(name, 46);
			}
		}
		w = snprintf(out + used, cap - used, "%sbit %u%s%.*s%s", used ? ", " : "", bit,
			     name ? " (" : "", nlen, name ? name : "", name ? ")" : "");
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

struct hdr_info {
	uint64_t backing_off, size, l1_off, rt_off, snap_off, compat, autoclear;
	uint32_t backing_len, crypt, l1_size, rt_clusters, nb_snap, hdr_len;
	uint8_t compression;
	char backing_fmt[32];
	bool has_fmt;
	const uint8_t *features;
	uint32_t features_len;
};

static int read_header(struct qcow2 *q, const uint8_t *h, uint64_t hlen, uint64_t file_size,
		       struct hdr_info *hi)
{
	const char *path = q->d.path;
	uint64_t known, limit = MIN(hlen, q->cs), off;
	char bits[256];

	if (hlen < 72 || be32_at(h) != QCOW2_MAGIC)
		return err_setx(-EINVAL, "%s is not a qcow2 image (bad magic)", path);
	q->version = be32_at(h + 4);
	if (q->version != 2 && q->version != 3)
		return err_setx(-ENOTSUP, "%s: qcow2 version %u is not supported (2 or 3)", path,
				q->version);
	q->cluster_bits = be32_at(h + 20);
	if (q->cluster_bits < 9 || q->cluster_bits > 21)
		return err_setx(-EINVAL, "%s: cluster_bits %u outside 9..21", path,
				q->cluster_bits);
	q->cs = 1ull << q->cluster_bits;
	limit = MIN(hlen, q->cs);
	hi->backing_off = be64_at(h + 8);
	hi->backing_len = be32_at(h + 16);
	hi->size = be64_at(h + 24);
	hi->crypt = be32_at(h + 32);
	hi->l1_size = be32_at(h + 36);
	hi->l1_off = be64_at(h + 40);
	hi->rt_off = be64_at(h + 48);
	hi->rt_clusters = be32_at(h + 56);
	hi->nb_snap = be32_at(h + 60);
	hi->snap_off = be64_at(h + 64);
	if (q->version == 2) {
		q->refcount_order = 4;
		hi->hdr_len = 72;
	} else {
		if (hlen < 104)
			return err_setx(-EINVAL, "%s: truncated v3 header", path);
		q->incompat = be64_at(h + 72);
		hi->compat = be64_at(h + 80);
		hi->autoclear = be64_at(h + 88);
		q->refcount_order = be32_at(h + 96);
		hi->hdr_len = be32_at(h + 100);
		if (hi->hdr_len < 104 || hi->hdr_len % 8 || hi->hdr_len > limit)
			return err_setx(-EINVAL, "%s: bad header_length %u", path, hi->hdr_len);
		if (q->refcount_order > 6)
			return err_setx(-EINVAL, "%s: refcount_order %u > 6", path,
					q->refcount_order);
		if (hi->hdr_len > 104)
			hi->compression = h[104];
	}
	if (hi->crypt)
		return err_setx(-ENOTSUP, "%s: encrypted qcow2 images are not supported", path);

	/* Header extensions: between the header and the end of the first cluster. */
	for (off = hi->hdr_len; off + 8 <= limit;) {
		uint32_t type = be32_at(h + off), len = be32_at(h + off + 4);

		if (type == QCOW2_EXT_END)
			break;
		if (len > limit - off - 8)
			return err_setx(-EINVAL, "%s: header extension %#x overflows the header",
					path, type);
		if (type == QCOW2_EXT_BACKING_FMT) {
			if (len >= sizeof(hi->backing_fmt))
				return err_setx(-EINVAL, "%s: backing format name too long", path);
			memcpy(hi->backing_fmt, h + off + 8, len);
			hi->backing_fmt[len] = '\0';
			hi->has_fmt = true;
		} else if (type == QCOW2_EXT_FEATURES) {
			hi->features = h + off + 8;
			hi->features_len = len;
		}
		off += 8 + ((len + 7ull) & ~7ull);
	}

	known = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_DATA_FILE |
		QCOW2_INCOMPAT_COMPRESSION;
	if (q->incompat & ~known) {
		name_bits(bits, sizeof(bits), q->incompat & ~known, hi->features, hi->features_len);
		return err_setx(-ENOTSUP, "%s: unsupported incompatible qcow2 features: %s", path,
				bits);
	}
	if (q->incompat & QCOW2_INCOMPAT_DATA_FILE)
		return err_setx(-ENOTSUP, "%s: qcow2 external data files are not supported", path);
	if (!!(q->incompat & QCOW2_INCOMPAT_COMPRESSION) != !!hi->compression)
		return err_setx(-EINVAL, "%s: compression type bit and field disagree", path);
	if (hi->compression)
		return err_setx(-ENOTSUP,
				"%s: compression type %u (%s) is not supported, only zlib", path,
				hi->compression, hi->compression == 1 ? "zstd" : "unknown");
	if ((q->incompat & QCOW2_INCOMPAT_CORRUPT) && !q->d.rdonly)
		return err_setx(-EINVAL,
				"%s is marked corrupt: it may only be opened read-only "
				"(repair with qemu-img check -r all)",
				path);
	if ((q->incompat & QCOW2_INCOMPAT_DIRTY) && !q->d.rdonly)
		return err_setx(-ENOTSUP,
				"%s has the dirty bit set (lazy refcounts): repair it with "
				"qemu-img check -r all before opening it read-write",
				path);
	if (hi->nb_snap && !q->d.rdonly)
		return err_setx(
			-ENOTSUP,
			"%s has %u internal snapshots: opening it read-write is not supported",
			path, hi->nb_snap);
	if (hi->nb_snap && (hi->snap_off & (q->cs - 1) || hi->snap_off >= file_size))
		return err_setx(-EINVAL, "%s: snapshot table offset %#llx is invalid", path,
				(unsigned long long)hi->snap_off);

	if (hi->size > (1ull << 62))
		return err_setx(-EINVAL, "%s: virtual size %llu is absurd", path,
				(unsigned long long)hi->size);
	q->l2_bits = q->cluster_bits - 3;
	{
		uint64_t per_l1 = 1ull << (q->cluster_bits + q->l2_bits);
		uint64_t need = (hi->size + per_l1 - 1) >> (q->cluster_bits + q->l2_bits);

		if (hi->l1_size < need)
			return err_setx(-EINVAL,
					"%s: L1 table (%u entries) too small for %llu bytes", path,
					hi->l1_size, (unsigned long long)hi->size);
	}
	if ((uint64_t)hi->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return err_setx(-EINVAL, "%s: L1 table of %u entries is too large", path,
				hi->l1_size);
	if (hi->l1_size && ((hi->l1_off & (q->cs - 1)) || !hi->l1_off || hi->l1_off >= file_size ||
			    (uint64_t)hi->l1_size * 8 > file_size - hi->l1_off))
		return err_setx(-EINVAL, "%s: L1 table offset %#llx misaligned or past the end",
				path, (unsigned long long)hi->l1_off);
	if (!hi->rt_clusters || (uint64_t)hi->rt_clusters * q->cs > QCOW2_MAX_RT_BYTES)
		return err_setx(-EINVAL, "%s: refcount table of %u clusters is invalid", path,
				hi->rt_clusters);
	if ((hi->rt_off & (q->cs - 1)) || !hi->rt_off || hi->rt_off >= file_size ||
	    ((uint64_t)hi->rt_clusters << q->cluster_bits) > file_size - hi->rt_off)
		return err_setx(-EINVAL,
				"%s: refcount table offset %#llx misaligned or past the end", path,
				(unsigned long long)hi->rt_off);
	if (hi->backing_off) {
		if (hi->backing_len > QCOW2_MAX_BACKING_NAME)
			return err_setx(-EINVAL, "%s: backing file name too long (%u bytes)", path,
					hi->backing_len);
		if (!hi->backing_len || hi->backing_off > limit ||
		    hi->backing_len > limit - hi->backing_off)
			return err_setx(-EINVAL, "%s: backing file name outside the header cluster",
					path);
	}
	return 0;
}

static int load_tables(struct qcow2 *q, const struct hdr_info *hi)
{
	uint64_t a = q->direct ? 4096 : 1, l1_bytes = (uint64_t)q->l1_size * 8;
	uint64_t l1_buf =
		(MAX(l1_bytes, 8) + MAX(q->cs, 4096) - 1) / MAX(q->cs, 4096) * MAX(q->cs, 4096);
	uint64_t rt_bytes = (uint64_t)q->rt_clusters << q->cluster_bits;
	int ret;

	if (posix_memalign((void **)&q->l1, 4096, l1_buf) ||
	    posix_memalign((void **)&q->rt, 4096, rt_bytes))
		return err_setx(-ENOMEM, "%s: out of memory for tables", q->d.path);
	memset(q->l1, 0, l1_buf);
	q->l1_bytes = (MAX(l1_bytes, 8) + q->cs - 1) / q->cs * q->cs;
	if (l1_bytes) {
		ret = qcow2_read(q, q->l1, (l1_bytes + a - 1) / a * a, q->l1_off);
		if (ret)
			return ret;
		memset((char *)q->l1 + l1_bytes, 0, l1_buf - l1_bytes);
	}
	return qcow2_read(q, q->rt, rt_bytes, q->rt_off);
}

static int open_image(const char *path, unsigned flags, unsigned depth, const struct chain *up,
		      struct disk **out)
{
	pthread_rwlockattr_t ra;
	struct hdr_info hi = { 0 };
	struct qcow2 *q;
	struct stat st;
	uint64_t file_size, hlen;
	uint8_t *h = NULL;
	char *bname = NULL;
	int ret;

	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return err_setx(-ENOMEM, "qcow2 %s: out of memory", path);
	q->d.ops = &qcow2_ops;
	q->d.fd = -1;
	q->d.rdonly = flags & DISK_RDONLY;
	pthread_mutex_init(&q->lock, NULL);
	pthread_rwlockattr_init(&ra);
	/* Writer preference: a discard waiting to drain is not starved by new requests. */
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&q->drain, &ra);
	pthread_rwlockattr_destroy(&ra);
	q->d.path = strdup(path);
	if (!q->d.path) {
		ret = err_setx(-ENOMEM, "qcow2 %s: out of memory", path);
		goto fail;
	}
	ret = disk_open_file(path, flags, &q->d.fd, &q->direct);
	if (ret)
		goto fail;
	q->meta_align = q->direct ? 4096 : 1;
	if (fstat(q->d.fd, &st) < 0) {
		ret = err_set(-errno, "stat %s", path);
		goto fail;
	}
	q->d.dev = st.st_dev;
	q->d.ino = st.st_ino;
	file_size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode) && ioctl(q->d.fd, BLKGETSIZE64, &file_size) < 0) {
		ret = err_set(-errno, "BLKGETSIZE64 %s", path);
		goto fail;
	}
	ret = disk_lock(q->d.fd, path, !q->d.rdonly);
	if (ret)
		goto fail;

	/* The first cluster holds header, extensions and backing name (at most 2 MiB). */
	hlen = MIN(file_size, 2ull << 20);
	if (posix_memalign((void **)&h, 4096, (hlen + 4095) / 4096 * 4096 + 4096)) {
		ret = err_setx(-ENOMEM, "qcow2 %s: out of memory", path);
		goto fail;
	}
	ret = qcow2_read(q, h, (hlen + 4095) / 4096 * 4096, 0);
	if (ret)
		goto fail;
	ret = read_header(q, h, hlen, file_size, &hi);
	if (ret)
		goto fail;
	memcpy(q->hdr, h, MIN(hlen, sizeof(q->hdr)));
	if (q->direct)
		q->meta_align = MIN(4096, q->cs);
	q->rb_bits = q->cluster_bits + 3 - q->refcount_order;
	q->csize_shift = 62 - (q->cluster_bits - 8);
	q->csize_mask = (1ull << (q->cluster_bits - 8)) - 1;
	q->coff_mask = (1ull << q->csize_shift) - 1;
	q->l1_off = hi.l1_off;
	q->l1_size = hi.l1_size;
	q->rt_off = hi.rt_off;
	q->rt_clusters = hi.rt_clusters;
	q->rt_entries = ((uint64_t)hi.rt_clusters << q->cluster_bits) / 8;
	q->nb_snapshots = hi.nb_snap;
	q->end = (file_size + q->cs - 1) >> q->cluster_bits;
	q->d.size = hi.size;
	ret = load_tables(q, &hi);
	if (!ret)
		ret = qcow2_cache_init(q);
	if (ret)
		goto fail;
	if (!q->d.rdonly && posix_memalign(&q->bounce, 4096, q->cs)) {
		q->bounce = NULL;
		ret = err_setx(-ENOMEM, "qcow2 %s: out of memory", path);
		goto fail;
	}
	/* Autoclear bits describe data we do not maintain (bitmaps): clear before writing. */
	if (!q->d.rdonly && q->version >= 3 && hi.autoclear) {
		memset(q->hdr + QH_AUTOCLEAR, 0, 8);
		ret = qcow2_header_write(q, QH_AUTOCLEAR, 8);
		if (ret)
			goto fail;
	}
	if (hi.backing_off) {
		bname = strndup((const char *)h + hi.backing_off, hi.backing_len);
		if (!bname) {
			ret = err_setx(-ENOMEM, "qcow2 %s: out of memory", path);
			goto fail;
		}
		if (strlen(bname) != hi.backing_len) {
			ret = err_setx(-EINVAL, "%s: backing file name contains a NUL byte", path);
			goto fail;
		}
		ret = open_backing(q, bname, hi.has_fmt ? hi.backing_fmt : NULL, depth, up);
		if (ret)
			goto fail;
	}
	free(bname);
	free(h);
	*out = &q->d;
	return 0;
fail:
	free(bname);
	free(h);
	qcow2_close(&q->d);
	return ret;
}

int qcow2_open(const char *path, unsigned flags, struct disk **out)
{
	return open_image(path, flags, 0, NULL, out);
}
