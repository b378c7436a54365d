// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: the host network plumbing of --net (src/net/tap.c,
 * netlink.c, nft.c, bridge.c), for real, each test in a private network
 * namespace of its own (Criterion runs every test in its own process, so
 * unshare(CLONE_NEWNET) at the start of a test touches nothing else) and a
 * private CLONE_RUNTIME_DIR for the leases.  Needs root (CAP_NET_ADMIN and
 * CAP_SYS_ADMIN for unshare): skipped otherwise.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/err.h"
#include "net/bridge.h"
#include "net/netlink.h"
#include "net/nft.h"
#include "net/tap.h"

static char base[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static void setup(void)
{
	char rt[128];

	snprintf(base, sizeof(base), "/tmp/clone-hostnet-XXXXXX");
	cr_assert_not_null(mkdtemp(base));
	snprintf(rt, sizeof(rt), "%s/rt", base);
	cr_assert_eq(setenv("CLONE_RUNTIME_DIR", rt, 1), 0);
}

static void teardown(void)
{
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	unsetenv("CLONE_RUNTIME_DIR");
}

TestSuite(hostnet, .init = setup, .fini = teardown);

/* A private network namespace for this test's process, or skip. */
static void enter_netns(void)
{
	int e;

	/* a skipped test does not run .fini: clean up first */
	if (unshare(CLONE_NEWNET)) {
		e = errno;
		teardown();
		cr_skip_test("unshare(CLONE_NEWNET) failed (%s): these tests need root",
			     strerror(e));
	}
	if (access(TAP_DEV, R_OK | W_OK)) {
		e = errno;
		teardown();
		cr_skip_test("%s is not usable here (%s)", TAP_DEV, strerror(e));
	}
}

static uint32_t ip(const char *s)
{
	uint32_t a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct bridge_config cfg(const char *name, const char *cidr)
{
	struct bridge_config c;

	memset(&c, 0, sizeof(c));
	cr_assert_eq(bridge_parse_cidr(cidr, &c), 0, "%s", err_msg());
	snprintf(c.name, sizeof(c.name), "%s", name);
	return c;
}

static bool has_addr(const char *ifname, const char *addr, unsigned prefix)
{
	struct nl_addr v[64];
	int n = nl_addr_list(v, 64);

	cr_assert_geq(n, 0, "%s", err_msg());
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i].ifname, ifname) && v[i].addr == ip(addr) && v[i].prefix == prefix)
			return true;
	return false;
}

static bool nft_available(void)
{
	int ret = nft_table_exists("ip", "clone-probe");

	return ret >= 0;
}

/* ---- parsing (no namespace needed) ----------------------------------------------- */

Test(hostnet, parse_cidr)
{
	struct bridge_config c;

	memset(&c, 0, sizeof(c));
	cr_assert_eq(bridge_parse_cidr("172.20.0.1/24", &c), 0);
	cr_assert_eq(c.addr, ip("172.20.0.1"));
	cr_assert_eq(c.prefix, 24);
	cr_assert_eq(bridge_parse_cidr("10.1.2.1/30", &c), 0);
	cr_assert_eq(bridge_parse_cidr("172.20.0.1", &c), -EINVAL);
	cr_assert(strstr(err_msg(), "A.B.C.D/N"));
	cr_assert_eq(bridge_parse_cidr("172.20.0.1/", &c), -EINVAL);
	cr_assert_eq(bridge_parse_cidr("172.20.0.1/24x", &c), -EINVAL);
	cr_assert_eq(bridge_parse_cidr("172.20.0.1/-1", &c), -EINVAL);
	cr_assert_eq(bridge_parse_cidr("172.20.0.256/24", &c), -EINVAL);
	cr_assert_eq(bridge_parse_cidr("172.20.0.1/31", &c), -EINVAL);
	cr_assert_eq(bridge_parse_cidr("172.20.0.0/24", &c), -EINVAL);
	cr_assert(strstr(err_msg(), "network or broadcast"));
	cr_assert_eq(bridge_parse_cidr("172.20.0.255/24", &c), -EINVAL);
	cr_assert_eq(bridge_parse_cidr(NULL, &c), -EINVAL);
}

Test(hostnet, names)
{
	char t[32];

	cr_assert_eq(bridge_check_name("clone0"), 0);
	cr_assert_eq(bridge_check_name("br-1.x_y"), 0);
	cr_assert_eq(bridge_check_name(""), -EINVAL);
	cr_assert_eq(bridge_check_name("a b"), -EINVAL);
	cr_assert_eq(bridge_check_name("a\"b"), -EINVAL);
	cr_assert_eq(bridge_check_name("0123456789abcdef"), -EINVAL); /* 16 > IFNAMSIZ - 1 */
	cr_assert_eq(bridge_check_name(".."), -EINVAL);
	cr_assert_eq(bridge_nat_table("clone0", t, sizeof(t)), 0);
	cr_assert_str_eq(t, "clone-clone0");
}

