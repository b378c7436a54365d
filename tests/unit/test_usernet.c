// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: `--net user` (src/net/usernet.c): -p parsing, the forward
 * checks and the two pure builders (the holder's nft script, pasta's
 * command line).  Starting the namespaces and pasta needs a host set-up
 * (user namespaces, pasta) and is covered end to end, not here.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "net/usernet.h"

/* ---- usernet_parse_fwd ---- */

static void parses(const char *arg, unsigned host, unsigned guest)
{
	struct usernet_fwd f = { 0, 0 };

	cr_assert_eq(usernet_parse_fwd(arg, &f), 0, "%s: %s", arg, err_msg());
	cr_expect_eq(f.host, host, "%s", arg);
	cr_expect_eq(f.guest, guest, "%s", arg);
}

static void rejects(const char *arg)
{
	struct usernet_fwd f = { 7, 9 };

	cr_assert_eq(usernet_parse_fwd(arg, &f), -EINVAL, "'%s' accepted", arg);
	cr_expect_neq(strstr(err_msg(), "HOST:GUEST"), NULL, "%s", err_msg());
	cr_expect_eq(f.host, 7, "'%s' wrote the result", arg);
	cr_expect_eq(f.guest, 9);
}

Test(usernet, parse_fwd_good)
{
	parses("8080", 8080, 8080);
	parses("2222:22", 2222, 22);
	parses("1", 1, 1);
	parses("65535:1", 65535, 1);
	parses("00080:0022", 80, 22);
}

