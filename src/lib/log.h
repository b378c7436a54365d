/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: "clone: 12.345678 tag: message" to stderr or --log-fd.
 * Each .c defines LOG_TAG before including this header.  Paths a guest can
 * trigger must use log_warn_rl(): at most LOG_RL_BURST messages per
 * LOG_RL_PERIOD_NS for each call site, then a count of what was suppressed.
 * Any thread; one write(2) per message, so lines never interleave.
 */
#ifndef CLONE_LIB_LOG_H
#define CLONE_LIB_LOG_H

#include <stdint.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

#define LOG_RL_BURST 10
#define LOG_RL_PERIOD_NS 5000000000ull

struct log_rl {
	uint64_t window_start;
	unsigned count;
	unsigned suppressed;
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error|warn|info|debug"; -EINVAL otherwise. */
int log_parse_level(const char *s, enum log_level *out);
void log_set_fd(int fd);
void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_msg_rl(struct log_rl *rl, enum log_level level, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#ifndef LOG_TAG
#define LOG_TAG "clone"
#endif

#define log_err(...) log_msg(LOG_ERR, LOG_TAG, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, LOG_TAG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, LOG_TAG, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, LOG_TAG, __VA_ARGS__)
#define log_warn_rl(...)                                                                           \
	do {                                                                                       \
		static struct log_rl log_rl_site_;                                                 \
		log_msg_rl(&log_rl_site_, LOG_WARN, LOG_TAG, __VA_ARGS__);                         \
	} while (0)

#endif
