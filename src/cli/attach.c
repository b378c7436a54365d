// SPDX-License-Identifier: Apache-2.0
/*
 * `clone attach NAME`: connect to the console socket of a running VM
 * (registry.h: NAME.console) and relay it to this terminal, both ways,
 * until Ctrl-Q (detach: the VM keeps running), the VM ends, or a signal.
 * Single-threaded: one poll() loop over the socket, stdin, stdout and a
 * signalfd.  Every write is nonblocking with a bounded buffer, so a stuck
 * terminal or guest never wedges the loop and SIGTERM/SIGHUP always get
 * the terminal restored.  stdout is reopened through /proc/self/fd/1 when
 * it is a tty or pipe, so O_NONBLOCK does not leak to the shell sharing it.
 *
 * When stdin is not a terminal (scripts, tests) the relay is the same;
 * EOF on stdin stops only the input side: output keeps coming until a
 * Ctrl-Q byte arrives or the VM ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"
#include "lib/err.h"
#include "lib/util.h"
#include "vmm/console.h"
#include "vmm/registry.h"

#define TO_SOCK_BUF 4096       /* typed input not yet taken by the VMM */
#define TO_OUT_BUF (64 * 1024) /* console output not yet written to stdout */

void attach_usage(FILE *f)
{
	fprintf(f, "Usage: clone attach NAME\n"
		   "Connect this terminal to the serial console of the running VM NAME.\n"
		   "You first see the last 16 KiB of its output, then everything it prints;\n"
		   "what you type goes to the guest.  Several terminals may attach at once.\n"
		   "Ctrl-Q detaches (the VM keeps running).  When stdin is not a terminal,\n"
		   "EOF on it does not detach: output is relayed until a Ctrl-Q byte is read\n"
		   "or the VM ends.\n"
		   "\n"
		   "  -h, --help   show this help\n"
		   "\n"
		   "Exit status: 0 detached or the VM stopped, 240 no VM of that name,\n"
		   "243 its console refused us, 1 other errors, 128+N killed by signal N.\n");
}

static const struct option attach_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int attach_parse(int argc, char **argv, struct attach_opts *o)
{
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", attach_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			attach_usage(stdout);
			return CLI_HELP_SHOWN;
		default:
			if (optopt)
				return err_setx(
					-EINVAL,
					"attach: unknown option -%c (see clone attach --help)",
					optopt);
			return err_setx(-EINVAL,
					"attach: unknown option %s (see clone attach --help)",
					argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return err_setx(-EINVAL, "attach: which VM? (clone attach NAME)");
	if (optind + 1 < argc)
		return err_setx(-EINVAL,
				"attach: unexpected argument '%s' (see clone attach --help)",
				argv[optind + 1]);
	o->name = argv[optind];
	return registry_check_name(o->name);
}

size_t attach_scan_input(const uint8_t *buf, size_t len, bool *detach)
{
	const uint8_t *q = memchr(buf, ATTACH_DETACH_KEY, len);

	*detach = q != NULL;
	return q ? (size_t)(q - buf) : len;
}

static bool again(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

int attach_relay(int sock_fd, int in_fd, int out_fd, int sig_fd, int *signo)
{
	uint8_t to_sock[TO_SOCK_BUF], to_out[TO_OUT_BUF];
	size_t ts_off = 0, ts_len = 0, to_off = 0, to_len = 0;
	bool in_open = in_fd >= 0, sock_open = true;

	*signo = 0;
	for (;;) {
		struct pollfd p[4];
		ssize_t n;

		if (!sock_open && to_off == to_len)
			return ATTACH_STOPPED;
		if (to_off == to_len)
			to_off = to_len = 0;
		/*
		 * An fd we want nothing from is left out entirely: a hung-up
		 * socket or terminal would otherwise poll ready forever.
		 */
		p[0].events = (short)((sock_open && to_len < sizeof(to_out) ? POLLIN : 0) |
				      (sock_open && ts_off < ts_len ? POLLOUT : 0));
		p[0].fd = p[0].events ? sock_fd : -1;
		p[1].events = POLLIN;
		p[1].fd = in_open && ts_off == ts_len ? in_fd : -1;
		/* Always watched: POLLERR/POLLHUP say nobody reads our output any more. */
		p[2].events = to_off < to_len ? POLLOUT : 0;
		p[2].fd = out_fd;
		p[3].events = POLLIN;
		p[3].fd = sig_fd;
		if (poll(p, ARRAY_SIZE(p), -1) < 0) {
			if (errno == EINTR)
				continue;
			return err_set(-errno, "poll");
		}
		if (p[3].revents) {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				*signo = (int)si.ssi_signo;
				return ATTACH_SIGNALLED;
			}
		}
		if (p[1].revents) {
			uint8_t buf[TO_SOCK_BUF];
			bool detach;

			n = read(in_fd, buf, sizeof(buf));
			if (n < 0 && again(errno))
				continue;
			if (n <= 0) {
				in_open = false; /* EOF is not a detach: keep showing output */
			} else {
				ts_off = 0;
				ts_len = attach_scan_input(buf, (size_t)n, &detach);
				memcpy(to_sock, buf, ts_len);
				if (detach) {
					/* Best effort for what was typed before the key. */
					if (ts_len && sock_open)
						(void)!send(sock_fd, to_sock, ts_len,
							    MSG_DONTWAIT | MSG_NOSIGNAL);
					return ATTACH_DETACHED;
				}
			}
		}
		if (p[0].revents & POLLOUT) {
			n = send(sock_fd, to_sock + ts_off, ts_len - ts_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				ts_off += (size_t)n;
			else if (n < 0 && !again(errno))
				sock_open = false; /* EPIPE, ECONNRESET: the VM is gone */
		}
		if (sock_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = recv(sock_fd, to_out + to_len, sizeof(to_out) - to_len, MSG_DONTWAIT);
			if (n > 0)
				to_len += (size_t)n;
			else if (n == 0 || !again(errno))
				sock_open = false;
		}
		if (p[2].revents & POLLOUT) {
			n = write(out_fd, to_out + to_off, to_len - to_off);
			if (n > 0)
				to_off += (size_t)n;
			else if (n < 0 && !again(errno))
				return err_set(-errno, "write to stdout");
		} else if (p[2].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			return err_setx(-EPIPE, "stdout was closed");
		}
	}
}

/* stdout on a new open file description that may be nonblocking without touching the shell's. */
static int open_out(void)
{
	struct stat st;
	int fd;

	if (fstat(STDOUT_FILENO, &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)))
		return STDOUT_FILENO; /* a regular file never blocks; a socket stays as it is */
	fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	return fd >= 0 ? fd : STDOUT_FILENO;
}

static int connect_console(const char *path, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_setx(-ENAMETOOLONG, "console socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(-errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int ret = err_set(-errno, "console socket %s", path);

		close(fd);
		return ret;
	}
	/* Nonblocking only after connect: a full backlog then fails instead of waiting. */
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		int ret = err_set(-errno, "fcntl");

		close(fd);
		return ret;
	}
	*out = fd;
	return 0;
}

