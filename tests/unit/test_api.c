// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: src/api/server.c, the control API's routes, served for real
 * (temporary socket, event loop on a thread of the test, the real client)
 * over a fake VMM ops table: instance info, machine config, pause/resume,
 * actions, status, the agent endpoint (ready, waiting then ready, timeout,
 * no agent, client gone while waiting), the rate-limit PATCH routes for
 * drives and network interfaces, and the error bodies.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/http.h"
#include "api/server.h"
#include "cli/cli.h"
#include "lib/err.h"
#include "lib/log.h"

/* The fake VMM: touched on the loop thread during a request, read by the
 * test after the answer (the socket round trip orders the two). */
static struct {
	bool paused;
	int pause_calls, resume_calls, power_calls, kill_calls, shutdown_calls;
	bool last_reboot;
	int fail;      /* every op returns this (with a message) when non-zero */
	int agent_ret; /* 0, -EAGAIN, -ENODEV */
	unsigned nr_waiting_seen;
	json_t *agent_info;
	/* set_drive_limits / set_net_limits: the last call */
	int limit_calls;
	char limit_id[80];
	bool has_rl, has_rx, has_tx;
	struct rl_config rl, rx, tx;
} F;

static struct evloop loop;
static pthread_t loop_thread;
static struct api_server *api;
static char dir[64], sock[128];
static int agent_called_fd = -1; /* eventfd: agent_endpoint() ran */

static int fake_info(void *o, struct api_vm_info *out)
{
	if (F.fail)
		return err_setx(F.fail, "info broke");
	F.nr_waiting_seen = api_server_nr_waiting(api);
	*out = (struct api_vm_info){
		.name = "vm1",
		.pid = 4242,
		.state = F.paused ? "Paused" : "Running",
		.vcpus = 2,
		.mem_mib = 512,
		.rss_kib = 1000,
		.uptime_ms = 1234,
		.created = 1700000000,
		.cid = 7,
		.console = "/run/c/console",
		.log = NULL,
		.agent = "connected",
		.agent_info =
			json_incref(F.agent_info), /* a new reference: the server releases it */
	};
	return 0;
}

static int fake_pause(void *o)
{
	F.pause_calls++;
	if (F.fail)
		return err_setx(F.fail, "cannot pause: vcpu 1 stuck");
	F.paused = true;
	return 0;
}

static int fake_resume(void *o)
{
	F.resume_calls++;
	F.paused = false;
	return F.fail ? err_setx(F.fail, "cannot resume") : 0;
}

static int fake_shutdown(void *o, bool reboot, const char **method)
{
	F.shutdown_calls++;
	F.last_reboot = reboot;
	if (F.fail)
		return err_setx(F.fail, "no way to stop it");
	*method = reboot ? "agent" : "acpi";
	return 0;
}

static int fake_power(void *o)
{
	F.power_calls++;
	return 0;
}

static void fake_kill(void *o)
{
	F.kill_calls++;
}

static int fake_agent(void *o, struct api_agent_endpoint *ep)
{
	int ret = __atomic_load_n(&F.agent_ret, __ATOMIC_SEQ_CST);

	(void)!write(agent_called_fd, &(uint64_t){ 1 }, 8);
	if (ret == -ENODEV)
		return err_setx(ret, "this VM has no vsock device");
	if (ret)
		return ret;
	ep->cid = 7;
	ep->port = 1024;
	for (int i = 0; i < 32; i++)
		ep->token[i] = (uint8_t)(i * 8 + 1);
	return 0;
}

static int fake_drive_limits(void *o, const char *id, const struct rl_config *rl)
{
	F.limit_calls++;
	snprintf(F.limit_id, sizeof(F.limit_id), "%s", id);
	if (strncmp(id, "disk", 4) && strcmp(id, "rootfs"))
		return err_setx(-ENOENT, "no drive '%s'", id);
	F.has_rl = rl != NULL;
	if (rl)
		F.rl = *rl;
	return F.fail ? err_setx(F.fail, "limits broke") : 0;
}

static int fake_net_limits(void *o, const char *id, const struct rl_config *rx,
			   const struct rl_config *tx)
{
	F.limit_calls++;
	snprintf(F.limit_id, sizeof(F.limit_id), "%s", id);
	if (strncmp(id, "net", 3))
		return err_setx(-ENOENT, "no network interface '%s'", id);
	F.has_rx = rx != NULL;
	F.has_tx = tx != NULL;
	if (rx)
		F.rx = *rx;
	if (tx)
		F.tx = *tx;
	return 0;
}

