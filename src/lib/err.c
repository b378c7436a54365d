// SPDX-License-Identifier: Apache-2.0
/*
 * Thread-local error message buffer (see err.h).  Any thread; no locks.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static __thread char err_buf[512];

__attribute__((format(printf, 3, 0))) static void err_vformat(int code, bool with_errno,
							      const char *fmt, va_list ap)
{
	char tmp[sizeof(err_buf)];
	/* Through tmp: the arguments may include err_msg() itself (adding context). */
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);

	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(tmp) && with_errno && code < 0)
		snprintf(tmp + n, sizeof(tmp) - (size_t)n, ": %s", strerror(-code));
	memcpy(err_buf, tmp, sizeof(err_buf));
}

int err_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vformat(code, true, fmt, ap);
	va_end(ap);
	return code;
}

int err_setx(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vformat(code, false, fmt, ap);
	va_end(ap);
	return code;
}

const char *err_msg(void)
{
	return err_buf[0] ? err_buf : "unknown error";
}

void err_clear(void)
{
	err_buf[0] = '\0';
}
