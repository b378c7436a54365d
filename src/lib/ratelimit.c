// SPDX-License-Identifier: Apache-2.0
/*
 * Token buckets (see ratelimit.h).  A bucket refills lazily: on every call
 * the time since the last refill, times the size, plus the remainder kept
 * from last time, divided by the refill time in ns, gives whole tokens;
 * the remainder (frac) is kept, so refilling in many small steps adds
 * exactly what one big step would, and rl_wait_ns() can name the exact
 * nanosecond the next token arrives.  Products are taken in 128 bits, so
 * nothing overflows for any span of time.  Also the KEY=VALUE option
 * syntax shared by --disk and --net, and its inverse rl_describe().  Pure
 * state: no clock, no locks (the owning device serialises).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/ratelimit.h"
#include "lib/util.h"

typedef unsigned __int128 u128;

#define NS_PER_MS 1000000ull
#define DEBT_MAX (INT64_MAX / 2) /* saturate debt far from overflow */

/* ---- buckets ---- */

static bool limits(const struct rl_bucket *b)
{
	return b->cfg.size != 0;
}

static uint64_t refill_ns(const struct rl_bucket *b)
{
	return b->cfg.refill_ms * NS_PER_MS;
}

static void bucket_init(struct rl_bucket *b, const struct rl_bucket_config *c, uint64_t now)
{
	b->cfg = *c;
	b->cfg.rate = 0;
	b->tokens = limits(b) ? (int64_t)c->size : 0;
	b->burst = limits(b) ? c->one_time_burst : 0;
	b->last_ns = now;
	b->frac = 0;
}

/* Add the tokens earned since last_ns. */
static void refill(struct rl_bucket *b, uint64_t now)
{
	uint64_t dt, t;
	u128 total, add;

	if (!limits(b) || now <= b->last_ns)
		return; /* a clock that went back earns nothing */
	dt = now - b->last_ns;
	b->last_ns = now;
	if (b->tokens >= (int64_t)b->cfg.size) {
		b->frac = 0;
		return;
	}
	t = refill_ns(b);
	total = (u128)dt * b->cfg.size + b->frac;
	add = total / t;
	if (add >= (u128)((__int128)b->cfg.size - b->tokens)) {
		b->tokens = (int64_t)b->cfg.size;
		b->frac = 0;
		return;
	}
	b->tokens += (int64_t)add;
	b->frac = (uint64_t)(total % t);
}

static bool can_go(const struct rl_bucket *b)
{
	return !limits(b) || b->burst || b->tokens >= 1;
}

static void take(struct rl_bucket *b, uint64_t cost)
{
	uint64_t from_burst;
	__int128 left;

	if (!limits(b))
		return;
	from_burst = MIN(b->burst, cost);
	b->burst -= from_burst;
	cost -= from_burst;
	left = (__int128)b->tokens - cost;
	b->tokens = left < -(__int128)DEBT_MAX ? -(int64_t)DEBT_MAX : (int64_t)left;
}