static const struct api_ops fake_ops = {
	.info = fake_info,
	.pause = fake_pause,
	.resume = fake_resume,
	.shutdown = fake_shutdown,
	.power_button = fake_power,
	.kill = fake_kill,
	.agent_endpoint = fake_agent,
	.set_drive_limits = fake_drive_limits,
	.set_net_limits = fake_net_limits,
};

static void wake_fn(void *opaque)
{
	api_agent_changed(api);
}

static void *loop_main(void *arg)
{
	evl_run(&loop);
	return NULL;
}

static void start(void)
{
	log_set_level(LOG_ERR);
	memset(&F, 0, sizeof(F));
	strcpy(dir, "/tmp/clone-api-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	agent_called_fd = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
	cr_assert_eq(evl_init(&loop), 0);
	loop.wake_fn = wake_fn;
	cr_assert_eq(api_server_create(&loop, sock, &fake_ops, NULL, &api), 0);
	cr_assert_eq(pthread_create(&loop_thread, NULL, loop_main, NULL), 0);
}

static void stop(void)
{
	evl_stop(&loop);
	pthread_join(loop_thread, NULL);
	api_server_destroy(api);
	api = NULL;
	evl_destroy(&loop);
	close(agent_called_fd);
	json_decref(F.agent_info);
	rmdir(dir);
}

TestSuite(api, .init = start, .fini = stop);

/* One request; returns the status and the parsed body (NULL when empty). */
static int req(const char *method, const char *path, const char *body, json_t **out)
{
	char *text = NULL;
	int status = 0;

	cr_assert_eq(http_request(sock, method, path, body, 10000, &status, &text), 0, "%s",
		     err_msg());
	*out = NULL;
	if (text[0]) {
		*out = json_loads(text, 0, NULL);
		cr_assert_not_null(*out, "not JSON: %s", text);
	}
	free(text);
	return status;
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	cr_assert(json_is_string(v), "%s is not a string", key);
	return json_string_value(v);
}

static json_int_t num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	cr_assert(json_is_integer(v), "%s is not an integer", key);
	return json_integer_value(v);
}

/* Expect status and a fault_message containing needle. */
static void expect_fault(const char *method, const char *path, const char *body, int status,
			 const char *needle)
{
	json_t *o;

	cr_assert_eq(req(method, path, body, &o), status, "%s %s", method, path);
	cr_assert_not_null(o);
	cr_assert_eq(json_object_size(o), 1);
	cr_assert(strstr(str(o, "fault_message"), needle), "%s", str(o, "fault_message"));
	json_decref(o);
}

Test(api, instance_info_version_machine_config)
{
	json_t *o;

	cr_assert_eq(req("GET", "/", NULL, &o), 200);
	cr_assert_str_eq(str(o, "app_name"), "clone");
	cr_assert_str_eq(str(o, "id"), "vm1");
	cr_assert_str_eq(str(o, "state"), "Running");
	cr_assert_str_eq(str(o, "vmm_version"), CLONE_VERSION);
	json_decref(o);
	cr_assert_eq(req("GET", "/version", NULL, &o), 200);
	cr_assert_str_eq(str(o, "clone_version"), CLONE_VERSION);
	json_decref(o);
	cr_assert_eq(req("GET", "/machine-config", NULL, &o), 200);
	cr_assert_eq(num(o, "vcpu_count"), 2);
	cr_assert_eq(num(o, "mem_size_mib"), 512);
	cr_assert(json_is_false(json_object_get(o, "smt")));
	cr_assert(json_is_false(json_object_get(o, "track_dirty_pages")));
	cr_assert_str_eq(str(o, "huge_pages"), "None");
	json_decref(o);
}

Test(api, pause_resume)
{
	json_t *o;

	cr_assert_eq(req("PATCH", "/vm", "{\"state\":\"Paused\"}", &o), 204);
	cr_assert_null(o);
	cr_assert(F.paused);
	cr_assert_eq(req("PATCH", "/vm", "{\"state\":\"Paused\"}", &o), 204);
	cr_assert_eq(req("GET", "/", NULL, &o), 200);
	cr_assert_str_eq(str(o, "state"), "Paused");
	json_decref(o);
	cr_assert_eq(req("PATCH", "/vm", "{\"state\": \"Resumed\"}", &o), 204);
	cr_assert_not(F.paused);
	cr_assert_eq(F.pause_calls, 2);
	cr_assert_eq(F.resume_calls, 1);
}

