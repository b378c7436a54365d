/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clone-agent: what its parts share.  The agent is a static musl binary
 * started once by the guest's init; the main process runs one poll() loop
 * (control channel, exec listener, SIGCHLD) and forks one session process
 * per exec connection.  AF_VSOCK definitions are spelled out here because
 * Debian's musl-gcc does not see the kernel's <linux/vm_sockets.h>.
 */
#ifndef CLONE_AGENT_AGENT_H
#define CLONE_AGENT_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "api/agent_proto.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define AGENT_VMADDR_CID_ANY 0xffffffffu
#define AGENT_VMADDR_CID_LOCAL 1u
#define AGENT_VMADDR_CID_HOST 2u
/* _IO(7, 0xb9), from <linux/vm_sockets.h> */
#define AGENT_IOCTL_GET_LOCAL_CID 0x7b9

/* Same layout as the kernel's struct sockaddr_vm. */
struct agent_sockaddr_vm {
	sa_family_t svm_family;
	unsigned short svm_reserved1;
	unsigned int svm_port;
	unsigned int svm_cid;
	unsigned char svm_flags;
	unsigned char svm_zero[sizeof(struct sockaddr) - sizeof(sa_family_t) -
			       sizeof(unsigned short) - sizeof(unsigned int) -
			       sizeof(unsigned int) - sizeof(unsigned char)];
};

#ifndef AGENT_VERSION
#define AGENT_VERSION "clone-agent 1"
#endif

struct agent_opts {
	uint32_t host_cid;  /* the peer for control and the only CID allowed to exec */
	uint32_t host_port; /* 0: AP_HOST_PORT(own CID) */
	uint32_t exec_port;
	bool no_control;
	bool dry_run_shutdown;	/* test option: log instead of powering off */
	bool log_stderr;	/* test option: log to stderr instead of /dev/kmsg */
	const char *unix_dir;	/* test option: AF_UNIX sockets in this dir instead of vsock */
	const char *chroot_dir; /* --chroot DIR: serve from this root (the initramfs's new root) */
};

/* log.c: "<3>clone-agent: ..." lines to /dev/kmsg (or stderr). */
void alog_open(bool to_stderr);
void alog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Rate-limited (anything a peer can trigger). */
void alog_rl(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define LOG_E 3
#define LOG_W 4
#define LOG_I 6

/* Monotonic milliseconds. */
uint64_t agent_now_ms(void);

#endif
