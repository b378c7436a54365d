// SPDX-License-Identifier: Apache-2.0
/*
 * The named-VM registry: one set of files per running VM in the per-user
 * runtime directory (see registry.h).  Liveness is an exclusive flock() on
 * NAME.lock that the VMM holds for its whole life plus the start time of
 * the recorded pid, so a VM killed with SIGKILL (lock dropped by the
 * kernel) or a pid reused by another process (start time differs) is never
 * taken for a live VM.  Whoever finds a stale entry takes the lock itself
 * and removes the files, so a claimer can never lose its fresh files to a
 * cleaner.  Files are created with O_NOFOLLOW|O_EXCL or replaced by rename,
 * so a symlink planted in the directory is never followed.
 * Any thread; no global state.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/util.h"
#include "vmm/registry.h"

#define JSON_MAX (16 * 1024)
#define CLAIM_RETRIES 8

static const char *const adjectives[] = {
	"brisk", "calm",   "eager",  "fuzzy",  "gentle", "happy", "jolly", "keen",
	"lucky", "mellow", "nimble", "plucky", "quiet",	 "rapid", "sunny", "tidy",
	"vivid", "witty",  "bold",   "cosy",   "deft",	 "fresh", "grand", "lively",
};

static const char *const nouns[] = {
	"otter", "badger", "falcon", "heron", "lynx",  "marten", "newt",  "owl",
	"panda", "quail",  "raven",  "seal",  "tapir", "walrus", "yak",	  "zebra",
	"bison", "crane",  "dingo",  "egret", "gecko", "ibis",	 "koala", "lemur",
};

int registry_dir(char *buf, size_t len)
{
	const char *env = getenv("CLONE_RUNTIME_DIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (xdg && *xdg)
		n = snprintf(buf, len, "%s/clone", xdg);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/clone");
	else
		n = snprintf(buf, len, "/tmp/clone-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len)
		return err_setx(-ENAMETOOLONG, "runtime directory path is too long");
	if (mkdir(buf, 0700) == 0) {
		/* mkdir honours the umask; the mode must be exactly 0700 */
		if (chmod(buf, 0700))
			return err_set(-errno, "chmod %s", buf);
	} else if (errno != EEXIST) {
		return err_set(-errno, "create the runtime directory %s", buf);
	}
	if (lstat(buf, &st))
		return err_set(-errno, "%s", buf);
	if (!S_ISDIR(st.st_mode))
		return err_setx(-EPERM, "runtime directory %s is not a directory", buf);
	if (st.st_uid != geteuid())
		return err_setx(-EPERM, "runtime directory %s is owned by uid %u, not by us (%u)",
				buf, (unsigned)st.st_uid, (unsigned)geteuid());
	if ((st.st_mode & 07777) != 0700)
		return err_setx(-EPERM, "runtime directory %s has mode %04o; it must be 0700", buf,
				(unsigned)(st.st_mode & 07777));
	return 0;
}

int registry_check_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0)
		return err_setx(-EINVAL, "a VM name must not be empty");
	if (n > REGISTRY_NAME_MAX)
		return err_setx(-EINVAL, "VM name '%.20s...' is longer than %d characters", name,
				REGISTRY_NAME_MAX);
	if (!isascii((unsigned char)name[0]) || !isalnum((unsigned char)name[0]))
		return err_setx(-EINVAL,
				"invalid VM name '%s': it must start with a letter or digit", name);
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isascii(c) || (!isalnum(c) && c != '_' && c != '.' && c != '-'))
			return err_setx(
				-EINVAL,
				"invalid VM name '%s': only letters, digits, '_', '.' and '-' "
				"are allowed",
				name);
	}
	return 0;
}

static int make_path(char *buf, size_t len, const char *dir, const char *name, const char *ext)
{
	int n = snprintf(buf, len, "%s/%s.%s", dir, name, ext);

	if (n < 0 || (size_t)n >= len)
		return err_setx(-ENAMETOOLONG, "path %s/%s.%s is too long", dir, name, ext);
	return 0;
}

