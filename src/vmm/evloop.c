// SPDX-License-Identifier: Apache-2.0
/*
 * epoll event loop (see evloop.h).  Sources are kept in a list owned by the
 * loop thread; other threads only touch the eventfd (evl_stop, evl_wake).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "evloop.h"
#include "lib/err.h"
#include "lib/util.h"

struct evl_source {
	int fd;
	evl_fn fn;
	void *opaque;
	bool timer; /* a timerfd the loop owns: read before dispatch, closed on removal */
	bool dead;
	struct evl_source *next;
};

static struct evl_source *find(struct evloop *l, int fd)
{
	for (struct evl_source *s = l->sources; s; s = s->next)
		if (s->fd == fd && !s->dead)
			return s;
	return NULL;
}

static void run_deferred(struct evloop *l)
{
	for (;;) {
		struct evl_deferred *d, **pp;

		/* Oldest first: the last of the list. */
		pthread_mutex_lock(&l->defer_lock);
		pp = &l->deferred;
		while (*pp && (*pp)->next)
			pp = &(*pp)->next;
		d = *pp;
		if (d) {
			*pp = NULL;
			d->queued = false;
		}
		pthread_mutex_unlock(&l->defer_lock);
		if (!d)
			return;
		d->fn(d->opaque);
	}
}

static void wake_cb(void *opaque, uint32_t events)
{
	struct evloop *l = opaque;
	uint64_t v;

	(void)!read(l->wake_fd, &v, sizeof(v));
	run_deferred(l);
	if (l->wake_fn)
		l->wake_fn(l->wake_opaque);
}

void evl_defer(struct evloop *l, struct evl_deferred *d)
{
	pthread_mutex_lock(&l->defer_lock);
	if (!d->queued) {
		d->queued = true;
		d->next = l->deferred;
		l->deferred = d;
	}
	pthread_mutex_unlock(&l->defer_lock);
	evl_wake(l);
}

void evl_cancel(struct evloop *l, struct evl_deferred *d)
{
	pthread_mutex_lock(&l->defer_lock);
	if (d->queued) {
		for (struct evl_deferred **pp = &l->deferred; *pp; pp = &(*pp)->next)
			if (*pp == d) {
				*pp = d->next;
				break;
			}
		d->queued = false;
	}
	pthread_mutex_unlock(&l->defer_lock);
}

int evl_init(struct evloop *l)
{
	int ret;

	memset(l, 0, sizeof(*l));
	l->wake_fd = -1;
	pthread_mutex_init(&l->defer_lock, NULL);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return err_set(-errno, "epoll_create1");
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake_fd < 0) {
		ret = err_set(-errno, "eventfd");
		goto fail;
	}
	ret = evl_add(l, l->wake_fd, EPOLLIN, wake_cb, l);
	if (ret)
		goto fail;
	return 0;
fail:
	evl_destroy(l);
	return ret;
}

static void free_dead(struct evloop *l)
{
	struct evl_source **pp = &l->sources;

	while (*pp) {
		struct evl_source *s = *pp;

		if (s->dead) {
			*pp = s->next;
			free(s);
		} else {
			pp = &s->next;
		}
	}
}

void evl_destroy(struct evloop *l)
{
	for (struct evl_source *s = l->sources; s; s = s->next)
		if (s->timer && !s->dead)
			close(s->fd);
	for (struct evl_source *s = l->sources; s; s = s->next)
		s->dead = true;
	free_dead(l);
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = l->wake_fd = -1;
}

int evl_add(struct evloop *l, int fd, uint32_t events, evl_fn fn, void *opaque)
{
	struct evl_source *s;
	struct epoll_event ev = { .events = events };

	if (find(l, fd))
		return err_setx(-EEXIST, "event loop: fd %d already watched", fd);
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(-ENOMEM, "event loop");
	*s = (struct evl_source){ .fd = fd, .fn = fn, .opaque = opaque };
	ev.data.ptr = s;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int ret = err_set(-errno, "epoll_ctl(ADD, fd %d)", fd);

		free(s);
		return ret;
	}
	s->next = l->sources;
	l->sources = s;
	return 0;
}

int evl_mod(struct evloop *l, int fd, uint32_t events)
{
	struct evl_source *s = find(l, fd);
	struct epoll_event ev = { .events = events };

	if (!s)
		return err_setx(-ENOENT, "event loop: fd %d not watched", fd);
	ev.data.ptr = s;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return err_set(-errno, "epoll_ctl(MOD, fd %d)", fd);
	return 0;
}

int evl_del(struct evloop *l, int fd)
{
	struct evl_source *s = find(l, fd);

	if (!s)
		return -ENOENT;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	if (s->timer)
		close(s->fd);
	/* Freed after the current dispatch round: an event for it may be pending. */
	s->dead = true;
	return 0;
}

int evl_timer(struct evloop *l, uint64_t first_ns, uint64_t interval_ns, evl_fn fn, void *opaque)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = first_ns / 1000000000ull,
			      .tv_nsec = first_ns % 1000000000ull },
		.it_interval = { .tv_sec = interval_ns / 1000000000ull,
				 .tv_nsec = interval_ns % 1000000000ull },
	};
	int fd, ret;

	if (!first_ns)
		its.it_value.tv_nsec = 1;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return err_set(-errno, "timerfd_create");
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		ret = err_set(-errno, "timerfd_settime");
		close(fd);
		return ret;
	}
	ret = evl_add(l, fd, EPOLLIN, fn, opaque);
	if (ret) {
		close(fd);
		return ret;
	}
	find(l, fd)->timer = true;
	return fd;
}

int evl_timer_arm(struct evloop *l, int fd, uint64_t ns)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull },
	};

	/* Setting a timerfd zeroes its expiry count, so a pending wake-up reads EAGAIN and is skipped. */
	if (timerfd_settime(fd, 0, &its, NULL) < 0)
		return err_set(-errno, "timerfd_settime");
	return 0;
}

int evl_run_once(struct evloop *l, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(l->epfd, evs, ARRAY_SIZE(evs), timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : err_set(-errno, "epoll_wait");
	for (int i = 0; i < n && !l->stop; i++) {
		struct evl_source *s = evs[i].data.ptr;

		if (s->dead)
			continue;
		if (s->timer) {
			uint64_t expirations;

			if (read(s->fd, &expirations, sizeof(expirations)) < 0)
				continue;
		}
		s->fn(s->opaque, evs[i].events);
	}
	free_dead(l);
	return n;
}

int evl_run(struct evloop *l)
{
	while (!l->stop) {
		int ret = evl_run_once(l, -1);

		if (ret < 0)
			return ret;
	}
	return 0;
}

void evl_stop(struct evloop *l)
{
	uint64_t one = 1;

	l->stop = true;
	(void)!write(l->wake_fd, &one, sizeof(one));
}

void evl_wake(struct evloop *l)
{
	uint64_t one = 1;

	(void)!write(l->wake_fd, &one, sizeof(one));
}
