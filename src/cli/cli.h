/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Subcommands.  Each returns the process exit code (see main.c for the
 * table); main.c is the only place that exits.
 */
#ifndef CLONE_CLI_CLI_H
#define CLONE_CLI_CLI_H

#include "vmm/config.h"

/* Process exit codes. */
#define EXIT_OK 0
#define EXIT_RUNTIME 1	  /* the VMM could not go on */
#define EXIT_BAD_CONFIG 2 /* bad arguments or inputs */
#define EXIT_SECCOMP 148  /* a seccomp filter caught a syscall */
#define EXIT_SIGNAL_BASE                                                                           \
	149 /* fatal signals: 149 SIGBUS, 150 SIGSEGV, 151 SIGILL, 152 SIGFPE, 153 SIGABRT */

/* Parse `clone run` arguments into cfg: 0, CLI_HELP_SHOWN, or -EINVAL with the message set. */
#define CLI_HELP_SHOWN 1
int cli_run_parse(int argc, char **argv, struct vm_config *cfg);
int cli_run(int argc, char **argv, uint64_t start_ns);
void cli_run_usage(FILE *f);

#endif
