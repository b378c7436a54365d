/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.1 for the per-VM control socket (AF_UNIX): an I/O-free request
 * parser, a server on the event loop and a blocking client for the CLI.
 * Transport rules follow Firecracker's API (docs: firecracker-api.md §1):
 * keep-alive, Content-Length bodies only, JSON bodies.
 *
 * Threads: the parser is plain state (any thread, one user at a time); the
 * server runs entirely on the event-loop thread (every function here that
 * takes a struct http_server or struct http_conn must be called there);
 * http_request() blocks its caller and touches no shared state.
 *
 * Ownership of a connection handle (struct http_conn *):
 *  - the server owns every connection; a handler borrows the handle from
 *    the moment it is called until it calls http_reply() exactly once;
 *  - the handle, and the request it came with, stay valid until then
 *    (nothing else is read from the connection while a request is open),
 *    unless the client goes away or the server is destroyed first: then
 *    the callback registered with http_conn_on_close() runs (once, on the
 *    loop thread) and the handle is dead when it returns.  A handler that
 *    keeps a handle past its own return must register that callback and
 *    forget the handle in it; one that replies before returning need not.
 *  - http_reply() consumes the handle; using it afterwards is a bug.
 * So a reply can never reach a closed connection.
 */
#ifndef CLONE_API_HTTP_H
#define CLONE_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmm/evloop.h"

#define HTTP_MAX_HEADER (8 * 1024)	 /* request line + headers; beyond: 431 */
#define HTTP_MAX_BODY (64 * 1024)	 /* Content-Length beyond: 413 */
#define HTTP_MAX_CONNS 32		 /* beyond: 503 and close */
#define HTTP_IDLE_TIMEOUT_MS 60000	 /* a request must arrive within this */
#define HTTP_CLIENT_MAX_BODY (16u << 20) /* the client refuses larger responses */

/* One parsed request.  Strings are NUL-terminated. */
struct http_request {
	const char *method; /* "GET", "PUT", ... */
	const char *path;   /* without query or fragment, e.g. "/clone/agent" */
	const char *query;  /* after '?', "" when none */
	const char *body;   /* "" when none; may contain NUL bytes (see body_len) */
	size_t body_len;
	bool keep_alive; /* the client wants the connection kept after the reply */
	uid_t uid;	 /* peer credentials (server only; 0 from the bare parser) */
	pid_t pid;
};

/* ---- Parser: bytes in, requests out (no I/O; fuzzed) ---- */

struct http_conn_parser;

enum http_parse_result {
	HTTP_PARSE_MORE,     /* every byte given was consumed; feed more */
	HTTP_PARSE_CONTINUE, /* the client sent "Expect: 100-continue": answer it, feed the rest */
	HTTP_PARSE_REQUEST,  /* a whole request: http_conn_parser_request(); then _next() */
	HTTP_PARSE_ERROR,    /* malformed or over a limit: http_conn_parser_error(); final */
};

/* 0 or -ENOMEM. */
int http_conn_parser_create(struct http_conn_parser **out);
void http_conn_parser_destroy(struct http_conn_parser *p);
/*
 * Feed bytes; *consumed says how many were used (the rest must be fed
 * again later, after the request is handled: that is pipelining).  Stops
 * at the end of each request, so at most one is open at a time.
 */
enum http_parse_result http_conn_parser_feed(struct http_conn_parser *p, const char *data,
					     size_t len, size_t *consumed);
/* The request after HTTP_PARSE_REQUEST; valid until _next() or _destroy(). */
const struct http_request *http_conn_parser_request(const struct http_conn_parser *p);
/* Done with the current request: get ready for the next one. */
void http_conn_parser_next(struct http_conn_parser *p);
/* After HTTP_PARSE_ERROR: the status to answer (400, 411, 413, 431) and a message. */
int http_conn_parser_error(const struct http_conn_parser *p, const char **msg);

/* ---- Server (event-loop thread) ---- */

struct http_server;
struct http_conn;

/*
 * Called once per request, on the loop thread.  It must answer with
 * http_reply(conn, ...), now or later (see the ownership rules above).
 */
typedef void (*http_handler_fn)(void *opaque, struct http_conn *conn,
				const struct http_request *req);

struct http_server_config {
	http_handler_fn handler;
	void *opaque;
	unsigned max_conns;	  /* 0: HTTP_MAX_CONNS */
	unsigned idle_timeout_ms; /* 0: HTTP_IDLE_TIMEOUT_MS */
};

/*
 * Create the socket at sock_path (mode 0600; a stale socket file nobody
 * listens on is replaced; -EADDRINUSE if someone listens) and serve it on
 * loop.  0 or -errno with the message set.
 */
int http_server_create(struct evloop *loop, const char *sock_path,
		       const struct http_server_config *cfg, struct http_server **out);
/* Close every connection (running their close callbacks), the socket, and unlink the path. */
void http_server_destroy(struct http_server *s);
/* Connections open now (diagnostics and tests). */
unsigned http_server_nr_conns(const struct http_server *s);

/*
 * Answer the open request on conn and give the handle back.  json is the
 * body (a JSON text, copied) or NULL for none; 204 never carries one.
 * Never fails from the caller's view: if the connection cannot take the
 * answer it is closed.
 */
void http_reply(struct http_conn *conn, int status, const char *json);
/* http_reply() with {"fault_message": <printf text>}. */
void http_reply_error(struct http_conn *conn, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Run fn(opaque) if the connection goes away while a request is open on
 * it (the handle is dead after fn returns).  Cleared by http_reply().
 * fn must not call http_reply().  fn = NULL unregisters.
 */
void http_conn_on_close(struct http_conn *conn, void (*fn)(void *opaque), void *opaque);

/* ---- Client (blocking; CLI) ---- */

/*
 * One request on a fresh connection with "Connection: close".  body is a
 * JSON text or NULL.  timeout_ms < 0 waits forever.  On 0, *status is the
 * HTTP status and *resp_body a malloc'ed NUL-terminated body (maybe "").
 * -ENOENT no socket at sock_path, -ECONNREFUSED nobody listens (the VM is
 * gone), -EACCES permission denied, -ETIMEDOUT, -EPROTO malformed
 * response; message set.
 */
int http_request(const char *sock_path, const char *method, const char *path, const char *body,
		 int timeout_ms, int *status, char **resp_body);

#endif
