// SPDX-License-Identifier: Apache-2.0
/*
 * clone rootfs create (see rootfs.h).  Stages: fetch/unpack into
 * WORK/root, make it a Clone guest, size check, mkfs.ext4 -d, qcow2,
 * rename.  WORK is OUTDIR/.NAME.build-XXXXXX and is removed on every exit
 * path; SIGINT/SIGTERM/SIGHUP only set a flag that the stages check, so an
 * interrupted build cleans up too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "block/disk.h"
#include "boot/agent_blob.h"
#include "boot/kernel.h"
#include "lib/err.h"
#include "lib/util.h"
#include "lib/zstream.h"
#include "oci.h"
#include "rootfs.h"
#include "tar.h"

#define MIB_F (1024.0 * 1024.0)
#define AGENT_PATH "usr/local/sbin/clone-agent"
#define DEFAULT_HOSTNAME "clone"
#define DEBIAN_MIRROR "http://deb.debian.org/debian"
#define UBUNTU_MIRROR "http://archive.ubuntu.com/ubuntu"
#define ALPINE_MIRROR "https://dl-cdn.alpinelinux.org/alpine"
#define UBUNTU_KEYRING "/usr/share/keyrings/ubuntu-archive-keyring.gpg"

static volatile sig_atomic_t interrupted;
/* The child process running now (one at a time), the leader of its own group. */
static volatile pid_t running_child;

struct build {
	const struct rootfs_opts *o;
	char work[PATH_MAX], root[PATH_MAX + 8], image[PATH_MAX + 16];
	int rootfd;
	unsigned stage, stages;
	const char *distro_desc;
	/* progress bar */
	const char *bar_label;
	uint64_t bar_total;
	struct timespec bar_last;
};

/* ---- distributions ---- */

static const struct {
	const char *distro, *def, *releases[8];
} distros[] = {
	{ "debian", "bookworm", { "bookworm", "bullseye", "trixie", "sid", "12", "11", "13" } },
	{ "ubuntu", "jammy", { "jammy", "noble", "focal" } },
	{ "alpine", "3.20", { NULL } }, /* any N.N */
};

const char *rootfs_default_release(const char *distro)
{
	for (size_t i = 0; i < ARRAY_SIZE(distros); i++)
		if (!strcmp(distro, distros[i].distro))
			return distros[i].def;
	return NULL;
}

int rootfs_check_release(const char *distro, const char *release)
{
	unsigned a, b;
	char tail;

	if (!rootfs_default_release(distro))
		return err_setx(-EINVAL, "unknown distro %s: debian, ubuntu or alpine", distro);
	if (!strcmp(distro, "alpine")) {
		if (sscanf(release, "%u.%u%c", &a, &b, &tail) != 2 || a < 3 || a > 9)
			return err_setx(-EINVAL, "unknown alpine release %s: give one like 3.20",
					release);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(distros); i++) {
		if (strcmp(distro, distros[i].distro))
			continue;
		for (size_t k = 0; k < ARRAY_SIZE(distros[i].releases) && distros[i].releases[k];
		     k++)
			if (!strcmp(release, distros[i].releases[k]))
				return 0;
	}
	return err_setx(-EINVAL, "unknown %s release %s (%s)", distro, release,
			!strcmp(distro, "debian") ? "bookworm, bullseye, trixie or sid"
						  : "jammy, noble or focal");
}

static const char *debian_codename(const char *r)
{
	return !strcmp(r, "12")	  ? "bookworm"
	       : !strcmp(r, "11") ? "bullseye"
	       : !strcmp(r, "13") ? "trixie"
				  : r;
}

/* A "URIs:" (deb822) or "deb URI suite" (one-line) source that serves Debian. */
static bool mirror_from_line(const char *line, char *buf, size_t len)
{
	char uri[512];

	if (sscanf(line, " URIs: %511s", uri) == 1 ||
	    sscanf(line, " deb [%*[^]]] %511s", uri) == 1 ||
	    (sscanf(line, " deb %511s", uri) == 1 && uri[0] != '[')) {
		size_t n = strlen(uri);

		while (n && uri[n - 1] == '/')
			uri[--n] = '\0';
		/* The main archive, not debian-security or a third party's. */
		if ((!strncmp(uri, "http://", 7) || !strncmp(uri, "https://", 8)) && n > 7 &&
		    !strcmp(uri + n - 7, "/debian")) {
			snprintf(buf, len, "%s", uri);
			return true;
		}
	}
	return false;
}

static bool mirror_from_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = line[0] != '#' && mirror_from_line(line, buf, len);
	fclose(f);
	return found;
}

