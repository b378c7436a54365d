// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: qcow2 images (src/block/qcow2*.c) against QEMU's own tools.
 * Images are made and filled by qemu-img/qemu-io (v2 and v3, refcount
 * widths 1/16/64, 512-byte to 2 MiB clusters, zero and compressed
 * clusters, three-level backing chains); what we read must equal
 * `qemu-img convert -O raw`, and after our writes (partial clusters, over
 * compressed and backing data, discard, write_zeroes, enough to need new L2
 * tables, refcount blocks and a bigger refcount table, several threads at
 * once) `qemu-img check` must be clean and `qemu-img compare` must match a
 * raw image that received the same writes.  Every refusal is checked on a
 * header patched byte by byte.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "block/disk.h"
#include "lib/err.h"
#include "lib/util.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/clone-qcow2-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(qcow2, .init = setup, .fini = teardown, .timeout = 120);

/* A path in the test directory (a few rotating buffers). */
static const char *P(const char *name)
{
	static char bufs[8][256];
	static unsigned n;
	char *b = bufs[n++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

#define SH(...) cr_assert_eq(sh(__VA_ARGS__), 0, "command failed")

static struct disk *open_ok(const char *path, enum disk_format fmt, unsigned flags)
{
	struct disk *d = NULL;
	int ret = disk_open(path, fmt, flags, &d);

	cr_assert_eq(ret, 0, "open %s: %d %s", path, ret, err_msg());
	cr_assert_not_null(d);
	return d;
}

static int open_err(const char *path, unsigned flags)
{
	struct disk *d = NULL;
	int ret = disk_open(path, DISK_FMT_QCOW2, flags, &d);

	if (!ret)
		disk_close(d);
	return ret;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint8_t *p;

	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(fstat(fd, &st), 0);
	p = malloc((size_t)st.st_size + 1);
	cr_assert_not_null(p);
	cr_assert_eq(pread(fd, p, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

/* Read the whole disk through our code, in odd-sized two-piece iovecs. */
static uint8_t *read_all(struct disk *d)
{
	uint8_t *buf = malloc(d->size + 1);
	uint64_t off = 0;

	cr_assert_not_null(buf);
	while (off < d->size) {
		uint64_t n = MIN(d->size - off, 300000 + 4096 * 3 + 7);
		struct iovec iov[2] = {
			{ .iov_base = buf + off, .iov_len = (size_t)(n / 3) },
			{ .iov_base = buf + off + n / 3, .iov_len = (size_t)(n - n / 3) },
		};
		int ret = disk_preadv(d, iov, 2, off);

		cr_assert_eq(ret, 0, "read at %llu: %s", (unsigned long long)off, err_msg());
		off += n;
	}
	return buf;
}

/* Our reads of img must equal qemu-img's conversion to raw. */
static void expect_reads_match(const char *img)
{
	struct disk *d = open_ok(img, DISK_FMT_AUTO, DISK_RDONLY);
	const char *raw = P("expect.raw");
	uint8_t *got, *want;
	size_t len;

	SH("qemu-img convert -O raw %s %s", img, raw);
	want = slurp(raw, &len);
	cr_assert_eq(len, d->size);
	got = read_all(d);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(got[i], want[i], "%s: byte %zu is %#x, qemu reads %#x", img, i, got[i],
			     want[i]);
	free(got);
	free(want);
	disk_close(d);
	unlink(raw);
}

static void check_clean(const char *img)
{
	cr_assert_eq(sh("qemu-img check -q %s", img), 0, "qemu-img check %s is not clean", img);
}

static void compare(const char *img, const char *raw)
{
	cr_assert_eq(sh("qemu-img compare -q -F raw %s %s", img, raw), 0, "%s differs from %s", img,
		     raw);
}

static void qio(const char *img, const char *cmd)
{
	SH("qemu-io -f qcow2 -c '%s' %s >/dev/null", cmd, img);
}

/* Writes applied to the image through us and to a raw mirror directly. */
struct mirror {
	struct disk *d;
	int raw;
};

static void mirror_open(struct mirror *m, const char *img, const char *raw)
{
	SH("qemu-img convert -O raw %s %s", img, raw);
	m->d = open_ok(img, DISK_FMT_QCOW2, 0);
	m->raw = open(raw, O_RDWR);
	cr_assert_geq(m->raw, 0);
}

static void mirror_write(struct mirror *m, uint64_t off, uint64_t len, uint8_t pat)
{
	uint8_t *b = malloc(len);

	cr_assert_not_null(b);
	for (uint64_t i = 0; i < len; i++)
		b[i] = (uint8_t)(pat + (i >> 9) * 7);
	cr_assert_eq(disk_pwrite(m->d, b, len, off), 0, "write %llu+%llu: %s",
		     (unsigned long long)off, (unsigned long long)len, err_msg());
	cr_assert_eq(pwrite(m->raw, b, len, (off_t)off), (ssize_t)len);
	free(b);
}

static void mirror_zero(struct mirror *m, uint64_t off, uint64_t len, int how)
{
	uint8_t *z = calloc(1, len);
	int ret;

	if (how == 0)
		ret = disk_discard(m->d, off, len);
	else
		ret = disk_write_zeroes(m->d, off, len, how == 2);
	cr_assert_eq(ret, 0, "zero %llu+%llu: %s", (unsigned long long)off, (unsigned long long)len,
		     err_msg());
	cr_assert_eq(pwrite(m->raw, z, len, (off_t)off), (ssize_t)len);
	free(z);
}

static void mirror_verify(struct mirror *m, const char *img, const char *raw)
{
	uint8_t *got = read_all(m->d), *want;
	size_t len;

	want = slurp(raw, &len);
	cr_assert_eq(len, m->d->size);
	cr_assert_eq(memcmp(got, want, len), 0, "our reads differ from the mirror");
	free(got);
	free(want);
	cr_assert_eq(disk_flush(m->d), 0);
	disk_close(m->d);
	close(m->raw);
	check_clean(img);
	compare(img, raw);
}

/* ---- reads ---- */

static void fill_with_qemu(const char *img, unsigned cs, bool v3)
{
	char cmd[128];

	qio(img, "write -P 0x11 0 4096");
	qio(img, "write -P 0x22 1000000 70000");
	snprintf(cmd, sizeof(cmd), "write -P 0x33 %u %u", cs - 512, 1024);
	qio(img, cmd);
	qio(img, "write -P 0x44 3145728 1048576");
	qio(img, "write -P 0x55 5000192 512");
	if (v3)
		qio(img, "write -z 3200000 600000");
	else
		qio(img, "write -P 0 3200000 600000");
}

static void read_matrix(const char *compat, unsigned cs, unsigned refbits)
{
	const char *img = P("m.qcow2");

	SH("qemu-img create -q -f qcow2 -o compat=%s,cluster_size=%u,refcount_bits=%u %s 6M",
	   compat, cs, refbits, img);
	fill_with_qemu(img, cs, compat[0] == '1');
	expect_reads_match(img);
	unlink(img);
}

Test(qcow2, read_v2_and_v3)
{
	read_matrix("0.10", 65536, 16);
	read_matrix("0.10", 512, 16);
	read_matrix("1.1", 65536, 16);
	read_matrix("1.1", 512, 1);
	read_matrix("1.1", 4096, 64);
	read_matrix("1.1", 2 << 20, 16);
}

Test(qcow2, read_compressed)
{
	const char *img = P("c.qcow2"), *src = P("src.qcow2");

	SH("qemu-img create -q -f qcow2 %s 6M", src);
	fill_with_qemu(src, 65536, true);
	SH("qemu-img convert -c -O qcow2 %s %s", src, img);
	SH("qemu-img map --output=json %s | grep -q compressed.*true || "
	   "qemu-img check --output=json %s | grep -q compressed",
	   img, img);
	expect_reads_match(img);
	SH("qemu-img convert -c -O qcow2 -o cluster_size=4096,compat=0.10 %s %s.v2", src, img);
	expect_reads_match(P("c.qcow2.v2"));
}

/* raw base (2 MiB) <- mid qcow2 (3 MiB) <- top qcow2 (4 MiB), relative names. */
static void make_chain(void)
{
	SH("truncate -s 2M %s", P("base.raw"));
	SH("qemu-io -f raw -c 'write -P 0xa1 0 2M' -c 'write -P 0xa2 65536 4096' %s >/dev/null",
	   P("base.raw"));
	SH("cd %s && qemu-img create -q -f qcow2 -b base.raw -F raw mid.qcow2 3M", dir);
	qio(P("mid.qcow2"), "write -P 0xb1 100000 200000");
	qio(P("mid.qcow2"), "write -z 1048576 65536");
	qio(P("mid.qcow2"), "write -P 0xb2 2097152 65536");
	SH("cd %s && qemu-img create -q -f qcow2 -o compat=0.10 -b mid.qcow2 -F qcow2 top.qcow2 4M",
	   dir);
	qio(P("top.qcow2"), "write -P 0xc1 150000 1000");
	qio(P("top.qcow2"), "write -P 0xc2 3500000 4096");
}

Test(qcow2, read_backing_chain)
{
	make_chain();
	expect_reads_match(P("mid.qcow2"));
	expect_reads_match(P("top.qcow2"));
	/* Opened by an absolute and by a relative path. */
	cr_assert_eq(chdir(dir), 0);
	expect_reads_match("top.qcow2");
}

/* ---- writes ---- */

static void write_suite(const char *opts, bool backing)
{
	const char *img = P("w.qcow2"), *raw = P("w.raw");
	struct mirror m;

	if (backing) {
		SH("qemu-img create -q -f raw %s 8M", P("wb.raw"));
		SH("qemu-io -f raw -c 'write -P 0x5a 0 8M' %s >/dev/null", P("wb.raw"));
		SH("cd %s && qemu-img create -q -f qcow2 -o %s -b wb.raw -F raw w.qcow2 8M", dir,
		   opts);
	} else {
		SH("qemu-img create -q -f qcow2 -o %s %s 8M", opts, img);
	}
	qio(img, "write -P 0x77 196608 65536");
	m.d = NULL;
	mirror_open(&m, img, raw);
	mirror_write(&m, 0, 512, 0x01);			/* partial first cluster */
	mirror_write(&m, 65536 - 1024, 4096, 0x02);	/* across a boundary */
	mirror_write(&m, 200000, 3000, 0x03);		/* into qemu's cluster */
	mirror_write(&m, 1 << 20, 3 << 20, 0x04);	/* many whole clusters */
	mirror_write(&m, (1 << 20) + 5, 100, 0x05);	/* allocated, partial */
	mirror_write(&m, 8388608 - 700, 700, 0x06);	/* the very end */
	mirror_zero(&m, 1 << 20, 65536 * 3, 0);		/* discard whole clusters */
	mirror_zero(&m, (2 << 20) + 1000, 70000, 1);	/* write_zeroes, partial */
	mirror_zero(&m, 3 << 20, 1 << 19, 2);		/* write_zeroes, unmap */
	mirror_zero(&m, 6 << 20, 1 << 20, 0);		/* discard unallocated */
	mirror_write(&m, (1 << 20) + 65536, 100, 0x07); /* into a discarded cluster */
	mirror_verify(&m, img, raw);
	unlink(img);
	unlink(raw);
}

Test(qcow2, write_v3)
{
	write_suite("compat=1.1", false);
	write_suite("compat=1.1", true);
}

Test(qcow2, write_v2)
{
	write_suite("compat=0.10", false);
	write_suite("compat=0.10", true);
}

Test(qcow2, write_small_clusters_odd_refcounts)
{
	write_suite("cluster_size=512,refcount_bits=1", false);
	write_suite("cluster_size=512,refcount_bits=64", true);
	write_suite("cluster_size=4096,refcount_bits=8", false);
	write_suite("cluster_size=2097152,refcount_bits=32", true);
}

Test(qcow2, write_over_compressed)
{
	const char *img = P("wc.qcow2"), *src = P("wcs.qcow2"), *raw = P("wc.raw");
	struct mirror m;

	SH("qemu-img create -q -f qcow2 %s 6M", src);
	fill_with_qemu(src, 65536, true);
	SH("qemu-img convert -c -O qcow2 %s %s", src, img);
	mirror_open(&m, img, raw);
	mirror_write(&m, 100, 200, 0x81);		/* partial over compressed */
	mirror_write(&m, 3 << 20, 65536, 0x82);		/* whole over compressed */
	mirror_write(&m, 1000000 + 65536, 65536, 0x83); /* straddling */
	mirror_zero(&m, 3145728 + 65536, 65536, 0);
	mirror_verify(&m, img, raw);
}

Test(qcow2, write_over_backing_chain)
{
	const char *raw;
	struct mirror m;

	make_chain();
	raw = P("top.raw");
	mirror_open(&m, P("top.qcow2"), raw);
	mirror_write(&m, 65536 + 100, 50, 0x91); /* over base data, v2 top */
	mirror_write(&m, 150500, 70000, 0x92);
	mirror_write(&m, 3 << 20, 1000, 0x93); /* past the backing file's end */
	mirror_zero(&m, 0, 65536, 0);	       /* v2 + backing: real zeroes */
	mirror_zero(&m, 131072, 65536, 2);
	mirror_verify(&m, P("top.qcow2"), raw);
	check_clean(P("mid.qcow2"));
}

static uint64_t header64(const char *img, uint64_t off)
{
	uint8_t b[8];
	uint64_t v = 0;
	int fd = open(img, O_RDONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, b, 8, (off_t)off), 8);
	close(fd);
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

/* 512-byte clusters, 64-bit refcounts: many L2 tables, refcount blocks, table growth. */
Test(qcow2, write_grows_metadata)
{
	const char *img = P("g.qcow2"), *raw = P("g.raw");
	struct mirror m;
	uint64_t rt_before;

	SH("qemu-img create -q -f qcow2 -o cluster_size=512,refcount_bits=64 %s 64M", img);
	rt_before = header64(img, 48);
	mirror_open(&m, img, raw);
	for (int i = 0; i < 40; i++)
		mirror_write(&m, (uint64_t)i * 1597 * 1024 % (60 << 20), 100000, (uint8_t)i);
	mirror_write(&m, 10 << 20, 12 << 20, 0x42);
	mirror_zero(&m, 12 << 20, 1 << 20, 0);
	mirror_write(&m, (12 << 20) + 4096, 8192, 0x43);
	mirror_verify(&m, img, raw);
	SH("qemu-img info %s | grep -q 'refcount bits: 64'", img);
	cr_assert_neq(header64(img, 48), rt_before, "the refcount table did not move (grow)");
}

/* ---- threads ---- */

struct worker {
	struct disk *d;
	int id;
	int ret;
};

static void pattern(uint8_t *b, size_t n, int id, int it)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(id * 31 + it * 7 + (i >> 9));
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	uint8_t *b = malloc(65536 * 2), *r = malloc(65536 * 2);

	/* Thread id owns every 4th 48 KiB stripe: unaligned, crossing clusters. */
	for (int it = 0; it < 60 && !w->ret; it++) {
		uint64_t stripe = (uint64_t)(it % 30) * 4 + (uint64_t)w->id;
		uint64_t off = stripe * 49152 + 512 * (uint64_t)(it % 5);
		size_t n = 20000 + (size_t)(it % 7) * 1000;

		pattern(b, n, w->id, it);
		w->ret = disk_pwrite(w->d, b, n, off);
		if (!w->ret)
			w->ret = disk_pread(w->d, r, n, off);
		if (!w->ret && memcmp(b, r, n))
			w->ret = -EILSEQ;
		if (!w->ret && it % 9 == 8)
			w->ret = disk_discard(w->d, stripe * 49152, 49152);
	}
	free(b);
	free(r);
	return NULL;
}

Test(qcow2, concurrent_writers)
{
	const char *img = P("t.qcow2"), *raw = P("t.raw");
	struct worker w[4];
	pthread_t th[4];
	struct disk *d;
	uint8_t *got, *want;
	size_t len;

	SH("qemu-img create -q -f qcow2 -o cluster_size=4096 %s 8M", img);
	d = open_ok(img, DISK_FMT_QCOW2, 0);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .d = d, .id = i };
		cr_assert_eq(pthread_create(&th[i], NULL, worker_fn, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(w[i].ret, 0, "worker %d: %d", i, w[i].ret);
	}
	got = read_all(d);
	disk_close(d);
	check_clean(img);
	SH("qemu-img convert -O raw %s %s", img, raw);
	want = slurp(raw, &len);
	cr_assert_eq(memcmp(got, want, len), 0);
	free(got);
	free(want);
}

/* ---- crash safety ---- */

/*
 * A writer killed with SIGKILL in the middle of allocating writes and
 * discards leaves an image qemu-img check accepts: leaked clusters
 * (exit 3) at worst, never corruption (exit 2).
 */
static void crash_once(const char *opts, unsigned seed)
{
	const char *img = P("k.qcow2");
	int pfd[2], st;
	pid_t pid;
	char c;

	unlink(img);
	SH("qemu-img create -q -f qcow2 -o %s %s 32M", opts, img);
	cr_assert_eq(pipe(pfd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		static uint8_t buf[200000];
		struct disk *d;
		unsigned r = seed;

		close(pfd[0]);
		if (disk_open(img, DISK_FMT_QCOW2, 0, &d))
			_exit(1);
		memset(buf, 0x6b, sizeof(buf));
		for (unsigned i = 0;; i++) {
			uint64_t off, len;

			r = r * 1103515245 + 12345;
			off = (r >> 4) % (31 << 20);
			len = 1 + (r >> 8) % sizeof(buf);
			if (i % 5 == 4)
				disk_discard(d, off & ~4095ull, len & ~511ull);
			else
				disk_pwrite(d, buf, len, off);
			if (i == 50 && write(pfd[1], "x", 1) != 1)
				_exit(1);
		}
	}
	close(pfd[1]);
	cr_assert_eq(read(pfd[0], &c, 1), 1);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(pfd[0]);
	st = sh("qemu-img check -q %s >/dev/null 2>&1", img);
	cr_assert(st == 0 || st == 3, "qemu-img check after SIGKILL: exit %d (%s)", st, opts);
}

Test(qcow2, sigkill_leaves_a_consistent_image)
{
	for (unsigned i = 0; i < 4; i++) {
		crash_once("cluster_size=4096", i);
		crash_once("cluster_size=512,refcount_bits=1", i);
		crash_once("compat=0.10", i);
	}
}

/* ---- create ---- */

Test(qcow2, create)
{
	struct disk *d;
	uint8_t buf[4096];

	cr_assert_eq(qcow2_create(P("n.qcow2"), 100 << 20, NULL, NULL), 0, "%s", err_msg());
	check_clean(P("n.qcow2"));
	SH("qemu-img info %s | grep -q 'virtual size: 100 MiB'", P("n.qcow2"));
	cr_assert_eq(qcow2_create(P("n.qcow2"), 1 << 20, NULL, NULL), -EEXIST);

	make_chain();
	cr_assert_eq(chdir(dir), 0);
	cr_assert_eq(qcow2_create("o.qcow2", 0, "top.qcow2", NULL), 0, "%s", err_msg());
	check_clean("o.qcow2");
	SH("qemu-img info o.qcow2 | grep -q 'backing file: top.qcow2'");
	SH("qemu-img info o.qcow2 | grep -q 'backing file format: qcow2'");
	SH("qemu-img info o.qcow2 | grep -q 'virtual size: 4 MiB'");
	SH("qemu-img compare -q o.qcow2 top.qcow2");
	cr_assert_eq(qcow2_create("r.qcow2", 1 << 20, "base.raw", "raw"), 0, "%s", err_msg());
	SH("qemu-img info r.qcow2 | grep -q 'backing file format: raw'");
	d = open_ok("o.qcow2", DISK_FMT_AUTO, 0);
	memset(buf, 0xee, sizeof(buf));
	cr_assert_eq(disk_pwrite(d, buf, sizeof(buf), 12345), 0);
	disk_close(d);
	check_clean("o.qcow2");
	cr_assert_eq(qcow2_create("x.qcow2", 0, "missing.qcow2", NULL), -ENOENT);
}

/* ---- refusals ---- */

static void patch(const char *path, uint64_t off, const void *bytes, size_t n)
{
	int fd = open(path, O_WRONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, bytes, n, (off_t)off), (ssize_t)n);
	close(fd);
}

static void patch32(const char *path, uint64_t off, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	patch(path, off, b, 4);
}

static void patch64(const char *path, uint64_t off, uint64_t v)
{
	patch32(path, off, (uint32_t)(v >> 32));
	patch32(path, off + 4, (uint32_t)v);
}

static const char *fresh(void)
{
	const char *img = P("r.qcow2");

	unlink(img);
	SH("qemu-img create -q -f qcow2 %s 16M", img);
	return img;
}

#define REFUSE(code, flags, what)                                                                  \
	do {                                                                                       \
		int r_ = open_err(img, flags);                                                     \
		cr_assert_eq(r_, code, "%s: got %d (%s)", what, r_, err_msg());                    \
	} while (0)

Test(qcow2, refusals)
{
	const char *img;

	img = fresh();
	patch32(img, 0, 0x12345678);
	REFUSE(-EINVAL, 0, "bad magic");
	cr_assert(strstr(err_msg(), "not a qcow2"));
	img = fresh();
	patch32(img, 4, 4);
	REFUSE(-ENOTSUP, DISK_RDONLY, "version 4");
	img = fresh();
	patch32(img, 32, 1);
	REFUSE(-ENOTSUP, DISK_RDONLY, "encrypted");
	cr_assert(strstr(err_msg(), "encrypted qcow2 images are not supported"));
	img = fresh();
	patch64(img, 72, 1ull << 9);
	REFUSE(-ENOTSUP, DISK_RDONLY, "unknown incompatible bit");
	cr_assert(strstr(err_msg(), "bit 9"), "%s", err_msg());
	img = fresh();
	patch64(img, 72, 1ull << 4);
	REFUSE(-ENOTSUP, DISK_RDONLY, "extended L2");
	cr_assert(strstr(err_msg(), "bit 4 (extended L2 entries)"), "%s", err_msg());
	img = fresh();
	patch64(img, 72, 1ull << 2);
	REFUSE(-ENOTSUP, DISK_RDONLY, "external data file");
	img = fresh();
	patch64(img, 72, 1ull << 3);
	patch(img, 104, "\x01", 1);
	REFUSE(-ENOTSUP, DISK_RDONLY, "zstd");
	cr_assert(strstr(err_msg(), "zstd"));
	img = fresh();
	patch32(img, 20, 8);
	REFUSE(-EINVAL, DISK_RDONLY, "cluster_bits 8");
	img = fresh();
	patch32(img, 20, 22);
	REFUSE(-EINVAL, DISK_RDONLY, "cluster_bits 22");
	img = fresh();
	patch64(img, 40, 3 * 65536 + 512);
	REFUSE(-EINVAL, DISK_RDONLY, "misaligned L1");
	img = fresh();
	patch64(img, 40, 1ull << 40);
	REFUSE(-EINVAL, DISK_RDONLY, "L1 past the end");
	img = fresh();
	patch64(img, 48, 65536 + 4096);
	REFUSE(-EINVAL, DISK_RDONLY, "misaligned refcount table");
	img = fresh();
	patch64(img, 48, 1ull << 40);
	REFUSE(-EINVAL, DISK_RDONLY, "refcount table past the end");
	img = fresh();
	patch64(img, 24, 1ull << 40);
	REFUSE(-EINVAL, DISK_RDONLY, "L1 too small for the size");
	img = fresh();
	patch32(img, 36, 0x10000000);
	REFUSE(-EINVAL, DISK_RDONLY, "absurd L1 size");
	img = fresh();
	patch64(img, 8, 512);
	patch32(img, 16, 2000);
	REFUSE(-EINVAL, DISK_RDONLY, "backing name too long");
	cr_assert(strstr(err_msg(), "too long"));
	img = fresh();
	patch32(img, 96, 7);
	REFUSE(-EINVAL, DISK_RDONLY, "refcount_order 7");

	/* The corrupt bit: read-only is fine, read-write is not. */
	img = fresh();
	patch64(img, 72, 1ull << 1);
	REFUSE(-EINVAL, 0, "corrupt, read-write");
	cr_assert(strstr(err_msg(), "corrupt"));
	REFUSE(0, DISK_RDONLY, "corrupt, read-only");
	/* The dirty bit likewise. */
	img = fresh();
	patch64(img, 72, 1ull << 0);
	REFUSE(-ENOTSUP, 0, "dirty, read-write");
	REFUSE(0, DISK_RDONLY, "dirty, read-only");

	/* Internal snapshots: read-only only. */
	img = fresh();
	qio(img, "write -P 0x12 0 4096");
	SH("qemu-img snapshot -c s1 %s", img);
	REFUSE(-ENOTSUP, 0, "snapshots, read-write");
	cr_assert(strstr(err_msg(), "snapshot"));
	REFUSE(0, DISK_RDONLY, "snapshots, read-only");
	expect_reads_match(img);
}

Test(qcow2, backing_cycles_and_depth)
{
	const char *img;

	cr_assert_eq(chdir(dir), 0);
	SH("qemu-img create -q -f qcow2 a.qcow2 1M && qemu-img create -q -f qcow2 b.qcow2 1M");
	SH("qemu-img rebase -u -b b.qcow2 -F qcow2 a.qcow2 && "
	   "qemu-img rebase -u -b a.qcow2 -F qcow2 b.qcow2");
	img = "a.qcow2";
	REFUSE(-ELOOP, DISK_RDONLY, "a -> b -> a");
	REFUSE(-ELOOP, 0, "a -> b -> a, read-write");
	SH("qemu-img rebase -u -b s.qcow2 -F qcow2 a.qcow2 && cp a.qcow2 s.qcow2 && "
	   "qemu-img rebase -u -b s.qcow2 -F qcow2 s.qcow2");
	img = "s.qcow2";
	REFUSE(-ELOOP, DISK_RDONLY, "self");

	SH("qemu-img create -q -f qcow2 l0.qcow2 1M");
	for (int i = 1; i < 20; i++)
		SH("qemu-img create -q -f qcow2 -b l%d.qcow2 -F qcow2 l%d.qcow2", i - 1, i);
	img = "l15.qcow2";
	REFUSE(0, DISK_RDONLY, "16 deep");
	img = "l19.qcow2";
	REFUSE(-ELOOP, DISK_RDONLY, "20 deep");
	img = "missing-backing.qcow2";
	SH("qemu-img create -q -f qcow2 -u -b nowhere.qcow2 -F qcow2 %s 1M", img);
	REFUSE(-ENOENT, DISK_RDONLY, "missing backing file");
	SH("qemu-img create -q -f qcow2 -u -b l0.qcow2 -F vmdk fmt.qcow2 1M");
	img = "fmt.qcow2";
	REFUSE(-ENOTSUP, DISK_RDONLY, "backing format vmdk");
}

/* Host offset of the L2 entry for guest offset 0 (first L2 table, entry 0). */
static uint64_t l2_entry0(const char *img)
{
	size_t len;
	uint8_t *f = slurp(img, &len);
	uint64_t l1 = 0, l2 = 0;

	for (int i = 0; i < 8; i++)
		l1 = l1 << 8 | f[40 + i];
	for (int i = 0; i < 8; i++)
		l2 = l2 << 8 | f[l1 + (uint64_t)i];
	free(f);
	return l2 & 0x00fffffffffffe00ull;
}

Test(qcow2, corrupt_entry_is_eio_at_read_time)
{
	const char *img = fresh();
	uint8_t buf[512];
	struct disk *d;
	uint64_t l2;

	qio(img, "write -P 0x12 0 131072");
	l2 = l2_entry0(img);
	cr_assert_neq(l2, 0);
	patch64(img, l2, (1ull << 63) | (1ull << 45)); /* past the end */
	patch64(img, l2 + 8, (1ull << 63) | 0x30200);  /* misaligned */
	d = open_ok(img, DISK_FMT_QCOW2, DISK_RDONLY);
	cr_assert_eq(disk_pread(d, buf, sizeof(buf), 0), -EIO);
	cr_assert_eq(disk_pread(d, buf, sizeof(buf), 65536), -EIO);
	cr_assert_eq(disk_pread(d, buf, sizeof(buf), 1 << 20), 0);
	disk_close(d);

	/* Read-write: the image gets the corrupt bit and refuses writes. */
	d = open_ok(img, DISK_FMT_QCOW2, 0);
	cr_assert_eq(disk_pread(d, buf, sizeof(buf), 0), -EIO);
	cr_assert_eq(disk_pwrite(d, buf, sizeof(buf), 1 << 20), -EIO);
	disk_close(d);
	cr_assert_eq(open_err(img, 0), -EINVAL);
	cr_assert_eq(open_err(img, DISK_RDONLY), 0);
}

Test(qcow2, locking)
{
	const char *img = fresh();
	struct disk *a, *b, *c;

	a = open_ok(img, DISK_FMT_QCOW2, 0);
	cr_assert_eq(open_err(img, 0), -EBUSY);
	cr_assert(strstr(err_msg(), "in use by another process (locked for writing)"), "%s",
		  err_msg());
	cr_assert_eq(open_err(img, DISK_RDONLY), -EBUSY);
	disk_close(a);
	b = open_ok(img, DISK_FMT_QCOW2, DISK_RDONLY);
	c = open_ok(img, DISK_FMT_QCOW2, DISK_RDONLY);
	cr_assert_eq(open_err(img, 0), -EBUSY);
	disk_close(b);
	disk_close(c);

	/* A shared base: two overlays open read-write on one read-only base. */
	make_chain();
	cr_assert_eq(chdir(dir), 0);
	cr_assert_eq(qcow2_create("o1.qcow2", 0, "mid.qcow2", "qcow2"), 0);
	cr_assert_eq(qcow2_create("o2.qcow2", 0, "mid.qcow2", "qcow2"), 0);
	a = open_ok("o1.qcow2", DISK_FMT_AUTO, 0);
	b = open_ok("o2.qcow2", DISK_FMT_AUTO, 0);
	cr_assert_eq(disk_open("mid.qcow2", DISK_FMT_QCOW2, 0, &c), -EBUSY);
	cr_assert(strstr(err_msg(), "locked for reading"), "%s", err_msg());
	disk_close(a);
	disk_close(b);
}

Test(qcow2, direct_io)
{
	const char *img = P("d.qcow2");
	struct disk *d;
	uint8_t *buf = NULL;

	cr_assert_eq(qcow2_create(img, 8 << 20, NULL, NULL), 0, "%s", err_msg());
	cr_assert_eq(posix_memalign((void **)&buf, 4096, 1 << 20), 0);
	d = open_ok(img, DISK_FMT_QCOW2, DISK_DIRECT);
	for (int i = 0; i < 8; i++) {
		memset(buf, 0x10 + i, 1 << 20);
		cr_assert_eq(disk_pwrite(d, buf, 4096 * (i + 1), (uint64_t)i * 999424), 0, "%s",
			     err_msg());
	}
	cr_assert_eq(disk_discard(d, 1 << 20, 1 << 20), 0, "%s", err_msg());
	cr_assert_eq(disk_pread(d, buf, 1 << 20, 0), 0, "%s", err_msg());
	cr_assert_eq(buf[0], 0x10);
	cr_assert_eq(disk_flush(d), 0);
	disk_close(d);
	free(buf);
	check_clean(img);
}

Test(qcow2, probe_and_bounds)
{
	const char *img = fresh();
	enum disk_format fmt;
	struct disk *d;
	uint8_t buf[16];

	cr_assert_eq(disk_probe(img, &fmt), 0);
	cr_assert_eq(fmt, DISK_FMT_QCOW2);
	d = open_ok(img, DISK_FMT_AUTO, DISK_RDONLY);
	cr_assert_str_eq(d->ops->name, "qcow2");
	cr_assert_eq(d->size, 16 << 20);
	cr_assert_eq(disk_pread(d, buf, 16, (16 << 20) - 8), -EINVAL);
	cr_assert_eq(disk_pwrite(d, buf, 16, 0), -EROFS);
	cr_assert_eq(disk_discard(d, 0, 512), -EROFS);
	disk_close(d);
	cr_assert_eq(disk_open(P("r.raw-nonexistent"), DISK_FMT_AUTO, 0, &d), -ENOENT);
	SH("truncate -s 1M %s", P("notq.raw"));
	cr_assert_eq(disk_open(P("notq.raw"), DISK_FMT_QCOW2, DISK_RDONLY, &d), -EINVAL);
}
