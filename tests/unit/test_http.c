// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: src/api/http.c.  The request parser on its own (splits at
 * every byte, pipelining, limits, malformed input, chunked refused,
 * 100-continue), then a real server on a temporary socket, its event loop
 * running on a thread of the test, driven by the real client and by raw
 * sockets: keep-alive, pipelining, limits over the wire, the connection cap,
 * idle close, asynchronous answers and disconnects, socket mode, stale
 * sockets, the peer-credential check (as root) and the client's errors.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/http.h"
#include "lib/log.h"

/* ---------------- parser ---------------- */

struct parsed {
	char method[16], path[256], query[256], body[1024];
	size_t body_len;
	bool keep_alive;
};

/*
 * Feed buf in pieces of at most step bytes (0: all at once); collect up to
 * max requests; returns their count, or -status on a parse error.
 */
static int parse_all(const char *buf, size_t len, size_t step, struct parsed *out, int max,
		     int *continues)
{
	struct http_conn_parser *p;
	size_t off = 0;
	int n = 0;

	cr_assert_eq(http_conn_parser_create(&p), 0);
	if (continues)
		*continues = 0;
	while (off < len) {
		size_t piece = step ? (len - off < step ? len - off : step) : len - off;
		size_t used, fed = 0;
		enum http_parse_result r;

		while (fed < piece) {
			r = http_conn_parser_feed(p, buf + off + fed, piece - fed, &used);
			fed += used;
			if (r == HTTP_PARSE_ERROR) {
				int st = http_conn_parser_error(p, NULL);

				http_conn_parser_destroy(p);
				return -st;
			}
			if (r == HTTP_PARSE_CONTINUE && continues)
				(*continues)++;
			if (r == HTTP_PARSE_REQUEST) {
				const struct http_request *rq = http_conn_parser_request(p);

				cr_assert(n < max);
				snprintf(out[n].method, sizeof(out[n].method), "%s", rq->method);
				snprintf(out[n].path, sizeof(out[n].path), "%s", rq->path);
				snprintf(out[n].query, sizeof(out[n].query), "%s", rq->query);
				cr_assert(rq->body_len < sizeof(out[n].body));
				memcpy(out[n].body, rq->body, rq->body_len + 1);
				cr_assert_eq(rq->body[rq->body_len], '\0');
				out[n].body_len = rq->body_len;
				out[n].keep_alive = rq->keep_alive;
				n++;
				http_conn_parser_next(p);
			}
			if (r == HTTP_PARSE_MORE)
				cr_assert_eq(fed, piece);
		}
		off += piece;
	}
	http_conn_parser_destroy(p);
	return n;
}

static const char three[] =
	"PUT /actions HTTP/1.1\r\nHost: x\r\nContent-Length: 26\r\n\r\n"
	"{\"action_type\":\"Shutdown\"}"
	"GET /clone/agent?wait_ms=5#frag HTTP/1.1\r\n\r\n"
	"PATCH /vm HTTP/1.1\r\ncontent-length: 3\r\nConnection: close\r\n\r\nabc";

static void check_three(const struct parsed *r)
{
	cr_assert_str_eq(r[0].method, "PUT");
	cr_assert_str_eq(r[0].path, "/actions");
	cr_assert_str_eq(r[0].query, "");
	cr_assert_str_eq(r[0].body, "{\"action_type\":\"Shutdown\"}");
	cr_assert_eq(r[0].body_len, 26);
	cr_assert(r[0].keep_alive);
	cr_assert_str_eq(r[1].method, "GET");
	cr_assert_str_eq(r[1].path, "/clone/agent");
	cr_assert_str_eq(r[1].query, "wait_ms=5");
	cr_assert_eq(r[1].body_len, 0);
	cr_assert_str_eq(r[2].method, "PATCH");
	cr_assert_str_eq(r[2].body, "abc");
	cr_assert_not(r[2].keep_alive);
}

Test(http_parser, pipelined_at_once)
{
	struct parsed r[4];

	cr_assert_eq(parse_all(three, sizeof(three) - 1, 0, r, 4, NULL), 3);
	check_three(r);
}

