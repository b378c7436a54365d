// SPDX-License-Identifier: Apache-2.0
/*
 * `--net user` through pasta (see usernet.h).  usernet_start() forks the
 * namespace holder, which unshares a user and a network namespace, builds
 * the guest's TAP, addresses, sysctls and nftables rules there, sends the
 * TAP fd back over a SOCK_SEQPACKET socketpair (SCM_RIGHTS, or an error
 * message) and then waits for EOF on that socket.  The VMM then runs pasta
 * joined to the holder's namespaces and waits, with inotify on a private
 * temporary directory and a pidfd, until pasta writes its pid file (ready)
 * or exits (its error text, captured in a file there, becomes the
 * message).  Both children get PR_SET_PDEATHSIG, start with default
 * signal dispositions and keep none of the VMM's fds.  Called on the
 * thread that sets the VM up; no locks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/err.h"
#define LOG_TAG "usernet"
#include "lib/log.h"
#include "lib/util.h"
#include "net/netlink.h"
#include "net/nft.h"
#include "net/tap.h"
#include "net/usernet.h"

#define PASTA_PIDFILE "pasta.pid"
#define PASTA_LOG "pasta.log"
#define STOP_TIMEOUT_MS 1000

/* Holder → VMM: the outcome of the namespace set-up (the TAP fd rides along on success). */
struct holder_msg {
	int32_t code; /* 0 or -errno */
	char ifname[IFNAMSIZ];
	char text[400]; /* err_msg() on failure */
};

/* ---- parsing and the pure builders ---- */

static int parse_port(const char *s, size_t len, uint16_t *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int usernet_parse_fwd(const char *arg, struct usernet_fwd *f)
{
	const char *colon = strchr(arg, ':');
	struct usernet_fwd r;

	if (colon) {
		if (parse_port(arg, (size_t)(colon - arg), &r.host) ||
		    parse_port(colon + 1, strlen(colon + 1), &r.guest))
			goto bad;
	} else {
		if (parse_port(arg, strlen(arg), &r.host))
			goto bad;
		r.guest = r.host;
	}
	*f = r;
	return 0;
bad:
	return err_setx(-EINVAL,
			"bad port forward '%s': expected HOST:GUEST or PORT (TCP, 1-65535)", arg);
}

int usernet_check_config(const struct usernet_config *c)
{
	if (c->nr_fwd > USERNET_MAX_FWD)
		return err_setx(-EINVAL, "too many port forwards (%u, at most %d)", c->nr_fwd,
				USERNET_MAX_FWD);
	for (unsigned i = 0; i < c->nr_fwd; i++) {
		if (!c->fwd[i].host || !c->fwd[i].guest)
			return err_setx(-EINVAL, "port forward %u:%u: ports are 1-65535",
					c->fwd[i].host, c->fwd[i].guest);
		for (unsigned j = 0; j < i; j++)
			if (c->fwd[j].host == c->fwd[i].host)
				return err_setx(-EINVAL, "host port %u is forwarded twice",
						c->fwd[i].host);
	}
	return 0;
}

/* Append to buf[*len..cap); false once it no longer fits. */
static bool __attribute__((format(printf, 4, 5)))
append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= cap)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *len) {
		*len = cap;
		return false;
	}
	*len += (size_t)n;
	return true;
}

/*
 * pre: connections pasta brings in through its tap (and anything else
 * arriving for a forwarded port) go to the guest; DNS for USERNET_DNS goes
 * to pasta's forwarder.  out: pasta splices connections made to the host's
 * 127.0.0.1:H into the namespace's 127.0.0.1:H; route_localnet on the TAP
 * lets them leave towards the guest.  post: loopback-sourced connections
 * look like they come from the gateway, the guest's traffic leaves with
 * the namespace's (the host's) address.  USERNET_DNS is an address of the
 * TAP too (the guest must get ARP answers for it): what is not DNATed
 * (anything but UDP port 53: pasta forwards no DNS over TCP) is refused by
 * the namespace's own stack at once.
 */