static int fill_paths(struct registry_entry *e, const char *dir, const char *name)
{
	int ret;

	if (snprintf(e->name, sizeof(e->name), "%s", name) < 0)
		return -EINVAL;
	ret = make_path(e->api, sizeof(e->api), dir, name, "sock");
	if (!ret)
		ret = make_path(e->console, sizeof(e->console), dir, name, "console");
	if (!ret)
		ret = make_path(e->log, sizeof(e->log), dir, name, "log");
	return ret;
}

int registry_proc_start_time(pid_t pid, uint64_t *out)
{
	char path[64], buf[1024], *p, *end;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return err_setx(-ESRCH, "no process %d", (int)pid);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(errno == ENOENT ? -ESRCH : -errno, "%s", path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return err_setx(-ESRCH, "%s: cannot read it", path);
	buf[n] = '\0';
	/* "pid (comm) state f4 ... f22": comm may hold anything, so start after the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return err_setx(-EIO, "%s: unexpected format", path);
	p++;
	/* p is at " state ...": field 3 comes after the first space; skip to field 22 */
	for (int field = 2; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return err_setx(-EIO, "%s: too few fields", path);
		p++;
	}
	errno = 0;
	*out = strtoull(p, &end, 10);
	if (errno || end == p)
		return err_setx(-EIO, "%s: bad start time", path);
	return 0;
}

/* Write NAME.json atomically: a fresh temporary file (O_EXCL|O_NOFOLLOW), then rename. */
static int write_json(const char *path, const struct registry_entry *e)
{
	char tmp[REGISTRY_PATH_MAX + 32];
	json_t *j;
	char *text;
	int fd, ret = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return err_setx(-ENAMETOOLONG, "path %s is too long", path);
	j = json_pack("{s:s, s:I, s:I, s:I, s:s, s:s, s:s}", "name", e->name, "pid",
		      (json_int_t)e->pid, "start_time", (json_int_t)e->start_time, "created",
		      (json_int_t)e->created, "api", e->api, "console", e->console, "log", e->log);
	if (!j)
		return err_setx(-ENOMEM, "out of memory");
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!text)
		return err_setx(-ENOMEM, "out of memory");
	(void)unlink(tmp); /* a leftover of a crashed writer with our pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = err_set(-errno, "create %s", tmp);
		goto out;
	}
	if (write_full(fd, text, strlen(text)) < 0 || write_full(fd, "\n", 1) < 0)
		ret = err_set(-errno, "write %s", tmp);
	if (close(fd) && !ret)
		ret = err_set(-errno, "write %s", tmp);
	if (!ret && rename(tmp, path))
		ret = err_set(-errno, "rename %s to %s", tmp, path);
	if (ret)
		(void)unlink(tmp);
out:
	free(text);
	return ret;
}

/* Read NAME.json (never through a symlink) into e: 0, or -ENOENT if missing/invalid. */
static int read_json(const char *path, struct registry_entry *e)
{
	char buf[JSON_MAX];
	json_int_t pid = 0, start = 0, created = 0;
	const char *name = NULL;
	json_error_t jerr;
	struct stat st;
	json_t *j;
	ssize_t n;
	int fd, ret = -ENOENT;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOENT;
	}
	n = read_full(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || (size_t)n >= sizeof(buf))
		return -ENOENT;
	j = json_loadb(buf, (size_t)n, 0, &jerr);
	if (!j)
		return -ENOENT;
	if (!json_unpack(j, "{s:s, s:I, s:I, s?:I}", "name", &name, "pid", &pid, "start_time",
			 &start, "created", &created) &&
	    pid > 0 && pid <= INT32_MAX && start >= 0 && created >= 0 && !strcmp(name, e->name)) {
		e->pid = (pid_t)pid;
		e->start_time = (uint64_t)start;
		e->created = (uint64_t)created;
		ret = 0;
	}
	json_decref(j);
	return ret;
}