Test(http_parser, split_anywhere)
{
	size_t len = sizeof(three) - 1;
	struct parsed r[4];

	for (size_t step = 1; step <= 7; step++) {
		cr_assert_eq(parse_all(three, len, step, r, 4, NULL), 3, "step %zu", step);
		check_three(r);
	}
	/* Two pieces split at every position. */
	for (size_t cut = 1; cut < len; cut++) {
		struct http_conn_parser *p;
		size_t used, off = 0;
		int n = 0;

		cr_assert_eq(http_conn_parser_create(&p), 0);
		for (int part = 0; part < 2; part++) {
			size_t end = part ? len : cut;

			while (off < end) {
				enum http_parse_result res =
					http_conn_parser_feed(p, three + off, end - off, &used);

				off += used;
				cr_assert_neq(res, HTTP_PARSE_ERROR, "cut %zu", cut);
				if (res == HTTP_PARSE_REQUEST) {
					n++;
					http_conn_parser_next(p);
				}
			}
		}
		cr_assert_eq(n, 3, "cut %zu", cut);
		http_conn_parser_destroy(p);
	}
}

Test(http_parser, one_request_at_a_time)
{
	struct http_conn_parser *p;
	size_t used;

	cr_assert_eq(http_conn_parser_create(&p), 0);
	cr_assert_eq(http_conn_parser_feed(p, three, sizeof(three) - 1, &used), HTTP_PARSE_REQUEST);
	cr_assert_eq(used, (size_t)(strstr(three, "GET") - three));
	/* Until next(), the same request stays and nothing more is taken. */
	cr_assert_eq(http_conn_parser_feed(p, three + used, 10, &used), HTTP_PARSE_REQUEST);
	cr_assert_eq(used, 0);
	cr_assert_str_eq(http_conn_parser_request(p)->path, "/actions");
	http_conn_parser_next(p);
	cr_assert_null(http_conn_parser_request(p));
	http_conn_parser_destroy(p);
}

Test(http_parser, body_limit)
{
	char hdr[128];
	char *buf = malloc(HTTP_MAX_BODY + 256);
	struct http_conn_parser *p;
	size_t used;
	int h;

	h = snprintf(hdr, sizeof(hdr), "PUT /x HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
		     HTTP_MAX_BODY);
	memcpy(buf, hdr, (size_t)h);
	memset(buf + h, 'a', HTTP_MAX_BODY);
	cr_assert_eq(http_conn_parser_create(&p), 0);
	cr_assert_eq(http_conn_parser_feed(p, buf, (size_t)h + HTTP_MAX_BODY, &used),
		     HTTP_PARSE_REQUEST);
	cr_assert_eq(http_conn_parser_request(p)->body_len, HTTP_MAX_BODY);
	http_conn_parser_destroy(p);

	h = snprintf(hdr, sizeof(hdr), "PUT /x HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
		     HTTP_MAX_BODY + 1);
	cr_assert_eq(http_conn_parser_create(&p), 0);
	cr_assert_eq(http_conn_parser_feed(p, hdr, (size_t)h, &used), HTTP_PARSE_ERROR);
	cr_assert_eq(http_conn_parser_error(p, NULL), 413);
	/* Errors are final. */
	cr_assert_eq(http_conn_parser_feed(p, "GET / HTTP/1.1\r\n\r\n", 18, &used),
		     HTTP_PARSE_ERROR);
	http_conn_parser_destroy(p);

	/* Absurd lengths are refused, not overflowed. */
	cr_assert_eq(parse_all("PUT /x HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 48, 0,
			       NULL, 0, NULL),
		     -413);
	cr_assert_eq(parse_all("PUT /x HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
			       57, 0, NULL, 0, NULL),
		     -400);
	free(buf);
}

static int parse_with_header(size_t total)
{
	const char *start = "GET / HTTP/1.1\r\nX-Pad: ";
	char *buf = malloc(total + 1);
	struct parsed r[1];
	int ret;

	/* exactly total bytes of request line + headers */
	snprintf(buf, total + 1, "%s", start);
	memset(buf + strlen(start), 'p', total - strlen(start) - 4);
	memcpy(buf + total - 4, "\r\n\r\n", 4);
	ret = parse_all(buf, total, 0, r, 1, NULL);
	free(buf);
	return ret;
}