Test(api, bad_bodies)
{
	expect_fault("PATCH", "/vm", "{\"state\":\"Sleeping\"}", 400, "unknown variant `Sleeping`");
	expect_fault("PATCH", "/vm", "{\"state\":\"Paused\",\"x\":1}", 400, "unknown field `x`");
	expect_fault("PATCH", "/vm", "{\"state\":3}", 400, "`state` must be a string");
	expect_fault("PATCH", "/vm", "{}", 400, "missing field `state`");
	expect_fault("PATCH", "/vm", "", 400, "Empty PATCH request.");
	expect_fault("PUT", "/actions", NULL, 400, "Empty PUT request.");
	expect_fault("PATCH", "/vm", "{\"state\":", 400, "deserializing the json body");
	expect_fault("PATCH", "/vm", "[1]", 400, "expected a JSON object");
	expect_fault("PATCH", "/vm", "{\"state\":\"Paused\",\"state\":\"Paused\"}", 400,
		     "deserializing");
	expect_fault("GET", "/", "{}", 400, "GET request cannot have a body.");
	expect_fault("GET", "/nope", NULL, 400, "Invalid request method and/or path: GET /nope.");
	expect_fault("DELETE", "/vm", NULL, 400, "Invalid request method and/or path: DELETE /vm.");
	cr_assert_eq(F.pause_calls, 0);
}

Test(api, actions)
{
	json_t *o;

	cr_assert_eq(req("PUT", "/actions", "{\"action_type\":\"Shutdown\"}", &o), 200);
	cr_assert_str_eq(str(o, "method"), "acpi");
	cr_assert_not(F.last_reboot);
	json_decref(o);
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\":\"Reboot\"}", &o), 200);
	cr_assert_str_eq(str(o, "method"), "agent");
	cr_assert(F.last_reboot);
	json_decref(o);
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\":\"PowerButton\"}", &o), 204);
	cr_assert_eq(F.power_calls, 1);
	cr_assert_eq(req("PUT", "/actions", "{\"action_type\":\"Kill\"}", &o), 204);
	/* kill() runs after the answer is written: one more round trip to see it. */
	cr_assert_eq(req("GET", "/version", NULL, &o), 200);
	json_decref(o);
	cr_assert_eq(F.kill_calls, 1);
	expect_fault("PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}", 400,
		     "not supported");
	expect_fault("PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 400,
		     "not supported");
	expect_fault("PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}", 400, "not supported");
	expect_fault("PUT", "/actions", "{\"action_type\":\"Explode\"}", 400, "unknown variant");
	expect_fault("PUT", "/actions", "{\"action\":\"Kill\"}", 400, "unknown field `action`");
	cr_assert_eq(F.kill_calls, 1);
	cr_assert_eq(F.shutdown_calls, 2);
}

Test(api, op_failures_are_500)
{
	F.fail = -EIO;
	expect_fault("PATCH", "/vm", "{\"state\":\"Paused\"}", 500, "cannot pause: vcpu 1 stuck");
	expect_fault("PUT", "/actions", "{\"action_type\":\"Shutdown\"}", 500, "no way to stop it");
	expect_fault("GET", "/clone/status", NULL, 500, "info broke");
	expect_fault("GET", "/", NULL, 500, "info broke");
}

/* What the VM's state forbids (a stopping VM, a paused one for the agent) is a conflict. */
Test(api, state_conflicts_are_409)
{
	F.fail = -ESHUTDOWN;
	expect_fault("PATCH", "/vm", "{\"state\":\"Paused\"}", 409, "cannot pause: vcpu 1 stuck");
	F.fail = -EBUSY;
	expect_fault("PUT", "/actions", "{\"action_type\":\"Shutdown\"}", 409, "no way to stop it");
}