/* ---- TAP ------------------------------------------------------------------------- */

Test(hostnet, tap_create_open)
{
	char name[IFNAMSIZ], name2[IFNAMSIZ], kind[16];
	int fd, fd2, fd3, flags;

	enter_netns();
	cr_assert_eq(tap_create("ctest%d", name, &fd), 0, "%s", err_msg());
	cr_assert_str_eq(name, "ctest0");
	cr_assert_geq(fd, 0);
	flags = fcntl(fd, F_GETFL);
	cr_assert(flags & O_NONBLOCK);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	cr_assert_eq(nl_link_kind(name, kind, sizeof(kind)), 0);
	cr_assert_str_eq(kind, "tun");
	cr_assert_eq(tap_set_offload(fd, 0), 0, "%s", err_msg());

	/* the name is taken: never attach to it */
	cr_assert_eq(tap_create("ctest0", name2, &fd2), -EEXIST);
	cr_assert_eq(fd2, -1);
	cr_assert(strstr(err_msg(), "ctest0"), "%s", err_msg());

	/* open the existing one by name: busy while we hold it (single queue) */
	cr_assert_eq(tap_open("ctest0", name2, &fd2), -EBUSY);
	cr_assert(strstr(err_msg(), "in use"), "%s", err_msg());

	/* a missing one is never created */
	cr_assert_eq(tap_open("nosuchtap", name2, &fd2), -ENODEV);
	cr_assert_str_eq(err_msg(), "TAP device nosuchtap does not exist");
	cr_assert_eq(nl_link_index("nosuchtap"), -ENODEV);

	/* not a TAP */
	cr_assert_eq(nl_bridge_create("cbr0"), 0, "%s", err_msg());
	cr_assert_eq(tap_open("cbr0", name2, &fd3), -EINVAL);
	cr_assert(strstr(err_msg(), "not a TAP"), "%s", err_msg());
	cr_assert_eq(tap_open("lo", name2, &fd3), -EINVAL);

	/* non-persistent: gone with its fd */
	close(fd);
	cr_assert_eq(nl_link_index("ctest0"), -ENODEV);
}

Test(hostnet, tap_open_existing)
{
	char name[IFNAMSIZ], name2[IFNAMSIZ];
	int fd, fd2;

	enter_netns();
	/* a persistent TAP (what `ip tuntap add` makes), then closed */
	cr_assert_eq(tap_create("cpers", name, &fd), 0, "%s", err_msg());
	cr_assert_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
	cr_assert_gt(nl_link_index("cpers"), 0);
	cr_assert_eq(tap_open("cpers", name2, &fd2), 0, "%s", err_msg());
	cr_assert_str_eq(name2, "cpers");
	cr_assert(fcntl(fd2, F_GETFL) & O_NONBLOCK);
	cr_assert_eq(ioctl(fd2, TUNSETPERSIST, 0), 0);
	close(fd2);
	cr_assert_eq(nl_link_index("cpers"), -ENODEV);
}

/* ---- rtnetlink -------------------------------------------------------------------- */