/* ns until b holds a token (b refilled to now). */
static uint64_t bucket_wait(const struct rl_bucket *b)
{
	u128 need, ns;

	if (can_go(b))
		return 0;
	need = (u128)(1 - (__int128)b->tokens) * refill_ns(b) - b->frac;
	ns = (need + b->cfg.size - 1) / b->cfg.size;
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

static int check_bucket(const struct rl_bucket_config *c, const char *name)
{
	if (!c->size) {
		if (c->one_time_burst)
			return err_setx(-EINVAL, "%s: a one-time burst needs a bucket size", name);
		return 0;
	}
	if (c->size > RL_TOKENS_MAX || c->one_time_burst > RL_TOKENS_MAX)
		return err_setx(-EINVAL, "%s: size and burst must be at most %llu", name,
				(unsigned long long)RL_TOKENS_MAX);
	if (!c->refill_ms || c->refill_ms > RL_REFILL_MS_MAX)
		return err_setx(-EINVAL, "%s: refill time must be 1..%llu ms", name,
				(unsigned long long)RL_REFILL_MS_MAX);
	return 0;
}

int rl_check(const struct rl_config *c)
{
	int ret = check_bucket(&c->bytes, "bandwidth");

	return ret ? ret : check_bucket(&c->ops, "ops");
}

void rl_init(struct rl *r, const struct rl_config *c, uint64_t now_ns)
{
	bucket_init(&r->bytes, &c->bytes, now_ns);
	bucket_init(&r->ops, &c->ops, now_ns);
}

static void bucket_update(struct rl_bucket *b, const struct rl_bucket_config *c, uint64_t now)
{
	refill(b, now);
	if (!limits(b) || !c->size) {
		/* Becoming limited starts full; becoming unlimited forgets the debt. */
		bucket_init(b, c, now);
		return;
	}
	b->cfg = *c;
	b->cfg.rate = 0;
	if (b->tokens > (int64_t)c->size)
		b->tokens = (int64_t)c->size;
	b->burst = c->one_time_burst;
	b->last_ns = now;
	b->frac = 0; /* under one token, in the old refill time's units */
}

void rl_update(struct rl *r, const struct rl_config *c, uint64_t now_ns)
{
	bucket_update(&r->bytes, &c->bytes, now_ns);
	bucket_update(&r->ops, &c->ops, now_ns);
}

void rl_get_config(const struct rl *r, struct rl_config *out)
{
	out->bytes = r->bytes.cfg;
	out->ops = r->ops.cfg;
}

bool rl_unlimited(const struct rl *r)
{
	return !limits(&r->bytes) && !limits(&r->ops);
}

bool rl_consume(struct rl *r, uint64_t bytes, uint64_t ops, uint64_t now_ns)
{
	refill(&r->bytes, now_ns);
	refill(&r->ops, now_ns);
	if (!can_go(&r->bytes) || !can_go(&r->ops))
		return false;
	take(&r->bytes, bytes);
	take(&r->ops, ops);
	return true;
}

uint64_t rl_wait_ns(struct rl *r, uint64_t now_ns)
{
	refill(&r->bytes, now_ns);
	refill(&r->ops, now_ns);
	return MAX(bucket_wait(&r->bytes), bucket_wait(&r->ops));
}

/* ---- options ---- */

enum field { F_RATE, F_BURST, F_SIZE, F_REFILL };

static const struct key {
	const char *name;
	bool ops;
	enum field field;
} keys[] = {
	{ "bps", false, F_RATE },      { "bps_burst", false, F_BURST },
	{ "bps_size", false, F_SIZE }, { "bps_refill_ms", false, F_REFILL },
	{ "iops", true, F_RATE },      { "iops_burst", true, F_BURST },
	{ "iops_size", true, F_SIZE }, { "iops_refill_ms", true, F_REFILL },
};

/* Digits and an optional K/M/G/T suffix (powers of base); 0 or -EINVAL. */
static int parse_num(const char *s, uint64_t base, bool suffix, uint64_t *out)
{
	static const char units[] = "KMGT";
	unsigned long long v = 0;
	const char *p = s, *u;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (unsigned)(*p - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (*p && suffix && (u = strchr(units, *p & ~0x20)) && *u && !p[1]) {
		for (long i = 0; i <= u - units; i++) {
			if (v > UINT64_MAX / base)
				return -EINVAL;
			v *= base;
		}
		p++;
	}
	if (*p)
		return -EINVAL;
	*out = v;
	return 0;
}

int rl_parse_option(const char *key, const char *val, struct rl_config *c)
{
	const struct key *k = NULL;
	struct rl_bucket_config *b;
	uint64_t v, max;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcmp(key, keys[i].name))
			k = &keys[i];
	if (!k)
		return 0;
	b = k->ops ? &c->ops : &c->bytes;
	if (k->field == F_REFILL) {
		if (parse_num(val, 1, false, &v) || !v || v > RL_REFILL_MS_MAX)
			return err_setx(-EINVAL, "%s=%s: expected milliseconds in 1..%llu", key,
					val, (unsigned long long)RL_REFILL_MS_MAX);
		b->refill_ms = v;
		return 1;
	}
	/* A rate may be 1000 times a size: 1 token per ms. */
	max = k->field == F_RATE ? RL_TOKENS_MAX * 1000 : RL_TOKENS_MAX;
	if (parse_num(val, k->ops ? 1000 : 1024, true, &v))
		return err_setx(
			-EINVAL,
			"%s=%s: expected a whole number with an optional K, M, G or T suffix", key,
			val);
	if (v > max)
		return err_setx(-EINVAL, "%s=%s is too large (at most %llu)", key, val,
				(unsigned long long)max);
	switch (k->field) {
	case F_RATE:
		b->rate = v;
		break;
	case F_BURST:
		b->one_time_burst = v;
		break;
	default:
		b->size = v;
		break;
	}
	return 1;
}

/* The refill time bps=RATE gets: 100 ms, or 1 s when 100 ms would round the rate by over 0.1 %. */
static uint64_t default_refill_ms(uint64_t rate)
{
	return rate % 10 == 0 || rate >= 10000 ? 100 : 1000;
}

static int finish_bucket(struct rl_bucket_config *b, const char *name)
{
	u128 v;

	if (!b->size && !b->rate) {
		if (b->one_time_burst || b->refill_ms)
			return err_setx(-EINVAL,
					"%s_burst and %s_refill_ms need %s= or %s_size=", name,
					name, name, name);
		*b = (struct rl_bucket_config){ 0 };
		return 0;
	}
	if (!b->size) {
		if (!b->refill_ms)
			b->refill_ms = default_refill_ms(b->rate);
		v = (u128)b->rate * b->refill_ms / 1000;
		if (!v)
			return err_setx(-EINVAL,
					"%s=%" PRIu64
					" is under one token per %s_refill_ms=%" PRIu64,
					name, b->rate, name, b->refill_ms);
		if (v > RL_TOKENS_MAX)
			return err_setx(-EINVAL,
					"%s=%" PRIu64 " with %s_refill_ms=%" PRIu64
					" makes a bucket over %llu",
					name, b->rate, name, b->refill_ms,
					(unsigned long long)RL_TOKENS_MAX);
		b->size = (uint64_t)v;
	} else if (!b->refill_ms) {
		if (!b->rate)
			return err_setx(-EINVAL, "%s_size needs %s_refill_ms= or %s=", name, name,
					name);
		/* A bucket of this size refilled at this rate. */
		v = ((u128)b->size * 1000 + b->rate - 1) / b->rate;
		if (v > RL_REFILL_MS_MAX)
			return err_setx(-EINVAL,
					"%s_size=%" PRIu64 " at %s=%" PRIu64
					" takes over %llu ms to refill",
					name, b->size, name, b->rate,
					(unsigned long long)RL_REFILL_MS_MAX);
		b->refill_ms = (uint64_t)v;
	}
	b->rate = 0;
	return 0;
}

int rl_parse_finish(struct rl_config *c)
{
	int ret = finish_bucket(&c->bytes, "bps");

	if (!ret)
		ret = finish_bucket(&c->ops, "iops");
	return ret ? ret : rl_check(c);
}

/* v with the largest K/M/G/T suffix (base 1024) that divides it exactly. */
static void fmt_bytes(char *out, size_t cap, uint64_t v)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && v && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(out, cap, "%" PRIu64, v);
	else
		snprintf(out, cap, "%" PRIu64 "%c", v, units[u]);
}

