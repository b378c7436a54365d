// SPDX-License-Identifier: Apache-2.0
/*
 * clone-agent exec sessions.  The main process accepts on AP_EXEC_PORT
 * and forks at once; everything else happens in the session process, one
 * per connection, single-threaded around poll():
 *   EXEC (token checked) → fork the command (new session, own process
 *   group; pipes or a pty) → STARTED → relay STDIN/RESIZE/SIGNAL in and
 *   STDOUT/STDERR out with flow control both ways → when the command has
 *   exited and its output is drained: EXIT, close.
 * Launch failures (chdir, PATH search, execve) travel from the command
 * process over a CLOEXEC pipe, so "not found" is an ERROR, never a fake
 * exit code.  A peer that goes away gets its command group SIGKILLed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "dispatch.h"
#include "exec.h"

#define FIRST_FRAME_MS 10000 /* a connection must send EXEC within this */
#define DRAIN_IDLE_MS 2000   /* after exit: stop waiting for EOF after this much silence */
#define FLUSH_MS 10000	     /* final frames: give up on a peer that does not read */

/* ---- Listener ----------------------------------------------------------- */

int exec_listen(const struct agent_opts *o)
{
	int fd, one = 1;

	if (o->unix_dir) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/exec.sock", o->unix_dir);
		unlink(sun.sun_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return -errno;
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			goto fail;
	} else {
		struct agent_sockaddr_vm svm;

		memset(&svm, 0, sizeof(svm));
		svm.svm_family = AF_VSOCK;
		svm.svm_cid = AGENT_VMADDR_CID_ANY;
		svm.svm_port = o->exec_port;
		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return -errno;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&svm, sizeof(svm)) < 0)
			goto fail;
	}
	if (listen(fd, 64) < 0)
		goto fail;
	return fd;
fail:
	one = -errno;
	close(fd);
	return one;
}

/* ---- Small I/O helpers -------------------------------------------------- */

static void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* Write all of p to a non-blocking fd, waiting at most ms in total. */
static int send_all(int fd, const void *p, size_t n, int ms)
{
	const uint8_t *b = p;
	uint64_t deadline = agent_now_ms() + (uint64_t)ms;

	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

		if (w > 0) {
			b += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		uint64_t now = agent_now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };

		if (now >= deadline)
			return -ETIMEDOUT;
		poll(&pfd, 1, (int)(deadline - now));
	}
	return 0;
}

static void send_error(int sock, int status, const char *msg)
{
	struct ap_error e = { .status = status };
	uint8_t buf[512];
	long n;

	snprintf(e.message, sizeof(e.message), "%s", msg);
	n = ap_encode_error(buf, sizeof(buf), &e);
	if (n > 0)
		send_all(sock, buf, (size_t)n, FLUSH_MS);
}

/* Half-close and wait (bounded) for the peer to close, so nothing queued is lost. */
static void finish(int sock)
{
	uint64_t deadline = agent_now_ms() + FLUSH_MS;
	char junk[4096];

	shutdown(sock, SHUT_WR);
	for (;;) {
		uint64_t now = agent_now_ms();
		struct pollfd pfd = { .fd = sock, .events = POLLIN };

		if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0)
			break;
		ssize_t r = recv(sock, junk, sizeof(junk), 0);

		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			break;
	}
	close(sock);
}

/* ---- Starting the command ----------------------------------------------- */

enum stage { STAGE_SETUP = 1, STAGE_CHDIR, STAGE_EXEC };

struct launch_err {
	int stage;
	int err;
};

static char *default_env_pipe[] = { "PATH=" DISP_DEFAULT_PATH, "HOME=/root", NULL };
static char *default_env_tty[] = { "PATH=" DISP_DEFAULT_PATH, "HOME=/root", "TERM=xterm-256color",
				   NULL };

