/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-VM control API: Firecracker-compatible routes (GET /,
 * /version, /machine-config, PATCH /vm, PUT /actions) plus Clone's own
 * (/clone/status, /clone/agent), served over http.c on the event loop.
 * The VMM is reached only through struct api_ops, so the routes are
 * testable without a VM.  Every function here runs on the loop thread.
 */
#ifndef CLONE_API_SERVER_H
#define CLONE_API_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/ratelimit.h"
#include "vmm/evloop.h"

struct api_agent_endpoint {
	uint32_t cid, port;
	uint8_t token[32];
};

struct api_vm_info {
	const char *name;
	int pid;
	const char *state; /* "Running", "Paused", "Stopping" */
	unsigned vcpus;
	uint64_t mem_mib;
	uint64_t rss_kib;
	uint64_t uptime_ms;
	uint64_t created; /* Unix s */
	uint64_t cid;	  /* 0: no vsock */
	const char *console;
	const char *log;   /* paths or NULL */
	const char *agent; /* "connected", "waiting", "absent", "disabled" */
	/* NULL or objects; new references that server.c releases after the answer. */
	json_t *agent_info; /* the agent's hello and last report */
	json_t *net;	    /* an array: one object per NIC */
};

struct api_snapshot_req {
	const char *name; /* template */
	bool full, stop;
};

struct api_snapshot_res {
	bool incremental;
	unsigned layer;
	uint64_t memory_bytes, disk_bytes, pause_ms;
	char path[4096];
};

/* Called on the loop thread; ops set the message with err_set() on failure. */
struct api_ops {
	/* Fills out; strings stay valid until the call returns to the loop. */
	int (*info)(void *opaque, struct api_vm_info *out);
	/* 0 or -errno with message; idempotent. */
	int (*pause)(void *opaque);
	int (*resume)(void *opaque);
	/* Graceful stop: *method gets "agent" or "acpi"; 0 or -errno. */
	int (*shutdown)(void *opaque, bool reboot, const char **method);
	int (*power_button)(void *opaque);
	/* End the VM now (the VMM exits); called after the reply is written. */
	void (*kill)(void *opaque);
	/*
	 * 0 ready (fills ep), -EAGAIN not yet, -ENODEV the VM has no agent,
	 * -EBUSY the VM's state forbids it now (paused: 409); message set.
	 */
	int (*agent_endpoint)(void *opaque, struct api_agent_endpoint *ep);
	/*
	 * Rate limits (PATCH /drives/{id}, PATCH /network-interfaces/{id}); each
	 * config is rl_check()ed.  NULL leaves that limiter unchanged.  -ENOENT:
	 * no such device (404); other -errno: 500.  Optional: a NULL op answers
	 * 400 (not supported).
	 */
	int (*set_drive_limits)(void *opaque, const char *id, const struct rl_config *rl);
	int (*set_net_limits)(void *opaque, const char *id, const struct rl_config *rx,
			      const struct rl_config *tx);
	/*
	 * PUT /clone/snapshot: snapshot the VM into template req->name.
	 * -EINVAL (bad name: 400), other -errno: 500; message set.  Optional.
	 */
	int (*snapshot)(void *opaque, const struct api_snapshot_req *req,
			struct api_snapshot_res *res);
};

struct api_server;

#define API_AGENT_WAIT_MAX_MS 600000

/* Serve the API at sock_path (see http_server_create()); 0 or -errno with the message set. */
int api_server_create(struct evloop *loop, const char *sock_path, const struct api_ops *ops,
		      void *opaque, struct api_server **out);
/* The agent connected or went away: requests waiting for it are re-checked now. */
void api_agent_changed(struct api_server *s);
/* Close every connection (waiting requests are dropped) and unlink the socket. */
void api_server_destroy(struct api_server *s);
/* Requests waiting in GET /clone/agent now (diagnostics and tests). */
unsigned api_server_nr_waiting(const struct api_server *s);

#endif
