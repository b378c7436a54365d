// SPDX-License-Identifier: Apache-2.0
/*
 * clone net up | down | status: the host bridge that `--net` VMs join
 * (net/bridge.h).  up makes the bridge, its address, forwarding and the
 * NAT table (what the first `clone run --net` would do); down removes the
 * bridge and its NAT table; status shows the bridge, its addresses, the
 * NAT table, the leased guest addresses with their VMM's pid and the
 * interfaces enslaved to the bridge.  up and down need root.  Main thread
 * only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/err.h"
#include "net/bridge.h"
#include "net/netlink.h"
#include "net/nft.h"

#define MAX_LINKS 1024
#define MAX_LEASES 1024

enum { OPT_BRIDGE = 256, OPT_BRIDGE_ADDR };

static const struct option net_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "bridge", required_argument, NULL, OPT_BRIDGE },
	{ "bridge-addr", required_argument, NULL, OPT_BRIDGE_ADDR },
	{ NULL, 0, NULL, 0 },
};

static void net_usage(FILE *f)
{
	fprintf(f,
		"Usage: clone net up [--bridge NAME] [--bridge-addr A.B.C.D/N]\n"
		"       clone net down [--bridge NAME]\n"
		"       clone net status [--bridge NAME]\n"
		"The host bridge that `clone run --net` VMs join (default %s, %s):\n"
		"  up      create the bridge with its address, enable IP forwarding and the\n"
		"          NAT table `ip clone-NAME` (idempotent; root)\n"
		"  down    delete the bridge and its NAT table (root)\n"
		"  status  show the bridge, its NAT table, leased addresses and TAPs\n",
		BRIDGE_DEFAULT_NAME, BRIDGE_DEFAULT_ADDR);
}

struct net_opts {
	const char *sub;
	const char *bridge;
	const char *addr;
};

/* argv[0] is the subcommand: 0, CLI_HELP_SHOWN or -EINVAL with the message set. */
static int net_parse(int argc, char **argv, struct net_opts *o)
{
	int opt;

	o->bridge = BRIDGE_DEFAULT_NAME;
	o->addr = NULL;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", net_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			net_usage(stdout);
			return CLI_HELP_SHOWN;
		case OPT_BRIDGE:
			o->bridge = optarg;
			break;
		case OPT_BRIDGE_ADDR:
			if (strcmp(o->sub, "up"))
				return err_setx(-EINVAL, "net %s: --bridge-addr is for `net up`",
						o->sub);
			o->addr = optarg;
			break;
		case ':':
			return err_setx(-EINVAL, "net: option %s needs a value", argv[optind - 1]);
		default:
			return err_setx(-EINVAL, "net: unknown option %s (see clone net --help)",
					argv[optind - 1]);
		}
	}
	if (optind < argc)
		return err_setx(-EINVAL, "net %s: unexpected argument '%s'", o->sub, argv[optind]);
	return bridge_check_name(o->bridge);
}

static int need_root(const char *sub)
{
	if (geteuid() == 0)
		return 0;
	cli_error("clone net %s changes the host's network and needs root (sudo clone net %s)", sub,
		  sub);
	return EXIT_RUNTIME;
}

static int net_up(const struct net_opts *o)
{
	struct bridge_config c;
	char table[32];

	memset(&c, 0, sizeof(c));
	if (bridge_parse_cidr(o->addr ? o->addr : BRIDGE_DEFAULT_ADDR, &c)) {
		cli_error("%s", err_msg());
		return EXIT_BAD_CONFIG;
	}
	snprintf(c.name, sizeof(c.name), "%s", o->bridge);
	if (bridge_up(&c)) {
		cli_error("%s", err_msg());
		return EXIT_RUNTIME;
	}
	bridge_nat_table(c.name, table, sizeof(table));
	printf("bridge %s is up with %s; NAT table ip %s\n", c.name,
	       o->addr ? o->addr : BRIDGE_DEFAULT_ADDR, table);
	return EXIT_OK;
}

static int net_down(const struct net_opts *o)
{
	if (bridge_down(o->bridge)) {
		cli_error("%s", err_msg());
		return EXIT_RUNTIME;
	}
	printf("bridge %s and its NAT table are gone\n", o->bridge);
	return EXIT_OK;
}

