// SPDX-License-Identifier: Apache-2.0
/*
 * rtnetlink without a library: each call opens a NETLINK_ROUTE socket in
 * the caller's network namespace, sends one request (NLM_F_ACK, or
 * NLM_F_DUMP for lists), reads until the ack / NLMSG_DONE and turns a
 * kernel nlmsgerr into -errno with the message naming the request and the
 * object.  Requests are built in a fixed buffer with the uapi NLMSG_ and
 * RTA_ macros.  Any thread; no global state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "net/netlink.h"

#define REQ_SIZE 1024
#define RECV_SIZE 65536 /* dumps come in skbs of at most 32 KiB */

struct req {
	union {
		struct nlmsghdr h;
		char buf[REQ_SIZE];
	};
	bool overflow; /* an attribute did not fit: talk() refuses to send */
};

/* Called for every message of the answer that is neither an ack nor DONE. */
typedef int (*msg_fn)(const struct nlmsghdr *h, void *opaque);

static void *req_init(struct req *r, uint16_t type, uint16_t flags, size_t hdr_len)
{
	memset(r, 0, sizeof(*r));
	r->h.nlmsg_len = NLMSG_LENGTH(hdr_len);
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = NLM_F_REQUEST | flags;
	return NLMSG_DATA(&r->h);
}

static struct rtattr *req_attr(struct req *r, uint16_t type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)(r->buf + NLMSG_ALIGN(r->h.nlmsg_len));
	size_t total = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(RTA_LENGTH(len));

	/* every request is a few short attributes: this never happens */
	if (total > sizeof(r->buf)) {
		static struct rtattr scratch;

		r->overflow = true;
		return &scratch;
	}
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = (uint32_t)total;
	return a;
}

static void req_nest_end(struct req *r, struct rtattr *nest)
{
	if (r->overflow)
		return;
	nest->rta_len = (unsigned short)(r->buf + r->h.nlmsg_len - (char *)nest);
}

/* Send r and read the answer; the kernel's error as -errno (no message set). */
static int talk(struct req *r, msg_fn fn, void *opaque)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	uint32_t seq = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	char *buf = NULL;
	int fd, ret;

	if (r->overflow)
		return -EMSGSIZE;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	r->h.nlmsg_seq = seq;
	if (sendto(fd, r, r->h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		goto out;
	}
	buf = malloc(RECV_SIZE);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, RECV_SIZE, 0);
		struct nlmsghdr *h;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		if (n == 0) {
			ret = -EPROTO;
			goto out;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue; /* not ours (a notification) */
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					ret = -EPROTO;
				else
					ret = e->error; /* 0: the ack */
				goto out;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				ret = 0;
				goto out;
			}
			if (fn) {
				ret = fn(h, opaque);
				if (ret)
					goto out;
			}
		}
	}
out:
	free(buf);
	close(fd);
	return ret;
}

static int name_check(const char *name)
{
	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return err_setx(-EINVAL, "invalid interface name '%s'", name ? name : "");
	return 0;
}

int nl_link_index(const char *name)
{
	unsigned idx;

	if (name_check(name))
		return -ENODEV;
	idx = if_nametoindex(name);
	if (!idx)
		return err_setx(-ENODEV, "no network interface named %s", name);
	return (int)idx;
}

