// SPDX-License-Identifier: Apache-2.0
/*
 * clone exec: run a command in a VM through its guest agent.  The VMM
 * hands out the agent's vsock address and session token (GET /clone/agent,
 * which also waits for a VM still booting); we connect to the agent
 * directly, send EXEC, then pump frames (agent_proto.h) in one poll loop:
 * stdin → STDIN, STDOUT/STDERR → fds 1/2, signals → SIGNAL, SIGWINCH →
 * RESIZE, until EXIT, whose code becomes ours.  Flow control both ways:
 * stdin is read only while the socket has taken everything we queued, and
 * the socket is read only while no output is waiting for a blocked fd.
 * The terminal (with -t on a tty) is made raw through console.c, so the
 * fatal-signal handler in main.c restores it too.  Main thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h> /* after sys/socket.h */
#include <termios.h>
#include <unistd.h>

#include "api/agent_proto.h"
#include "api/http.h"
#include "cli/cli.h"
#include "lib/err.h"
#include "lib/util.h"
#include "vmm/console.h"
#include "vmm/registry.h"

#define CTRL_RESERVE 512 /* room for SIGNAL/RESIZE frames behind a queued data frame */
#define HTTP_SLACK_MS 5000

/* ---- Arguments ---------------------------------------------------------------- */

enum { OPT_TIMEOUT = 256 };

static const struct option exec_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "tty", no_argument, NULL, 't' },
	{ "interactive", no_argument, NULL, 'i' },
	{ "env", required_argument, NULL, 'e' },
	{ "workdir", required_argument, NULL, 'w' },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

static void exec_usage(FILE *f)
{
	fprintf(f,
		"Usage: clone exec [-t] [-i] [-e K=V]... [-w DIR] [--timeout S] NAME -- CMD "
		"[ARG...]\n"
		"Run a command in a VM through its guest agent; exit with its exit code.\n"
		"\n"
		"  -t, --tty          give the command a terminal (raw mode when stdin is one)\n"
		"  -i, --interactive  keep stdin open (stdin is always forwarded)\n"
		"  -e, --env K=V      set an environment variable (repeatable)\n"
		"  -w, --workdir DIR  working directory in the guest\n"
		"      --timeout S    wait at most S seconds for the agent (default %d)\n"
		"\n"
		"Exit: the command's code; 128+N if signal N ended it; 126 not executable;\n"
		"127 not found; %d no VM; %d no agent; %d the agent did not come up in time.\n",
		CLI_EXEC_DEFAULT_TIMEOUT, EXIT_VM_NOT_FOUND, EXIT_NO_AGENT, EXIT_TIMEOUT);
}

void cli_exec_opts_free(struct cli_exec_opts *o)
{
	free(o->env);
	o->env = NULL;
	o->nenv = 0;
}

int cli_exec_parse(int argc, char **argv, struct cli_exec_opts *o)
{
	uint64_t v;
	int opt;

	memset(o, 0, sizeof(*o));
	o->timeout_s = CLI_EXEC_DEFAULT_TIMEOUT;
	optind = 0;
	opterr = 0;
	/* '+': stop at NAME, so the command's own options are left alone */
	while ((opt = getopt_long(argc, argv, "+:htie:w:", exec_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			exec_usage(stdout);
			cli_exec_opts_free(o);
			return CLI_HELP_SHOWN;
		case 't':
			o->tty = true;
			break;
		case 'i':
			o->interactive = true;
			break;
		case 'e': {
			const char *eq = strchr(optarg, '=');
			const char **n;

			if (!eq || eq == optarg) {
				cli_exec_opts_free(o);
				return err_setx(-EINVAL, "exec: -e %s: expected NAME=VALUE",
						optarg);
			}
			if (o->nenv >= AP_MAX_ENVS) {
				cli_exec_opts_free(o);
				return err_setx(-EINVAL, "exec: too many -e (at most %d)",
						AP_MAX_ENVS);
			}
			n = realloc(o->env, (o->nenv + 1) * sizeof(*n));
			if (!n) {
				cli_exec_opts_free(o);
				return err_setx(-ENOMEM, "out of memory");
			}
			o->env = n;
			o->env[o->nenv++] = optarg;
			break;
		}
		case 'w':
			if (!*optarg) {
				cli_exec_opts_free(o);
				return err_setx(-EINVAL, "exec: -w needs a directory");
			}
			o->cwd = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_uint(optarg, 0, CLI_TIMEOUT_MAX, &v)) {
				cli_exec_opts_free(o);
				return err_setx(
					-EINVAL,
					"exec: --timeout %s: expected whole seconds, 0 to %d",
					optarg, CLI_TIMEOUT_MAX);
			}
			o->timeout_s = (unsigned)v;
			break;
		case ':':
			cli_exec_opts_free(o);
			return err_setx(-EINVAL, "exec: option %s needs a value", argv[optind - 1]);
		default:
			cli_exec_opts_free(o);
			if (optopt)
				return err_setx(-EINVAL,
						"exec: unknown option -%c (see clone exec --help)",
						optopt);
			return err_setx(-EINVAL, "exec: unknown option %s (see clone exec --help)",
					argv[optind - 1]);
		}
	}
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++; /* "clone exec -- NAME -- CMD" */
	if (optind >= argc) {
		cli_exec_opts_free(o);
		return err_setx(-EINVAL, "exec: which VM? (clone exec NAME -- CMD)");
	}
	o->name = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc) {
		cli_exec_opts_free(o);
		return err_setx(-EINVAL, "exec: no command (clone exec %s -- CMD [ARG...])",
				o->name);
	}
	if (argc - optind > AP_MAX_ARGS) {
		cli_exec_opts_free(o);
		return err_setx(-EINVAL, "exec: too many arguments (at most %d)", AP_MAX_ARGS);
	}
	o->cmd = argv + optind;
	o->ncmd = (unsigned)(argc - optind);
	return 0;
}

