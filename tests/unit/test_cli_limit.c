// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: `clone limit` (src/cli/limit.c): KEY=VALUE words to the
 * PATCH path and Firecracker-style JSON body, for disks and NICs (rx_/tx_
 * prefixes, both directions, none), and the errors; plus the argument
 * checks of the command itself that need no VM.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/err.h"

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))
#define BUILD(dev, path, body, ...)                                                                \
	cli_limit_build((dev), ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (path), (body))

/* Build and compare the body with the expected JSON (compared as JSON). */
static void expect(const char *dev, int n, char **args, const char *want_path, const char *want)
{
	char *path, *body;
	json_t *got, *exp;

	cr_assert_eq(cli_limit_build(dev, n, args, &path, &body), 0, "%s", err_msg());
	cr_assert_str_eq(path, want_path);
	got = json_loads(body, 0, NULL);
	exp = json_loads(want, 0, NULL);
	cr_assert_not_null(got, "%s", body);
	cr_assert_not_null(exp, "bad expectation %s", want);
	cr_assert(json_equal(got, exp), "got %s, want %s", body, want);
	json_decref(got);
	json_decref(exp);
	free(path);
	free(body);
}

#define EXPECT(dev, path, want, ...)                                                               \
	expect((dev), ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (path), (want))

Test(cli_limit, disk)
{
	EXPECT("disk0", "/drives/disk0",
	       "{\"drive_id\":\"disk0\",\"rate_limiter\":{\"bandwidth\":{\"size\":1048576,"
	       "\"refill_time\":100}}}",
	       "bps=10M");
	EXPECT("rootfs", "/drives/rootfs",
	       "{\"drive_id\":\"rootfs\",\"rate_limiter\":{\"bandwidth\":{\"size\":65536,"
	       "\"refill_time\":50,\"one_time_burst\":1073741824},\"ops\":{\"size\":10,"
	       "\"refill_time\":100}}}",
	       "bps_size=64K", "bps_refill_ms=50", "bps_burst=1G", "iops=100");
	EXPECT("disk1", "/drives/disk1", "{\"drive_id\":\"disk1\",\"rate_limiter\":{}}", "none");
}

Test(cli_limit, nic)
{
	/* Unprefixed keys: both directions. */
	EXPECT("net0", "/network-interfaces/net0",
	       "{\"iface_id\":\"net0\",\"rx_rate_limiter\":{\"ops\":{\"size\":10,"
	       "\"refill_time\":100}},\"tx_rate_limiter\":{\"ops\":{\"size\":10,"
	       "\"refill_time\":100}}}",
	       "iops=100");
	/* One direction: the other is left out (unchanged). */
	EXPECT("net1", "/network-interfaces/net1",
	       "{\"iface_id\":\"net1\",\"rx_rate_limiter\":{\"bandwidth\":{\"size\":104857,"
	       "\"refill_time\":100}}}",
	       "rx_bps=1M");
	/* Mixed: tx gets the common key and its own. */
	EXPECT("net0", "/network-interfaces/net0",
	       "{\"iface_id\":\"net0\",\"rx_rate_limiter\":{\"ops\":{\"size\":5,"
	       "\"refill_time\":1000}},\"tx_rate_limiter\":{\"ops\":{\"size\":5,"
	       "\"refill_time\":1000},\"bandwidth\":{\"size\":1024,\"refill_time\":100}}}",
	       "iops=5", "tx_bps=10K");
	EXPECT("net0", "/network-interfaces/net0",
	       "{\"iface_id\":\"net0\",\"rx_rate_limiter\":{},\"tx_rate_limiter\":{}}", "none");
}

Test(cli_limit, errors)
{
	char *path = (char *)1, *body = (char *)1;

	cr_assert_eq(BUILD("disk0", &path, &body, "bps=abc"), -EINVAL);
	cr_assert(strstr(err_msg(), "bps=abc"), "%s", err_msg());
	cr_assert_null(path);
	cr_assert_null(body);
	cr_assert_eq(BUILD("disk0", &path, &body, "bps=-1"), -EINVAL);
	cr_assert_eq(BUILD("disk0", &path, &body, "bps_refill_ms=0"), -EINVAL);
	cr_assert_eq(BUILD("disk0", &path, &body, "bps=99999999999999999999999"), -EINVAL);
	cr_assert_eq(BUILD("disk0", &path, &body, "rx_bps=1M"), -EINVAL, "no directions on a disk");
	cr_assert(strstr(err_msg(), "unknown key 'rx_bps'"), "%s", err_msg());
	cr_assert_eq(BUILD("disk0", &path, &body, "speed=1M"), -EINVAL);
	cr_assert_eq(BUILD("disk0", &path, &body, "bps"), -EINVAL);
	cr_assert(strstr(err_msg(), "expected KEY=VALUE"), "%s", err_msg());
	cr_assert_eq(BUILD("disk0", &path, &body, "bps_burst=1M"), -EINVAL, "burst alone");
	cr_assert_eq(BUILD("disk0", &path, &body, "none", "bps=1M"), -EINVAL);
	cr_assert_eq(BUILD("net0", &path, &body, "rx_bps_size=1M"), -EINVAL, "no refill time");
	cr_assert_eq(BUILD("disk/0", &path, &body, "bps=1M"), -EINVAL);
	cr_assert_eq(BUILD("", &path, &body, "bps=1M"), -EINVAL);
	cr_assert_eq(cli_limit_build("disk0", 0, ARGV("x"), &path, &body), -EINVAL);
	cr_assert(strstr(err_msg(), "which limits"), "%s", err_msg());
}

Test(cli_limit, command_arguments, .init = cr_redirect_stdout)
{
	cr_assert_eq(cli_limit(ARGC("limit", "--help"), ARGV("limit", "--help")), EXIT_OK);
	cr_assert_eq(cli_limit(ARGC("limit"), ARGV("limit")), EXIT_BAD_CONFIG);
	cr_assert_eq(cli_limit(ARGC("limit", "vm"), ARGV("limit", "vm")), EXIT_BAD_CONFIG);
	cr_assert_eq(cli_limit(ARGC("limit", "vm", "disk0"), ARGV("limit", "vm", "disk0")),
		     EXIT_BAD_CONFIG, "no keys");
	cr_assert_eq(cli_limit(ARGC("limit", "-x", "vm", "disk0", "none"),
			       ARGV("limit", "-x", "vm", "disk0", "none")),
		     EXIT_BAD_CONFIG);
	cr_assert_eq(cli_limit(ARGC("limit", "vm", "disk0", "bps=x"),
			       ARGV("limit", "vm", "disk0", "bps=x")),
		     EXIT_BAD_CONFIG, "bad values fail before looking for the VM");
}
