// SPDX-License-Identifier: Apache-2.0
/*
 * The daemonless control commands on named VMs: clone list, status, pause,
 * resume, stop and kill.  Each looks the VM up in the registry
 * (vmm/registry.h) and talks HTTP+JSON to its control socket; stop and
 * kill also wait for the VMM process through a pidfd and, as a last
 * resort, SIGKILL it — only through that pidfd (or after re-checking the
 * pid's start time), so a reused pid is never signalled.  Also the shared
 * helpers: exit-code mapping and human formatting.  Main thread only.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "api/http.h"
#include "cli/cli.h"
#include "lib/err.h"
#include "lib/util.h"
#include "vmm/registry.h"

#define STATUS_TIMEOUT_MS 1000 /* a VM that does not answer within this is "unresponsive" */
#define REQUEST_TIMEOUT_MS 5000
#define KILL_WAIT_MS 30000 /* how long a SIGKILLed VMM may take to go (large guests unmap slowly) */

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("clone: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- Formatting (pure) ---------------------------------------------------- */

void cli_fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%lluB", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	/* exact multiples print whole ("256M"); small values keep one decimal ("1.5G") */
	if (bytes % (1ull << (10 * (u + 1))) == 0 || v >= 10)
		snprintf(buf, len, "%.0f%c", v, units[u]);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
	/* 1023.6K rounds to "1024K": say 1.0M instead */
	if (v >= 1023.5 && u < 5)
		snprintf(buf, len, "1.0%c", units[u + 1]);
}