/* In the forked command process: only async-signal-safe calls until execve. */
static void __attribute__((noreturn))
command_child(struct ap_exec *ex, char **envp, int in, int out, int errfd, int tty_slave, int rep)
{
	struct launch_err le = { STAGE_SETUP, 0 };
	char path[4096];
	const char *search;
	size_t pos = 0;
	sigset_t none;
	int r, saw_eacces = 0;

	/* Signals as a fresh process expects them: nothing blocked, nothing ignored. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < 65; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);

	if (setsid() < 0)
		goto fail;
	if (tty_slave >= 0) {
		if (ioctl(tty_slave, TIOCSCTTY, 0) < 0)
			goto fail;
		in = out = errfd = tty_slave;
	}
	/* dup2 clears CLOEXEC on the copies; everything else closes at execve. */
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
		goto fail;

	le.stage = STAGE_CHDIR;
	if (chdir(ex->cwd[0] ? ex->cwd : "/") < 0)
		goto fail;

	le.stage = STAGE_EXEC;
	if (!ex->argv[0][0]) {
		errno = ENOENT;
		goto fail;
	}
	search = disp_env_get(envp, "PATH");
	if (!search)
		search = DISP_DEFAULT_PATH;
	/* execvpe semantics: ENOENT/ENOTDIR/EACCES go on to the next entry. */
	errno = ENOENT;
	while ((r = disp_path_next(search, ex->argv[0], &pos, path, sizeof(path))) != 0) {
		if (r < 0)
			continue;
		execve(path, ex->argv, envp);
		if (errno == EACCES)
			saw_eacces = 1;
		else if (errno != ENOENT && errno != ENOTDIR)
			goto fail;
	}
	errno = saw_eacces ? EACCES : ENOENT;
fail:
	le.err = errno;
	while (write(rep, &le, sizeof(le)) < 0 && errno == EINTR)
		;
	_exit(127);
}

static void launch_message(const struct ap_exec *ex, const struct launch_err *le, char *msg,
			   size_t cap)
{
	if (le->stage == STAGE_CHDIR)
		snprintf(msg, cap, "chdir %.200s: %s", ex->cwd, strerror(le->err));
	else if (le->stage == STAGE_EXEC && le->err == ENOENT)
		snprintf(msg, cap, "%.200s: command not found", ex->argv[0]);
	else if (le->stage == STAGE_EXEC)
		snprintf(msg, cap, "%.200s: %s", ex->argv[0], strerror(le->err));
	else
		snprintf(msg, cap, "setting up the command: %s", strerror(le->err));
}

/* ---- The session -------------------------------------------------------- */

struct session {
	int sock;
	int sfd;    /* signalfd: SIGCHLD */
	int in_fd;  /* command's stdin (pipe writer, or the pty master) */
	int out_fd; /* stdout pipe reader, or the pty master */
	int err_fd; /* stderr pipe reader; -1 with a tty */
	/*
	 * EOF seen on out_fd / err_fd.  The descriptors stay open until the
	 * session ends: closing a pty master hangs the terminal up, and a
	 * command that closed its stdio but has not exited yet would die of
	 * SIGHUP instead of exiting with its own status.
	 */
	bool out_eof, err_eof;
	bool tty;
	pid_t pid;
	bool exited;
	int status;
	uint64_t last_output;
	/* socket → command */
	struct ap_rbuf rb;
	bool sock_eof;
	const uint8_t *pend; /* STDIN bytes not yet written (points into rb) */
	size_t pend_len;
	bool pend_eof; /* an empty STDIN arrived after pend */
	/* command → socket */
	uint8_t rd[AP_MAX_PAYLOAD];
	uint8_t wb[AP_MAX_FRAME];
	size_t wlen, woff;
};

static struct session S; /* one per process; 130 KiB of buffers off the stack */

static void kill_command(struct session *s)
{
	if (!s->exited && s->pid > 0)
		kill(-s->pid, SIGKILL);
}

static void stdin_close(struct session *s)
{
	if (s->tty) {
		/* With a terminal, end of input is the EOF character (^D). */
		struct termios t;
		char c = 4;

		if (tcgetattr(s->in_fd, &t) == 0 && t.c_cc[VEOF])
			c = (char)t.c_cc[VEOF];
		s->pend = NULL;
		if (write(s->in_fd, &c, 1) < 0)
			alog_rl(LOG_W, "session %d: writing EOF to the terminal: %m", (int)s->pid);
		return;
	}
	if (s->in_fd >= 0)
		close(s->in_fd);
	s->in_fd = -1;
}

