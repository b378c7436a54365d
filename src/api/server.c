// SPDX-License-Identifier: Apache-2.0
/*
 * The control API's routes (see server.h): one handler per (method, path),
 * JSON in and out with jansson, the VMM behind struct api_ops.  Runs on the
 * event-loop thread only; no locks.  Requests to GET /clone/agent that must
 * wait are kept in a list with their own timer and connection handle: the
 * handle is dropped when the answer is sent, when the timer fires, or when
 * http.c reports that the client went away (http_conn_on_close), whichever
 * comes first, so no answer can reach a closed connection.
 * Error texts follow Firecracker's where it has one (firecracker-api.md §1).
 * Rate limits: PATCH /drives/{id} and /network-interfaces/{id} take
 * Firecracker's RateLimiter objects ({"bandwidth": TokenBucket, "ops":
 * TokenBucket}, TokenBucket = {size, one_time_burst, refill_time in ms});
 * a missing or null limiter is left as it is, a missing bucket (or one of
 * size 0 or refill_time 0, as in Firecracker) does not limit.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "api"
#include "api/http.h"
#include "api/server.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"

#ifndef CLONE_VERSION
#define CLONE_VERSION "unknown"
#endif

struct agent_wait {
	struct api_server *s;
	struct http_conn *conn;
	int timer; /* one-shot timerfd (owned by the loop) or -1 */
	uint64_t wait_ms;
	struct agent_wait *next, **pprev;
};

struct api_server {
	struct evloop *loop;
	struct http_server *http;
	const struct api_ops *ops;
	void *opaque;
	struct agent_wait *waits;
	unsigned nr_waits;
};

/* ---- replies ---- */

/* Answer with o (a reference is consumed). */
static void reply_json(struct http_conn *conn, int status, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!text) {
		http_reply_error(conn, 500, "cannot encode the response");
		return;
	}
	http_reply(conn, status, text);
	free(text);
}

static void reply_bad(struct http_conn *conn, const char *msg)
{
	http_reply_error(conn, 400, "%s", msg);
}

/* An op failed: 500 with its message. */
/* An op's -errno as HTTP: the VM's state forbids it (409) or it failed (500). */
static void reply_op_error(struct http_conn *conn, int ret)
{
	int status = ret == -EBUSY || ret == -ESHUTDOWN ? 409 : 500;

	http_reply_error(conn, status, "%s", err_msg());
}

/* ---- request bodies ---- */

/* The body as a JSON object, or NULL after answering 400. */
static json_t *parse_body(struct http_conn *conn, const struct http_request *req)
{
	json_error_t jerr;
	json_t *o;

	if (!req->body_len) {
		http_reply_error(conn, 400, "Empty %s request.", req->method);
		return NULL;
	}
	o = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		http_reply_error(conn, 400,
				 "An error occurred when deserializing the json body of a request: "
				 "%s at line %d column %d.",
				 jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		reply_bad(conn, "An error occurred when deserializing the json body of a request: "
				"expected a JSON object.");
		return NULL;
	}
	return o;
}

/* 0 if every key of o is in allowed (NULL-terminated); else answers 400. */
static int check_fields(struct http_conn *conn, json_t *o, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v)
	{
		bool ok = false;

		for (const char *const *a = allowed; *a; a++)
			ok |= !strcmp(key, *a);
		if (!ok) {
			http_reply_error(conn, 400,
					 "An error occurred when deserializing the json body of a "
					 "request: unknown field `%s`, expected `%s`.",
					 key, allowed[0]);
			return -EINVAL;
		}
	}
	return 0;
}

/* The string member key, or NULL after answering 400. */
static const char *get_string(struct http_conn *conn, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!v) {
		http_reply_error(conn, 400,
				 "An error occurred when deserializing the json body of a request: "
				 "missing field `%s`.",
				 key);
		return NULL;
	}
	if (!json_is_string(v)) {
		http_reply_error(conn, 400,
				 "An error occurred when deserializing the json body of a request: "
				 "`%s` must be a string.",
				 key);
		return NULL;
	}
	return json_string_value(v);
}

/* ---- rate limiters (Firecracker's RateLimiter and TokenBucket) ---- */

static void reply_deser(struct http_conn *conn, const char *what, const char *detail)
{
	http_reply_error(conn, 400,
			 "An error occurred when deserializing the json body of a request: %s%s.",
			 what, detail);
}