void cli_fmt_uptime(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;

	if (s < 60)
		snprintf(buf, len, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%llud%02lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
}

const char *cli_agent_word(const char *state)
{
	if (!state)
		return "-";
	if (!strcmp(state, "connected"))
		return "ready";
	if (!strcmp(state, "waiting"))
		return "starting";
	if (!strcmp(state, "absent"))
		return "none";
	if (!strcmp(state, "disabled"))
		return "off";
	return "-";
}

int cli_exit_for_errno(int err)
{
	switch (err) {
	case -EACCES:
	case -EPERM:
		return EXIT_DENIED;
	case -ETIMEDOUT:
		return EXIT_TIMEOUT;
	default:
		return EXIT_RUNTIME;
	}
}

int cli_exit_for_http_status(int status)
{
	if (status >= 200 && status < 300)
		return EXIT_OK;
	switch (status) {
	case 401:
	case 403:
		return EXIT_DENIED;
	case 400: /* Firecracker-style: an action the VM's state does not allow */
	case 409:
		return EXIT_VM_STATE;
	case 503:
		return EXIT_NO_AGENT;
	case 504:
		return EXIT_TIMEOUT;
	default:
		return EXIT_RUNTIME;
	}
}

static json_int_t jint(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static const char *jstr(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void fmt_int_size(json_int_t v, uint64_t unit, char *buf, size_t len)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		cli_fmt_size((uint64_t)v * unit, buf, len);
}

int cli_print_list(FILE *f, const char *array_json, bool json)
{
	json_t *arr = json_loads(array_json, 0, NULL);
	int namew = 4;
	size_t i;
	json_t *vm;

	if (!json_is_array(arr)) {
		json_decref(arr);
		return err_setx(-EINVAL, "list: not a JSON array");
	}
	if (json) {
		char *text = json_dumps(arr, JSON_INDENT(2));

		if (text)
			fprintf(f, "%s\n", text);
		free(text);
		json_decref(arr);
		return 0;
	}
	json_array_foreach(arr, i, vm)
	{
		const char *name = jstr(vm, "name");
		int n = name ? (int)strlen(name) : 1;

		namew = MAX(namew, n);
	}
	fprintf(f, "%-*s  %8s  %-12s  %5s  %6s  %6s  %7s  %s\n", namew, "NAME", "PID", "STATE",
		"VCPUS", "MEM", "RSS", "UPTIME", "AGENT");
	json_array_foreach(arr, i, vm)
	{
		const char *name = jstr(vm, "name"), *state = jstr(vm, "state");
		json_int_t vcpus = jint(vm, "vcpus"), up = jint(vm, "uptime_ms");
		char mem[24], rss[24], upt[24], vc[24];
		bool answered = state && strcmp(state, "unresponsive");

		fmt_int_size(jint(vm, "mem_mib"), MiB, mem, sizeof(mem));
		fmt_int_size(jint(vm, "rss_kib"), KiB, rss, sizeof(rss));
		if (up >= 0)
			cli_fmt_uptime((uint64_t)up, upt, sizeof(upt));
		else
			snprintf(upt, sizeof(upt), "-");
		if (vcpus >= 0)
			snprintf(vc, sizeof(vc), "%lld", (long long)vcpus);
		else
			snprintf(vc, sizeof(vc), "-");
		fprintf(f, "%-*s  %8lld  %-12s  %5s  %6s  %6s  %7s  %s\n", namew, name ? name : "?",
			(long long)jint(vm, "pid"), state ? state : "?", vc, mem, rss, upt,
			answered ? cli_agent_word(jstr(vm, "agent")) : "-");
	}
	json_decref(arr);
	return 0;
}

static void print_kv(FILE *f, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void print_kv(FILE *f, const char *key, const char *fmt, ...)
{
	va_list ap;

	fprintf(f, "%-17s ", key);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

/* One line per NIC: "net0: bridge ct1a2b3c4d-0 02:..:.. 172.20.0.2/24 vhost". */
static void print_nics(FILE *f, json_t *a)
{
	size_t i;
	json_t *n;

	json_array_foreach(a, i, n)
	{
		char key[16];
		const char *lim = jstr(n, "tx_limit");

		snprintf(key, sizeof(key), "%s:", jstr(n, "id") ? jstr(n, "id") : "net");
		print_kv(f, key, "%s %s %s %s %s%s%s", jstr(n, "mode") ? jstr(n, "mode") : "-",
			 jstr(n, "tap") ? jstr(n, "tap") : "-",
			 jstr(n, "mac") ? jstr(n, "mac") : "-",
			 jstr(n, "address") && *jstr(n, "address") ? jstr(n, "address") : "-",
			 jstr(n, "path") ? jstr(n, "path") : "-",
			 lim && strcmp(lim, "none") ? ", tx limit " : "",
			 lim && strcmp(lim, "none") ? lim : "");
	}
}

static void print_agent(FILE *f, const json_t *info)
{
	json_t *hello = json_object_get(info, "hello");
	json_t *rep = json_object_get(info, "report");
	char a[16], b[16];

	if (json_is_object(hello)) {
		const char *v = jstr(hello, "agent_version"), *k = jstr(hello, "kernel"),
			   *h = jstr(hello, "hostname");

		print_kv(f, "agent version:", "%s", v ? v : "-");
		print_kv(f, "guest kernel:", "%s", k ? k : "-");
		print_kv(f, "guest hostname:", "%s", h ? h : "-");
	}
	if (!json_is_object(rep)) {
		print_kv(f, "last report:", "none yet");
		return;
	}
	print_kv(f, "activity:", "%s (cpu %.1f%%)",
		 json_is_true(json_object_get(rep, "active")) ? "active" : "idle",
		 (double)jint(rep, "cpu_busy") / 10.0);
	print_kv(f, "memory pressure:", "some %.2f%%, full %.2f%%",
		 (double)jint(rep, "psi_some") / 100.0, (double)jint(rep, "psi_full") / 100.0);
	print_kv(f, "load:", "%.2f %.2f %.2f", (double)jint(rep, "load1") / 100.0,
		 (double)jint(rep, "load5") / 100.0, (double)jint(rep, "load15") / 100.0);
	print_kv(f, "processes:", "%lld", (long long)jint(rep, "procs"));
	fmt_int_size(jint(rep, "mem_avail"), KiB, a, sizeof(a));
	fmt_int_size(jint(rep, "mem_total"), KiB, b, sizeof(b));
	print_kv(f, "guest memory:", "%s available of %s", a, b);
	if (jint(rep, "uptime_ms") >= 0) {
		cli_fmt_uptime((uint64_t)jint(rep, "uptime_ms"), a, sizeof(a));
		print_kv(f, "guest uptime:", "%s", a);
	}
	if (jint(info, "report_age_ms") >= 0)
		print_kv(f, "report age:", "%.1fs", (double)jint(info, "report_age_ms") / 1000.0);
}

int cli_print_status(FILE *f, const char *status_json)
{
	json_t *st = json_loads(status_json, 0, NULL);
	const char *agent;
	json_int_t created;
	char buf[64];
	json_t *info;

	if (!json_is_object(st)) {
		json_decref(st);
		return err_setx(-EINVAL, "status: not a JSON object");
	}
	print_kv(f, "name:", "%s", jstr(st, "name") ? jstr(st, "name") : "-");
	print_kv(f, "pid:", "%lld", (long long)jint(st, "pid"));
	print_kv(f, "state:", "%s", jstr(st, "state") ? jstr(st, "state") : "-");
	print_kv(f, "vcpus:", "%lld", (long long)jint(st, "vcpus"));
	fmt_int_size(jint(st, "mem_mib"), MiB, buf, sizeof(buf));
	print_kv(f, "memory:", "%s", buf);
	fmt_int_size(jint(st, "rss_kib"), KiB, buf, sizeof(buf));
	print_kv(f, "rss:", "%s", buf);
	if (jint(st, "uptime_ms") >= 0) {
		cli_fmt_uptime((uint64_t)jint(st, "uptime_ms"), buf, sizeof(buf));
		print_kv(f, "uptime:", "%s", buf);
	}
	created = jint(st, "created");
	if (created >= 0) {
		time_t t = (time_t)created;
		struct tm tm;

		if (gmtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm))
			print_kv(f, "created:", "%s", buf);
	}
	if (jint(st, "cid") >= 0)
		print_kv(f, "cid:", "%lld", (long long)jint(st, "cid"));
	if (jstr(st, "console"))
		print_kv(f, "console:", "%s", jstr(st, "console"));
	if (jstr(st, "log"))
		print_kv(f, "log:", "%s", jstr(st, "log"));
	agent = jstr(st, "agent");
	print_kv(f, "agent:", "%s (%s)", cli_agent_word(agent), agent ? agent : "unknown");
	info = json_object_get(st, "agent_info");
	if (json_is_object(info))
		print_agent(f, info);
	print_nics(f, json_object_get(st, "net"));
	json_decref(st);
	return 0;
}

/* ---- Argument parsing -------------------------------------------------------- */

enum { OPT_JSON = 256, OPT_TIMEOUT };

static const struct option ctl_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

static void ctl_usage(FILE *f, const char *cmd)
{
	if (!strcmp(cmd, "list"))
		fprintf(f, "Usage: clone list [--json]\nList the running VMs.\n");
	else if (!strcmp(cmd, "status"))
		fprintf(f, "Usage: clone status [--json] NAME\nShow a VM's state and its agent's "
			   "last report.\n");
	else if (!strcmp(cmd, "stop"))
		fprintf(f,
			"Usage: clone stop [-v] [--timeout S] NAME\n"
			"Shut a VM down (through its agent, else ACPI); SIGKILL it after S\n"
			"seconds (default %d, 0..%d); exit %d if it had to be killed.\n",
			CLI_STOP_DEFAULT_TIMEOUT, CLI_TIMEOUT_MAX, EXIT_TIMEOUT);
	else if (!strcmp(cmd, "kill"))
		fprintf(f, "Usage: clone kill NAME\nSIGKILL a VM's VMM and remove its files.\n");
	else
		fprintf(f, "Usage: clone %s NAME\n%s a VM's vCPUs.\n", cmd,
			!strcmp(cmd, "pause") ? "Pause" : "Resume");
}

int cli_ctl_parse(int argc, char **argv, struct cli_ctl_opts *o)
{
	const char *cmd = argv[0];
	bool is_list = !strcmp(cmd, "list"), is_status = !strcmp(cmd, "status");
	bool is_stop = !strcmp(cmd, "stop");
	uint64_t v;
	int opt;

	memset(o, 0, sizeof(*o));
	o->timeout_s = CLI_STOP_DEFAULT_TIMEOUT;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hv", ctl_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			ctl_usage(stdout, cmd);
			return CLI_HELP_SHOWN;
		case OPT_JSON:
			if (!is_list && !is_status)
				return err_setx(-EINVAL, "%s: unknown option --json", cmd);
			o->json = true;
			break;
		case 'v':
			if (!is_stop)
				return err_setx(-EINVAL, "%s: unknown option -v", cmd);
			o->verbose = true;
			break;
		case OPT_TIMEOUT:
			if (!is_stop)
				return err_setx(-EINVAL, "%s: unknown option --timeout", cmd);
			if (parse_uint(optarg, 0, CLI_TIMEOUT_MAX, &v))
				return err_setx(-EINVAL,
						"%s: --timeout %s: expected whole seconds, 0 to %d",
						cmd, optarg, CLI_TIMEOUT_MAX);
			o->timeout_s = (unsigned)v;
			break;
		case ':':
			return err_setx(-EINVAL, "%s: option %s needs a value", cmd,
					argv[optind - 1]);
		default:
			if (optopt)
				return err_setx(-EINVAL,
						"%s: unknown option -%c (see clone %s --help)", cmd,
						optopt, cmd);
			return err_setx(-EINVAL, "%s: unknown option %s (see clone %s --help)", cmd,
					argv[optind - 1], cmd);
		}
	}
	if (is_list) {
		if (optind < argc)
			return err_setx(-EINVAL, "list: unexpected argument '%s'", argv[optind]);
		return 0;
	}
	if (optind >= argc)
		return err_setx(-EINVAL, "%s: which VM? (clone %s NAME)", cmd, cmd);
	if (optind + 1 < argc)
		return err_setx(-EINVAL, "%s: unexpected argument '%s'", cmd, argv[optind + 1]);
	o->name = argv[optind];
	return 0;
}

/* Parse, and on failure say why: the exit code to return, or -1 to go on. */
static int parse_or_exit(int argc, char **argv, struct cli_ctl_opts *o)
{
	int ret = cli_ctl_parse(argc, argv, o);

	if (ret == CLI_HELP_SHOWN)
		return EXIT_OK;
	if (ret) {
		cli_error("%s", err_msg());
		return EXIT_BAD_CONFIG;
	}
	return -1;
}

/* registry_find with the user-facing error: 0 or the exit code. */
int cli_find_vm(const char *name, struct registry_entry *e)
{
	int ret = registry_find(name, e);

	if (!ret)
		return 0;
	if (ret == -ENOENT) {
		cli_error("no VM named '%s'", name);
		return EXIT_VM_NOT_FOUND;
	}
	cli_error("%s", err_msg());
	return cli_exit_for_errno(ret);
}

/* The "fault_message" of an error body, or a generic text. */
static void report_http_error(const char *what, const char *name, int status, const char *body)
{
	json_t *j = body && *body ? json_loads(body, 0, NULL) : NULL;
	const char *msg = j ? jstr(j, "fault_message") : NULL;

	if (msg)
		cli_error("%s '%s': %s", what, name, msg);
	else
		cli_error("%s '%s': the VMM answered HTTP %d", what, name, status);
	json_decref(j);
}

int cli_vm_call(const struct registry_entry *e, const char *what, const char *method,
		const char *path, const char *req, int timeout_ms, char **body)
{
	int status = 0, ret;
	char *resp = NULL;

	ret = http_request(e->api, method, path, req, timeout_ms, &status, &resp);
	if (ret) {
		if (ret == -EACCES)
			cli_error("%s '%s': the control socket refused us: %s", what, e->name,
				  err_msg());
		else if (ret == -ETIMEDOUT)
			cli_error("%s '%s': the VMM did not answer within %d ms", what, e->name,
				  timeout_ms);
		else
			cli_error("%s '%s': the VMM does not answer: %s", what, e->name, err_msg());
		return cli_exit_for_errno(ret);
	}
	if (status < 200 || status >= 300) {
		report_http_error(what, e->name, status, resp);
		free(resp);
		return cli_exit_for_http_status(status);
	}
	if (body)
		*body = resp;
	else
		free(resp);
	return 0;
}

/* ---- list / status ---------------------------------------------------------- */

/* The row for one VM: its status object, or what the registry knows. */
static json_t *vm_row(const struct registry_entry *e)
{
	int status = 0;
	char *resp = NULL;
	json_t *j = NULL;

	if (!http_request(e->api, "GET", "/clone/status", NULL, STATUS_TIMEOUT_MS, &status,
			  &resp) &&
	    status == 200)
		j = json_loads(resp, 0, NULL);
	free(resp);
	if (json_is_object(j))
		return j;
	json_decref(j);
	err_clear();
	return json_pack("{s:s, s:I, s:s, s:I, s:s, s:s}", "name", e->name, "pid",
			 (json_int_t)e->pid, "state", "unresponsive", "created",
			 (json_int_t)e->created, "console", e->console, "log", e->log);
}

int cli_list(int argc, char **argv)
{
	struct registry_entry *v = NULL;
	struct cli_ctl_opts o;
	json_t *arr;
	char *text;
	size_t n;
	int ret = parse_or_exit(argc, argv, &o);

	if (ret >= 0)
		return ret;
	ret = registry_list(&v, &n);
	if (ret) {
		cli_error("%s", err_msg());
		return EXIT_RUNTIME;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		json_t *row = vm_row(&v[i]);

		if (!row || json_array_append_new(arr, row)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	free(v);
	text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
	json_decref(arr);
	if (!text) {
		cli_error("out of memory");
		return EXIT_RUNTIME;
	}
	ret = cli_print_list(stdout, text, o.json);
	free(text);
	if (ret) {
		cli_error("%s", err_msg());
		return EXIT_RUNTIME;
	}
	return fflush(stdout) ? EXIT_RUNTIME : EXIT_OK;
}

int cli_status(int argc, char **argv)
{
	struct registry_entry e;
	struct cli_ctl_opts o;
	char *body = NULL;
	int ret = parse_or_exit(argc, argv, &o);

	if (ret >= 0)
		return ret;
	ret = cli_find_vm(o.name, &e);
	if (!ret)
		ret = cli_vm_call(&e, "status of", "GET", "/clone/status", NULL, REQUEST_TIMEOUT_MS,
				  &body);
	if (ret)
		return ret;
	if (o.json) {
		printf("%s\n", body);
	} else if (cli_print_status(stdout, body)) {
		cli_error("status of '%s': the VMM sent something that is not JSON", o.name);
		ret = EXIT_RUNTIME;
	}
	free(body);
	return ret;
}

/* ---- pause / resume ---------------------------------------------------------- */

static int set_state(int argc, char **argv, const char *state)
{
	struct registry_entry e;
	struct cli_ctl_opts o;
	char req[64];
	int ret = parse_or_exit(argc, argv, &o);

	if (ret >= 0)
		return ret;
	ret = cli_find_vm(o.name, &e);
	if (ret)
		return ret;
	snprintf(req, sizeof(req), "{\"state\":\"%s\"}", state);
	return cli_vm_call(&e, argv[0], "PATCH", "/vm", req, REQUEST_TIMEOUT_MS, NULL);
}

int cli_pause(int argc, char **argv)
{
	return set_state(argc, argv, "Paused");
}

int cli_resume(int argc, char **argv)
{
	return set_state(argc, argv, "Resumed");
}

/* ---- stop / kill ------------------------------------------------------------- */

/*
 * A pidfd for the VM's process, checked against its recorded start time
 * after opening (so it cannot name a reused pid); -1 in *fd where the
 * kernel has no pidfd_open.  -ESRCH when the VMM is already gone.
 */
static int vm_pidfd(const struct registry_entry *e, int *fd)
{
	uint64_t st;

	*fd = (int)syscall(SYS_pidfd_open, e->pid, 0);
	if (*fd < 0 && errno != ENOSYS)
		return errno == ESRCH ? -ESRCH : err_set(-errno, "pidfd_open %d", (int)e->pid);
	if (registry_proc_start_time(e->pid, &st) || st != e->start_time) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -ESRCH;
	}
	return 0; /* pidfds are always close-on-exec */
}

/* Is the VM's process gone?  (Without a pidfd: for the 50 ms polling fallback.) */
static bool vm_gone(const struct registry_entry *e)
{
	uint64_t st;

	if (kill(e->pid, 0) && errno == ESRCH)
		return true;
	return registry_proc_start_time(e->pid, &st) || st != e->start_time;
}

/* Wait up to timeout_ms (< 0: forever) for the VMM to exit: 0 when gone, -ETIMEDOUT. */
static int wait_gone(const struct registry_entry *e, int pidfd, int timeout_ms)
{
	uint64_t deadline = monotonic_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000;

	for (;;) {
		int left = -1, r;

		if (timeout_ms >= 0) {
			uint64_t now = monotonic_ns();

			left = now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
		}
		if (pidfd >= 0) {
			struct pollfd p = { .fd = pidfd, .events = POLLIN };

			r = poll(&p, 1, left);
			if (r > 0)
				return 0;
			if (r < 0 && errno != EINTR)
				return err_set(-errno, "poll");
		} else {
			/* no pidfd_open (Linux < 5.3): poll the pid every 50 ms */
			if (vm_gone(e))
				return 0;
			(void)poll(NULL, 0, left < 0 ? 50 : MIN(left, 50));
			if (vm_gone(e))
				return 0;
		}
		if (left == 0)
			return -ETIMEDOUT;
	}
}

/* SIGKILL the VMM: through the pidfd, or after re-checking the pid's start time. */
static int kill_vm(const struct registry_entry *e, int pidfd)
{
	if (pidfd >= 0) {
		if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) && errno != ESRCH)
			return err_set(-errno, "kill pid %d", (int)e->pid);
		return 0;
	}
	if (vm_gone(e))
		return 0;
	if (kill(e->pid, SIGKILL) && errno != ESRCH)
		return err_set(-errno, "kill pid %d", (int)e->pid);
	return 0;
}