/* ---- The stream loop --------------------------------------------------------- */

struct session {
	int sock, in, out, err, sigfd;
	const char *cmd;
	uint8_t *rx; /* frames from the agent */
	size_t rx_len;
	uint8_t *tx; /* frames to the agent */
	size_t tx_len, tx_off;
	uint8_t *inbuf; /* one read of stdin */
	bool in_eof;
	/* the data frame at the head of rx, being written to pend_fd */
	int pend_fd;
	size_t pend_off, pend_len, pend_frame;
	bool out_closed, err_closed;
	bool tx_broken; /* the agent no longer takes frames */
	bool finished;	/* EXIT or ERROR seen */
	int code;
};

#define TX_CAP (AP_MAX_FRAME + CTRL_RESERVE)

static void queue_frame(struct session *s, const uint8_t *frame, long len)
{
	if (s->tx_broken || len <= 0 || s->tx_len + (size_t)len > TX_CAP)
		return; /* no room for a control frame behind a stalled data frame: drop it */
	memcpy(s->tx + s->tx_len, frame, (size_t)len);
	s->tx_len += (size_t)len;
}

static void queue_resize(struct session *s)
{
	struct winsize ws;
	uint8_t f[64];

	if (ioctl(s->in, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
		queue_frame(s, f, ap_encode_resize(f, sizeof(f), ws.ws_row, ws.ws_col));
}

static void on_signal(struct session *s)
{
	struct signalfd_siginfo si;
	uint8_t f[64];

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGWINCH)
			queue_resize(s);
		else if (!s->finished)
			queue_frame(s, f, ap_encode_signal(f, sizeof(f), si.ssi_signo));
	}
}

static int lost(void)
{
	cli_error("connection to the agent lost");
	return EXIT_RUNTIME;
}

/* Read one chunk of stdin into a STDIN frame (an empty one at EOF). */
static void read_stdin(struct session *s)
{
	ssize_t n = read(s->in, s->inbuf, AP_MAX_PAYLOAD);
	long len;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* EOF, or an error we treat as EOF (EBADF, EIO on a hung-up tty) */
		n = 0;
		s->in_eof = true;
	}
	len = ap_encode_data(s->tx + s->tx_len, TX_CAP - s->tx_len, AP_STDIN, s->inbuf, (size_t)n);
	if (len > 0)
		s->tx_len += (size_t)len;
}