/* A TokenBucket; 0, or -EINVAL after answering 400. */
static int parse_bucket(struct http_conn *conn, json_t *o, const char *where,
			struct rl_bucket_config *out)
{
	static const char *const fields[] = { "size", "one_time_burst", "refill_time", NULL };
	uint64_t *dst[] = { &out->size, &out->one_time_burst, &out->refill_ms };
	char what[96];

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o)) {
		snprintf(what, sizeof(what), "`%s`", where);
		reply_deser(conn, what, " must be an object");
		return -EINVAL;
	}
	if (check_fields(conn, o, fields))
		return -EINVAL;
	for (size_t i = 0; fields[i]; i++) {
		json_t *v = json_object_get(o, fields[i]);

		snprintf(what, sizeof(what), "`%s.%s`", where, fields[i]);
		if (!v) {
			if (i == 1)
				continue; /* one_time_burst is optional */
			reply_deser(conn, "missing field ", what);
			return -EINVAL;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			reply_deser(conn, what, " must be a non-negative integer");
			return -EINVAL;
		}
		*dst[i] = (uint64_t)json_integer_value(v);
	}
	/* Firecracker: a bucket of size 0 or refill_time 0 does not limit. */
	if (!out->size || !out->refill_ms)
		memset(out, 0, sizeof(*out));
	return 0;
}

/*
 * The RateLimiter at o[key] into *out; *present false when it is missing or
 * null (the limiter stays as it is).  0, or -EINVAL after answering 400.
 */
static int parse_limiter(struct http_conn *conn, json_t *o, const char *key, struct rl_config *out,
			 bool *present)
{
	static const char *const fields[] = { "bandwidth", "ops", NULL };
	json_t *v = json_object_get(o, key);
	char where[64];
	int ret;

	memset(out, 0, sizeof(*out));
	*present = v && !json_is_null(v);
	if (!*present)
		return 0;
	if (!json_is_object(v)) {
		snprintf(where, sizeof(where), "`%s`", key);
		reply_deser(conn, where, " must be an object");
		return -EINVAL;
	}
	if (check_fields(conn, v, fields))
		return -EINVAL;
	for (size_t i = 0; fields[i]; i++) {
		json_t *b = json_object_get(v, fields[i]);

		if (!b || json_is_null(b))
			continue; /* a missing bucket does not limit */
		snprintf(where, sizeof(where), "%s.%s", key, fields[i]);
		ret = parse_bucket(conn, b, where, i ? &out->ops : &out->bytes);
		if (ret)
			return ret;
	}
	err_clear();
	if (rl_check(out)) {
		http_reply_error(conn, 400, "%s: %s", key, err_msg());
		return -EINVAL;
	}
	return 0;
}

/* A device id from the path or a body: [A-Za-z0-9_.-], 1..64 characters. */
static bool id_ok(const char *id)
{
	size_t n = strlen(id);

	return n >= 1 && n <= 64 &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			  "0123456789_.-") == n;
}

/*
 * Check the path's id against the body's id_key; answers 400 and returns
 * NULL on a mismatch, else the id.
 */
static const char *check_ids(struct http_conn *conn, json_t *o, const char *path_id,
			     const char *id_key)
{
	const char *body_id = get_string(conn, o, id_key);

	if (!body_id)
		return NULL;
	if (strcmp(body_id, path_id)) {
		reply_bad(conn, "The id from the path does not match the id from the body!");
		return NULL;
	}
	return path_id;
}

/* A rate-limit op's result: 204, 404 (-ENOENT), 400 (-EINVAL), or 409/500. */
static void reply_limits(struct http_conn *conn, int ret)
{
	if (!ret)
		http_reply(conn, 204, NULL);
	else if (ret == -ENOENT)
		http_reply_error(conn, 404, "%s", err_msg());
	else if (ret == -EINVAL)
		http_reply_error(conn, 400, "%s", err_msg());
	else
		reply_op_error(conn, ret);
}

/* ---- routes ---- */

/* Fill info or answer 500; 0 on success. */
static void put_info(struct api_vm_info *info)
{
	json_decref(info->agent_info);
	json_decref(info->net);
	info->agent_info = info->net = NULL;
}

/* The VM's info; on success the caller put_info()s it after answering. */
static int get_info(struct api_server *s, struct http_conn *conn, struct api_vm_info *info)
{
	int ret;

	memset(info, 0, sizeof(*info));
	err_clear();
	ret = s->ops->info(s->opaque, info);
	if (ret) {
		put_info(info);
		reply_op_error(conn, ret);
	}
	return ret;
}

