// SPDX-License-Identifier: Apache-2.0
/*
 * Host-side kernel files (see kernel.h): pick the newest /boot/vmlinuz-*,
 * read it with a size cap, verify an expected SHA-256 with nettle, and
 * tell its release (for /lib/modules/<release>).  Main thread, before the
 * VM is built; no state.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bzimage.h"
#include "elf.h"
#include "kernel.h"
#include "lib/err.h"

#define PREFIX "vmlinuz-"
#define BANNER "Linux version " /* init/version.c: linux_banner */

/* Debian ships /boot/vmlinuz-* mode 0600: say what to do about it. */
static int open_error(int err, const char *path)
{
	if (err == EACCES || err == EPERM)
		return err_setx(-EACCES,
				"cannot read %s: permission denied (run as root or pass --kernel)",
				path);
	return err_set(-err, "cannot read kernel %s", path);
}

int kernel_find_in(const char *dir, char *path, size_t len)
{
	char best[256] = "";
	struct dirent *de;
	DIR *d;
	int fd, n;

	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return err_setx(-ENOENT,
					"no kernel found in %s: install linux-image-amd64 or pass "
					"--kernel",
					dir);
		return err_set(-errno, "open directory %s", dir);
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (strncmp(de->d_name, PREFIX, strlen(PREFIX)) || !de->d_name[strlen(PREFIX)])
			continue;
		if (strlen(de->d_name) >= sizeof(best))
			continue;
		/* Regular files only (following symlinks); a stray directory is not a kernel. */
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
			continue;
		/* Version order: vmlinuz-6.1.0-10-amd64 is newer than vmlinuz-6.1.0-9-amd64. */
		if (!best[0] || strverscmp(de->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	}
	closedir(d);
	if (!best[0])
		return err_setx(-ENOENT,
				"no kernel found in %s: install linux-image-amd64 or pass --kernel",
				dir);
	n = snprintf(path, len, "%s/%s", dir, best);
	if (n < 0 || (size_t)n >= len)
		return err_setx(-ENAMETOOLONG, "kernel path %s/%s is too long", dir, best);
	/* Fail here, where the reason is clear, rather than later in kernel_read(). */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return open_error(errno, path);
	close(fd);
	return 0;
}

int kernel_find_default(char *path, size_t len)
{
	return kernel_find_in(KERNEL_DEFAULT_DIR, path, len);
}

int kernel_read(const char *path, void **data, size_t *len)
{
	int ret = read_file("kernel", path, KERNEL_MAX_SIZE, data, len);

	if (ret == -EACCES || ret == -EPERM)
		return open_error(-ret, path);
	if (ret)
		return ret;
	if (!*len) {
		free(*data);
		*data = NULL;
		return err_setx(-ENOEXEC, "kernel %s is empty", path);
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void to_hex(const uint8_t *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

int kernel_verify_sha256(const void *data, size_t len, const char *hex)
{
	uint8_t want[SHA256_DIGEST_SIZE], got[SHA256_DIGEST_SIZE];
	char want_hex[2 * SHA256_DIGEST_SIZE + 1], got_hex[2 * SHA256_DIGEST_SIZE + 1];
	struct sha256_ctx ctx;

	if (!hex || strlen(hex) != 2 * SHA256_DIGEST_SIZE)
		return err_setx(-EINVAL, "--kernel-sha256: expected 64 hex digits");
	for (size_t i = 0; i < SHA256_DIGEST_SIZE; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return err_setx(-EINVAL, "--kernel-sha256: expected 64 hex digits");
		want[i] = (uint8_t)(hi << 4 | lo);
	}
	sha256_init(&ctx);
	sha256_update(&ctx, len, data);
	sha256_digest(&ctx, sizeof(got), got);
	if (!memcmp(want, got, sizeof(got)))
		return 0;
	to_hex(want, sizeof(want), want_hex);
	to_hex(got, sizeof(got), got_hex);
	return err_setx(-EBADMSG, "kernel sha256 mismatch: expected %s, got %s", want_hex, got_hex);
}

/*
 * init/version.c: linux_banner is "Linux version " UTS_RELEASE " (" ...
 * The release starts with a digit; other strings that happen to contain
 * the prefix are skipped.
 */
static int elf_version(const uint8_t *p, size_t size, char *buf, size_t len)
{
	const uint8_t *end = p + size, *s = p;

	while ((s = memmem(s, (size_t)(end - s), BANNER, strlen(BANNER)))) {
		const uint8_t *v = s + strlen(BANNER);
		size_t n = 0;

		s = v;
		while (v + n < end && v[n] > ' ' && v[n] < 0x7f)
			n++;
		if (!n || v + n == end || v[n] != ' ' || v[0] < '0' || v[0] > '9')
			continue;
		if (n >= len)
			return err_setx(-ENOSPC, "kernel: version string (%zu bytes) is too long",
					n);
		memcpy(buf, v, n);
		buf[n] = '\0';
		return 0;
	}
	return err_setx(-ENOENT, "kernel: ELF vmlinux has no \"" BANNER "\" banner");
}

int kernel_version(const void *data, size_t len, char *buf, size_t buflen)
{
	const uint8_t *p = data;

	/* The same tests, in the same order, as loader_load(). */
	if (elf_is_elf(data, len))
		return elf_version(p, len, buf, buflen);
	if ((len >= 0x206 && !memcmp(p + 0x202, "HdrS", 4)) ||
	    (len >= 2 && p[0] == 'M' && p[1] == 'Z'))
		return bzimage_version(data, len, buf, buflen);
	return err_setx(-ENOEXEC, "kernel: not a bzImage or ELF vmlinux");
}
