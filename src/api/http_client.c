// SPDX-License-Identifier: Apache-2.0
/*
 * The blocking HTTP/1.1 client of the control socket (see http.h), used by
 * the CLI: one request per connection (Connection: close), the response
 * parsed with nodejs/http-parser, every wait bounded by the caller's
 * timeout through poll(2).  Any thread; no shared state.
 */
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG_TAG "http"
#include "api/http.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"

struct client_resp {
	char *body;
	size_t len, cap;
	bool done;
	bool too_big;
};

static int cl_on_body(http_parser *hp, const char *at, size_t len)
{
	struct client_resp *r = hp->data;

	if (len > HTTP_CLIENT_MAX_BODY - r->len) {
		r->too_big = true;
		return -1;
	}
	if (r->len + len + 1 > r->cap) {
		size_t cap = MAX(r->cap * 2, r->len + len + 1);
		char *nb = realloc(r->body, cap);

		if (!nb)
			return -1;
		r->body = nb;
		r->cap = cap;
	}
	memcpy(r->body + r->len, at, len);
	r->len += len;
	return 0;
}

static int cl_on_message_begin(http_parser *hp)
{
	struct client_resp *r = hp->data;

	r->len = 0; /* an interim 1xx response carries no body; start over */
	return 0;
}

static int cl_on_message_complete(http_parser *hp)
{
	struct client_resp *r = hp->data;

	if (hp->status_code >= 100 && hp->status_code < 200)
		return 0; /* interim: the real answer follows */
	r->done = true;
	http_parser_pause(hp, 1);
	return 0;
}

static const http_parser_settings resp_settings = {
	.on_message_begin = cl_on_message_begin,
	.on_body = cl_on_body,
	.on_message_complete = cl_on_message_complete,
};

/* Milliseconds left before deadline (-1: forever), 0 once passed. */
static int ms_left(uint64_t deadline)
{
	uint64_t now;

	if (!deadline)
		return -1;
	now = monotonic_ns();
	if (now >= deadline)
		return 0;
	return (int)MIN((deadline - now + 999999) / 1000000, (uint64_t)INT32_MAX);
}

/* Wait for ev on fd; 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short ev, uint64_t deadline, const char *path)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = ev };
		int left = ms_left(deadline), n;

		if (left == 0)
			return err_setx(-ETIMEDOUT, "control socket %s: no answer in time", path);
		n = poll(&pfd, 1, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(-errno, "poll");
		if (n > 0)
			return 0;
	}
}

static int client_connect(const char *path, uint64_t deadline, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_setx(-ENAMETOOLONG, "control socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(-errno, "socket");
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		ret = -errno;
		if (ret == -EINTR)
			continue;
		if (ret == -EAGAIN) {
			/* The listener's backlog is full: AF_UNIX does not do
			 * EINPROGRESS, so wait a little and retry until the deadline. */
			struct pollfd none = { .fd = -1 };
			int left = ms_left(deadline);

			if (left == 0) {
				ret = err_setx(-ETIMEDOUT, "control socket %s: busy", path);
				goto fail;
			}
			poll(&none, 1, left < 0 || left > 10 ? 10 : left);
			continue;
		}
		if (ret == -ENOENT)
			ret = err_setx(ret, "no control socket at %s", path);
		else if (ret == -ECONNREFUSED)
			ret = err_setx(ret, "nobody listens on %s: the VM is gone", path);
		else if (ret == -EACCES || ret == -EPERM)
			ret = err_setx(-EACCES, "permission denied: %s", path);
		else
			ret = err_set(ret, "connect to %s", path);
		goto fail;
	}
	*out = fd;
	return 0;
fail:
	close(fd);
	return ret;
}

int http_request(const char *sock_path, const char *method, const char *path, const char *body,
		 int timeout_ms, int *status, char **resp_body)
{
	uint64_t deadline = timeout_ms < 0 ? 0 : monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct client_resp r = { 0 };
	http_parser hp;
	char *req = NULL, buf[16384];
	size_t blen = body ? strlen(body) : 0, off = 0;
	bool with_len = body || !strcmp(method, "PUT") || !strcmp(method, "PATCH") ||
			!strcmp(method, "POST");
	int fd = -1, len, ret;

	ret = client_connect(sock_path, deadline, &fd);
	if (ret)
		return ret;
	if (with_len)
		len = asprintf(&req,
			       "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
			       "Content-Type: application/json\r\nContent-Length: %zu\r\n"
			       "Connection: close\r\n\r\n%s",
			       method, path, blen, body ? body : "");
	else
		len = asprintf(&req,
			       "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
			       "Connection: close\r\n\r\n",
			       method, path);
	if (len < 0) {
		req = NULL;
		ret = err_set(-ENOMEM, "request");
		goto out;
	}
	while (off < (size_t)len) {
		ssize_t n = send(fd, req + off, (size_t)len - off, MSG_NOSIGNAL);

		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			ret = wait_fd(fd, POLLOUT, deadline, sock_path);
			if (ret)
				goto out;
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET)
			break; /* the server answered early (403, 503) and closed: read it */
		ret = err_set(-errno, "send to %s", sock_path);
		goto out;
	}
	http_parser_init(&hp, HTTP_RESPONSE);
	hp.data = &r;
	while (!r.done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		size_t used;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ret = wait_fd(fd, POLLIN, deadline, sock_path);
			if (ret)
				goto out;
			continue;
		}
		if (n < 0) {
			ret = err_set(-errno, "read from %s", sock_path);
			goto out;
		}
		/* n == 0 tells http-parser about EOF (bodies read to EOF end there). */
		used = http_parser_execute(&hp, &resp_settings, buf, (size_t)n);
		if (r.done)
			break;
		if (HTTP_PARSER_ERRNO(&hp) != HPE_OK || used != (size_t)n) {
			ret = r.too_big ? err_setx(-EPROTO, "response from %s too large", sock_path)
					: err_setx(-EPROTO, "malformed response from %s: %s",
						   sock_path,
						   http_errno_description(HTTP_PARSER_ERRNO(&hp)));
			goto out;
		}
		if (n == 0) {
			ret = err_setx(-EPROTO, "%s closed the connection %s", sock_path,
				       r.len || hp.status_code ? "mid-response"
							       : "without answering");
			goto out;
		}
	}
	if (!r.body) {
		r.body = malloc(1);
		if (!r.body) {
			ret = err_set(-ENOMEM, "response");
			goto out;
		}
	}
	r.body[r.len] = '\0';
	*status = (int)hp.status_code;
	*resp_body = r.body;
	r.body = NULL;
	ret = 0;
out:
	free(r.body);
	free(req);
	if (fd >= 0)
		close(fd);
	return ret;
}