static json_t *str_or_null(const char *v)
{
	return v ? json_string(v) : json_null();
}

static void get_root(struct api_server *s, struct http_conn *conn, const struct http_request *req)
{
	struct api_vm_info info;

	if (get_info(s, conn, &info))
		return;
	reply_json(conn, 200,
		   json_pack("{s:s, s:o, s:o, s:s}", "app_name", "clone", "id",
			     str_or_null(info.name), "state", str_or_null(info.state),
			     "vmm_version", CLONE_VERSION));
	put_info(&info);
}

static void get_version(struct api_server *s, struct http_conn *conn,
			const struct http_request *req)
{
	reply_json(conn, 200, json_pack("{s:s}", "clone_version", CLONE_VERSION));
}

static void get_machine_config(struct api_server *s, struct http_conn *conn,
			       const struct http_request *req)
{
	struct api_vm_info info;

	if (get_info(s, conn, &info))
		return;
	reply_json(conn, 200,
		   json_pack("{s:I, s:I, s:b, s:b, s:s}", "vcpu_count", (json_int_t)info.vcpus,
			     "mem_size_mib", (json_int_t)info.mem_mib, "smt", 0,
			     "track_dirty_pages", 0, "huge_pages", "None"));
	put_info(&info);
}

static void get_status(struct api_server *s, struct http_conn *conn, const struct http_request *req)
{
	struct api_vm_info info;
	json_t *o;

	if (get_info(s, conn, &info))
		return;
	o = json_pack("{s:o, s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:O}", "name",
		      str_or_null(info.name), "pid", (json_int_t)info.pid, "state",
		      str_or_null(info.state), "vcpus", (json_int_t)info.vcpus, "mem_mib",
		      (json_int_t)info.mem_mib, "rss_kib", (json_int_t)info.rss_kib, "uptime_ms",
		      (json_int_t)info.uptime_ms, "created", (json_int_t)info.created, "cid",
		      (json_int_t)info.cid, "console", str_or_null(info.console), "log",
		      str_or_null(info.log), "agent", str_or_null(info.agent), "agent_info",
		      info.agent_info ? info.agent_info : json_null());
	if (o && info.net)
		json_object_set(o, "net", info.net);
	else if (o)
		json_object_set_new(o, "net", json_array());
	put_info(&info);
	reply_json(conn, 200, o);
}

static void patch_vm(struct api_server *s, struct http_conn *conn, const struct http_request *req)
{
	static const char *const fields[] = { "state", NULL };
	json_t *o = parse_body(conn, req);
	const char *state;
	int ret;

	if (!o)
		return;
	if (check_fields(conn, o, fields))
		goto out;
	state = get_string(conn, o, "state");
	if (!state)
		goto out;
	err_clear();
	if (!strcmp(state, "Paused")) {
		ret = s->ops->pause(s->opaque);
	} else if (!strcmp(state, "Resumed")) {
		ret = s->ops->resume(s->opaque);
	} else {
		http_reply_error(conn, 400,
				 "An error occurred when deserializing the json body of a request: "
				 "unknown variant `%s`, expected `Paused` or `Resumed`.",
				 state);
		goto out;
	}
	if (ret)
		reply_op_error(conn, ret);
	else
		http_reply(conn, 204, NULL);
out:
	json_decref(o);
}

static void put_actions(struct api_server *s, struct http_conn *conn,
			const struct http_request *req)
{
	static const char *const fields[] = { "action_type", NULL };
	json_t *o = parse_body(conn, req);
	const char *action, *method = NULL;
	int ret;

	if (!o)
		return;
	if (check_fields(conn, o, fields))
		goto out;
	action = get_string(conn, o, "action_type");
	if (!action)
		goto out;
	err_clear();
	if (!strcmp(action, "Shutdown") || !strcmp(action, "Reboot")) {
		ret = s->ops->shutdown(s->opaque, action[0] == 'R', &method);
		if (ret)
			reply_op_error(conn, ret);
		else
			reply_json(conn, 200, json_pack("{s:s}", "method", method ? method : ""));
	} else if (!strcmp(action, "PowerButton")) {
		ret = s->ops->power_button(s->opaque);
		if (ret)
			reply_op_error(conn, ret);
		else
			http_reply(conn, 204, NULL);
	} else if (!strcmp(action, "Kill")) {
		/* Answer first: the VMM is gone once kill() has run. */
		http_reply(conn, 204, NULL);
		log_info("killed through the control socket (uid %u pid %d)", (unsigned)req->uid,
			 (int)req->pid);
		s->ops->kill(s->opaque);
	} else if (!strcmp(action, "SendCtrlAltDel")) {
		reply_bad(conn, "SendCtrlAltDel is not supported: Clone has no keyboard controller "
				"for the guest to read; use Shutdown, Reboot or PowerButton.");
	} else if (!strcmp(action, "InstanceStart") || !strcmp(action, "FlushMetrics")) {
		http_reply_error(conn, 400,
				 "%s is not supported: a Clone VM starts with its process and has "
				 "no metrics file.",
				 action);
	} else {
		http_reply_error(conn, 400,
				 "An error occurred when deserializing the json body of a request: "
				 "unknown variant `%s`, expected one of `Shutdown`, `Reboot`, "
				 "`PowerButton`, `Kill`.",
				 action);
	}
out:
	json_decref(o);
}

