// SPDX-License-Identifier: Apache-2.0
/*
 * clone-agent's view of the guest system (sys.h): /proc parsing for
 * REPORTs, IDENTITY (hostname, IPv4 addresses, default route, resolv.conf)
 * through plain ioctls so no ip/ifconfig binary is needed, and shutdown by
 * asking the guest's init (systemd or busybox) before falling back to
 * reboot(2).  Main process only; no globals.  Builds with musl and glibc.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sys.h"

/* ---- Parsers ------------------------------------------------------------ */

/* "123.45" → 123.45 × 10^digits (extra decimals truncated); advances *p. */
static int parse_fixed(const char **p, unsigned digits, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	unsigned d = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		if (x > UINT64_MAX / 10 - 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (*s == '.') {
		for (s++; isdigit((unsigned char)*s); s++)
			if (d < digits) {
				if (x > UINT64_MAX / 10 - 10)
					return -EINVAL;
				x = x * 10 + (uint64_t)(*s - '0');
				d++;
			}
	}
	for (; d < digits; d++) {
		if (x > UINT64_MAX / 10)
			return -EINVAL;
		x *= 10;
	}
	*p = s;
	*v = x;
	return 0;
}

static uint32_t clamp32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

int asys_parse_uptime(const char *s, uint64_t *ms)
{
	return parse_fixed(&s, 3, ms);
}

int asys_parse_loadavg(const char *s, uint32_t load[3])
{
	uint64_t v;

	for (int i = 0; i < 3; i++) {
		s = skip_space(s);
		if (parse_fixed(&s, 2, &v))
			return -EINVAL;
		load[i] = clamp32(v);
	}
	return 0;
}

/* The value of "key:" at the start of a line of s, in the unit printed (kB). */
static int find_kv(const char *s, const char *key, uint64_t *v)
{
	size_t n = strlen(key);

	for (const char *line = s; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, key, n) || line[n] != ':')
			continue;
		line = skip_space(line + n + 1);
		return parse_fixed(&line, 0, v);
	}
	return -EINVAL;
}

int asys_parse_meminfo(const char *s, uint64_t *total_kib, uint64_t *avail_kib)
{
	if (find_kv(s, "MemTotal", total_kib))
		return -EINVAL;
	/* MemAvailable appeared in 3.14; without it MemFree is the honest floor. */
	if (find_kv(s, "MemAvailable", avail_kib) && find_kv(s, "MemFree", avail_kib))
		return -EINVAL;
	return 0;
}

static int psi_line(const char *s, const char *kind, uint32_t *v)
{
	size_t n = strlen(kind);
	uint64_t x;

	for (const char *line = s; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, kind, n) || line[n] != ' ')
			continue;
		line = skip_space(line + n);
		if (strncmp(line, "avg10=", 6))
			return -EINVAL;
		line += 6;
		/* percent with 2 decimals → hundredths of a percent */
		if (parse_fixed(&line, 2, &x))
			return -EINVAL;
		*v = clamp32(x);
		return 0;
	}
	return -EINVAL;
}

int asys_parse_psi(const char *s, uint32_t *some, uint32_t *full)
{
	*some = 0;
	*full = 0;
	if (psi_line(s, "some", some))
		return -EINVAL;
	/* "full" is missing for the cpu resource on older kernels; fine as 0. */
	psi_line(s, "full", full);
	return 0;
}

int asys_parse_stat_cpu(const char *s, struct cpu_times *t)
{
	uint64_t v[8] = { 0 };
	int i;

	if (strncmp(s, "cpu ", 4))
		return -EINVAL;
	s += 4;
	/* user nice system idle iowait irq softirq steal (guest is inside user) */
	for (i = 0; i < 8; i++) {
		s = skip_space(s);
		if (*s == '\n' || *s == '\0')
			break;
		if (parse_fixed(&s, 0, &v[i]))
			return -EINVAL;
	}
	if (i < 4)
		return -EINVAL;
	t->total = 0;
	for (i = 0; i < 8; i++)
		t->total += v[i];
	t->busy = t->total - v[3] - v[4];
	return 0;
}

uint32_t asys_cpu_busy(const struct cpu_times *prev, const struct cpu_times *cur)
{
	uint64_t dt, db;

	if (cur->total <= prev->total || cur->busy < prev->busy)
		return 0;
	dt = cur->total - prev->total;
	db = cur->busy - prev->busy;
	if (db >= dt)
		return 1000;
	return (uint32_t)(db * 1000 / dt);
}