Test(api, status)
{
	json_t *o, *ai;

	F.agent_info = json_pack("{s:s, s:i}", "hostname", "guest", "load", 3);
	cr_assert_eq(req("GET", "/clone/status", NULL, &o), 200);
	cr_assert_str_eq(str(o, "name"), "vm1");
	cr_assert_eq(num(o, "pid"), 4242);
	cr_assert_str_eq(str(o, "state"), "Running");
	cr_assert_eq(num(o, "vcpus"), 2);
	cr_assert_eq(num(o, "mem_mib"), 512);
	cr_assert_eq(num(o, "rss_kib"), 1000);
	cr_assert_eq(num(o, "uptime_ms"), 1234);
	cr_assert_eq(num(o, "created"), 1700000000);
	cr_assert_eq(num(o, "cid"), 7);
	cr_assert_str_eq(str(o, "console"), "/run/c/console");
	cr_assert(json_is_null(json_object_get(o, "log")));
	cr_assert_str_eq(str(o, "agent"), "connected");
	ai = json_object_get(o, "agent_info");
	cr_assert_str_eq(str(ai, "hostname"), "guest");
	cr_assert_eq(json_object_size(o), 14); /* ... and "net" */
	json_decref(o);
	/* The server released the reference the op gave it. */
	cr_assert_eq(F.agent_info->refcount, 1);
	json_decref(F.agent_info);
	F.agent_info = NULL;
	cr_assert_eq(req("GET", "/clone/status", NULL, &o), 200);
	cr_assert(json_is_null(json_object_get(o, "agent_info")));
	json_decref(o);
}

static void check_endpoint(json_t *o)
{
	char want[65];

	for (int i = 0; i < 32; i++)
		snprintf(want + 2 * i, 3, "%02x", (unsigned)(i * 8 + 1));
	cr_assert_eq(num(o, "cid"), 7);
	cr_assert_eq(num(o, "port"), 1024);
	cr_assert_str_eq(str(o, "token"), want);
}

static void wait_agent_called(void)
{
	struct pollfd p = { .fd = agent_called_fd, .events = POLLIN };
	uint64_t v;

	cr_assert_eq(poll(&p, 1, 5000), 1, "agent_endpoint not called");
	cr_assert_eq(read(agent_called_fd, &v, 8), 8);
}

Test(api, agent_ready_now_or_never)
{
	json_t *o;

	cr_assert_eq(req("GET", "/clone/agent", NULL, &o), 200);
	check_endpoint(o);
	json_decref(o);
	cr_assert_eq(req("GET", "/clone/agent?wait_ms=100", NULL, &o), 200);
	check_endpoint(o);
	json_decref(o);
	F.agent_ret = -ENODEV;
	expect_fault("GET", "/clone/agent?wait_ms=1000", NULL, 503, "this VM has no vsock device");
	F.agent_ret = -EAGAIN;
	expect_fault("GET", "/clone/agent", NULL, 504,
		     "the guest agent did not connect within 0 ms");
	expect_fault("GET", "/clone/agent?wait_ms=50", NULL, 504,
		     "the guest agent did not connect within 50 ms");
	expect_fault("GET", "/clone/agent?wait_ms=600001", NULL, 400, "wait_ms");
	expect_fault("GET", "/clone/agent?wait_ms=-1", NULL, 400, "wait_ms");
	expect_fault("GET", "/clone/agent?wait_ms=", NULL, 400, "wait_ms");
	expect_fault("GET", "/clone/agent?foo=1", NULL, 400, "unknown query parameter `foo`");
	cr_assert_eq(req("GET", "/clone/status", NULL, &o), 200);
	json_decref(o);
	cr_assert_eq(F.nr_waiting_seen, 0);
}

struct bg {
	pthread_t t;
	const char *path;
	int ret, status;
	char *body;
};

static void *bg_main(void *arg)
{
	struct bg *b = arg;

	b->ret = http_request(sock, "GET", b->path, NULL, 10000, &b->status, &b->body);
	return NULL;
}

Test(api, agent_wait_then_ready)
{
	struct bg a = { .path = "/clone/agent?wait_ms=600000" };
	struct bg b = { .path = "/clone/agent?wait_ms=30000" };
	json_t *o;

	F.agent_ret = -EAGAIN;
	pthread_create(&a.t, NULL, bg_main, &a);
	wait_agent_called();
	pthread_create(&b.t, NULL, bg_main, &b);
	wait_agent_called();
	/* Still not there: both keep waiting. */
	evl_wake(&loop);
	wait_agent_called();
	wait_agent_called();
	__atomic_store_n(&F.agent_ret, 0, __ATOMIC_SEQ_CST);
	evl_wake(&loop); /* the VMM's api_agent_changed() */
	pthread_join(a.t, NULL);
	pthread_join(b.t, NULL);
	cr_assert_eq(a.ret, 0);
	cr_assert_eq(a.status, 200, "%s", a.body);
	cr_assert_eq(b.status, 200);
	o = json_loads(a.body, 0, NULL);
	check_endpoint(o);
	json_decref(o);
	free(a.body);
	free(b.body);
	cr_assert_eq(req("GET", "/clone/status", NULL, &o), 200);
	json_decref(o);
	cr_assert_eq(F.nr_waiting_seen, 0);
}

