// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel module resolution for the generated initramfs (see modules.h).
 * It reads the depmod index files of one module tree as text (the .bin
 * tries are kmod's private format), walks hard and "pre:" soft
 * dependencies depth-first the way modprobe orders them (kmod's
 * kmod_module_get_probe_list: softdeps, dependencies, the module), and
 * decompresses module files with liblzma, libzstd and zlib.  The host's
 * module tree is trusted no further than the bounds below: file sizes,
 * chain depth, module count and name lengths.  Main thread; no state
 * beyond one call.
 */
#include <errno.h>
#include <fnmatch.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/zstream.h"
#include "modules.h"

#define ALIAS_MAX 256	 /* longest alias pattern considered */
#define CANDIDATES_MAX 8 /* modules one soft dependency may resolve to */
#define KVER_TEXT_MAX 96

/* One index file, its lines turned into NUL-terminated strings. */
struct text {
	char *p;
	size_t len;
};

/* One modules.dep line: "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko ..." */
struct dep {
	char name[MODULES_NAME_MAX];
	const char *path; /* relative to the tree (or absolute, as old depmod wrote) */
	const char *deps; /* space-separated paths, in reverse load order */
};

struct tree {
	const char *dir;
	char kver[KVER_TEXT_MAX]; /* "kernel 6.1.0-56-amd64" or "the kernel" */
	const char *need;	  /* "virtio_mmio, virtio_blk, ext4" for messages */
	struct text dep, builtin, softdep, alias;
	bool alias_read; /* modules.alias (1.3 MiB on Debian) is read only when needed */
	struct dep *deps;
	size_t n_deps;
	struct modules *out;
};

void modules_normalise(char *out, size_t len, const char *name)
{
	size_t i;

	if (!len)
		return;
	for (i = 0; i + 1 < len && name[i]; i++)
		out[i] = name[i] == '-' ? '_' : name[i];
	out[i] = '\0';
}

/* "kernel/fs/ext4/ext4.ko.xz" (n bytes) → "ext4".  false if it is no module path. */
static bool name_of_path(const char *path, size_t n, char out[MODULES_NAME_MAX])
{
	const char *base = path, *ko = NULL;
	size_t len;

	for (size_t i = 0; i < n; i++)
		if (path[i] == '/')
			base = path + i + 1;
	for (const char *p = base; p + 3 <= path + n; p++)
		if (!memcmp(p, ".ko", 3))
			ko = p;
	if (!ko || ko == base)
		return false;
	len = (size_t)(ko - base);
	if (len >= MODULES_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		out[i] = base[i] == '-' ? '_' : base[i];
	out[len] = '\0';
	return true;
}

/* The next blank-separated word of *s, or NULL; *s moves past it. */
static const char *next_word(const char **s, size_t *len)
{
	const char *p = *s, *w;

	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	if (!*p)
		return NULL;
	w = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '\r')
		p++;
	*len = (size_t)(p - w);
	*s = p;
	return w;
}

static bool word_is(const char *w, size_t n, const char *s)
{
	return strlen(s) == n && !memcmp(w, s, n);
}

/* A word as a normalised module name; false if too long. */
static bool word_name(const char *w, size_t n, char out[MODULES_NAME_MAX])
{
	if (!n || n >= MODULES_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = w[i] == '-' ? '_' : w[i];
	out[n] = '\0';
	return true;
}

/* Lines of a text: for (char *l = first_line(t); l; l = next_line(t, l)) */
static char *first_line(const struct text *t)
{
	return t->len ? t->p : NULL;
}

static char *next_line(const struct text *t, char *l)
{
	l += strlen(l) + 1;
	return l < t->p + t->len ? l : NULL;
}

/* Read dir/name into t with every '\n' made a NUL.  A missing optional file reads as empty. */
static int read_text(const struct tree *tr, const char *name, bool required, struct text *t)
{
	char path[4096];
	void *data;
	size_t len;
	char *p;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", tr->dir, name);
	ret = read_file(name, path, MODULES_INDEX_MAX, &data, &len);
	if (ret == -ENOENT && !required)
		return 0;
	if (ret == -ENOENT)
		return err_setx(-ENOENT, "%s: %s is missing (run depmod for %s)", tr->kver, path,
				tr->dir);
	if (ret)
		return ret;
	p = realloc(data, len + 1);
	if (!p) {
		free(data);
		return err_set(-ENOMEM, "read %s", path);
	}
	p[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (p[i] == '\n')
			p[i] = '\0';
	t->p = p;
	t->len = len;
	return 0;
}

static int parse_deps(struct tree *tr)
{
	size_t lines = 0;

	for (char *l = first_line(&tr->dep); l; l = next_line(&tr->dep, l))
		lines++;
	tr->deps = calloc(lines ? lines : 1, sizeof(*tr->deps));
	if (!tr->deps)
		return err_set(-ENOMEM, "parse %s/modules.dep", tr->dir);
	for (char *l = first_line(&tr->dep); l; l = next_line(&tr->dep, l)) {
		char *colon = strchr(l, ':');
		struct dep *d = &tr->deps[tr->n_deps];

		if (!colon || !name_of_path(l, (size_t)(colon - l), d->name))
			continue;
		*colon = '\0';
		d->path = l;
		d->deps = colon + 1;
		tr->n_deps++;
	}
	return 0;
}

static const struct dep *find_dep(const struct tree *tr, const char *name)
{
	for (size_t i = 0; i < tr->n_deps; i++)
		if (!strcmp(tr->deps[i].name, name))
			return &tr->deps[i];
	return NULL;
}

static bool is_builtin(const struct tree *tr, const char *name)
{
	char n[MODULES_NAME_MAX];

	for (char *l = first_line(&tr->builtin); l; l = next_line(&tr->builtin, l))
		if (name_of_path(l, strlen(l), n) && !strcmp(n, name))
			return true;
	return false;
}

static struct module *find_out(const struct tree *tr, const char *name)
{
	for (size_t i = 0; i < tr->out->n; i++)
		if (!strcmp(tr->out->mod[i].name, name))
			return &tr->out->mod[i];
	return NULL;
}

/* kmod's alias_normalize: '-' is '_' except inside a [...] class. */
static bool alias_pattern(const char *w, size_t n, char out[ALIAS_MAX])
{
	bool in_class = false;

	if (n >= ALIAS_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = w[i];

		if (c == '[')
			in_class = true;
		else if (c == ']')
			in_class = false;
		else if (c == '-' && !in_class)
			c = '_';
		out[i] = c;
	}
	out[n] = '\0';
	return true;
}

/* Modules whose modules.alias entries match alias (normalised), at most CANDIDATES_MAX. */
static size_t alias_candidates(const struct tree *tr, const char *alias,
			       char out[CANDIDATES_MAX][MODULES_NAME_MAX])
{
	size_t n = 0;

	for (char *l = first_line(&tr->alias); l; l = next_line(&tr->alias, l)) {
		const char *s = l, *w, *pat;
		char pattern[ALIAS_MAX], name[MODULES_NAME_MAX];
		size_t wl, pl;
		bool dup = false;

		w = next_word(&s, &wl);
		if (!w || !word_is(w, wl, "alias"))
			continue;
		pat = next_word(&s, &pl);
		w = pat ? next_word(&s, &wl) : NULL;
		if (!w || !alias_pattern(pat, pl, pattern) || !word_name(w, wl, name))
			continue;
		if (fnmatch(pattern, alias, 0))
			continue;
		for (size_t i = 0; i < n; i++)
			dup |= !strcmp(out[i], name);
		if (dup)
			continue;
		if (n == CANDIDATES_MAX)
			break;
		snprintf(out[n++], MODULES_NAME_MAX, "%s", name);
	}
	return n;
}

static int visit(struct tree *tr, const char *name, bool optional, unsigned depth);

/* A soft dependency: a module name, or an alias whose every present candidate is carried. */
static int visit_soft(struct tree *tr, const char *name, unsigned depth)
{
	char cand[CANDIDATES_MAX][MODULES_NAME_MAX];
	size_t n;
	int ret;

	if (find_dep(tr, name))
		return visit(tr, name, true, depth);
	if (is_builtin(tr, name))
		return 0;
	if (!tr->alias_read) {
		ret = read_text(tr, "modules.alias", false, &tr->alias);
		if (ret)
			return ret;
		tr->alias_read = true;
	}
	n = alias_candidates(tr, name, cand);
	for (size_t i = 0; i < n; i++) {
		ret = visit(tr, cand[i], true, depth);
		if (ret)
			return ret;
	}
	return 0;
}

/* modules.softdep: "softdep ext4 pre: crypto-crc32c post: ..."; "pre:" names load first. */
static int visit_softdeps(struct tree *tr, const char *name, unsigned depth)
{
	for (char *l = first_line(&tr->softdep); l; l = next_line(&tr->softdep, l)) {
		const char *s = l, *w;
		char n[MODULES_NAME_MAX];
		bool pre = false;
		size_t wl;
		int ret;

		w = next_word(&s, &wl);
		if (!w || !word_is(w, wl, "softdep"))
			continue;
		w = next_word(&s, &wl);
		if (!w || !word_name(w, wl, n) || strcmp(n, name))
			continue;
		while ((w = next_word(&s, &wl))) {
			if (word_is(w, wl, "pre:") || word_is(w, wl, "post:")) {
				pre = word_is(w, wl, "pre:");
				continue;
			}
			if (!pre || !word_name(w, wl, n))
				continue;
			ret = visit_soft(tr, n, depth);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* The hard dependencies of d, last listed first: that is modprobe's load order. */
static int visit_deps(struct tree *tr, const struct dep *d, bool optional, unsigned depth)
{
	const char *end = d->deps + strlen(d->deps);

	while (end > d->deps) {
		const char *w;
		char n[MODULES_NAME_MAX];
		int ret;

		while (end > d->deps && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			end--;
		w = end;
		while (w > d->deps && w[-1] != ' ' && w[-1] != '\t')
			w--;
		if (w == end)
			break;
		if (!name_of_path(w, (size_t)(end - w), n))
			return err_setx(-EBADMSG, "%s/modules.dep: bad dependency \"%.*s\" of %s",
					tr->dir, (int)(end - w), w, d->name);
		ret = visit(tr, n, optional, depth);
		if (ret)
			return ret;
		end = w;
	}
	return 0;
}

static int append(struct tree *tr, const struct dep *d, bool optional)
{
	struct modules *o = tr->out;
	struct module *m;
	char *path;

	if (o->n == MODULES_MAX)
		return err_setx(-E2BIG, "%s: %s needs more than %d modules", tr->kver, tr->need,
				MODULES_MAX);
	if (d->path[0] == '/')
		path = strdup(d->path);
	else if (asprintf(&path, "%s/%s", tr->dir, d->path) < 0)
		path = NULL;
	if (!path)
		return err_set(-ENOMEM, "module %s", d->name);
	if (access(path, R_OK)) {
		int err = errno;

		free(path);
		/* modules.dep names it, the file is gone: an optional one is just left out. */
		if (optional)
			return 0;
		return err_set(-err, "%s: module %s: cannot read %s%s%s", tr->kver, d->name,
			       d->path[0] == '/' ? "" : tr->dir, d->path[0] == '/' ? "" : "/",
			       d->path);
	}
	if (!o->mod) {
		o->mod = calloc(MODULES_MAX, sizeof(*o->mod));
		if (!o->mod) {
			free(path);
			return err_set(-ENOMEM, "module list");
		}
	}
	m = &o->mod[o->n++];
	snprintf(m->name, sizeof(m->name), "%s", d->name);
	m->path = path;
	m->optional = optional;
	return 0;
}

static int visit(struct tree *tr, const char *name, bool optional, unsigned depth)
{
	const struct dep *d;
	struct module *m;
	int ret;

	if (depth > MODULES_DEPTH_MAX)
		return err_setx(-ELOOP,
				"%s/modules.dep: dependencies of %s nest deeper than %d (a loop?)",
				tr->dir, name, MODULES_DEPTH_MAX);
	/* Built in: nothing to carry or load (and modules.dep has no line for it). */
	if (is_builtin(tr, name))
		return 0;
	d = find_dep(tr, name);
	if (!d) {
		if (optional)
			return 0;
		return err_setx(-ENOENT,
				"%s: module %s is neither built in nor in %s: install the "
				"kernel's modules package, or pass a kernel with %s built in",
				tr->kver, name, tr->dir, tr->need);
	}
	m = find_out(tr, name);
	if (m) {
		/* Carried as optional so far, needed now: so are its dependencies. */
		if (optional || !m->optional)
			return 0;
		ret = visit_deps(tr, d, false, depth + 1);
		if (!ret)
			find_out(tr, name)->optional = false;
		return ret;
	}
	ret = visit_softdeps(tr, name, depth + 1);
	if (!ret)
		ret = visit_deps(tr, d, optional, depth + 1);
	/* A soft dependency may have pulled the module in already (a softdep loop). */
	if (!ret && !find_out(tr, name))
		ret = append(tr, d, optional);
	return ret;
}

static void tree_destroy(struct tree *tr)
{
	free(tr->dep.p);
	free(tr->builtin.p);
	free(tr->softdep.p);
	free(tr->alias.p);
	free(tr->deps);
}

void modules_destroy(struct modules *m)
{
	for (size_t i = 0; m->mod && i < m->n; i++)
		free(m->mod[i].path);
	free(m->mod);
	m->mod = NULL;
	m->n = 0;
}

int modules_resolve(const char *dir, const char *kver, const char *const *names, size_t n,
		    struct modules *out)
{
	char need[256] = "", dirbuf[4096], name[MODULES_NAME_MAX];
	struct tree tr;
	struct stat st;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	memset(&tr, 0, sizeof(tr));
	tr.out = out;
	if (!n || (dir && !strcmp(dir, MODULES_NONE)))
		return 0;
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(need);

		modules_normalise(name, sizeof(name), names[i]);
		snprintf(need + used, sizeof(need) - used, "%s%s", i ? ", " : "", name);
	}
	tr.need = need;
	if (kver)
		snprintf(tr.kver, sizeof(tr.kver), "kernel %.80s", kver);
	else
		snprintf(tr.kver, sizeof(tr.kver), "the kernel");
	if (!dir) {
		if (!kver)
			return err_setx(-EINVAL,
					"the kernel's version is unknown, so its modules (%s) "
					"cannot be found: pass --modules DIR (or none)",
					need);
		if (!*kver || strchr(kver, '/') || !strcmp(kver, ".") || !strcmp(kver, ".."))
			return err_setx(-EINVAL, "bad kernel version \"%s\"", kver);
		snprintf(dirbuf, sizeof(dirbuf), "%s/%s", MODULES_BASE, kver);
		dir = dirbuf;
	}
	tr.dir = dir;
	if (stat(dir, &st)) {
		if (errno != ENOENT && errno != ENOTDIR)
			return err_set(-errno, "%s: module directory %s", tr.kver, dir);
		st.st_mode = 0;
	}
	if (!S_ISDIR(st.st_mode))
		return err_setx(-ENOENT,
				"%s: no module directory %s (needed for %s): install the "
				"kernel's modules package, or pass --modules DIR (--modules none "
				"for a kernel with %s built in)",
				tr.kver, dir, need, need);
	ret = read_text(&tr, "modules.dep", true, &tr.dep);
	if (!ret)
		ret = read_text(&tr, "modules.builtin", false, &tr.builtin);
	if (!ret)
		ret = read_text(&tr, "modules.softdep", false, &tr.softdep);
	if (!ret)
		ret = parse_deps(&tr);
	for (size_t i = 0; !ret && i < n; i++) {
		modules_normalise(name, sizeof(name), names[i]);
		ret = visit(&tr, name, false, 0);
	}
	tree_destroy(&tr);
	if (ret)
		modules_destroy(out);
	return ret;
}

int modules_read(const struct module *m, void **data, size_t *len)
{
	static const uint8_t elf[] = { 0x7f, 'E', 'L', 'F' };
	struct zstream *z = NULL;
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;
	int fd, ret;

	fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(-errno, "module %s", m->path);
	/* xz, zstd, gzip or plain, told by the magic bytes. */
	ret = zs_open(fd, m->path, &z);
	while (!ret) {
		ssize_t got;

		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4 * MiB;
			uint8_t *p;

			if (cap >= MODULES_KO_MAX) {
				ret = err_setx(-EFBIG,
					       "module %s decompresses to more than %llu MiB",
					       m->path, (unsigned long long)(MODULES_KO_MAX / MiB));
				break;
			}
			ncap = MIN(ncap, (size_t)MODULES_KO_MAX);
			p = realloc(buf, ncap);
			if (!p) {
				ret = err_set(-ENOMEM, "decompress module %s", m->path);
				break;
			}
			buf = p;
			cap = ncap;
		}
		got = zs_read(z, buf + n, cap - n);
		if (got < 0)
			ret = (int)got;
		else if (got == 0)
			break;
		else
			n += (size_t)got;
	}
	zs_close(z);
	close(fd);
	if (!ret && (n < sizeof(elf) || memcmp(buf, elf, sizeof(elf))))
		ret = err_setx(-ENOEXEC, "module %s is not an ELF object", m->path);
	if (ret) {
		free(buf);
		return ret;
	}
	*data = buf;
	*len = n;
	return 0;
}