int nl_bridge_create(const char *name)
{
	static const char kind[] = "bridge";
	struct req r;
	struct rtattr *info;
	struct ifinfomsg *ifi;
	int ret;

	if (name_check(name))
		return -EINVAL;
	ifi = req_init(&r, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	req_attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
	info = req_attr(&r, IFLA_LINKINFO, NULL, 0);
	req_attr(&r, IFLA_INFO_KIND, kind, sizeof(kind) - 1);
	req_nest_end(&r, info);
	ret = talk(&r, NULL, NULL);
	if (ret)
		return err_set(ret, "creating bridge %s", name);
	return 0;
}

/* Parse one RTM_NEWLINK into l. */
static void parse_link(const struct nlmsghdr *h, struct nl_link *l)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));
	const struct rtattr *a;

	memset(l, 0, sizeof(*l));
	l->index = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	for (a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		switch (a->rta_type) {
		case IFLA_IFNAME:
			snprintf(l->ifname, sizeof(l->ifname), "%.*s", (int)RTA_PAYLOAD(a),
				 (const char *)RTA_DATA(a));
			break;
		case IFLA_MASTER:
			if (RTA_PAYLOAD(a) >= sizeof(uint32_t))
				memcpy(&l->master, RTA_DATA(a), sizeof(uint32_t));
			break;
		case IFLA_LINKINFO: {
			int ilen = (int)RTA_PAYLOAD(a);
			const struct rtattr *i;

			for (i = RTA_DATA(a); RTA_OK(i, ilen); i = RTA_NEXT(i, ilen))
				if (i->rta_type == IFLA_INFO_KIND)
					snprintf(l->kind, sizeof(l->kind), "%.*s",
						 (int)RTA_PAYLOAD(i), (const char *)RTA_DATA(i));
			break;
		}
		default:
			break;
		}
	}
}

static int one_link(const struct nlmsghdr *h, void *opaque)
{
	if (h->nlmsg_type == RTM_NEWLINK && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg)))
		parse_link(h, opaque);
	return 0;
}

int nl_link_get(const char *name, struct nl_link *l)
{
	struct ifinfomsg *ifi;
	struct req r;
	int idx, ret;

	idx = nl_link_index(name);
	if (idx < 0)
		return idx;
	ifi = req_init(&r, RTM_GETLINK, NLM_F_ACK, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = idx;
	memset(l, 0, sizeof(*l));
	ret = talk(&r, one_link, l);
	if (ret == -ENODEV)
		return err_setx(-ENODEV, "no network interface named %s", name);
	if (ret)
		return err_set(ret, "looking up link %s", name);
	if (!l->index)
		return err_setx(-ENODEV, "no network interface named %s", name);
	return 0;
}

int nl_link_kind(const char *name, char *kind, unsigned cap)
{
	struct nl_link l;
	int ret = nl_link_get(name, &l);

	if (ret)
		return ret;
	if (cap)
		snprintf(kind, cap, "%s", l.kind);
	return 0;
}

struct link_list {
	struct nl_link *out;
	unsigned max, n;
};

static int list_link(const struct nlmsghdr *h, void *opaque)
{
	struct link_list *ll = opaque;

	if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)) ||
	    ll->n >= ll->max)
		return 0;
	parse_link(h, &ll->out[ll->n++]);
	return 0;
}

/*
 * A dump request of type for family (the first byte of every rtnetlink
 * header): cb gets each message.  0 or -errno with "what" in the message.
 */
static int dump(uint16_t type, unsigned char family, size_t hdr_len,
		int (*cb)(const struct nlmsghdr *, void *), void *opaque, const char *what)
{
	struct req r;
	unsigned char *fam = req_init(&r, type, NLM_F_DUMP, hdr_len);
	int ret;

	*fam = family;
	ret = talk(&r, cb, opaque);
	return ret ? err_set(ret, "%s", what) : 0;
}

int nl_link_list(struct nl_link *out, unsigned max)
{
	struct link_list ll = { .out = out, .max = max };
	int ret = dump(RTM_GETLINK, AF_UNSPEC, sizeof(struct ifinfomsg), list_link, &ll,
		       "listing network interfaces");

	return ret ? ret : (int)ll.n;
}