/* PATCH /drives/{drive_id}: {"drive_id", "rate_limiter"} */
static void patch_drive(struct api_server *s, struct http_conn *conn,
			const struct http_request *req, const char *id)
{
	static const char *const fields[] = { "drive_id", "rate_limiter", NULL };
	struct rl_config rl;
	bool has_rl;
	json_t *o;

	if (!s->ops->set_drive_limits) {
		reply_bad(conn, "Updating drives is not supported by this VMM.");
		return;
	}
	o = parse_body(conn, req);
	if (!o)
		return;
	if (json_object_get(o, "path_on_host")) {
		reply_bad(conn, "Updating path_on_host is not supported: only rate_limiter can be "
				"changed.");
		goto out;
	}
	if (check_fields(conn, o, fields) || !check_ids(conn, o, id, "drive_id") ||
	    parse_limiter(conn, o, "rate_limiter", &rl, &has_rl))
		goto out;
	err_clear();
	reply_limits(conn, s->ops->set_drive_limits(s->opaque, id, has_rl ? &rl : NULL));
out:
	json_decref(o);
}

/* PATCH /network-interfaces/{iface_id}: {"iface_id", "rx_rate_limiter", "tx_rate_limiter"} */
static void patch_net(struct api_server *s, struct http_conn *conn, const struct http_request *req,
		      const char *id)
{
	static const char *const fields[] = { "iface_id", "rx_rate_limiter", "tx_rate_limiter",
					      NULL };
	struct rl_config rx, tx;
	bool has_rx, has_tx;
	json_t *o;

	if (!s->ops->set_net_limits) {
		reply_bad(conn, "Updating network interfaces is not supported by this VMM.");
		return;
	}
	o = parse_body(conn, req);
	if (!o)
		return;
	if (check_fields(conn, o, fields) || !check_ids(conn, o, id, "iface_id") ||
	    parse_limiter(conn, o, "rx_rate_limiter", &rx, &has_rx) ||
	    parse_limiter(conn, o, "tx_rate_limiter", &tx, &has_tx))
		goto out;
	err_clear();
	reply_limits(conn, s->ops->set_net_limits(s->opaque, id, has_rx ? &rx : NULL,
						  has_tx ? &tx : NULL));
out:
	json_decref(o);
}

/* PUT /clone/snapshot: {"template": NAME, "full": bool, "stop": bool} */
static void put_snapshot(struct api_server *s, struct http_conn *conn,
			 const struct http_request *req)
{
	static const char *const fields[] = { "template", "full", "stop", NULL };
	struct api_snapshot_req sr = { 0 };
	struct api_snapshot_res res;
	json_t *o, *v;
	int ret;

	if (!s->ops->snapshot) {
		reply_bad(conn, "Snapshots are not supported by this VMM.");
		return;
	}
	o = parse_body(conn, req);
	if (!o)
		return;
	if (check_fields(conn, o, fields))
		goto out;
	sr.name = json_string_value(json_object_get(o, "template"));
	if (!sr.name) {
		reply_bad(conn, "The body needs \"template\": the template's name.");
		goto out;
	}
	v = json_object_get(o, "full");
	if (v && !json_is_boolean(v)) {
		reply_bad(conn, "\"full\" must be a boolean.");
		goto out;
	}
	sr.full = json_is_true(v);
	v = json_object_get(o, "stop");
	if (v && !json_is_boolean(v)) {
		reply_bad(conn, "\"stop\" must be a boolean.");
		goto out;
	}
	sr.stop = json_is_true(v);
	err_clear();
	ret = s->ops->snapshot(s->opaque, &sr, &res);
	if (ret == -EINVAL) {
		reply_bad(conn, err_msg());
	} else if (ret) {
		http_reply_error(conn, ret == -EBUSY ? 409 : 500, "%s", err_msg());
	} else {
		json_t *r = json_pack("{s:s, s:b, s:i, s:I, s:I, s:I, s:s}", "template", sr.name,
				      "incremental", res.incremental, "layer", (int)res.layer,
				      "memory_bytes", (json_int_t)res.memory_bytes, "disk_bytes",
				      (json_int_t)res.disk_bytes, "pause_ms",
				      (json_int_t)res.pause_ms, "path", res.path);

		reply_json(conn, 200, r);
	}
out:
	json_decref(o);
}