Test(hostnet, netlink_links_and_addrs)
{
	char kind[16], tap[IFNAMSIZ];
	struct nl_link l, v[16];
	int idx, fd, n;
	bool found = false;

	enter_netns();
	cr_assert_eq(nl_bridge_create("cbr0"), 0, "%s", err_msg());
	cr_assert_eq(nl_bridge_create("cbr0"), -EEXIST);
	idx = nl_link_index("cbr0");
	cr_assert_gt(idx, 0);
	cr_assert_eq(nl_link_kind("cbr0", kind, sizeof(kind)), 0);
	cr_assert_str_eq(kind, "bridge");
	cr_assert_eq(nl_link_kind("lo", kind, sizeof(kind)), 0);
	cr_assert_str_eq(kind, "");
	cr_assert_eq(nl_link_kind("nope", kind, sizeof(kind)), -ENODEV);

	cr_assert_eq(nl_link_get("cbr0", &l), 0);
	cr_assert_eq(l.flags & IFF_UP, 0);
	cr_assert_eq(nl_link_set_up("cbr0"), 0, "%s", err_msg());
	cr_assert_eq(nl_link_get("cbr0", &l), 0);
	cr_assert(l.flags & IFF_UP);
	cr_assert_eq(nl_link_set_up("nope"), -ENODEV);

	cr_assert_eq(nl_addr_add("cbr0", ip("10.9.8.1"), 24), 0, "%s", err_msg());
	cr_assert_eq(nl_addr_add("cbr0", ip("10.9.8.1"), 24), -EEXIST);
	cr_assert(strstr(err_msg(), "adding 10.9.8.1/24 to cbr0"), "%s", err_msg());
	cr_assert(has_addr("cbr0", "10.9.8.1", 24));

	cr_assert_eq(tap_create("ctap%d", tap, &fd), 0, "%s", err_msg());
	cr_assert_eq(nl_link_set_master(tap, "cbr0"), 0, "%s", err_msg());
	cr_assert_eq(nl_link_get(tap, &l), 0);
	cr_assert_eq(l.master, (unsigned)idx);
	n = nl_link_list(v, 16);
	cr_assert_geq(n, 3); /* lo, cbr0, the TAP */
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i].ifname, tap)) {
			found = true;
			cr_assert_eq(v[i].master, (unsigned)idx);
			cr_assert_str_eq(v[i].kind, "tun");
		}
	cr_assert(found);
	cr_assert_eq(nl_link_set_master(tap, NULL), 0, "%s", err_msg());
	cr_assert_eq(nl_link_get(tap, &l), 0);
	cr_assert_eq(l.master, 0);
	cr_assert_eq(nl_link_set_master(tap, "nope"), -ENODEV);
	close(fd);

	cr_assert_eq(nl_link_del("cbr0"), 0, "%s", err_msg());
	cr_assert_eq(nl_link_index("cbr0"), -ENODEV);
	cr_assert_eq(nl_link_del("cbr0"), -ENODEV);
	cr_assert(!has_addr("cbr0", "10.9.8.1", 24));
}

/* ---- bridge_up / bridge_down ---------------------------------------------------------- */

