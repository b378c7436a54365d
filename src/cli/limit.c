// SPDX-License-Identifier: Apache-2.0
/*
 * clone limit NAME DEVICE KEY=VALUE... | none: change the rate limits of a
 * running VM's disk or network interface.  The KEY=VALUE words are the
 * --disk/--net rate-limit options (lib/ratelimit.h); they become a
 * Firecracker-style PATCH /drives/{id} or /network-interfaces/{id} body
 * (cli_limit_build(), pure, unit-tested) sent to the VM's control socket.
 * Main thread only.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "cli/cli.h"
#include "lib/err.h"
#include "lib/ratelimit.h"
#include "vmm/registry.h"

#define LIMIT_TIMEOUT_MS 5000

static void limit_usage(FILE *f)
{
	fprintf(f, "Usage: clone limit NAME DEVICE KEY=VALUE...\n"
		   "       clone limit NAME DEVICE none\n"
		   "Change the rate limits of a running VM's disk or network interface.  The\n"
		   "keys given replace the device's limits (a NIC's: those of the directions\n"
		   "named); throttled I/O waits, nothing is dropped or failed.\n"
		   "\n"
		   "DEVICE: disk0, disk1... (--disk order), rootfs, overlay; net0, net1...\n"
		   "Keys (suffixes K, M, G, T: powers of 1024 for bytes, 1000 for operations):\n"
		   "  bps=RATE          bytes per second (a bucket refilled every 100 ms)\n"
		   "  bps_size=BYTES    bucket size, with bps_refill_ms (Firecracker's model)\n"
		   "  bps_refill_ms=MS  time to refill the bucket\n"
		   "  bps_burst=BYTES   one-time burst on top of the bucket\n"
		   "  iops=RATE, iops_size=N, iops_refill_ms=MS, iops_burst=N: operations\n"
		   "  rx_KEY, tx_KEY    a NIC's receive or transmit side (KEY alone: both)\n"
		   "  none              remove every limit of the device\n"
		   "\n"
		   "Example: clone limit web disk0 bps=20M iops=500\n");
}

static bool device_ok(const char *id)
{
	size_t n = strlen(id);

	return n >= 1 && n <= 64 &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			  "0123456789_.-") == n;
}

/* "limit: " before the message set (err_setx() must not read its own buffer). */
static int prefixed(void)
{
	char m[512];

	snprintf(m, sizeof(m), "%s", err_msg());
	return err_setx(-EINVAL, "limit: %s", m);
}

