// SPDX-License-Identifier: Apache-2.0
/*
 * clone-agent control channel (control.h).  The agent is the connecting
 * side: it dials the host (CID 2) on AP_HOST_PORT(own CID), so a VM
 * forked from a snapshot (new CID) reaches its own VMM after reconnecting.
 * Everything is non-blocking; frames out go through one bounded queue
 * (a REPORT that does not fit is skipped, an ACK that does not fit drops
 * the connection).  Main process only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "control.h"

void ctl_init(struct control *c, const struct agent_opts *o, const uint8_t *token)
{
	memset(c, 0, sizeof(*c));
	c->o = o;
	c->token = token;
	c->fd = -1;
	c->state = CTL_DOWN;
	c->backoff_ms = CTL_BACKOFF_MIN_MS;
	c->retry_at = 0;
	c->shutdown_mode = -1;
	ap_rbuf_init(&c->rb);
}

static uint32_t local_cid(void)
{
	uint32_t cid = AGENT_VMADDR_CID_ANY;
	int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (ioctl(fd, AGENT_IOCTL_GET_LOCAL_CID, &cid) < 0)
			cid = AGENT_VMADDR_CID_ANY;
		close(fd);
	}
	return cid;
}

static void disconnect(struct control *c, const char *why)
{
	if (c->fd >= 0) {
		if (c->state == CTL_UP)
			alog(LOG_I, "control channel closed: %s", why);
		close(c->fd);
	}
	c->fd = -1;
	c->state = CTL_DOWN;
	c->wlen = c->woff = 0;
	ap_rbuf_init(&c->rb);
	c->retry_at = agent_now_ms() + c->backoff_ms;
	c->backoff_ms =
		c->backoff_ms * 2 > CTL_BACKOFF_MAX_MS ? CTL_BACKOFF_MAX_MS : c->backoff_ms * 2;
}

/* Append a frame to the send queue; false if it does not fit. */
static bool queue(struct control *c, const uint8_t *p, size_t n)
{
	if (c->woff && c->woff == c->wlen)
		c->woff = c->wlen = 0;
	if (n > sizeof(c->wb) - c->wlen && c->woff) {
		memmove(c->wb, c->wb + c->woff, c->wlen - c->woff);
		c->wlen -= c->woff;
		c->woff = 0;
	}
	if (n > sizeof(c->wb) - c->wlen)
		return false;
	memcpy(c->wb + c->wlen, p, n);
	c->wlen += n;
	return true;
}

static void flush(struct control *c)
{
	while (c->state == CTL_UP && c->woff < c->wlen) {
		ssize_t w = send(c->fd, c->wb + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);

		if (w > 0) {
			c->woff += (size_t)w;
		} else {
			if (w < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			disconnect(c, w < 0 ? strerror(errno) : "short write");
			return;
		}
	}
}

static void send_report(struct control *c, unsigned sessions)
{
	struct ap_report r;
	uint8_t buf[256];
	long n;

	asys_report(&c->rs, sessions, &r);
	n = ap_encode_report(buf, sizeof(buf), &r);
	/* A host that does not read gets gaps in SEQ rather than unbounded memory. */
	if (n > 0 && !queue(c, buf, (size_t)n))
		alog_rl(LOG_W, "control channel backed up: report %llu skipped",
			(unsigned long long)r.seq);
	flush(c);
}

static void send_hello(struct control *c)
{
	struct ap_hello h;
	struct utsname u;
	uint8_t buf[1024];
	long n;

	memset(&h, 0, sizeof(h));
	h.version = AP_VERSION;
	memcpy(h.token, c->token, AP_TOKEN_LEN);
	h.has_token = true;
	snprintf(h.agent_version, sizeof(h.agent_version), "%s", AGENT_VERSION);
	if (uname(&u) == 0)
		snprintf(h.kernel, sizeof(h.kernel), "%s", u.release);
	if (gethostname(h.hostname, sizeof(h.hostname) - 1) < 0)
		h.hostname[0] = '\0';
	n = ap_encode_hello(buf, sizeof(buf), &h);
	if (n > 0)
		queue(c, buf, (size_t)n);
}

static void up(struct control *c, uint64_t now, unsigned sessions)
{
	c->state = CTL_UP;
	c->backoff_ms = CTL_BACKOFF_MIN_MS;
	alog(LOG_I, "control channel up");
	send_hello(c);
	c->report_at = now + CTL_REPORT_MS;
	send_report(c, sessions);
}

static void try_connect(struct control *c, uint64_t now, unsigned sessions)
{
	int fd, r;

	if (c->o->unix_dir) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/control.sock", c->o->unix_dir);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			goto fail;
		r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	} else {
		struct agent_sockaddr_vm svm;
		/* Re-read every time: a snapshot fork comes back with a new CID. */
		uint32_t cid = local_cid();

		memset(&svm, 0, sizeof(svm));
		svm.svm_family = AF_VSOCK;
		svm.svm_cid = c->o->host_cid;
		svm.svm_port = c->o->host_port ? c->o->host_port : AP_HOST_PORT(cid);
		if (!c->o->host_port && cid > AP_MAX_CID) {
			errno = EADDRNOTAVAIL;
			goto fail;
		}
		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			goto fail;
		r = connect(fd, (struct sockaddr *)&svm, sizeof(svm));
	}
	c->fd = fd;
	if (r == 0) {
		up(c, now, sessions);
		return;
	}
	if (errno == EINPROGRESS) {
		c->state = CTL_CONNECTING;
		c->connect_deadline = now + CTL_CONNECT_MS;
		return;
	}
	close(fd);
	c->fd = -1;
fail:
	c->state = CTL_CONNECTING; /* so that disconnect() schedules the retry quietly */
	disconnect(c, strerror(errno));
}

