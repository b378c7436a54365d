// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP/1.1 over the control socket (see http.h): the request parser (a thin
 * layer over nodejs/http-parser that adds Clone's limits and pipelining),
 * and the server (event-loop thread only: accept, per-connection buffers,
 * non-blocking writes, idle timer, peer-credential check); the blocking
 * client used by the CLI is http_client.c.  No locks: the server has one
 * thread.  Everything a peer sends is untrusted; every buffer a
 * connection owns is bounded (HTTP_MAX_HEADER, HTTP_MAX_BODY, one response).
 */
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOG_TAG "http"
#include "api/http.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/usock.h"
#include "lib/util.h"

/* ======================= parser ======================= */

enum pstate {
	P_HEADERS,  /* request line and headers */
	P_BODY,	    /* headers done, body (if any) coming */
	P_CONTINUE, /* paused after headers to let the caller send 100 Continue */
	P_REQUEST,  /* paused at a whole request */
	P_ERROR,
};

struct http_conn_parser {
	http_parser hp;
	enum pstate state;
	size_t hdr_bytes; /* bytes of request line + headers so far */
	int err_status;
	char err_msg[128];
	/* Header tracking: only Expect matters to us (http-parser handles
	 * Content-Length, Transfer-Encoding and Connection itself). */
	bool in_value;
	bool field_is_expect;
	char field[16];
	size_t field_len;
	char expect[32];
	size_t expect_len;
	char url[HTTP_MAX_HEADER + 1]; /* peer-controlled; bounded by the header limit */
	size_t url_len;
	char *body; /* malloc'ed, Content-Length + 1 */
	size_t body_len, body_cap;
	struct http_request req;
};

static int parser_fail(struct http_conn_parser *p, int status, const char *msg)
{
	p->err_status = status;
	snprintf(p->err_msg, sizeof(p->err_msg), "%s", msg);
	return -1;
}

static int on_url(http_parser *hp, const char *at, size_t len)
{
	struct http_conn_parser *p = hp->data;

	/* The header budget already bounds this; the check keeps it local. */
	if (len > sizeof(p->url) - 1 - p->url_len)
		return parser_fail(p, 414, "request URI too long");
	memcpy(p->url + p->url_len, at, len);
	p->url_len += len;
	return 0;
}

static int on_header_field(http_parser *hp, const char *at, size_t len)
{
	struct http_conn_parser *p = hp->data;

	if (p->in_value) { /* a new header starts */
		p->in_value = false;
		p->field_len = 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (p->field_len < sizeof(p->field) - 1)
			p->field[p->field_len] = at[i];
		p->field_len++; /* keeps counting: longer names match nothing */
	}
	return 0;
}

static int on_header_value(http_parser *hp, const char *at, size_t len)
{
	struct http_conn_parser *p = hp->data;

	if (!p->in_value) {
		p->in_value = true;
		p->field_is_expect = p->field_len == 6 && !strncasecmp(p->field, "expect", 6);
		if (p->field_is_expect)
			p->expect_len = 0; /* the last Expect header counts */
	}
	if (!p->field_is_expect)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (p->expect_len < sizeof(p->expect) - 1)
			p->expect[p->expect_len] = at[i];
		p->expect_len++;
	}
	return 0;
}

static int on_headers_complete(http_parser *hp)
{
	struct http_conn_parser *p = hp->data;
	uint64_t clen = hp->content_length;

	if (hp->upgrade)
		return parser_fail(p, 400, "protocol upgrade (and CONNECT) not supported");
	if (hp->uses_transfer_encoding || (hp->flags & F_CHUNKED))
		return parser_fail(
			p, 411,
			"Transfer-Encoding not supported: send the body with Content-Length");
	if (!(hp->flags & F_CONTENTLENGTH))
		clen = 0;
	if (clen > HTTP_MAX_BODY)
		return parser_fail(p, 413, "request body too large (limit 65536 bytes)");
	p->body_cap = (size_t)clen;
	if (clen) {
		p->body = malloc(p->body_cap + 1);
		if (!p->body)
			return parser_fail(p, 503, "out of memory");
	}
	p->state = P_BODY;
	if (clen && p->expect_len == 12 && !strncasecmp(p->expect, "100-continue", 12) &&
	    hp->http_major == 1 && hp->http_minor >= 1) {
		p->state = P_CONTINUE;
		http_parser_pause(hp, 1);
	}
	return 0;
}

