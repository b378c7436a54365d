// SPDX-License-Identifier: Apache-2.0
/*
 * qcow2 metadata (see qcow2.h): the LRU caches of L2 tables and refcount
 * blocks, refcount reads and updates for every refcount_order 0..6,
 * cluster allocation, new refcount blocks and refcount-table growth, and
 * the corrupt bit.  Every function runs on an I/O worker thread with
 * q->lock held.  All caches are write-through: a change reaches the file
 * before the function returns, in the order the crash-safety rule needs
 * (a refcount is raised before anything points at its cluster, and an
 * entry is cleared before the refcount drops), so a process killed at
 * any point leaves at worst leaked clusters.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_TAG "qcow2"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"
#include "qcow2.h"

/* The L2 cache: at most this many bytes of tables, and this many slots. */
#define L2C_BYTES (32ull << 20)
#define L2C_MAX 512
#define L2C_MIN 4

int qcow2_cache_init(struct qcow2 *q)
{
	uint64_t n = L2C_BYTES / q->cs;

	n = MIN(n, (uint64_t)L2C_MAX);
	n = MIN(n, (uint64_t)q->l1_size);
	n = MAX(n, (uint64_t)L2C_MIN);
	q->l2c = calloc(n, sizeof(*q->l2c));
	q->l1_slot = malloc(MAX(q->l1_size, 1u) * sizeof(*q->l1_slot));
	if (!q->l2c || !q->l1_slot)
		return err_setx(-ENOMEM, "%s: out of memory for the L2 cache", q->d.path);
	q->l2c_n = (unsigned)n;
	for (uint32_t i = 0; i < q->l1_size; i++)
		q->l1_slot[i] = -1;
	return 0;
}

void qcow2_cache_free(struct qcow2 *q)
{
	for (unsigned i = 0; q->l2c && i < q->l2c_n; i++)
		free(q->l2c[i].t);
	for (unsigned i = 0; i < ARRAY_SIZE(q->rbc); i++)
		free(q->rbc[i].t);
	free(q->l2c);
	free(q->l1_slot);
	q->l2c = NULL;
	q->l1_slot = NULL;
}

int qcow2_read(struct qcow2 *q, void *buf, uint64_t len, uint64_t off)
{
	struct iovec iov = { .iov_base = buf, .iov_len = (size_t)len };

	return disk_file_io(q->d.fd, &iov, 1, 0, len, off, false);
}

int qcow2_write(struct qcow2 *q, const void *buf, uint64_t len, uint64_t off)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = (size_t)len };

	return disk_file_io(q->d.fd, &iov, 1, 0, len, off, true);
}

int qcow2_meta_write(struct qcow2 *q, const void *tbl, uint64_t tbl_len, uint64_t tbl_off,
		     uint64_t start, uint64_t len)
{
	uint64_t a = MIN((uint64_t)q->meta_align, tbl_len);
	uint64_t s = start / a * a;
	uint64_t e = MIN((start + len + a - 1) / a * a, tbl_len);

	return qcow2_write(q, (const char *)tbl + s, e - s, tbl_off + s);
}

int qcow2_header_write(struct qcow2 *q, unsigned start, unsigned len)
{
	uint64_t a = q->meta_align;
	void *buf;
	int ret;

	if (a <= 1)
		return qcow2_write(q, q->hdr + start, len, start);
	/* O_DIRECT: read-modify-write the aligned block holding the fields. */
	if (posix_memalign(&buf, 4096, a))
		return err_setx(-ENOMEM, "%s: out of memory", q->d.path);
	ret = qcow2_read(q, buf, a, 0);
	if (!ret) {
		memcpy((char *)buf + start, q->hdr + start, len);
		ret = qcow2_write(q, buf, a, 0);
	}
	free(buf);
	return ret;
}

int qcow2_corrupt(struct qcow2 *q, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn_rl("%s: corrupt image: %s", q->d.path, msg);
	if (!q->d.rdonly && !q->broken) {
		q->broken = true;
		/* v3 has the corrupt bit; v2 images just stop taking writes. */
		if (q->version >= 3) {
			uint64_t v;

			memcpy(&v, q->hdr + QH_INCOMPAT, 8);
			v = __builtin_bswap64(__builtin_bswap64(v) | QCOW2_INCOMPAT_CORRUPT);
			memcpy(q->hdr + QH_INCOMPAT, &v, 8);
			if (qcow2_header_write(q, QH_INCOMPAT, 8) == 0)
				fdatasync(q->d.fd);
		}
		log_warn("%s marked corrupt; further writes fail (repair: qemu-img check -r all)",
			 q->d.path);
	}
	return err_setx(-EIO, "%s: corrupt image: %s", q->d.path, msg);
}

