// SPDX-License-Identifier: Apache-2.0
/*
 * clone: argv → subcommand.  The only place in the tree that exits.
 *
 * Exit codes (asserted by the tests):
 *   0    success; the guest powered off or rebooted
 *   1    runtime error (no KVM, a KVM call failed, the guest could not run)
 *   2    bad arguments or inputs (flags, kernel file, hash, initrd)
 *   128+N  stopped cleanly by signal N (SIGTERM 143, SIGINT 130, SIGHUP 129)
 *   148  a seccomp filter caught a forbidden system call
 *   149+ fatal signal in the VMM: 149 SIGBUS, 150 SIGSEGV, 151 SIGILL, 152 SIGFPE, 153 SIGABRT
 *   240  no VM by that name (status, pause, resume, stop, kill, exec, attach)
 *   241  the VM has no guest agent (exec)
 *   242  a wait ran out: the agent did not come up (exec), or the VM did not stop
 *        within --timeout and was killed (stop)
 *   243  the VM's control socket refused us (permission denied)
 *   244  the VM's state does not allow the request (e.g. pause a paused VM)
 * clone exec exits with the command's own code (0-255), 128+N if signal N
 * ended it, 126 if it is not executable and 127 if it was not found.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/util.h"
#include "vmm/console.h"

static const int fatal_signals[] = { SIGBUS, SIGSEGV, SIGILL, SIGFPE, SIGABRT };

static void fatal_handler(int sig)
{
	static const char msg[] = "clone: fatal signal in the VMM\n";

	console_restore_terminal();
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	for (unsigned i = 0; i < ARRAY_SIZE(fatal_signals); i++)
		if (fatal_signals[i] == sig)
			_exit(EXIT_SIGNAL_BASE + (int)i);
	_exit(EXIT_SIGNAL_BASE + (int)ARRAY_SIZE(fatal_signals));
}

static void install_fatal_handlers(void)
{
	struct sigaction sa = { .sa_handler = fatal_handler, .sa_flags = SA_RESETHAND };

	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < ARRAY_SIZE(fatal_signals); i++)
		sigaction(fatal_signals[i], &sa, NULL);
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "list", cli_list },	      { "status", cli_status }, { "exec", cli_exec },
	{ "attach", cli_attach },     { "pause", cli_pause },	{ "resume", cli_resume },
	{ "stop", cli_stop },	      { "kill", cli_kill },	{ "net", cli_net },
	{ "limit", cli_limit },	      { "rootfs", cli_rootfs }, { "snapshot", cli_snapshot },
	{ "template", cli_template },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: clone COMMAND [OPTIONS]\n"
		   "A lightweight virtual machine monitor for Linux guests on KVM.\n"
		   "\n"
		   "Commands:\n"
		   "  run        boot a VM in the foreground (clone run --help)\n"
		   "  list       list the running VMs\n"
		   "  status     show a VM's state and its agent's last report\n"
		   "  exec       run a command in a VM through its agent\n"
		   "  attach     attach to a VM's console\n"
		   "  pause      pause a VM's vCPUs\n"
		   "  resume     resume a paused VM\n"
		   "  stop       shut a VM down (SIGKILL after --timeout)\n"
		   "  kill       SIGKILL a VM\n"
		   "  net        the host bridge of --net: up, down, status\n"
		   "  limit      change a running VM's disk or NIC rate limits\n"
		   "  snapshot   snapshot a running VM into a template\n"
		   "  fork       start VMs from a template, copy-on-write, in milliseconds\n"
		   "  restore    continue a template as a VM\n"
		   "  template   list, show or remove templates\n"
		   "  rootfs     build a bootable root file system image (rootfs create)\n"
		   "\n"
		   "  -h, --help     show this help\n"
		   "  -V, --version  show the version\n");
}

int main(int argc, char **argv)
{
	uint64_t start = monotonic_ns();

	install_fatal_handlers();
	if (argc < 2) {
		usage(stderr);
		return EXIT_BAD_CONFIG;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("clone %s\n", CLONE_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "run"))
		return cli_run(argc - 1, argv + 1, start);
	if (!strcmp(argv[1], "fork"))
		return cli_fork(argc - 1, argv + 1, start);
	if (!strcmp(argv[1], "restore"))
		return cli_restore(argc - 1, argv + 1, start);
	for (unsigned i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "clone: error: unknown command '%s' (see clone --help)\n", argv[1]);
	return EXIT_BAD_CONFIG;
}
