// SPDX-License-Identifier: Apache-2.0
/*
 * `clone snapshot`, `clone fork`, `clone restore` and `clone template`.
 * A snapshot is taken by the VMM (PUT /clone/snapshot on its control
 * socket); forks and restores are `clone run` on a template
 * (cli_run_from()); templates are directories read here.  Main thread.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "lib/err.h"
#include "lib/util.h"
#include "snapshot/template.h"
#include "vmm/registry.h"

#define SNAPSHOT_TIMEOUT_MS (30 * 60 * 1000)
#define FORK_MAX_COUNT 1024

/* ---- clone snapshot ---- */

static void snapshot_usage(FILE *f)
{
	fprintf(f, "Usage: clone snapshot NAME --template T [--full] [--stop] [--json]\n"
		   "Snapshot the running VM NAME into template T (CPU, devices, memory, and\n"
		   "frozen copies of the disks it can write).  A later snapshot of the same VM\n"
		   "into the same template writes only the memory dirtied since, as a layer.\n"
		   "\n"
		   "  --template T   the template's name (letters, digits, '_', '.', '-')\n"
		   "  --full         write all the memory even when a layer would do\n"
		   "  --stop         stop the VM after the snapshot instead of resuming it\n"
		   "  --json         print the VMM's answer as JSON\n"
		   "Then: clone fork --template T, clone restore T, clone template list.\n");
}

int cli_snapshot(int argc, char **argv)
{
	const char *name = NULL, *tmpl = NULL;
	bool full = false, stop = false, json = false;
	struct registry_entry e;
	char *body = NULL, *resp = NULL;
	json_t *req, *j;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			snapshot_usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--template") && i + 1 < argc) {
			tmpl = argv[++i];
		} else if (!strncmp(argv[i], "--template=", 11)) {
			tmpl = argv[i] + 11;
		} else if (!strcmp(argv[i], "--full")) {
			full = true;
		} else if (!strcmp(argv[i], "--stop")) {
			stop = true;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (argv[i][0] == '-' || name) {
			cli_error("snapshot: unexpected argument %s (see clone snapshot --help)",
				  argv[i]);
			return EXIT_BAD_CONFIG;
		} else {
			name = argv[i];
		}
	}
	if (!name || !tmpl) {
		cli_error("snapshot: expected NAME --template T (see clone snapshot --help)");
		return EXIT_BAD_CONFIG;
	}
	if (template_check_name(tmpl)) {
		cli_error("%s", err_msg());
		return EXIT_BAD_CONFIG;
	}
	ret = cli_find_vm(name, &e);
	if (ret)
		return ret;
	req = json_pack("{s:s, s:b, s:b}", "template", tmpl, "full", full, "stop", stop);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!body) {
		cli_error("out of memory");
		return EXIT_RUNTIME;
	}
	ret = cli_vm_call(&e, "snapshot", "PUT", "/clone/snapshot", body, SNAPSHOT_TIMEOUT_MS,
			  &resp);
	free(body);
	if (ret)
		return ret;
	if (json) {
		printf("%s\n", resp);
		free(resp);
		return EXIT_OK;
	}
	j = json_loads(resp, 0, NULL);
	if (j) {
		json_int_t layer = json_integer_value(json_object_get(j, "layer"));

		printf("template %s: %s, %.1f MiB of memory written, %.1f MiB of disks, "
		       "paused %lld ms\n%s\n",
		       tmpl, layer ? "incremental" : "full",
		       (double)json_integer_value(json_object_get(j, "memory_bytes")) / MiB,
		       (double)json_integer_value(json_object_get(j, "disk_bytes")) / MiB,
		       (long long)json_integer_value(json_object_get(j, "pause_ms")),
		       json_string_value(json_object_get(j, "path")) ?: "");
		json_decref(j);
	}
	free(resp);
	return EXIT_OK;
}

/* ---- clone fork / clone restore ---- */