int cli_attach(int argc, char **argv)
{
	struct registry_entry e;
	struct attach_opts o;
	sigset_t set;
	int ret, sock = -1, sig_fd = -1, out_fd, signo = 0, code;
	bool tty = isatty(STDIN_FILENO);

	ret = attach_parse(argc, argv, &o);
	if (ret == CLI_HELP_SHOWN)
		return EXIT_OK;
	if (ret) {
		fprintf(stderr, "clone: error: %s\n", err_msg());
		return EXIT_BAD_CONFIG;
	}
	ret = cli_find_vm(o.name, &e);
	if (ret)
		return ret;
	ret = connect_console(e.console, &sock);
	if (ret) {
		if (ret == -ECONNREFUSED || ret == -EACCES || ret == -EPERM) {
			fprintf(stderr, "clone: error: the console of %s refused us (%s)\n", o.name,
				err_msg());
			return EXIT_DENIED;
		}
		if (ret == -ENOENT) {
			fprintf(stderr, "clone: error: %s has no console socket (%s)\n", o.name,
				err_msg());
			return EXIT_RUNTIME;
		}
		fprintf(stderr, "clone: error: %s\n", err_msg());
		return EXIT_RUNTIME;
	}
	/*
	 * Termination signals come through the poll loop so that the terminal
	 * is restored on the way out.  They stay blocked afterwards: main()
	 * exits right after we return.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0) {
		fprintf(stderr, "clone: error: signalfd: %s\n", strerror(errno));
		close(sock);
		return EXIT_RUNTIME;
	}
	out_fd = open_out();
	fprintf(stderr, "clone: attached to %s; Ctrl-Q detaches\n", o.name);
	if (tty && console_raw_terminal(STDIN_FILENO, false))
		fprintf(stderr, "clone: warning: %s; input is line-buffered\n", err_msg());
	ret = attach_relay(sock, STDIN_FILENO, out_fd, sig_fd, &signo);
	console_restore_terminal();
	/* Start our line on a fresh one: the guest's output rarely ends with a newline. */
	switch (ret) {
	case ATTACH_DETACHED:
		fprintf(stderr, "%sclone: detached from %s\n", tty ? "\n" : "", o.name);
		code = EXIT_OK;
		break;
	case ATTACH_STOPPED:
		fprintf(stderr, "%sclone: %s stopped\n", tty ? "\n" : "", o.name);
		code = EXIT_OK;
		break;
	case ATTACH_SIGNALLED:
		fprintf(stderr, "%sclone: detached from %s (signal %d)\n", tty ? "\n" : "", o.name,
			signo);
		code = 128 + signo;
		break;
	default:
		fprintf(stderr, "%sclone: error: %s\n", tty ? "\n" : "", err_msg());
		code = EXIT_RUNTIME;
		break;
	}
	if (out_fd != STDOUT_FILENO)
		close(out_fd);
	close(sig_fd);
	close(sock);
	return code;
}