Test(http_parser, header_limit)
{
	cr_assert_eq(parse_with_header(HTTP_MAX_HEADER), 1);
	cr_assert_eq(parse_with_header(HTTP_MAX_HEADER + 1), -431);
	cr_assert_eq(parse_with_header(100000), -431);
}

Test(http_parser, malformed)
{
	static const char *const bad[] = {
		"GARBAGE\r\n\r\n",
		"GET\r\n\r\n",
		"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
		"GET /a\x01 HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse_all(bad[i], strlen(bad[i]), 0, NULL, 0, NULL), -400, "case %zu",
			     i);
	/* A NUL in the request line */
	cr_assert_eq(parse_all("GET /\0 HTTP/1.1\r\n\r\n", 19, 0, NULL, 0, NULL), -400);
	/* Upgrade and CONNECT */
	cr_assert_eq(parse_all("CONNECT a:1 HTTP/1.1\r\n\r\n", 24, 0, NULL, 0, NULL), -400);
	{
		const char *u =
			"GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";

		cr_assert_eq(parse_all(u, strlen(u), 0, NULL, 0, NULL), -400);
	}
}

Test(http_parser, chunked_refused)
{
	const char *c =
		"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
	const char *g = "PUT /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n";
	struct http_conn_parser *p;
	const char *msg;
	size_t used;

	cr_assert_eq(http_conn_parser_create(&p), 0);
	cr_assert_eq(http_conn_parser_feed(p, c, strlen(c), &used), HTTP_PARSE_ERROR);
	cr_assert_eq(http_conn_parser_error(p, &msg), 411);
	cr_assert(strstr(msg, "Content-Length"));
	http_conn_parser_destroy(p);
	cr_assert_lt(parse_all(g, strlen(g), 0, NULL, 0, NULL), 0);
}

Test(http_parser, expect_continue)
{
	const char *e = "PUT /x HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nhi";
	struct parsed r[1];
	int cont;

	cr_assert_eq(parse_all(e, strlen(e), 0, r, 1, &cont), 1);
	cr_assert_eq(cont, 1);
	cr_assert_str_eq(r[0].body, "hi");
	for (size_t step = 1; step < 5; step++) {
		cr_assert_eq(parse_all(e, strlen(e), step, r, 1, &cont), 1);
		cr_assert_eq(cont, 1);
	}
	/* No body, no 100 Continue */
	e = "GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n";
	cr_assert_eq(parse_all(e, strlen(e), 0, r, 1, &cont), 1);
	cr_assert_eq(cont, 0);
}

Test(http_parser, keep_alive_rules)
{
	struct parsed r[1];
	const char *a = "GET / HTTP/1.0\r\n\r\n";
	const char *b = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
	const char *c = "GET /?a=b HTTP/1.1\r\nConnection: close\r\n\r\n";

	cr_assert_eq(parse_all(a, strlen(a), 0, r, 1, NULL), 1);
	cr_assert_not(r[0].keep_alive);
	cr_assert_eq(parse_all(b, strlen(b), 0, r, 1, NULL), 1);
	cr_assert(r[0].keep_alive);
	cr_assert_eq(parse_all(c, strlen(c), 0, r, 1, NULL), 1);
	cr_assert_not(r[0].keep_alive);
	cr_assert_str_eq(r[0].path, "/");
	cr_assert_str_eq(r[0].query, "a=b");
}

/* ---------------- server ---------------- */

static struct evloop loop;
static pthread_t loop_thread;
static struct http_server *srv;
static char dir[64], sock[128];
static int signal_fd = -1;	 /* eventfd: the handler parked an async request */
static struct http_conn *parked; /* loop thread only */
static int parked_closed;	 /* loop thread writes; read after a sync point */
static volatile int wake_action; /* what wake_fn does on the loop thread */

static void on_parked_close(void *opaque)
{
	parked = NULL;
	__atomic_add_fetch(&parked_closed, 1, __ATOMIC_SEQ_CST);
	(void)!write(signal_fd, &(uint64_t){ 1 }, 8);
}

