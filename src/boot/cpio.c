// SPDX-License-Identifier: Apache-2.0
/*
 * newc cpio writer (see cpio.h).  Each entry is a 110-byte ASCII header
 * ("070701" and thirteen 8-digit hex fields), the NUL-terminated name
 * padded so the data starts on a 4-byte boundary, then the data padded to
 * 4 bytes (buffer-format.rst).  Any thread, one writer each.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cpio.h"
#include "lib/err.h"

#define HDR_LEN 110
#define NAME_MAX_LEN 4096
#define TRAILER "TRAILER!!!"

void cpio_init(struct cpio *c)
{
	memset(c, 0, sizeof(*c));
	c->next_ino = 1;
}

void cpio_destroy(struct cpio *c)
{
	free(c->buf);
	cpio_init(c);
}

static int reserve(struct cpio *c, size_t n)
{
	size_t cap = c->cap ? c->cap : 64 * KiB;
	uint8_t *p;

	if (n > SIZE_MAX - c->len)
		return err_setx(-ENOMEM, "cpio: archive too large");
	while (cap < c->len + n) {
		if (cap > SIZE_MAX / 2)
			return err_setx(-ENOMEM, "cpio: archive too large");
		cap *= 2;
	}
	if (cap == c->cap)
		return 0;
	p = realloc(c->buf, cap);
	if (!p)
		return err_set(-ENOMEM, "cpio: grow archive to %zu bytes", cap);
	c->buf = p;
	c->cap = cap;
	return 0;
}

static void pad4(struct cpio *c)
{
	while (c->len & 3)
		c->buf[c->len++] = 0;
}

/* Append one entry; name is stored as given (the caller strips leading '/'). */
static int put(struct cpio *c, const char *name, uint32_t mode, uint32_t nlink, unsigned rmajor,
	       unsigned rminor, const void *data, size_t len)
{
	size_t namesize = strlen(name) + 1;
	char hdr[HDR_LEN + 1];
	int ret;

	if (len > UINT32_MAX)
		return err_setx(-EFBIG, "cpio: %s is %zu bytes; newc entries stop at 4 GiB", name,
				len);
	/* Header, name, up to 3 + 3 bytes of padding. */
	ret = reserve(c, HDR_LEN + namesize + len + 6);
	if (ret)
		return ret;
	snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 mode ? c->next_ino : 0, mode, 0u, 0u, nlink, c->mtime, (uint32_t)len, 0u, 0u,
		 rmajor, rminor, (uint32_t)namesize, 0u);
	if (mode)
		c->next_ino++;
	memcpy(c->buf + c->len, hdr, HDR_LEN);
	c->len += HDR_LEN;
	memcpy(c->buf + c->len, name, namesize);
	c->len += namesize;
	pad4(c);
	if (len)
		memcpy(c->buf + c->len, data, len);
	c->len += len;
	pad4(c);
	return 0;
}

/* "/bin/sh" → "bin/sh": the kernel and cpio(1) both want relative names. */
static int check_path(const char *path, const char **out)
{
	while (path && *path == '/')
		path++;
	if (!path || !*path || strlen(path) >= NAME_MAX_LEN)
		return err_setx(-EINVAL, "cpio: bad path \"%s\"", path ? path : "(null)");
	*out = path;
	return 0;
}

static int add(struct cpio *c, const char *path, uint32_t type, uint32_t perm, uint32_t nlink,
	       unsigned rmajor, unsigned rminor, const void *data, size_t len)
{
	const char *name = "";
	int ret = check_path(path, &name);

	if (ret)
		return ret;
	if (perm & ~07777u)
		return err_setx(-EINVAL, "cpio: %s: mode 0%o has bits beyond 07777", name, perm);
	return put(c, name, type | perm, nlink, rmajor, rminor, data, len);
}

int cpio_add_dir(struct cpio *c, const char *path, uint32_t perm)
{
	return add(c, path, S_IFDIR, perm, 2, 0, 0, NULL, 0);
}

int cpio_add_file(struct cpio *c, const char *path, uint32_t perm, const void *data, size_t len)
{
	return add(c, path, S_IFREG, perm, 1, 0, 0, data, len);
}

int cpio_add_symlink(struct cpio *c, const char *path, const char *target)
{
	/* newc stores a symlink's target as its data, without a NUL. */
	if (!target || !*target)
		return err_setx(-EINVAL, "cpio: symlink %s has no target", path ? path : "(null)");
	return add(c, path, S_IFLNK, 0777, 1, 0, 0, target, strlen(target));
}

int cpio_add_chardev(struct cpio *c, const char *path, uint32_t perm, unsigned major,
		     unsigned minor)
{
	return add(c, path, S_IFCHR, perm, 1, major, minor, NULL, 0);
}

int cpio_add_host_file(struct cpio *c, const char *path, uint32_t perm, const char *host_path)
{
	struct stat st;
	void *data;
	size_t len;
	int ret;

	if (stat(host_path, &st) < 0)
		return err_set(-errno, "cpio: %s", host_path);
	ret = read_file("file", host_path, CPIO_FILE_MAX, &data, &len);
	if (ret)
		return ret;
	ret = cpio_add_file(c, path, perm ? perm : (st.st_mode & 07777), data, len);
	free(data);
	return ret;
}

int cpio_finish(struct cpio *c, void **data, size_t *len)
{
	/* buffer-format.rst: the archive ends with an entry named TRAILER!!! */
	int ret = put(c, TRAILER, 0, 1, 0, 0, NULL, 0);

	if (ret)
		return ret;
	*data = c->buf;
	*len = c->len;
	cpio_init(c);
	return 0;
}