Test(hostnet, bridge_up_idempotent_and_down)
{
	struct bridge_config c = cfg("cbr0", "172.20.0.1/24");
	char tap[IFNAMSIZ], buf[8] = { 0 };
	struct nl_link l, br;
	int fd, f;

	enter_netns();
	if (!nft_available()) {
		teardown();
		cr_skip_test("nft is not usable here: %s", err_msg());
	}
	cr_assert_eq(bridge_up(&c), 0, "%s", err_msg());
	cr_assert_eq(bridge_up(&c), 0, "%s", err_msg()); /* idempotent */
	cr_assert_eq(nl_link_get("cbr0", &br), 0);
	cr_assert_str_eq(br.kind, "bridge");
	cr_assert(br.flags & IFF_UP);
	cr_assert(has_addr("cbr0", "172.20.0.1", 24));
	cr_assert_eq(nft_table_exists("ip", "clone-cbr0"), 1, "%s", err_msg());
	f = open("/proc/sys/net/ipv4/ip_forward", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(f, 0);
	cr_assert_eq(read(f, buf, 1), 1);
	cr_assert_eq(buf[0], '1');
	close(f);

	cr_assert_eq(tap_create("ctap%d", tap, &fd), 0, "%s", err_msg());
	cr_assert_eq(bridge_attach("cbr0", tap), 0, "%s", err_msg());
	cr_assert_eq(nl_link_get(tap, &l), 0);
	cr_assert_eq(l.master, (unsigned)br.index);
	cr_assert(l.flags & IFF_UP);
	close(fd);

	cr_assert_eq(bridge_down("cbr0"), 0, "%s", err_msg());
	cr_assert_eq(nl_link_index("cbr0"), -ENODEV);
	cr_assert_eq(nft_table_exists("ip", "clone-cbr0"), 0, "%s", err_msg());
	cr_assert_eq(bridge_down("cbr0"), 0, "%s", err_msg()); /* nothing left: fine */
}

Test(hostnet, bridge_two_bridges_two_tables)
{
	struct bridge_config a = cfg("cbra", "10.50.0.1/24"), b = cfg("cbrb", "10.51.0.1/24");

	enter_netns();
	if (!nft_available()) {
		teardown();
		cr_skip_test("nft is not usable here: %s", err_msg());
	}
	cr_assert_eq(bridge_up(&a), 0, "%s", err_msg());
	cr_assert_eq(bridge_up(&b), 0, "%s", err_msg());
	cr_assert_eq(nft_table_exists("ip", "clone-cbra"), 1);
	cr_assert_eq(nft_table_exists("ip", "clone-cbrb"), 1);
	cr_assert_eq(bridge_down("cbra"), 0, "%s", err_msg());
	cr_assert_eq(nft_table_exists("ip", "clone-cbra"), 0);
	cr_assert_eq(nft_table_exists("ip", "clone-cbrb"), 1);
}

Test(hostnet, bridge_clash_with_other_link)
{
	struct bridge_config c = cfg("cbr0", "172.20.0.1/24");
	struct bridge_config wide = cfg("cbr1", "172.20.0.1/16");

	enter_netns();
	/* another link whose /16 contains our /24 */
	cr_assert_eq(nl_bridge_create("other0"), 0, "%s", err_msg());
	cr_assert_eq(nl_addr_add("other0", ip("172.20.0.5"), 16), 0, "%s", err_msg());
	cr_assert_eq(bridge_up(&c), -EADDRINUSE);
	cr_assert_str_eq(err_msg(), "172.20.0.0/24 clashes with other0 (172.20.0.5/16): choose "
				    "another with --bridge-addr");
	cr_assert_eq(nl_link_index("cbr0"), -ENODEV); /* nothing was made */

	/* and ours containing theirs */
	cr_assert_eq(nl_bridge_create("other1"), 0, "%s", err_msg());
	cr_assert_eq(nl_addr_add("other1", ip("10.7.3.9"), 24), 0, "%s", err_msg());
	wide = cfg("cbr1", "10.7.0.1/16");
	cr_assert_eq(bridge_up(&wide), -EADDRINUSE);
	cr_assert(strstr(err_msg(), "other1 (10.7.3.9/24)"), "%s", err_msg());
}

Test(hostnet, bridge_with_foreign_address)
{
	struct bridge_config c = cfg("cbr0", "172.20.0.1/24");

	enter_netns();
	cr_assert_eq(nl_bridge_create("cbr0"), 0, "%s", err_msg());
	cr_assert_eq(nl_addr_add("cbr0", ip("192.168.77.1"), 24), 0, "%s", err_msg());
	cr_assert_eq(bridge_up(&c), -EEXIST);
	cr_assert(strstr(err_msg(), "192.168.77.1/24"), "%s", err_msg());
	cr_assert(strstr(err_msg(), "172.20.0.1/24"), "%s", err_msg());
}

Test(hostnet, bridge_name_taken_by_non_bridge)
{
	struct bridge_config c = cfg("ctap0", "172.20.0.1/24");
	char tap[IFNAMSIZ];
	int fd;

	enter_netns();
	cr_assert_eq(tap_create("ctap0", tap, &fd), 0, "%s", err_msg());
	cr_assert_eq(bridge_up(&c), -EEXIST);
	cr_assert(strstr(err_msg(), "not a bridge"), "%s", err_msg());
	cr_assert_eq(bridge_down("ctap0"), -EINVAL);
	cr_assert_gt(nl_link_index("ctap0"), 0);
	close(fd);
}

/* ---- leases ----------------------------------------------------------------------- */

Test(hostnet, lease_distinct_and_reused)
{
	struct bridge_config c = cfg("cbr0", "172.20.0.1/24");
	struct bridge_lease a, b, d;
	struct bridge_lease_info v[8];
	char path[256];

	/* leases are files: no namespace needed */
	cr_assert_eq(bridge_lease_take(&c, &a), 0, "%s", err_msg());
	cr_assert_eq(bridge_lease_take(&c, &b), 0, "%s", err_msg());
	cr_assert_eq(a.addr, ip("172.20.0.2")); /* lowest free, skipping the bridge's .1 */
	cr_assert_eq(b.addr, ip("172.20.0.3"));
	cr_assert_geq(a.fd, 0);
	cr_assert(fcntl(a.fd, F_GETFD) & FD_CLOEXEC);
	snprintf(path, sizeof(path), "%s/rt/net/cbr0/172.20.0.2", base);
	cr_assert_str_eq(a.path, path);
	cr_assert_eq(bridge_lease_list("cbr0", v, 8), 2);
	cr_assert_eq(v[0].addr, ip("172.20.0.2"));
	cr_assert_eq(v[0].pid, getpid());
	cr_assert_eq(v[1].addr, ip("172.20.0.3"));

	bridge_lease_release(&a);
	cr_assert_eq(a.fd, -1);
	bridge_lease_release(&a); /* twice is harmless */
	cr_assert_eq(bridge_lease_list("cbr0", v, 8), 1);
	cr_assert_eq(bridge_lease_take(&c, &d), 0, "%s", err_msg());
	cr_assert_eq(d.addr, ip("172.20.0.2")); /* the released one again */
	bridge_lease_release(&b);
	bridge_lease_release(&d);
	cr_assert_eq(bridge_lease_list("cbr0", v, 8), 0);
	cr_assert_eq(bridge_lease_list("nobridge", v, 8), 0);
}

Test(hostnet, lease_full_subnet)
{
	/* /30: .0 network, .1 bridge, .2 the only guest, .3 broadcast */
	struct bridge_config c = cfg("cbr0", "10.0.0.1/30");
	struct bridge_lease a, b;

	cr_assert_eq(bridge_lease_take(&c, &a), 0, "%s", err_msg());
	cr_assert_eq(a.addr, ip("10.0.0.2"));
	cr_assert_eq(bridge_lease_take(&c, &b), -EADDRNOTAVAIL);
	cr_assert_eq(b.fd, -1);
	cr_assert(strstr(err_msg(), "10.0.0.0/30"), "%s", err_msg());
	bridge_lease_release(&a);
	cr_assert_eq(bridge_lease_take(&c, &b), 0, "%s", err_msg());
	cr_assert_eq(b.addr, ip("10.0.0.2"));
	bridge_lease_release(&b);

	/* the bridge at .2: the guest gets .1 */
	c = cfg("cbr1", "10.0.0.2/30");
	cr_assert_eq(bridge_lease_take(&c, &a), 0, "%s", err_msg());
	cr_assert_eq(a.addr, ip("10.0.0.1"));
	bridge_lease_release(&a);
}

Test(hostnet, lease_held_by_another_process)
{
	struct bridge_config c = cfg("cbr0", "172.20.0.1/24");
	struct bridge_lease a, b;
	struct bridge_lease_info v[8];
	int ready[2], stop[2], status;
	pid_t pid;
	char ch;

	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(stop), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(ready[0]);
		close(stop[1]);
		if (bridge_lease_take(&c, &a) || a.addr != ip("172.20.0.2"))
			_exit(1);
		(void)!write(ready[1], "x", 1);
		(void)!read(stop[0], &ch, 1); /* hold it until the parent is done */
		_exit(0);
	}
	close(ready[1]);
	close(stop[0]);
	cr_assert_eq(read(ready[0], &ch, 1), 1); /* the child holds .2 now */
	cr_assert_eq(bridge_lease_take(&c, &b), 0, "%s", err_msg());
	cr_assert_eq(b.addr, ip("172.20.0.3"));
	cr_assert_eq(bridge_lease_list("cbr0", v, 8), 2);
	cr_assert_eq(v[0].addr, ip("172.20.0.2"));
	cr_assert_eq(v[0].pid, pid);
	cr_assert_eq(v[1].pid, getpid());
	close(stop[1]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the child is gone, and its lease with it */
	bridge_lease_release(&b);
	cr_assert_eq(bridge_lease_take(&c, &b), 0, "%s", err_msg());
	cr_assert_eq(b.addr, ip("172.20.0.2"));
	bridge_lease_release(&b);
}

/* ---- nft ------------------------------------------------------------------------------ */

Test(hostnet, nft_apply_errors_and_tables)
{
	enter_netns();
	if (!nft_available()) {
		teardown();
		cr_skip_test("nft is not usable here: %s", err_msg());
	}
	cr_assert_eq(nft_apply("add table ip ctest\nadd chain ip ctest c\n"), 0, "%s", err_msg());
	cr_assert_eq(nft_apply("add table ip ctest\n"), 0, "%s", err_msg()); /* idempotent */
	cr_assert_eq(nft_table_exists("ip", "ctest"), 1);
	cr_assert_eq(nft_apply("add rule ip ctest nosuchchain accept\n"), -EIO);
	cr_assert(strstr(err_msg(), "Error:"), "%s", err_msg());
	cr_assert_null(strchr(err_msg(), '\n'));
	cr_assert_eq(nft_apply("this is not nft\n"), -EIO);
	cr_assert(strstr(err_msg(), "nft (applying rules): Error:"), "%s", err_msg());
	cr_assert_eq(nft_delete_table("ip", "ctest"), 0, "%s", err_msg());
	cr_assert_eq(nft_table_exists("ip", "ctest"), 0);
	cr_assert_eq(nft_delete_table("ip", "ctest"), 0, "%s", err_msg()); /* absent: fine */
	cr_assert_eq(nft_delete_table("ip", "bad name"), -EINVAL);
	cr_assert_eq(nft_table_exists("ip;", "x"), -EINVAL);
}