/* RTM_NEWLINK on an existing link: flags and/or master. */
static int link_change(const char *name, unsigned flags, unsigned change, const int *master)
{
	struct ifinfomsg *ifi;
	struct req r;
	int idx;

	idx = nl_link_index(name);
	if (idx < 0)
		return idx;
	ifi = req_init(&r, RTM_NEWLINK, NLM_F_ACK, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = idx;
	ifi->ifi_flags = flags;
	ifi->ifi_change = change;
	if (master) {
		uint32_t m = (uint32_t)*master;

		req_attr(&r, IFLA_MASTER, &m, sizeof(m));
	}
	return talk(&r, NULL, NULL);
}

int nl_link_set_up(const char *name)
{
	int ret = link_change(name, IFF_UP, IFF_UP, NULL);

	if (ret && ret != -ENODEV)
		return err_set(ret, "bringing %s up", name);
	return ret;
}

int nl_link_set_master(const char *name, const char *master)
{
	int m = 0, ret;

	if (master) {
		m = nl_link_index(master);
		if (m < 0)
			return m;
	}
	ret = link_change(name, 0, 0, &m);
	if (ret == -ENODEV)
		return ret;
	if (ret && master)
		return err_set(ret, "adding %s to bridge %s", name, master);
	if (ret)
		return err_set(ret, "releasing %s from its bridge", name);
	return 0;
}

int nl_link_del(const char *name)
{
	struct ifinfomsg *ifi;
	struct req r;
	int idx, ret;

	idx = nl_link_index(name);
	if (idx < 0)
		return idx;
	ifi = req_init(&r, RTM_DELLINK, NLM_F_ACK, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = idx;
	ret = talk(&r, NULL, NULL);
	if (ret == -ENODEV)
		return err_setx(-ENODEV, "no network interface named %s", name);
	if (ret)
		return err_set(ret, "deleting %s", name);
	return 0;
}

int nl_addr_add(const char *name, uint32_t addr, unsigned prefix)
{
	char text[INET_ADDRSTRLEN];
	struct ifaddrmsg *ifa;
	struct req r;
	int idx, ret;

	idx = nl_link_index(name);
	if (idx < 0)
		return idx;
	if (prefix > 32)
		return err_setx(-EINVAL, "invalid prefix length /%u", prefix);
	ifa = req_init(&r, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)idx;
	req_attr(&r, IFA_LOCAL, &addr, sizeof(addr));
	req_attr(&r, IFA_ADDRESS, &addr, sizeof(addr));
	if (prefix < 31) {
		uint32_t mask = prefix ? htonl(~0u << (32 - prefix)) : 0;
		uint32_t brd = addr | ~mask;

		req_attr(&r, IFA_BROADCAST, &brd, sizeof(brd));
	}
	ret = talk(&r, NULL, NULL);
	if (ret) {
		inet_ntop(AF_INET, &addr, text, sizeof(text));
		return err_set(ret, "adding %s/%u to %s", text, prefix, name);
	}
	return 0;
}

struct addr_list {
	struct nl_addr *out;
	unsigned max, n;
};

static int list_addr(const struct nlmsghdr *h, void *opaque)
{
	struct addr_list *al = opaque;
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifa));
	const struct rtattr *a;
	const void *local = NULL, *address = NULL;
	const char *label = NULL;
	struct nl_addr *o;

	if (h->nlmsg_type != RTM_NEWADDR || len < 0 || ifa->ifa_family != AF_INET ||
	    al->n >= al->max)
		return 0;
	for (a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFA_LOCAL && RTA_PAYLOAD(a) == 4)
			local = RTA_DATA(a);
		else if (a->rta_type == IFA_ADDRESS && RTA_PAYLOAD(a) == 4)
			address = RTA_DATA(a);
		else if (a->rta_type == IFA_LABEL && RTA_PAYLOAD(a) > 0)
			label = RTA_DATA(a);
	}
	if (!local)
		local = address; /* no IFA_LOCAL: not point-to-point, ADDRESS is ours */
	if (!local)
		return 0;
	o = &al->out[al->n++];
	memset(o, 0, sizeof(*o));
	memcpy(&o->addr, local, 4);
	o->prefix = ifa->ifa_prefixlen;
	if (!if_indextoname(ifa->ifa_index, o->ifname) && label)
		snprintf(o->ifname, sizeof(o->ifname), "%s", label);
	return 0;
}

int nl_addr_list(struct nl_addr *out, unsigned max)
{
	struct addr_list al = { .out = out, .max = max };
	int ret = dump(RTM_GETADDR, AF_INET, sizeof(struct ifaddrmsg), list_addr, &al,
		       "listing IPv4 addresses");

	return ret ? ret : (int)al.n;
}