void rootfs_debian_mirror(const char *sources_dir, const char *sources_list, char *buf, size_t len)
{
	struct dirent **names;
	bool found;
	int n;

	snprintf(buf, len, "%s", DEBIAN_MIRROR);
	found = mirror_from_file(sources_list, buf, len);
	n = scandir(sources_dir, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		const char *e = strrchr(names[i]->d_name, '.');
		char path[PATH_MAX];

		if (!found && e && (!strcmp(e, ".sources") || !strcmp(e, ".list"))) {
			snprintf(path, sizeof(path), "%s/%s", sources_dir, names[i]->d_name);
			found = mirror_from_file(path, buf, len);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

int rootfs_alpine_release(const char *yaml, char *file, size_t flen, char sha256[65])
{
	const char *p = yaml;
	char cur_file[256] = "", cur_sha[65] = "";
	bool mini = false;

	/* Items start with "-"; keys are "  key: value" lines. */
	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char line[512], v[300];

		snprintf(line, sizeof(line), "%.*s",
			 (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1), p);
		if (line[0] == '-' || !nl) {
			if (!nl) {
				if (sscanf(line, " file: %299s", v) == 1)
					snprintf(cur_file, sizeof(cur_file), "%.255s", v);
				else if (sscanf(line, " sha256: %64s", v) == 1)
					snprintf(cur_sha, sizeof(cur_sha), "%.64s", v);
				else if (sscanf(line, " flavor: %299s", v) == 1)
					mini = !strcmp(v, "alpine-minirootfs");
			}
			if (mini && cur_file[0] && strlen(cur_sha) == 64)
				break;
			mini = false;
			cur_file[0] = cur_sha[0] = '\0';
			if (!nl)
				return err_setx(-ENOENT,
						"latest-releases.yaml lists no alpine-minirootfs");
		} else if (sscanf(line, " file: %299s", v) == 1) {
			snprintf(cur_file, sizeof(cur_file), "%.255s", v);
		} else if (sscanf(line, " sha256: %64s", v) == 1) {
			snprintf(cur_sha, sizeof(cur_sha), "%.64s", v);
		} else if (sscanf(line, " flavor: %299s", v) == 1) {
			mini = !strcmp(v, "alpine-minirootfs");
		}
		p = nl + 1;
	}
	for (const char *c = cur_file; *c; c++)
		if (*c == '/' || *c == '\\')
			return err_setx(-EINVAL, "latest-releases.yaml names a bad file %s",
					cur_file);
	for (unsigned i = 0; i < 64; i++)
		if (!strchr("0123456789abcdef", cur_sha[i]))
			return err_setx(-EINVAL, "latest-releases.yaml has a bad sha256");
	snprintf(file, flen, "%s", cur_file);
	memcpy(sha256, cur_sha, 65);
	return 0;
}

/* ---- progress ---- */

static void stage(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void stage(struct build *b, const char *fmt, ...)
{
	va_list ap;

	b->stage++;
	fprintf(stderr, "clone rootfs: [%u/%u] ", b->stage, b->stages);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void bar_start(struct build *b, const char *label, uint64_t total)
{
	b->bar_label = label;
	b->bar_total = total;
	memset(&b->bar_last, 0, sizeof(b->bar_last));
}

static void bar_draw(struct build *b, uint64_t done, bool last)
{
	struct timespec now;
	char bar[31];
	unsigned fill;

	if (!b->o->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!last &&
	    (now.tv_sec - b->bar_last.tv_sec) * 1000000000L + (now.tv_nsec - b->bar_last.tv_nsec) <
		    100000000L)
		return;
	b->bar_last = now;
	if (b->bar_total) {
		if (done > b->bar_total)
			done = b->bar_total;
		fill = (unsigned)(done * 30 / b->bar_total);
		memset(bar, '#', fill);
		memset(bar + fill, '.', 30 - fill);
		bar[30] = '\0';
		fprintf(stderr, "\r  %-22.22s [%s] %3u%% %7.1f/%.1f MiB", b->bar_label, bar,
			(unsigned)(done * 100 / b->bar_total), done / MIB_F, b->bar_total / MIB_F);
	} else {
		fprintf(stderr, "\r  %-22.22s %7.1f MiB", b->bar_label, done / MIB_F);
	}
	if (last)
		fputc('\n', stderr);
}

static void on_tar(void *opaque, uint64_t consumed)
{
	bar_draw(opaque, consumed, false);
}

static void on_oci(void *opaque, unsigned layer, unsigned nr, uint64_t done, uint64_t total)
{
	struct build *b = opaque;
	static char label[32];

	snprintf(label, sizeof(label), "layer %u/%u", layer + 1, nr);
	if (b->bar_label != label || b->bar_total != total)
		bar_start(b, label, total);
	bar_draw(b, done, done >= total);
}

/* ---- child processes ---- */

#define RUN_TAIL 2048

/*
 * Run argv; stdin from in_fd (-1: /dev/null), stdout to out_fd (-1: with
 * stderr into a pipe whose last lines make the error message).  status:
 * show the latest output line on the progress line.  0 if it exited 0;
 * else -EIO with "NAME failed: LAST LINE" set.
 */
/*
 * Start argv with stdin, stdout and stderr from in_fd, out_fd, err_fd (-1:
 * /dev/null for stdin, ours for the others) and the default SIGINT/SIGTERM,
 * in a process group of its own: the build notes a signal and passes it on
 * to that group (debootstrap, apt-get and dpkg below it stop with it).  The
 * pid, or -errno with the message set.
 */
static pid_t spawn(char *const argv[], int in_fd, int out_fd, int err_fd)
{
	pid_t pid = fork();

	if (pid < 0)
		return err_set(-errno, "fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		dup2(in_fd >= 0 ? in_fd : null, 0);
		if (out_fd >= 0)
			dup2(out_fd, 1);
		if (err_fd >= 0)
			dup2(err_fd, 2);
		execvp(argv[0], argv);
		dprintf(2, "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid); /* also here: a signal may come before the child runs */
	running_child = pid;
	if (interrupted)
		kill(-pid, SIGTERM);
	return pid;
}

/* Wait for pid: 0 if it exited 0, else its exit status (128 + signal), or -errno. */
static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			running_child = 0;
			return err_set(-errno, "waitpid");
		}
	running_child = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run(struct build *b, char *const argv[], int in_fd, int out_fd, bool status)
{
	char tail[RUN_TAIL] = "";
	size_t tail_len = 0;
	int pfd[2], code;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_set(-errno, "pipe");
	pid = spawn(argv, in_fd, out_fd >= 0 ? out_fd : pfd[1], pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return (int)pid;
	}
	close(pfd[1]);
	for (;;) {
		char buf[4096];
		ssize_t n = read(pfd[0], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		/* Keep the tail of the output for the error message. */
		if ((size_t)n >= sizeof(tail) - 1) {
			memcpy(tail, buf + n - (sizeof(tail) - 1), sizeof(tail) - 1);
			tail_len = sizeof(tail) - 1;
		} else {
			if (tail_len + (size_t)n >= sizeof(tail)) {
				size_t drop = tail_len + (size_t)n - (sizeof(tail) - 1);

				memmove(tail, tail + drop, tail_len - drop);
				tail_len -= drop;
			}
			memcpy(tail + tail_len, buf, (size_t)n);
			tail_len += (size_t)n;
		}
		tail[tail_len] = '\0';
		if (status && b->o->progress) {
			char *end = tail + tail_len, *line;

			while (end > tail && (end[-1] == '\n' || end[-1] == '\r'))
				end--;
			line = end;
			while (line > tail && line[-1] != '\n')
				line--;
			fprintf(stderr, "\r\033[K  %.*s", (int)(end - line < 70 ? end - line : 70),
				line);
		}
	}
	close(pfd[0]);
	code = reap(pid);
	if (status && b->o->progress)
		fputs("\r\033[K", stderr);
	if (code <= 0)
		return code;
	{
		/* The last non-empty line. */
		char *end = tail + tail_len, *line;

		while (end > tail && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
			end--;
		*end = '\0';
		line = strrchr(tail, '\n');
		line = line ? line + 1 : tail;
		if (interrupted)
			return err_setx(-EINTR, "interrupted");
		if (code > 128)
			return err_setx(-EIO, "%s was killed by signal %d", argv[0], code - 128);
		return err_setx(-EIO, "%s failed%s%s", argv[0], line[0] ? ": " : "", line);
	}
}

static bool have_tool(const char *name)
{
	const char *path = getenv("PATH");
	char dir[PATH_MAX], buf[PATH_MAX + 64];
	const char *p = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";

	while (*p) {
		size_t n = strcspn(p, ":");

		snprintf(dir, sizeof(dir), "%.*s", (int)n, p);
		snprintf(buf, sizeof(buf), "%s/%s", dir, name);
		if (access(buf, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

/* debootstrap, mkfs.ext4 and chroot live in sbin, which a user's PATH may lack. */
static void path_with_sbin(void)
{
	const char *path = getenv("PATH");
	char buf[8192];

	if (!path) {
		setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
		return;
	}
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, ":");

		if (n == strlen("/usr/sbin") && !strncmp(p, "/usr/sbin", n))
			return;
		p += n + (p[n] == ':');
	}
	if ((size_t)snprintf(buf, sizeof(buf), "%s:/usr/sbin:/sbin", path) < sizeof(buf))
		setenv("PATH", buf, 1);
}

/* ---- files inside the root ---- */

static int put_file(struct build *b, const char *path, const void *data, size_t len, mode_t mode)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int dfd, fd, ret = 0;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 0, path);
	dfd = inroot_dir(b->rootfd, dir, true);
	if (dfd < 0)
		return err_set(dfd, "image directory /%s", dir);
	(void)unlinkat(dfd, base, 0);
	fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		ret = err_set(-errno, "create /%s in the image", path);
	else if (write(fd, data, len) != (ssize_t)len)
		ret = err_set(-EIO, "write /%s in the image", path);
	if (fd >= 0) {
		if (!ret && (fchmod(fd, mode) < 0 || fchown(fd, 0, 0) < 0))
			ret = err_set(-errno, "chmod /%s", path);
		close(fd);
	}
	close(dfd);
	return ret;
}

static int put_text(struct build *b, const char *path, const char *text)
{
	return put_file(b, path, text, strlen(text), 0644);
}

static int put_link(struct build *b, const char *path, const char *target)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int dfd, ret = 0;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 0, path);
	dfd = inroot_dir(b->rootfd, dir, true);
	if (dfd < 0)
		return err_set(dfd, "image directory /%s", dir);
	(void)unlinkat(dfd, slash ? slash + 1 : path, 0);
	if (symlinkat(target, dfd, slash ? slash + 1 : path) < 0)
		ret = err_set(-errno, "symlink /%s", path);
	close(dfd);
	return ret;
}

/* Whether path exists in the image (resolved inside it; symlinks followed). */
static bool in_image(struct build *b, const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;
	int dfd;
	bool ok;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 0, path);
	dfd = inroot_dir(b->rootfd, dir, false);
	if (dfd < 0)
		return false;
	ok = fstatat(dfd, slash ? slash + 1 : path, &st, AT_SYMLINK_NOFOLLOW) == 0;
	close(dfd);
	return ok;
}

/* Read a small file of the image (NUL-terminated, ≤ max bytes) or NULL. */
static char *read_image_file(struct build *b, const char *path, size_t max)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	char *buf;
	ssize_t n;
	int dfd, fd;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 0, path);
	dfd = inroot_dir(b->rootfd, dir, false);
	if (dfd < 0)
		return NULL;
	fd = openat(dfd, slash ? slash + 1 : path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return NULL;
	buf = malloc(max + 1);
	n = buf ? read(fd, buf, max) : -1;
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* ---- sources ---- */

/* Unpack the tarball on fd under rootfd (the image's root, or another directory in the work tree). */
static int extract_fd(struct build *b, int rootfd, int fd, const char *what, uint64_t total)
{
	struct zstream *z;
	int ret = zs_open(fd, what, &z);

	if (ret)
		return ret;
	bar_start(b, what, total);
	ret = tar_extract(z, what, rootfd, 0, NULL, on_tar, b);
	if (!ret)
		bar_draw(b, total ? total : zs_consumed(z), true);
	zs_close(z);
	return ret;
}

static int extract_file(struct build *b, int rootfd, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;
	const char *base = strrchr(path, '/');

	if (fd < 0)
		return err_set(-errno, "%s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_setx(-EINVAL, "%s is not a regular file", path);
	}
	ret = extract_fd(b, rootfd, fd, base ? base + 1 : path, (uint64_t)st.st_size);
	close(fd);
	if (ret && (ret == -EBADMSG || ret == -ENOTSUP))
		return err_setx(ret, "%s is not a usable tarball: %s", path, err_msg());
	return ret;
}

/* Stream a command's tar output (tar -c, docker export) into the root. */
static int extract_command(struct build *b, int rootfd, char *const argv[], const char *what,
			   uint64_t total)
{
	int pfd[2], ret, code;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_set(-errno, "pipe");
	pid = spawn(argv, -1, pfd[1], -1);
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return (int)pid;
	}
	ret = extract_fd(b, rootfd, pfd[0], what, total);
	close(pfd[0]); /* a writer still going gets EPIPE */
	code = reap(pid);
	if (!ret && code)
		ret = code < 0 ? code : err_setx(-EIO, "%s failed (exit status %d)", argv[0], code);
	return ret;
}

/* What a tree holds: bytes of regular files (progress), blocks and inodes (the size check). */
struct usage {
	uint64_t bytes, allocated, inodes;
};

static struct usage walked; /* nftw() has no context pointer */

static int add_usage(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p;
	(void)f;
	if (flag == FTW_F)
		walked.bytes += (uint64_t)st->st_size;
	walked.allocated += (uint64_t)st->st_blocks * 512;
	walked.inodes++;
	return interrupted ? 1 : 0;
}

static struct usage tree_usage(const char *dir)
{
	memset(&walked, 0, sizeof(walked));
	nftw(dir, add_usage, 64, FTW_PHYS | FTW_MOUNT);
	return walked;
}

static int from_dir(struct build *b, const char *dir)
{
	char *argv[] = { "tar", "--numeric-owner", "--xattrs", "-C", (char *)dir, "-cf", "-", ".",
			 NULL };
	struct stat st;

	if (stat(dir, &st) < 0)
		return err_set(-errno, "--from-dir %s", dir);
	if (!S_ISDIR(st.st_mode))
		return err_setx(-ENOTDIR, "--from-dir %s is not a directory", dir);
	stage(b, "copying %s", dir);
	return extract_command(b, b->rootfd, argv, "copying", tree_usage(dir).bytes);
}

static int from_oci(struct build *b, const char *spec)
{
	char path[PATH_MAX], layout[PATH_MAX + 16];
	const char *ref = NULL;
	struct stat st;
	char *colon;
	int ret;

	snprintf(path, sizeof(path), "%s", spec);
	/* PATH:REF names an image of the layout, as skopeo's oci: transport does. */
	if (stat(path, &st) < 0 && (colon = strrchr(path, ':'))) {
		*colon = '\0';
		ref = spec + (colon - path) + 1;
	}
	if (stat(path, &st) < 0)
		return err_set(-errno, "--from-oci %s", path);
	snprintf(layout, sizeof(layout), "%s", path);
	if (S_ISREG(st.st_mode)) {
		/* A tarball of a layout (docker save, skopeo oci-archive): unpack it first. */
		int fd;

		snprintf(layout, sizeof(layout), "%s/oci", b->work);
		if (mkdir(layout, 0700) < 0)
			return err_set(-errno, "%s", layout);
		fd = open(layout, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return err_set(-errno, "%s", layout);
		stage(b, "unpacking the OCI archive %s", path);
		ret = extract_file(b, fd, path);
		close(fd);
		if (ret)
			return ret;
	} else {
		stage(b, "reading the OCI layout %s", path);
	}
	ret = oci_unpack(layout, ref, b->rootfd, on_oci, b);
	if (ret)
		return err_setx(ret, "--from-oci %s: %s", spec, err_msg());
	return 0;
}

/*
 * `ENGINE create IMAGE` into idfile; -ENOTCONN (message set) when the
 * engine is installed but does not run (docker without its daemon).
 */
static int engine_create(struct build *b, const char *engine, const char *image, const char *idfile,
			 char *id, size_t idlen)
{
	char *argv[] = { (char *)engine, "create", (char *)image, "/bin/true", NULL };
	int fd = open(idfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), ret;
	FILE *f;

	if (fd < 0)
		return err_set(-errno, "%s", idfile);
	ret = run(b, argv, -1, fd, false);
	close(fd);
	if (ret) {
		if (strstr(err_msg(), "connect") || strstr(err_msg(), "daemon") ||
		    strstr(err_msg(), "socket"))
			return err_setx(-ENOTCONN, "no %s engine runs here (%s)", engine,
					err_msg());
		return ret;
	}
	f = fopen(idfile, "re");
	if (!f || !fgets(id, (int)idlen, f)) {
		if (f)
			fclose(f);
		return err_setx(-EIO, "%s create printed no container id", engine);
	}
	fclose(f);
	id[strcspn(id, "\r\n")] = '\0';
	return 0;
}

/*
 * --from-docker: the engine's export of a container created from IMAGE (never
 * started).  --engine picks docker or podman; otherwise docker if it runs,
 * else podman (a docker CLI whose daemon is down is common beside podman).
 */
static int from_docker(struct build *b, const char *image)
{
	const char *engines[2], *engine = NULL;
	char id[128] = "", idfile[PATH_MAX + 32];
	int n = 0, ret = -ENOENT;

	if (b->o->engine) {
		if (!have_tool(b->o->engine))
			return err_setx(-ENOENT, "--engine %s: %s is not installed", b->o->engine,
					b->o->engine);
		engines[n++] = b->o->engine;
	} else {
		if (have_tool("docker"))
			engines[n++] = "docker";
		if (have_tool("podman"))
			engines[n++] = "podman";
		if (!n)
			return err_setx(
				-ENOENT,
				"--from-docker needs Docker or Podman: neither is installed");
	}
	snprintf(idfile, sizeof(idfile), "%s/container-id", b->work);
	stage(b, "exporting %s through %s", image, engines[0]);
	for (int i = 0; i < n; i++) {
		engine = engines[i];
		ret = engine_create(b, engine, image, idfile, id, sizeof(id));
		if (ret != -ENOTCONN || i + 1 == n)
			break;
		fprintf(stderr, "clone rootfs: %s; exporting through %s instead\n", err_msg(),
			engines[i + 1]);
	}
	if (ret)
		return ret;
	{
		char *argv[] = { (char *)engine, "export", id, NULL };
		char *rm[] = { (char *)engine, "rm", "-f", id, NULL };

		ret = extract_command(b, b->rootfd, argv, "export", 0);
		if (run(b, rm, -1, -1, false) && !ret)
			fprintf(stderr, "clone rootfs: warning: %s rm %s failed\n", engine, id);
	}
	return ret;
}

static bool has_package(const char *list, const char *pkg)
{
	size_t n = strlen(pkg);

	for (const char *p = list; p && *p;) {
		size_t k = strcspn(p, ",");

		if (k == n && !strncmp(p, pkg, n))
			return true;
		p += k + (p[k] == ',');
	}
	return false;
}

/*
 * --packages through apt-get in the new root (debootstrap's own --include
 * resolves dependencies poorly): /proc mounted in a private mount
 * namespace that dies with the command, daemons kept from starting by a
 * policy-rc.d that is removed afterwards.
 */
static int apt_install(struct build *b)
{
	static const char script[] =
		"mount -t proc proc \"$0/proc\" && exec chroot \"$0\" apt-get -q -y "
		"--no-install-recommends -o Dpkg::Use-Pty=0 install \"$@\"";
	static const char policy[] = "#!/bin/sh\n# clone rootfs create: no daemons while "
				     "installing\nexit 101\n";
	char pkgs[4096], *save, *p;
	char *argv[80];
	int n = 0, ret, ret2;

	snprintf(pkgs, sizeof(pkgs), "%s", b->o->packages);
	stage(b, "apt-get install %s", b->o->packages);
	ret = put_file(b, "usr/sbin/policy-rc.d", policy, sizeof(policy) - 1, 0755);
	if (ret)
		return ret;
	argv[n++] = "unshare";
	argv[n++] = "--mount";
	argv[n++] = "--propagation";
	argv[n++] = "private";
	argv[n++] = "--";
	argv[n++] = "sh";
	argv[n++] = "-c";
	argv[n++] = (char *)script;
	argv[n++] = b->root;
	for (p = strtok_r(pkgs, ",", &save); p && n < 78; p = strtok_r(NULL, ",", &save))
		argv[n++] = p;
	argv[n] = NULL;
	setenv("DEBIAN_FRONTEND", "noninteractive", 1);
	ret = run(b, argv, -1, -1, true);
	ret2 = inroot_remove(b->rootfd, "usr/sbin/policy-rc.d");
	if (!ret && ret2)
		ret = err_set(ret2, "remove policy-rc.d");
	if (!ret) {
		char *clean[] = { "chroot", b->root, "apt-get", "clean", NULL };

		ret = run(b, clean, -1, -1, false);
	}
	return ret;
}

static int debootstrap(struct build *b, const char *distro, const char *release)
{
	const struct rootfs_opts *o = b->o;
	char mirror[512], include[4096], keyring[PATH_MAX + 16] = "";
	char *argv[16];
	int n = 0, ret;
	bool ubuntu = !strcmp(distro, "ubuntu");

	if (!have_tool("debootstrap"))
		return err_setx(-ENOENT,
				"--distro %s needs debootstrap: apt-get install debootstrap",
				distro);
	if (o->keyring) {
		if (access(o->keyring, R_OK))
			return err_set(-errno, "--keyring %s", o->keyring);
		snprintf(keyring, sizeof(keyring), "--keyring=%s", o->keyring);
	} else if (ubuntu) {
		/* Debian has Ubuntu's keyring package from trixie on only. */
		if (access(UBUNTU_KEYRING, R_OK))
			return err_setx(-ENOENT,
					"--distro ubuntu needs Ubuntu's archive keyring: give "
					"--keyring FILE (ubuntu-archive-keyring.gpg of the "
					"ubuntu-keyring package) or install ubuntu-keyring");
		snprintf(keyring, sizeof(keyring), "--keyring=%s", UBUNTU_KEYRING);
	}
	if (o->mirror)
		snprintf(mirror, sizeof(mirror), "%s", o->mirror);
	else if (ubuntu)
		snprintf(mirror, sizeof(mirror), "%s", UBUNTU_MIRROR);
	else
		rootfs_debian_mirror("/etc/apt/sources.list.d", "/etc/apt/sources.list", mirror,
				     sizeof(mirror));
	/* An init, device management, the tools the agent and a login need. */
	snprintf(include, sizeof(include), "--include=systemd-sysv,udev,iproute2,kmod,procps%s",
		 o->ssh_key && !has_package(o->packages, "openssh-server") ? ",openssh-server"
									   : "");
	argv[n++] = "debootstrap";
	argv[n++] = "--variant=minbase";
	argv[n++] = include;
	argv[n++] = ubuntu ? "--components=main,universe" : "--components=main";
	if (keyring[0])
		argv[n++] = keyring;
	argv[n++] = (char *)release;
	argv[n++] = b->root;
	argv[n++] = mirror;
	argv[n] = NULL;
	stage(b, "debootstrap %s %s from %s", distro, release, mirror);
	ret = run(b, argv, -1, -1, true);
	if (!ret && o->packages)
		ret = apt_install(b);
	if (ret)
		return ret;
	/* The packages' downloads are not part of the image. */
	{
		int fd = inroot_dir(b->rootfd, "var/cache/apt/archives", false);

		if (fd >= 0) {
			DIR *d = fdopendir(openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
			struct dirent *de;

			while (d && (de = readdir(d)))
				if (strstr(de->d_name, ".deb"))
					(void)unlinkat(dirfd(d), de->d_name, 0);
			if (d)
				closedir(d);
			close(fd);
		}
	}
	return 0;
}

static int sha256_file(const char *path, char hex[65])
{
	static const char h[] = "0123456789abcdef";
	struct sha256_ctx c;
	uint8_t buf[1 << 16], d[SHA256_DIGEST_SIZE];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return err_set(-errno, "%s", path);
	sha256_init(&c);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sha256_update(&c, (size_t)n, buf);
	close(fd);
	if (n < 0)
		return err_set(-errno, "read %s", path);
	sha256_digest(&c, sizeof(d), d);
	for (unsigned i = 0; i < sizeof(d); i++) {
		hex[2 * i] = h[d[i] >> 4];
		hex[2 * i + 1] = h[d[i] & 15];
	}
	hex[64] = '\0';
	return 0;
}

static int download(struct build *b, const char *url, const char *dest)
{
	char *argv[] = { "curl",      "-f",
			 "-L",	      "--retry",
			 "2",	      "--connect-timeout",
			 "20",	      b->o->progress ? "--progress-bar" : "-sS",
			 "-o",	      (char *)dest,
			 (char *)url, NULL };
	int ret;

	if (!have_tool("curl"))
		return err_setx(-ENOENT, "downloading needs curl: apt-get install curl");
	if (b->o->progress) {
		/* curl draws its own bar on the terminal. */
		pid_t pid = spawn(argv, -1, -1, -1);
		int code = pid < 0 ? (int)pid : reap(pid);

		if (code <= 0)
			return code;
		return err_setx(-EIO, "download of %s failed (curl exit status %d)", url, code);
	}
	ret = run(b, argv, -1, -1, false);
	if (ret)
		return err_setx(ret, "download of %s failed: %s", url, err_msg());
	return 0;
}

static int alpine(struct build *b, const char *release)
{
	const char *mirror = b->o->mirror ? b->o->mirror : ALPINE_MIRROR;
	char url[1024], yaml_path[PATH_MAX + 32], tar_path[PATH_MAX + 300], file[256], sha[65],
		got[65];
	char *yaml;
	int ret, fd;
	ssize_t n;

	stage(b, "downloading Alpine %s's minirootfs from %s", release, mirror);
	snprintf(url, sizeof(url), "%s/v%s/releases/x86_64/latest-releases.yaml", mirror, release);
	snprintf(yaml_path, sizeof(yaml_path), "%s/latest-releases.yaml", b->work);
	ret = download(b, url, yaml_path);
	if (ret)
		return ret;
	fd = open(yaml_path, O_RDONLY | O_CLOEXEC);
	yaml = malloc(1 << 20);
	n = fd >= 0 && yaml ? read(fd, yaml, (1 << 20) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		free(yaml);
		return err_setx(-EIO, "cannot read %s", yaml_path);
	}
	yaml[n] = '\0';
	ret = rootfs_alpine_release(yaml, file, sizeof(file), sha);
	free(yaml);
	if (ret)
		return err_setx(ret, "%s: %s", url, err_msg());
	snprintf(url, sizeof(url), "%s/v%s/releases/x86_64/%s", mirror, release, file);
	snprintf(tar_path, sizeof(tar_path), "%s/%s", b->work, file);
	ret = download(b, url, tar_path);
	if (!ret)
		ret = sha256_file(tar_path, got);
	if (!ret && strcmp(got, sha))
		ret = err_setx(-EBADMSG, "%s: sha256 %s, but latest-releases.yaml says %s", file,
			       got, sha);
	if (ret)
		return ret;
	stage(b, "unpacking %s (sha256 verified)", file);
	ret = extract_file(b, b->rootfd, tar_path);
	unlink(tar_path);
	return ret;
}

/* apk add inside the image (Alpine), with the host's resolver. */
static int alpine_packages(struct build *b)
{
	char *argv[64];
	char pkgs[4096];
	int n = 0;
	char *save, *p;
	char *resolv = NULL;
	FILE *f;

	if (!b->o->packages && !b->o->ssh_key)
		return 0;
	snprintf(pkgs, sizeof(pkgs), "%s%s%s", b->o->packages ? b->o->packages : "",
		 b->o->packages && b->o->ssh_key ? "," : "", b->o->ssh_key ? "openssh" : "");
	stage(b, "apk add %s", pkgs);
	f = fopen("/etc/resolv.conf", "re");
	if (f) {
		char buf[4096];
		size_t k = fread(buf, 1, sizeof(buf) - 1, f);

		buf[k] = '\0';
		fclose(f);
		resolv = strdup(buf);
	}
	if (resolv && put_text(b, "etc/resolv.conf", resolv)) {
		free(resolv);
		return -EIO;
	}
	free(resolv);
	argv[n++] = "chroot";
	argv[n++] = b->root;
	argv[n++] = "/sbin/apk";
	argv[n++] = "add";
	argv[n++] = "--no-cache";
	for (p = strtok_r(pkgs, ",", &save); p && n < 62; p = strtok_r(NULL, ",", &save))
		argv[n++] = p;
	argv[n] = NULL;
	return run(b, argv, -1, -1, true);
}

static int from_distro(struct build *b)
{
	const char *distro = b->o->distro;
	const char *release = b->o->release ? b->o->release : rootfs_default_release(distro);

	if (!strcmp(distro, "alpine")) {
		int ret = alpine(b, release);

		return ret ? ret : alpine_packages(b);
	}
	return debootstrap(b, distro,
			   !strcmp(distro, "debian") ? debian_codename(release) : release);
}

/* ---- making it a Clone guest ---- */

static const char agent_unit[] = "[Unit]\n"
				 "Description=Clone guest agent (clone exec, identity, activity)\n"
				 "DefaultDependencies=no\n"
				 "After=local-fs.target\n"
				 "\n"
				 "[Service]\n"
				 "ExecStart=/" AGENT_PATH "\n"
				 "Restart=always\n"
				 "RestartSec=1\n"
				 "\n"
				 "[Install]\n"
				 "WantedBy=multi-user.target\n";

static const char busybox_rcs[] = "#!/bin/sh\n"
				  "# Clone: early boot for a busybox-init root.\n"
				  "mount -t proc proc /proc 2>/dev/null\n"
				  "mount -t sysfs sysfs /sys 2>/dev/null\n"
				  "mount -t devtmpfs devtmpfs /dev 2>/dev/null\n"
				  "mkdir -p /dev/pts /dev/shm /run /tmp\n"
				  "mount -t devpts devpts /dev/pts 2>/dev/null\n"
				  "mount -t tmpfs tmpfs /run 2>/dev/null\n"
				  "mount -o remount,rw / 2>/dev/null\n"
				  "[ -f /etc/hostname ] && hostname -F /etc/hostname\n"
				  "ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up\n"
				  "for f in /etc/clone/rc.d/*; do [ -x \"$f\" ] && \"$f\"; done\n"
				  "exit 0\n";

static const char busybox_inittab[] = "# Clone: busybox init\n"
				      "::sysinit:/etc/init.d/clone-rcS\n"
				      "::respawn:/" AGENT_PATH "\n"
				      "ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100\n"
				      "::ctrlaltdel:/sbin/reboot\n"
				      "::shutdown:/bin/umount -a -r\n";

static int setup_systemd(struct build *b)
{
	int ret = put_text(b, "etc/systemd/system/clone-agent.service", agent_unit);

	if (!ret)
		ret = put_link(b, "etc/systemd/system/multi-user.target.wants/clone-agent.service",
			       "/etc/systemd/system/clone-agent.service");
	/* The serial console's getty (systemd also starts it for console=ttyS0). */
	if (!ret)
		ret = put_link(b,
			       "etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service",
			       "/lib/systemd/system/serial-getty@.service");
	return ret;
}

/* Applets a boot and a login need, linked to /bin/busybox where the tree has none. */
static const char *const applets[] = {
	"bin/sh",	 "bin/ash",	  "bin/mount",	   "bin/umount", "bin/mkdir",
	"bin/hostname",	 "bin/cat",	  "bin/ls",	   "bin/ps",	 "bin/echo",
	"bin/sleep",	 "bin/usleep",	  "bin/rm",	   "bin/cp",	 "bin/mv",
	"bin/ln",	 "bin/chmod",	  "bin/chown",	   "bin/grep",	 "bin/sed",
	"bin/vi",	 "bin/login",	  "bin/dmesg",	   "bin/kill",	 "bin/pidof",
	"bin/uname",	 "bin/df",	  "bin/sync",	   "bin/touch",	 "bin/date",
	"bin/stty",	 "bin/su",	  "bin/setsid",	   "bin/dd",	 "bin/head",
	"bin/tail",	 "bin/wc",	  "bin/tr",	   "bin/od",	 "bin/env",
	"bin/id",	 "bin/true",	  "bin/false",	   "bin/sort",	 "bin/find",
	"bin/xargs",	 "bin/tar",	  "bin/readlink",  "bin/stat",	 "bin/seq",
	"bin/test",	 "bin/printf",	  "bin/free",	   "bin/top",	 "bin/mknod",
	"bin/md5sum",	 "bin/sha256sum", "sbin/init",	   "sbin/getty", "sbin/reboot",
	"sbin/poweroff", "sbin/halt",	  "sbin/ifconfig", "sbin/ip",	 "sbin/modprobe",
	"sbin/insmod",	 "sbin/lsmod",	  "sbin/rmmod",	   "sbin/mdev",
};

static int setup_busybox(struct build *b)
{
	int ret = 0;

	for (size_t i = 0; i < ARRAY_SIZE(applets) && !ret; i++) {
		const char *name = strchr(applets[i], '/') + 1;
		char other[64];

		/* Present in the other of bin/ and sbin/ (or usr/): keep that one. */
		snprintf(other, sizeof(other), "%s/%s", applets[i][0] == 's' ? "bin" : "sbin",
			 name);
		if (!in_image(b, applets[i]) && !in_image(b, other))
			ret = put_link(b, applets[i], "/bin/busybox");
	}
	if (ret)
		return ret;

	ret = put_file(b, "etc/init.d/clone-rcS", busybox_rcs, strlen(busybox_rcs), 0755);
	if (!ret)
		ret = put_text(b, "etc/inittab", busybox_inittab);
	return ret;
}

/* root: no password (console login) or, with an SSH key, the key and a locked password. */
static int setup_root_login(struct build *b)
{
	const char *lock = b->o->ssh_key ? "!" : "";
	char *shadow = read_image_file(b, "etc/shadow", 1 << 20), *out, *line, *next;
	size_t cap;
	int ret = 0;

	if (shadow) {
		cap = strlen(shadow) + 64;
		out = calloc(1, cap);
		if (!out) {
			free(shadow);
			return err_set(-ENOMEM, "shadow");
		}
		for (line = shadow; *line; line = next) {
			char *colon;

			next = strchr(line, '\n');
			next = next ? next + 1 : line + strlen(line);
			colon = strchr(line, ':');
			if (!strncmp(line, "root:", 5) && colon && strchr(colon + 1, ':')) {
				strcat(out, "root:");
				strcat(out, lock);
				strncat(out, strchr(colon + 1, ':'),
					(size_t)(next - strchr(colon + 1, ':')));
			} else {
				strncat(out, line, (size_t)(next - line));
			}
		}
		ret = put_file(b, "etc/shadow", out, strlen(out), 0640);
		free(out);
		free(shadow);
	} else if (!in_image(b, "etc/passwd")) {
		char entry[32];

		snprintf(entry, sizeof(entry), "root:%s:0:::::\n", lock);
		ret = put_text(b, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
		if (!ret)
			ret = put_file(b, "etc/shadow", entry, strlen(entry), 0640);
		if (!ret && !in_image(b, "etc/group"))
			ret = put_text(b, "etc/group", "root:x:0:\n");
	}
	if (!ret && b->o->ssh_key) {
		char *key = NULL;
		int fd = open(b->o->ssh_key, O_RDONLY | O_CLOEXEC);
		ssize_t n = -1;

		if (fd >= 0) {
			key = malloc(65536);
			n = key ? read(fd, key, 65535) : -1;
			close(fd);
		}
		if (n <= 0) {
			free(key);
			return err_setx(-EINVAL, "--ssh-key %s cannot be read", b->o->ssh_key);
		}
		key[n] = '\0';
		if (strncmp(key, "ssh-", 4) && strncmp(key, "ecdsa-", 6) &&
		    strncmp(key, "sk-", 3)) {
			free(key);
			return err_setx(-EINVAL, "--ssh-key %s is not an OpenSSH public key",
					b->o->ssh_key);
		}
		ret = put_file(b, "root/.ssh/authorized_keys", key, (size_t)n, 0600);
		free(key);
		if (!ret) {
			int dfd = inroot_dir(b->rootfd, "root/.ssh", false);

			if (dfd >= 0) {
				int d = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

				if (d >= 0) {
					(void)!fchmod(d, 0700);
					close(d);
				}
				close(dfd);
			}
		}
	}
	return ret;
}

static int copy_modules(struct build *b)
{
	char version[256], kpath[PATH_MAX], src[PATH_MAX + 300];
	void *k;
	size_t klen;
	int ret, dfd;

	if (b->o->kmod_version) {
		snprintf(version, sizeof(version), "%s", b->o->kmod_version);
	} else {
		ret = kernel_find_default(kpath, sizeof(kpath));
		if (!ret)
			ret = kernel_read(kpath, &k, &klen);
		if (ret)
			return err_setx(ret, "--kernel-modules: %s", err_msg());
		ret = kernel_version(k, klen, version, sizeof(version));
		free(k);
		if (ret)
			return err_setx(ret, "--kernel-modules: %s", err_msg());
	}
	if (strchr(version, '/') || !strcmp(version, "..") || !strcmp(version, "."))
		return err_setx(-EINVAL, "--kernel-modules: bad version %s", version);
	snprintf(src, sizeof(src), "/lib/modules/%s", version);
	if (access(src, R_OK))
		return err_set(-errno, "--kernel-modules: %s", src);
	stage(b, "adding the modules of kernel %s", version);
	dfd = inroot_dir(b->rootfd, "lib/modules", true);
	if (dfd < 0)
		return err_set(dfd, "/lib/modules in the image");
	{
		char *argv[] = { "tar", "--numeric-owner", "-C", "/lib/modules", "-cf",
				 "-",	version,	   NULL };

		ret = extract_command(b, dfd, argv, "modules", tree_usage(src).bytes);
	}
	close(dfd);
	return ret;
}

static int make_guest(struct build *b)
{
	const struct rootfs_opts *o = b->o;
	const char *host = o->hostname ? o->hostname : DEFAULT_HOSTNAME;
	char buf[512];
	bool systemd = in_image(b, "lib/systemd/systemd") || in_image(b, "usr/lib/systemd/systemd");
	int ret;

	static const struct {
		const char *path;
		mode_t mode;
	} dirs[] = { { "proc", 0555 }, { "sys", 0555 },	 { "dev", 0755 }, { "run", 0755 },
		     { "tmp", 01777 }, { "root", 0700 }, { "mnt", 0755 }, { "etc", 0755 } };

	stage(b, "installing clone-agent and %s",
	      systemd ? "its systemd unit" : "a busybox inittab");
	/* Mount points the initramfs moves /proc, /sys and /dev onto, and the usual others. */
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		int fd;

		if (in_image(b, dirs[i].path))
			continue;
		fd = inroot_dir(b->rootfd, dirs[i].path, true);
		if (fd < 0)
			return err_set(fd, "/%s in the image", dirs[i].path);
		close(fd);
		if (fchmodat(b->rootfd, dirs[i].path, dirs[i].mode, 0) < 0)
			return err_set(-errno, "chmod /%s", dirs[i].path);
	}
	ret = put_file(b, AGENT_PATH, clone_agent_blob, clone_agent_size(), 0755);
	/* Clone's initramfs then leaves the agent to the image (boot/initramfs.c). */
	if (!ret)
		ret = put_text(b, "etc/clone/agent-in-image",
			       "clone-agent is started by this image's init (/" AGENT_PATH ").\n");
	if (ret)
		return ret;
	if (systemd)
		ret = setup_systemd(b);
	else if (in_image(b, "bin/busybox"))
		ret = setup_busybox(b);
	else
		return err_setx(-ENOEXEC,
				"the tree has neither systemd nor busybox: it cannot boot "
				"(add an init)");
	if (!ret)
		ret = setup_root_login(b);
	snprintf(buf, sizeof(buf), "%s\n", host);
	if (!ret)
		ret = put_text(b, "etc/hostname", buf);
	snprintf(buf, sizeof(buf),
		 "127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost\n", host);
	if (!ret)
		ret = put_text(b, "etc/hosts", buf);
	if (!ret)
		ret = put_text(
			b, "etc/fstab",
			"# Clone's initramfs mounts / (the disk with serial clone-root, or an\n"
			"# overlay on it) before init runs; nothing else needs mounting.\n"
			"tmpfs /tmp tmpfs defaults,nosuid,nodev 0 0\n");
	/* Addresses come from clone-agent (IDENTITY); only loopback is configured here. */
	if (!ret && in_image(b, "etc/network"))
		ret = put_text(b, "etc/network/interfaces",
			       "# eth0 and the other NICs get their addresses from clone-agent.\n"
			       "auto lo\niface lo inet loopback\n");
	if (!ret && o->kernel_modules)
		ret = copy_modules(b);
	return ret;
}

/* ---- image ---- */

static int check_size(struct build *b)
{
	struct usage u = tree_usage(b->root);
	/* ext4's metadata (inode tables at 256 bytes per 16 KiB, journal) and slack. */
	uint64_t need = u.allocated + u.allocated / 8 + u.inodes * 4096 / 16 + b->o->size / 64 +
			(8ull << 20);

	if (b->o->size < need)
		return err_setx(-ENOSPC,
				"--size %.0f MiB is too small: the files take %.0f MiB; give at "
				"least --size %lluM",
				b->o->size / MIB_F, u.allocated / MIB_F,
				(unsigned long long)((need + (1 << 20) - 1) >> 20));
	return 0;
}

static int make_ext4(struct build *b)
{
	char size[32];
	char *argv[] = { "mkfs.ext4", "-q",    "-F",	 "-L", "clone-root",
			 "-d",	      b->root, b->image, size, NULL };
	int fd;

	if (!have_tool("mkfs.ext4"))
		return err_setx(-ENOENT, "mkfs.ext4 is missing: apt-get install e2fsprogs");
	snprintf(size, sizeof(size), "%lluk", (unsigned long long)(b->o->size >> 10));
	/* A sparse file of the image's size: mkfs.ext4 writes only what it uses. */
	fd = open(b->image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(-errno, "%s", b->image);
	if (ftruncate(fd, (off_t)b->o->size) < 0) {
		close(fd);
		return err_set(-errno, "size %s", b->image);
	}
	close(fd);
	stage(b, "writing the ext4 file system (mkfs.ext4 -d)");
	return run(b, argv, -1, -1, false);
}

/* The raw image into a new qcow2 file, copying only the allocated extents. */
static int to_qcow2(struct build *b, char *out, size_t len)
{
	struct disk *d = NULL;
	uint8_t *buf = malloc(1 << 20);
	int fd = open(b->image, O_RDONLY | O_CLOEXEC), ret;
	off_t data = 0, hole;

	snprintf(out, len, "%s.qcow2", b->image);
	stage(b, "converting to qcow2");
	ret = buf && fd >= 0 ? 0 : err_set(-errno ? -errno : -ENOMEM, "%s", b->image);
	if (!ret)
		ret = qcow2_create(out, b->o->size, NULL, NULL);
	if (!ret)
		ret = disk_open(out, DISK_FMT_QCOW2, 0, &d);
	bar_start(b, "qcow2", b->o->size);
	while (!ret && (data = lseek(fd, data, SEEK_DATA)) >= 0) {
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0) {
			ret = err_set(-errno, "SEEK_HOLE");
			break;
		}
		while (!ret && data < hole) {
			size_t n = (size_t)(hole - data < (1 << 20) ? hole - data : (1 << 20));

			if (pread(fd, buf, n, data) != (ssize_t)n)
				ret = err_set(-EIO, "read %s", b->image);
			else
				ret = disk_pwrite(d, buf, n, (uint64_t)data);
			data += (off_t)n;
			bar_draw(b, (uint64_t)data, false);
			if (interrupted)
				ret = err_setx(-EINTR, "interrupted");
		}
	}
	if (!ret && data < 0 && errno != ENXIO)
		ret = err_set(-errno, "SEEK_DATA");
	if (!ret)
		ret = disk_flush(d);
	if (!ret)
		bar_draw(b, b->o->size, true);
	if (d)
		disk_close(d);
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

static int remove_tree(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DP)
		return rmdir(p) < 0 ? 0 : 0;
	return unlink(p) < 0 ? 0 : 0;
}

static void on_signal(int sig)
{
	pid_t child = running_child;

	interrupted = 1;
	if (child > 0)
		kill(-child, sig);
}

static int check_output(const struct rootfs_opts *o)
{
	char copy[PATH_MAX];
	struct stat st;
	const char *dir;

	snprintf(copy, sizeof(copy), "%s", o->output);
	dir = dirname(copy);
	if (stat(dir, &st) < 0)
		return err_setx(-ENOENT, "-o %s: directory %s does not exist", o->output, dir);
	if (!S_ISDIR(st.st_mode))
		return err_setx(-ENOTDIR, "-o %s: %s is not a directory", o->output, dir);
	if (lstat(o->output, &st) == 0) {
		if (!o->force)
			return err_setx(-EEXIST, "%s exists: pass --force to replace it",
					o->output);
		if (!S_ISREG(st.st_mode))
			return err_setx(-EEXIST, "%s exists and is not a regular file", o->output);
	}
	return 0;
}

int rootfs_create(const struct rootfs_opts *o)
{
	struct build b = { .o = o, .rootfd = -1 };
	struct sigaction sa = { .sa_handler = on_signal }, old[3];
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	char copy[PATH_MAX], final[PATH_MAX + 32];
	const char *from = final;
	int ret;

	if (geteuid() != 0)
		return err_setx(-EPERM, "clone rootfs create needs root: the image's files keep "
					"their owners (run it with sudo)");
	if (o->size < ROOTFS_MIN_SIZE)
		return err_setx(-EINVAL, "--size %.1fM is too small: an image needs at least %lluM",
				o->size / MIB_F, (unsigned long long)(ROOTFS_MIN_SIZE >> 20));
	if (o->source == ROOTFS_DISTRO) {
		ret = rootfs_check_release(
			o->distro, o->release ? o->release : rootfs_default_release(o->distro));
		if (ret)
			return ret;
	}
	ret = check_output(o);
	if (ret)
		return ret;
	path_with_sbin();

	/* The work directory sits next to the output: the final rename stays in one file system. */
	snprintf(copy, sizeof(copy), "%s", o->output);
	snprintf(b.work, sizeof(b.work), "%s/.%s.build-XXXXXX", dirname(copy),
		 basename(strcpy(final, o->output)));
	if (!mkdtemp(b.work))
		return err_set(-errno, "work directory next to %s", o->output);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, &old[i]);
	snprintf(b.root, sizeof(b.root), "%s/root", b.work);
	snprintf(b.image, sizeof(b.image), "%s/image", b.work);
	b.stages =
		3 + (o->qcow2 ? 1 : 0) + (o->kernel_modules ? 1 : 0) +
		(o->source == ROOTFS_DISTRO && strcmp(o->distro, "alpine") && o->packages ? 1 : 0) +
		(o->source == ROOTFS_OCI && !o->from ? 0 : 0) +
		(o->source == ROOTFS_DISTRO && !strcmp(o->distro, "alpine")
			 ? 1 + (o->packages || o->ssh_key ? 1 : 0)
			 : 0);
	ret = mkdir(b.root, 0755) < 0 ? err_set(-errno, "%s", b.root) : 0;
	if (!ret) {
		b.rootfd = open(b.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (b.rootfd < 0)
			ret = err_set(-errno, "%s", b.root);
	}
	if (!ret) {
		switch (o->source) {
		case ROOTFS_DISTRO:
			ret = from_distro(&b);
			break;
		case ROOTFS_DIR:
			ret = from_dir(&b, o->from);
			break;
		case ROOTFS_TAR:
			stage(&b, "unpacking %s", o->from);
			ret = extract_file(&b, b.rootfd, o->from);
			break;
		case ROOTFS_OCI:
			ret = from_oci(&b, o->from);
			break;
		case ROOTFS_DOCKER:
			ret = from_docker(&b, o->from);
			break;
		}
	}
	if (!ret && interrupted)
		ret = err_setx(-EINTR, "interrupted");
	if (!ret)
		ret = make_guest(&b);
	if (!ret)
		ret = check_size(&b);
	if (!ret && interrupted)
		ret = err_setx(-EINTR, "interrupted");
	if (!ret)
		ret = make_ext4(&b);
	snprintf(final, sizeof(final), "%s", b.image);
	if (!ret && o->qcow2)
		ret = to_qcow2(&b, final, sizeof(final));
	if (interrupted) /* whatever failed failed because of the signal */
		ret = err_setx(-EINTR, "interrupted: nothing was written to %s", o->output);
	if (!ret && rename(from, o->output) < 0)
		ret = err_set(-errno, "rename to %s", o->output);
	if (b.rootfd >= 0)
		close(b.rootfd);
	nftw(b.work, remove_tree, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &old[i], NULL);
	if (!ret) {
		struct stat st;

		if (stat(o->output, &st) == 0)
			fprintf(stderr, "clone rootfs: %s: %.0f MiB %s image, %.1f MiB allocated\n",
				o->output, o->size / MIB_F, o->qcow2 ? "qcow2" : "raw ext4",
				(double)st.st_blocks * 512 / MIB_F);
	}
	return ret;
}