/* Handle frames already received, as long as stdin can take them. */
static int handle_frames(struct session *s)
{
	struct ap_frame f;
	struct sess_action a;
	struct winsize ws;
	int r;

	while (!s->pend) {
		r = ap_rbuf_next(&s->rb, &f);
		if (r < 0)
			return r;
		if (r == 0)
			return 0;
		r = disp_session(&f, &a);
		if (r < 0)
			return r;
		switch (a.act) {
		case SESS_STDIN:
			if (s->in_fd >= 0) {
				s->pend = a.data;
				s->pend_len = a.len;
			}
			break;
		case SESS_STDIN_EOF:
			if (s->in_fd >= 0)
				stdin_close(s);
			break;
		case SESS_RESIZE:
			if (s->tty) {
				memset(&ws, 0, sizeof(ws));
				ws.ws_row = a.rows;
				ws.ws_col = a.cols;
				ioctl(s->out_fd, TIOCSWINSZ, &ws);
			}
			break;
		case SESS_SIGNAL:
			if (!s->exited)
				kill(-s->pid, a.signo);
			break;
		case SESS_NONE:
			break;
		}
	}
	return 0;
}

static void write_stdin(struct session *s)
{
	ssize_t w = write(s->in_fd, s->pend, s->pend_len);

	if (w < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		/* EPIPE: the command closed its stdin; the rest is discarded. */
		s->pend = NULL;
		if (!s->tty) {
			close(s->in_fd);
			s->in_fd = -1;
		}
		return;
	}
	s->pend += w;
	s->pend_len -= (size_t)w;
	if (!s->pend_len)
		s->pend = NULL;
}

/* Read one chunk of output into an outgoing frame; false at EOF. */
static bool read_output(struct session *s, int fd, uint16_t type)
{
	ssize_t n = read(fd, s->rd, sizeof(s->rd));
	long len;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0) /* EOF, or EIO on a pty master once every slave is closed */
		return false;
	len = ap_encode_data(s->wb, sizeof(s->wb), type, s->rd, (size_t)n);
	if (len > 0) {
		s->wlen = (size_t)len;
		s->woff = 0;
	}
	s->last_output = agent_now_ms();
	return true;
}

static void reap(struct session *s)
{
	struct signalfd_siginfo si;
	int st;

	while (read(s->sfd, &si, sizeof(si)) > 0)
		;
	while (!s->exited) {
		pid_t p = waitpid(-1, &st, WNOHANG);

		if (p <= 0)
			break;
		if (p == s->pid) {
			s->exited = true;
			s->status = st;
			s->last_output = agent_now_ms();
		}
	}
}

static void __attribute__((noreturn)) session_end(struct session *s, bool send_exit)
{
	struct ap_exit e;
	uint8_t buf[64];
	long n;

	kill_command(s);
	if (send_exit) {
		disp_exit_status(s->status, &e);
		n = ap_encode_exit(buf, sizeof(buf), &e);
		if (n > 0)
			send_all(s->sock, buf, (size_t)n, FLUSH_MS);
		finish(s->sock);
	} else {
		close(s->sock);
	}
	/* Do not leave a zombie behind even on the early-exit path. */
	if (!s->exited && s->pid > 0)
		waitpid(s->pid, NULL, 0);
	_exit(0);
}

