// SPDX-License-Identifier: Apache-2.0
/*
 * struct vm behind the control API (see control.h).  Every op runs on the
 * event-loop thread, like the agent channel it reads, so the agent's state
 * needs no lock; vm->lock guards what vCPU threads share.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/agent.h"
#include "api/server.h"
#include "control.h"
#include "snapshot.h"
#include "devices/pm.h"
#include "lib/err.h"
#define LOG_TAG "control"
#include "lib/log.h"
#include "lib/util.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/vsock.h"
#include "vm.h"

/* VmRSS of this process in KiB (0 if unknown). */
static uint64_t self_rss_kib(void)
{
	unsigned long long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (uint64_t)(sysconf(_SC_PAGESIZE) / 1024);
}

static const char *agent_state(const struct vm *vm)
{
	if (agent_host_ready(vm->agent))
		return "connected";
	if (!vm->agent || !vm->agent_expected)
		return vm->agent ? "absent" : "disabled";
	return "waiting";
}

static json_t *agent_json(const struct vm *vm)
{
	const struct ap_hello *h = agent_host_hello(vm->agent);
	const struct ap_report *r;
	uint64_t age = 0;
	json_t *o;

	if (!h)
		return NULL;
	o = json_pack("{s:{s:s,s:s,s:s}}", "hello", "agent_version", h->agent_version, "kernel",
		      h->kernel, "hostname", h->hostname);
	r = agent_host_report(vm->agent, &age);
	if (o && r) {
		json_object_set_new(
			o, "report",
			json_pack("{s:I,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "seq",
				  (json_int_t)r->seq, "active", r->active, "cpu_busy",
				  (json_int_t)r->cpu_busy, "psi_some", (json_int_t)r->psi_some,
				  "psi_full", (json_int_t)r->psi_full, "load1",
				  (json_int_t)r->load[0], "load5", (json_int_t)r->load[1], "load15",
				  (json_int_t)r->load[2], "procs", (json_int_t)r->procs,
				  "mem_total", (json_int_t)r->mem_total, "mem_avail",
				  (json_int_t)r->mem_avail, "uptime_ms", (json_int_t)r->uptime_ms));
		json_object_set_new(o, "report_age_ms", json_integer((json_int_t)age));
	} else if (o) {
		json_object_set_new(o, "report", json_null());
	}
	return o;
}

/* One object per NIC: what `clone status` shows and tests check. */
static json_t *net_json(struct vm *vm)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < vm->net.nr; i++) {
		struct vm_nic *nic = &vm->net.nics[i];
		struct rl_config rx, tx;
		struct net_stats st;
		char rxs[160], txs[160];

		if (!nic->dev)
			continue;
		net_get_rate_limit(nic->dev, &rx, &tx);
		net_get_stats(nic->dev, &st);
		json_array_append_new(
			a,
			json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:I, s:I, s:I, "
				  "s:I, s:I, s:I, s:I}}",
				  "id", nic->id, "mode", nic->mode, "tap", nic->ifname, "bridge",
				  nic->bridge, "mac", nic->identity.mac, "address",
				  nic->identity.nr_addrs ? nic->identity.addrs[0] : "", "path",
				  net_data_path(nic->dev), "rx_limit",
				  rl_describe(&rx, rxs, sizeof(rxs)), "tx_limit",
				  rl_describe(&tx, txs, sizeof(txs)), "stats", "rx_frames",
				  (json_int_t)st.rx_frames, "rx_bytes", (json_int_t)st.rx_bytes,
				  "tx_frames", (json_int_t)st.tx_frames, "tx_bytes",
				  (json_int_t)st.tx_bytes, "rx_throttled",
				  (json_int_t)st.rx_throttled, "tx_throttled",
				  (json_int_t)st.tx_throttled, "rx_dropped",
				  (json_int_t)st.rx_dropped));
	}
	return a;
}

static int op_info(void *opaque, struct api_vm_info *out)
{
	struct vm *vm = opaque;
	bool stopping;

	pthread_mutex_lock(&vm->lock);
	stopping = vm->stopping;
	pthread_mutex_unlock(&vm->lock);
	memset(out, 0, sizeof(*out));
	out->name = vm->cfg->name ? vm->cfg->name : "";
	out->pid = (int)getpid();
	out->state = stopping ? "Stopping" : vm_paused(vm) ? "Paused" : "Running";
	out->vcpus = vm->nr_vcpus;
	out->mem_mib = vm->cfg->mem_mb;
	out->rss_kib = self_rss_kib();
	out->uptime_ms = (monotonic_ns() - vm->t.start) / 1000000;
	out->created = vm->created;
	out->cid = vm->vsock ? vsock_cid(vm->vsock) : 0;
	out->console = vm->cfg->console_path;
	out->log = vm->cfg->serial == SERIAL_FILE ? vm->cfg->serial_path : NULL;
	out->agent = agent_state(vm);
	out->agent_info = agent_json(vm);
	out->net = net_json(vm);
	return 0;
}

