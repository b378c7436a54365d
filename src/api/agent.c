// SPDX-License-Identifier: Apache-2.0
/*
 * Host end of the guest agent's control channel (see agent.h).  Event-loop
 * thread only.  The guest is untrusted: every frame is bounded by the
 * protocol's limits, a malformed one closes the connection (logged
 * rate-limited) and the listener keeps accepting, so a restarted agent
 * reconnects.
 */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "lib/err.h"
#define LOG_TAG "agent"
#include "lib/log.h"
#include "lib/util.h"
#include "vmm/evloop.h"

#define AGENT_OUT_MAX (4 * AP_MAX_FRAME)

struct agent_host {
	struct evloop *loop;
	struct agent_host_config cfg;
	char hostname[256];
	int listen_fd;
	int conn_fd;
	bool hello_seen;
	uint32_t identity_first, identity_last; /* req ids of the IDENTITYs sent after HELLO */
	unsigned identity_pending;		/* of them, not acknowledged yet */
	struct ap_identity *nets;
	unsigned nr_nets;
	struct ap_hello hello;
	bool has_report;
	struct ap_report report;
	uint64_t report_ns;
	uint32_t next_req;
	struct ap_rbuf rx;
	uint8_t out[AGENT_OUT_MAX];
	size_t out_len;
};

static void drop_conn(struct agent_host *a, const char *why)
{
	bool was_ready = agent_host_ready(a);

	if (a->conn_fd < 0)
		return;
	if (why)
		log_warn_rl("agent connection closed: %s", why);
	evl_del(a->loop, a->conn_fd);
	close(a->conn_fd);
	a->conn_fd = -1;
	a->hello_seen = false;
	a->identity_pending = 0;
	ap_rbuf_init(&a->rx);
	a->out_len = 0;
	if (was_ready && a->cfg.changed)
		a->cfg.changed(a->cfg.opaque);
}

static void flush_out(struct agent_host *a)
{
	while (a->out_len) {
		ssize_t w = send(a->conn_fd, a->out, a->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			drop_conn(a, strerror(errno));
			return;
		}
		memmove(a->out, a->out + w, a->out_len - (size_t)w);
		a->out_len -= (size_t)w;
	}
	if (a->conn_fd >= 0)
		evl_mod(a->loop, a->conn_fd, EPOLLIN | (a->out_len ? EPOLLOUT : 0));
}

static int queue_frame(struct agent_host *a, const uint8_t *frame, long len)
{
	if (len < 0)
		return err_setx(-EMSGSIZE, "agent: request too large");
	if (a->conn_fd < 0)
		return err_setx(-ENOTCONN, "the guest agent is not connected");
	if (a->out_len + (size_t)len > sizeof(a->out))
		return err_setx(-EIO, "the guest agent does not read its requests");
	memcpy(a->out + a->out_len, frame, (size_t)len);
	a->out_len += (size_t)len;
	flush_out(a);
	return a->conn_fd >= 0 ? 0 : err_setx(-EIO, "the guest agent connection broke");
}

static void send_one_identity(struct agent_host *a, struct ap_identity *id)
{
	uint8_t buf[2048];

	id->req_id = ++a->next_req;
	if (!a->identity_pending++)
		a->identity_first = id->req_id;
	a->identity_last = id->req_id;
	if (queue_frame(a, buf, ap_encode_identity(buf, sizeof(buf), id))) {
		log_warn_rl("sending the identity: %s", err_msg());
		a->identity_pending--;
	}
}

/* The hostname, then each NIC's network identity; the agent acknowledges each. */
static void send_identity(struct agent_host *a)
{
	struct ap_identity id;

	a->identity_pending = 0;
	if (a->hostname[0]) {
		memset(&id, 0, sizeof(id));
		snprintf(id.hostname, sizeof(id.hostname), "%s", a->hostname);
		send_one_identity(a, &id);
	}
	for (unsigned i = 0; i < a->nr_nets && a->conn_fd >= 0; i++) {
		id = a->nets[i];
		send_one_identity(a, &id);
	}
}

static int on_frame(void *opaque, const struct ap_frame *f)
{
	struct agent_host *a = opaque;
	struct ap_ack ack;

	if (!a->hello_seen && f->type != AP_HELLO) {
		log_warn_rl("agent sent %s before HELLO", ap_type_name(f->type));
		return -1;
	}
	switch (f->type) {
	case AP_HELLO: {
		bool first = !a->hello_seen;

		if (ap_decode_hello(f, &a->hello) || !a->hello.has_token) {
			log_warn_rl("malformed HELLO from the agent");
			return -1;
		}
		a->hello_seen = true;
		log_info("agent %s ready (kernel %s)", a->hello.agent_version, a->hello.kernel);
		send_identity(a);
		if (first && agent_host_ready(a) && a->cfg.changed)
			a->cfg.changed(a->cfg.opaque);
		return 0;
	}
	case AP_REPORT:
		if (ap_decode_report(f, &a->report)) {
			log_warn_rl("malformed REPORT from the agent");
			return -1;
		}
		a->has_report = true;
		a->report_ns = monotonic_ns();
		return 0;
	case AP_ACK:
		if (ap_decode_ack(f, &ack)) {
			log_warn_rl("malformed ACK from the agent");
			return -1;
		}
		if (ack.status)
			log_warn_rl("agent: %s request %u failed: %s (%d)",
				    ap_type_name(ack.req_type), ack.req_id, ack.message,
				    ack.status);
		if (ack.req_type == AP_IDENTITY && a->identity_pending &&
		    ack.req_id - a->identity_first <= a->identity_last - a->identity_first &&
		    !--a->identity_pending && a->cfg.changed)
			a->cfg.changed(a->cfg.opaque); /* ready now */
		return 0;
	default:
		/* Unknown types are skipped: a newer agent may say more. */
		log_debug("agent frame type %u ignored", f->type);
		return 0;
	}
}