/* Is the file open on fd still the one at path?  (A cleaner may have unlinked it.) */
static bool same_file(int fd, const char *path)
{
	struct stat a, b;

	return !fstat(fd, &a) && !lstat(path, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * Remove every file of name except the lock (which the caller holds) and
 * the console log, kept for a post-mortem until a VM of that name starts.
 */
static void remove_files(const char *dir, const char *name)
{
	static const char *const exts[] = { "json", "sock", "console" };
	char path[REGISTRY_PATH_MAX];

	for (unsigned i = 0; i < ARRAY_SIZE(exts); i++)
		if (!make_path(path, sizeof(path), dir, name, exts[i]))
			(void)unlink(path);
}

static bool entry_alive(const struct registry_entry *e)
{
	uint64_t st;

	return !registry_proc_start_time(e->pid, &st) && st == e->start_time;
}

int registry_claim(const char *name, struct registry_claim *c)
{
	char dir[REGISTRY_PATH_MAX];
	int ret;

	memset(c, 0, sizeof(*c));
	c->lock_fd = -1;
	ret = registry_check_name(name);
	if (ret)
		return ret;
	ret = registry_dir(dir, sizeof(dir));
	if (ret)
		return ret;
	ret = fill_paths(&c->e, dir, name);
	if (!ret)
		ret = make_path(c->lock_path, sizeof(c->lock_path), dir, name, "lock");
	if (!ret)
		ret = make_path(c->json_path, sizeof(c->json_path), dir, name, "json");
	if (ret)
		goto fail;

	for (int tries = 0;; tries++) {
		int fd = open(c->lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

		if (fd < 0) {
			ret = err_set(-errno, "open %s", c->lock_path);
			goto fail;
		}
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			struct registry_entry other = { 0 };

			ret = -errno;
			close(fd);
			if (ret != -EWOULDBLOCK) {
				ret = err_set(ret, "lock %s", c->lock_path);
				goto fail;
			}
			snprintf(other.name, sizeof(other.name), "%s", name);
			if (!read_json(c->json_path, &other) && entry_alive(&other))
				ret = err_setx(-EEXIST, "a VM named %s is already running (pid %d)",
					       name, (int)other.pid);
			else
				ret = err_setx(-EEXIST, "a VM named %s is already running", name);
			goto fail;
		}
		if (same_file(fd, c->lock_path)) {
			c->lock_fd = fd;
			break;
		}
		/* a cleaner removed the file between our open and flock: take the new one */
		close(fd);
		if (tries == CLAIM_RETRIES) {
			ret = err_setx(-EAGAIN, "could not lock %s", c->lock_path);
			goto fail;
		}
	}
	/* the lock is ours: whatever else is there belongs to a dead VM */
	remove_files(dir, name);
	c->e.pid = getpid();
	c->e.created = (uint64_t)time(NULL);
	ret = registry_proc_start_time(c->e.pid, &c->e.start_time);
	if (!ret)
		ret = write_json(c->json_path, &c->e);
	if (ret)
		goto fail;
	return 0;
fail:
	registry_release(c);
	return ret;
}

int registry_update_pid(struct registry_claim *c)
{
	int ret;

	if (c->lock_fd < 0 || !c->json_path[0])
		return err_setx(-EINVAL, "no registry claim");
	c->e.pid = getpid();
	ret = registry_proc_start_time(c->e.pid, &c->e.start_time);
	if (ret)
		return ret;
	return write_json(c->json_path, &c->e);
}

void registry_release(struct registry_claim *c)
{
	/* json_path is empty in a zeroed or failed claim (and lock_fd 0 is not ours then) */
	if (c->json_path[0] && c->lock_fd >= 0) {
		(void)unlink(c->json_path);
		(void)unlink(c->e.api);
		(void)unlink(c->e.console);
		(void)unlink(c->lock_path); /* last: it keeps cleaners and claimers out meanwhile */
		close(c->lock_fd);
	}
	memset(c, 0, sizeof(*c));
	c->lock_fd = -1;
}

/* Look name up in dir; 0 and *e if alive, else -ENOENT (stale files removed). */
static int find_in(const char *dir, const char *name, struct registry_entry *e)
{
	char lock_path[REGISTRY_PATH_MAX], json_path[REGISTRY_PATH_MAX];
	int fd, ret;

	memset(e, 0, sizeof(*e));
	ret = fill_paths(e, dir, name);
	if (!ret)
		ret = make_path(lock_path, sizeof(lock_path), dir, name, "lock");
	if (!ret)
		ret = make_path(json_path, sizeof(json_path), dir, name, "json");
	if (ret)
		return ret;
	fd = open(lock_path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return err_setx(-ENOENT, "no VM named '%s'", name);
	if (!flock(fd, LOCK_EX | LOCK_NB)) {
		/* nobody holds it: the VM is dead.  Holding the lock, clean up. */
		if (same_file(fd, lock_path)) {
			remove_files(dir, name);
			(void)unlink(lock_path);
		}
		close(fd);
		return err_setx(-ENOENT, "no VM named '%s'", name);
	}
	close(fd);
	/*
	 * Held: a live VMM, or a claimer that has not written NAME.json yet, or a
	 * cleaner at work.  Only a recorded pid with its recorded start time
	 * counts; a reused pid does not.
	 */
	if (read_json(json_path, e) || !entry_alive(e)) {
		fill_paths(e, dir, name);
		e->pid = 0;
		return err_setx(-ENOENT, "no VM named '%s'", name);
	}
	return 0;
}

int registry_find(const char *name, struct registry_entry *e)
{
	char dir[REGISTRY_PATH_MAX];
	int ret;

	ret = registry_check_name(name);
	if (ret)
		return ret == -EINVAL ? err_setx(-ENOENT, "no VM named '%s'", name) : ret;
	ret = registry_dir(dir, sizeof(dir));
	if (ret)
		return ret;
	return find_in(dir, name, e);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct registry_entry *)a)->name,
		      ((const struct registry_entry *)b)->name);
}

