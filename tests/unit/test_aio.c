// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: the block I/O worker pool (src/block/aio.c): every request
 * runs once and completes on its own context, slow requests do not hold
 * back fast ones, drain waits for running work.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <unistd.h>

#include "block/aio.h"

struct req {
	struct aio_req aio;
	int id;
	unsigned delay_us;
	atomic_int *runs;
};

static void work(struct aio_req *r)
{
	struct req *q = (struct req *)r;

	if (q->delay_us)
		usleep(q->delay_us);
	atomic_fetch_add(&q->runs[q->id], 1);
}

static void no_complete(struct aio_ctx *ctx, struct aio_req *done)
{
}

Test(aio, every_request_runs_once_and_completes)
{
	enum { N = 500 };
	static struct req reqs[N];
	static atomic_int runs[N];
	struct aio_pool *p;
	struct aio_ctx a, b;
	unsigned na = 0, nb = 0;

	cr_assert_eq(aio_pool_create(4, &p), 0);
	cr_assert_eq(aio_ctx_init(&a, p, NULL, no_complete, NULL), 0);
	cr_assert_eq(aio_ctx_init(&b, p, NULL, no_complete, NULL), 0);
	for (int i = 0; i < N; i++) {
		reqs[i] = (struct req){ .aio.work = work, .id = i, .runs = runs };
		aio_submit(i % 2 ? &b : &a, &reqs[i].aio);
	}
	aio_ctx_drain(&a);
	aio_ctx_drain(&b);
	for (struct aio_req *r = aio_ctx_take(&a); r; r = r->next, na++)
		cr_assert_eq(((struct req *)r)->id % 2, 0);
	for (struct aio_req *r = aio_ctx_take(&b); r; r = r->next, nb++)
		cr_assert_eq(((struct req *)r)->id % 2, 1);
	cr_assert_eq(na + nb, N);
	for (int i = 0; i < N; i++)
		cr_assert_eq(atomic_load(&runs[i]), 1);
	cr_assert_null(aio_ctx_take(&a));
	aio_ctx_destroy(&a);
	aio_ctx_destroy(&b);
	aio_pool_destroy(p);
}

Test(aio, slow_request_does_not_block_others)
{
	static struct req slow, fast[20];
	static atomic_int runs[21];
	struct aio_pool *p;
	struct aio_ctx c;

	cr_assert_eq(aio_pool_create(2, &p), 0);
	cr_assert_eq(aio_ctx_init(&c, p, NULL, no_complete, NULL), 0);
	slow = (struct req){ .aio.work = work, .id = 20, .delay_us = 300000, .runs = runs };
	aio_submit(&c, &slow.aio);
	for (int i = 0; i < 20; i++) {
		fast[i] = (struct req){ .aio.work = work, .id = i, .runs = runs };
		aio_submit(&c, &fast[i].aio);
	}
	/* The 20 fast ones finish on the other worker while the slow one still runs. */
	for (int spins = 0; spins < 2000; spins++) {
		int done = 0;

		for (int i = 0; i < 20; i++)
			done += atomic_load(&runs[i]);
		if (done == 20)
			break;
		usleep(1000);
	}
	for (int i = 0; i < 20; i++)
		cr_assert_eq(atomic_load(&runs[i]), 1);
	cr_assert_eq(atomic_load(&runs[20]), 0, "the slow request should still be running");
	aio_ctx_drain(&c);
	cr_assert_eq(atomic_load(&runs[20]), 1);
	aio_ctx_destroy(&c);
	aio_pool_destroy(p);
}