/* After the VMM is gone: drop whatever files it left (registry_find removes stale ones). */
static void forget_vm(const char *name)
{
	struct registry_entry e;

	(void)registry_find(name, &e);
	err_clear();
}

/* SIGKILL and wait: 0, or an exit code with the error printed. */
static int kill_and_wait(const struct registry_entry *e, int pidfd)
{
	int ret = kill_vm(e, pidfd);

	if (!ret)
		ret = wait_gone(e, pidfd, KILL_WAIT_MS);
	if (ret == -ETIMEDOUT) {
		cli_error("VM '%s' (pid %d) is still there %d s after SIGKILL", e->name,
			  (int)e->pid, KILL_WAIT_MS / 1000);
		return EXIT_TIMEOUT;
	}
	if (ret) {
		cli_error("%s", err_msg());
		return cli_exit_for_errno(ret);
	}
	forget_vm(e->name);
	return 0;
}

/*
 * stop and kill: parse, find the VM and pin its process with a pidfd.
 * -1 to go on, else the exit code (a VM that went away meanwhile: 0).
 */
static int open_vm(int argc, char **argv, struct cli_ctl_opts *o, struct registry_entry *e,
		   int *pidfd)
{
	int ret = parse_or_exit(argc, argv, o);

	if (ret >= 0)
		return ret;
	ret = cli_find_vm(o->name, e);
	if (ret)
		return ret;
	ret = vm_pidfd(e, pidfd);
	if (ret == -ESRCH) {
		forget_vm(o->name);
		return EXIT_OK; /* it went away on its own meanwhile */
	}
	if (ret) {
		cli_error("%s", err_msg());
		return EXIT_RUNTIME;
	}
	return -1;
}

