/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Token-bucket rate limiting for devices (the model Firecracker uses): a
 * limiter has up to two buckets, bytes and operations.  A bucket has a
 * size (tokens it holds when full), a refill time (how long an empty
 * bucket takes to fill: the rate is size / refill_time) and a one-time
 * burst (extra tokens spent first and never refilled).  A bucket with size
 * 0 does not limit.
 *
 * Requests are never split and never refused: rl_consume() lets a request
 * through whenever every limiting bucket holds at least one token (or its
 * burst is not spent), whatever the request costs in that bucket (0
 * included: requests stay in order), and takes all of its cost, so a bucket
 * may go into debt; the next request waits until the debt is repaid.  Over
 * any interval the throughput is then the refill rate (plus the bucket
 * size and the burst, once), whatever the request sizes.
 *
 * Integer arithmetic only (128-bit intermediates): exact for sizes and
 * bursts up to RL_TOKENS_MAX and refill times up to RL_REFILL_MS_MAX, over
 * any span of time.
 *
 * Pure state (no clock, no fds): callers pass the monotonic time in ns, so
 * unit tests and fuzzers drive it deterministically.  Not thread-safe: the
 * owning device serialises.
 */
#ifndef CLONE_LIB_RATELIMIT_H
#define CLONE_LIB_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RL_TOKENS_MAX (1ull << 40)	       /* size and one_time_burst */
#define RL_REFILL_MS_MAX (24ull * 3600 * 1000) /* one day */

struct rl_bucket_config {
	uint64_t size;		 /* tokens (bytes or operations); 0: unlimited */
	uint64_t one_time_burst; /* extra tokens, spent before the bucket */
	uint64_t refill_ms;	 /* time to refill size tokens; >= 1 when size > 0 */
	/*
	 * Parsing only: the rate bps=/iops= asked for (tokens/s).
	 * rl_parse_finish() turns it into size and refill_ms and clears it; the
	 * limiter ignores it.  0 everywhere else.
	 */
	uint64_t rate;
};

struct rl_config {
	struct rl_bucket_config bytes; /* "bandwidth" in Firecracker's API */
	struct rl_bucket_config ops;
};

struct rl_bucket {
	struct rl_bucket_config cfg;
	int64_t tokens;	  /* may be negative: debt */
	uint64_t burst;	  /* one-time burst left */
	uint64_t last_ns; /* last refill */
	uint64_t frac;	  /* sub-token refill remainder (token * ns units, < refill time in ns) */
};

struct rl {
	struct rl_bucket bytes, ops;
};

/*
 * Is c usable by a limiter: every bucket either unlimited (size 0, then
 * burst 0 too) or with size and burst <= RL_TOKENS_MAX and refill_ms in
 * 1..RL_REFILL_MS_MAX?  0 or -EINVAL with the message set.
 */
int rl_check(const struct rl_config *c);
/* A limiter from c (rl_check()ed), buckets full, bursts unspent. */
void rl_init(struct rl *r, const struct rl_config *c, uint64_t now_ns);
/*
 * Change the configuration at run time: each bucket keeps its fill level
 * (capped to the new size) and gets the new burst.  A bucket that becomes
 * unlimited forgets its debt; one that becomes limited starts full.
 */
void rl_update(struct rl *r, const struct rl_config *c, uint64_t now_ns);
/* The configuration in use (rate is 0). */
void rl_get_config(const struct rl *r, struct rl_config *out);
/* True when neither bucket limits. */
bool rl_unlimited(const struct rl *r);
/*
 * Charge a request of `bytes` bytes and `ops` operations.  true: it may go
 * now (its cost is taken, perhaps into debt); false: throttled, nothing is
 * taken: try again after rl_wait_ns().
 */
bool rl_consume(struct rl *r, uint64_t bytes, uint64_t ops, uint64_t now_ns);
/*
 * Nanoseconds until rl_consume() can succeed again: 0 now, else exactly the
 * first instant at which it will (rl_consume() at now + wait succeeds, at
 * now + wait - 1 it does not).
 */
uint64_t rl_wait_ns(struct rl *r, uint64_t now_ns);

/*
 * Option parsing shared by --disk and --net.  Keys (values take K/M/G/T
 * suffixes, powers of 1024 for bytes, 1000 for operations):
 *   bps=RATE          bytes per second: size = RATE * refill_ms / 1000,
 *                     refill_ms = 100 unless bps_refill_ms= says otherwise
 *                     (1000 when RATE is under 10000 and not a multiple of
 *                     10, so that the rate stays exact)
 *   bps_burst=BYTES   one-time burst
 *   bps_size=BYTES    bucket size (Firecracker's "size"; overrides bps=, which
 *                     then only gives the refill time if bps_refill_ms= does not)
 *   bps_refill_ms=MS  refill time (1..RL_REFILL_MS_MAX)
 *   iops=RATE, iops_burst=N, iops_size=N, iops_refill_ms=MS: the same for operations
 * key comes without any device prefix: a NIC's caller strips "rx_"/"tx_"
 * and passes the key to the rx or tx config (both for an unprefixed key).
 * Returns 1 when key was a rate-limit key and was applied (a repeated key:
 * the last wins), 0 when key is not one, -EINVAL (message set, naming the
 * key) for a bad value: not a number, negative, a bad suffix, over
 * RL_TOKENS_MAX, a refill time of 0.  rl_parse_finish() checks the result
 * (a burst or refill time without a size or rate, a size too large...) and
 * derives size and refill_ms from rates; 0 or -EINVAL.
 */
int rl_parse_option(const char *key, const char *val, struct rl_config *c);
int rl_parse_finish(struct rl_config *c);
/*
 * Summary for status output, in the option syntax rl_parse_option() reads
 * back to the same config: "bps=10M iops=100", "bps_size=1000
 * bps_refill_ms=3 bps_burst=4K"...; "none" when nothing limits.  Truncated
 * to cap (NUL included); returns buf.
 */
char *rl_describe(const struct rl_config *c, char *buf, unsigned cap);

#endif
