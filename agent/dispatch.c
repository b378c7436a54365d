// SPDX-License-Identifier: Apache-2.0
/*
 * clone-agent's I/O-free decisions (see dispatch.h): every byte a peer
 * sends passes through here before the agent acts on it, which is why
 * this file does no I/O and is fuzzed on its own (fuzz_agent_guest).
 * Runs in the main process (control channel) and in session processes.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "dispatch.h"

/* ---- Control channel ---------------------------------------------------- */

/* Best effort: the REQ_ID of a request the decoder refused, for its ACK. */
static uint32_t salvage_req_id(const struct ap_frame *f)
{
	struct ap_iter it;
	struct ap_field fld;
	uint32_t id = 0, v;

	ap_iter_init(&it, f);
	while (ap_iter_next(&it, &fld) > 0)
		if (fld.tag == AP_T_REQ_ID && ap_field_u32(&fld, &v) == 0)
			id = v;
	return id;
}

long disp_control(const struct ap_frame *f, const struct ctl_ops *ops, void *opaque, uint8_t *out,
		  size_t cap, enum ctl_after *after)
{
	struct ap_ack ack;
	int r;

	*after = CTL_AFTER_NONE;
	memset(&ack, 0, sizeof(ack));
	ack.req_type = f->type;
	switch (f->type) {
	case AP_IDENTITY: {
		struct ap_identity id;

		r = ap_decode_identity(f, &id);
		if (r) {
			ack.req_id = salvage_req_id(f);
			ack.status = r;
			snprintf(ack.message, sizeof(ack.message), "malformed IDENTITY");
			break;
		}
		ack.req_id = id.req_id;
		ack.status = ops->identity(opaque, &id, ack.message, sizeof(ack.message));
		if (ack.status > 0)
			ack.status = -EIO; /* ops contract: 0 or -errno */
		if (ack.status == 0)
			ack.message[0] = '\0';
		break;
	}
	case AP_SHUTDOWN: {
		struct ap_shutdown sd;

		r = ap_decode_shutdown(f, &sd);
		if (r) {
			ack.req_id = salvage_req_id(f);
			ack.status = r;
			snprintf(ack.message, sizeof(ack.message), "malformed SHUTDOWN");
			break;
		}
		ack.req_id = sd.req_id;
		*after = sd.mode == AP_SHUTDOWN_REBOOT ? CTL_AFTER_REBOOT : CTL_AFTER_POWEROFF;
		break;
	}
	default:
		return 0;
	}
	ack.message[sizeof(ack.message) - 1] = '\0';
	return ap_encode_ack(out, cap, &ack);
}

/* ---- Exec sessions ------------------------------------------------------ */

int disp_exec_first(const struct ap_frame *f, const uint8_t token[AP_TOKEN_LEN], struct ap_exec *ex,
		    struct ap_error *err)
{
	int r;

	memset(err, 0, sizeof(*err));
	memset(ex, 0, sizeof(*ex));
	if (f->type != AP_EXEC) {
		err->status = -EPROTO;
		snprintf(err->message, sizeof(err->message), "expected EXEC, got %s",
			 ap_type_name(f->type));
		return err->status;
	}
	r = ap_decode_exec(f, ex);
	/* The token decides before anything else is said about the request. */
	if (!ex->has_token || !ap_token_equal(ex->token, token)) {
		ap_exec_free(ex);
		err->status = -EACCES;
		snprintf(err->message, sizeof(err->message), "bad token");
		return err->status;
	}
	if (r) {
		err->status = r;
		snprintf(err->message, sizeof(err->message), "%s",
			 r == -ENOMEM ? "out of memory" : "malformed EXEC");
		return r;
	}
	if (ex->tty && (ex->rows == 0 || ex->cols == 0)) {
		ex->rows = 24;
		ex->cols = 80;
	}
	return 0;
}

int disp_session(const struct ap_frame *f, struct sess_action *a)
{
	uint32_t signo;
	int r;

	memset(a, 0, sizeof(*a));
	switch (f->type) {
	case AP_STDIN:
		a->act = f->len ? SESS_STDIN : SESS_STDIN_EOF;
		a->data = f->payload;
		a->len = f->len;
		return 0;
	case AP_RESIZE:
		r = ap_decode_resize(f, &a->rows, &a->cols);
		if (r)
			return r;
		a->act = a->rows && a->cols ? SESS_RESIZE : SESS_NONE;
		return 0;
	case AP_SIGNAL:
		r = ap_decode_signal(f, &signo);
		if (r)
			return r;
		/* kill(2) takes 1.._NSIG-1; anything else is ignored, not fatal. */
		if (signo >= 1 && signo <= 64) {
			a->act = SESS_SIGNAL;
			a->signo = (int)signo;
		}
		return 0;
	case AP_EXEC:
		return -EPROTO; /* one command per connection */
	default:
		return 0; /* unknown types: skipped */
	}
}

void disp_exit_status(int status, struct ap_exit *e)
{
	memset(e, 0, sizeof(*e));
	if (WIFSIGNALED(status)) {
		e->signaled = true;
		e->code = (uint32_t)WTERMSIG(status);
		e->core = WCOREDUMP(status) != 0;
	} else {
		e->code = (uint32_t)WEXITSTATUS(status) & 0xff;
	}
}

const char *disp_env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

int disp_path_next(const char *path, const char *file, size_t *pos, char *out, size_t cap)
{
	size_t plen, flen = strlen(file), i, n;
	const char *end;

	if (strchr(file, '/')) {
		if (*pos)
			return 0;
		*pos = 1;
		if (flen >= cap)
			return -ENAMETOOLONG;
		memcpy(out, file, flen + 1);
		return 1;
	}
	plen = strlen(path);
	if (*pos > plen)
		return 0;
	i = *pos;
	end = strchr(path + i, ':');
	n = end ? (size_t)(end - (path + i)) : plen - i;
	*pos = i + n + 1;
	if (n == 0) {
		/* An empty entry means the current directory. */
		if (flen + 3 > cap)
			return -ENAMETOOLONG;
		memcpy(out, "./", 2);
		memcpy(out + 2, file, flen + 1);
		return 1;
	}
	if (n + 1 + flen + 1 > cap)
		return -ENAMETOOLONG;
	memcpy(out, path + i, n);
	out[n] = '/';
	memcpy(out + n + 1, file, flen + 1);
	return 1;
}