static void on_conn(void *opaque, uint32_t events)
{
	struct agent_host *a = opaque;

	if (events & EPOLLOUT)
		flush_out(a);
	if (a->conn_fd < 0 || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (int i = 0; i < 16 && a->conn_fd >= 0; i++) {
		struct ap_frame f;
		size_t room;
		uint8_t *dst = ap_rbuf_space(&a->rx, &room);
		ssize_t n = recv(a->conn_fd, dst, room, MSG_DONTWAIT);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			drop_conn(a, n < 0 ? strerror(errno) : NULL);
			return;
		}
		ap_rbuf_fill(&a->rx, (size_t)n);
		while ((r = ap_rbuf_next(&a->rx, &f)) > 0)
			if (on_frame(a, &f))
				break;
		if (r) {
			drop_conn(a, "protocol error");
			return;
		}
	}
}

static void on_accept(void *opaque, uint32_t events)
{
	struct agent_host *a = opaque;
	struct sockaddr_vm peer;
	socklen_t plen = sizeof(peer);
	uint32_t want = a->cfg.peer_cid ? a->cfg.peer_cid : a->cfg.cid;
	int fd = accept4(a->listen_fd, (struct sockaddr *)&peer, &plen,
			 SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (plen < sizeof(peer) || peer.svm_family != AF_VSOCK || peer.svm_cid != want) {
		log_warn_rl("refused a vsock connection from CID %u (the guest is CID %u)",
			    (unsigned)peer.svm_cid, (unsigned)want);
		close(fd);
		return;
	}
	drop_conn(a, NULL); /* the agent restarted: the newer connection wins */
	if (evl_add(a->loop, fd, EPOLLIN, on_conn, a)) {
		log_warn_rl("agent connection: %s", err_msg());
		close(fd);
		return;
	}
	a->conn_fd = fd;
}

int agent_host_create(struct evloop *loop, const struct agent_host_config *cfg,
		      struct agent_host **out)
{
	struct agent_host *a = calloc(1, sizeof(*a));
	struct sockaddr_vm addr = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY };
	int ret;

	if (!a)
		return err_set(-ENOMEM, "agent");
	a->loop = loop;
	a->cfg = *cfg;
	a->conn_fd = -1;
	if (cfg->hostname)
		snprintf(a->hostname, sizeof(a->hostname), "%s", cfg->hostname);
	a->cfg.hostname = NULL;
	if (cfg->nr_nets) {
		a->nets = calloc(cfg->nr_nets, sizeof(*a->nets));
		if (!a->nets) {
			free(a);
			return err_set(-ENOMEM, "agent");
		}
		memcpy(a->nets, cfg->nets, cfg->nr_nets * sizeof(*a->nets));
		a->nr_nets = cfg->nr_nets;
	}
	a->cfg.nets = NULL;
	addr.svm_port = cfg->port ? cfg->port : AP_HOST_PORT(cfg->cid);
	a->listen_fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->listen_fd < 0) {
		ret = err_set(-errno, "vsock socket for the agent channel");
		goto fail;
	}
	if (bind(a->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = err_set(-errno, "bind vsock port %u for the agent channel",
			      (unsigned)addr.svm_port);
		goto fail;
	}
	if (listen(a->listen_fd, 4) < 0) {
		ret = err_set(-errno, "listen on vsock port %u", (unsigned)addr.svm_port);
		goto fail;
	}
	ret = evl_add(loop, a->listen_fd, EPOLLIN, on_accept, a);
	if (ret)
		goto fail;
	*out = a;
	return 0;
fail:
	if (a->listen_fd >= 0)
		close(a->listen_fd);
	free(a->nets);
	free(a);
	return ret;
}

void agent_host_destroy(struct agent_host *a)
{
	if (!a)
		return;
	a->cfg.changed = NULL;
	drop_conn(a, NULL);
	evl_del(a->loop, a->listen_fd);
	close(a->listen_fd);
	free(a->nets);
	free(a);
}

bool agent_host_ready(const struct agent_host *a)
{
	return a && a->hello_seen && !a->identity_pending;
}

const struct ap_hello *agent_host_hello(const struct agent_host *a)
{
	return agent_host_ready(a) ? &a->hello : NULL;
}

const struct ap_report *agent_host_report(const struct agent_host *a, uint64_t *age_ms)
{
	if (!a || !a->has_report)
		return NULL;
	*age_ms = (monotonic_ns() - a->report_ns) / 1000000;
	return &a->report;
}

int agent_host_shutdown(struct agent_host *a, bool reboot)
{
	struct ap_shutdown s = { .mode = reboot ? AP_SHUTDOWN_REBOOT : AP_SHUTDOWN_POWEROFF };
	uint8_t buf[64];

	if (!agent_host_ready(a))
		return err_setx(-ENOTCONN, "the guest agent is not connected");
	s.req_id = ++a->next_req;
	return queue_frame(a, buf, ap_encode_shutdown(buf, sizeof(buf), &s));
}