int registry_generate_name(char *buf, size_t len)
{
	for (int tries = 0; tries < 64; tries++) {
		struct registry_entry e;
		uint8_t r[4];
		int n;

		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			return err_set(-errno, "getrandom");
		n = snprintf(buf, len, "%s-%s-%02x%02x", adjectives[r[0] % ARRAY_SIZE(adjectives)],
			     nouns[r[1] % ARRAY_SIZE(nouns)], r[2], r[3]);
		if (n < 0 || (size_t)n >= len)
			return err_setx(-ENAMETOOLONG, "name buffer too small");
		if (registry_find(buf, &e) == -ENOENT) {
			err_clear();
			return 0;
		}
	}
	return err_setx(-EAGAIN, "could not find an unused VM name");
}

int registry_list(struct registry_entry **out, size_t *n)
{
	char dir[REGISTRY_PATH_MAX];
	struct registry_entry *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *d;
	DIR *dp;
	int ret, dfd;

	*out = NULL;
	*n = 0;
	ret = registry_dir(dir, sizeof(dir));
	if (ret)
		return ret;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return err_set(-errno, "open %s", dir);
	dp = fdopendir(dfd);
	if (!dp) {
		ret = err_set(-errno, "open %s", dir);
		close(dfd);
		return ret;
	}
	while ((d = readdir(dp))) {
		char name[REGISTRY_NAME_MAX + 1];
		size_t len = strlen(d->d_name);

		if (len <= 5 || len - 5 > REGISTRY_NAME_MAX || strcmp(d->d_name + len - 5, ".lock"))
			continue;
		memcpy(name, d->d_name, len - 5);
		name[len - 5] = '\0';
		if (registry_check_name(name))
			continue;
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct registry_entry *nv = realloc(v, ncap * sizeof(*v));

			if (!nv) {
				ret = err_setx(-ENOMEM, "out of memory");
				goto fail;
			}
			v = nv;
			cap = ncap;
		}
		if (!find_in(dir, name, &v[cnt]))
			cnt++;
	}
	closedir(dp);
	err_clear();
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_entry);
	else {
		free(v);
		v = NULL;
	}
	*out = v;
	*n = cnt;
	return 0;
fail:
	closedir(dp);
	free(v);
	return ret;
}