/*
 * Find or load the table at host offset off for key.  map (L2 cache)
 * gives the likely slot by key; without it the slots are scanned.  load
 * false hands back a zeroed table for a freshly allocated cluster.
 */
static int cache_get(struct qcow2 *q, struct qcow2_slot *slots, unsigned n, int32_t *map,
		     uint64_t key, uint64_t off, bool load, struct qcow2_slot **out)
{
	struct qcow2_slot *s;
	unsigned victim = 0;
	int ret;

	if (map) {
		int32_t h = map[key];

		if (h >= 0 && slots[h].off == off && slots[h].key == key) {
			slots[h].lru = ++q->tick;
			*out = &slots[h];
			return 0;
		}
	} else {
		for (unsigned i = 0; i < n; i++) {
			if (slots[i].off == off && slots[i].key == key) {
				slots[i].lru = ++q->tick;
				*out = &slots[i];
				return 0;
			}
		}
	}
	for (unsigned i = 0; i < n; i++) {
		if (!slots[i].off) {
			victim = i;
			break;
		}
		if (slots[i].lru < slots[victim].lru)
			victim = i;
	}
	s = &slots[victim];
	if (map && s->off && map[s->key] == (int32_t)victim)
		map[s->key] = -1;
	s->off = 0;
	if (!s->t && posix_memalign(&s->t, 4096, q->cs)) {
		s->t = NULL;
		return err_setx(-ENOMEM, "%s: out of memory for a table", q->d.path);
	}
	if (load) {
		ret = qcow2_read(q, s->t, q->cs, off);
		if (ret)
			return ret;
	} else {
		memset(s->t, 0, q->cs);
	}
	s->off = off;
	s->key = key;
	s->lru = ++q->tick;
	if (map)
		map[key] = (int32_t)victim;
	*out = s;
	return 0;
}

static bool cluster_ok(const struct qcow2 *q, uint64_t off)
{
	return !(off & (q->cs - 1)) && (off >> q->cluster_bits) < q->end && off;
}

static int l2_offset(struct qcow2 *q, uint64_t l1i, uint64_t *off)
{
	uint64_t o = qcow2_be64(q->l1, l1i) & L1E_OFFSET_MASK;

	if (o && !cluster_ok(q, o))
		return qcow2_corrupt(q,
				     "L1 entry %llu points at %#llx (misaligned or past the end)",
				     (unsigned long long)l1i, (unsigned long long)o);
	*off = o;
	return 0;
}

int qcow2_l2_get(struct qcow2 *q, uint64_t l1i, void **t)
{
	struct qcow2_slot *s;
	uint64_t off;
	int ret;

	*t = NULL;
	if (l1i >= q->l1_size)
		return qcow2_corrupt(q, "guest cluster beyond the L1 table");
	ret = l2_offset(q, l1i, &off);
	if (ret || !off)
		return ret;
	ret = cache_get(q, q->l2c, q->l2c_n, q->l1_slot, l1i, off, true, &s);
	if (ret)
		return ret;
	*t = s->t;
	return 0;
}

int qcow2_l2_get_writable(struct qcow2 *q, uint64_t l1i, void **t)
{
	uint64_t e, old, new, saved;
	struct qcow2_slot *s;
	int ret;

	if (l1i >= q->l1_size)
		return qcow2_corrupt(q, "guest cluster beyond the L1 table");
	e = qcow2_be64(q->l1, l1i);
	ret = l2_offset(q, l1i, &old);
	if (ret)
		return ret;
	if (old && (e & QCOW_OFLAG_COPIED))
		return qcow2_l2_get(q, l1i, t);
	/* Unallocated, or shared (refcount > 1): a new table, written before L1 points at it. */
	ret = qcow2_alloc(q, 1, &new);
	if (ret)
		return ret;
	ret = cache_get(q, q->l2c, q->l2c_n, q->l1_slot, l1i, new, false, &s);
	if (ret)
		return ret;
	if (old)
		ret = qcow2_read(q, s->t, q->cs, old);
	if (!ret)
		ret = qcow2_write(q, s->t, q->cs, new);
	if (ret)
		goto fail;
	saved = q->l1[l1i];
	qcow2_set_be64(q->l1, l1i, new | QCOW_OFLAG_COPIED);
	ret = qcow2_meta_write(q, q->l1, q->l1_bytes, q->l1_off, l1i * 8, 8);
	if (ret) {
		q->l1[l1i] = saved;
		goto fail;
	}
	if (old) {
		/* Only this thread (under the lock) ever touches L2 tables: no drain. */
		ret = qcow2_refcount_update(q, old >> q->cluster_bits, 1, -1);
		if (ret)
			return ret;
	}
	*t = s->t;
	return 0;
fail:
	s->off = 0;
	q->l1_slot[l1i] = -1;
	return ret;
}

