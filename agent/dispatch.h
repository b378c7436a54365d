/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clone-agent's I/O-free decisions (frames come reassembled by ap_rbuf,
 * agent_proto.h): turning a control frame into an action and its ACK,
 * turning exec-session frames into actions, PATH search, wait status →
 * EXIT.
 * Compiled into the agent and, by #include, into the fuzz target
 * tests/fuzz/fuzz_agent_guest.c (so it must build with glibc and clang).
 */
#ifndef CLONE_AGENT_DISPATCH_H
#define CLONE_AGENT_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/agent_proto.h"

/* ---- Control channel ---------------------------------------------------- */

struct ctl_ops {
	/* Apply an IDENTITY: 0 or -errno with a message in msg. */
	int (*identity)(void *opaque, const struct ap_identity *id, char *msg, size_t cap);
};

enum ctl_after {
	CTL_AFTER_NONE,
	CTL_AFTER_POWEROFF, /* send the ACK, then shut down */
	CTL_AFTER_REBOOT,
};

/*
 * One frame from the VMM.  Writes the ACK to send into out (cap ≥ 512)
 * and returns its size, or 0 when nothing is to be sent (unknown or
 * agent-to-host types are ignored: forward compatibility).  *after says
 * what to do once the ACK is out.  A malformed request is answered with
 * STATUS -EPROTO (REQ_ID recovered when possible); it never closes the channel.
 */
long disp_control(const struct ap_frame *f, const struct ctl_ops *ops, void *opaque, uint8_t *out,
		  size_t cap, enum ctl_after *after);

/* ---- Exec sessions ------------------------------------------------------ */

/*
 * The first frame of a session: 0 and *ex (free with ap_exec_free), or
 * -errno and *err filled with the ERROR to send before closing.
 */
int disp_exec_first(const struct ap_frame *f, const uint8_t token[AP_TOKEN_LEN], struct ap_exec *ex,
		    struct ap_error *err);

enum sess_act {
	SESS_NONE,	/* ignore the frame */
	SESS_STDIN,	/* data/len: bytes for the command's stdin */
	SESS_STDIN_EOF, /* close stdin (pipe) or send VEOF (pty) */
	SESS_RESIZE,	/* rows/cols */
	SESS_SIGNAL,	/* signo, 1..64 */
};

struct sess_action {
	enum sess_act act;
	const uint8_t *data;
	size_t len;
	uint16_t rows, cols;
	int signo;
};

/* A frame after EXEC: 0 and *a, or -EPROTO (close the session). */
int disp_session(const struct ap_frame *f, struct sess_action *a);

/* waitpid() status → EXIT. */
void disp_exit_status(int status, struct ap_exit *e);

/* The environment a command gets: the client's if any, else the defaults. */
#define DISP_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* Value of name in envp, or NULL. */
const char *disp_env_get(char *const *envp, const char *name);

/*
 * execvpe-style candidates for file: if it holds '/', just file (once);
 * else each PATH entry (empty entry = ".") joined with file.  Returns 1
 * and out, 0 at the end, -ENAMETOOLONG for an entry that does not fit
 * (skip it: call again).  *pos starts at 0.
 */
int disp_path_next(const char *path, const char *file, size_t *pos, char *out, size_t cap);

#endif