/* A TokenBucket object, or NULL for a bucket that does not limit (left out). */
static json_t *bucket_json(const struct rl_bucket_config *b)
{
	json_t *o;

	if (!b->size)
		return NULL;
	o = json_pack("{s:I, s:I}", "size", (json_int_t)b->size, "refill_time",
		      (json_int_t)b->refill_ms);
	if (o && b->one_time_burst &&
	    json_object_set_new(o, "one_time_burst", json_integer((json_int_t)b->one_time_burst))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* o[key] = a RateLimiter object for c; 0 or -ENOMEM. */
static int add_limiter(json_t *o, const char *key, const struct rl_config *c)
{
	json_t *l = json_object(), *b;

	if (!l)
		return -ENOMEM;
	b = bucket_json(&c->bytes);
	if ((c->bytes.size && !b) || (b && json_object_set_new(l, "bandwidth", b)))
		goto fail;
	b = bucket_json(&c->ops);
	if ((c->ops.size && !b) || (b && json_object_set_new(l, "ops", b)))
		goto fail;
	if (json_object_set_new(o, key, l))
		return -ENOMEM;
	return 0;
fail:
	json_decref(l);
	return -ENOMEM;
}

int cli_limit_build(const char *device, int nargs, char *const *args, char **path, char **body)
{
	bool nic = !strncmp(device, "net", 3), set_rx = false, set_tx = false, none = false;
	struct rl_config rx = { 0 }, tx = { 0 };
	char *p = NULL, *text = NULL;
	json_t *o = NULL;
	int ret;

	*path = *body = NULL;
	if (!device_ok(device))
		return err_setx(-EINVAL, "limit: bad device '%s' (disk0, rootfs, net0...)", device);
	if (nargs < 1)
		return err_setx(-EINVAL, "limit: which limits? (KEY=VALUE... or none; see clone "
					 "limit --help)");
	for (int i = 0; i < nargs; i++) {
		const char *eq = strchr(args[i], '=');
		const char *key, *val;
		struct rl_config *only = NULL;
		char k[32];
		size_t n;

		if (!strcmp(args[i], "none")) {
			if (nargs != 1)
				return err_setx(-EINVAL, "limit: 'none' goes alone");
			none = set_rx = set_tx = true;
			break;
		}
		if (!eq || (n = (size_t)(eq - args[i])) >= sizeof(k))
			return err_setx(-EINVAL, "limit: '%s': expected KEY=VALUE or none",
					args[i]);
		memcpy(k, args[i], n);
		k[n] = '\0';
		key = k;
		val = eq + 1;
		if (nic && !strncmp(key, "rx_", 3)) {
			only = &rx;
			key += 3;
		} else if (nic && !strncmp(key, "tx_", 3)) {
			only = &tx;
			key += 3;
		}
		err_clear();
		ret = rl_parse_option(key, val, only ? only : &rx);
		if (ret == 1 && !only)
			ret = rl_parse_option(key, val, &tx);
		if (ret < 0)
			return prefixed();
		if (ret == 0)
			return err_setx(-EINVAL,
					"limit: unknown key '%s'%s (see clone limit --help)", k,
					nic ? "" : " for a disk");
		set_rx |= only != &tx;
		set_tx |= only != &rx;
	}
	if (!none && ((set_rx && rl_parse_finish(&rx)) || (nic && set_tx && rl_parse_finish(&tx))))
		return prefixed();

	o = json_object();
	ret = -ENOMEM;
	if (!o)
		goto fail;
	if (nic) {
		if (json_object_set_new(o, "iface_id", json_string(device)) ||
		    (set_rx && add_limiter(o, "rx_rate_limiter", &rx)) ||
		    (set_tx && add_limiter(o, "tx_rate_limiter", &tx)))
			goto fail;
		if (asprintf(&p, "/network-interfaces/%s", device) < 0)
			p = NULL;
	} else {
		if (json_object_set_new(o, "drive_id", json_string(device)) ||
		    add_limiter(o, "rate_limiter", &rx))
			goto fail;
		if (asprintf(&p, "/drives/%s", device) < 0)
			p = NULL;
	}
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	if (!p || !text)
		goto fail;
	json_decref(o);
	*path = p;
	*body = text;
	return 0;
fail:
	json_decref(o);
	free(p);
	free(text);
	return err_setx(ret, "limit: out of memory");
}

int cli_limit(int argc, char **argv)
{
	struct registry_entry e;
	const char *pos[2] = { NULL, NULL };
	char *path = NULL, *body = NULL, *resp = NULL;
	int first_kv = argc, npos = 0, status = 0, ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			limit_usage(stdout);
			return EXIT_OK;
		}
	}
	for (int i = 1; i < argc && npos < 2; i++) {
		if (argv[i][0] == '-' && argv[i][1]) {
			cli_error("limit: unknown option %s (see clone limit --help)", argv[i]);
			return EXIT_BAD_CONFIG;
		}
		pos[npos++] = argv[i];
		first_kv = i + 1;
	}
	if (npos < 2) {
		cli_error("limit: expected NAME DEVICE KEY=VALUE... (see clone limit --help)");
		return EXIT_BAD_CONFIG;
	}
	if (cli_limit_build(pos[1], argc - first_kv, argv + first_kv, &path, &body)) {
		cli_error("%s", err_msg());
		return EXIT_BAD_CONFIG;
	}
	ret = cli_find_vm(pos[0], &e);
	if (ret)
		goto out;
	ret = http_request(e.api, "PATCH", path, body, LIMIT_TIMEOUT_MS, &status, &resp);
	if (ret) {
		cli_error("limit '%s': the VMM does not answer: %s", e.name, err_msg());
		ret = cli_exit_for_errno(ret);
		goto out;
	}
	if (status < 200 || status >= 300) {
		json_t *j = resp && *resp ? json_loads(resp, 0, NULL) : NULL;
		json_t *m = json_object_get(j, "fault_message");

		if (json_is_string(m))
			cli_error("limit '%s' %s: %s", e.name, pos[1], json_string_value(m));
		else
			cli_error("limit '%s' %s: the VMM answered HTTP %d", e.name, pos[1],
				  status);
		json_decref(j);
		/* An unknown device or a value the VMM refused: the arguments were bad. */
		ret = status == 404 || status == 400 ? EXIT_BAD_CONFIG
						     : cli_exit_for_http_status(status);
	}
out:
	free(resp);
	free(path);
	free(body);
	return ret;
}
