/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clone-agent's view of the guest system: /proc parsers (pure functions
 * on strings, unit-tested in tests/unit/test_agent_sys.c), the REPORT
 * collector, IDENTITY (hostname, IPv4 address, default route, DNS) and
 * shutdown through the guest's init.  Main process only.
 */
#ifndef CLONE_AGENT_SYS_H
#define CLONE_AGENT_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/agent_proto.h"

struct cpu_times {
	uint64_t busy, total; /* USER_HZ ticks over all CPUs */
};

/* Parsers: 0, or -EINVAL when the text does not look like the file. */
int asys_parse_uptime(const char *s, uint64_t *ms);
int asys_parse_loadavg(const char *s, uint32_t load[3]);
int asys_parse_meminfo(const char *s, uint64_t *total_kib, uint64_t *avail_kib);
int asys_parse_psi(const char *s, uint32_t *some, uint32_t *full);
int asys_parse_stat_cpu(const char *s, struct cpu_times *t);
/* Per mille of non-idle time between two samples (0 if no time passed). */
uint32_t asys_cpu_busy(const struct cpu_times *prev, const struct cpu_times *cur);

/* IPv4 "a.b.c.d" → network order; "a.b.c.d/len" → address and prefix. */
int asys_parse_ipv4(const char *s, uint32_t *addr);
int asys_parse_cidr(const char *s, uint32_t *addr, unsigned *prefix);
/* A hostname: 1..64 bytes of [A-Za-z0-9-.], no leading '-' or '.'. */
bool asys_valid_hostname(const char *s);

enum init_kind { INIT_OTHER, INIT_SYSTEMD, INIT_BUSYBOX };
/* From /proc/1/comm (trailing newline allowed) and the target of /proc/1/exe. */
enum init_kind asys_init_kind_from(const char *comm, const char *exe);
/* The signal that asks this init for mode (enum ap_shutdown_mode); 0 for none. */
int asys_init_signal(enum init_kind k, unsigned mode);

/* ---- With I/O --------------------------------------------------------- */

/* Read a small file into buf (NUL-terminated): bytes read or -errno. */
long asys_read_file(const char *path, char *buf, size_t cap);

struct report_state {
	struct cpu_times prev;
	bool have_prev;
	uint64_t seq;
};
/* Fill a REPORT; busy_sessions: exec sessions running. */
void asys_report(struct report_state *st, unsigned busy_sessions, struct ap_report *r);

/* Apply an IDENTITY: 0, or -errno with msg set (validated before anything changes). */
int asys_identity(const struct ap_identity *id, char *msg, size_t cap);

/* sync() and ask init; returns true if an init was signalled. */
bool asys_shutdown_begin(unsigned mode, bool dry_run);
/* reboot(2) directly (no return unless it fails or dry_run). */
void asys_shutdown_force(unsigned mode, bool dry_run);

#endif