/* -- GET /clone/agent -- */

static void wait_free(struct agent_wait *w)
{
	*w->pprev = w->next;
	if (w->next)
		w->next->pprev = w->pprev;
	w->s->nr_waits--;
	if (w->timer >= 0)
		evl_del(w->s->loop, w->timer);
	free(w);
}

/* Answer conn if the agent's endpoint is known (or never will be); false: keep waiting. */
static bool agent_try(struct api_server *s, struct http_conn *conn)
{
	struct api_agent_endpoint ep;
	char hex[2 * sizeof(ep.token) + 1];
	int ret;

	memset(&ep, 0, sizeof(ep));
	err_clear();
	ret = s->ops->agent_endpoint(s->opaque, &ep);
	if (ret == -EAGAIN)
		return false;
	if (ret == -ENODEV) {
		http_reply_error(conn, 503, "%s", err_msg());
		return true;
	}
	if (ret) {
		reply_op_error(conn, ret);
		return true;
	}
	for (size_t i = 0; i < sizeof(ep.token); i++)
		snprintf(hex + 2 * i, 3, "%02x", ep.token[i]);
	reply_json(conn, 200,
		   json_pack("{s:I, s:I, s:s}", "cid", (json_int_t)ep.cid, "port",
			     (json_int_t)ep.port, "token", hex));
	return true;
}

static void reply_agent_timeout(struct http_conn *conn, uint64_t wait_ms)
{
	http_reply_error(conn, 504, "the guest agent did not connect within %" PRIu64 " ms",
			 wait_ms);
}

static void wait_timeout(void *opaque, uint32_t events)
{
	struct agent_wait *w = opaque;
	struct http_conn *conn = w->conn;
	uint64_t ms = w->wait_ms;

	wait_free(w);
	reply_agent_timeout(conn, ms);
}

static void wait_conn_closed(void *opaque)
{
	/* The client went away: forget the handle, answer nothing. */
	wait_free(opaque);
}

