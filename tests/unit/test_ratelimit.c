// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: src/lib/ratelimit.c, token buckets over simulated time
 * (rates hold whatever the request sizes, the one-time burst, debt and the
 * exact wait it causes, run-time updates, unlimited buckets, extreme sizes
 * and refill times) and the KEY=VALUE option syntax with rl_describe().
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/ratelimit.h"

#define MS 1000000ull
#define SEC 1000000000ull

static struct rl_config parse(const char *opts)
{
	struct rl_config c = { 0 };
	char *copy = strdup(opts), *save = NULL;

	for (char *kv = strtok_r(copy, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(kv, '=');

		cr_assert_not_null(eq, "%s", kv);
		*eq = '\0';
		cr_assert_eq(rl_parse_option(kv, eq + 1, &c), 1, "%s=%s: %s", kv, eq + 1,
			     err_msg());
	}
	free(copy);
	cr_assert_eq(rl_parse_finish(&c), 0, "%s: %s", opts, err_msg());
	return c;
}

static struct rl_config bytes_cfg(uint64_t size, uint64_t burst, uint64_t refill_ms)
{
	return (struct rl_config){ .bytes = { size, burst, refill_ms, 0 } };
}

/* Send random-sized requests as fast as the limiter allows for `span` ns; bytes that went. */
static uint64_t run_random(struct rl *r, uint64_t span, uint64_t max_req, uint64_t *nreq)
{
	uint64_t t = 0, sent = 0;

	srand(42);
	*nreq = 0;
	while (t < span) {
		uint64_t len = 512 * (1 + (uint64_t)rand() % (max_req / 512));

		while (!rl_consume(r, len, 1, t)) {
			uint64_t w = rl_wait_ns(r, t);

			cr_assert_gt(w, 0, "throttled but no wait");
			t += w;
		}
		if (t < span) {
			sent += len;
			(*nreq)++;
		}
	}
	return sent;
}

Test(ratelimit, bytes_rate_holds_over_simulated_time)
{
	struct rl_config c = parse("bps=1M");
	struct rl r;
	uint64_t n, sent;
	double rate;

	cr_assert_eq(c.bytes.refill_ms, 100);
	cr_assert_eq(c.bytes.size, 104857);
	rl_init(&r, &c, 0);
	sent = run_random(&r, 10 * SEC, 64 * 1024, &n);
	/* What went beyond the bucket that was full at the start, over 10 s. */
	rate = (double)(sent - c.bytes.size) / 10;
	cr_assert(rate > 1048576 * 0.99 && rate < 1048576 * 1.01, "rate %.0f B/s (%llu requests)",
		  rate, (unsigned long long)n);
}

Test(ratelimit, ops_rate_holds_over_simulated_time)
{
	struct rl_config c = parse("iops=1000 iops_refill_ms=1000");
	struct rl r;
	uint64_t n;

	rl_init(&r, &c, 0);
	run_random(&r, 10 * SEC, 1 << 20, &n);
	/* 1000 in the full bucket, then 1000/s; the last may be in flight. */
	cr_assert(n >= 10999 && n <= 11001, "%llu operations", (unsigned long long)n);
}

Test(ratelimit, long_run_with_huge_requests)
{
	/* Requests far larger than the bucket: debt paces them. */
	struct rl_config c = bytes_cfg(4096, 0, 10);
	struct rl r;
	uint64_t n, sent;
	double rate;

	rl_init(&r, &c, 0);
	sent = run_random(&r, 100 * SEC, 1 << 20, &n);
	rate = (double)sent / 100;
	cr_assert(rate > 409600 * 0.99 && rate < 409600 * 1.01, "rate %.0f B/s", rate);
}

Test(ratelimit, burst_is_spent_once)
{
	struct rl_config c = bytes_cfg(1000, 5000, 1000);
	struct rl r;

	rl_init(&r, &c, 0);
	cr_assert(rl_consume(&r, 6000, 1, 0), "burst + bucket");
	cr_assert_eq(r.bytes.burst, 0);
	cr_assert_eq(r.bytes.tokens, 0);
	cr_assert_not(rl_consume(&r, 1, 1, 0));
	cr_assert_eq(rl_wait_ns(&r, 0), 1 * MS, "1000 B/s: a byte a millisecond");
	/* An hour later the bucket is full again, the burst is not. */
	cr_assert(rl_consume(&r, 1000, 1, 3600 * SEC));
	cr_assert_not(rl_consume(&r, 1, 1, 3600 * SEC));
	cr_assert_eq(r.bytes.burst, 0);
}

Test(ratelimit, burst_shorter_than_request_then_bucket)
{
	struct rl_config c = bytes_cfg(100, 50, 1000);
	struct rl r;

	rl_init(&r, &c, 0);
	cr_assert(rl_consume(&r, 80, 1, 0));
	cr_assert_eq(r.bytes.burst, 0);
	cr_assert_eq(r.bytes.tokens, 70);
}

Test(ratelimit, debt_waits_exactly_long_enough)
{
	struct rl_config c = bytes_cfg(100, 0, 1000); /* 100 B/s: 10 ms a byte */
	struct rl r;
	uint64_t w;

	rl_init(&r, &c, 5 * SEC);
	cr_assert(rl_consume(&r, 350, 1, 5 * SEC), "a full bucket lets anything through");
	cr_assert_eq(r.bytes.tokens, -250);
	w = rl_wait_ns(&r, 5 * SEC);
	cr_assert_eq(w, 251 * 10 * MS);
	cr_assert_not(rl_consume(&r, 1, 1, 5 * SEC + w - 1));
	cr_assert_eq(rl_wait_ns(&r, 5 * SEC + w - 1), 1);
	cr_assert(rl_consume(&r, 1, 1, 5 * SEC + w));
}

Test(ratelimit, wait_is_exact_for_uneven_rates)
{
	struct rl_config c = { .ops = { 3, 0, 1000, 0 } }; /* 3/s: 333333333.3 ns each */
	struct rl r;
	uint64_t t = 0;

	rl_init(&r, &c, 0);
	cr_assert(rl_consume(&r, 0, 3, 0));
	for (int i = 0; i < 300; i++) {
		uint64_t w = rl_wait_ns(&r, t);

		cr_assert_not(rl_consume(&r, 0, 1, t + w - 1), "request %d early", i);
		t += w;
		cr_assert(rl_consume(&r, 0, 1, t), "request %d on time", i);
	}
	/* 300 operations at 3/s: exactly 100 s, no drift from rounding. */
	cr_assert_eq(t, 100 * SEC);
}

Test(ratelimit, both_buckets_must_allow)
{
	struct rl_config c = { .bytes = { 1000, 0, 1000, 0 }, .ops = { 1, 0, 100, 0 } };
	struct rl r;

	rl_init(&r, &c, 0);
	cr_assert(rl_consume(&r, 10, 1, 0));
	cr_assert_not(rl_consume(&r, 10, 1, 0), "ops bucket empty");
	cr_assert_eq(r.bytes.tokens, 990, "nothing taken when throttled");
	cr_assert_eq(rl_wait_ns(&r, 0), 100 * MS);
	cr_assert(rl_consume(&r, 2000, 1, 100 * MS));
	/* Now the bytes bucket is in debt: 0-byte requests wait too (in order). */
	cr_assert_not(rl_consume(&r, 0, 1, 200 * MS));
	cr_assert_gt(rl_wait_ns(&r, 200 * MS), 800 * MS);
}

Test(ratelimit, update_keeps_levels)
{
	struct rl_config c = bytes_cfg(1000, 0, 1000);
	struct rl r;

	rl_init(&r, &c, 0);
	cr_assert(rl_consume(&r, 800, 1, 0));
	c = bytes_cfg(5000, 0, 1000);
	rl_update(&r, &c, 0);
	cr_assert_eq(r.bytes.tokens, 200, "a bigger bucket is not filled up");
	c = bytes_cfg(100, 300, 1000);
	rl_update(&r, &c, 0);
	cr_assert_eq(r.bytes.tokens, 100, "capped to the new size");
	cr_assert_eq(r.bytes.burst, 300, "the new burst");
	cr_assert_eq(r.bytes.cfg.size, 100);
	/* Refill at the new rate: 100 B/s. */
	cr_assert(rl_consume(&r, 500, 1, 0));
	cr_assert_eq(r.bytes.tokens, -100);
	cr_assert_eq(rl_wait_ns(&r, 0), 1010 * MS);
	/* Debt survives a change of rate and is repaid at the new one. */
	c = bytes_cfg(1000, 0, 100);
	rl_update(&r, &c, 0);
	cr_assert_eq(r.bytes.tokens, -100);
	cr_assert_eq(rl_wait_ns(&r, 0), 101 * 100 * 1000ull);
}

Test(ratelimit, update_to_and_from_unlimited)
{
	struct rl_config c = bytes_cfg(100, 0, 1000), none = { 0 };
	struct rl r;

	rl_init(&r, &c, 0);
	cr_assert(rl_consume(&r, 10000, 1, 0));
	cr_assert_not(rl_consume(&r, 1, 1, 0));
	rl_update(&r, &none, 0);
	cr_assert(rl_unlimited(&r));
	cr_assert(rl_consume(&r, 1, 1, 0), "the debt is forgotten");
	cr_assert_eq(rl_wait_ns(&r, 0), 0);
	rl_update(&r, &c, 0);
	cr_assert_eq(r.bytes.tokens, 100, "a bucket that becomes limited starts full");
	cr_assert(rl_consume(&r, 100, 1, 0));
	cr_assert_not(rl_consume(&r, 1, 1, 0));
}

Test(ratelimit, unlimited)
{
	struct rl_config none = { 0 }, only_ops = { .ops = { 10, 0, 1000, 0 } };
	struct rl r;

	rl_init(&r, &none, 0);
	cr_assert(rl_unlimited(&r));
	for (int i = 0; i < 1000; i++)
		cr_assert(rl_consume(&r, UINT64_MAX, UINT64_MAX, 0));
	cr_assert_eq(rl_wait_ns(&r, 0), 0);
	rl_init(&r, &only_ops, 0);
	cr_assert_not(rl_unlimited(&r));
	for (int i = 0; i < 10; i++)
		cr_assert(rl_consume(&r, 1ull << 40, 1, 0), "bytes do not count");
	cr_assert_not(rl_consume(&r, 0, 1, 0));
}

Test(ratelimit, extremes_do_not_overflow)
{
	struct rl_config c = bytes_cfg(RL_TOKENS_MAX, RL_TOKENS_MAX, RL_REFILL_MS_MAX);
	uint64_t day = RL_REFILL_MS_MAX * MS, w, t;
	struct rl r;

	cr_assert_eq(rl_check(&c), 0);
	rl_init(&r, &c, 0);
	cr_assert(rl_consume(&r, 3 * RL_TOKENS_MAX, 1, 0));
	cr_assert_eq(r.bytes.tokens, -(int64_t)RL_TOKENS_MAX);
	w = rl_wait_ns(&r, 0);
	/* (2^40 + 1) tokens at 2^40 a day. */
	cr_assert_eq(w, day + (day + RL_TOKENS_MAX - 1) / RL_TOKENS_MAX);
	cr_assert_not(rl_consume(&r, 1, 1, w - 1));
	cr_assert(rl_consume(&r, 1, 1, w));
	/* Years later: full, no wrap-around. */
	t = 50ull * 365 * 24 * 3600 * SEC;
	cr_assert(rl_consume(&r, 1, 1, t));
	cr_assert_eq(r.bytes.tokens, (int64_t)RL_TOKENS_MAX - 1);
	/* A tiny, slow bucket: one token a day, in debt by a lot. */
	c = bytes_cfg(1, 0, RL_REFILL_MS_MAX);
	rl_init(&r, &c, 0);
	cr_assert(rl_consume(&r, RL_TOKENS_MAX, 1, 0));
	w = rl_wait_ns(&r, 0);
	cr_assert_eq(w, UINT64_MAX, "beyond 2^64 ns: saturates");
	/* A clock that goes backwards earns nothing and breaks nothing. */
	c = bytes_cfg(1000, 0, 1000);
	rl_init(&r, &c, 10 * SEC);
	cr_assert(rl_consume(&r, 1000, 1, 10 * SEC));
	cr_assert_not(rl_consume(&r, 1, 1, 1 * SEC));
	cr_assert_eq(rl_wait_ns(&r, 10 * SEC), 1 * MS);
}

Test(ratelimit, check_rejects_bad_configs)
{
	struct rl_config c;

	c = bytes_cfg(100, 0, 0);
	cr_assert_eq(rl_check(&c), -EINVAL, "no refill time");
	c = bytes_cfg(RL_TOKENS_MAX + 1, 0, 100);
	cr_assert_eq(rl_check(&c), -EINVAL);
	c = bytes_cfg(100, RL_TOKENS_MAX + 1, 100);
	cr_assert_eq(rl_check(&c), -EINVAL);
	c = bytes_cfg(100, 0, RL_REFILL_MS_MAX + 1);
	cr_assert_eq(rl_check(&c), -EINVAL);
	c = bytes_cfg(0, 5, 0);
	cr_assert_eq(rl_check(&c), -EINVAL, "burst without a bucket");
	c = (struct rl_config){ .ops = { 1, 0, 0, 0 } };
	cr_assert_eq(rl_check(&c), -EINVAL);
	cr_assert(strstr(err_msg(), "ops"), "%s", err_msg());
	c = (struct rl_config){ 0 };
	cr_assert_eq(rl_check(&c), 0);
}

/* ---- options ---- */

Test(ratelimit, parse_every_key)
{
	struct rl_config c;

	c = parse("bps=10M");
	cr_assert_eq(c.bytes.size, 1048576);
	cr_assert_eq(c.bytes.refill_ms, 100);
	cr_assert_eq(c.bytes.rate, 0, "rate is cleared");
	cr_assert_eq(c.ops.size, 0);

	c = parse("bps=1g bps_refill_ms=1000 bps_burst=64k");
	cr_assert_eq(c.bytes.size, 1ull << 30);
	cr_assert_eq(c.bytes.refill_ms, 1000);
	cr_assert_eq(c.bytes.one_time_burst, 65536);

	c = parse("bps_size=64K bps_refill_ms=50");
	cr_assert_eq(c.bytes.size, 65536);
	cr_assert_eq(c.bytes.refill_ms, 50);

	c = parse("bps_size=1M bps=10M");
	cr_assert_eq(c.bytes.size, 1 << 20, "size overrides the rate");
	cr_assert_eq(c.bytes.refill_ms, 100, "the rate gives the refill time");

	c = parse("bps_refill_ms=20 bps=1T");
	cr_assert_eq(c.bytes.size, (1ull << 40) / 50, "order does not matter");

	c = parse("iops=100");
	cr_assert_eq(c.ops.size, 10);
	cr_assert_eq(c.ops.refill_ms, 100);
	cr_assert_eq(c.bytes.size, 0);

	c = parse("iops=15");
	cr_assert_eq(c.ops.size, 15, "uneven small rate: exact over 1 s");
	cr_assert_eq(c.ops.refill_ms, 1000);

	c = parse("iops=2K iops_burst=1k");
	cr_assert_eq(c.ops.size, 200, "K is 1000 for operations");
	cr_assert_eq(c.ops.one_time_burst, 1000);

	c = parse("iops_size=7 iops_refill_ms=3");
	cr_assert_eq(c.ops.size, 7);
	cr_assert_eq(c.ops.refill_ms, 3);

	c = parse("bps=1M bps=2M");
	cr_assert_eq(c.bytes.size, 2 * 1048576 / 10, "the last wins");

	c = parse("bps=0");
	cr_assert_eq(c.bytes.size, 0, "0: unlimited");
}

Test(ratelimit, parse_other_keys_are_not_ours)
{
	struct rl_config c = { 0 };

	cr_assert_eq(rl_parse_option("path", "x", &c), 0);
	cr_assert_eq(rl_parse_option("bpsx", "1", &c), 0);
	cr_assert_eq(rl_parse_option("rx_bps", "1", &c), 0, "prefixes are the caller's");
	cr_assert_eq(rl_parse_option("", "1", &c), 0);
}

static void bad_value(const char *key, const char *val)
{
	struct rl_config c = { 0 }, zero = { 0 };

	cr_assert_eq(rl_parse_option(key, val, &c), -EINVAL, "%s=%s accepted", key, val);
	cr_assert(strstr(err_msg(), key), "message names the key: %s", err_msg());
	cr_assert_eq(memcmp(&c, &zero, sizeof(c)), 0, "%s=%s changed the config", key, val);
}

Test(ratelimit, parse_bad_values)
{
	bad_value("bps", "abc");
	bad_value("bps", "-1");
	bad_value("bps", "+1");
	bad_value("bps", "");
	bad_value("bps", " 1");
	bad_value("bps", "1 ");
	bad_value("bps", "1X");
	bad_value("bps", "1KB");
	bad_value("bps", "1.5M");
	bad_value("bps", "99999999999999999999");
	bad_value("bps", "18446744073709551615");
	bad_value("bps", "20000000T");
	bad_value("bps_size", "2T");
	bad_value("bps_burst", "1099511627777");
	bad_value("bps_refill_ms", "0");
	bad_value("bps_refill_ms", "1K");
	bad_value("bps_refill_ms", "86400001");
	bad_value("iops", "x");
	bad_value("iops_size", "-5");
	bad_value("iops_refill_ms", "0");
	bad_value("iops_burst", "1e3");
}

static void bad_finish(const char *key, const char *val, const char *key2, const char *val2)
{
	struct rl_config c = { 0 };

	cr_assert_eq(rl_parse_option(key, val, &c), 1);
	if (key2)
		cr_assert_eq(rl_parse_option(key2, val2, &c), 1);
	cr_assert_eq(rl_parse_finish(&c), -EINVAL, "%s=%s %s=%s accepted", key, val,
		     key2 ? key2 : "", key2 ? val2 : "");
}

Test(ratelimit, parse_finish_rejects)
{
	bad_finish("bps_burst", "1M", NULL, NULL);
	bad_finish("bps_refill_ms", "100", NULL, NULL);
	bad_finish("bps_size", "1M", NULL, NULL);
	bad_finish("iops_size", "10", NULL, NULL);
	bad_finish("iops", "5", "iops_refill_ms", "100"); /* half an operation per refill */
	bad_finish("bps", "1T", "bps_refill_ms", "2000"); /* a bucket over 2^40 */
	bad_finish("bps_size", "1T", "bps", "1");	  /* refilled in 35 years */
}

Test(ratelimit, describe)
{
	char buf[128];
	struct rl_config c = { 0 };

	cr_assert_str_eq(rl_describe(&c, buf, sizeof(buf)), "none");
	c = parse("bps=10M iops=100");
	cr_assert_str_eq(rl_describe(&c, buf, sizeof(buf)), "bps=10M iops=100");
	c = parse("iops=15");
	cr_assert_str_eq(rl_describe(&c, buf, sizeof(buf)), "iops=15");
	c = parse("bps=4K bps_refill_ms=250 bps_burst=1G");
	cr_assert_str_eq(rl_describe(&c, buf, sizeof(buf)),
			 "bps=4K bps_refill_ms=250 bps_burst=1G");
	c = parse("bps_size=1000 bps_refill_ms=3");
	cr_assert_str_eq(rl_describe(&c, buf, sizeof(buf)), "bps_size=1000 bps_refill_ms=3");
	c = parse("bps=1M");
	cr_assert_str_eq(rl_describe(&c, buf, sizeof(buf)), "bps=1048570", "the rate in effect");
	c = parse("iops_size=5 iops_refill_ms=1000 iops_burst=2000");
	cr_assert_str_eq(rl_describe(&c, buf, sizeof(buf)), "iops=5 iops_burst=2000");
	cr_assert_str_eq(rl_describe(&c, buf, 7), "iops=5", "truncated");
	cr_assert_str_eq(rl_describe(&c, buf, 1), "");
}

Test(ratelimit, describe_round_trips)
{
	static const char *const cases[] = {
		"bps=10M",
		"bps=1M iops=15",
		"bps_size=12345 bps_refill_ms=7 iops_size=3 iops_refill_ms=1000 iops_burst=9",
		"bps=1T bps_refill_ms=1",
		"bps_size=1T bps_refill_ms=86400000 bps_burst=1T",
		"iops=1 iops_refill_ms=1000",
		"bps=999 bps_burst=1",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rl_config a = parse(cases[i]), b;
		char buf[256];

		rl_describe(&a, buf, sizeof(buf));
		b = parse(buf);
		cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0, "%s -> %s", cases[i], buf);
	}
}