Test(api, agent_gone_for_good_while_waiting)
{
	struct bg a = { .path = "/clone/agent?wait_ms=600000" };

	F.agent_ret = -EAGAIN;
	pthread_create(&a.t, NULL, bg_main, &a);
	wait_agent_called();
	__atomic_store_n(&F.agent_ret, -ENODEV, __ATOMIC_SEQ_CST);
	evl_wake(&loop);
	pthread_join(a.t, NULL);
	cr_assert_eq(a.status, 503);
	cr_assert(strstr(a.body, "no vsock device"));
	free(a.body);
}

Test(api, client_disconnects_while_waiting)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *r = "GET /clone/agent?wait_ms=600000 HTTP/1.1\r\n\r\n";
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unsigned seen = 1;
	json_t *o;

	F.agent_ret = -EAGAIN;
	strcpy(sa.sun_path, sock);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(send(fd, r, strlen(r), MSG_NOSIGNAL), (ssize_t)strlen(r));
	wait_agent_called();
	cr_assert_eq(req("GET", "/clone/status", NULL, &o), 200);
	json_decref(o);
	cr_assert_eq(F.nr_waiting_seen, 1);
	close(fd);
	/* The hang-up is already queued on the loop; a few round trips at most. */
	for (int i = 0; i < 50 && seen; i++) {
		cr_assert_eq(req("GET", "/clone/status", NULL, &o), 200);
		json_decref(o);
		seen = F.nr_waiting_seen;
	}
	cr_assert_eq(seen, 0);
	/* Nothing is answered on the dead handle when the agent shows up. */
	__atomic_store_n(&F.agent_ret, 0, __ATOMIC_SEQ_CST);
	evl_wake(&loop);
	cr_assert_eq(req("GET", "/clone/agent", NULL, &o), 200);
	json_decref(o);
}

Test(api, destroyed_while_waiting)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *r = "GET /clone/agent?wait_ms=600000 HTTP/1.1\r\n\r\n";
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	F.agent_ret = -EAGAIN;
	strcpy(sa.sun_path, sock);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(send(fd, r, strlen(r), MSG_NOSIGNAL), (ssize_t)strlen(r));
	wait_agent_called();
	/* stop() destroys the server with the request waiting (fd stays open
	 * until the process ends): no leak, no answer. */
}

/* ---- rate limits ---- */

Test(api, patch_drive_rate_limiter)
{
	json_t *o;

	cr_assert_eq(
		req("PATCH", "/drives/disk0",
		    "{\"drive_id\":\"disk0\",\"rate_limiter\":{"
		    "\"bandwidth\":{\"size\":1048576,\"one_time_burst\":4096,\"refill_time\":100},"
		    "\"ops\":{\"size\":100,\"refill_time\":1000}}}",
		    &o),
		204);
	cr_assert_null(o);
	cr_assert_eq(F.limit_calls, 1);
	cr_assert_str_eq(F.limit_id, "disk0");
	cr_assert(F.has_rl);
	cr_assert_eq(F.rl.bytes.size, 1048576);
	cr_assert_eq(F.rl.bytes.one_time_burst, 4096);
	cr_assert_eq(F.rl.bytes.refill_ms, 100);
	cr_assert_eq(F.rl.ops.size, 100);
	cr_assert_eq(F.rl.ops.one_time_burst, 0);
	cr_assert_eq(F.rl.ops.refill_ms, 1000);

	/* A missing bucket does not limit. */
	cr_assert_eq(req("PATCH", "/drives/rootfs",
			 "{\"drive_id\":\"rootfs\",\"rate_limiter\":{\"ops\":{\"size\":5,"
			 "\"refill_time\":10}}}",
			 &o),
		     204);
	cr_assert_eq(F.rl.bytes.size, 0);
	cr_assert_eq(F.rl.ops.size, 5);

	/* Size 0 or refill_time 0: unlimited, as in Firecracker. */
	cr_assert_eq(req("PATCH", "/drives/disk1",
			 "{\"drive_id\":\"disk1\",\"rate_limiter\":{\"bandwidth\":{\"size\":0,"
			 "\"refill_time\":10,\"one_time_burst\":7},\"ops\":{\"size\":9,"
			 "\"refill_time\":0}}}",
			 &o),
		     204);
	cr_assert_eq(F.rl.bytes.size, 0);
	cr_assert_eq(F.rl.bytes.one_time_burst, 0);
	cr_assert_eq(F.rl.ops.size, 0);

	/* An empty limiter removes the limits; a missing or null one leaves them. */
	cr_assert_eq(
		req("PATCH", "/drives/disk0", "{\"drive_id\":\"disk0\",\"rate_limiter\":{}}", &o),
		204);
	cr_assert(F.has_rl);
	cr_assert_eq(F.rl.bytes.size + F.rl.ops.size, 0);
	cr_assert_eq(req("PATCH", "/drives/disk0", "{\"drive_id\":\"disk0\"}", &o), 204);
	cr_assert_not(F.has_rl);
	cr_assert_eq(
		req("PATCH", "/drives/disk0", "{\"drive_id\":\"disk0\",\"rate_limiter\":null}", &o),
		204);
	cr_assert_not(F.has_rl);
	cr_assert_eq(F.limit_calls, 6);
}