static void handler(void *opaque, struct http_conn *conn, const struct http_request *req)
{
	char out[512];

	if (!strcmp(req->path, "/async")) {
		parked = conn;
		http_conn_on_close(conn, on_parked_close, NULL);
		(void)!write(signal_fd, &(uint64_t){ 1 }, 8);
		return;
	}
	if (!strcmp(req->path, "/empty")) {
		http_reply(conn, 204, NULL);
		return;
	}
	if (!strcmp(req->path, "/error")) {
		http_reply_error(conn, 400, "bad \"thing\" %d", 7);
		return;
	}
	snprintf(out, sizeof(out),
		 "{\"method\":\"%s\",\"path\":\"%s\",\"query\":\"%s\",\"body_len\":%zu,\"uid\":%u}",
		 req->method, req->path, req->query, req->body_len, (unsigned)req->uid);
	http_reply(conn, 200, out);
}

static void wake_fn(void *opaque)
{
	if (wake_action == 1 && parked) { /* answer the parked request */
		struct http_conn *c = parked;

		parked = NULL;
		http_reply(c, 200, "{\"late\":true}");
	}
}

static void *loop_main(void *arg)
{
	evl_run(&loop);
	return NULL;
}

static void start(unsigned max_conns, unsigned idle_ms)
{
	struct http_server_config cfg = { .handler = handler,
					  .max_conns = max_conns,
					  .idle_timeout_ms = idle_ms };

	log_set_level(LOG_ERR);
	strcpy(dir, "/tmp/clone-http-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	cr_assert_eq(evl_init(&loop), 0);
	loop.wake_fn = wake_fn;
	signal_fd = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
	cr_assert_eq(http_server_create(&loop, sock, &cfg, &srv), 0);
	cr_assert_eq(pthread_create(&loop_thread, NULL, loop_main, NULL), 0);
}

static void stop(void)
{
	evl_stop(&loop);
	pthread_join(loop_thread, NULL);
	http_server_destroy(srv);
	srv = NULL;
	cr_assert_eq(access(sock, F_OK), -1, "socket file left behind");
	evl_destroy(&loop);
	close(signal_fd);
	rmdir(dir);
}

static void start_default(void)
{
	start(0, 0);
}

static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, sock);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void raw_send(int fd, const char *s)
{
	cr_assert_eq(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Read until `want` occurrences of "HTTP/1.1 " and their bodies, or EOF; 5 s at most. */
static size_t raw_read(int fd, char *buf, size_t cap, const char *until)
{
	size_t len = 0;

	buf[0] = '\0';
	while (len < cap - 1 && (!until || !strstr(buf, until))) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		cr_assert_eq(poll(&p, 1, 5000), 1, "no answer; have: %s", buf);
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
	}
	return len;
}

/* True if the peer closed (EOF) within 5 s. */
static bool raw_eof(int fd)
{
	char c;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 5000) != 1)
		return false;
	return recv(fd, &c, 1, 0) <= 0;
}

static void wait_signal(void)
{
	struct pollfd p = { .fd = signal_fd, .events = POLLIN };
	uint64_t v;

	cr_assert_eq(poll(&p, 1, 5000), 1, "handler not reached");
	cr_assert_eq(read(signal_fd, &v, 8), 8);
}