/* Write queued frames to the agent: 0, or -1 when the connection is gone. */
static int flush_tx(struct session *s)
{
	while (s->tx_off < s->tx_len) {
		ssize_t n = send(s->sock, s->tx + s->tx_off, s->tx_len - s->tx_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		s->tx_off += (size_t)n;
	}
	s->tx_off = s->tx_len = 0;
	return 0;
}

static void consume_rx(struct session *s, size_t n)
{
	memmove(s->rx, s->rx + n, s->rx_len - n);
	s->rx_len -= n;
}

static int start_error(struct session *s, const struct ap_error *e)
{
	if (e->status == -ENOENT) {
		cli_error("%s: command not found", s->cmd);
		return 127;
	}
	if (e->status == -EACCES) {
		cli_error("%s: permission denied", s->cmd);
		return 126;
	}
	if (e->message[0])
		cli_error("%s: %s", s->cmd, e->message);
	else
		cli_error("%s: %s", s->cmd, strerror(e->status < 0 ? -e->status : EIO));
	return EXIT_RUNTIME;
}

/*
 * Handle the frames in rx until one needs a blocked fd: 0, or -1 on a
 * protocol error (message printed).
 */
static int process_rx(struct session *s)
{
	while (!s->pend_len && !s->finished) {
		struct ap_frame f;
		long n = ap_frame_parse(s->rx, s->rx_len, &f);

		if (n < 0) {
			cli_error("protocol error from the agent (bad frame header)");
			return -1;
		}
		if (n == 0)
			return 0;
		switch (f.type) {
		case AP_STDOUT:
		case AP_STDERR: {
			bool closed = f.type == AP_STDOUT ? s->out_closed : s->err_closed;

			if (f.len && !closed) {
				s->pend_fd = f.type == AP_STDOUT ? s->out : s->err;
				s->pend_off = (size_t)(f.payload - s->rx);
				s->pend_len = f.len;
				s->pend_frame = (size_t)n;
				return 0; /* consumed once written */
			}
			break;
		}
		case AP_EXIT: {
			struct ap_exit e;

			if (ap_decode_exit(&f, &e)) {
				cli_error("protocol error from the agent (bad EXIT)");
				return -1;
			}
			s->code = e.signaled ? 128 + (int)(e.code & 0x7f) : (int)(e.code & 0xff);
			s->finished = true;
			break;
		}
		case AP_ERROR: {
			struct ap_error e;

			if (ap_decode_error(&f, &e)) {
				cli_error("protocol error from the agent (bad ERROR)");
				return -1;
			}
			s->code = start_error(s, &e);
			s->finished = true;
			break;
		}
		default: /* STARTED, and types from newer agents */
			break;
		}
		consume_rx(s, (size_t)n);
	}
	return 0;
}

/* Write the pending output; an fd that cannot take output any more drops its stream. */
static void write_pending(struct session *s)
{
	while (s->pend_len) {
		ssize_t n = write(s->pend_fd, s->rx + s->pend_off, s->pend_len);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* EPIPE & co: like ssh, keep the session, drop that stream */
			if (s->pend_fd == s->out)
				s->out_closed = true;
			if (s->pend_fd == s->err)
				s->err_closed = true;
			s->pend_len = 0;
			break;
		}
		s->pend_off += (size_t)n;
		s->pend_len -= (size_t)n;
	}
	consume_rx(s, s->pend_frame);
	s->pend_frame = 0;
}

