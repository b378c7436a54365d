// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: the newc cpio writer (src/boot/cpio.c), checked byte for byte
 * against the format and round-tripped through the system cpio(1).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/cpio.h"
#include "lib/err.h"
#include "lib/util.h"

struct tmp {
	char dir[64];
};

static void tmp_init(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/clone-cpio-XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir));
}

static void tmp_destroy(struct tmp *t)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	cr_assert_eq(system(cmd), 0);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void *slurp(const char *path, size_t *len)
{
	void *data;

	cr_assert_eq(read_file("file", path, 64 * MiB, &data, len), 0, "%s", err_msg());
	return data;
}

/* Run a shell command, capturing stdout into a malloc'ed string. */
static char *run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t cap = 65536, len = 0;
	char *out = malloc(cap);

	cr_assert_not_null(p);
	len = fread(out, 1, cap - 1, p);
	out[len] = '\0';
	cr_assert_eq(pclose(p), 0, "%s failed", cmd);
	return out;
}

static uint32_t field(const uint8_t *hdr, unsigned i)
{
	char buf[9];

	memcpy(buf, hdr + 6 + 8 * i, 8);
	buf[8] = '\0';
	return (uint32_t)strtoul(buf, NULL, 16);
}

Test(cpio, layout_follows_newc)
{
	struct cpio c;
	void *data;
	size_t len, off = 0;
	unsigned entries = 0;
	const uint8_t *p;

	cpio_init(&c);
	/* Names and sizes of every length mod 4 exercise each padding case. */
	cr_assert_eq(cpio_add_dir(&c, "/a", 0755), 0);
	cr_assert_eq(cpio_add_file(&c, "a/bb", 0644, "x", 1), 0);
	cr_assert_eq(cpio_add_file(&c, "a/ccc", 0600, "xy", 2), 0);
	cr_assert_eq(cpio_add_file(&c, "a/dddd", 0644, "xyz", 3), 0);
	cr_assert_eq(cpio_add_file(&c, "a/eeeee", 0644, "wxyz", 4), 0);
	cr_assert_eq(cpio_add_file(&c, "a/empty", 0644, NULL, 0), 0);
	cr_assert_eq(cpio_finish(&c, &data, &len), 0);
	cr_assert_eq(c.buf, NULL);
	p = data;
	cr_assert_eq(len % 4, 0);
	for (;;) {
		uint32_t namesize, filesize;
		const char *name;

		cr_assert_leq(off + 110, len);
		cr_assert_eq(memcmp(p + off, "070701", 6), 0, "entry at %zu", off);
		namesize = field(p + off, 11);
		filesize = field(p + off, 6);
		name = (const char *)p + off + 110;
		cr_assert_eq(name[namesize - 1], '\0');
		cr_assert_neq(name[0], '/');
		/* The data starts 4-aligned; so does the next header. */
		off = ALIGN_UP(off + 110 + namesize, 4);
		off = ALIGN_UP(off + filesize, 4);
		entries++;
		if (!strcmp(name, "TRAILER!!!")) {
			cr_assert_eq(filesize, 0);
			break;
		}
	}
	cr_assert_eq(off, len);
	cr_assert_eq(entries, 7);
	free(data);
}