int cli_stop(int argc, char **argv)
{
	static const char req[] = "{\"action_type\":\"Shutdown\"}";
	struct registry_entry e;
	struct cli_ctl_opts o;
	int status = 0, pidfd = -1, ret, left_ms;
	char *resp = NULL, method[32] = "no answer";
	uint64_t start = monotonic_ns();

	ret = open_vm(argc, argv, &o, &e, &pidfd);
	if (ret >= 0)
		return ret;
	ret = http_request(e.api, "PUT", "/actions", req, MAX((int)o.timeout_s * 1000, 1), &status,
			   &resp);
	if (!ret && (status < 200 || status >= 300)) {
		/* the VMM answered but refused: say why and leave it be */
		report_http_error("stop", o.name, status, resp);
		free(resp);
		if (pidfd >= 0)
			close(pidfd);
		return cli_exit_for_http_status(status);
	}
	if (!ret) {
		json_t *j = json_loads(resp, 0, NULL);
		const char *m = j ? jstr(j, "method") : NULL;

		snprintf(method, sizeof(method), "%s", m ? m : "unknown");
		json_decref(j);
	}
	free(resp);
	err_clear(); /* a VMM that does not answer gets SIGKILL after the timeout */

	left_ms = (int)o.timeout_s * 1000 - (int)((monotonic_ns() - start) / 1000000);
	ret = wait_gone(&e, pidfd, MAX(left_ms, 0));
	if (!ret) {
		if (pidfd >= 0)
			close(pidfd);
		forget_vm(o.name);
		if (o.verbose)
			printf("stopped (%s)\n", method);
		return EXIT_OK;
	}
	if (ret != -ETIMEDOUT) {
		cli_error("%s", err_msg());
		if (pidfd >= 0)
			close(pidfd);
		return EXIT_RUNTIME;
	}
	ret = kill_and_wait(&e, pidfd);
	if (pidfd >= 0)
		close(pidfd);
	if (ret)
		return ret;
	fprintf(stderr, "clone: VM '%s' did not stop within %u s; killed\n", o.name, o.timeout_s);
	return EXIT_TIMEOUT;
}

int cli_kill(int argc, char **argv)
{
	struct registry_entry e;
	struct cli_ctl_opts o;
	int pidfd = -1, ret;

	ret = open_vm(argc, argv, &o, &e, &pidfd);
	if (ret >= 0)
		return ret;
	ret = kill_and_wait(&e, pidfd);
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}