int usernet_nft_script(const struct usernet_config *c, char *buf, size_t cap)
{
	const char *t = USERNET_NFT_TABLE, *tap = USERNET_TAP;
	size_t len = 0;
	bool ok;

	ok = append(buf, cap, &len, "add table ip %s\nflush table ip %s\ntable ip %s {\n", t, t, t);
	ok = ok &&
	     append(buf, cap, &len, "\tchain pre {\n\t\ttype nat hook prerouting priority -100;\n");
	for (unsigned i = 0; ok && i < c->nr_fwd; i++)
		ok = append(buf, cap, &len, "\t\tiifname != \"%s\" tcp dport %u dnat to %s:%u\n",
			    tap, c->fwd[i].host, USERNET_GUEST, c->fwd[i].guest);
	ok = ok && append(buf, cap, &len,
			  "\t\tip daddr %s udp dport 53 dnat to %s:53\n\t}\n"
			  "\tchain out {\n\t\ttype nat hook output priority -100;\n",
			  USERNET_DNS, USERNET_DNS_FWD);
	for (unsigned i = 0; ok && i < c->nr_fwd; i++)
		ok = append(buf, cap, &len, "\t\tip daddr 127.0.0.1 tcp dport %u dnat to %s:%u\n",
			    c->fwd[i].host, USERNET_GUEST, c->fwd[i].guest);
	ok = ok && append(buf, cap, &len,
			  "\t}\n\tchain post {\n\t\ttype nat hook postrouting priority 100;\n"
			  "\t\tip saddr 127.0.0.0/8 oifname \"%s\" masquerade\n"
			  "\t\tip saddr %s oifname != \"%s\" masquerade\n\t}\n}\n",
			  tap, USERNET_SUBNET, tap);
	if (!ok)
		return err_setx(-ENOSPC, "nft script for %u port forwards does not fit %zu bytes",
				c->nr_fwd, cap);
	return (int)len;
}

/* Copy s into a->buf and make it the next argument. */
static bool add_arg(struct usernet_argv *a, unsigned *n, size_t *used, const char *s)
{
	size_t l = strlen(s) + 1;

	if (*n + 1 >= USERNET_ARGV_MAX || l > sizeof(a->buf) - *used)
		return false;
	memcpy(a->buf + *used, s, l);
	a->argv[(*n)++] = a->buf + *used;
	a->argv[*n] = NULL;
	*used += l;
	return true;
}

int usernet_pasta_argv(const struct usernet_config *c, const char *pasta, const char *pidfile,
		       pid_t holder, uid_t uid, gid_t gid, struct usernet_argv *a)
{
	char ports[USERNET_MAX_FWD * 6 + 16], runas[32], pid[16];
	size_t plen = 0, used = 0;
	unsigned n = 0;
	bool ok = true;
	int ret;

	ret = usernet_check_config(c);
	if (ret < 0)
		return ret;
	if (c->nr_fwd == 0)
		snprintf(ports, sizeof(ports), "none");
	else
		/* the host's loopback only: the guest is not exposed to the network */
		ok = append(ports, sizeof(ports), &plen, "127.0.0.1/");
	for (unsigned i = 0; ok && i < c->nr_fwd; i++)
		ok = append(ports, sizeof(ports), &plen, "%s%u", i ? "," : "", c->fwd[i].host);
	snprintf(runas, sizeof(runas), "%u:%u", (unsigned)uid, (unsigned)gid);
	snprintf(pid, sizeof(pid), "%d", (int)holder);

	a->argv[0] = NULL;
	const char *args[] = { pasta,
			       "--config-net",
			       "--foreground",
			       "--quiet",
			       "--ipv4-only",
			       "--no-map-gw",
			       "--runas",
			       runas,
			       "--ns-ifname",
			       "pasta0",
			       "--pid",
			       pidfile,
			       "--tcp-ports",
			       ports,
			       "--udp-ports",
			       "none",
			       "--tcp-ns",
			       "none",
			       "--udp-ns",
			       "none",
			       "--dns-forward",
			       USERNET_DNS_FWD,
			       pid };
	for (size_t i = 0; ok && i < ARRAY_SIZE(args); i++)
		ok = add_arg(a, &n, &used, args[i]);
	if (!ok)
		return err_setx(-ENOSPC, "pasta command line too long");
	return 0;
}