static void print_addrs(const char *bridge)
{
	struct nl_addr *v = calloc(MAX_LINKS, sizeof(*v));
	char a[INET_ADDRSTRLEN];
	int n = v ? nl_addr_list(v, MAX_LINKS) : -ENOMEM;
	bool any = false;

	if (n < 0) {
		printf("%-10s unknown (%s)\n", "address:", err_msg());
		free(v);
		return;
	}
	for (int i = 0; i < n; i++) {
		if (strcmp(v[i].ifname, bridge))
			continue;
		inet_ntop(AF_INET, &v[i].addr, a, sizeof(a));
		printf("%-10s %s/%u\n", "address:", a, v[i].prefix);
		any = true;
	}
	if (!any)
		printf("%-10s none\n", "address:");
	free(v);
}

static void print_nat(const char *bridge)
{
	char table[32];
	int ret;

	bridge_nat_table(bridge, table, sizeof(table));
	ret = nft_table_exists("ip", table);
	if (ret > 0)
		printf("%-10s ip %s\n", "nat:", table);
	else if (ret == 0)
		printf("%-10s absent (clone net up makes it)\n", "nat:");
	else
		printf("%-10s unknown (%s)\n", "nat:", err_msg());
}

static void print_leases(const char *bridge)
{
	struct bridge_lease_info *v = calloc(MAX_LEASES, sizeof(*v));
	char a[INET_ADDRSTRLEN];
	int n = v ? bridge_lease_list(bridge, v, MAX_LEASES) : -ENOMEM;

	if (n < 0) {
		printf("%-10s unknown (%s)\n", "leases:", err_msg());
	} else if (n == 0) {
		printf("%-10s none\n", "leases:");
	} else {
		printf("leases:\n");
		for (int i = 0; i < n; i++) {
			inet_ntop(AF_INET, &v[i].addr, a, sizeof(a));
			if (v[i].pid > 0)
				printf("  %-15s pid %d\n", a, (int)v[i].pid);
			else
				printf("  %-15s held\n", a);
		}
	}
	free(v);
}

static void print_ports(const struct nl_link *br)
{
	struct nl_link *v = calloc(MAX_LINKS, sizeof(*v));
	int n = v ? nl_link_list(v, MAX_LINKS) : -ENOMEM;
	bool any = false;

	if (n < 0) {
		printf("%-10s unknown (%s)\n", "ports:", err_msg());
		free(v);
		return;
	}
	for (int i = 0; i < n; i++) {
		if (v[i].master != (unsigned)br->index)
			continue;
		if (!any)
			printf("ports:\n");
		any = true;
		printf("  %-15s %-6s %s\n", v[i].ifname, *v[i].kind ? v[i].kind : "-",
		       (v[i].flags & IFF_UP) ? "up" : "down");
	}
	if (!any)
		printf("%-10s none\n", "ports:");
	free(v);
}

static int net_status(const struct net_opts *o)
{
	struct nl_link br;
	int ret = nl_link_get(o->bridge, &br);

	if (ret == -ENODEV) {
		printf("%-10s %s: absent (clone net up, or clone run --net, makes it)\n",
		       "bridge:", o->bridge);
		print_nat(o->bridge);
		print_leases(o->bridge);
		return EXIT_OK;
	}
	if (ret) {
		cli_error("%s", err_msg());
		return EXIT_RUNTIME;
	}
	if (strcmp(br.kind, "bridge")) {
		cli_error("%s is not a bridge (it is a %s)", o->bridge,
			  *br.kind ? br.kind : "hardware interface");
		return EXIT_RUNTIME;
	}
	printf("%-10s %s (%s)\n", "bridge:", o->bridge, (br.flags & IFF_UP) ? "up" : "down");
	print_addrs(o->bridge);
	print_nat(o->bridge);
	print_leases(o->bridge);
	print_ports(&br);
	return EXIT_OK;
}

int cli_net(int argc, char **argv)
{
	struct net_opts o;
	int ret;

	if (argc < 2) {
		net_usage(stderr);
		return EXIT_BAD_CONFIG;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		net_usage(stdout);
		return EXIT_OK;
	}
	o.sub = argv[1];
	if (strcmp(o.sub, "up") && strcmp(o.sub, "down") && strcmp(o.sub, "status")) {
		cli_error("net: unknown subcommand '%s' (up, down or status)", o.sub);
		return EXIT_BAD_CONFIG;
	}
	ret = net_parse(argc - 1, argv + 1, &o);
	if (ret == CLI_HELP_SHOWN)
		return EXIT_OK;
	if (ret) {
		cli_error("%s", err_msg());
		return EXIT_BAD_CONFIG;
	}
	if (!strcmp(o.sub, "status"))
		return net_status(&o);
	ret = need_root(o.sub);
	if (ret)
		return ret;
	return !strcmp(o.sub, "up") ? net_up(&o) : net_down(&o);
}
