/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Subcommands.  Each returns the process exit code (see main.c for the
 * table); main.c is the only place that exits.
 */
#ifndef CLONE_CLI_CLI_H
#define CLONE_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/config.h"

/* Process exit codes. */
#define EXIT_OK 0
#define EXIT_RUNTIME 1	      /* the VMM could not go on */
#define EXIT_BAD_CONFIG 2     /* bad arguments or inputs */
#define EXIT_VM_NOT_FOUND 240 /* no VM by that name */
#define EXIT_NO_AGENT 241     /* the VM has no guest agent */
#define EXIT_TIMEOUT 242      /* a wait ran out (agent, stop) */
#define EXIT_DENIED 243	      /* the control socket refused us */
#define EXIT_VM_STATE 244     /* the VM's state does not allow it */
#define EXIT_SECCOMP 148      /* a seccomp filter caught a syscall */
#define EXIT_SIGNAL_BASE                                                                           \
	149 /* fatal signals: 149 SIGBUS, 150 SIGSEGV, 151 SIGILL, 152 SIGFPE, 153 SIGABRT */

/* Parse `clone run` arguments into cfg: 0, CLI_HELP_SHOWN, or -EINVAL with the message set. */
#define CLI_HELP_SHOWN 1
int cli_run_parse(int argc, char **argv, struct vm_config *cfg);
int cli_run(int argc, char **argv, uint64_t start_ns);
/*
 * `clone run` on a template (snapshot.c's restore and fork): keep_identity
 * restores the template's VM (its name, MACs, CID if free); otherwise the
 * VM is a fork with an identity of its own.
 */
int cli_run_from(int argc, char **argv, uint64_t start_ns, const char *tmpl, bool keep_identity);
/* snapshot.c: clone snapshot, fork, restore, template. */
int cli_snapshot(int argc, char **argv);
int cli_fork(int argc, char **argv, uint64_t start_ns);
int cli_restore(int argc, char **argv, uint64_t start_ns);
int cli_template(int argc, char **argv);
void cli_run_usage(FILE *f);

/* Daemonless commands on named VMs (ctl.c, exec.c, attach.c): take argv from the command name on. */
int cli_list(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_pause(int argc, char **argv);
int cli_resume(int argc, char **argv);
int cli_stop(int argc, char **argv);
int cli_kill(int argc, char **argv);
int cli_exec(int argc, char **argv);
int cli_attach(int argc, char **argv);
int cli_limit(int argc, char **argv);
/*
 * `clone limit`'s request (limit.c): device and the KEY=VALUE words (or
 * "none") as the PATCH path (/drives/ID or /network-interfaces/ID for
 * "net*") and JSON body, both malloc'ed.  0 or -EINVAL with the message set.
 */
int cli_limit_build(const char *device, int nargs, char *const *args, char **path, char **body);
/* clone rootfs create (rootfs.c). */
int cli_rootfs(int argc, char **argv);
/* clone net up|down|status: the host bridge of --net (net.c). */
int cli_net(int argc, char **argv);

/* Options of list/status/pause/resume/stop/kill. */
struct cli_ctl_opts {
	const char *name;   /* the VM (every command but list) */
	bool json;	    /* --json (list, status) */
	bool verbose;	    /* -v (stop) */
	unsigned timeout_s; /* --timeout (stop): 0..3600, default 10 */
};
#define CLI_STOP_DEFAULT_TIMEOUT 10
#define CLI_TIMEOUT_MAX 3600
/* Parse argv (argv[0] is the command name): 0, CLI_HELP_SHOWN or -EINVAL with the message set. */
int cli_ctl_parse(int argc, char **argv, struct cli_ctl_opts *o);

/* Options of exec. */
struct cli_exec_opts {
	const char *name;
	bool tty;	    /* -t */
	bool interactive;   /* -i (stdin is always forwarded; accepted for familiarity) */
	const char *cwd;    /* -w */
	unsigned timeout_s; /* --timeout: how long to wait for the agent, default 30 */
	const char **env;   /* -e K=V, malloc'ed array of pointers into argv */
	unsigned nenv;
	char **cmd; /* the command and its arguments (points into argv) */
	unsigned ncmd;
};
#define CLI_EXEC_DEFAULT_TIMEOUT 30
/* Parse argv: 0, CLI_HELP_SHOWN or -EINVAL with the message set; cli_exec_opts_free() after. */
int cli_exec_parse(int argc, char **argv, struct cli_exec_opts *o);
void cli_exec_opts_free(struct cli_exec_opts *o);

/*
 * The exec session's stream loop (exec.c), after EXEC was sent on sock:
 * in → STDIN frames, STDOUT → out, STDERR → err until EXIT.  sigfd is a
 * signalfd for SIGINT/SIGTERM/SIGHUP (forwarded) and SIGWINCH (RESIZE
 * from the terminal on in), or -1.  cmd names the command in messages.
 * Returns the process exit code (the command's, 128+N for a signal,
 * 126/127 when it could not start, 1 on a lost connection).
 */
int cli_exec_stream(int sock, int in, int out, int err, int sigfd, const char *cmd);

/* Formatting helpers (pure). */
/* 256M, 1.5G, 812K, 512B */
void cli_fmt_size(uint64_t bytes, char *buf, size_t len);
/* 42s, 3m12s, 2h05m, 1d03h */
void cli_fmt_uptime(uint64_t ms, char *buf, size_t len);
/* The AGENT column for an agent state: ready, starting, none, off, or "-". */
const char *cli_agent_word(const char *state);
/*
 * Print `clone list` from a JSON array of status objects (unresponsive VMs
 * carry "state":"unresponsive"): a table, or the array itself with json.
 * 0, or -EINVAL if the text is not such an array.
 */
int cli_print_list(FILE *f, const char *array_json, bool json);
/* Print one GET /clone/status answer for humans; -EINVAL if it is not JSON. */
int cli_print_status(FILE *f, const char *status_json);
/* The exit code for a failed http_request() (-errno), and for a non-2xx HTTP status. */
int cli_exit_for_errno(int err);
/* Print "clone: error: <message>" on stderr (every command's one-line errors). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct registry_entry;
/* registry_find() with the message said: 0, or the exit code (EXIT_VM_NOT_FOUND, ...). */
int cli_find_vm(const char *name, struct registry_entry *e);
/*
 * One request to the VM's control socket.  On any failure the error is
 * printed ("WHAT 'NAME': ...") and the exit code returned; 0 and *body
 * (malloc'ed, may be NULL to discard) on 2xx.
 */
int cli_vm_call(const struct registry_entry *e, const char *what, const char *method,
		const char *path, const char *req, int timeout_ms, char **body);
int cli_exit_for_http_status(int status);

#endif
