// SPDX-License-Identifier: Apache-2.0
/*
 * The block I/O worker pool (see aio.h).  pool->lock guards the submission
 * queue; ctx->lock guards a context's finished list and in-flight count.
 * Workers take one lock at a time, so there is no lock order to keep.
 * Workers block every signal: SIGUSR1 kicks vCPUs and termination signals
 * belong to the event loop's signalfd.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "aio.h"
#include "lib/err.h"
#include "vmm/evloop.h"

static void finish(struct aio_req *r)
{
	struct aio_ctx *ctx = r->ctx;

	r->next = NULL;
	pthread_mutex_lock(&ctx->lock);
	if (!ctx->done) {
		uint64_t one = 1;

		/*
		 * Under the lock: once inflight drops, a drained context may be
		 * destroyed.  Cannot fail short of 2^64 - 1 pending wakeups.
		 */
		(void)!write(ctx->efd, &one, sizeof(one));
	}
	*ctx->done_tail = r;
	ctx->done_tail = &r->next;
	if (--ctx->inflight == 0)
		pthread_cond_broadcast(&ctx->idle);
	pthread_mutex_unlock(&ctx->lock);
}

static void *worker(void *arg)
{
	struct aio_pool *p = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct aio_req *r;

		while (!p->head && !p->stop)
			pthread_cond_wait(&p->work, &p->lock);
		if (!p->head)
			break; /* stopping, and nothing left */
		r = p->head;
		p->head = r->next;
		if (!p->head)
			p->tail = &p->head;
		pthread_mutex_unlock(&p->lock);
		r->work(r);
		finish(r);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int aio_pool_create(unsigned nr_threads, struct aio_pool **out)
{
	struct aio_pool *p = calloc(1, sizeof(*p));
	int ret;

	if (!p || !nr_threads)
		return free(p), err_set(-ENOMEM, "I/O worker pool");
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	p->tail = &p->head;
	p->threads = calloc(nr_threads, sizeof(*p->threads));
	if (!p->threads) {
		aio_pool_destroy(p);
		return err_set(-ENOMEM, "I/O worker pool");
	}
	for (; p->nr_threads < nr_threads; p->nr_threads++) {
		ret = pthread_create(&p->threads[p->nr_threads], NULL, worker, p);
		if (ret) {
			aio_pool_destroy(p);
			return err_set(-ret, "I/O worker thread");
		}
		pthread_setname_np(p->threads[p->nr_threads], "clone-io");
	}
	*out = p;
	return 0;
}

void aio_pool_destroy(struct aio_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nr_threads; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	free(p);
}

static void on_done(void *opaque, uint32_t events)
{
	struct aio_ctx *ctx = opaque;
	uint64_t n;
	struct aio_req *list;

	if (read(ctx->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	list = aio_ctx_take(ctx);
	if (list)
		ctx->complete(ctx, list);
}

int aio_ctx_init(struct aio_ctx *ctx, struct aio_pool *p, struct evloop *loop,
		 aio_complete_fn complete, void *opaque)
{
	int ret;

	memset(ctx, 0, sizeof(*ctx));
	ctx->pool = p;
	ctx->complete = complete;
	ctx->opaque = opaque;
	ctx->done_tail = &ctx->done;
	pthread_mutex_init(&ctx->lock, NULL);
	pthread_cond_init(&ctx->idle, NULL);
	ctx->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ctx->efd < 0)
		return err_set(-errno, "eventfd");
	if (loop) {
		ret = evl_add(loop, ctx->efd, EPOLLIN, on_done, ctx);
		if (ret) {
			close(ctx->efd);
			ctx->efd = -1;
			return ret;
		}
		ctx->loop = loop;
	}
	return 0;
}

void aio_ctx_destroy(struct aio_ctx *ctx)
{
	if (!ctx->pool)
		return;
	aio_ctx_drain(ctx);
	if (ctx->loop)
		evl_del(ctx->loop, ctx->efd);
	if (ctx->efd >= 0)
		close(ctx->efd);
	pthread_mutex_destroy(&ctx->lock);
	pthread_cond_destroy(&ctx->idle);
	ctx->pool = NULL;
}

void aio_submit(struct aio_ctx *ctx, struct aio_req *r)
{
	struct aio_pool *p = ctx->pool;

	r->ctx = ctx;
	r->next = NULL;
	pthread_mutex_lock(&ctx->lock);
	ctx->inflight++;
	pthread_mutex_unlock(&ctx->lock);
	pthread_mutex_lock(&p->lock);
	*p->tail = r;
	p->tail = &r->next;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

void aio_ctx_drain(struct aio_ctx *ctx)
{
	pthread_mutex_lock(&ctx->lock);
	while (ctx->inflight)
		pthread_cond_wait(&ctx->idle, &ctx->lock);
	pthread_mutex_unlock(&ctx->lock);
}

struct aio_req *aio_ctx_take(struct aio_ctx *ctx)
{
	struct aio_req *list;

	pthread_mutex_lock(&ctx->lock);
	list = ctx->done;
	ctx->done = NULL;
	ctx->done_tail = &ctx->done;
	pthread_mutex_unlock(&ctx->lock);
	return list;
}