Test(cpio, round_trip_through_system_cpio)
{
	static const char *const expect_list = ".\n"
					       "dir\n"
					       "dir/sub\n"
					       "dir/sub/data.bin\n"
					       "dir/hello.txt\n"
					       "dir/host.txt\n"
					       "dir/link\n"
					       "TRAILER!!!\n";
	char path[256], cmd[512], target[64];
	struct tmp t;
	struct cpio c;
	struct stat st;
	void *data, *back;
	size_t len, back_len, big_len = 1 * MiB + 3;
	uint8_t *big = malloc(big_len);
	char *list;
	ssize_t n;

	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)(i * 31 + i / 4096);
	tmp_init(&t);
	snprintf(path, sizeof(path), "%s/host-source", t.dir);
	write_file(path, "from the host\n", 14);
	chmod(path, 0640);

	cpio_init(&c);
	cr_assert_eq(cpio_add_dir(&c, ".", 0755), 0);
	cr_assert_eq(cpio_add_dir(&c, "dir", 0750), 0);
	cr_assert_eq(cpio_add_dir(&c, "dir/sub", 0700), 0);
	cr_assert_eq(cpio_add_file(&c, "dir/sub/data.bin", 0600, big, big_len), 0);
	cr_assert_eq(cpio_add_file(&c, "dir/hello.txt", 0644, "hello\n", 6), 0);
	cr_assert_eq(cpio_add_host_file(&c, "dir/host.txt", 0, path), 0, "%s", err_msg());
	cr_assert_eq(cpio_add_symlink(&c, "dir/link", "hello.txt"), 0);
	cr_assert_eq(cpio_finish(&c, &data, &len), 0);
	snprintf(path, sizeof(path), "%s/archive.cpio", t.dir);
	write_file(path, data, len);
	free(data);

	snprintf(cmd, sizeof(cmd), "cpio -t --quiet < %s/archive.cpio", t.dir);
	list = run(cmd);
	/* GNU cpio lists what it reads; the trailer is not listed. */
	cr_assert(!strncmp(list, expect_list, strlen(list)), "listing:\n%s", list);
	cr_assert_eq(strlen(list), strlen(expect_list) - strlen("TRAILER!!!\n"));
	free(list);

	snprintf(cmd, sizeof(cmd),
		 "mkdir %s/out && cd %s/out && cpio -idm --quiet < ../archive.cpio", t.dir, t.dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/out/dir/sub/data.bin", t.dir);
	back = slurp(path, &back_len);
	cr_assert_eq(back_len, big_len);
	cr_assert_eq(memcmp(back, big, big_len), 0);
	free(back);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600);
	snprintf(path, sizeof(path), "%s/out/dir/hello.txt", t.dir);
	back = slurp(path, &back_len);
	cr_assert_eq(back_len, 6);
	cr_assert_eq(memcmp(back, "hello\n", 6), 0);
	free(back);
	snprintf(path, sizeof(path), "%s/out/dir/host.txt", t.dir);
	back = slurp(path, &back_len);
	cr_assert_eq(back_len, 14);
	free(back);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0640, "host permissions carried over");
	snprintf(path, sizeof(path), "%s/out/dir", t.dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0750);
	snprintf(path, sizeof(path), "%s/out/dir/link", t.dir);
	n = readlink(path, target, sizeof(target) - 1);
	cr_assert_eq(n, 9);
	target[n] = '\0';
	cr_assert_str_eq(target, "hello.txt");
	tmp_destroy(&t);
	free(big);
}

Test(cpio, device_nodes_listed_by_system_cpio)
{
	struct tmp t;
	struct cpio c;
	char path[256], cmd[512], *list;
	void *data;
	size_t len;

	cpio_init(&c);
	cr_assert_eq(cpio_add_dir(&c, "dev", 0755), 0);
	cr_assert_eq(cpio_add_chardev(&c, "dev/console", 0600, 5, 1), 0);
	cr_assert_eq(cpio_finish(&c, &data, &len), 0);
	tmp_init(&t);
	snprintf(path, sizeof(path), "%s/dev.cpio", t.dir);
	write_file(path, data, len);
	free(data);
	/* "crw-------   1 root     root       5,   1 Jan  1  1970 dev/console" */
	snprintf(cmd, sizeof(cmd), "cpio -tv --quiet < %s | grep ' dev/console$'", path);
	list = run(cmd);
	cr_assert_eq(list[0], 'c', "%s", list);
	cr_assert(strstr(list, "crw-------"), "%s", list);
	cr_assert(strstr(list, "5,"), "%s", list);
	free(list);
	tmp_destroy(&t);
}

Test(cpio, bad_input_refused)
{
	struct cpio c;
	void *data;
	size_t len;

	cpio_init(&c);
	cr_assert_eq(cpio_add_dir(&c, "", 0755), -EINVAL);
	cr_assert_eq(cpio_add_dir(&c, "///", 0755), -EINVAL);
	cr_assert_eq(cpio_add_file(&c, NULL, 0644, "x", 1), -EINVAL);
	cr_assert_eq(cpio_add_file(&c, "f", 0100644, "x", 1), -EINVAL);
	cr_assert(strstr(err_msg(), "bits beyond 07777"), "%s", err_msg());
	cr_assert_eq(cpio_add_symlink(&c, "l", ""), -EINVAL);
	cr_assert_eq(cpio_add_host_file(&c, "x", 0, "/nonexistent/clone-test"), -ENOENT);
	cr_assert(strstr(err_msg(), "/nonexistent/clone-test"), "%s", err_msg());
	/* Nothing was written by the failures: only the trailer remains. */
	cr_assert_eq(cpio_finish(&c, &data, &len), 0);
	cr_assert_eq(len, ALIGN_UP(110 + sizeof("TRAILER!!!"), 4));
	free(data);
	cpio_destroy(&c);
}

Test(cpio, reproducible)
{
	struct cpio a, b;
	void *da, *db;
	size_t la, lb;

	cpio_init(&a);
	cpio_init(&b);
	cr_assert_eq(cpio_add_file(&a, "f", 0644, "same", 4), 0);
	cr_assert_eq(cpio_add_file(&b, "f", 0644, "same", 4), 0);
	cr_assert_eq(cpio_finish(&a, &da, &la), 0);
	cr_assert_eq(cpio_finish(&b, &db, &lb), 0);
	cr_assert_eq(la, lb);
	cr_assert_eq(memcmp(da, db, la), 0);
	free(da);
	free(db);
}
