/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Asynchronous block I/O: a small, bounded pool of worker threads that run
 * blocking image I/O (preadv/pwritev/fdatasync, qcow2 metadata) off the
 * event loop, so one slow request never stalls the others or the loop.
 * This is the thread-pool model QEMU uses for aio=threads.
 *
 * A device owns an aio_ctx; a request's work() runs on some worker, then
 * the request is queued on its context and the context's eventfd wakes the
 * event loop, where complete() gets every finished request in one batch
 * (so the device pushes used buffers and interrupts the guest once).
 * Workers never touch device state: they only do the I/O into the guest
 * buffers the request names.
 */
#ifndef CLONE_BLOCK_AIO_H
#define CLONE_BLOCK_AIO_H

#include <pthread.h>
#include <stdbool.h>

struct evloop;
struct aio_ctx;

struct aio_req {
	struct aio_req *next;
	void (*work)(struct aio_req *r); /* a worker thread: do the I/O, record the result */
	struct aio_ctx *ctx;
};

typedef void (*aio_complete_fn)(struct aio_ctx *ctx, struct aio_req *done);

struct aio_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct aio_req *head, **tail; /* submitted, not yet picked up */
	pthread_t *threads;
	unsigned nr_threads;
	bool stop;
};

struct aio_ctx {
	struct aio_pool *pool;
	struct evloop *loop;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	struct aio_req *done, **done_tail; /* finished, not yet completed */
	unsigned inflight;		   /* submitted and work() not finished */
	int efd;			   /* eventfd: done became non-empty */
	aio_complete_fn complete;	   /* loop thread: a NULL-terminated list */
	void *opaque;
};

#define AIO_DEFAULT_THREADS 4

/* Start nr_threads workers.  0 or -errno with the message set. */
int aio_pool_create(unsigned nr_threads, struct aio_pool **out);
/* Stop and join the workers (every context must be drained first). */
void aio_pool_destroy(struct aio_pool *p);

/* Register ctx's eventfd on loop; complete runs there.  0 or -errno. */
int aio_ctx_init(struct aio_ctx *ctx, struct aio_pool *p, struct evloop *loop,
		 aio_complete_fn complete, void *opaque);
/* Drain, then unregister (loop thread or before the loop runs). */
void aio_ctx_destroy(struct aio_ctx *ctx);

/* Queue r (any thread). */
void aio_submit(struct aio_ctx *ctx, struct aio_req *r);
/* Wait until no work() of ctx is running or queued (any thread but a worker). */
void aio_ctx_drain(struct aio_ctx *ctx);
/* Take the finished requests (NULL-terminated list, in completion order). */
struct aio_req *aio_ctx_take(struct aio_ctx *ctx);

#endif