void ctl_pollfd(const struct control *c, struct pollfd *p)
{
	p->fd = c->fd;
	p->revents = 0;
	if (c->state == CTL_CONNECTING)
		p->events = POLLOUT;
	else if (c->state == CTL_UP)
		p->events = (short)(POLLIN | (c->woff < c->wlen ? POLLOUT : 0));
	else
		p->fd = -1;
}

int ctl_timeout(const struct control *c, uint64_t now)
{
	uint64_t at;

	switch (c->state) {
	case CTL_DOWN:
		at = c->retry_at;
		break;
	case CTL_CONNECTING:
		at = c->connect_deadline;
		break;
	default:
		at = c->report_at;
		break;
	}
	if (c->shutdown_mode >= 0 && c->shutdown_at < at)
		at = c->shutdown_at;
	return at <= now ? 0 : (int)(at - now);
}

static int identity_op(void *opaque, const struct ap_identity *id, char *msg, size_t cap)
{
	int r = asys_identity(id, msg, cap);

	if (r)
		alog(LOG_E, "IDENTITY %u: %s", id->req_id, msg);
	else
		alog(LOG_I, "IDENTITY %u applied", id->req_id);
	return r;
}

static const struct ctl_ops ops = { .identity = identity_op };

static void handle_frames(struct control *c)
{
	struct ap_frame f;
	enum ctl_after after;
	uint8_t ack[1024];
	long n;
	int r;

	while ((r = ap_rbuf_next(&c->rb, &f)) > 0) {
		n = disp_control(&f, &ops, c, ack, sizeof(ack), &after);
		if (n > 0 && !queue(c, ack, (size_t)n)) {
			disconnect(c, "send queue full");
			return;
		}
		if (after != CTL_AFTER_NONE && c->shutdown_mode < 0) {
			c->shutdown_mode = after == CTL_AFTER_REBOOT ? AP_SHUTDOWN_REBOOT
								     : AP_SHUTDOWN_POWEROFF;
			/* Give the ACK a moment to leave before init starts killing things. */
			c->shutdown_at = agent_now_ms() + 200;
			alog(LOG_I, "%s requested",
			     after == CTL_AFTER_REBOOT ? "reboot" : "poweroff");
		}
	}
	if (r < 0) {
		alog_rl(LOG_W, "malformed frame header on the control channel");
		disconnect(c, "protocol error");
	}
}

void ctl_event(struct control *c, short revents, unsigned sessions)
{
	uint64_t now = agent_now_ms();

	if (c->state == CTL_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
			err = errno;
		if (err) {
			disconnect(c, strerror(err));
			return;
		}
		up(c, now, sessions);
		return;
	}
	if (c->state != CTL_UP)
		return;
	if (revents & POLLOUT)
		flush(c);
	if (c->state == CTL_UP && (revents & (POLLIN | POLLHUP | POLLERR))) {
		size_t room;
		uint8_t *dst = ap_rbuf_space(&c->rb, &room);
		ssize_t n = recv(c->fd, dst, room, 0);

		if (n > 0) {
			ap_rbuf_fill(&c->rb, (size_t)n);
			handle_frames(c);
			flush(c);
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			disconnect(c, n == 0 ? "closed by the host" : strerror(errno));
		}
	}
}

void ctl_activity_changed(struct control *c, uint64_t now, unsigned sessions)
{
	if (c->state != CTL_UP)
		return;
	c->report_at = now + CTL_REPORT_MS;
	send_report(c, sessions);
}

void ctl_tick(struct control *c, uint64_t now, unsigned sessions)
{
	if (c->shutdown_mode >= 0 && now >= c->shutdown_at) {
		bool dry = c->o->dry_run_shutdown;

		if (!c->shutdown_asked) {
			c->shutdown_asked = true;
			bool asked = asys_shutdown_begin((unsigned)c->shutdown_mode, dry);

			if (asked)
				alog(LOG_I, "%sasked init to %s", dry ? "dry run: " : "",
				     c->shutdown_mode == AP_SHUTDOWN_REBOOT ? "reboot"
									    : "power off");
			/* An init we do not know gets no grace period. */
			c->shutdown_at = asked ? now + CTL_SHUTDOWN_GRACE_MS : now;
		} else {
			alog(LOG_I, "%sreboot(%s)", dry ? "dry run: " : "",
			     c->shutdown_mode == AP_SHUTDOWN_REBOOT ? "RB_AUTOBOOT"
								    : "RB_POWER_OFF");
			asys_shutdown_force((unsigned)c->shutdown_mode, dry);
			/* Only reached when dry or when reboot(2) failed: accept a new request. */
			c->shutdown_mode = -1;
			c->shutdown_asked = false;
		}
	}
	switch (c->state) {
	case CTL_DOWN:
		if (now >= c->retry_at)
			try_connect(c, now, sessions);
		break;
	case CTL_CONNECTING:
		if (now >= c->connect_deadline)
			disconnect(c, "connect timed out");
		break;
	case CTL_UP:
		if (now >= c->report_at) {
			c->report_at = now + CTL_REPORT_MS;
			send_report(c, sessions);
		}
		break;
	}
}
