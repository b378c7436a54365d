/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The wire protocol between Clone (the VMM and the CLI) and clone-agent in
 * the guest, over virtio-vsock.  docs/agent-protocol.md is the reference;
 * this file is its C form, shared by both ends (compiled into the clone
 * binary and, with musl, into clone-agent), so it depends on nothing but
 * libc and does no I/O.
 *
 * Two kinds of connection:
 *  - the control channel: the agent connects to the host (CID 2) on port
 *    AP_HOST_PORT(its own CID); the VMM listens there.  The agent sends
 *    HELLO first, then REPORTs on a heartbeat; the VMM sends IDENTITY and
 *    SHUTDOWN requests, answered with ACK.
 *  - exec sessions: a host client connects to the guest (the VM's CID) on
 *    AP_EXEC_PORT and sends EXEC carrying the session token the agent
 *    announced in HELLO (the VMM hands it only to callers it trusts); then
 *    STDIN/RESIZE/SIGNAL frames flow in and STARTED, STDOUT, STDERR and
 *    finally EXIT flow out.  One command per connection.
 *
 * A frame is an 8-byte header (little-endian) and a payload:
 *     u32 len      payload bytes, at most AP_MAX_PAYLOAD
 *     u16 type     enum ap_type
 *     u16 flags    0 (reserved; receivers reject other values)
 * Data frames (STDIN, STDOUT, STDERR) carry raw bytes.  Every other
 * payload is a sequence of fields, each u16 tag, u16 len, len bytes;
 * unknown tags are skipped (forward compatibility), a field that overruns
 * the payload makes the whole frame malformed.  Integers in fields are
 * little-endian u8/u16/u32/u64 of exactly their size; strings are bytes
 * without a terminating NUL and must not contain NUL.
 */
#ifndef CLONE_API_AGENT_PROTO_H
#define CLONE_API_AGENT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AP_VERSION 1
#define AP_HDR_SIZE 8
#define AP_MAX_PAYLOAD (64 * 1024)
#define AP_MAX_FRAME (AP_HDR_SIZE + AP_MAX_PAYLOAD)
#define AP_TOKEN_LEN 32

/* The VMM's control-channel port on the host for a guest with this CID. */
#define AP_HOST_PORT_BASE 0x40000000u
#define AP_HOST_PORT(cid) (AP_HOST_PORT_BASE + (uint32_t)(cid))
#define AP_MAX_CID 0x3fffffffu /* CIDs Clone hands out: 3 .. AP_MAX_CID */
/* The agent's exec port in the guest. */
#define AP_EXEC_PORT 5250u

enum ap_type {
	/* control channel, agent → VMM */
	AP_HELLO = 1,  /* first frame: VERSION, TOKEN, AGENT_VERSION, KERNEL, HOSTNAME */
	AP_REPORT = 2, /* heartbeat: SEQ, ACTIVE, CPU_BUSY, PSI_*, LOAD*, PROCS, MEM_*, UPTIME_MS */
	AP_ACK = 3,    /* answer to a request: REQ_TYPE, REQ_ID, STATUS (0 or -errno), MESSAGE */
	/* control channel, VMM → agent */
	AP_IDENTITY =
		16, /* REQ_ID, HOSTNAME, ADDRESS (CIDR, repeatable), GATEWAY, DNS (repeatable) */
	AP_SHUTDOWN = 17, /* REQ_ID, MODE (enum ap_shutdown_mode) */
	/* exec session, client → agent */
	AP_EXEC =
		32, /* TOKEN, ARG (repeatable, ≥ 1), ENV (repeatable "K=V"), CWD, TTY, ROWS, COLS */
	AP_STDIN = 33,	/* data; an empty payload is end of input */
	AP_RESIZE = 34, /* ROWS, COLS */
	AP_SIGNAL = 35, /* SIGNO: delivered to the command's process group */
	/* exec session, agent → client */
	AP_STARTED = 48, /* PID */
	AP_STDOUT = 49,	 /* data (with TTY: the terminal's output) */
	AP_STDERR = 50,	 /* data */
	AP_EXIT = 51,	 /* EXIT_CODE or TERM_SIGNAL (+ CORE); after all output; then close */
	AP_ERROR = 52,	 /* STATUS (-errno), MESSAGE: the command could not start; then close */
};

enum ap_tag {
	AP_T_VERSION = 1,	/* u32 */
	AP_T_TOKEN = 2,		/* AP_TOKEN_LEN bytes */
	AP_T_AGENT_VERSION = 3, /* string */
	AP_T_KERNEL = 4,	/* string: uname -r */
	AP_T_HOSTNAME = 5,	/* string */
	AP_T_SEQ = 6,		/* u64 */
	AP_T_ACTIVE = 7,	/* u8: 1 active, 0 idle */
	AP_T_CPU_BUSY = 8,	/* u32: non-idle CPU time since the last report, per mille */
	AP_T_PSI_SOME = 9,	/* u32: memory pressure "some avg10", hundredths of a percent */
	AP_T_PSI_FULL = 10,	/* u32: memory pressure "full avg10", hundredths of a percent */
	AP_T_LOAD1 = 11,	/* u32: load average ×100 */
	AP_T_LOAD5 = 12,	/* u32 */
	AP_T_LOAD15 = 13,	/* u32 */
	AP_T_PROCS = 14,	/* u32: processes */
	AP_T_MEM_TOTAL = 15,	/* u64: KiB (MemTotal) */
	AP_T_MEM_AVAIL = 16,	/* u64: KiB (MemAvailable) */
	AP_T_UPTIME_MS = 17,	/* u64 */
	AP_T_REQ_TYPE = 18,	/* u16: the type of the request an ACK answers */
	AP_T_REQ_ID = 19,	/* u32 */
	AP_T_STATUS = 20,	/* u32 holding an int32: 0 or -errno */
	AP_T_MESSAGE = 21,	/* string */
	AP_T_ADDRESS = 22,	/* string: "10.0.0.2/24" */
	AP_T_GATEWAY = 23,	/* string */
	AP_T_DNS = 24,		/* string */
	AP_T_MODE = 25,		/* u8: enum ap_shutdown_mode */
	AP_T_ARG = 26,		/* string (may be empty) */
	AP_T_ENV = 27,		/* string "NAME=value" */
	AP_T_CWD = 28,		/* string */
	AP_T_TTY = 29,		/* u8: 1 allocates a pty (stdout carries the terminal, no stderr) */
	AP_T_ROWS = 30,		/* u16 */
	AP_T_COLS = 31,		/* u16 */
	AP_T_SIGNO = 32,	/* u32 */
	AP_T_PID = 33,		/* u32 */
	AP_T_EXIT_CODE = 34,	/* u32: 0-255 */
	AP_T_TERM_SIGNAL = 35,	/* u32: the signal that ended the command */
	AP_T_CORE = 36,		/* u8: it dumped core */
	AP_T_IFACE = 37,	/* string: the interface ADDRESS applies to (default: the first) */
	AP_T_MAC = 38,		/* string "02:00:00:00:00:01": the interface with this MAC */
	AP_T_MATCH_MAC = 39,	/* string: the interface now has this MAC (a fork's template's) */
};

enum ap_shutdown_mode {
	AP_SHUTDOWN_POWEROFF = 0,
	AP_SHUTDOWN_REBOOT = 1,
};

/* Limits a decoder enforces (beyond AP_MAX_PAYLOAD). */
#define AP_MAX_ARGS 4096
#define AP_MAX_ENVS 4096
#define AP_MAX_STR 4096 /* one string field, bytes */
#define AP_MAX_ADDRS 16

/* ---- Framing ---------------------------------------------------------- */

struct ap_frame {
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	const uint8_t *payload; /* points into the caller's buffer */
};

/*
 * Parse one frame from the start of buf[0..len).  Returns the bytes it
 * used (> 0) and fills *f; 0 if buf holds less than a whole frame; -EPROTO
 * if the header is invalid (len over AP_MAX_PAYLOAD, flags not 0): the
 * connection cannot recover and must be closed.
 */
long ap_frame_parse(const uint8_t *buf, size_t len, struct ap_frame *f);

/*
 * A frame being built in a caller-supplied buffer of cap bytes
 * (AP_MAX_FRAME always suffices).  Adding past cap sets the error flag;
 * ap_msg_finish() then returns -EMSGSIZE.
 */
struct ap_msg {
	uint8_t *buf;
	size_t cap;
	size_t len; /* header included */
	bool overflow;
};

void ap_msg_init(struct ap_msg *m, uint8_t *buf, size_t cap, uint16_t type);
void ap_put_u8(struct ap_msg *m, uint16_t tag, uint8_t v);
void ap_put_u16(struct ap_msg *m, uint16_t tag, uint16_t v);
void ap_put_u32(struct ap_msg *m, uint16_t tag, uint32_t v);
void ap_put_u64(struct ap_msg *m, uint16_t tag, uint64_t v);
void ap_put_bytes(struct ap_msg *m, uint16_t tag, const void *p, size_t n);
void ap_put_str(struct ap_msg *m, uint16_t tag, const char *s);
/* Raw payload bytes (data frames). */
void ap_put_raw(struct ap_msg *m, const void *p, size_t n);
/* Write the header's length; returns the frame's total size or -EMSGSIZE. */
long ap_msg_finish(struct ap_msg *m);

/*
 * Frames reassembled from a byte stream (either end of a connection): read
 * into ap_rbuf_space(), account with ap_rbuf_fill(), then take whole frames
 * with ap_rbuf_next().  One frame of any legal size always fits.
 */
struct ap_rbuf {
	uint8_t data[AP_MAX_FRAME];
	size_t start, end;
};

void ap_rbuf_init(struct ap_rbuf *r);
/* Room to read into (compacts first); *n is never 0 after a successful ap_rbuf_next. */
uint8_t *ap_rbuf_space(struct ap_rbuf *r, size_t *n);
void ap_rbuf_fill(struct ap_rbuf *r, size_t n);
/* 1 and *f (valid until the next ap_rbuf_space) for a whole frame, 0 for more bytes, -EPROTO. */
int ap_rbuf_next(struct ap_rbuf *r, struct ap_frame *f);

/* ---- Fields ------------------------------------------------------------ */

struct ap_field {
	uint16_t tag;
	uint16_t len;
	const uint8_t *val;
};

struct ap_iter {
	const uint8_t *p;
	size_t left;
};

void ap_iter_init(struct ap_iter *it, const struct ap_frame *f);
/* 1 and *out for the next field, 0 at the end, -EPROTO if a field overruns. */
int ap_iter_next(struct ap_iter *it, struct ap_field *out);

/* Typed reads of a field: 0, or -EPROTO if its length is wrong / a string holds NUL. */
int ap_field_u8(const struct ap_field *f, uint8_t *v);
int ap_field_u16(const struct ap_field *f, uint16_t *v);
int ap_field_u32(const struct ap_field *f, uint32_t *v);
int ap_field_u64(const struct ap_field *f, uint64_t *v);
/* Copy a string field into dst (cap bytes, NUL-terminated); -EPROTO if NUL inside, -E2BIG if it does not fit. */
int ap_field_str(const struct ap_field *f, char *dst, size_t cap);

/* ---- Decoded messages ----------------------------------------------- */

struct ap_hello {
	uint32_t version;
	uint8_t token[AP_TOKEN_LEN];
	bool has_token;
	char agent_version[64];
	char kernel[128];
	char hostname[256];
};

struct ap_report {
	uint64_t seq;
	bool active;
	uint32_t cpu_busy; /* per mille */
	uint32_t psi_some; /* hundredths of a percent */
	uint32_t psi_full;
	uint32_t load[3]; /* ×100 */
	uint32_t procs;
	uint64_t mem_total; /* KiB */
	uint64_t mem_avail; /* KiB */
	uint64_t uptime_ms;
};

struct ap_ack {
	uint16_t req_type;
	uint32_t req_id;
	int32_t status;
	char message[256];
};

struct ap_identity {
	uint32_t req_id;
	char hostname[256];
	char addrs[AP_MAX_ADDRS][64];
	unsigned nr_addrs;
	char iface[32];
	char mac[18]; /* the interface is the one with this MAC (takes precedence over iface) */
	char match_mac[18]; /* ...found by this MAC instead, and given mac (forks) */
	char gateway[64];
	char dns[4][64];
	unsigned nr_dns;
};

struct ap_shutdown {
	uint32_t req_id;
	uint8_t mode;
};

/*
 * EXEC: argv and envp point into one malloc'ed block (ap_exec_free()):
 * NULL-terminated arrays of NUL-terminated copies.
 */
struct ap_exec {
	uint8_t token[AP_TOKEN_LEN];
	bool has_token;
	char **argv;
	unsigned argc;
	char **envp;
	unsigned envc;
	char cwd[AP_MAX_STR];
	bool tty;
	uint16_t rows, cols;
	void *block;
};

struct ap_exit {
	bool signaled;
	uint32_t code; /* exit code, or the signal */
	bool core;
};

struct ap_error {
	int32_t status;
	char message[256];
};

/*
 * Decoders: f must be a frame of the matching type.  0, or -EPROTO for a
 * malformed payload (a field overrun, a wrong length, a string with NUL,
 * a missing required field, too many args/envs), -ENOMEM (ap_decode_exec).
 * Strings that do not fit their fixed buffers are -EPROTO too.
 */
int ap_decode_hello(const struct ap_frame *f, struct ap_hello *out);
int ap_decode_report(const struct ap_frame *f, struct ap_report *out);
int ap_decode_ack(const struct ap_frame *f, struct ap_ack *out);
int ap_decode_identity(const struct ap_frame *f, struct ap_identity *out);
int ap_decode_shutdown(const struct ap_frame *f, struct ap_shutdown *out);
int ap_decode_exec(const struct ap_frame *f, struct ap_exec *out);
void ap_exec_free(struct ap_exec *e);
int ap_decode_resize(const struct ap_frame *f, uint16_t *rows, uint16_t *cols);
int ap_decode_signal(const struct ap_frame *f, uint32_t *signo);
int ap_decode_started(const struct ap_frame *f, uint32_t *pid);
int ap_decode_exit(const struct ap_frame *f, struct ap_exit *out);
int ap_decode_error(const struct ap_frame *f, struct ap_error *out);

/* Encoders into buf (cap bytes): the frame's size, or -EMSGSIZE. */
long ap_encode_hello(uint8_t *buf, size_t cap, const struct ap_hello *h);
long ap_encode_report(uint8_t *buf, size_t cap, const struct ap_report *r);
long ap_encode_ack(uint8_t *buf, size_t cap, const struct ap_ack *a);
long ap_encode_identity(uint8_t *buf, size_t cap, const struct ap_identity *id);
long ap_encode_shutdown(uint8_t *buf, size_t cap, const struct ap_shutdown *s);
/* argv: argc strings (argc ≥ 1); envp: envc strings; cwd may be NULL. */
long ap_encode_exec(uint8_t *buf, size_t cap, const uint8_t token[AP_TOKEN_LEN],
		    const char *const *argv, unsigned argc, const char *const *envp, unsigned envc,
		    const char *cwd, bool tty, uint16_t rows, uint16_t cols);
long ap_encode_data(uint8_t *buf, size_t cap, uint16_t type, const void *data, size_t len);
long ap_encode_resize(uint8_t *buf, size_t cap, uint16_t rows, uint16_t cols);
long ap_encode_signal(uint8_t *buf, size_t cap, uint32_t signo);
long ap_encode_started(uint8_t *buf, size_t cap, uint32_t pid);
long ap_encode_exit(uint8_t *buf, size_t cap, const struct ap_exit *e);
long ap_encode_error(uint8_t *buf, size_t cap, const struct ap_error *e);

/* Constant-time comparison of two tokens. */
bool ap_token_equal(const uint8_t a[AP_TOKEN_LEN], const uint8_t b[AP_TOKEN_LEN]);

/* A name for a frame type ("HELLO"), or "?" */
const char *ap_type_name(uint16_t type);

#endif
