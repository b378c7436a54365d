/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private AF_UNIX stream sockets, as the VMM's control and console sockets
 * are: created mode 0600 from the start, replacing only a stale socket
 * file, and accepting only peers of our own uid (or root).  Any thread; no
 * state.
 */
#ifndef CLONE_LIB_USOCK_H
#define CLONE_LIB_USOCK_H

#include <sys/socket.h>

/*
 * Listen on path (non-blocking, close-on-exec) with backlog.  The file is
 * bound under umask 077 and chmod'ed 0600, so it is never reachable by
 * others.  A socket file nobody listens on is replaced.  Returns the fd, or
 * -errno with the message set (what names the socket, e.g. "control
 * socket"): -EADDRINUSE (someone listens there), -EEXIST (path is not a
 * socket), -ENAMETOOLONG.
 */
int usock_listen(const char *what, const char *path, int backlog);

/*
 * The peer of an accepted fd: 0 when its uid is our effective uid or root,
 * -EACCES otherwise, -errno when SO_PEERCRED fails.  *cred is filled when
 * it could be read (uid (uid_t)-1 otherwise).
 */
int usock_peer_owner(int fd, struct ucred *cred);

#endif
