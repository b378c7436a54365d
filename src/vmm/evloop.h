/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event loop: the only epoll_wait in Clone.  One thread (the main
 * thread) runs it; device back-ends, signals, the console and (later) the
 * control socket register fds here.  evl_add/evl_del/evl_run run on the
 * loop thread; evl_stop and evl_wake may be called from any thread.
 */
#ifndef CLONE_VMM_EVLOOP_H
#define CLONE_VMM_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*evl_fn)(void *opaque, uint32_t events);

struct evl_source;

struct evloop {
	int epfd;
	int wake_fd; /* eventfd: evl_stop() and evl_wake() */
	volatile bool stop;
	struct evl_source *sources;
	void (*wake_fn)(void *opaque); /* runs on the loop thread after evl_wake() */
	void *wake_opaque;
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
/* Run until evl_stop(); 0 or -errno. */
int evl_run(struct evloop *l);
/* Ask the loop to return (any thread, async-signal-safe). */
void evl_stop(struct evloop *l);
/* Run wake_fn on the loop thread soon (any thread, async-signal-safe). */
void evl_wake(struct evloop *l);

#endif