Test(usernet, parse_fwd_bad)
{
	const char *bad[] = { "",     "0",     "65536",	   "99999999999", "abc",  "22:",   ":22",
			      ":",    "1:2:3", "-1",	   "+5",	  " 22",  "22 ",   "0x10",
			      "22:0", "0:22",  "22:65536", "1e3",	  "22:a", "123456" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		rejects(bad[i]);
}

Test(usernet, parse_fwd_message_names_arg)
{
	struct usernet_fwd f;

	cr_assert_eq(usernet_parse_fwd("80:x", &f), -EINVAL);
	cr_expect_neq(strstr(err_msg(), "'80:x'"), NULL, "%s", err_msg());
}

/* ---- usernet_check_config ---- */

static struct usernet_config two(void)
{
	struct usernet_config c = { .nr_fwd = 2 };

	c.fwd[0] = (struct usernet_fwd){ 8080, 80 };
	c.fwd[1] = (struct usernet_fwd){ 2222, 22 };
	return c;
}

Test(usernet, check_config)
{
	struct usernet_config c = two();

	cr_expect_eq(usernet_check_config(&c), 0);
	c.nr_fwd = 0;
	cr_expect_eq(usernet_check_config(&c), 0);

	c = two();
	c.fwd[1].host = 8080; /* the same host port twice */
	cr_expect_eq(usernet_check_config(&c), -EINVAL);
	cr_expect_neq(strstr(err_msg(), "8080"), NULL, "%s", err_msg());

	c = two();
	c.fwd[1].guest = 80; /* two host ports to one guest port: fine */
	cr_expect_eq(usernet_check_config(&c), 0);

	c = two();
	c.fwd[0].guest = 0;
	cr_expect_eq(usernet_check_config(&c), -EINVAL);

	c = two();
	c.nr_fwd = USERNET_MAX_FWD + 1;
	cr_expect_eq(usernet_check_config(&c), -EINVAL);
}

/* ---- usernet_nft_script ---- */

Test(usernet, nft_script)
{
	struct usernet_config c = two();
	char buf[4096];
	int n = usernet_nft_script(&c, buf, sizeof(buf));

	cr_assert_gt(n, 0, "%s", err_msg());
	cr_expect_eq((size_t)n, strlen(buf));
	const char *want[] = {
		/* idempotent: a second apply replaces the rules */
		"add table ip clone-user\nflush table ip clone-user\ntable ip clone-user {\n",
		"type nat hook prerouting priority -100;",
		"iifname != \"tap0\" tcp dport 8080 dnat to 10.0.2.15:80\n",
		"iifname != \"tap0\" tcp dport 2222 dnat to 10.0.2.15:22\n",
		"ip daddr 10.0.2.3 udp dport 53 dnat to 169.254.1.53:53\n",
		"type nat hook output priority -100;",
		"ip daddr 127.0.0.1 tcp dport 8080 dnat to 10.0.2.15:80\n",
		"ip daddr 127.0.0.1 tcp dport 2222 dnat to 10.0.2.15:22\n",
		"type nat hook postrouting priority 100;",
		"ip saddr 127.0.0.0/8 oifname \"tap0\" masquerade\n",
		"ip saddr 10.0.2.0/24 oifname != \"tap0\" masquerade\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_expect_neq(strstr(buf, want[i]), NULL, "missing: %s\nin:\n%s", want[i], buf);
	cr_expect_eq(buf[n - 2], '}');
	cr_expect_eq(buf[n - 1], '\n');
	/* the prerouting DNATs come before the chain's end, the output ones after it */
	cr_expect_lt(strstr(buf, "dport 2222 dnat"), strstr(buf, "chain out"));
}

Test(usernet, nft_script_no_forwards)
{
	struct usernet_config c = { .nr_fwd = 0 };
	char buf[4096];

	cr_assert_gt(usernet_nft_script(&c, buf, sizeof(buf)), 0);
	cr_expect_null(strstr(buf, "tcp dport"));
	cr_expect_neq(strstr(buf, "udp dport 53"), NULL);
}

Test(usernet, nft_script_sizes)
{
	struct usernet_config c = { .nr_fwd = USERNET_MAX_FWD };
	char big[8192], small[64];
	int n;

	/* the largest configuration fits the buffer usernet_start() uses */
	for (unsigned i = 0; i < USERNET_MAX_FWD; i++)
		c.fwd[i] = (struct usernet_fwd){ (uint16_t)(65535 - i), 65535 };
	n = usernet_nft_script(&c, big, sizeof(big));
	cr_assert_gt(n, 0, "%s", err_msg());
	cr_expect_neq(strstr(big, "tcp dport 65504 dnat to 10.0.2.15:65535"), NULL);

	/* exactly enough room (with the NUL), and one byte less */
	char *exact = malloc((size_t)n + 1);
	cr_assert_not_null(exact);
	cr_expect_eq(usernet_nft_script(&c, exact, (size_t)n + 1), n);
	cr_expect_str_eq(exact, big);
	cr_expect_eq(usernet_nft_script(&c, exact, (size_t)n), -ENOSPC);
	free(exact);
	cr_expect_eq(usernet_nft_script(&c, small, sizeof(small)), -ENOSPC);
	cr_expect_eq(usernet_nft_script(&c, small, 0), -ENOSPC);
}

/* ---- usernet_pasta_argv ---- */

static void expect_argv(char **argv, const char **want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cr_assert_not_null(argv[i], "argv[%zu] missing, want %s", i, want[i]);
		cr_expect_str_eq(argv[i], want[i], "argv[%zu]", i);
	}
	cr_expect_null(argv[n], "argv[%zu] = %s", n, argv[n]);
}

Test(usernet, pasta_argv)
{
	struct usernet_config c = two();
	struct usernet_argv a;
	const char *want[] = { "/usr/bin/pasta",
			       "--config-net",
			       "--foreground",
			       "--quiet",
			       "--ipv4-only",
			       "--no-map-gw",
			       "--runas",
			       "1000:1001",
			       "--ns-ifname",
			       "pasta0",
			       "--pid",
			       "/tmp/x/pasta.pid",
			       "--tcp-ports",
			       "127.0.0.1/8080,2222",
			       "--udp-ports",
			       "none",
			       "--tcp-ns",
			       "none",
			       "--udp-ns",
			       "none",
			       "--dns-forward",
			       "169.254.1.53",
			       "4242" };

	cr_assert_eq(
		usernet_pasta_argv(&c, "/usr/bin/pasta", "/tmp/x/pasta.pid", 4242, 1000, 1001, &a),
		0, "%s", err_msg());
	expect_argv(a.argv, want, sizeof(want) / sizeof(want[0]));
}

Test(usernet, pasta_argv_no_forwards)
{
	struct usernet_config c = { .nr_fwd = 0 };
	struct usernet_argv a;
	int i;

	cr_assert_eq(usernet_pasta_argv(&c, "pasta", "/p", 1, 0, 0, &a), 0);
	for (i = 0; a.argv[i]; i++)
		if (!strcmp(a.argv[i], "--tcp-ports"))
			break;
	cr_assert_not_null(a.argv[i]);
	cr_expect_str_eq(a.argv[i + 1], "none");
	cr_expect_str_eq(a.argv[7], "0:0");
}

Test(usernet, pasta_argv_limits)
{
	struct usernet_config c = { .nr_fwd = USERNET_MAX_FWD };
	struct usernet_argv a;
	char want[512];
	size_t len;
	int i;

	len = (size_t)snprintf(want, sizeof(want), "127.0.0.1/");
	for (unsigned k = 0; k < USERNET_MAX_FWD; k++) {
		c.fwd[k] = (struct usernet_fwd){ (uint16_t)(60000 + k), 22 };
		len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%u", k ? "," : "",
					60000 + k);
	}
	cr_assert_eq(usernet_pasta_argv(&c, "pasta", "/p", 1, 0, 0, &a), 0, "%s", err_msg());
	for (i = 0; a.argv[i]; i++)
		if (!strcmp(a.argv[i], "--tcp-ports"))
			break;
	cr_assert_not_null(a.argv[i]);
	cr_expect_str_eq(a.argv[i + 1], want);

	c.fwd[3].host = 60000; /* duplicate */
	cr_expect_eq(usernet_pasta_argv(&c, "pasta", "/p", 1, 0, 0, &a), -EINVAL);

	/* a pid file path too long for the buffer: refused, not truncated */
	char path[1100];
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	c.fwd[3].host = 60003;
	cr_expect_eq(usernet_pasta_argv(&c, "pasta", path, 1, 0, 0, &a), -ENOSPC);
}
