// SPDX-License-Identifier: Apache-2.0
/*
 * The host side of `--net` (see bridge.h): the bridge with the host's
 * address, IP forwarding, the NAT table `ip clone-BRIDGE` (masquerade for
 * the bridge's subnet leaving through any other interface, and forward
 * accepts for the bridge's traffic) and per-VM address leases held as
 * flock()ed files RUNDIR/net/BRIDGE/A.B.C.D.  Lease files are never
 * removed: unlinking one could let two processes lock two different inodes
 * under the same name and get the same address.  bridge_up() may race with
 * another VMM doing the same (EEXIST is success), and the nft script
 * replaces the table in one transaction.  Any thread; no global state.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/util.h"
#include "net/bridge.h"
#include "net/netlink.h"
#include "net/nft.h"
#include "vmm/registry.h"

#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"
#define MAX_ADDRS 1024

static uint32_t mask_of(unsigned prefix) /* host order */
{
	return prefix ? ~0u << (32 - prefix) : 0;
}

static void fmt_addr(uint32_t addr_be, char *buf, size_t len)
{
	if (!inet_ntop(AF_INET, &addr_be, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

int bridge_check_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (!n || n >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		goto bad;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			goto bad;
	return 0;
bad:
	return err_setx(-EINVAL, "invalid bridge name '%s': 1 to %d of A-Z a-z 0-9 _ . -",
			name ? name : "", IFNAMSIZ - 1);
}

int bridge_nat_table(const char *name, char *buf, size_t len)
{
	int ret = bridge_check_name(name);

	if (ret)
		return ret;
	snprintf(buf, len, "clone-%s", name);
	return 0;
}

int bridge_parse_cidr(const char *cidr, struct bridge_config *c)
{
	char ip[INET_ADDRSTRLEN], *end;
	const char *slash = cidr ? strchr(cidr, '/') : NULL;
	unsigned long prefix;
	uint32_t a, m;

	if (!slash || (size_t)(slash - cidr) >= sizeof(ip))
		goto bad;
	memcpy(ip, cidr, (size_t)(slash - cidr));
	ip[slash - cidr] = 0;
	if (inet_pton(AF_INET, ip, &c->addr) != 1)
		goto bad;
	errno = 0;
	prefix = strtoul(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || slash[1] < '0' || slash[1] > '9' || prefix > 32)
		goto bad;
	if (prefix < 8 || prefix > 30)
		return err_setx(-EINVAL,
				"bridge address %s: the prefix must be /8 to /30 (room for VMs)",
				cidr);
	c->prefix = (unsigned)prefix;
	a = ntohl(c->addr);
	m = mask_of(c->prefix);
	if ((a & ~m) == 0 || (a & ~m) == ~m)
		return err_setx(-EINVAL,
				"bridge address %s is the subnet's network or broadcast address",
				cidr);
	return 0;
bad:
	return err_setx(-EINVAL, "invalid bridge address '%s': expected A.B.C.D/N",
			cidr ? cidr : "");
}

/* The bridge's own addresses and clashes with other links: 0, or the error. */
static int check_addrs(const struct bridge_config *c, bool *have)
{
	struct nl_addr *v = calloc(MAX_ADDRS, sizeof(*v));
	uint32_t ours = ntohl(c->addr);
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	int n, ret = 0;

	*have = false;
	if (!v)
		return err_setx(-ENOMEM, "out of memory");
	n = nl_addr_list(v, MAX_ADDRS);
	if (n < 0) {
		free(v);
		return n;
	}
	for (int i = 0; i < n && !ret; i++) {
		uint32_t x = ntohl(v[i].addr);
		uint32_t m = mask_of(MIN(c->prefix, v[i].prefix));

		if (!strcmp(v[i].ifname, c->name)) {
			if (x == ours && v[i].prefix == c->prefix) {
				*have = true;
				continue;
			}
			fmt_addr(v[i].addr, a, sizeof(a));
			fmt_addr(c->addr, b, sizeof(b));
			ret = err_setx(-EEXIST,
				       "bridge %s has the address %s/%u, not %s/%u: use "
				       "--bridge-addr %s/%u, or `clone net down --bridge %s` first",
				       c->name, a, v[i].prefix, b, c->prefix, a, v[i].prefix,
				       c->name);
		} else if ((x & m) == (ours & m)) {
			uint32_t net = htonl(ours & mask_of(c->prefix));

			fmt_addr(net, a, sizeof(a));
			fmt_addr(v[i].addr, b, sizeof(b));
			ret = err_setx(-EADDRINUSE,
				       "%s/%u clashes with %s (%s/%u): choose another with "
				       "--bridge-addr",
				       a, c->prefix, v[i].ifname, b, v[i].prefix);
		}
	}
	free(v);
	return ret;
}

static int enable_forwarding(void)
{
	char v = 0;
	int fd = open(IP_FORWARD, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return err_set(-errno, "open %s", IP_FORWARD);
	if (read(fd, &v, 1) == 1 && v == '1') {
		close(fd);
		return 0;
	}
	if (pwrite(fd, "1\n", 2, 0) != 2) {
		int ret = err_set(-errno, "enabling IP forwarding (%s)", IP_FORWARD);

		close(fd);
		return ret;
	}
	close(fd);
	return 0;
}

static int apply_nat(const struct bridge_config *c)
{
	char table[32], net[INET_ADDRSTRLEN], script[1024];
	int ret = bridge_nat_table(c->name, table, sizeof(table));

	if (ret)
		return ret;
	fmt_addr(htonl(ntohl(c->addr) & mask_of(c->prefix)), net, sizeof(net));
	/*
	 * add + delete + define in one transaction: idempotent, and a racing
	 * VMM never sees a half-built table.  Forward runs just before the
	 * default filter priority so our accepts come first.
	 */
	snprintf(script, sizeof(script),
		 "add table ip %1$s\n"
		 "delete table ip %1$s\n"
		 "table ip %1$s {\n"
		 "\tchain postrouting {\n"
		 "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		 "\t\tip saddr %2$s/%3$u oifname != \"%4$s\" masquerade\n"
		 "\t}\n"
		 "\tchain forward {\n"
		 "\t\ttype filter hook forward priority filter - 1; policy accept;\n"
		 "\t\tiifname \"%4$s\" accept\n"
		 "\t\toifname \"%4$s\" ct state established,related accept\n"
		 "\t}\n"
		 "}\n",
		 table, net, c->prefix, c->name);
	return nft_apply(script);
}

int bridge_up(const struct bridge_config *c)
{
	char kind[16];
	bool have;
	int ret;

	ret = bridge_check_name(c->name);
	if (ret)
		return ret;
	ret = nl_link_kind(c->name, kind, sizeof(kind));
	if (ret && ret != -ENODEV)
		return ret;
	if (!ret && strcmp(kind, "bridge"))
		return err_setx(-EEXIST, "%s exists and is not a bridge (it is a %s)", c->name,
				*kind ? kind : "hardware interface");
	ret = check_addrs(c, &have);
	if (ret)
		return ret;
	ret = nl_bridge_create(c->name);
	if (ret && ret != -EEXIST) /* EEXIST: it was there, or another VMM won the race */
		return ret;
	if (ret == -EEXIST) {
		ret = nl_link_kind(c->name, kind, sizeof(kind));
		if (ret)
			return ret;
		if (strcmp(kind, "bridge"))
			return err_setx(-EEXIST, "%s exists and is not a bridge (it is a %s)",
					c->name, *kind ? kind : "hardware interface");
	}
	if (!have) {
		ret = nl_addr_add(c->name, c->addr, c->prefix);
		if (ret && ret != -EEXIST)
			return ret;
	}
	ret = nl_link_set_up(c->name);
	if (ret)
		return ret;
	ret = enable_forwarding();
	if (ret)
		return ret;
	return apply_nat(c);
}

int bridge_down(const char *name)
{
	char kind[16], table[32];
	int ret;

	ret = bridge_nat_table(name, table, sizeof(table));
	if (ret)
		return ret;
	ret = nl_link_kind(name, kind, sizeof(kind));
	if (!ret) {
		if (strcmp(kind, "bridge"))
			return err_setx(-EINVAL, "%s is not a bridge (it is a %s): not deleting it",
					name, *kind ? kind : "hardware interface");
		ret = nl_link_del(name);
		if (ret && ret != -ENODEV)
			return ret;
	} else if (ret != -ENODEV) {
		return ret;
	}
	ret = nft_delete_table("ip", table);
	if (ret == -ENOENT) /* no nft: it never made our table either */
		ret = 0;
	return ret;
}

int bridge_lease_dir(const char *bridge, char *buf, size_t len)
{
	char rt[REGISTRY_PATH_MAX];
	int ret = bridge_check_name(bridge);

	if (ret)
		return ret;
	ret = registry_dir(rt, sizeof(rt));
	if (ret)
		return ret;
	if ((size_t)snprintf(buf, len, "%s/net/%s", rt, bridge) >= len)
		return err_setx(-ENAMETOOLONG, "lease directory path is too long");
	return 0;
}

static int mkdir_0700(const char *path)
{
	if (mkdir(path, 0700) && errno != EEXIST)
		return err_set(-errno, "mkdir %s", path);
	return 0;
}

int bridge_lease_take(const struct bridge_config *c, struct bridge_lease *l)
{
	char dir[200], net[INET_ADDRSTRLEN];
	uint32_t m = mask_of(c->prefix), base = ntohl(c->addr) & m;
	int ret;

	l->fd = -1;
	l->addr = 0;
	l->path[0] = 0;
	if (c->prefix < 8 || c->prefix > 30)
		return err_setx(-EINVAL, "bridge prefix /%u leaves no room for VMs", c->prefix);
	ret = bridge_lease_dir(c->name, dir, sizeof(dir));
	if (ret)
		return ret;
	/* RUNDIR exists (registry_dir made it); RUNDIR/net, then RUNDIR/net/BRIDGE */
	*strrchr(dir, '/') = 0;
	ret = mkdir_0700(dir);
	dir[strlen(dir)] = '/';
	if (!ret)
		ret = mkdir_0700(dir);
	if (ret)
		return ret;
	/* the lowest free host address: predictable */
	for (uint32_t h = base + 1; h < (base | ~m); h++) {
		uint32_t be = htonl(h);
		char a[INET_ADDRSTRLEN], path[sizeof(l->path)];
		int fd;

		if (be == c->addr)
			continue;
		fmt_addr(be, a, sizeof(a));
		snprintf(path, sizeof(path), "%s/%s", dir, a);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return err_set(-errno, "open %s", path);
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			int e = errno;

			close(fd);
			if (e == EWOULDBLOCK || e == EINTR)
				continue;
			return err_set(-e, "flock %s", path);
		}
		/* the holder's pid, for people reading the directory */
		{
			char pid[24];
			int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());

			if (ftruncate(fd, 0) == 0)
				(void)!pwrite(fd, pid, (size_t)n, 0);
		}
		l->fd = fd;
		l->addr = be;
		snprintf(l->path, sizeof(l->path), "%s", path);
		return 0;
	}
	fmt_addr(htonl(base), net, sizeof(net));
	return err_setx(-EADDRNOTAVAIL, "no free address left in %s/%u on bridge %s", net,
			c->prefix, c->name);
}

void bridge_lease_release(struct bridge_lease *l)
{
	/* closing drops the flock; the file stays (see the top of this file) */
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

int bridge_attach(const char *bridge, const char *ifname)
{
	int ret = nl_link_set_master(ifname, bridge);

	return ret ? ret : nl_link_set_up(ifname);
}

/* The pid holding a flock on (dev, ino) per /proc/locks; 0 when none. */
static pid_t flock_holder(dev_t dev, ino_t ino)
{
	FILE *f = fopen("/proc/locks", "re");
	char line[256];
	pid_t pid = 0;

	if (!f)
		return 0;
	while (!pid && fgets(line, sizeof(line), f)) {
		char type[16], mode[16], kind[16];
		unsigned maj, min;
		unsigned long long i;
		int p;

		if (strstr(line, "->")) /* a waiter, not a holder */
			continue;
		if (sscanf(line, "%*d: %15s %15s %15s %d %x:%x:%llu", type, mode, kind, &p, &maj,
			   &min, &i) != 7)
			continue;
		if (!strcmp(type, "FLOCK") && maj == major(dev) && min == minor(dev) &&
		    i == (unsigned long long)ino)
			pid = p > 0 ? p : -1;
	}
	fclose(f);
	return pid;
}

int bridge_lease_list(const char *bridge, struct bridge_lease_info *out, unsigned max)
{
	char dir[200];
	struct dirent *d;
	unsigned n = 0;
	DIR *dp;
	int ret;

	ret = bridge_lease_dir(bridge, dir, sizeof(dir));
	if (ret)
		return ret;
	dp = opendir(dir);
	if (!dp)
		return errno == ENOENT ? 0 : err_set(-errno, "opendir %s", dir);
	while ((d = readdir(dp)) && n < max) {
		struct bridge_lease_info *o = &out[n];
		struct stat st;

		if (inet_pton(AF_INET, d->d_name, &o->addr) != 1 ||
		    fstatat(dirfd(dp), d->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		o->pid = flock_holder(st.st_dev, st.st_ino);
		if (o->pid)
			n++;
	}
	closedir(dp);
	/* by address */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && ntohl(out[j - 1].addr) > ntohl(out[j].addr); j--) {
			struct bridge_lease_info t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return (int)n;
}