Test(api, patch_network_interface_rate_limiters)
{
	json_t *o;

	cr_assert_eq(req("PATCH", "/network-interfaces/net0",
			 "{\"iface_id\":\"net0\",\"rx_rate_limiter\":{\"bandwidth\":{\"size\":"
			 "1000,\"refill_time\":100}}}",
			 &o),
		     204);
	cr_assert_str_eq(F.limit_id, "net0");
	cr_assert(F.has_rx);
	cr_assert_not(F.has_tx, "tx left as it is");
	cr_assert_eq(F.rx.bytes.size, 1000);
	cr_assert_eq(req("PATCH", "/network-interfaces/net1",
			 "{\"iface_id\":\"net1\",\"rx_rate_limiter\":{},\"tx_rate_limiter\":"
			 "{\"ops\":{\"size\":10,\"one_time_burst\":20,\"refill_time\":1000}}}",
			 &o),
		     204);
	cr_assert(F.has_rx && F.has_tx);
	cr_assert_eq(F.rx.bytes.size, 0);
	cr_assert_eq(F.tx.ops.size, 10);
	cr_assert_eq(F.tx.ops.one_time_burst, 20);
	cr_assert_eq(req("PATCH", "/network-interfaces/net0", "{\"iface_id\":\"net0\"}", &o), 204);
	cr_assert_not(F.has_rx || F.has_tx);
}

/* PATCH /drives/disk0 with {"drive_id":"disk0","rate_limiter":limiter}: expect 400 with needle. */
static void bad_limiter(const char *limiter, const char *needle)
{
	char body[512];

	snprintf(body, sizeof(body), "{\"drive_id\":\"disk0\",\"rate_limiter\":%s}", limiter);
	expect_fault("PATCH", "/drives/disk0", body, 400, needle);
}