int asys_parse_ipv4(const char *s, uint32_t *addr)
{
	struct in_addr a;

	/* inet_pton accepts exactly the dotted quad, no octal or short forms. */
	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*addr = a.s_addr;
	return 0;
}

int asys_parse_cidr(const char *s, uint32_t *addr, unsigned *prefix)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n;
	unsigned long p;
	char *end;

	if (!slash)
		return -EINVAL;
	n = (size_t)(slash - s);
	if (n == 0 || n >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (!isdigit((unsigned char)slash[1]))
		return -EINVAL;
	errno = 0;
	p = strtoul(slash + 1, &end, 10);
	if (errno || *end || p > 32 || end - (slash + 1) > 2)
		return -EINVAL;
	if (asys_parse_ipv4(ip, addr))
		return -EINVAL;
	*prefix = (unsigned)p;
	return 0;
}

bool asys_valid_hostname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

enum init_kind asys_init_kind_from(const char *comm, const char *exe)
{
	size_t n = exe ? strlen(exe) : 0;

	if (comm && (!strcmp(comm, "systemd") || !strcmp(comm, "systemd\n")))
		return INIT_SYSTEMD;
	if (n >= 7 && !strcmp(exe + n - 7, "busybox"))
		return INIT_BUSYBOX;
	return INIT_OTHER;
}

int asys_init_signal(enum init_kind k, unsigned mode)
{
	switch (k) {
	case INIT_SYSTEMD:
		/*
		 * systemd(1), "SIGRTMIN+4: poweroff.target"; its SIGRTMIN is
		 * glibc's, 34, while musl's is 35: spell the number out.
		 */
		return mode == AP_SHUTDOWN_REBOOT ? SIGINT : 34 + 4;
	case INIT_BUSYBOX:
		/* busybox init: USR2 poweroff, TERM reboot (USR1 is halt). */
		return mode == AP_SHUTDOWN_REBOOT ? SIGTERM : SIGUSR2;
	default:
		return 0;
	}
}

/* ---- With I/O ---------------------------------------------------------- */

long asys_read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (got + 1 < cap) {
		n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;

			close(fd);
			return e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return (long)got;
}

static uint32_t count_procs(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	uint32_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (isdigit((unsigned char)de->d_name[0]))
			n++;
	closedir(d);
	return n;
}

void asys_report(struct report_state *st, unsigned busy_sessions, struct ap_report *r)
{
	char buf[4096];
	struct cpu_times now;

	memset(r, 0, sizeof(*r));
	r->seq = st->seq++;
	if (asys_read_file("/proc/uptime", buf, sizeof(buf)) > 0)
		asys_parse_uptime(buf, &r->uptime_ms);
	if (asys_read_file("/proc/loadavg", buf, sizeof(buf)) > 0)
		asys_parse_loadavg(buf, r->load);
	if (asys_read_file("/proc/meminfo", buf, sizeof(buf)) > 0)
		asys_parse_meminfo(buf, &r->mem_total, &r->mem_avail);
	if (asys_read_file("/proc/pressure/memory", buf, sizeof(buf)) > 0)
		asys_parse_psi(buf, &r->psi_some, &r->psi_full);
	r->procs = count_procs();
	/* The first line of /proc/stat is the aggregate over all CPUs. */
	if (asys_read_file("/proc/stat", buf, sizeof(buf)) > 0 && !asys_parse_stat_cpu(buf, &now)) {
		if (st->have_prev)
			r->cpu_busy = asys_cpu_busy(&st->prev, &now);
		st->prev = now;
		st->have_prev = true;
	}
	r->active = r->cpu_busy >= 50 || busy_sessions > 0;
}

/* ---- IDENTITY ----------------------------------------------------------- */

/* Copy a string that is known (or checked here) to fit; false if it does not. */
static bool scopy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

static int first_iface(char *name, size_t cap)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	int r = -ENODEV;

	if (!ifs)
		return -errno;
	for (i = ifs; i->if_index; i++) {
		if (!strcmp(i->if_name, "lo") || !scopy(name, cap, i->if_name))
			continue;
		r = 0;
		break;
	}
	if_freenameindex(ifs);
	return r;
}