static void fmt_num(char *out, size_t cap, uint64_t v, bool ops)
{
	if (ops)
		snprintf(out, cap, "%" PRIu64, v);
	else
		fmt_bytes(out, cap, v);
}

struct sbuf {
	char *buf;
	size_t cap, len;
};

static void put(struct sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct sbuf *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->len >= s->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->len = MIN(s->cap, s->len + (size_t)n);
}

static void describe_bucket(struct sbuf *s, const struct rl_bucket_config *b, const char *name,
			    bool ops)
{
	char num[32];
	u128 per_s;

	if (!b->size || !b->refill_ms)
		return;
	per_s = (u128)b->size * 1000;
	if (per_s % b->refill_ms == 0 && per_s / b->refill_ms <= UINT64_MAX) {
		uint64_t rate = (uint64_t)(per_s / b->refill_ms);

		fmt_num(num, sizeof(num), rate, ops);
		put(s, "%s%s=%s", s->len ? " " : "", name, num);
		if (b->refill_ms != default_refill_ms(rate))
			put(s, " %s_refill_ms=%" PRIu64, name, b->refill_ms);
	} else {
		fmt_num(num, sizeof(num), b->size, ops);
		put(s, "%s%s_size=%s %s_refill_ms=%" PRIu64, s->len ? " " : "", name, num, name,
		    b->refill_ms);
	}
	if (b->one_time_burst) {
		fmt_num(num, sizeof(num), b->one_time_burst, ops);
		put(s, " %s_burst=%s", name, num);
	}
}

char *rl_describe(const struct rl_config *c, char *buf, unsigned cap)
{
	struct sbuf s = { .buf = buf, .cap = cap, .len = 0 };

	if (!cap)
		return buf;
	buf[0] = '\0';
	describe_bucket(&s, &c->bytes, "bps", false);
	describe_bucket(&s, &c->ops, "iops", true);
	if (!s.len)
		put(&s, "none");
	return buf;
}