Test(api, rate_limiter_errors)
{
	expect_fault("PATCH", "/drives/nvme0", "{\"drive_id\":\"nvme0\"}", 404, "no drive 'nvme0'");
	expect_fault("PATCH", "/network-interfaces/eth0", "{\"iface_id\":\"eth0\"}", 404,
		     "no network interface 'eth0'");
	expect_fault("PATCH", "/drives/disk0", "{\"drive_id\":\"disk1\"}", 400,
		     "does not match the id from the body");
	expect_fault("PATCH", "/network-interfaces/net0", "{\"iface_id\":\"net1\"}", 400,
		     "does not match");
	expect_fault("PATCH", "/drives/disk0", "{\"rate_limiter\":{}}", 400,
		     "missing field `drive_id`");
	expect_fault("PATCH", "/drives/disk0", "{\"drive_id\":0}", 400,
		     "`drive_id` must be a string");
	expect_fault("PATCH", "/drives/disk0", "{\"drive_id\":\"disk0\",\"x\":1}", 400,
		     "unknown field `x`");
	expect_fault("PATCH", "/drives/disk0", "{\"drive_id\":\"disk0\",\"path_on_host\":\"/a\"}",
		     400, "path_on_host is not supported");
	expect_fault("PATCH", "/drives/disk0", "{\"drive_id\":", 400, "deserializing");
	expect_fault("PATCH", "/drives/disk0", "", 400, "Empty PATCH request");
	expect_fault("PATCH", "/network-interfaces/net0",
		     "{\"iface_id\":\"net0\",\"rx_rate_limiter\":[]}", 400,
		     "`rx_rate_limiter` must be an object");
	bad_limiter("3", "`rate_limiter` must be an object");
	bad_limiter("{\"bytes\":{}}", "unknown field `bytes`");
	bad_limiter("{\"ops\":[]}", "`rate_limiter.ops` must be an object");
	bad_limiter("{\"ops\":{\"size\":1}}", "missing field `rate_limiter.ops.refill_time`");
	bad_limiter("{\"ops\":{\"refill_time\":1}}", "missing field `rate_limiter.ops.size`");
	bad_limiter("{\"ops\":{\"size\":1,\"refill_time\":1,\"rate\":2}}", "unknown field `rate`");
	bad_limiter("{\"bandwidth\":{\"size\":-1,\"refill_time\":100}}",
		    "`rate_limiter.bandwidth.size` must be a non-negative integer");
	bad_limiter("{\"bandwidth\":{\"size\":\"1M\",\"refill_time\":100}}",
		    "non-negative integer");
	bad_limiter("{\"bandwidth\":{\"size\":1.5,\"refill_time\":100}}", "non-negative integer");
	bad_limiter("{\"bandwidth\":{\"size\":1,\"refill_time\":100,\"one_time_burst\":-3}}",
		    "one_time_burst` must be");
	bad_limiter("{\"bandwidth\":{\"size\":1099511627777,\"refill_time\":100}}",
		    "rate_limiter: bandwidth: size and burst must be at most");
	bad_limiter("{\"ops\":{\"size\":1,\"refill_time\":86400001}}",
		    "rate_limiter: ops: refill time");
	/* Bad ids: 400 from the router, never reaching the VMM. */
	expect_fault("PATCH", "/drives/", "{}", 400, "Invalid request method and/or path");
	expect_fault("PATCH", "/drives/a/b", "{}", 400, "Invalid request method and/or path");
	expect_fault("GET", "/drives/disk0", NULL, 400, "Invalid request method and/or path");
	expect_fault("PATCH", "/drives/disk%200", "{\"drive_id\":\"disk 0\"}", 400, "Invalid id");
	cr_assert_eq(F.limit_calls, 2, "only the two 404s reached the VMM");
	/* A VMM failure other than a missing device: 500 with its message. */
	F.fail = -EIO;
	expect_fault("PATCH", "/drives/disk0", "{\"drive_id\":\"disk0\"}", 500, "limits broke");
}

/* What `clone limit` sends is what the server reads: the same configs as parsing the words. */
Test(api, cli_limit_bodies_round_trip)
{
	static char *const words[] = { "bps=10M", "iops=15", "bps_size=64K", "bps_refill_ms=50",
				       "bps_burst=1G" };
	struct rl_config want = { 0 };
	char *path, *body;
	json_t *o;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		char k[32];
		const char *eq = strchr(words[i], '=');

		snprintf(k, sizeof(k), "%.*s", (int)(eq - words[i]), words[i]);
		cr_assert_eq(rl_parse_option(k, eq + 1, &want), 1);
	}
	cr_assert_eq(rl_parse_finish(&want), 0);
	cr_assert_eq(cli_limit_build("disk1", 5, words, &path, &body), 0, "%s", err_msg());
	cr_assert_eq(req("PATCH", path, body, &o), 204);
	cr_assert(F.has_rl);
	cr_assert_eq(memcmp(&F.rl, &want, sizeof(want)), 0);
	free(path);
	free(body);

	cr_assert_eq(
		cli_limit_build("net0", 2, (char *[]){ "rx_iops=100", "tx_bps=1M" }, &path, &body),
		0);
	cr_assert_eq(req("PATCH", path, body, &o), 204);
	cr_assert(F.has_rx && F.has_tx);
	cr_assert_eq(F.rx.ops.size, 10);
	cr_assert_eq(F.rx.bytes.size, 0);
	cr_assert_eq(F.tx.bytes.size, 104857);
	cr_assert_eq(F.tx.ops.size, 0);
	free(path);
	free(body);
}