/* ---- helpers for the children ---- */

/* A fresh child: default signals, nothing blocked, only fds 0-2 and keep (moved to 3). */
static int child_reset(int keep)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;

	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			(void)sigaction(s, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (keep >= 0 && keep != 3) {
		if (dup3(keep, 3, O_CLOEXEC) < 0)
			return -1;
		keep = 3;
	}
	if (syscall(SYS_close_range, keep >= 0 ? 4u : 3u, ~0u, 0u) < 0)
		for (int fd = keep >= 0 ? 4 : 3; fd < 1024; fd++)
			close(fd);
	return keep;
}

/* Die with the parent (SIGKILL, or sig); false when it is already gone. */
static bool die_with_parent(pid_t parent, int sig)
{
	if (prctl(PR_SET_PDEATHSIG, sig) < 0)
		return false;
	return getppid() == parent;
}

/* ---- the namespace holder (a child process) ---- */

static int write_proc(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return err_set(-errno, "open %s", path);
	n = write(fd, text, strlen(text));
	if (n < 0) {
		int e = errno;

		close(fd);
		return err_set(-e, "write '%s' to %s", text, path);
	}
	close(fd);
	return 0;
}

static int enter_namespaces(uid_t uid, gid_t gid)
{
	char map[64];
	int ret;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
		int e = errno;

		if (e == EPERM || e == ENOSPC || e == EUSERS || e == EACCES)
			return err_set(-e, "this host refuses unprivileged user namespaces (see "
					   "the sysctls user.max_user_namespaces, "
					   "kernel.unprivileged_userns_clone and "
					   "kernel.apparmor_restrict_unprivileged_userns)");
		return err_set(-e, "unshare(CLONE_NEWUSER | CLONE_NEWNET)");
	}
	/*
	 * Our own maps: allowed for the namespace's creator, one id each,
	 * setgroups denied.  A VMM that changed its ids (or runs with file
	 * capabilities) is not dumpable, which makes /proc/self root's and
	 * keeps pasta (same uid) from opening /proc/HOLDER/ns: the holder,
	 * a copy of the VMM from before the VM ran, is made dumpable.
	 */
	if (prctl(PR_GET_DUMPABLE) != 1)
		prctl(PR_SET_DUMPABLE, 1);
	ret = write_proc("/proc/self/setgroups", "deny");
	if (ret == 0) {
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
		ret = write_proc("/proc/self/uid_map", map);
	}
	if (ret == 0) {
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
		ret = write_proc("/proc/self/gid_map", map);
	}
	return ret;
}

static int holder_setup(uid_t uid, gid_t gid, const char *script, char ifname[IFNAMSIZ],
			int *tap_fd)
{
	char path[128];
	struct in_addr gw, dns;
	int ret;

	ret = enter_namespaces(uid, gid);
	if (ret < 0)
		return ret;
	ret = nl_link_set_up("lo");
	if (ret < 0)
		return ret;
	ret = tap_create(USERNET_TAP, ifname, tap_fd);
	if (ret < 0)
		return ret;
	inet_pton(AF_INET, USERNET_GATEWAY, &gw);
	inet_pton(AF_INET, USERNET_DNS, &dns);
	ret = nl_addr_add(ifname, gw.s_addr, 24);
	if (ret < 0)
		return ret;
	ret = nl_addr_add(ifname, dns.s_addr, 32);
	if (ret < 0)
		return ret;
	ret = nl_link_set_up(ifname);
	if (ret < 0)
		return ret;
	ret = write_proc("/proc/sys/net/ipv4/ip_forward", "1");
	if (ret < 0)
		return ret;
	/* loopback-sourced connections (pasta's splice path), DNATed to the guest */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", ifname);
	ret = write_proc(path, "1");
	if (ret < 0)
		return ret;
	return nft_apply(script);
}