static int set_nonblock(int fd, int *saved)
{
	int fl = fcntl(fd, F_GETFL);

	*saved = fl;
	if (fl < 0 || (fl & O_NONBLOCK))
		return 0;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void restore_flags(int fd, int saved)
{
	if (saved >= 0 && !(saved & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, saved);
}

static int stream_loop(struct session *s)
{
	if (s->in < 0) {
		s->in_eof = true;
		read_stdin(s); /* nothing to read: just the empty STDIN */
	}
	for (;;) {
		struct pollfd p[4];
		int np = 0, isock, iin = -1, iout = -1, isig = -1;

		if (process_rx(s))
			return EXIT_RUNTIME;
		if (s->finished && !s->pend_len)
			return s->code;

		isock = np;
		p[np++] = (struct pollfd){
			.fd = s->sock,
			.events = (short)((s->tx_len ? POLLOUT : 0) |
					  (!s->pend_len && !s->finished ? POLLIN : 0)),
		};
		if (!s->in_eof && !s->tx_len && !s->finished && !s->tx_broken) {
			iin = np;
			p[np++] = (struct pollfd){ .fd = s->in, .events = POLLIN };
		}
		if (s->pend_len) {
			iout = np;
			p[np++] = (struct pollfd){ .fd = s->pend_fd, .events = POLLOUT };
		}
		if (s->sigfd >= 0) {
			isig = np;
			p[np++] = (struct pollfd){ .fd = s->sigfd, .events = POLLIN };
		}
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			cli_error("poll: %s", strerror(errno));
			return EXIT_RUNTIME;
		}
		if (isig >= 0 && p[isig].revents)
			on_signal(s);
		if (iout >= 0 && p[iout].revents)
			write_pending(s);
		if (iin >= 0 && p[iin].revents)
			read_stdin(s);
		if (s->tx_len && flush_tx(s)) {
			/*
			 * The agent stopped reading (the command is gone): stop
			 * sending, but read on — its EXIT may still be in flight.
			 */
			s->tx_len = s->tx_off = 0;
			s->in_eof = true;
			s->tx_broken = true;
		}
		if (p[isock].revents & (POLLIN | POLLHUP | POLLERR) && !s->pend_len &&
		    !s->finished) {
			ssize_t n = recv(s->sock, s->rx + s->rx_len, AP_MAX_FRAME - s->rx_len, 0);

			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				return lost();
			if (n > 0)
				s->rx_len += (size_t)n;
		}
	}
}

int cli_exec_stream(int sock, int in, int out, int err, int sigfd, const char *cmd)
{
	struct session s = {
		.sock = sock,
		.in = in,
		.out = out,
		.err = err,
		.sigfd = sigfd,
		.cmd = cmd,
	};
	int fl_sock = -1, fl_out = -1, fl_err = -1, code;

	s.rx = malloc(AP_MAX_FRAME);
	s.tx = malloc(TX_CAP);
	s.inbuf = malloc(AP_MAX_PAYLOAD);
	if (!s.rx || !s.tx || !s.inbuf) {
		cli_error("out of memory");
		code = EXIT_RUNTIME;
		goto out;
	}
	/* non-blocking writes, so a blocked stdout stalls only the socket, never the loop */
	if (set_nonblock(sock, &fl_sock) || set_nonblock(out, &fl_out) ||
	    set_nonblock(err, &fl_err)) {
		cli_error("fcntl: %s", strerror(errno));
		code = EXIT_RUNTIME;
		goto out;
	}
	code = stream_loop(&s);
out:
	restore_flags(err, fl_err);
	restore_flags(out, fl_out);
	restore_flags(sock, fl_sock);
	free(s.rx);
	free(s.tx);
	free(s.inbuf);
	return code;
}

/* ---- The command --------------------------------------------------------------- */

static int hex_token(const char *hex, uint8_t token[AP_TOKEN_LEN])
{
	if (!hex || strlen(hex) != 2 * AP_TOKEN_LEN)
		return -EINVAL;
	for (int i = 0; i < AP_TOKEN_LEN; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1 ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * i + 1]))
			return -EINVAL;
		token[i] = (uint8_t)v;
	}
	return 0;
}

/* Ask the VMM where its agent is: 0, or the exit code with the error printed. */
static int agent_address(const struct registry_entry *e, unsigned timeout_s, uint32_t *cid,
			 uint32_t *port, uint8_t token[AP_TOKEN_LEN])
{
	json_int_t jcid = -1, jport = -1;
	const char *tok = NULL;
	char path[64], *body = NULL;
	int status = 0, ret, code = 0;
	json_t *j;

	snprintf(path, sizeof(path), "/clone/agent?wait_ms=%u", timeout_s * 1000);
	ret = http_request(e->api, "GET", path, NULL, (int)(timeout_s * 1000 + HTTP_SLACK_MS),
			   &status, &body);
	if (ret) {
		if (ret == -EACCES)
			cli_error("VM '%s': the control socket refused us: %s", e->name, err_msg());
		else if (ret == -ETIMEDOUT)
			cli_error("VM '%s': the VMM did not answer", e->name);
		else
			cli_error("VM '%s': the VMM does not answer: %s", e->name, err_msg());
		return cli_exit_for_errno(ret);
	}
	if (status == 503) {
		/* The VMM says why (--no-agent, no vsock, ...): "VM 'x' has no agent: ..." */
		j = json_loads(body, 0, NULL);
		tok = j ? json_string_value(json_object_get(j, "fault_message")) : NULL;
		if (tok && strstr(tok, "agent"))
			cli_error("%s", tok);
		else
			cli_error("VM '%s' has no agent", e->name);
		json_decref(j);
		code = EXIT_NO_AGENT;
	} else if (status == 504) {
		cli_error("the agent in VM '%s' did not connect within %u s", e->name, timeout_s);
		code = EXIT_TIMEOUT;
	} else if (status != 200) {
		j = json_loads(body, 0, NULL);
		tok = j ? json_string_value(json_object_get(j, "fault_message")) : NULL;
		cli_error("VM '%s': %s", e->name, tok ? tok : "the VMM refused to name its agent");
		json_decref(j);
		code = cli_exit_for_http_status(status);
	}
	if (code) {
		free(body);
		return code;
	}
	j = json_loads(body, 0, NULL);
	free(body);
	if (!j || json_unpack(j, "{s:I, s:I, s:s}", "cid", &jcid, "port", &jport, "token", &tok) ||
	    jcid < 3 || jcid > AP_MAX_CID || jport < 0 || jport > UINT32_MAX ||
	    hex_token(tok, token)) {
		json_decref(j);
		cli_error("VM '%s': the VMM's answer about its agent is malformed", e->name);
		return EXIT_RUNTIME;
	}
	*cid = (uint32_t)jcid;
	*port = (uint32_t)jport;
	json_decref(j);
	return 0;
}