static int on_body(http_parser *hp, const char *at, size_t len)
{
	struct http_conn_parser *p = hp->data;

	/* http-parser never passes more than Content-Length; check anyway. */
	if (len > p->body_cap - p->body_len)
		return parser_fail(p, 400, "body longer than Content-Length");
	memcpy(p->body + p->body_len, at, len);
	p->body_len += len;
	return 0;
}

static int on_message_complete(http_parser *hp)
{
	struct http_conn_parser *p = hp->data;
	struct http_request *r = &p->req;
	char *q;

	p->url[p->url_len] = '\0';
	q = strchr(p->url, '#');
	if (q)
		*q = '\0';
	q = strchr(p->url, '?');
	if (q)
		*q++ = '\0';
	if (p->body)
		p->body[p->body_len] = '\0';
	*r = (struct http_request){
		.method = http_method_str((enum http_method)hp->method),
		.path = p->url,
		.query = q ? q : "",
		.body = p->body ? p->body : "",
		.body_len = p->body_len,
		.keep_alive = http_should_keep_alive(hp) != 0,
	};
	p->state = P_REQUEST;
	http_parser_pause(hp, 1);
	return 0;
}

static const http_parser_settings req_settings = {
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static void parser_reset_request(struct http_conn_parser *p)
{
	free(p->body);
	p->body = NULL;
	p->body_len = p->body_cap = 0;
	p->url_len = 0;
	p->hdr_bytes = 0;
	p->in_value = false;
	p->field_len = 0;
	p->expect_len = 0;
	p->field_is_expect = false;
	memset(&p->req, 0, sizeof(p->req));
}

int http_conn_parser_create(struct http_conn_parser **out)
{
	struct http_conn_parser *p = calloc(1, sizeof(*p));

	if (!p)
		return err_set(-ENOMEM, "http parser");
	http_parser_init(&p->hp, HTTP_REQUEST);
	p->hp.data = p;
	p->state = P_HEADERS;
	*out = p;
	return 0;
}

void http_conn_parser_destroy(struct http_conn_parser *p)
{
	if (!p)
		return;
	free(p->body);
	free(p);
}

enum http_parse_result http_conn_parser_feed(struct http_conn_parser *p, const char *data,
					     size_t len, size_t *consumed)
{
	size_t off = 0;

	*consumed = 0;
	if (p->state == P_ERROR)
		return HTTP_PARSE_ERROR;
	if (p->state == P_REQUEST)
		return HTTP_PARSE_REQUEST;
	if (p->state == P_CONTINUE) { /* the caller has answered it */
		p->state = P_BODY;
		http_parser_pause(&p->hp, 0);
	}
	while (off < len) {
		size_t win = len - off, n;
		enum http_errno e;

		if (p->state == P_HEADERS) {
			/* Give the parser no more than the header budget left, so
			 * headers that do not end within it are caught exactly. */
			if (p->hdr_bytes >= HTTP_MAX_HEADER) {
				p->state = P_ERROR;
				parser_fail(p, 431, "request headers too large (limit 8192 bytes)");
				return HTTP_PARSE_ERROR;
			}
			win = MIN(win, HTTP_MAX_HEADER - p->hdr_bytes);
		}
		n = http_parser_execute(&p->hp, &req_settings, data + off, win);
		if (p->state == P_HEADERS)
			p->hdr_bytes += n;
		off += n;
		*consumed = off;
		e = HTTP_PARSER_ERRNO(&p->hp);
		if (e == HPE_PAUSED) {
			if (p->state == P_REQUEST)
				return HTTP_PARSE_REQUEST;
			if (p->state == P_CONTINUE)
				return HTTP_PARSE_CONTINUE;
			/* not reached: we pause only in those two states */
			p->state = P_ERROR;
			parser_fail(p, 400, "internal parser state");
			return HTTP_PARSE_ERROR;
		}
		if (e != HPE_OK) {
			if (!p->err_status) { /* a syntax error found by http-parser */
				p->err_status = 400;
				snprintf(p->err_msg, sizeof(p->err_msg), "malformed request: %s",
					 http_errno_description(e));
			}
			p->state = P_ERROR;
			return HTTP_PARSE_ERROR;
		}
		if (n < win) { /* cannot happen without an error or a pause */
			p->state = P_ERROR;
			parser_fail(p, 400, "malformed request");
			return HTTP_PARSE_ERROR;
		}
	}
	return HTTP_PARSE_MORE;
}

const struct http_request *http_conn_parser_request(const struct http_conn_parser *p)
{
	return p->state == P_REQUEST ? &p->req : NULL;
}

void http_conn_parser_next(struct http_conn_parser *p)
{
	if (p->state != P_REQUEST)
		return;
	parser_reset_request(p);
	p->state = P_HEADERS;
	http_parser_pause(&p->hp, 0);
}

int http_conn_parser_error(const struct http_conn_parser *p, const char **msg)
{
	if (p->state != P_ERROR) {
		if (msg)
			*msg = "";
		return 0;
	}
	if (msg)
		*msg = p->err_msg;
	return p->err_status;
}

/* ======================= responses ======================= */

static const char *reason(int status)
{
	const char *s = http_status_str((enum http_status)status);

	return strcmp(s, "<unknown>") ? s : "Unknown";
}

/* The whole response as one malloc'ed buffer. */
static char *format_response(int status, const char *json, bool keep_alive, size_t *len)
{
	size_t blen = 0;
	char *buf = NULL, hdr[256];
	int h;

	if (status == 204 || status == 304 || (status >= 100 && status < 200))
		json = NULL;
	if (json)
		blen = strlen(json);
	if (json)
		h = snprintf(hdr, sizeof(hdr),
			     "HTTP/1.1 %d %s\r\nServer: clone\r\nContent-Type: application/json\r\n"
			     "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
			     status, reason(status), blen, keep_alive ? "keep-alive" : "close");
	else if (status == 204 || status == 304)
		h = snprintf(hdr, sizeof(hdr),
			     "HTTP/1.1 %d %s\r\nServer: clone\r\nConnection: %s\r\n\r\n", status,
			     reason(status), keep_alive ? "keep-alive" : "close");
	else /* frame the empty body, or the client would read to EOF */
		h = snprintf(hdr, sizeof(hdr),
			     "HTTP/1.1 %d %s\r\nServer: clone\r\nContent-Length: 0\r\n"
			     "Connection: %s\r\n\r\n",
			     status, reason(status), keep_alive ? "keep-alive" : "close");
	if (h < 0 || (size_t)h >= sizeof(hdr))
		return NULL;
	buf = malloc((size_t)h + blen);
	if (!buf)
		return NULL;
	memcpy(buf, hdr, (size_t)h);
	if (blen)
		memcpy(buf + h, json, blen);
	*len = (size_t)h + blen;
	return buf;
}

/* {"fault_message": msg} as a malloc'ed string, or NULL. */
static char *fault_json(const char *msg)
{
	json_t *o = json_pack("{s:s}", "fault_message", msg);
	char *s;

	if (!o) /* msg was not UTF-8: say so rather than nothing */
		o = json_pack("{s:s}", "fault_message", "(message not UTF-8)");
	if (!o)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* ======================= server ======================= */

#define IN_BUF_SIZE 16384

struct http_server {
	struct evloop *loop;
	int fd;
	char *path;
	struct http_server_config cfg;
	struct http_conn *conns;
	unsigned nr_conns;
	int idle_timer;		/* periodic, only while connections exist; -1 otherwise */
	int accept_retry_timer; /* one-shot after EMFILE; -1 otherwise */
	bool accept_paused;
};

struct http_conn {
	struct http_server *srv;
	struct http_conn *next, **pprev;
	int fd;
	uid_t uid;
	pid_t pid;
	struct http_conn_parser *parser;
	char in[IN_BUF_SIZE]; /* bytes read but not yet parsed */
	size_t in_off, in_len;
	char *out; /* the pending response, one at a time */
	size_t out_off, out_len;
	bool busy;	 /* a request was handed to the handler and not answered yet */
	bool keep_alive; /* of the open request */
	bool close_after_flush;
	bool peer_eof;	      /* the client shut its write side */
	bool in_process;      /* conn_process() is on the stack */
	bool destroy_pending; /* close as soon as conn_process() unwinds */
	uint32_t events;      /* what epoll watches now */
	uint64_t deadline_ns; /* idle: close if no request completes before this */
	void (*on_close)(void *opaque);
	void *close_opaque;
};

static void conn_process(struct http_conn *c);

static void conn_free(struct http_conn *c)
{
	struct http_server *s = c->srv;

	if (c->busy && c->on_close) {
		void (*fn)(void *) = c->on_close;

		c->on_close = NULL;
		fn(c->close_opaque);
	}
	evl_del(s->loop, c->fd);
	close(c->fd);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	s->nr_conns--;
	if (!s->nr_conns && s->idle_timer >= 0) {
		evl_del(s->loop, s->idle_timer);
		s->idle_timer = -1;
	}
	if (s->accept_paused) {
		s->accept_paused = false;
		evl_mod(s->loop, s->fd, EPOLLIN);
	}
	http_conn_parser_destroy(c->parser);
	free(c->out);
	free(c);
}

/* Close now, or once the conn_process() frame on the stack returns. */
static void conn_close(struct http_conn *c)
{
	if (c->in_process)
		c->destroy_pending = true;
	else
		conn_free(c);
}

static void conn_set_events(struct http_conn *c, uint32_t ev)
{
	if (ev == c->events)
		return;
	if (evl_mod(c->srv->loop, c->fd, ev) == 0)
		c->events = ev;
}

/* Write what we can; false if the connection is broken (then it is closing). */
static bool conn_flush(struct http_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			c->destroy_pending = true;
			conn_close(c);
			return false;
		}
		c->out_off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->out_off = c->out_len = 0;
	return true;
}

/* Queue a response (at most one is pending: we parse nothing while one is). */
static bool conn_queue(struct http_conn *c, int status, const char *json, bool keep_alive)
{
	size_t len;
	char *buf = format_response(status, json, keep_alive, &len);

	if (!buf) {
		log_warn_rl("out of memory for a response: closing the connection");
		c->destroy_pending = true;
		conn_close(c);
		return false;
	}
	if (c->out) { /* a 100 Continue still pending: append */
		char *both = realloc(c->out, c->out_len + len);

		if (!both) {
			free(buf);
			c->destroy_pending = true;
			conn_close(c);
			return false;
		}
		memcpy(both + c->out_len, buf, len);
		free(buf);
		c->out = both;
		c->out_len += len;
	} else {
		c->out = buf;
		c->out_len = len;
		c->out_off = 0;
	}
	return conn_flush(c);
}

static void conn_queue_error(struct http_conn *c, int status, const char *msg)
{
	char *j = fault_json(msg);

	c->close_after_flush = true;
	conn_queue(c, status, j, false);
	free(j);
}

void http_conn_on_close(struct http_conn *c, void (*fn)(void *opaque), void *opaque)
{
	c->on_close = fn;
	c->close_opaque = opaque;
}

void http_reply(struct http_conn *c, int status, const char *json)
{
	struct http_server *s = c->srv;

	if (!c->busy) /* not an open request: a caller bug, do nothing rather than corrupt */
		return;
	c->busy = false;
	c->on_close = NULL;
	c->close_opaque = NULL;
	if (!c->keep_alive)
		c->close_after_flush = true;
	http_conn_parser_next(c->parser);
	c->deadline_ns = monotonic_ns() + (uint64_t)s->cfg.idle_timeout_ms * 1000000ull;
	if (!conn_queue(c, status, json, c->keep_alive))
		return; /* closing (now, or when conn_process() unwinds) */
	if (!c->in_process)
		conn_process(c); /* an asynchronous answer: carry on with the connection */
}

void http_reply_error(struct http_conn *c, int status, const char *fmt, ...)
{
	char msg[512], *j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	j = fault_json(msg);
	if (!j) { /* still answer: the handle must be consumed */
		http_reply(c, 500, NULL);
		return;
	}
	http_reply(c, status, j);
	free(j);
}

/*
 * Drive one connection as far as it can go without blocking: flush, parse
 * buffered bytes, hand a request to the handler, read more.  Stops while a
 * request is open (one at a time, in order) or output is pending.
 */
static void conn_process(struct http_conn *c)
{
	c->in_process = true;
	while (!c->destroy_pending) {
		enum http_parse_result r;
		size_t used;

		if (c->out && !conn_flush(c))
			break;
		if (c->out) { /* the socket is full: wait for room */
			conn_set_events(c, EPOLLOUT);
			break;
		}
		if (c->close_after_flush) {
			c->destroy_pending = true;
			break;
		}
		if (c->busy) { /* wait for http_reply(); only hang-ups matter now */
			conn_set_events(c, 0);
			break;
		}
		if (c->in_off == c->in_len) {
			ssize_t n;

			if (c->peer_eof) {
				c->destroy_pending = true;
				break;
			}
			c->in_off = c->in_len = 0;
			n = recv(c->fd, c->in, sizeof(c->in), MSG_DONTWAIT);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				conn_set_events(c, EPOLLIN);
				break;
			}
			if (n < 0) {
				c->destroy_pending = true;
				break;
			}
			if (n == 0) {
				c->peer_eof = true;
				continue;
			}
			c->in_len = (size_t)n;
		}
		r = http_conn_parser_feed(c->parser, c->in + c->in_off, c->in_len - c->in_off,
					  &used);
		c->in_off += used;
		switch (r) {
		case HTTP_PARSE_MORE:
			break;
		case HTTP_PARSE_CONTINUE:
			/* RFC 9110 §10.1.1: tell the client to send the body. */
			c->out = strdup("HTTP/1.1 100 Continue\r\n\r\n");
			if (!c->out) {
				c->destroy_pending = true;
				break;
			}
			c->out_len = strlen(c->out);
			c->out_off = 0;
			break;
		case HTTP_PARSE_ERROR: {
			const char *msg;
			int status = http_conn_parser_error(c->parser, &msg);

			log_warn_rl("control socket: uid %u pid %d: %s", (unsigned)c->uid,
				    (int)c->pid, msg);
			conn_queue_error(c, status, msg);
			break;
		}
		case HTTP_PARSE_REQUEST: {
			struct http_request *req =
				(struct http_request *)http_conn_parser_request(c->parser);

			req->uid = c->uid;
			req->pid = c->pid;
			c->busy = true;
			c->keep_alive = req->keep_alive;
			c->srv->cfg.handler(c->srv->cfg.opaque, c, req);
			break;
		}
		}
	}
	c->in_process = false;
	if (c->destroy_pending)
		conn_free(c);
}

