/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Named VMs on this host, daemonless: every running VM owns a set of files
 * in the per-user runtime directory (registry_dir()):
 *     NAME.lock     flock()ed exclusively by the VMM for its whole life
 *     NAME.json     {"name","pid","start_time" (the process's start time in
 *                   clock ticks since boot, /proc/PID/stat field 22),
 *                   "created" (Unix seconds), "api","console","log"}
 *     NAME.sock     the control socket (HTTP/1.1 + JSON), mode 0600
 *     NAME.console  the console socket (raw bytes), mode 0600
 *     NAME.log      the console log of a detached VM; it outlives the VM
 *                   (a post-mortem) until a VM of that name starts again
 * A VM is alive while its lock is held AND /proc/PID/stat shows the
 * recorded start time; anything else is stale and registry_list() /
 * registry_find() remove its files.  The directory is 0700 and must be
 * owned by the caller.  Any thread; no global state.
 */
#ifndef CLONE_VMM_REGISTRY_H
#define CLONE_VMM_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define REGISTRY_NAME_MAX 63 /* [A-Za-z0-9][A-Za-z0-9_.-]{0,62} */
#define REGISTRY_PATH_MAX 256

struct registry_entry {
	char name[REGISTRY_NAME_MAX + 1];
	pid_t pid;
	uint64_t start_time;		 /* /proc/PID/stat field 22 */
	uint64_t created;		 /* Unix seconds */
	char api[REGISTRY_PATH_MAX];	 /* NAME.sock */
	char console[REGISTRY_PATH_MAX]; /* NAME.console */
	char log[REGISTRY_PATH_MAX];	 /* NAME.log */
};

/* What the VMM holds while it runs (registry_claim() → registry_release()). */
struct registry_claim {
	struct registry_entry e;
	int lock_fd;
	char lock_path[REGISTRY_PATH_MAX];
	char json_path[REGISTRY_PATH_MAX];
};

/*
 * The runtime directory: $XDG_RUNTIME_DIR/clone, else /run/clone for root,
 * else /tmp/clone-UID; created 0700 if missing; -EPERM (message set) if it
 * exists but is not a directory owned by the caller with mode 0700.
 * CLONE_RUNTIME_DIR overrides the location (tests).
 */
int registry_dir(char *buf, size_t len);

/* 0 if name is a valid VM name, else -EINVAL with the message set. */
int registry_check_name(const char *name);
/* A fresh name like "brisk-otter-3f2a" that no live VM uses. */
int registry_generate_name(char *buf, size_t len);

/*
 * Claim name for the calling process: take NAME.lock, write NAME.json
 * (atomically, by rename) with this process's pid and start time, and fill
 * c->e with every path.  -EEXIST (message "a VM named NAME is already
 * running (pid N)") when a live VM holds it; stale files are replaced.
 */
int registry_claim(const char *name, struct registry_claim *c);
/* Re-record the pid after the VMM forked (clone run -d): rewrites NAME.json. */
int registry_update_pid(struct registry_claim *c);
/* Remove the claim's files but the log, and drop the lock.  Safe on a zeroed claim. */
void registry_release(struct registry_claim *c);

/*
 * Look name up: 0 and *e for a live VM, -ENOENT (message "no VM named
 * NAME") otherwise; stale files of name are removed.
 */
int registry_find(const char *name, struct registry_entry *e);
/*
 * Every live VM, sorted by name, in a malloc'ed array (*n entries; free()).
 * Stale entries are removed on the way.
 */
int registry_list(struct registry_entry **out, size_t *n);

/* /proc/PID/stat field 22 (start time in clock ticks since boot); -ESRCH if no such process. */
int registry_proc_start_time(pid_t pid, uint64_t *out);

#endif