int qcow2_l2_flush(struct qcow2 *q, uint64_t l1i, const void *t, unsigned first, unsigned n)
{
	uint64_t off = qcow2_be64(q->l1, l1i) & L1E_OFFSET_MASK;

	return qcow2_meta_write(q, t, q->cs, off, (uint64_t)first * 8, (uint64_t)n * 8);
}

/* Refcount entry i of a block, any width (spec: sub-byte widths count from bit 0). */
static uint64_t rc_get(const struct qcow2 *q, const void *b, uint64_t i)
{
	const uint8_t *p = b;
	unsigned order = q->refcount_order;

	switch (order) {
	case 0:
	case 1:
	case 2: {
		uint64_t bit = i << order;

		return (p[bit >> 3] >> (bit & 7)) & ((1u << (1u << order)) - 1);
	}
	case 3:
		return p[i];
	case 4:
		return (uint64_t)p[2 * i] << 8 | p[2 * i + 1];
	case 5:
		return (uint64_t)__builtin_bswap32(((const uint32_t *)b)[i]);
	default:
		return __builtin_bswap64(((const uint64_t *)b)[i]);
	}
}

/* Store v; the byte range it touched goes to [*lo, *hi). */
static void rc_set(const struct qcow2 *q, void *b, uint64_t i, uint64_t v, uint64_t *lo,
		   uint64_t *hi)
{
	uint8_t *p = b;
	unsigned order = q->refcount_order;
	uint64_t s, w;

	switch (order) {
	case 0:
	case 1:
	case 2: {
		uint64_t bit = i << order;
		unsigned mask = (1u << (1u << order)) - 1;

		s = bit >> 3;
		w = 1;
		p[s] = (uint8_t)((p[s] & ~(mask << (bit & 7))) | ((v & mask) << (bit & 7)));
		break;
	}
	case 3:
		s = i;
		w = 1;
		p[i] = (uint8_t)v;
		break;
	case 4:
		s = 2 * i;
		w = 2;
		p[s] = (uint8_t)(v >> 8);
		p[s + 1] = (uint8_t)v;
		break;
	case 5:
		s = 4 * i;
		w = 4;
		((uint32_t *)b)[i] = __builtin_bswap32((uint32_t)v);
		break;
	default:
		s = 8 * i;
		w = 8;
		((uint64_t *)b)[i] = __builtin_bswap64(v);
		break;
	}
	*lo = MIN(*lo, s);
	*hi = MAX(*hi, s + w);
}

static uint64_t rc_max(const struct qcow2 *q)
{
	return q->refcount_order == 6 ? UINT64_MAX : (1ull << (1u << q->refcount_order)) - 1;
}

/* The refcount block for table index rti, or *s = NULL when none is allocated. */
static int refblock_get(struct qcow2 *q, uint64_t rti, struct qcow2_slot **s)
{
	uint64_t off;

	*s = NULL;
	if (rti >= q->rt_entries)
		return 0;
	off = qcow2_be64(q->rt, rti) & RTE_OFFSET_MASK;
	if (!off)
		return 0;
	if (!cluster_ok(q, off))
		return qcow2_corrupt(q, "refcount table entry %llu points at %#llx",
				     (unsigned long long)rti, (unsigned long long)off);
	return cache_get(q, q->rbc, ARRAY_SIZE(q->rbc), NULL, rti, off, true, s);
}

int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *rc)
{
	struct qcow2_slot *s;
	int ret = refblock_get(q, cluster >> q->rb_bits, &s);

	if (ret)
		return ret;
	*rc = s ? rc_get(q, s->t, cluster & ((1ull << q->rb_bits) - 1)) : 0;
	return 0;
}