static void conn_event(void *opaque, uint32_t events)
{
	struct http_conn *c = opaque;

	if (events & (EPOLLHUP | EPOLLERR)) {
		/* The client is gone: nothing can be answered any more. */
		conn_free(c);
		return;
	}
	conn_process(c);
}

static void idle_tick(void *opaque, uint32_t events)
{
	struct http_server *s = opaque;
	uint64_t now = monotonic_ns();
	struct http_conn *c = s->conns, *next;

	for (; c; c = next) {
		next = c->next;
		/* An open request belongs to its handler (it may wait long);
		 * anything else, a partial request or an unread answer, times out. */
		if (!c->busy && now >= c->deadline_ns) {
			log_debug("closing idle connection (uid %u pid %d)", (unsigned)c->uid,
				  (int)c->pid);
			conn_free(c);
		}
	}
}

/* Answer on a connection we will not serve, without waiting for its request. */
static void refuse(int fd, int status, const char *msg)
{
	size_t len;
	char *j = fault_json(msg), *buf = format_response(status, j, false, &len);

	if (buf)
		(void)!send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(buf);
	free(j);
	close(fd);
}

static void accept_retry(void *opaque, uint32_t events)
{
	struct http_server *s = opaque;

	evl_del(s->loop, s->accept_retry_timer);
	s->accept_retry_timer = -1;
	if (s->accept_paused) {
		s->accept_paused = false;
		evl_mod(s->loop, s->fd, EPOLLIN);
	}
}