static void fork_usage(FILE *f)
{
	fprintf(f,
		"Usage: clone fork --template T [--count K] [--name NAME] [RUN OPTIONS]\n"
		"Start K VMs (default 1) from template T without booting: each maps the\n"
		"template's memory copy-on-write and continues where the template was, with\n"
		"an identity of its own (name and hostname, vsock CID, MACs and addresses, a\n"
		"new VMGenID, fresh entropy, clocks set to now).  Forks run in the background\n"
		"like `clone run -d`; their names are printed one per line.\n"
		"\n"
		"  --template T   the template (clone snapshot NAME --template T)\n"
		"  --count K      how many forks (1-%d)\n"
		"  --name NAME    the fork's name; with --count, NAME-1 ... NAME-K\n"
		"  --foreground   run one fork in the foreground, console on the terminal\n"
		"RUN OPTIONS: --net/--tap for the template's NICs (default: the template's\n"
		"modes, with new TAPs and addresses), --disk (more disks: the guest sees them\n"
		"hotplugged, up to the slots its template's VM announced at boot, normally 8),\n"
		"--overlay PATH (keep the writable disk's layer), --cid, --log-level,\n"
		"--boot-timing, --ksm (see clone run --help).\n",
		FORK_MAX_COUNT);
}

int cli_fork(int argc, char **argv, uint64_t start_ns)
{
	const char *tmpl = NULL, *name = NULL;
	char **args = calloc((size_t)argc + 4, sizeof(*args));
	char name_buf[REGISTRY_NAME_MAX + 16];
	unsigned long count = 1;
	bool foreground = false;
	int nargs = 0, code = EXIT_OK;
	pid_t self = getpid();

	if (!args) {
		cli_error("out of memory");
		return EXIT_RUNTIME;
	}
	args[nargs++] = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fork_usage(stdout);
			free(args);
			return EXIT_OK;
		} else if (!strcmp(a, "--template") && i + 1 < argc) {
			tmpl = argv[++i];
		} else if (!strncmp(a, "--template=", 11)) {
			tmpl = a + 11;
		} else if ((!strcmp(a, "--count") && i + 1 < argc) || !strncmp(a, "--count=", 8)) {
			const char *v = a[7] == '=' ? a + 8 : argv[++i];
			char *end;

			errno = 0;
			count = strtoul(v, &end, 10);
			if (errno || *end || !*v || count < 1 || count > FORK_MAX_COUNT) {
				cli_error("fork: --count %s: expected 1-%d", v, FORK_MAX_COUNT);
				free(args);
				return EXIT_BAD_CONFIG;
			}
		} else if (!strcmp(a, "--name") && i + 1 < argc) {
			name = argv[++i];
		} else if (!strncmp(a, "--name=", 7)) {
			name = a + 7;
		} else if (!strcmp(a, "-d") || !strcmp(a, "--detach")) {
			/* forks detach unless --foreground */
		} else if (!strcmp(a, "--foreground")) {
			foreground = true;
		} else {
			args[nargs++] = argv[i];
		}
	}
	if (!tmpl) {
		cli_error("fork: expected --template T (see clone fork --help)");
		free(args);
		return EXIT_BAD_CONFIG;
	}
	if (foreground && count > 1) {
		cli_error("fork: --foreground runs one fork (no --count)");
		free(args);
		return EXIT_BAD_CONFIG;
	}
	if (!foreground)
		args[nargs++] = "-d";
	if (name) {
		args[nargs++] = "--name";
		args[nargs++] = name_buf;
	}
	for (unsigned long k = 1; k <= count && code == EXIT_OK; k++) {
		if (name && count > 1)
			snprintf(name_buf, sizeof(name_buf), "%s-%lu", name, k);
		else if (name)
			snprintf(name_buf, sizeof(name_buf), "%s", name);
		fflush(stdout);
		code = cli_run_from(nargs, args, k == 1 ? start_ns : monotonic_ns(), tmpl, false);
		/* cli_run_from() -d returns in the VMM (a child) too, when its VM ends. */
		if (getpid() != self)
			break;
	}
	free(args);
	return code;
}

int cli_restore(int argc, char **argv, uint64_t start_ns)
{
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
			printf("Usage: clone restore T [RUN OPTIONS]\n"
			       "Continue template T as a VM: the same as clone run --from-template "
			       "T\n(see clone run --help).\n");
			return EXIT_OK;
		}
		cli_error("restore: expected a template name (see clone restore --help)");
		return EXIT_BAD_CONFIG;
	}
	/* argv[1] (the template) takes argv[0]'s place for the run options' parser. */
	return cli_run_from(argc - 1, argv + 1, start_ns, argv[1], true);
}

