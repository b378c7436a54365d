// SPDX-License-Identifier: Apache-2.0
/* Private AF_UNIX listening sockets and their peer check (see usock.h). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "usock.h"

/* Remove path if it is a socket nobody listens on. */
static int clear_stale(const char *what, const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_set(-errno, "%s %s", what, path);
	if (!S_ISSOCK(st.st_mode))
		return err_setx(-EEXIST, "%s %s: exists and is not a socket", what, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(-errno, "socket");
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	if (ret == 0 || errno == EAGAIN) { /* EAGAIN: a listener with a full backlog */
		close(fd);
		return err_setx(-EADDRINUSE, "%s %s: in use by a running VM", what, path);
	}
	ret = -errno;
	close(fd);
	if (ret != -ECONNREFUSED)
		return err_set(ret, "%s %s", what, path);
	if (unlink(path) < 0 && errno != ENOENT)
		return err_set(-errno, "remove stale %s %s", what, path);
	return 0;
}

int usock_listen(const char *what, const char *path, int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old_mask;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_setx(-ENAMETOOLONG, "%s path too long (max %zu bytes): %s", what,
				sizeof(sa.sun_path) - 1, path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ret = clear_stale(what, path, &sa);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(-errno, "%s: socket", what);
	/* The socket file must never exist with looser permissions. */
	old_mask = umask(077);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (ret < 0) {
		ret = err_set(-errno, "bind %s %s", what, path);
		close(fd);
		return ret;
	}
	if (chmod(path, 0600) < 0 || listen(fd, backlog) < 0) {
		ret = err_set(-errno, "%s %s", what, path);
		close(fd);
		unlink(path);
		return ret;
	}
	return fd;
}

int usock_peer_owner(int fd, struct ucred *cred)
{
	socklen_t len = sizeof(*cred);
	uid_t me = geteuid();

	cred->pid = 0;
	cred->uid = (uid_t)-1;
	cred->gid = (gid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) < 0)
		return -errno;
	return cred->uid == me || cred->uid == 0 ? 0 : -EACCES;
}