static void accept_one(struct http_server *s, int fd)
{
	struct ucred cred;
	struct http_conn *c;
	int ret;

	ret = usock_peer_owner(fd, &cred);
	if (ret && ret != -EACCES) {
		log_warn_rl("SO_PEERCRED: %s", strerror(-ret));
		close(fd);
		return;
	}
	if (ret) {
		char msg[128];

		log_warn_rl("control socket: refused uid %u pid %d (not the owner)",
			    (unsigned)cred.uid, (int)cred.pid);
		snprintf(msg, sizeof(msg), "permission denied: uid %u does not own this VM",
			 (unsigned)cred.uid);
		refuse(fd, 403, msg);
		return;
	}
	if (s->nr_conns >= s->cfg.max_conns) {
		log_warn_rl("control socket: too many connections (%u), refusing pid %d",
			    s->nr_conns, (int)cred.pid);
		refuse(fd, 503, "too many connections to the control socket");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || http_conn_parser_create(&c->parser)) {
		free(c);
		refuse(fd, 503, "out of memory");
		return;
	}
	c->srv = s;
	c->fd = fd;
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->events = EPOLLIN;
	c->deadline_ns = monotonic_ns() + (uint64_t)s->cfg.idle_timeout_ms * 1000000ull;
	ret = evl_add(s->loop, fd, EPOLLIN, conn_event, c);
	if (ret) {
		log_warn_rl("control socket: %s", err_msg());
		http_conn_parser_destroy(c->parser);
		free(c);
		close(fd);
		return;
	}
	c->next = s->conns;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &s->conns;
	s->conns = c;
	s->nr_conns++;
	if (s->idle_timer < 0) {
		uint64_t period = (uint64_t)s->cfg.idle_timeout_ms * 1000000ull / 4;

		period = MAX(period, 10 * 1000000ull);
		period = MIN(period, 5000 * 1000000ull);
		ret = evl_timer(s->loop, period, period, idle_tick, s);
		if (ret >= 0)
			s->idle_timer = ret;
		else
			log_warn("control socket: no idle timer: %s", err_msg());
	}
}