int qcow2_refcount_update(struct qcow2 *q, uint64_t cluster, uint64_t n, int delta)
{
	uint64_t per = 1ull << q->rb_bits, max = rc_max(q);

	while (n) {
		uint64_t rti = cluster >> q->rb_bits, i = cluster & (per - 1);
		uint64_t k = MIN(n, per - i), lo = UINT64_MAX, hi = 0;
		struct qcow2_slot *s;
		int ret = refblock_get(q, rti, &s), wret;

		if (ret)
			return ret;
		if (!s)
			return qcow2_corrupt(q, "no refcount block for cluster %llu",
					     (unsigned long long)cluster);
		for (uint64_t j = 0; j < k && !ret; j++) {
			uint64_t v = rc_get(q, s->t, i + j);

			if (delta < 0 && v == 0) {
				ret = -1;
			} else if (delta > 0 && v == max) {
				ret = -2;
			} else {
				v = delta < 0 ? v - 1 : v + 1;
				rc_set(q, s->t, i + j, v, &lo, &hi);
				if (!v && cluster + j < q->free_hint)
					q->free_hint = cluster + j;
				continue;
			}
			k = j; /* stop here: write back what changed */
		}
		wret = hi > lo ? qcow2_meta_write(q, s->t, q->cs, s->off, lo, hi - lo) : 0;
		if (ret == -1)
			return qcow2_corrupt(q, "refcount of cluster %llu would drop below zero",
					     (unsigned long long)(cluster + k));
		if (ret == -2)
			return err_setx(-ERANGE, "%s: refcount of cluster %llu overflows %u bits",
					q->d.path, (unsigned long long)(cluster + k),
					1u << q->refcount_order);
		if (wret)
			return wret;
		cluster += k;
		n -= k;
	}
	return 0;
}

int qcow2_free_entry(struct qcow2 *q, uint64_t e)
{
	uint64_t off, len;

	if (e & QCOW_OFLAG_COMPRESSED) {
		uint64_t first, last;

		/* One reference on each host cluster the compressed bytes touch. */
		qcow2_compressed_range(q, e, &off, &len);
		first = off >> q->cluster_bits;
		last = (off + len - 1) >> q->cluster_bits;
		return qcow2_refcount_update(q, first, last - first + 1, -1);
	}
	off = e & L2E_OFFSET_MASK;
	if (!off)
		return 0;
	return qcow2_refcount_update(q, off >> q->cluster_bits, 1, -1);
}

void qcow2_compressed_range(const struct qcow2 *q, uint64_t e, uint64_t *off, uint64_t *len)
{
	uint64_t coff = e & q->coff_mask;
	uint64_t sectors = ((e >> q->csize_shift) & q->csize_mask) + 1;

	*off = coff;
	*len = sectors * 512 - (coff & 511);
}

/*
 * A refcount block for table entry rti.  All clusters it covers have
 * refcount 0, so it goes at the first of them and counts itself; it is
 * written before the table entry points at it.
 */
static int new_refblock(struct qcow2 *q, uint64_t rti)
{
	uint64_t c = rti << q->rb_bits, lo = UINT64_MAX, hi = 0, saved;
	struct qcow2_slot *s;
	int ret;

	if (!c)
		return qcow2_corrupt(q, "refcount block 0 is missing");
	ret = cache_get(q, q->rbc, ARRAY_SIZE(q->rbc), NULL, rti, c << q->cluster_bits, false, &s);
	if (ret)
		return ret;
	rc_set(q, s->t, 0, 1, &lo, &hi);
	ret = qcow2_write(q, s->t, q->cs, c << q->cluster_bits);
	if (ret)
		goto fail;
	saved = q->rt[rti];
	qcow2_set_be64(q->rt, rti, c << q->cluster_bits);
	ret = qcow2_meta_write(q, q->rt, (uint64_t)q->rt_clusters << q->cluster_bits, q->rt_off,
			       rti * 8, 8);
	if (ret) {
		q->rt[rti] = saved;
		goto fail;
	}
	q->end = MAX(q->end, c + 1);
	return 0;
fail:
	s->off = 0;
	return ret;
}

/*
 * The refcount table has no entry for rti: build a bigger one.  New
 * refcount blocks and the new table go past everything in use, the blocks
 * counting all of these new clusters; the header switches to the new table
 * only once it is on disk, so a crash leaks clusters at worst.
 */