/* wait_ms from the query ("wait_ms=N", nothing else); 0 or answers 400. */
static int parse_agent_query(struct http_conn *conn, const char *query, uint64_t *wait_ms)
{
	char buf[128], *save = NULL;

	*wait_ms = 0;
	if (strlen(query) >= sizeof(buf)) {
		reply_bad(conn, "query string too long");
		return -EINVAL;
	}
	strcpy(buf, query);
	for (char *kv = strtok_r(buf, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
		if (strncmp(kv, "wait_ms=", 8)) {
			http_reply_error(conn, 400,
					 "unknown query parameter `%.*s`, expected `wait_ms`",
					 (int)(strchrnul(kv, '=') - kv), kv);
			return -EINVAL;
		}
		if (parse_uint(kv + 8, 0, API_AGENT_WAIT_MAX_MS, wait_ms)) {
			http_reply_error(conn, 400, "wait_ms must be an integer in 0..%u",
					 API_AGENT_WAIT_MAX_MS);
			return -EINVAL;
		}
	}
	return 0;
}

static void get_agent(struct api_server *s, struct http_conn *conn, const struct http_request *req)
{
	struct agent_wait *w;
	uint64_t wait_ms;
	int t;

	if (parse_agent_query(conn, req->query, &wait_ms))
		return;
	if (agent_try(s, conn))
		return;
	if (!wait_ms) {
		reply_agent_timeout(conn, 0);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		http_reply_error(conn, 500, "out of memory");
		return;
	}
	t = evl_timer(s->loop, wait_ms * 1000000ull, 0, wait_timeout, w);
	if (t < 0) {
		free(w);
		http_reply_error(conn, 500, "%s", err_msg());
		return;
	}
	*w = (struct agent_wait){ .s = s, .conn = conn, .timer = t, .wait_ms = wait_ms };
	w->next = s->waits;
	if (w->next)
		w->next->pprev = &w->next;
	w->pprev = &s->waits;
	s->waits = w;
	s->nr_waits++;
	http_conn_on_close(conn, wait_conn_closed, w);
}

void api_agent_changed(struct api_server *s)
{
	struct agent_wait *w = s->waits, *next;

	/* Answering may run the handler for a pipelined request on the same
	 * connection, which can only add waits at the head: walking on from
	 * a saved next stays safe. */
	for (; w; w = next) {
		struct http_conn *conn = w->conn;

		next = w->next;
		/* http_reply() clears the close callback, so w outlives the answer. */
		if (agent_try(s, conn))
			wait_free(w);
	}
}

/* ---- dispatch ---- */

typedef void (*route_fn)(struct api_server *s, struct http_conn *conn,
			 const struct http_request *req);
/* A route whose path ends in an {id} segment: id is that segment. */
typedef void (*id_route_fn)(struct api_server *s, struct http_conn *conn,
			    const struct http_request *req, const char *id);

static const struct id_route {
	const char *method, *prefix; /* the path up to and with the '/' before {id} */
	id_route_fn fn;
} id_routes[] = {
	{ "PATCH", "/drives/", patch_drive },
	{ "PATCH", "/network-interfaces/", patch_net },
};

static const struct route {
	const char *method, *path;
	route_fn fn;
} routes[] = {
	{ "GET", "/", get_root },
	{ "GET", "/version", get_version },
	{ "GET", "/machine-config", get_machine_config },
	{ "PATCH", "/vm", patch_vm },
	{ "PUT", "/actions", put_actions },
	{ "GET", "/clone/status", get_status },
	{ "GET", "/clone/agent", get_agent },
	{ "PUT", "/clone/snapshot", put_snapshot },
};

static void handle(void *opaque, struct http_conn *conn, const struct http_request *req)
{
	struct api_server *s = opaque;

	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		const struct route *r = &routes[i];

		if (strcmp(r->method, req->method) || strcmp(r->path, req->path))
			continue;
		if (!strcmp(req->method, "GET") && req->body_len) {
			reply_bad(conn, "GET request cannot have a body.");
			return;
		}
		log_debug("%s %s (uid %u pid %d)", req->method, req->path, (unsigned)req->uid,
			  (int)req->pid);
		r->fn(s, conn, req);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(id_routes); i++) {
		const struct id_route *r = &id_routes[i];
		size_t n = strlen(r->prefix);
		const char *id = req->path + n;

		if (strcmp(r->method, req->method) || strncmp(r->prefix, req->path, n) || !*id ||
		    strchr(id, '/'))
			continue;
		log_debug("%s %s (uid %u pid %d)", req->method, req->path, (unsigned)req->uid,
			  (int)req->pid);
		if (!id_ok(id)) {
			http_reply_error(conn, 400,
					 "Invalid id `%.80s`: expected 1 to 64 of "
					 "A-Z a-z 0-9 _ . -",
					 id);
			return;
		}
		r->fn(s, conn, req, id);
		return;
	}
	/* The path is the peer's: keep the message (and its log) short. */
	http_reply_error(conn, 400, "Invalid request method and/or path: %s %.200s.", req->method,
			 req->path);
}

int api_server_create(struct evloop *loop, const char *sock_path, const struct api_ops *ops,
		      void *opaque, struct api_server **out)
{
	struct http_server_config cfg = { .handler = handle };
	struct api_server *s;
	int ret;

	if (!ops || !ops->info || !ops->pause || !ops->resume || !ops->shutdown ||
	    !ops->power_button || !ops->kill || !ops->agent_endpoint)
		return err_setx(-EINVAL, "control API: incomplete ops table");
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(-ENOMEM, "control API");
	s->loop = loop;
	s->ops = ops;
	s->opaque = opaque;
	cfg.opaque = s;
	ret = http_server_create(loop, sock_path, &cfg, &s->http);
	if (ret) {
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void api_server_destroy(struct api_server *s)
{
	if (!s)
		return;
	/* Closing the connections runs wait_conn_closed() for every waiter. */
	http_server_destroy(s->http);
	while (s->waits)
		wait_free(s->waits);
	free(s);
}

unsigned api_server_nr_waiting(const struct api_server *s)
{
	return s->nr_waits;
}
