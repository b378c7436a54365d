// SPDX-License-Identifier: Apache-2.0
/*
 * clone-agent: the guest side of `clone exec` and of the VMM's control
 * channel (docs/agent-protocol.md).  Started once at boot by the guest's
 * init, as root, with /dev/null for stdio; logs to /dev/kmsg and never
 * exits because one connection failed.  This process is single-threaded:
 * one poll() loop over the SIGCHLD signalfd, the exec listener and the
 * control channel; every exec connection is served by a forked session
 * process (exec.c), which this loop reaps and counts for REPORT's ACTIVE.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "control.h"
#include "identity.h"
#include "exec.h"

#define MAX_SESSIONS 1024
#define LISTEN_RETRY_MS 1000

static struct control ctl; /* 260 KiB of buffers: not on the stack */

static const char usage[] =
	"usage: clone-agent [--chroot DIR] [--host-cid N] [--host-port P] [--exec-port Q]\n"
	"                   [--no-control] [--dry-run-shutdown] [--log-stderr] [--unix DIR]\n"
	"--chroot DIR: chroot into DIR first (Clone's initramfs starts the agent this way\n"
	"before it switches to the root file system in DIR).  A second agent exits at once.\n"
	"Test options: --dry-run-shutdown logs instead of powering off; --log-stderr logs to\n"
	"stderr instead of /dev/kmsg; --unix DIR uses AF_UNIX sockets DIR/control.sock (connect)\n"
	"and DIR/exec.sock (listen) instead of vsock, without the peer CID check.\n";

static int parse_u32(const char *s, uint32_t *v)
{
	char *end;
	unsigned long long x;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || *end || x > UINT32_MAX)
		return -EINVAL;
	*v = (uint32_t)x;
	return 0;
}

static int parse_args(int argc, char **argv, struct agent_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--host-cid") && i + 1 < argc) {
			if (parse_u32(argv[++i], &o->host_cid))
				return -EINVAL;
		} else if (!strcmp(a, "--host-port") && i + 1 < argc) {
			if (parse_u32(argv[++i], &o->host_port))
				return -EINVAL;
		} else if (!strcmp(a, "--exec-port") && i + 1 < argc) {
			if (parse_u32(argv[++i], &o->exec_port))
				return -EINVAL;
		} else if (!strcmp(a, "--chroot") && i + 1 < argc) {
			o->chroot_dir = argv[++i];
		} else if (!strcmp(a, "--unix") && i + 1 < argc) {
			o->unix_dir = argv[++i];
		} else if (!strcmp(a, "--no-control")) {
			o->no_control = true;
		} else if (!strcmp(a, "--dry-run-shutdown")) {
			o->dry_run_shutdown = true;
		} else if (!strcmp(a, "--log-stderr")) {
			o->log_stderr = true;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

/* A command must never get one of our sockets as its stdio: keep 0..2 taken. */
static void hold_stdio(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			if (open("/dev/null", O_RDWR) != fd)
				break;
}

#define IDENTITY_MEM "/dev/mem"
#define IDENTITY_DIR "/run/clone"

static int make_token(uint8_t token[AP_TOKEN_LEN])
{
	size_t got = 0;

	/* Blocks until the kernel's CRNG is ready, which is what we want for a secret. */
	while (got < AP_TOKEN_LEN) {
		ssize_t n = getrandom(token + got, AP_TOKEN_LEN - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += (size_t)n;
	}
	return 0;
}

static void reap(int sfd, unsigned *sessions)
{
	struct signalfd_siginfo si;
	pid_t p;

	while (read(sfd, &si, sizeof(si)) > 0)
		;
	while ((p = waitpid(-1, NULL, WNOHANG)) > 0)
		if (*sessions)
			(*sessions)--;
}

int main(int argc, char **argv)
{
	struct agent_opts o = { .host_cid = AGENT_VMADDR_CID_HOST, .exec_port = AP_EXEC_PORT };
	uint8_t token[AP_TOKEN_LEN];
	struct identity_state ist = { 0 };
	unsigned sessions = 0;
	bool was_busy;
	uint64_t listen_retry = 0;
	int lfd = -1, sfd, r;
	sigset_t chld;

	if (parse_args(argc, argv, &o)) {
		fputs(usage, stderr);
		return 2;
	}
	hold_stdio();
	alog_open(o.log_stderr);
	/*
	 * Into the new root before anything else: the binary keeps running
	 * from memory when switch_root empties the initramfs it came from.
	 */
	if (o.chroot_dir && (chdir(o.chroot_dir) < 0 || chroot(".") < 0 || chdir("/") < 0)) {
		alog(LOG_E, "chroot %s: %m", o.chroot_dir);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		alog(LOG_E, "signalfd: %m");
		return 1;
	}
	r = make_token(token);
	if (r) {
		alog(LOG_E, "getrandom: %s", strerror(-r));
		return 1;
	}
	identity_refresh(&ist, IDENTITY_MEM, IDENTITY_DIR, token);
	ctl_init(&ctl, &o, token);
	alog(LOG_I, "%s starting (exec port %u)", AGENT_VERSION, o.exec_port);

	for (;;) {
		struct pollfd p[3];
		uint64_t now = agent_now_ms();
		int timeout = -1;

		if (lfd < 0 && now >= listen_retry) {
			lfd = exec_listen(&o);
			if (lfd == -EADDRINUSE) {
				/* An agent already serves this guest (the image starts its own). */
				alog(LOG_I, "another clone-agent serves exec port %u: exiting",
				     o.exec_port);
				return 0;
			}
			if (lfd < 0) {
				/* vsock may not be up yet this early in boot: keep trying. */
				alog_rl(LOG_E, "listen on exec port %u: %s", o.exec_port,
					strerror(-lfd));
				listen_retry = now + LISTEN_RETRY_MS;
			}
		}
		/* Before every reconnect: a fork's agent learns here that it is one. */
		if (!o.no_control && ctl.state == CTL_DOWN)
			identity_refresh(&ist, IDENTITY_MEM, IDENTITY_DIR, token);
		if (!o.no_control)
			ctl_tick(&ctl, now, sessions);

		p[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = sessions < MAX_SESSIONS ? lfd : -1,
					.events = POLLIN };
		p[2] = (struct pollfd){ .fd = -1 };
		if (lfd < 0)
			timeout = (int)(listen_retry - now);
		if (!o.no_control) {
			int t = ctl_timeout(&ctl, now);

			ctl_pollfd(&ctl, &p[2]);
			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		if (poll(p, 3, timeout) < 0) {
			if (errno != EINTR)
				alog_rl(LOG_E, "poll: %m");
			continue;
		}
		was_busy = sessions > 0;
		if (p[0].revents)
			reap(sfd, &sessions);
		if (p[1].revents) {
			int fds[2] = { sfd, ctl.fd };

			for (int i = 0; i < 16 && sessions < MAX_SESSIONS; i++) {
				r = exec_accept(lfd, &o, token, fds, 2);
				if (r > 0)
					sessions++;
				else if (r == 0)
					break;
				else {
					alog_rl(LOG_E, "exec accept: %s", strerror(-r));
					break;
				}
			}
		}
		if (p[2].revents && !o.no_control)
			ctl_event(&ctl, p[2].revents, sessions);
		if ((sessions > 0) != was_busy && !o.no_control)
			ctl_activity_changed(&ctl, agent_now_ms(), sessions);
	}
}