/* The interface whose hardware address is mac ("02:00:00:00:00:01"). */
static int iface_by_mac(const char *mac, char *name, size_t cap)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	unsigned v[6];
	int s, r = -ENODEV;

	if (sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		r = -EINVAL;
	if (!ifs || r == -EINVAL) {
		if (ifs)
			if_freenameindex(ifs);
		return ifs ? r : -errno;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (i = ifs; s >= 0 && i->if_index; i++) {
		struct ifreq ifr;
		bool same = true;

		memset(&ifr, 0, sizeof(ifr));
		if (!scopy(ifr.ifr_name, sizeof(ifr.ifr_name), i->if_name) ||
		    ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
			continue;
		for (unsigned b = 0; b < 6; b++)
			same &= (uint8_t)ifr.ifr_hwaddr.sa_data[b] == v[b];
		if (same && scopy(name, cap, i->if_name)) {
			r = 0;
			break;
		}
	}
	if (s >= 0)
		close(s);
	if_freenameindex(ifs);
	return r;
}

/* Give name the hardware address mac (down, SIOCSIFHWADDR, up again if it was). */
static int set_mac(const char *name, const char *mac)
{
	unsigned v[6];
	struct ifreq ifr;
	short flags;
	int s, r = 0;

	if (sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -EINVAL;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	scopy(ifr.ifr_name, sizeof(ifr.ifr_name), name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		r = -errno;
		goto out;
	}
	flags = ifr.ifr_flags;
	ifr.ifr_flags = (short)(flags & ~IFF_UP);
	if (flags & IFF_UP && ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		r = -errno;
		goto out;
	}
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	for (unsigned b = 0; b < 6; b++)
		ifr.ifr_hwaddr.sa_data[b] = (char)v[b];
	if (ioctl(s, SIOCSIFHWADDR, &ifr) < 0)
		r = -errno;
	ifr.ifr_flags = flags;
	if (flags & IFF_UP && ioctl(s, SIOCSIFFLAGS, &ifr) < 0 && !r)
		r = -errno;
out:
	close(s);
	return r;
}

static void set_sin(struct sockaddr *sa, uint32_t addr)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = addr;
	memcpy(sa, &sin, sizeof(sin));
}

static int if_up(int s, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (!scopy(ifr.ifr_name, sizeof(ifr.ifr_name), name))
		return -ENAMETOOLONG;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return -errno;
	return 0;
}

static int set_addr(int s, const char *name, uint32_t addr, unsigned prefix, char *msg, size_t cap)
{
	struct ifreq ifr;
	uint32_t mask = prefix ? htonl(~0u << (32 - prefix)) : 0;

	memset(&ifr, 0, sizeof(ifr));
	if (!scopy(ifr.ifr_name, sizeof(ifr.ifr_name), name)) {
		snprintf(msg, cap, "interface name too long");
		return -ENAMETOOLONG;
	}
	set_sin(&ifr.ifr_addr, addr);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
		goto fail;
	set_sin(&ifr.ifr_netmask, mask);
	if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
		goto fail;
	return 0;
fail:
	snprintf(msg, cap, "address on %s: %s", name, strerror(errno));
	return -errno;
}

static int add_default_route(int s, uint32_t gw, char *msg, size_t cap)
{
	struct rtentry rt;

	memset(&rt, 0, sizeof(rt));
	set_sin(&rt.rt_dst, 0);
	set_sin(&rt.rt_genmask, 0);
	set_sin(&rt.rt_gateway, gw);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	/* Replace any previous default route (a fork may be re-addressed). */
	while (ioctl(s, SIOCDELRT, &rt) == 0)
		;
	if (ioctl(s, SIOCADDRT, &rt) < 0 && errno != EEXIST) {
		snprintf(msg, cap, "default route: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	size_t n = strlen(text), off = 0;
	ssize_t w;
	int e = 0;

	if (fd < 0 && errno == ELOOP) /* e.g. a link into /run: write through it */
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (off < n) {
		w = write(fd, text + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			e = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (close(fd) < 0 && !e)
		e = -errno;
	return e;
}

int asys_identity(const struct ap_identity *id, char *msg, size_t cap)
{
	uint32_t addr[AP_MAX_ADDRS], gw = 0;
	unsigned prefix[AP_MAX_ADDRS];
	char iface[IFNAMSIZ] = "", resolv[512] = "", label[IFNAMSIZ];
	unsigned char tmp[16];
	int s, r = 0;

	/* 1. Validate everything before changing anything. */
	if (id->hostname[0] && !asys_valid_hostname(id->hostname)) {
		snprintf(msg, cap, "invalid hostname");
		return -EINVAL;
	}
	for (unsigned i = 0; i < id->nr_addrs && i < AP_MAX_ADDRS; i++)
		if (asys_parse_cidr(id->addrs[i], &addr[i], &prefix[i])) {
			snprintf(msg, cap, "invalid address \"%.64s\"", id->addrs[i]);
			return -EINVAL;
		}
	if (id->gateway[0] && asys_parse_ipv4(id->gateway, &gw)) {
		snprintf(msg, cap, "invalid gateway \"%.64s\"", id->gateway);
		return -EINVAL;
	}
	for (unsigned i = 0; i < id->nr_dns && i < 4; i++) {
		if (inet_pton(AF_INET, id->dns[i], tmp) != 1 &&
		    inet_pton(AF_INET6, id->dns[i], tmp) != 1) {
			snprintf(msg, cap, "invalid DNS server \"%.64s\"", id->dns[i]);
			return -EINVAL;
		}
		snprintf(resolv + strlen(resolv), sizeof(resolv) - strlen(resolv),
			 "nameserver %s\n", id->dns[i]);
	}
	if (id->nr_addrs || id->gateway[0] || id->match_mac[0]) {
		/* A fork's interface still has its template's MAC: find it by that. */
		if (id->match_mac[0] && id->mac[0] &&
		    iface_by_mac(id->match_mac, iface, IFNAMSIZ - 3) == 0) {
			if ((r = set_mac(iface, id->mac)) < 0) {
				snprintf(msg, cap, "setting MAC %.17s on %s: %s", id->mac, iface,
					 strerror(-r));
				return r;
			}
		} else if (id->mac[0]) {
			if ((r = iface_by_mac(id->mac, iface, IFNAMSIZ - 3)) < 0) {
				snprintf(msg, cap, "no interface with MAC %.17s", id->mac);
				return r;
			}
		} else if (id->iface[0]) {
			if (strlen(id->iface) >= IFNAMSIZ - 3 || strchr(id->iface, '/') ||
			    strchr(id->iface, ':') || !if_nametoindex(id->iface)) {
				snprintf(msg, cap, "no interface \"%.32s\"", id->iface);
				return -ENODEV;
			}
			scopy(iface, sizeof(iface), id->iface);
		} else if ((r = first_iface(iface, IFNAMSIZ - 3)) < 0) {
			snprintf(msg, cap, "no network interface");
			return r;
		}
	}

	/* 2. Apply. */
	if (id->hostname[0]) {
		if (sethostname(id->hostname, strlen(id->hostname)) < 0) {
			snprintf(msg, cap, "sethostname: %s", strerror(errno));
			return -errno;
		}
		char line[80];
		size_t n = strlen(id->hostname); /* ≤ 64: validated */

		memcpy(line, id->hostname, n);
		line[n] = '\n';
		line[n + 1] = '\0';
		write_file("/etc/hostname", line); /* best effort: / may be read-only */
	}
	if (iface[0]) {
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s < 0) {
			snprintf(msg, cap, "socket: %s", strerror(errno));
			return -errno;
		}
		if_up(s, "lo");
		/* The first address is the interface's; others go on labels iface:1.. */
		for (unsigned i = 0; i < id->nr_addrs && !r; i++) {
			int l = i ? snprintf(label, sizeof(label), "%s:%u", iface, i)
				  : snprintf(label, sizeof(label), "%s", iface);

			if (l < 0 || (size_t)l >= sizeof(label)) {
				snprintf(msg, cap, "interface name too long for an alias");
				r = -ENAMETOOLONG;
				break;
			}
			r = set_addr(s, label, addr[i], prefix[i], msg, cap);
		}
		if (!r && (r = if_up(s, iface)) < 0)
			snprintf(msg, cap, "bring up %s: %s", iface, strerror(-r));
		if (!r && id->gateway[0])
			r = add_default_route(s, gw, msg, cap);
		close(s);
		if (r)
			return r;
	}
	if (id->nr_dns && (r = write_file("/etc/resolv.conf", resolv)) < 0) {
		snprintf(msg, cap, "/etc/resolv.conf: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* ---- Shutdown ----------------------------------------------------------- */

bool asys_shutdown_begin(unsigned mode, bool dry_run)
{
	char comm[64] = "", exe[256] = "";
	ssize_t n;
	enum init_kind k;
	int sig;

	sync();
	asys_read_file("/proc/1/comm", comm, sizeof(comm));
	n = readlink("/proc/1/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	k = asys_init_kind_from(comm, exe);
	sig = asys_init_signal(k, mode);
	if (!sig || dry_run)
		return sig != 0;
	return kill(1, sig) == 0;
}

void asys_shutdown_force(unsigned mode, bool dry_run)
{
	if (dry_run)
		return;
	sync();
	reboot(mode == AP_SHUTDOWN_REBOOT ? RB_AUTOBOOT : RB_POWER_OFF);
}
