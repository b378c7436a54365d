// SPDX-License-Identifier: Apache-2.0
/*
 * Log sink and per-call-site rate limiting (see log.h).  Any thread: the
 * level and fd are plain words set before threads start; the rate-limit
 * state of a call site is updated under one small mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static enum log_level log_level = LOG_WARN;
static int log_fd = STDERR_FILENO;
static pthread_mutex_t log_rl_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

int log_parse_level(const char *s, enum log_level *out)
{
	for (unsigned i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (!strcmp(s, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void log_set_fd(int fd)
{
	log_fd = fd;
}

__attribute__((format(printf, 3, 0))) static void log_vmsg(enum log_level level, const char *tag,
							   const char *fmt, va_list ap)
{
	char buf[1024];
	struct timespec ts;
	int n, m;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(buf, sizeof(buf), "clone: %ld.%06ld %s: %s", (long)ts.tv_sec,
		     ts.tv_nsec / 1000, tag, level == LOG_ERR ? "error: " : "");
	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)!write(log_fd, buf, (size_t)n);
}

void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_vmsg(level, tag, fmt, ap);
	va_end(ap);
}

void log_msg_rl(struct log_rl *rl, enum log_level level, const char *tag, const char *fmt, ...)
{
	unsigned suppressed = 0;
	bool emit = false;
	uint64_t now = monotonic_ns();
	va_list ap;

	if (level > log_level)
		return;
	pthread_mutex_lock(&log_rl_lock);
	if (now - rl->window_start >= LOG_RL_PERIOD_NS) {
		suppressed = rl->suppressed;
		rl->window_start = now;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count < LOG_RL_BURST) {
		rl->count++;
		emit = true;
	} else {
		rl->suppressed++;
	}
	pthread_mutex_unlock(&log_rl_lock);
	if (suppressed)
		log_msg(level, tag, "%u similar messages suppressed", suppressed);
	if (!emit)
		return;
	va_start(ap, fmt);
	log_vmsg(level, tag, fmt, ap);
	va_end(ap);
}