static void send_result(int sock, int code, const char *ifname, int fd)
{
	struct holder_msg m = { .code = code };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (code < 0) {
		snprintf(m.text, sizeof(m.text), "%s", err_msg());
	} else {
		struct cmsghdr *h;

		snprintf(m.ifname, sizeof(m.ifname), "%s", ifname);
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		h = CMSG_FIRSTHDR(&mh);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &fd, sizeof(int));
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static __attribute__((noreturn)) void holder_main(pid_t parent, int sock, uid_t uid, gid_t gid,
						  const char *script)
{
	char ifname[IFNAMSIZ] = "", c;
	int fd = -1, ret;

	if (!die_with_parent(parent, SIGKILL))
		_exit(1);
	sock = child_reset(sock);
	if (sock < 0)
		_exit(1);
	/*
	 * It outlives `clone run -d`'s parent: keep none of the VMM's stdio (a
	 * caller waiting for EOF on the VMM's output would wait for it too).
	 */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
	ret = holder_setup(uid, gid, script, ifname, &fd);
	send_result(sock, ret, ifname, fd);
	if (ret < 0)
		_exit(1);
	close(fd);
	/* Hold the namespaces until the VMM closes its end (or dies). */
	while (read(sock, &c, 1) > 0 || errno == EINTR)
		;
	_exit(0);
}

/* Wait for the holder's message; the TAP fd into u. */
static int holder_result(struct usernet *u)
{
	struct holder_msg m;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	struct pollfd p = { .fd = u->sock, .events = POLLIN };
	struct cmsghdr *h;
	ssize_t n;
	int r;

	do
		r = poll(&p, 1, USERNET_START_TIMEOUT * 1000);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return err_set(-errno, "poll");
	if (r == 0)
		return err_setx(-ETIMEDOUT,
				"--net user: the namespace helper did not answer in %d s",
				USERNET_START_TIMEOUT);
	do
		n = recvmsg(u->sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_set(-errno, "--net user: reading from the namespace helper");
	if (n != (ssize_t)sizeof(m))
		return err_setx(-EIO, "--net user: the namespace helper died");
	for (h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
		    h->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&u->tap_fd, CMSG_DATA(h), sizeof(int));
	if (m.code < 0) {
		m.text[sizeof(m.text) - 1] = '\0';
		return err_setx(m.code, "--net user: %s", m.text);
	}
	if (m.code > 0 || u->tap_fd < 0 || (mh.msg_flags & MSG_CTRUNC))
		return err_setx(-EIO, "--net user: the namespace helper sent no TAP fd");
	m.ifname[IFNAMSIZ - 1] = '\0';
	snprintf(u->ifname, sizeof(u->ifname), "%s", m.ifname);
	return 0;
}

/* ---- pasta ---- */

/* The pasta binary: c->pasta, or "pasta" searched in PATH. */
static int find_pasta(const char *name, char *out, size_t cap)
{
	const char *path = getenv("PATH");

	if (!name)
		name = "pasta";
	if (strchr(name, '/')) {
		if (access(name, X_OK) < 0)
			goto missing;
		snprintf(out, cap, "%s", name);
		return 0;
	}
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
	while (*path) {
		size_t l = strcspn(path, ":");
		int n = snprintf(out, cap, "%.*s/%s", (int)l, l ? path : ".", name);

		if (n > 0 && (size_t)n < cap && access(out, X_OK) == 0)
			return 0;
		path += l;
		if (*path == ':')
			path++;
	}
missing:
	return err_setx(-ENOENT, "--net user needs pasta (%s not found): apt-get install passt",
			name);
}

/* pasta's output (syslog complaints dropped), as one line, into out. */
static void pasta_output(int fd, char *out, size_t cap)
{
	char buf[2048], *line, *save = NULL;
	size_t len = 0;
	ssize_t n;

	out[0] = '\0';
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!*line || strstr(line, "to syslog"))
			continue;
		if (!append(out, cap, &len, "%s%s", len ? "; " : "", line))
			break;
	}
}