static int connect_agent(uint32_t cid, uint32_t port)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return err_set(-errno, "vsock socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		int ret = err_set(-errno, "connect to the agent (cid %u port %u)", cid, port);

		close(fd);
		return ret;
	}
	return fd;
}

/* Send EXEC: 0 or -errno with the message set. */
static int send_exec(int sock, const struct cli_exec_opts *o, const uint8_t token[AP_TOKEN_LEN],
		     uint16_t rows, uint16_t cols)
{
	const char **envp = calloc(o->nenv + 1, sizeof(*envp));
	uint8_t *buf = malloc(AP_MAX_FRAME);
	char term[256];
	unsigned envc = 0;
	long len;
	int ret = 0;

	if (!envp || !buf) {
		ret = err_setx(-ENOMEM, "out of memory");
		goto out;
	}
	if (o->tty && getenv("TERM")) {
		snprintf(term, sizeof(term), "TERM=%s", getenv("TERM"));
		envp[envc++] = term;
	}
	for (unsigned i = 0; i < o->nenv; i++)
		envp[envc++] = o->env[i];
	len = ap_encode_exec(buf, AP_MAX_FRAME, token, (const char *const *)o->cmd, o->ncmd, envp,
			     envc, o->cwd, o->tty, rows, cols);
	if (len < 0) {
		ret = err_setx(-E2BIG, "the command and its environment are too large");
		goto out;
	}
	if (write_full(sock, buf, (size_t)len) < 0)
		ret = err_set(-errno, "send the command to the agent");
out:
	free(envp);
	free(buf);
	return ret;
}

int cli_exec(int argc, char **argv)
{
	static const int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH };
	struct cli_exec_opts o;
	struct registry_entry e;
	uint8_t token[AP_TOKEN_LEN];
	uint32_t cid = 0, port = 0;
	uint16_t rows = 0, cols = 0;
	sigset_t mask, old;
	bool raw = false;
	int ret, sock = -1, sigfd = -1, code;

	ret = cli_exec_parse(argc, argv, &o);
	if (ret == CLI_HELP_SHOWN)
		return EXIT_OK;
	if (ret) {
		cli_error("%s", err_msg());
		return EXIT_BAD_CONFIG;
	}
	ret = cli_find_vm(o.name, &e);
	if (ret) {
		cli_exec_opts_free(&o);
		return ret;
	}
	code = agent_address(&e, o.timeout_s, &cid, &port, token);
	if (code) {
		cli_exec_opts_free(&o);
		return code;
	}
	sock = connect_agent(cid, port);
	if (sock < 0) {
		cli_error("%s", err_msg());
		cli_exec_opts_free(&o);
		return EXIT_RUNTIME;
	}
	if (o.tty) {
		struct winsize ws;

		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 ||
		    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) {
			rows = ws.ws_row;
			cols = ws.ws_col;
		}
	}
	ret = send_exec(sock, &o, token, rows, cols);
	if (ret) {
		cli_error("%s", err_msg());
		close(sock);
		cli_exec_opts_free(&o);
		return EXIT_RUNTIME;
	}

	/* signals become frames: block them and read them from a signalfd */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	for (unsigned i = 0; i < ARRAY_SIZE(fwd); i++)
		sigaddset(&mask, fwd[i]);
	sigprocmask(SIG_BLOCK, &mask, &old);
	sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (o.tty && isatty(STDIN_FILENO)) {
		if (console_raw_terminal(STDIN_FILENO, false) == 0)
			raw = true;
		else
			cli_error("%s (going on without raw mode)", err_msg());
	}

	code = cli_exec_stream(sock, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, sigfd, o.cmd[0]);

	if (raw)
		console_restore_terminal();
	if (sigfd >= 0)
		close(sigfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sock);
	cli_exec_opts_free(&o);
	return code;
}
