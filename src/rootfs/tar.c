// SPDX-License-Identifier: Apache-2.0
/*
 * tar reading and extraction (see tar.h).  Headers are parsed by pure
 * functions (fuzzed); extraction creates each member through a directory
 * fd resolved inside the root, never through a path string.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/err.h"
#include "tar.h"

#define BLOCK 512
#define PROGRESS_STEP (1u << 20)

/* ---- parsing ---- */

bool tar_zero_block(const uint8_t hdr[BLOCK])
{
	for (unsigned i = 0; i < BLOCK; i++)
		if (hdr[i])
			return false;
	return true;
}

/* An octal (NUL/space-padded) or base-256 (high bit set) number field. */
static int parse_num(const uint8_t *f, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		if (f[0] != 0x80)
			return -EBADMSG; /* negative or over 64 bits */
		for (i = 1; i < len; i++) {
			if (v >> 56)
				return -EBADMSG;
			v = v << 8 | f[i];
		}
		*out = v;
		return 0;
	}
	while (i < len && (f[i] == ' ' || f[i] == '\0'))
		i++;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 61)
			return -EBADMSG;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	for (; i < len; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -EBADMSG;
	*out = v;
	return 0;
}

int tar_clean_path(const char *in, char *out, size_t len)
{
	size_t o = 0;
	const char *p = in;

	if (!len)
		return -EBADMSG;
	out[0] = '\0';
	while (*p) {
		const char *s;
		size_t n;

		while (*p == '/')
			p++;
		s = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - s);
		if (!n || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return err_setx(-EBADMSG, "member %s: \"..\" in a path is refused", in);
		if (o + (o ? 1 : 0) + n + 1 > len)
			return err_setx(-EBADMSG, "member name too long");
		if (o)
			out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
		out[o] = '\0';
	}
	return 0;
}

static void field_str(char *dst, size_t dlen, const uint8_t *f, size_t flen)
{
	size_t n = strnlen((const char *)f, flen);

	if (n >= dlen)
		n = dlen - 1;
	memcpy(dst, f, n);
	dst[n] = '\0';
}

int tar_parse_header(const uint8_t hdr[BLOCK], const struct tar_override *o, struct tar_entry *e)
{
	uint64_t sum = 0, ssum = 0, want, mode, uid, gid, size, mtime, maj, min;
	char name[256 + 1], prefix[155 + 1];
	bool ustar = !memcmp(hdr + 257, "ustar", 5);
	int ret;

	memset(e, 0, sizeof(*e));
	for (unsigned i = 0; i < BLOCK; i++) {
		uint8_t b = i >= 148 && i < 156 ? ' ' : hdr[i];

		sum += b;
		ssum += (uint64_t)(int64_t)(int8_t)b;
	}
	if (parse_num(hdr + 148, 8, &want) || (want != sum && want != (ssum & 0x3ffff)))
		return err_setx(-EBADMSG, "not a tar archive (header checksum mismatch)");
	if (parse_num(hdr + 100, 8, &mode) || parse_num(hdr + 108, 8, &uid) ||
	    parse_num(hdr + 116, 8, &gid) || parse_num(hdr + 124, 12, &size) ||
	    parse_num(hdr + 136, 12, &mtime))
		return err_setx(-EBADMSG, "tar header with a malformed number");
	maj = min = 0;
	if (ustar && (parse_num(hdr + 329, 8, &maj) || parse_num(hdr + 337, 8, &min)))
		return err_setx(-EBADMSG, "tar header with a malformed device number");
	e->type = (char)hdr[156];
	if (e->type == '\0' || e->type == '7')
		e->type = TAR_FILE;
	e->size = size;
	/* Metadata members: the caller reads their data. */
	if (e->type == 'x' || e->type == 'g' || e->type == 'L' || e->type == 'K')
		return 0;
	if (e->type == 'S' || e->type == 'V' || e->type == 'M')
		return err_setx(-ENOTSUP,
				"GNU sparse/volume/multi-volume members are not supported");
	field_str(name, 101, hdr, 100);
	field_str(prefix, sizeof(prefix), hdr + 345, ustar ? 155 : 0);
	if (o && o->has_path) {
		ret = tar_clean_path(o->path, e->path, sizeof(e->path));
	} else {
		char full[sizeof(prefix) + sizeof(name) + 1];

		snprintf(full, sizeof(full), "%s%s%s", prefix, prefix[0] ? "/" : "", name);
		ret = tar_clean_path(full, e->path, sizeof(e->path));
	}
	if (ret)
		return ret;
	if (o && o->has_link)
		snprintf(e->link, sizeof(e->link), "%s", o->link);
	else
		field_str(e->link, sizeof(e->link), hdr + 157, 100);
	if (e->type == TAR_HARDLINK) {
		char l[TAR_PATH_MAX];

		ret = tar_clean_path(e->link, l, sizeof(l));
		if (ret)
			return ret;
		if (!l[0])
			return err_setx(-EBADMSG, "member %s: hard link to the root", e->path);
		memcpy(e->link, l, sizeof(l));
	}
	if (e->type == TAR_SYMLINK && !e->link[0])
		return err_setx(-EBADMSG, "member %s: empty symlink target", e->path);
	if (o && o->has_size)
		e->size = o->size;
	if (o && o->has_uid)
		uid = o->uid;
	if (o && o->has_gid)
		gid = o->gid;
	if (uid > UINT32_MAX || gid > UINT32_MAX || maj > UINT32_MAX || min > UINT32_MAX)
		return err_setx(-EBADMSG, "member %s: owner or device number out of range",
				e->path);
	e->mode = (uint32_t)(mode & 07777);
	e->uid = (uint32_t)uid;
	e->gid = (uint32_t)gid;
	e->mtime = o && o->has_mtime ? o->mtime : (int64_t)mtime;
	e->devmajor = (uint32_t)maj;
	e->devminor = (uint32_t)min;
	/* Only regular files carry data; a size on anything else is skipped. */
	if (e->type == TAR_DIR && e->path[0] == '\0')
		e->size = 0;
	return 0;
}