static int grow_table(struct qcow2 *q, uint64_t need)
{
	uint64_t per = 1ull << q->rb_bits, cs = q->cs, cb = q->cluster_bits;
	uint64_t base = MAX(q->end, q->rt_entries * per), nrb = 0, ncl = 0, last, first_rb;
	uint64_t old_off = q->rt_off, old_cl = q->rt_clusters, entries, v;
	uint64_t *nt = NULL;
	void *b = NULL;
	uint32_t v32;
	int ret;

	for (int iter = 0;; iter++) {
		uint64_t rb_end, nrb2, ncl2;

		last = base + nrb + ncl;
		rb_end = (last + per - 1) / per;
		nrb2 = rb_end - base / per;
		entries = MAX(MAX(rb_end, need + 1), q->rt_entries * 2);
		ncl2 = (entries * 8 + cs - 1) / cs;
		if ((nrb2 == nrb && ncl2 == ncl) || iter > 64)
			break;
		nrb = nrb2;
		ncl = ncl2;
	}
	if (ncl * cs > QCOW2_MAX_RT_BYTES)
		return err_setx(-ENOSPC, "%s: the refcount table would grow past %u MiB", q->d.path,
				QCOW2_MAX_RT_BYTES >> 20);
	if ((last << cb) >> cb != last || last >= (1ull << (56 - cb)))
		return err_setx(-ENOSPC, "%s: image file would grow past 64 PiB", q->d.path);
	entries = ncl * cs / 8;
	if (posix_memalign((void **)&nt, 4096, ncl * cs) || posix_memalign(&b, 4096, cs)) {
		ret = err_setx(-ENOMEM, "%s: out of memory growing the refcount table", q->d.path);
		goto out;
	}
	memset(nt, 0, ncl * cs);
	memcpy(nt, q->rt, q->rt_entries * 8);
	first_rb = base / per;
	for (uint64_t k = 0; k < nrb; k++) {
		uint64_t rti = first_rb + k, lo = 0, hi = 0;

		memset(b, 0, cs);
		for (uint64_t x = MAX(base, rti * per); x < last && x < (rti + 1) * per; x++)
			rc_set(q, b, x - rti * per, 1, &lo, &hi);
		ret = qcow2_write(q, b, cs, (base + k) << cb);
		if (ret)
			goto out;
		qcow2_set_be64(nt, rti, (base + k) << cb);
	}
	ret = qcow2_write(q, nt, ncl * cs, (base + nrb) << cb);
	if (ret)
		goto out;
	if (fdatasync(q->d.fd) < 0) {
		ret = err_set(-errno, "fdatasync %s", q->d.path);
		goto out;
	}
	v = __builtin_bswap64((base + nrb) << cb);
	v32 = __builtin_bswap32((uint32_t)ncl);
	memcpy(q->hdr + QH_RT_OFFSET, &v, 8);
	memcpy(q->hdr + QH_RT_CLUSTERS, &v32, 4);
	ret = qcow2_header_write(q, QH_RT_OFFSET, 12);
	if (ret)
		goto out;
	if (fdatasync(q->d.fd) < 0) {
		ret = err_set(-errno, "fdatasync %s", q->d.path);
		goto out;
	}
	free(q->rt);
	q->rt = nt;
	nt = NULL;
	q->rt_off = (base + nrb) << cb;
	q->rt_clusters = (uint32_t)ncl;
	q->rt_entries = entries;
	q->end = MAX(q->end, last);
	/* The old table's clusters are free now. */
	ret = qcow2_refcount_update(q, old_off >> cb, old_cl, -1);
out:
	free(nt);
	free(b);
	return ret;
}

int qcow2_alloc(struct qcow2 *q, uint64_t n, uint64_t *off)
{
	uint64_t limit = 1ull << (56 - q->cluster_bits);

	for (int tries = 0; tries < 1024; tries++) {
		uint64_t idx = q->free_hint, run = 0, start = 0, first_free = UINT64_MAX;
		int ret = 0;

		while (run < n) {
			uint64_t rc;

			if (idx >= limit)
				return err_setx(-ENOSPC, "%s: image file is full (64 PiB)",
						q->d.path);
			ret = qcow2_refcount_get(q, idx, &rc);
			if (ret)
				return ret;
			if (rc) {
				run = 0;
			} else {
				if (!run)
					start = idx;
				run++;
				first_free = MIN(first_free, idx);
			}
			idx++;
		}
		q->free_hint = first_free;
		/* Every block holding these refcounts must exist first. */
		for (uint64_t rti = start >> q->rb_bits; rti <= (start + n - 1) >> q->rb_bits;
		     rti++) {
			if (rti >= q->rt_entries)
				ret = grow_table(q, rti);
			else if (!(qcow2_be64(q->rt, rti) & RTE_OFFSET_MASK))
				ret = new_refblock(q, rti);
			else
				continue;
			if (ret)
				return ret;
			ret = 1;
			break;
		}
		if (ret == 1)
			continue;
		ret = qcow2_refcount_update(q, start, n, +1);
		if (ret)
			return ret;
		if (q->free_hint == start)
			q->free_hint = start + n;
		q->end = MAX(q->end, start + n);
		*off = start << q->cluster_bits;
		return 0;
	}
	return err_setx(-EIO, "%s: cluster allocation did not converge", q->d.path);
}