static void relay(struct session *s)
{
	for (;;) {
		struct pollfd p[5];
		int np = 0, isock = -1, iin = -1, iout = -1, ierr = -1, timeout = -1;
		bool draining = s->exited;

		/* Frames may already wait in rb (they came with EXEC, or stdin was full). */
		if (handle_frames(s) < 0) {
			alog_rl(LOG_W, "session %d: malformed frame from the client", (int)s->pid);
			session_end(s, false);
		}
		if (s->exited && s->out_eof && s->err_eof && s->wlen == s->woff)
			session_end(s, true);
		if (draining && s->wlen == s->woff) {
			uint64_t idle = agent_now_ms() - s->last_output;

			/* Something in the background still holds the output open. */
			if (idle >= DRAIN_IDLE_MS)
				session_end(s, true);
			timeout = (int)(DRAIN_IDLE_MS - idle);
		}

		p[np++] = (struct pollfd){ .fd = s->sfd, .events = POLLIN };
		if (!s->sock_eof) {
			short ev = s->wlen > s->woff ? POLLOUT : 0;

			if (!s->pend)
				ev |= POLLIN;
			isock = np;
			p[np++] = (struct pollfd){ .fd = s->sock, .events = ev };
		}
		if (s->pend && s->in_fd >= 0) {
			iin = np;
			p[np++] = (struct pollfd){ .fd = s->in_fd, .events = POLLOUT };
		}
		/* Output is read only when the previous frame has gone out. */
		if (s->wlen == s->woff) {
			if (!s->out_eof) {
				iout = np;
				p[np++] = (struct pollfd){ .fd = s->out_fd, .events = POLLIN };
			}
			if (!s->err_eof) {
				ierr = np;
				p[np++] = (struct pollfd){ .fd = s->err_fd, .events = POLLIN };
			}
		}
		if (poll(p, (nfds_t)np, timeout) < 0) {
			if (errno == EINTR)
				continue;
			alog(LOG_E, "session poll: %m");
			session_end(s, false);
		}
		if (p[0].revents)
			reap(s);
		if (isock >= 0 && (p[isock].revents & POLLOUT) && s->wlen > s->woff) {
			ssize_t w = send(s->sock, s->wb + s->woff, s->wlen - s->woff, MSG_NOSIGNAL);

			if (w > 0)
				s->woff += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				session_end(s, false); /* peer gone */
			if (s->woff == s->wlen)
				s->wlen = s->woff = 0;
		}
		/* Fully closed while we wait on stdin: nobody will read the output. */
		if (isock >= 0 && (p[isock].revents & (POLLHUP | POLLERR)) && s->pend)
			session_end(s, false);
		if (isock >= 0 && (p[isock].revents & (POLLIN | POLLHUP | POLLERR)) && !s->pend) {
			size_t room;
			uint8_t *dst = ap_rbuf_space(&s->rb, &room);
			ssize_t n = room ? recv(s->sock, dst, room, 0) : -1;

			if (n > 0) {
				ap_rbuf_fill(&s->rb, (size_t)n);
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				/* The client went away: nobody will read the output. */
				session_end(s, false);
			}
		}
		if (iin >= 0 && p[iin].revents)
			write_stdin(s);
		if (handle_frames(s) < 0) {
			alog_rl(LOG_W, "session %d: malformed frame from the client", (int)s->pid);
			session_end(s, false);
		}
		if (iout >= 0 && p[iout].revents && !read_output(s, s->out_fd, AP_STDOUT))
			s->out_eof = true;
		if (ierr >= 0 && p[ierr].revents && s->wlen == s->woff &&
		    !read_output(s, s->err_fd, AP_STDERR))
			s->err_eof = true;
	}
}

static int open_pty(int *master, int *slave, uint16_t rows, uint16_t cols)
{
	struct winsize ws = { .ws_row = rows, .ws_col = cols };
	const char *name;

	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		return -errno;
	if (grantpt(*master) < 0 || unlockpt(*master) < 0 || !(name = ptsname(*master)))
		goto fail;
	*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		goto fail;
	ioctl(*master, TIOCSWINSZ, &ws);
	return 0;
fail:;
	int e = errno ? -errno : -EIO;

	close(*master);
	return e;
}

