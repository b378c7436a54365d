/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Errors carry their message from where they are born.  A failing function
 * returns -errno and records one line of context in a thread-local buffer;
 * callers pass the code up untouched and the boundary (main.c, the control
 * server) prints err_msg().  Nothing is logged twice.
 */
#ifndef CLONE_LIB_ERR_H
#define CLONE_LIB_ERR_H

/* Record "<fmt>: strerror(-code)" and return code (a negative errno). */
int err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Record "<fmt>" alone (the message already says everything) and return code. */
int err_setx(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The last message recorded on this thread; never NULL. */
const char *err_msg(void);
/* Forget the last message. */
void err_clear(void);

#endif