static void listen_event(void *opaque, uint32_t events)
{
	struct http_server *s = opaque;

	for (;;) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			accept_one(s, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		/* EMFILE and friends: the listen fd stays readable, so stop
		 * watching it until a connection closes or 100 ms pass. */
		log_warn_rl("control socket: accept: %s", strerror(errno));
		if (!s->accept_paused && evl_mod(s->loop, s->fd, 0) == 0) {
			s->accept_paused = true;
			if (s->accept_retry_timer < 0) {
				int t = evl_timer(s->loop, 100 * 1000000ull, 0, accept_retry, s);

				if (t >= 0)
					s->accept_retry_timer = t;
			}
		}
		return;
	}
}

int http_server_create(struct evloop *loop, const char *sock_path,
		       const struct http_server_config *cfg, struct http_server **out)
{
	struct http_server *s;
	int ret;

	if (!cfg || !cfg->handler)
		return err_setx(-EINVAL, "control socket: no handler");
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(-ENOMEM, "control socket");
	s->loop = loop;
	s->fd = s->idle_timer = s->accept_retry_timer = -1;
	s->cfg = *cfg;
	if (!s->cfg.max_conns)
		s->cfg.max_conns = HTTP_MAX_CONNS;
	if (!s->cfg.idle_timeout_ms)
		s->cfg.idle_timeout_ms = HTTP_IDLE_TIMEOUT_MS;
	s->fd = usock_listen("control socket", sock_path, 64);
	if (s->fd < 0) {
		ret = s->fd;
		goto fail_nopath;
	}
	s->path = strdup(sock_path);
	if (!s->path) {
		unlink(sock_path);
		ret = err_set(-ENOMEM, "control socket");
		goto fail_nopath;
	}
	ret = evl_add(loop, s->fd, EPOLLIN, listen_event, s);
	if (ret)
		goto fail;
	*out = s;
	return 0;
fail:
	http_server_destroy(s);
	return ret;
fail_nopath:
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return ret;
}

void http_server_destroy(struct http_server *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_free(s->conns);
	if (s->idle_timer >= 0)
		evl_del(s->loop, s->idle_timer);
	if (s->accept_retry_timer >= 0)
		evl_del(s->loop, s->accept_retry_timer);
	if (s->fd >= 0) {
		evl_del(s->loop, s->fd);
		close(s->fd);
	}
	if (s->path)
		unlink(s->path);
	free(s->path);
	free(s);
}

unsigned http_server_nr_conns(const struct http_server *s)
{
	return s->nr_conns;
}