Test(http_server, client_round_trip, .init = start_default, .fini = stop)
{
	struct stat st;
	char *body;
	int status;

	cr_assert_eq(stat(sock, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(http_request(sock, "PUT", "/a/b?x=1", "{\"k\":1}", 5000, &status, &body), 0);
	cr_assert_eq(status, 200);
	cr_assert(strstr(body, "\"method\":\"PUT\""), "%s", body);
	cr_assert(strstr(body, "\"path\":\"/a/b\""));
	cr_assert(strstr(body, "\"query\":\"x=1\""));
	cr_assert(strstr(body, "\"body_len\":7"));
	free(body);
	cr_assert_eq(http_request(sock, "GET", "/empty", NULL, 5000, &status, &body), 0);
	cr_assert_eq(status, 204);
	cr_assert_str_eq(body, "");
	free(body);
	cr_assert_eq(http_request(sock, "GET", "/error", NULL, 5000, &status, &body), 0);
	cr_assert_eq(status, 400);
	cr_assert_str_eq(body, "{\"fault_message\":\"bad \\\"thing\\\" 7\"}");
	free(body);
}

Test(http_server, keep_alive_and_pipelining, .init = start_default, .fini = stop)
{
	char buf[8192];
	int fd = raw_connect();
	const char *p;
	int n = 0;

	raw_send(fd, "GET /one HTTP/1.1\r\n\r\nPUT /two HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET "
		     "/thr");
	raw_send(fd, "ee HTTP/1.1\r\n\r\n");
	raw_read(fd, buf, sizeof(buf), "/three");
	for (p = buf; (p = strstr(p, "HTTP/1.1 200 OK\r\n")); p++)
		n++;
	cr_assert_eq(n, 3, "%s", buf);
	cr_assert(strstr(buf, "Server: clone\r\n"));
	cr_assert(strstr(buf, "Connection: keep-alive\r\n"));
	cr_assert(strstr(buf, "Content-Type: application/json\r\n"));
	cr_assert_lt(strstr(buf, "/one"), strstr(buf, "/two"));
	cr_assert_lt(strstr(buf, "/two"), strstr(buf, "/three"));
	/* Still open: a fourth request on the same connection. */
	raw_send(fd, "GET /four HTTP/1.1\r\nConnection: close\r\n\r\n");
	raw_read(fd, buf, sizeof(buf), NULL);
	cr_assert(strstr(buf, "/four"));
	cr_assert(strstr(buf, "Connection: close\r\n"));
	close(fd);
}

Test(http_server, expect_continue, .init = start_default, .fini = stop)
{
	char buf[4096];
	int fd = raw_connect();

	raw_send(fd, "PUT /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
	raw_read(fd, buf, sizeof(buf), "\r\n\r\n");
	cr_assert_str_eq(buf, "HTTP/1.1 100 Continue\r\n\r\n");
	raw_send(fd, "abcd");
	raw_read(fd, buf, sizeof(buf), "}");
	cr_assert(strstr(buf, "HTTP/1.1 200 OK") && strstr(buf, "\"body_len\":4"), "%s", buf);
	close(fd);
}

Test(http_server, limits_over_the_wire, .init = start_default, .fini = stop)
{
	char buf[4096];
	int fd = raw_connect();

	raw_send(fd, "PUT /x HTTP/1.1\r\nContent-Length: 70000\r\n\r\n");
	raw_read(fd, buf, sizeof(buf), NULL);
	cr_assert(strstr(buf, "HTTP/1.1 413 Payload Too Large\r\n"), "%s", buf);
	cr_assert(strstr(buf, "Connection: close"));
	cr_assert(strstr(buf, "\"fault_message\""));
	close(fd);

	fd = raw_connect();
	raw_send(fd, "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	raw_read(fd, buf, sizeof(buf), NULL);
	cr_assert(strstr(buf, "HTTP/1.1 411 Length Required\r\n"), "%s", buf);
	close(fd);

	fd = raw_connect();
	raw_send(fd, "BLAH\r\n\r\n");
	raw_read(fd, buf, sizeof(buf), NULL);
	cr_assert(strstr(buf, "HTTP/1.1 400 Bad Request\r\n"), "%s", buf);
	close(fd);

	/* 20 KiB of headers: refused once 8 KiB have gone by */
	fd = raw_connect();
	{
		static char big[20000];

		memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
		memset(big + 19, 'a', sizeof(big) - 20);
		big[sizeof(big) - 1] = '\0';
		(void)!send(fd, big, strlen(big), MSG_NOSIGNAL);
	}
	raw_read(fd, buf, sizeof(buf), NULL);
	cr_assert(strstr(buf, "HTTP/1.1 431 "), "%s", buf);
	close(fd);
}

Test(http_server, connection_cap, .init = start_default, .fini = stop)
{
	int fds[HTTP_MAX_CONNS + 1];
	char buf[1024];
	char *body;
	int status;

	for (int i = 0; i < HTTP_MAX_CONNS; i++) {
		fds[i] = raw_connect();
		/* A round trip on each: the server has accepted it. */
		raw_send(fds[i], "GET /p HTTP/1.1\r\n\r\n");
		raw_read(fds[i], buf, sizeof(buf), "}");
	}
	fds[HTTP_MAX_CONNS] = raw_connect();
	raw_read(fds[HTTP_MAX_CONNS], buf, sizeof(buf), NULL);
	cr_assert(strstr(buf, "HTTP/1.1 503 Service Unavailable\r\n"), "%s", buf);
	cr_assert(strstr(buf, "too many connections"));
	close(fds[HTTP_MAX_CONNS]);
	/* The client sees the 503 as an answer too. */
	cr_assert_eq(http_request(sock, "GET", "/", NULL, 5000, &status, &body), 0);
	cr_assert_eq(status, 503);
	free(body);
	/* Free one slot: served again. */
	raw_send(fds[0], "GET /p HTTP/1.1\r\nConnection: close\r\n\r\n");
	raw_read(fds[0], buf, sizeof(buf), NULL);
	close(fds[0]);
	cr_assert_eq(http_request(sock, "GET", "/ok", NULL, 5000, &status, &body), 0);
	cr_assert_eq(status, 200);
	free(body);
	for (int i = 1; i < HTTP_MAX_CONNS; i++)
		close(fds[i]);
}

static void start_idle(void)
{
	start(0, 100);
}

Test(http_server, idle_connections_closed, .init = start_idle, .fini = stop)
{
	char buf[1024];
	int fd = raw_connect(), fd2 = raw_connect();

	/* A slow partial request is no exception. */
	raw_send(fd2, "GET / HTTP/1.1\r\n");
	cr_assert(raw_eof(fd), "idle connection not closed");
	cr_assert(raw_eof(fd2));
	close(fd);
	close(fd2);
	/* A request parked with a handler is not idle. */
	fd = raw_connect();
	raw_send(fd, "GET /async HTTP/1.1\r\n\r\n");
	wait_signal();
	{
		struct pollfd p = { .fd = fd, .events = POLLIN };

		cr_assert_eq(poll(&p, 1, 400), 0, "busy connection closed as idle");
	}
	wake_action = 1;
	evl_wake(&loop);
	raw_read(fd, buf, sizeof(buf), "}");
	cr_assert(strstr(buf, "{\"late\":true}"));
	close(fd);
}

Test(http_server, async_reply_and_disconnect, .init = start_default, .fini = stop)
{
	char buf[2048];
	int fd = raw_connect();

	/* Answered later, then the pipelined request behind it. */
	raw_send(fd, "GET /async HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n");
	wait_signal();
	wake_action = 1;
	evl_wake(&loop);
	raw_read(fd, buf, sizeof(buf), "/after");
	cr_assert_lt(strstr(buf, "late"), strstr(buf, "/after"), "%s", buf);
	/* The client goes away while its request is parked: the owner hears of it. */
	wake_action = 0;
	raw_send(fd, "GET /async HTTP/1.1\r\n\r\n");
	wait_signal();
	close(fd);
	wait_signal(); /* on_parked_close ran */
	cr_assert_eq(__atomic_load_n(&parked_closed, __ATOMIC_SEQ_CST), 1);
	/* Destroying the server with a parked request runs the callback too (see stop()). */
	fd = raw_connect();
	raw_send(fd, "GET /async HTTP/1.1\r\n\r\n");
	wait_signal();
	close(fd);
}

Test(http_server, destroy_with_parked_request, .init = start_default)
{
	int fd = raw_connect();

	raw_send(fd, "GET /async HTTP/1.1\r\n\r\n");
	wait_signal();
	stop();
	cr_assert_eq(parked_closed, 1);
	cr_assert(raw_eof(fd));
	close(fd);
}

Test(http_server, stale_and_busy_socket, .init = start_default, .fini = stop)
{
	struct http_server_config cfg = { .handler = handler };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct http_server *other;
	char path[160];
	int fd, status;
	char *body;

	/* Someone listens: refused, and the live socket is left alone. */
	cr_assert_eq(http_server_create(&loop, sock, &cfg, &other), -EADDRINUSE);
	cr_assert_eq(access(sock, F_OK), 0);
	/* A socket file nobody listens on: the client says so, the server replaces it. */
	snprintf(path, sizeof(path), "%s/stale.sock", dir);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	cr_assert_eq(http_request(path, "GET", "/", NULL, 1000, &status, &body), -ECONNREFUSED);
	unlink(path);
	/* A regular file is not replaced. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	cr_assert_eq(http_server_create(&loop, path, &cfg, &other), -EEXIST);
	unlink(path);
	snprintf(path, sizeof(path), "%s/no.sock", dir);
	cr_assert_eq(http_request(path, "GET", "/", NULL, 1000, &status, &body), -ENOENT);
}

Test(http_server, stale_socket_replaced)
{
	struct http_server_config cfg = { .handler = handler };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct http_server *s;
	struct evloop l;
	char d[] = "/tmp/clone-http-XXXXXX", path[64];
	int fd;

	cr_assert_not_null(mkdtemp(d));
	snprintf(path, sizeof(path), "%s/api.sock", d);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	cr_assert_eq(evl_init(&l), 0);
	cr_assert_eq(http_server_create(&l, path, &cfg, &s), 0);
	http_server_destroy(s);
	cr_assert_eq(access(path, F_OK), -1);
	evl_destroy(&l);
	rmdir(d);
}

/* A fake server on its own thread: accepts one connection, answers `reply` raw. */
static const char *fake_reply;
static int fake_fd;

static void *fake_server(void *arg)
{
	int c = accept(fake_fd, NULL, NULL);
	char buf[1024];

	if (c < 0)
		return NULL;
	(void)!recv(c, buf, sizeof(buf), 0);
	if (fake_reply)
		(void)!send(c, fake_reply, strlen(fake_reply), MSG_NOSIGNAL);
	if (fake_reply)
		close(c);
	else
		(void)!recv(c, buf, sizeof(buf), 0); /* hold it until the client gives up */
	return NULL;
}

static int fake_request(const char *reply, int timeout_ms, int *status, char **body)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char d[] = "/tmp/clone-http-XXXXXX";
	pthread_t t;
	int ret;

	cr_assert_not_null(mkdtemp(d));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", d);
	fake_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fake_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fake_fd, 4), 0);
	fake_reply = reply;
	pthread_create(&t, NULL, fake_server, NULL);
	ret = http_request(sa.sun_path, "GET", "/", NULL, timeout_ms, status, body);
	pthread_join(t, NULL);
	close(fake_fd);
	unlink(sa.sun_path);
	rmdir(d);
	return ret;
}

Test(http_client, responses)
{
	char *body = NULL;
	int status = 0;

	log_set_level(LOG_ERR);
	cr_assert_eq(fake_request("garbage\r\n\r\n", 2000, &status, &body), -EPROTO);
	cr_assert_eq(fake_request("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 2000,
				  &status, &body),
		     -EPROTO);
	cr_assert_eq(fake_request("", 2000, &status, &body), -EPROTO);
	cr_assert_eq(fake_request(NULL, 200, &status, &body), -ETIMEDOUT);
	/* Read to EOF when there is no Content-Length */
	cr_assert_eq(fake_request("HTTP/1.1 200 OK\r\n\r\n{\"a\":1}", 2000, &status, &body), 0);
	cr_assert_eq(status, 200);
	cr_assert_str_eq(body, "{\"a\":1}");
	free(body);
	/* Interim 100 Continue is skipped */
	cr_assert_eq(fake_request("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\n"
				  "Content-Length: 2\r\n\r\n{}",
				  2000, &status, &body),
		     0);
	cr_assert_eq(status, 404);
	cr_assert_str_eq(body, "{}");
	free(body);
}

/* Run as another uid in a child; exit code 0 = expectations met. */
static int child_as_nobody(bool expect_403)
{
	pid_t pid = fork();
	int wst;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char *body = NULL;
		int status = 0, ret;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		ret = http_request(sock, "GET", "/", NULL, 5000, &status, &body);
		if (expect_403)
			_exit(ret == 0 && status == 403 && body &&
					      strstr(body, "permission denied: uid 65534 does not "
							   "own this VM")
				      ? 0
				      : 11);
		_exit(ret == -EACCES ? 0 : 12);
	}
	cr_assert_eq(waitpid(pid, &wst, 0), pid);
	cr_assert(WIFEXITED(wst));
	return WEXITSTATUS(wst);
}

Test(http_server, peer_credentials, .init = start_default, .fini = stop)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to connect as another uid");
	/* Mode 0600 (and the private directory) keep other users out... */
	cr_assert_eq(child_as_nobody(false), 0);
	/* ...and if the file mode is loosened, the peer check still does. */
	cr_assert_eq(chmod(dir, 0755), 0);
	cr_assert_eq(chmod(sock, 0666), 0);
	cr_assert_eq(child_as_nobody(true), 0);
	cr_assert_eq(chmod(dir, 0700), 0);
}