/* ---- clone template ---- */

static void template_usage(FILE *f)
{
	fprintf(f, "Usage: clone template list [--json]\n"
		   "       clone template show T\n"
		   "       clone template rm T...\n"
		   "Templates live in ~/.local/share/clone/templates (root: /var/lib/clone/"
		   "templates).\nRunning forks keep working after their template is removed.\n");
}

static int template_list(bool as_json)
{
	char root[PATH_MAX];
	json_t *all = json_array();
	struct dirent **ents = NULL;
	int n, ret = template_root(root, sizeof(root), false);

	if (ret) {
		cli_error("%s", err_msg());
		json_decref(all);
		return EXIT_RUNTIME;
	}
	n = scandir(root, &ents, NULL, alphasort);
	if (!as_json)
		printf("%-24s %8s %5s %6s %10s  %-19s %s\n", "NAME", "MEMORY", "VCPUS", "LAYERS",
		       "ON DISK", "CREATED", "FROM");
	for (int i = 0; i < n; i++) {
		struct template_meta *m = malloc(sizeof(*m));
		char dir[PATH_MAX + 256], when[32];
		const char *nm = ents[i]->d_name;

		if (m && nm[0] != '.' && !template_load(nm, m, NULL)) {
			uint64_t usage;
			struct tm tm;
			time_t t = (time_t)m->created;

			snprintf(dir, sizeof(dir), "%s/%s", root, nm);
			usage = template_disk_usage(dir);
			localtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
			if (as_json)
				json_array_append_new(
					all, json_pack("{s:s, s:I, s:i, s:i, s:I, s:I, s:s, s:s}",
						       "name", m->name, "mem_bytes",
						       (json_int_t)m->mem_bytes, "vcpus", m->vcpus,
						       "layers", m->nr_mem - 1, "disk_bytes",
						       (json_int_t)usage, "created",
						       (json_int_t)m->created, "source", m->source,
						       "path", dir));
			else
				printf("%-24s %6lluMi %5u %6u %8.1fMi  %-19s %s\n", m->name,
				       (unsigned long long)(m->mem_bytes >> 20), m->vcpus,
				       m->nr_mem - 1, (double)usage / MiB, when, m->source);
		} else if (m && nm[0] != '.') {
			fprintf(stderr, "clone: warning: template %s: %s\n", nm, err_msg());
		}
		free(m);
		free(ents[i]);
	}
	free(ents);
	if (as_json) {
		char *s = json_dumps(all, JSON_INDENT(2));

		printf("%s\n", s ? s : "[]");
		free(s);
	}
	json_decref(all);
	return EXIT_OK;
}

static int template_show(const char *name)
{
	struct template_meta *m = malloc(sizeof(*m));
	json_t *j;
	char *s;

	if (!m || template_load(name, m, NULL)) {
		cli_error("%s", m ? err_msg() : "out of memory");
		free(m);
		return EXIT_BAD_CONFIG;
	}
	j = template_meta_to_json(m);
	s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	printf("%s\n", s ? s : "{}");
	free(s);
	json_decref(j);
	free(m);
	return EXIT_OK;
}

int cli_template(int argc, char **argv)
{
	int code = EXIT_OK;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		template_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_BAD_CONFIG : EXIT_OK;
	}
	if (!strcmp(argv[1], "list") || !strcmp(argv[1], "ls"))
		return template_list(argc > 2 && !strcmp(argv[2], "--json"));
	if (!strcmp(argv[1], "show") && argc == 3)
		return template_show(argv[2]);
	if (!strcmp(argv[1], "rm") && argc >= 3) {
		for (int i = 2; i < argc; i++)
			if (template_remove(argv[i])) {
				cli_error("%s", err_msg());
				code = EXIT_BAD_CONFIG;
			}
		return code;
	}
	cli_error("template: unknown command (see clone template --help)");
	return EXIT_BAD_CONFIG;
}
