// SPDX-License-Identifier: Apache-2.0
/*
 * nftables through the `nft` tool (see nft.h).  The script goes to
 * `nft -f -` from a memfd (so writing it can neither block nor raise
 * SIGPIPE whatever nft does), nft's stderr is captured in another memfd and
 * its first error line becomes the message.  nft is looked up in PATH and
 * then in the sbin directories that a user's PATH often lacks.  Runs in
 * the caller's network namespace.  Any thread (posix_spawn); no global
 * state.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/err.h"
#include "net/nft.h"

extern char **environ;

#define NFT_SBIN "/usr/sbin:/sbin:/usr/local/sbin"
#define ERR_MAX 4096

static bool find_in(const char *dirs, char *out, size_t len)
{
	const char *p = dirs;

	while (p && *p) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		struct stat st;

		if (n && (size_t)snprintf(out, len, "%.*s/nft", (int)n, p) < len &&
		    !stat(out, &st) && S_ISREG(st.st_mode) && !access(out, X_OK))
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

static int find_nft(char *out, size_t len)
{
	if (find_in(getenv("PATH"), out, len) || find_in(NFT_SBIN, out, len))
		return 0;
	return err_setx(-ENOENT, "nft not found: apt-get install nftables");
}

/* The first line of nft's stderr that says "Error", else the first non-empty one. */
static void first_error(char *text, char *out, size_t len)
{
	char *save = NULL, *first = NULL;

	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *e = strstr(l, "Error:");

		if (e) {
			snprintf(out, len, "%s", e);
			return;
		}
		if (!first && *l)
			first = l;
	}
	snprintf(out, len, "%s", first ? first : "failed without a message");
}

/* Run nft -f - with script; 0, or -EIO with the message when nft fails. */
static int run_nft(const char *script, const char *what, char *stderr_text, size_t stderr_len)
{
	posix_spawn_file_actions_t fa;
	char nft[256], *argv[] = { nft, (char *)"-f", (char *)"-", NULL };
	int in = -1, errfd = -1, ret, status;
	size_t len = strlen(script);
	pid_t pid;
	ssize_t n;

	stderr_text[0] = 0;
	ret = find_nft(nft, sizeof(nft));
	if (ret)
		return ret;
	in = memfd_create("nft-script", MFD_CLOEXEC);
	errfd = memfd_create("nft-stderr", MFD_CLOEXEC);
	if (in < 0 || errfd < 0) {
		ret = err_set(-errno, "memfd_create");
		goto out;
	}
	if (write(in, script, len) != (ssize_t)len || lseek(in, 0, SEEK_SET)) {
		ret = err_set(-errno, "writing the nft script");
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, errfd, STDERR_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	ret = posix_spawn(&pid, nft, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (ret) {
		ret = err_set(-ret, "running %s", nft);
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			ret = err_set(-errno, "waiting for nft");
			goto out;
		}
	}
	n = pread(errfd, stderr_text, stderr_len - 1, 0);
	stderr_text[n > 0 ? n : 0] = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		ret = 0;
	} else {
		char copy[ERR_MAX], line[512];

		snprintf(copy, sizeof(copy), "%s", stderr_text);
		first_error(copy, line, sizeof(line));
		if (WIFSIGNALED(status))
			ret = err_setx(-EIO, "nft (%s): killed by signal %d", what,
				       WTERMSIG(status));
		else
			ret = err_setx(-EIO, "nft (%s): %s", what, line);
	}
out:
	if (in >= 0)
		close(in);
	if (errfd >= 0)
		close(errfd);
	return ret;
}

int nft_apply(const char *script)
{
	char text[ERR_MAX];

	return run_nft(script, "applying rules", text, sizeof(text));
}

static int check_ident(const char *s)
{
	if (!s || !*s || strlen(s) > 64)
		return err_setx(-EINVAL, "invalid nftables name '%s'", s ? s : "");
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return err_setx(-EINVAL, "invalid nftables name '%s'", s);
	return 0;
}

int nft_delete_table(const char *family, const char *name)
{
	char script[256], text[ERR_MAX];
	int ret = check_ident(family) ?: check_ident(name);

	if (ret)
		return ret;
	/* add + delete in one transaction: no error when the table is absent */
	snprintf(script, sizeof(script), "add table %s %s\ndelete table %s %s\n", family, name,
		 family, name);
	return run_nft(script, "deleting a table", text, sizeof(text));
}

int nft_table_exists(const char *family, const char *name)
{
	char script[256], text[ERR_MAX];
	int ret = check_ident(family) ?: check_ident(name);

	if (ret)
		return ret;
	snprintf(script, sizeof(script), "list table %s %s\n", family, name);
	ret = run_nft(script, "listing a table", text, sizeof(text));
	if (ret == -EIO && strstr(text, "No such file or directory")) {
		err_clear();
		return 0;
	}
	return ret ? ret : 1;
}