static void __attribute__((noreturn)) session_main(int sock, const uint8_t token[AP_TOKEN_LEN])
{
	struct session *s = &S;
	struct ap_exec ex;
	struct ap_error err;
	struct ap_frame f;
	struct launch_err le;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 }, rep[2], master = -1,
	    slave = -1;
	uint64_t deadline = agent_now_ms() + FIRST_FRAME_MS;
	char **envp;
	sigset_t chld;
	uint8_t buf[64];
	long n;
	int r;

	memset(s, 0, sizeof(*s));
	s->sock = sock;
	s->in_fd = s->out_fd = s->err_fd = -1;
	ap_rbuf_init(&s->rb);
	set_nonblock(sock, true);

	/* 1. EXEC, within FIRST_FRAME_MS. */
	for (;;) {
		size_t room;
		uint8_t *dst;
		uint64_t now = agent_now_ms();
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		ssize_t got;

		r = ap_rbuf_next(&s->rb, &f);
		if (r > 0)
			break;
		if (r < 0) {
			send_error(sock, -EPROTO, "malformed frame");
			finish(sock);
			_exit(0);
		}
		if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0) {
			send_error(sock, -ETIMEDOUT, "no EXEC received");
			finish(sock);
			_exit(0);
		}
		dst = ap_rbuf_space(&s->rb, &room);
		got = recv(sock, dst, room, 0);
		if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
			close(sock);
			_exit(0);
		}
		if (got > 0)
			ap_rbuf_fill(&s->rb, (size_t)got);
	}
	r = disp_exec_first(&f, token, &ex, &err);
	if (r) {
		if (r == -EACCES)
			alog_rl(LOG_W, "exec refused: bad token");
		send_error(sock, err.status, err.message);
		finish(sock);
		_exit(0);
	}
	s->tty = ex.tty;
	envp = ex.envc ? ex.envp : ex.tty ? default_env_tty : default_env_pipe;

	/* 2. The command's stdio and the launch-report pipe, all CLOEXEC. */
	if (ex.tty)
		r = open_pty(&master, &slave, ex.rows, ex.cols);
	else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
		 pipe2(errp, O_CLOEXEC) < 0)
		r = -errno;
	if (!r && pipe2(rep, O_CLOEXEC) < 0)
		r = -errno;
	if (r) {
		send_error(sock, r, "cannot set up the command's stdio");
		finish(sock);
		_exit(0);
	}
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	s->sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);

	s->pid = fork();
	if (s->pid < 0) {
		send_error(sock, -errno, "fork failed");
		finish(sock);
		_exit(0);
	}
	if (s->pid == 0)
		command_child(&ex, envp, in[0], out[1], errp[1], slave, rep[1]);

	close(rep[1]);
	if (ex.tty) {
		close(slave);
		s->in_fd = s->out_fd = master;
		s->err_eof = true;
	} else {
		close(in[0]);
		close(out[1]);
		close(errp[1]);
		s->in_fd = in[1];
		s->out_fd = out[0];
		s->err_fd = errp[0];
	}
	/* 3. EOF on rep: execve succeeded.  A record: it failed. */
	do
		n = read(rep[0], &le, sizeof(le));
	while (n < 0 && errno == EINTR);
	close(rep[0]);
	if (n == (long)sizeof(le)) {
		char msg[256];

		launch_message(&ex, &le, msg, sizeof(msg));
		waitpid(s->pid, NULL, 0);
		send_error(sock, -le.err, msg);
		finish(sock);
		_exit(0);
	}
	ap_exec_free(&ex);
	n = ap_encode_started(buf, sizeof(buf), (uint32_t)s->pid);
	if (n < 0 || send_all(sock, buf, (size_t)n, FLUSH_MS) < 0) {
		kill_command(s);
		waitpid(s->pid, NULL, 0);
		_exit(0);
	}
	set_nonblock(s->in_fd, true);
	set_nonblock(s->out_fd, true);
	if (s->err_fd >= 0)
		set_nonblock(s->err_fd, true);
	relay(s);
	_exit(0);
}

/* ---- Accepting ---------------------------------------------------------- */

int exec_accept(int lfd, const struct agent_opts *o, const uint8_t token[AP_TOKEN_LEN],
		const int *close_fds, unsigned nr_close)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	pid_t pid;

	if (fd < 0)
		return errno == EAGAIN || errno == EINTR || errno == ECONNABORTED ? 0 : -errno;
	if (!o->unix_dir) {
		struct agent_sockaddr_vm svm;

		memset(&svm, 0, sizeof(svm));
		memcpy(&svm, &ss, sl < sizeof(svm) ? sl : sizeof(svm));
		/* Only the host may run commands (and CID 1 when testing with --host-cid 1). */
		if (svm.svm_family != AF_VSOCK || svm.svm_cid != o->host_cid) {
			alog_rl(LOG_W, "exec connection from CID %u refused", svm.svm_cid);
			close(fd);
			return 0;
		}
	}
	pid = fork();
	if (pid < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	if (pid == 0) {
		for (unsigned i = 0; i < nr_close; i++)
			if (close_fds[i] >= 0)
				close(close_fds[i]);
		close(lfd);
		session_main(fd, token);
	}
	close(fd);
	return pid;
}
