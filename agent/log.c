// SPDX-License-Identifier: Apache-2.0
/*
 * clone-agent logging: one line per message to /dev/kmsg with a syslog
 * priority prefix, so it lands in the guest's dmesg and console; stderr
 * when started with --log-stderr (tests).  Used by the main process and by
 * session processes (each has its own copy of the fd, it is CLOEXEC).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static int log_fd = -1;
static bool use_stderr;

void alog_open(bool to_stderr)
{
	use_stderr = to_stderr;
	if (!to_stderr && log_fd < 0)
		log_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
}

static void __attribute__((format(printf, 2, 0))) vlog(int prio, const char *fmt, va_list ap)
{
	char line[512];
	int n, m;
	int saved = errno;

	n = snprintf(line, sizeof(line), "<%d>clone-agent[%d]: ", prio, (int)getpid());
	if (n < 0)
		n = 0;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (use_stderr || log_fd < 0) {
		/* stderr: drop the "<N>" prefix */
		const char *p = strchr(line, '>');
		ssize_t w = write(2, p + 1, (size_t)n - (size_t)(p + 1 - line));
		(void)w;
	} else {
		ssize_t w = write(log_fd, line, (size_t)n);
		(void)w;
	}
	errno = saved;
}

void alog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, fmt, ap);
	va_end(ap);
}

/* At most 10 messages per 5 s per process; the rest are counted and reported once. */
void alog_rl(int prio, const char *fmt, ...)
{
	static uint64_t window;
	static unsigned count, dropped;
	uint64_t now = agent_now_ms();
	va_list ap;

	if (now - window >= 5000) {
		if (dropped)
			alog(LOG_W, "%u messages suppressed", dropped);
		window = now;
		count = 0;
		dropped = 0;
	}
	if (++count > 10) {
		dropped++;
		return;
	}
	va_start(ap, fmt);
	vlog(prio, fmt, ap);
	va_end(ap);
}

uint64_t agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