static int op_pause(void *opaque)
{
	struct vm *vm = opaque;

	if (vm_paused(vm))
		return 0;
	return vm_pause(vm);
}

static int op_resume(void *opaque)
{
	vm_resume(opaque);
	return 0;
}

static int op_shutdown(void *opaque, bool reboot, const char **method)
{
	struct vm *vm = opaque;

	if (vm_paused(vm))
		vm_resume(vm); /* a frozen guest cannot shut down */
	if (agent_host_ready(vm->agent)) {
		int ret = agent_host_shutdown(vm->agent, reboot);

		if (!ret) {
			*method = "agent";
			return 0;
		}
		if (reboot)
			return ret;
		log_warn("shutdown through the agent failed (%s): pressing the power button",
			 err_msg());
	} else if (reboot) {
		return err_setx(-ENOTCONN, "reboot needs the guest agent, which is not connected");
	}
	pm_power_button(vm->pm);
	*method = "acpi";
	return 0;
}

static int op_power_button(void *opaque)
{
	struct vm *vm = opaque;

	pm_power_button(vm->pm);
	return 0;
}

static void op_kill(void *opaque)
{
	vm_request_exit(opaque, VM_EXIT_KILL, 128 + 9);
}

static int op_agent_endpoint(void *opaque, struct api_agent_endpoint *ep)
{
	struct vm *vm = opaque;
	const struct ap_hello *h = agent_host_hello(vm->agent);

	if (vm_paused(vm))
		return err_setx(-EBUSY, "VM '%s' is paused (clone resume %s)",
				vm->cfg->name ? vm->cfg->name : "",
				vm->cfg->name ? vm->cfg->name : "");
	if (h) {
		ep->cid = (uint32_t)vsock_cid(vm->vsock);
		ep->port = AP_EXEC_PORT;
		memcpy(ep->token, h->token, sizeof(ep->token));
		return 0;
	}
	if (!vm->agent || !vm->agent_expected)
		return err_setx(-ENODEV, "VM '%s' has no agent: %s",
				vm->cfg->name ? vm->cfg->name : "", vm->agent_why);
	return -EAGAIN;
}

/* Rate limits of a drive: its id is its serial ("disk0", "clone-root", or the user's). */
static int op_set_drive_limits(void *opaque, const char *id, const struct rl_config *rl)
{
	struct vm *vm = opaque;

	/* vm->blks[i] was made from vm->storage.disks[i]. */
	for (unsigned i = 0; i < vm->nr_blks; i++)
		if (!strcmp(vm->storage.disks[i].serial, id))
			return rl ? blk_set_rate_limit(vm->blks[i], rl) : 0;
	return err_setx(-ENOENT, "no drive '%s'", id);
}

static int op_set_net_limits(void *opaque, const char *id, const struct rl_config *rx,
			     const struct rl_config *tx)
{
	struct vm *vm = opaque;
	struct vm_nic *nic = network_find(&vm->net, id);

	if (!nic)
		return err_setx(-ENOENT, "no network interface '%s'", id);
	return net_set_rate_limit(nic->dev, rx, tx);
}

static int op_snapshot(void *opaque, const struct api_snapshot_req *req,
		       struct api_snapshot_res *res)
{
	struct vm_snapshot_req sr = { .name = req->name, .full = req->full, .stop = req->stop };
	struct vm_snapshot_res r;
	int ret = vm_snapshot(opaque, &sr, &r);

	memset(res, 0, sizeof(*res));
	if (ret)
		return ret == -ESHUTDOWN ? -EBUSY : ret;
	res->incremental = r.incremental;
	res->layer = r.layer;
	res->memory_bytes = r.mem_bytes;
	res->disk_bytes = r.disk_bytes;
	res->pause_ms = r.pause_ms;
	snprintf(res->path, sizeof(res->path), "%s", r.dir);
	return 0;
}

static const struct api_ops control_ops = {
	.info = op_info,
	.pause = op_pause,
	.resume = op_resume,
	.shutdown = op_shutdown,
	.power_button = op_power_button,
	.kill = op_kill,
	.agent_endpoint = op_agent_endpoint,
	.set_drive_limits = op_set_drive_limits,
	.set_net_limits = op_set_net_limits,
	.snapshot = op_snapshot,
};

int control_start(struct vm *vm)
{
	if (!vm->cfg->api_path)
		return 0;
	return api_server_create(&vm->loop, vm->cfg->api_path, &control_ops, vm, &vm->api);
}

void control_stop(struct vm *vm)
{
	api_server_destroy(vm->api);
	vm->api = NULL;
}
