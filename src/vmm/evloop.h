/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event loop: the only epoll_wait in Clone.  One thread (the main
 * thread) runs it; device back-ends, signals, the console and (later) the
 * control socket register fds here.  evl_add/evl_del/evl_run run on the
 * loop thread; evl_stop and evl_wake may be called from any thread.
 */
#ifndef CLONE_VMM_EVLOOP_H
#define CLONE_VMM_EVLOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef void (*evl_fn)(void *opaque, uint32_t events);

struct evl_source;

/*
 * A call to run once on the loop thread, queued from any thread with
 * evl_defer() (a device's state changed on a vCPU thread and the loop must
 * change what it watches).  Owned by the caller; queued at most once.
 */
struct evl_deferred {
	void (*fn)(void *opaque);
	void *opaque;
	bool queued; /* guarded by the loop's defer_lock */
	struct evl_deferred *next;
};

struct evloop {
	int epfd;
	int wake_fd; /* eventfd: evl_stop() and evl_wake() */
	volatile bool stop;
	struct evl_source *sources;
	void (*wake_fn)(void *opaque); /* runs on the loop thread after evl_wake() */
	void *wake_opaque;
	pthread_mutex_t defer_lock;
	struct evl_deferred *deferred; /* queued calls, newest first */
};

int evl_init(struct evloop *l);
void evl_destroy(struct evloop *l);
/* Watch fd for events (EPOLLIN...); fn runs on the loop thread.  -EEXIST if fd is watched. */
int evl_add(struct evloop *l, int fd, uint32_t events, evl_fn fn, void *opaque);
/* Change the events watched on fd (0 pauses it). */
int evl_mod(struct evloop *l, int fd, uint32_t events);
int evl_del(struct evloop *l, int fd);
/* A periodic (interval_ns > 0) or one-shot timer; returns the timerfd (≥ 0) or -errno. */
int evl_timer(struct evloop *l, uint64_t first_ns, uint64_t interval_ns, evl_fn fn, void *opaque);
/*
 * Re-arm a timer made by evl_timer() as a one-shot firing in ns (0:
 * disarm; an expiry not yet dispatched is forgotten either way).  A
 * re-armable timer is made with evl_timer(l, 0, 0, ...), which fires at
 * once, and disarmed straight away.  Any thread (it only touches the
 * timerfd); 0 or -errno.
 */
int evl_timer_arm(struct evloop *l, int fd, uint64_t ns);
/* Run until evl_stop(); 0 or -errno. */
int evl_run(struct evloop *l);
/*
 * Wait up to timeout_ms (-1: forever) for events and dispatch them once:
 * the number of events, or -errno (tests drive a loop step by step).
 */
int evl_run_once(struct evloop *l, int timeout_ms);
/* Ask the loop to return (any thread, async-signal-safe). */
void evl_stop(struct evloop *l);
/* Run wake_fn on the loop thread soon (any thread, async-signal-safe). */
void evl_wake(struct evloop *l);
/*
 * Run d->fn(d->opaque) on the loop thread soon (any thread; not from a
 * signal handler).  A call already queued is not queued twice.
 */
void evl_defer(struct evloop *l, struct evl_deferred *d);
/* Forget d if it is queued (before freeing it; any thread). */
void evl_cancel(struct evloop *l, struct evl_deferred *d);

#endif