static int pax_u64(const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;
	size_t i = 0;

	if (!n)
		return -EBADMSG;
	for (; i < n && v[i] != '.'; i++) { /* mtime may have a fraction: dropped */
		if (v[i] < '0' || v[i] > '9' || x > (UINT64_MAX - 9) / 10)
			return -EBADMSG;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

int tar_parse_pax(const char *data, size_t len, struct tar_override *o)
{
	size_t pos = 0;

	while (pos < len) {
		size_t rec = 0, i = pos, klen, vlen;
		const char *key, *val, *eq;

		while (i < len && data[i] >= '0' && data[i] <= '9') {
			if (rec > len)
				goto bad;
			rec = rec * 10 + (size_t)(data[i] - '0');
			i++;
		}
		if (i == pos || i >= len || data[i] != ' ' || rec > len - pos ||
		    rec < i - pos + 3 || data[pos + rec - 1] != '\n')
			goto bad;
		key = data + i + 1;
		eq = memchr(key, '=', (size_t)(data + pos + rec - 1 - key));
		if (!eq)
			goto bad;
		klen = (size_t)(eq - key);
		val = eq + 1;
		vlen = (size_t)(data + pos + rec - 1 - val);
		if (klen == 4 && !memcmp(key, "path", 4)) {
			if (vlen >= sizeof(o->path) || memchr(val, '\0', vlen))
				goto bad;
			memcpy(o->path, val, vlen);
			o->path[vlen] = '\0';
			o->has_path = true;
		} else if (klen == 8 && !memcmp(key, "linkpath", 8)) {
			if (vlen >= sizeof(o->link) || memchr(val, '\0', vlen))
				goto bad;
			memcpy(o->link, val, vlen);
			o->link[vlen] = '\0';
			o->has_link = true;
		} else if (klen == 4 && !memcmp(key, "size", 4)) {
			if (pax_u64(val, vlen, &o->size))
				goto bad;
			o->has_size = true;
		} else if (klen == 3 && !memcmp(key, "uid", 3)) {
			if (pax_u64(val, vlen, &o->uid))
				goto bad;
			o->has_uid = true;
		} else if (klen == 3 && !memcmp(key, "gid", 3)) {
			if (pax_u64(val, vlen, &o->gid))
				goto bad;
			o->has_gid = true;
		} else if (klen == 5 && !memcmp(key, "mtime", 5)) {
			uint64_t t;

			if (vlen && val[0] == '-') {
				o->mtime = 0; /* before 1970: clamp */
			} else {
				if (pax_u64(val, vlen, &t) || t > INT64_MAX)
					goto bad;
				o->mtime = (int64_t)t;
			}
			o->has_mtime = true;
		} else if (klen > 11 && !memcmp(key, "GNU.sparse.", 11)) {
			return err_setx(-ENOTSUP, "GNU sparse members are not supported");
		}
		pos += rec;
	}
	return 0;
bad:
	return err_setx(-EBADMSG, "malformed pax header");
}

/* ---- reader ---- */

struct tar_reader {
	struct zstream *z;
	const char *what;
	uint64_t left, pad; /* of the current member's data */
};

int tar_open(struct zstream *z, const char *what, struct tar_reader **out)
{
	struct tar_reader *t = calloc(1, sizeof(*t));

	if (!t)
		return err_set(-ENOMEM, "%s", what);
	t->z = z;
	t->what = what;
	*out = t;
	return 0;
}

void tar_close(struct tar_reader *t)
{
	free(t);
}

static int read_meta(struct tar_reader *t, uint64_t size, size_t max, char **out)
{
	char *buf;
	int ret;

	if (size > max)
		return err_setx(-EBADMSG, "%s: a metadata member of %llu bytes", t->what,
				(unsigned long long)size);
	buf = malloc((size_t)size + 1);
	if (!buf)
		return err_set(-ENOMEM, "%s", t->what);
	ret = zs_read_full(t->z, buf, (size_t)size);
	if (!ret)
		ret = zs_skip(t->z, (BLOCK - size % BLOCK) % BLOCK);
	if (ret) {
		free(buf);
		return ret;
	}
	buf[size] = '\0';
	*out = buf;
	return 0;
}

/* A header block: 1 read, 0 at a clean end of input, -errno. */
static int read_block(struct tar_reader *t, uint8_t b[BLOCK])
{
	size_t got = 0;

	while (got < BLOCK) {
		ssize_t n = zs_read(t->z, b + got, BLOCK - got);

		if (n < 0)
			return (int)n;
		if (n == 0) {
			if (got)
				return err_setx(-EBADMSG, "%s is truncated", t->what);
			return 0;
		}
		got += (size_t)n;
	}
	return 1;
}

int tar_next(struct tar_reader *t, struct tar_entry *e)
{
	struct tar_override o;
	uint8_t b[BLOCK];
	int ret;

	memset(&o, 0, sizeof(o));
	ret = zs_skip(t->z, t->left + t->pad);
	t->left = t->pad = 0;
	if (ret)
		return ret;
	for (;;) {
		char *meta;

		ret = read_block(t, b);
		if (ret <= 0)
			return ret;
		if (tar_zero_block(b))
			return 0; /* the end marker; what follows is padding */
		ret = tar_parse_header(b, &o, e);
		if (ret)
			return err_setx(ret, "%s: %s", t->what, err_msg());
		if (e->type == 'x' || e->type == 'g') {
			ret = read_meta(t, e->size, TAR_PAX_MAX, &meta);
			if (ret)
				return ret;
			/* Global headers are read for their errors and otherwise ignored. */
			if (e->type == 'x')
				ret = tar_parse_pax(meta, (size_t)e->size, &o);
			free(meta);
			if (ret)
				return err_setx(ret, "%s: %s", t->what, err_msg());
			continue;
		}
		if (e->type == 'L' || e->type == 'K') {
			ret = read_meta(t, e->size, TAR_PATH_MAX - 1, &meta);
			if (ret)
				return ret;
			if (e->type == 'L') {
				snprintf(o.path, sizeof(o.path), "%s", meta);
				o.has_path = true;
			} else {
				snprintf(o.link, sizeof(o.link), "%s", meta);
				o.has_link = true;
			}
			free(meta);
			continue;
		}
		/* Hard links, symlinks, directories and devices carry no data. */
		if (e->type != TAR_FILE && e->type != TAR_HARDLINK && e->type != TAR_SYMLINK &&
		    e->type != TAR_CHAR && e->type != TAR_BLOCK && e->type != TAR_DIR &&
		    e->type != TAR_FIFO)
			e->type = TAR_FILE; /* POSIX: unknown types read as regular files */
		t->left = e->type == TAR_FILE ? e->size : 0;
		if (e->type != TAR_FILE && e->size) /* data we do not use: skipped */
			t->left = e->size;
		t->pad = (BLOCK - e->size % BLOCK) % BLOCK;
		if (e->type != TAR_FILE)
			e->size = 0;
		return 1;
	}
}

ssize_t tar_read_data(struct tar_reader *t, void *buf, size_t len)
{
	ssize_t n;

	if (!t->left)
		return 0;
	if (len > t->left)
		len = (size_t)t->left;
	n = zs_read(t->z, buf, len);
	if (n == 0)
		return err_setx(-EBADMSG, "%s is truncated", t->what);
	if (n > 0)
		t->left -= (uint64_t)n;
	return n;
}

/* ---- paths inside the root ---- */

static int openat2_in(int rootfd, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)flags | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	long fd = syscall(SYS_openat2, rootfd, path[0] ? path : ".", &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

int inroot_dir(int rootfd, const char *path, bool create)
{
	char prefix[TAR_PATH_MAX];
	int fd = openat2_in(rootfd, path, O_PATH | O_DIRECTORY), parent;
	size_t i = 0;

	if (fd >= 0 || fd != -ENOENT || !create)
		return fd;
	/* Component by component: each mkdirat is inside a directory resolved in the root. */
	parent = openat2_in(rootfd, "", O_PATH | O_DIRECTORY);
	if (parent < 0)
		return parent;
	snprintf(prefix, sizeof(prefix), "%s", path);
	while (prefix[i]) {
		size_t j = i;
		char save;

		while (prefix[j] && prefix[j] != '/')
			j++;
		save = prefix[j];
		prefix[j] = '\0';
		fd = openat2_in(rootfd, prefix, O_PATH | O_DIRECTORY);
		if (fd == -ENOENT) {
			if (mkdirat(parent, prefix + i, 0755) < 0 && errno != EEXIST) {
				fd = -errno;
			} else {
				fd = openat2_in(rootfd, prefix, O_PATH | O_DIRECTORY);
			}
		}
		close(parent);
		if (fd < 0)
			return fd;
		parent = fd;
		prefix[j] = save;
		i = save ? j + 1 : j;
	}
	return parent;
}

static int remove_at(int dirfd, const char *name);

/* Remove everything in the directory fd (which this closes). */
static int remove_children(int fd)
{
	struct dirent *de;
	DIR *d = fdopendir(fd);
	int ret = 0;

	if (!d) {
		close(fd);
		return -errno;
	}
	while (!ret && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			ret = remove_at(dirfd(d), de->d_name);
	closedir(d);
	return ret;
}

static int remove_at(int dirfd, const char *name)
{
	struct stat st;
	int fd, ret = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = remove_children(fd);
	if (!ret && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		ret = -errno;
	return ret;
}

/* Split a cleaned path into its directory (in dir) and last component. */
static const char *split(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		dir[0] = '\0';
		return path;
	}
	snprintf(dir, len, "%.*s", (int)(slash - path), path);
	return slash + 1;
}

int inroot_remove(int rootfd, const char *path)
{
	char dir[TAR_PATH_MAX];
	const char *base = split(path, dir, sizeof(dir));
	int fd, ret;

	if (!base[0])
		return -EINVAL;
	fd = inroot_dir(rootfd, dir, false);
	if (fd == -ENOENT || fd == -ENOTDIR)
		return 0;
	if (fd < 0)
		return fd;
	ret = remove_at(fd, base);
	close(fd);
	return ret;
}

/* Empty directory path (resolved in the root) of everything in it. */
static int empty_dir(int rootfd, const char *path)
{
	int fd = openat2_in(rootfd, path, O_RDONLY | O_DIRECTORY);

	if (fd == -ENOENT || fd == -ENOTDIR)
		return 0;
	if (fd < 0)
		return fd;
	return remove_children(fd);
}

/* ---- extraction ---- */

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

int tar_apply_whiteouts(struct zstream *z, const char *what, int rootfd, struct tar_stats *st)
{
	struct tar_reader *t = NULL;
	struct tar_entry e;
	int ret = tar_open(z, what, &t);

	while (!ret && (ret = tar_next(t, &e)) == 1) {
		char dir[TAR_PATH_MAX], victim[TAR_PATH_MAX + 8];
		const char *base = split(e.path, dir, sizeof(dir));

		ret = 0;
		if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)))
			continue;
		if (!strcmp(base, WH_OPAQUE)) {
			ret = empty_dir(rootfd, dir);
		} else {
			const char *name = base + strlen(WH_PREFIX);

			if (!name[0] || !strcmp(name, ".") || !strcmp(name, ".."))
				ret = err_setx(-EBADMSG, "%s: bad whiteout %s", what, e.path);
			else {
				snprintf(victim, sizeof(victim), "%s%s%s", dir, dir[0] ? "/" : "",
					 name);
				ret = inroot_remove(rootfd, victim);
			}
		}
		if (ret < 0)
			ret = err_set(ret, "%s: whiteout %s", what, e.path);
		if (!ret && st)
			st->whiteouts++;
	}
	if (t)
		tar_close(t);
	return ret < 0 ? ret : 0;
}

static int set_meta(int parent, const char *base, const struct tar_entry *e)
{
	struct timespec ts[2] = { { .tv_sec = e->mtime }, { .tv_sec = e->mtime } };

	if (geteuid() == 0 && fchownat(parent, base, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	/* After chown, which clears setuid/setgid. Symlinks have no mode of their own. */
	if (e->type != TAR_SYMLINK && fchmodat(parent, base, e->mode, 0) < 0)
		return -errno;
	if (utimensat(parent, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static int write_file(struct tar_reader *t, int parent, const char *base, struct tar_stats *st)
{
	static char buf[1 << 16];
	int fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return err_set(-errno, "create %s", base);
	while ((n = tar_read_data(t, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				n = err_set(-errno, "write %s", base);
				goto out;
			}
			off += w;
		}
		if (st)
			st->bytes += (uint64_t)n;
	}
out:
	close(fd);
	return n < 0 ? (int)n : 0;
}

static int extract_one(struct tar_reader *t, const struct tar_entry *e, int rootfd,
		       struct tar_stats *st)
{
	char dir[TAR_PATH_MAX];
	const char *base = split(e->path, dir, sizeof(dir));
	struct stat old;
	int parent, ret = 0;
	bool exists, msg = false; /* msg: ret's message is set */

	parent = inroot_dir(rootfd, dir, true);
	if (parent < 0)
		return err_set(parent, "directory %s", dir);
	exists = fstatat(parent, base, &old, AT_SYMLINK_NOFOLLOW) == 0;
	/* A directory over a directory keeps what is in it; anything else replaces. */
	if (exists && !(e->type == TAR_DIR && S_ISDIR(old.st_mode))) {
		ret = remove_at(parent, base);
		exists = false;
	}
	switch (e->type) {
	case TAR_DIR:
		if (!exists && mkdirat(parent, base, 0700) < 0)
			ret = -errno;
		break;
	case TAR_FILE:
		if (!ret) {
			ret = write_file(t, parent, base, st);
			msg = ret < 0; /* write_file sets its messages */
		}
		break;
	case TAR_SYMLINK:
		if (!ret && symlinkat(e->link, parent, base) < 0)
			ret = -errno;
		break;
	case TAR_HARDLINK: {
		int fd = openat2_in(rootfd, e->link, O_PATH | O_NOFOLLOW);
		char proc[64];

		if (fd < 0) {
			close(parent);
			return err_setx(
				fd, "%s: hard link to %s, which is not in the archive before it",
				e->path, e->link);
		}
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (!ret && linkat(AT_FDCWD, proc, parent, base, AT_SYMLINK_FOLLOW) < 0)
			ret = -errno;
		close(fd);
		close(parent);
		/* The link shares its target's owner, mode and times. */
		return ret && !msg ? err_set(ret, "%s", e->path) : ret;
	}
	case TAR_CHAR:
	case TAR_BLOCK:
	case TAR_FIFO: {
		mode_t kind = e->type == TAR_CHAR    ? S_IFCHR
			      : e->type == TAR_BLOCK ? S_IFBLK
						     : S_IFIFO;

		if (!ret &&
		    mknodat(parent, base, kind | 0600, makedev(e->devmajor, e->devminor)) < 0) {
			if (errno == EPERM) {
				if (st)
					st->skipped_devices++;
				close(parent);
				return 0;
			}
			ret = -errno;
		}
		break;
	}
	default:
		ret = -EINVAL;
	}
	if (!ret)
		ret = set_meta(parent, base, e);
	close(parent);
	return ret && !msg ? err_set(ret, "%s", e->path) : ret;
}

int tar_extract(struct zstream *z, const char *what, int rootfd, unsigned flags,
		struct tar_stats *st, tar_progress_fn progress, void *opaque)
{
	struct tar_reader *t = NULL;
	struct tar_entry *e = malloc(sizeof(*e));
	uint64_t next_progress = 0;
	int ret;

	if (!e)
		return err_set(-ENOMEM, "%s", what);
	ret = tar_open(z, what, &t);
	while (!ret && (ret = tar_next(t, e)) == 1) {
		char dir[TAR_PATH_MAX];
		const char *base = split(e->path, dir, sizeof(dir));

		ret = 0;
		if (!e->path[0])
			continue; /* "./": the root is ours */
		if ((flags & TAR_OCI) && !strncmp(base, WH_PREFIX, strlen(WH_PREFIX)))
			continue; /* applied by tar_apply_whiteouts */
		ret = extract_one(t, e, rootfd, st);
		if (ret) {
			ret = err_setx(ret, "%s: %s", what, err_msg());
			break;
		}
		if (st)
			st->entries++;
		if (progress && zs_consumed(z) >= next_progress) {
			progress(opaque, zs_consumed(z));
			next_progress = zs_consumed(z) + PROGRESS_STEP;
		}
	}
	if (t)
		tar_close(t);
	free(e);
	if (!ret && progress)
		progress(opaque, zs_consumed(z));
	return ret < 0 ? ret : 0;
}
