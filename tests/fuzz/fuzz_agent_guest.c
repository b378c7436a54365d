// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: what clone-agent parses (agent/dispatch.c, compiled in
 * here because the agent is not part of libclone).  The input is a byte
 * stream fed to the agent's frame reassembly in chunks whose sizes come
 * from the first input byte; every frame then goes through the control
 * dispatcher (IDENTITY/SHUTDOWN → ACK, with a fake identity op) and the
 * exec-session path (first frame: EXEC with the token check; later frames:
 * STDIN/RESIZE/SIGNAL actions).  Single-threaded, no I/O.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/dispatch.c"

/* The token the seed corpus was generated with: bytes 0x41 ('A'). */
static uint8_t token[AP_TOKEN_LEN];
static struct ap_rbuf rb;

static int fake_identity(void *opaque, const struct ap_identity *id, char *msg, size_t cap)
{
	/* Everything the decoder hands over must be terminated and in range. */
	if (id->nr_addrs > AP_MAX_ADDRS || id->nr_dns > 4 || strlen(id->hostname) >= 256)
		abort();
	for (unsigned i = 0; i < id->nr_addrs; i++)
		if (strlen(id->addrs[i]) >= sizeof(id->addrs[i]))
			abort();
	snprintf(msg, cap, "fuzz");
	return id->nr_addrs ? -EINVAL : 0;
}

static const struct ctl_ops ops = { .identity = fake_identity };

static void one(const struct ap_frame *f, bool *first)
{
	uint8_t ack[512];
	enum ctl_after after;
	struct ap_frame af;
	struct ap_ack a;
	struct sess_action act;
	long n;

	n = disp_control(f, &ops, NULL, ack, sizeof(ack), &after);
	if (n < 0)
		abort(); /* an ACK always fits */
	if (n > 0) {
		if (ap_frame_parse(ack, (size_t)n, &af) != n || ap_decode_ack(&af, &a) ||
		    a.req_type != f->type)
			abort();
		if (after != CTL_AFTER_NONE && a.status != 0)
			abort();
	}

	if (*first) {
		struct ap_exec ex;
		struct ap_error err;

		*first = false;
		if (disp_exec_first(f, token, &ex, &err) == 0) {
			if (!ex.argc || !ex.argv || ex.argv[ex.argc] || ex.envp[ex.envc])
				abort();
			for (unsigned i = 0; i < ex.argc; i++)
				(void)strlen(ex.argv[i]);
			for (unsigned i = 0; i < ex.envc; i++)
				if (!strchr(ex.envp[i], '='))
					abort();
			(void)disp_env_get(ex.envp, "PATH");
			char path[256];
			size_t pos = 0;
			int r, guard = 0;

			while ((r = disp_path_next(DISP_DEFAULT_PATH, ex.argv[0], &pos, path,
						   sizeof(path))) != 0 &&
			       guard++ < 64)
				if (r > 0 && strlen(path) >= sizeof(path))
					abort();
			ap_exec_free(&ex);
		} else if (ex.block || err.status >= 0) {
			abort();
		}
		return;
	}
	if (disp_session(f, &act) == 0) {
		if (act.act == SESS_STDIN && (!act.len || act.len > AP_MAX_PAYLOAD))
			abort();
		if (act.act == SESS_SIGNAL && (act.signo < 1 || act.signo > 64))
			abort();
		if (act.act == SESS_RESIZE && (!act.rows || !act.cols))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ap_frame f;
	bool first = true;
	size_t chunk;
	int r;

	memset(token, 'A', sizeof(token));
	if (!size)
		return 0;
	chunk = (size_t)data[0] * 61 + 1;
	data++;
	size--;
	ap_rbuf_init(&rb);
	while (size) {
		size_t room, n;
		uint8_t *dst = ap_rbuf_space(&rb, &room);

		if (!room)
			abort(); /* a parsed-out buffer always has room */
		n = size < chunk ? size : chunk;
		n = n < room ? n : room;
		memcpy(dst, data, n);
		ap_rbuf_fill(&rb, n);
		data += n;
		size -= n;
		while ((r = ap_rbuf_next(&rb, &f)) > 0)
			one(&f, &first);
		if (r < 0)
			return 0; /* the agent closes the connection */
	}
	return 0;
}