/* Wait for pid to end (pidfd, up to ms), SIGKILL it if not, then reap it. */
static void reap(pid_t pid, int sig, int ms)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pidfd < 0 && errno == ESRCH)
		return; /* reaped already */
	if (sig)
		kill(pid, sig);
	if (pidfd >= 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		int r;

		do
			r = poll(&p, 1, ms);
		while (r < 0 && errno == EINTR);
		if (r == 0)
			kill(pid, SIGKILL);
		close(pidfd);
	} else {
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static __attribute__((noreturn)) void pasta_child(pid_t parent, int log_fd, const char *path,
						  char **argv)
{
	int null, log;

	if (!die_with_parent(parent, SIGTERM))
		_exit(1);
	/* above 0-2 first, in case the VMM runs with some of them closed */
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	null = null < 0 ? -1 : fcntl(null, F_DUPFD_CLOEXEC, 10);
	log = fcntl(log_fd, F_DUPFD_CLOEXEC, 10);
	if (null < 0 || log < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
		_exit(126);
	child_reset(-1);
	execv(path, argv);
	dprintf(2, "cannot run %s: %s\n", path, strerror(errno));
	_exit(127);
}

/*
 * Wait for pasta's pid file (ready), pasta's exit or the timeout.  inotify
 * watches the private directory (created before pasta started, so no event
 * is missed); the pidfd says when pasta is gone.
 */
static int pasta_wait(struct usernet *u, int in_fd, int pidfd, int log_fd)
{
	uint64_t deadline = monotonic_ns() + USERNET_START_TIMEOUT * 1000000000ull;
	char ev[sizeof(struct inotify_event) + NAME_MAX + 1] __attribute__((aligned(8)));
	char out[400];

	for (;;) {
		struct pollfd p[2] = { { .fd = in_fd, .events = POLLIN },
				       { .fd = pidfd, .events = POLLIN } };
		uint64_t now = monotonic_ns();
		ssize_t n;
		int r, status = 0;

		if (now >= deadline)
			return err_setx(-ETIMEDOUT, "--net user: pasta did not start within %d s",
					USERNET_START_TIMEOUT);
		r = poll(p, pidfd >= 0 ? 2 : 1,
			 pidfd >= 0 ? (int)((deadline - now) / 1000000 + 1) : 50);
		if (r < 0 && errno != EINTR)
			return err_set(-errno, "poll");
		while ((n = read(in_fd, ev, sizeof(ev))) > 0) {
			for (char *q = ev; q < ev + n;) {
				struct inotify_event *e = (struct inotify_event *)q;

				if (e->len && !strcmp(e->name, PASTA_PIDFILE))
					return 0;
				q += sizeof(*e) + e->len;
			}
		}
		/* no pidfd (Linux < 5.3): look every 50 ms */
		if ((pidfd >= 0 && (p[1].revents & POLLIN)) ||
		    (pidfd < 0 && waitpid(u->pasta, &status, WNOHANG) == u->pasta)) {
			if (pidfd >= 0)
				waitpid(u->pasta, &status, 0);
			u->pasta = -1;
			pasta_output(log_fd, out, sizeof(out));
			if (!*out)
				snprintf(out, sizeof(out),
					 "exited (wait status %#x) without a message",
					 (unsigned)status);
			return err_setx(-EIO, "--net user: pasta failed: %s", out);
		}
	}
}

static int start_pasta(const struct usernet_config *c, struct usernet *u, const char *path)
{
	char dir[64], pidfile[96], logfile[96];
	struct usernet_argv a;
	int in_fd = -1, log_fd = -1, pidfd = -1, ret;
	pid_t parent = getpid(), pid;

	/* /tmp, not $TMPDIR: Debian's AppArmor profile for pasta lets it write there */
	snprintf(dir, sizeof(dir), "/tmp/clone-usernet-XXXXXX");
	if (!mkdtemp(dir))
		return err_set(-errno, "mkdtemp %s", dir);
	snprintf(pidfile, sizeof(pidfile), "%s/%s", dir, PASTA_PIDFILE);
	snprintf(logfile, sizeof(logfile), "%s/%s", dir, PASTA_LOG);
	ret = usernet_pasta_argv(c, path, pidfile, u->holder, geteuid(), getegid(), &a);
	if (ret < 0)
		goto out;
	in_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (in_fd < 0) {
		ret = err_set(-errno, "inotify_init1");
		goto out;
	}
	if (inotify_add_watch(in_fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
		ret = err_set(-errno, "inotify_add_watch %s", dir);
		goto out;
	}
	log_fd = open(logfile, O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (log_fd < 0) {
		ret = err_set(-errno, "open %s", logfile);
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		ret = err_set(-errno, "fork");
		goto out;
	}
	if (pid == 0)
		pasta_child(parent, log_fd, path, a.argv);
	u->pasta = pid;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ret = pasta_wait(u, in_fd, pidfd, log_fd);
	if (ret == 0) {
		char out[400];

		pasta_output(log_fd, out, sizeof(out));
		if (*out)
			log_debug("pasta: %s", out);
		log_debug("pasta %d serves the namespace of %d", (int)u->pasta, (int)u->holder);
	}
out:
	if (pidfd >= 0)
		close(pidfd);
	if (in_fd >= 0)
		close(in_fd);
	if (log_fd >= 0)
		close(log_fd); /* pasta keeps writing to the unlinked file, if anything */
	unlink(pidfile);
	unlink(logfile);
	rmdir(dir);
	return ret;
}

/* ---- public ---- */

int usernet_start(const struct usernet_config *c, struct usernet *u)
{
	char script[8192];
	char path[PATH_MAX];
	int sv[2], ret;
	pid_t parent, pid;

	*u = (struct usernet){ .holder = -1,
			       .pasta = -1,
			       .tap_fd = -1,
			       .sock = -1,
			       .guest_cidr = USERNET_GUEST "/24",
			       .gateway = USERNET_GATEWAY,
			       .dns = USERNET_DNS };
	ret = usernet_check_config(c);
	if (ret < 0)
		return ret;
	ret = find_pasta(c->pasta, path, sizeof(path));
	if (ret < 0)
		return ret;
	ret = usernet_nft_script(c, script, sizeof(script));
	if (ret < 0)
		return ret;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_set(-errno, "socketpair");
	parent = getpid();
	pid = fork();
	if (pid < 0) {
		ret = err_set(-errno, "fork");
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	if (pid == 0) {
		close(sv[0]);
		holder_main(parent, sv[1], geteuid(), getegid(), script);
	}
	close(sv[1]);
	u->sock = sv[0];
	u->holder = pid;
	ret = holder_result(u);
	if (ret < 0)
		goto fail;
	ret = start_pasta(c, u, path);
	if (ret < 0)
		goto fail;
	return 0;
fail:
	usernet_stop(u);
	return ret;
}

void usernet_stop(struct usernet *u)
{
	if (u->pasta > 0)
		reap(u->pasta, SIGTERM, STOP_TIMEOUT_MS);
	u->pasta = -1;
	if (u->sock >= 0)
		close(u->sock); /* the holder's cue to exit */
	u->sock = -1;
	if (u->holder > 0)
		reap(u->holder, 0, STOP_TIMEOUT_MS);
	u->holder = -1;
	if (u->tap_fd >= 0)
		close(u->tap_fd);
	u->tap_fd = -1;
}
