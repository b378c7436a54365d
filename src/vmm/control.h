/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM's side of the control socket: struct vm behind the API's ops
 * (src/api/server.h): status, pause/resume, graceful stop through the agent
 * or the ACPI power button, kill, and the agent's endpoint for `clone
 * exec`.  Event-loop thread.
 */
#ifndef CLONE_VMM_CONTROL_H
#define CLONE_VMM_CONTROL_H

struct vm;

/* Serve cfg->api_path (nothing without one).  0 or -errno with the message set. */
int control_start(struct vm *vm);
void control_stop(struct vm *vm);

#endif
