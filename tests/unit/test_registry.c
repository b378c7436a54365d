// SPDX-License-Identifier: Apache-2.0
/* Unit tests: the named-VM registry (src/vmm/registry.c), in a private CLONE_RUNTIME_DIR. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/err.h"
#include "vmm/registry.h"

static char base[64];
static char rt[128];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static void setup(void)
{
	snprintf(base, sizeof(base), "/tmp/clone-reg-XXXXXX");
	cr_assert_not_null(mkdtemp(base));
	snprintf(rt, sizeof(rt), "%s/rt", base);
	cr_assert_eq(setenv("CLONE_RUNTIME_DIR", rt, 1), 0);
}

static void teardown(void)
{
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	unsetenv("CLONE_RUNTIME_DIR");
}

TestSuite(registry, .init = setup, .fini = teardown);

static bool exists(const char *name, const char *ext)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s.%s", rt, name, ext);
	return lstat(p, &st) == 0;
}

static void write_file(const char *name, const char *ext, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s.%s", rt, name, ext);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(registry, dir_is_created_0700)
{
	char dir[256];
	struct stat st;

	cr_assert_eq(registry_dir(dir, sizeof(dir)), 0);
	cr_assert_str_eq(dir, rt);
	cr_assert_eq(lstat(rt, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0700);
}

Test(registry, claim_find_list_release)
{
	struct registry_claim c;
	struct registry_entry e, *v;
	uint64_t st;
	size_t n;

	cr_assert_eq(registry_claim("vm1", &c), 0, "%s", err_msg());
	cr_assert_eq(c.e.pid, getpid());
	cr_assert_eq(registry_proc_start_time(getpid(), &st), 0);
	cr_assert_eq(c.e.start_time, st);
	cr_assert(exists("vm1", "lock"));
	cr_assert(exists("vm1", "json"));

	cr_assert_eq(registry_find("vm1", &e), 0, "%s", err_msg());
	cr_assert_str_eq(e.name, "vm1");
	cr_assert_eq(e.pid, getpid());
	cr_assert_eq(e.start_time, st);
	cr_assert_eq(e.created, c.e.created);
	cr_assert(strstr(e.api, "/vm1.sock"));
	cr_assert(strstr(e.console, "/vm1.console"));
	cr_assert(strstr(e.log, "/vm1.log"));

	struct registry_claim c2;
	cr_assert_eq(registry_claim("a-vm", &c2), 0);
	cr_assert_eq(registry_list(&v, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(v[0].name, "a-vm"); /* sorted */
	cr_assert_str_eq(v[1].name, "vm1");
	free(v);

	/* the same process cannot claim a name twice either */
	struct registry_claim c3;
	cr_assert_eq(registry_claim("vm1", &c3), -EEXIST);

	registry_release(&c);
	registry_release(&c2);
	cr_assert_not(exists("vm1", "lock"));
	cr_assert_not(exists("vm1", "json"));
	cr_assert_eq(registry_find("vm1", &e), -ENOENT);
	cr_assert_str_eq(err_msg(), "no VM named 'vm1'");
	cr_assert_eq(registry_list(&v, &n), 0);
	cr_assert_eq(n, 0);
	free(v);
}

Test(registry, release_of_zeroed_claim_is_safe)
{
	struct registry_claim c;

	memset(&c, 0, sizeof(c));
	registry_release(&c);
	cr_assert_eq(fcntl(0, F_GETFD), 0, "stdin must not have been closed");
	registry_release(&c);
}

Test(registry, update_pid_rewrites_json)
{
	struct registry_claim c;
	struct registry_entry e;

	cr_assert_eq(registry_claim("upd", &c), 0);
	c.e.pid = 1;
	cr_assert_eq(registry_update_pid(&c), 0);
	cr_assert_eq(c.e.pid, getpid());
	cr_assert_eq(registry_find("upd", &e), 0);
	cr_assert_eq(e.pid, getpid());
	registry_release(&c);
}

/* A child claims name and waits; returns its pid, with *go the pipe that releases it. */
static pid_t child_holding(const char *name, int *go, bool release)
{
	int ready[2], gop[2];
	char b;
	pid_t pid;

	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(gop), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct registry_claim c;

		close(ready[0]);
		close(gop[1]);
		b = registry_claim(name, &c) ? 'n' : 'y';
		(void)!write(ready[1], &b, 1);
		(void)!read(gop[0], &b, 1);
		if (release)
			registry_release(&c);
		_exit(0); /* without release: like a SIGKILLed VMM */
	}
	close(ready[1]);
	close(gop[0]);
	cr_assert_eq(read(ready[0], &b, 1), 1);
	cr_assert_eq(b, 'y');
	close(ready[0]);
	*go = gop[1];
	return pid;
}

static void finish_child(pid_t pid, int go)
{
	int status;

	close(go);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

Test(registry, live_name_is_eexist)
{
	struct registry_claim c;
	struct registry_entry e, *v;
	char want[128];
	size_t n;
	int go;
	pid_t pid = child_holding("busy", &go, true);

	cr_assert_eq(registry_claim("busy", &c), -EEXIST);
	snprintf(want, sizeof(want), "a VM named busy is already running (pid %d)", (int)pid);
	cr_assert_str_eq(err_msg(), want);
	cr_assert_eq(registry_find("busy", &e), 0);
	cr_assert_eq(e.pid, pid);
	cr_assert_eq(registry_list(&v, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(v[0].pid, pid);
	free(v);
	finish_child(pid, go);
	cr_assert_eq(registry_find("busy", &e), -ENOENT);
	cr_assert_not(exists("busy", "lock"));
}

Test(registry, dead_holder_is_stale_and_removed)
{
	struct registry_entry e, *v;
	struct registry_claim c;
	size_t n;
	int go;
	pid_t pid = child_holding("dead", &go, false);

	finish_child(pid, go); /* exited without release */
	cr_assert(exists("dead", "lock"));
	cr_assert(exists("dead", "json"));
	write_file("dead", "sock", ""); /* leftovers of the dead VMM */
	write_file("dead", "console", "");
	cr_assert_eq(registry_list(&v, &n), 0);
	cr_assert_eq(n, 0);
	free(v);
	cr_assert_not(exists("dead", "lock"));
	cr_assert_not(exists("dead", "json"));
	cr_assert_not(exists("dead", "sock"));
	cr_assert_not(exists("dead", "console"));
	cr_assert_eq(registry_find("dead", &e), -ENOENT);

	/* and the name can be claimed again, over stale files too */
	pid = child_holding("dead", &go, false);
	finish_child(pid, go);
	cr_assert_eq(registry_claim("dead", &c), 0, "%s", err_msg());
	cr_assert_eq(registry_find("dead", &e), 0);
	cr_assert_eq(e.pid, getpid());
	registry_release(&c);
}

Test(registry, reused_pid_is_not_a_vm)
{
	struct registry_entry e, *v;
	uint64_t st;
	char json[512];
	size_t n;
	pid_t other = getppid();

	cr_assert_eq(registry_proc_start_time(other, &st), 0);
	cr_assert_eq(mkdir(rt, 0700), 0);
	snprintf(json, sizeof(json),
		 "{\"name\":\"reused\",\"pid\":%d,\"start_time\":%llu,\"created\":1}", (int)other,
		 (unsigned long long)st + 12345);
	write_file("reused", "lock", "");
	write_file("reused", "json", json);
	cr_assert_eq(registry_list(&v, &n), 0);
	cr_assert_eq(n, 0);
	free(v);
	cr_assert_not(exists("reused", "json"));
	cr_assert_not(exists("reused", "lock"));

	/* even with the lock held (by someone else), a wrong start time is no VM */
	char lp[256];
	snprintf(lp, sizeof(lp), "%s/held.lock", rt);
	int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(flock(fd, LOCK_EX), 0);
	snprintf(json, sizeof(json),
		 "{\"name\":\"held\",\"pid\":1,\"start_time\":%llu,\"created\":1}",
		 (unsigned long long)987654321);
	write_file("held", "json", json);
	cr_assert_eq(registry_find("held", &e), -ENOENT);
	cr_assert_eq(registry_list(&v, &n), 0);
	cr_assert_eq(n, 0);
	free(v);
	close(fd);

	/* a json naming another VM is not trusted either */
	cr_assert_eq(registry_proc_start_time(getpid(), &st), 0);
	snprintf(json, sizeof(json), "{\"name\":\"x\",\"pid\":%d,\"start_time\":%llu}",
		 (int)getpid(), (unsigned long long)st);
	fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_eq(flock(fd, LOCK_EX), 0);
	write_file("held", "json", json);
	cr_assert_eq(registry_find("held", &e), -ENOENT);
	close(fd);
}

Test(registry, proc_start_time)
{
	uint64_t a, b;

	cr_assert_eq(registry_proc_start_time(getpid(), &a), 0);
	cr_assert_eq(registry_proc_start_time(getpid(), &b), 0);
	cr_assert_eq(a, b);
	cr_assert_eq(registry_proc_start_time(1, &b), 0);
	cr_assert_leq(b, a);
	cr_assert_eq(registry_proc_start_time(0, &b), -ESRCH);
	cr_assert_eq(registry_proc_start_time(0x3fffffff, &b), -ESRCH);
}

Test(registry, name_validation)
{
	static const char *const good[] = {
		"a",	   "Z9",
		"0vm",	   "web-1",
		"a.b_c-d", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"
	};
	static const char *const bad[] = {
		"",
		"-a",
		".hidden",
		"_x",
		"a/b",
		"a b",
		"..",
		"é",
		"a\n",
		"a:b",
		"a*",
		"x~",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_eq(registry_check_name(good[i]), 0, "%s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(registry_check_name(bad[i]), -EINVAL, "'%s'", bad[i]);
	cr_assert_eq(registry_check_name(NULL), -EINVAL);

	struct registry_claim c;
	cr_assert_eq(registry_claim("../escape", &c), -EINVAL);
	cr_assert_eq(c.lock_fd, -1);
}

Test(registry, generated_names_are_valid_and_unique)
{
	char names[64][REGISTRY_NAME_MAX + 1];

	for (int i = 0; i < 64; i++) {
		char *dash1, *dash2;

		cr_assert_eq(registry_generate_name(names[i], sizeof(names[i])), 0);
		cr_assert_eq(registry_check_name(names[i]), 0, "%s", names[i]);
		dash1 = strchr(names[i], '-');
		cr_assert_not_null(dash1);
		dash2 = strchr(dash1 + 1, '-');
		cr_assert_not_null(dash2);
		cr_assert_eq(strlen(dash2 + 1), 4, "%s", names[i]);
		cr_assert_eq(strspn(dash2 + 1, "0123456789abcdef"), 4, "%s", names[i]);
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(names[i], names[j]);
	}
	char small[8];
	cr_assert_eq(registry_generate_name(small, sizeof(small)), -ENAMETOOLONG);
}

Test(registry, refuses_unsafe_dirs)
{
	char dir[256], link[200];

	cr_assert_eq(mkdir(rt, 0755), 0);
	cr_assert_eq(chmod(rt, 0755), 0);
	cr_assert_eq(registry_dir(dir, sizeof(dir)), -EPERM);
	cr_assert(strstr(err_msg(), "0755"), "%s", err_msg());
	struct registry_claim c;
	cr_assert_eq(registry_claim("x", &c), -EPERM);
	struct registry_entry e;
	cr_assert_eq(registry_find("x", &e), -EPERM);

	/* a symlink to a good directory is not good enough */
	cr_assert_eq(chmod(rt, 0700), 0);
	snprintf(link, sizeof(link), "%s/link", base);
	cr_assert_eq(symlink(rt, link), 0);
	setenv("CLONE_RUNTIME_DIR", link, 1);
	cr_assert_eq(registry_dir(dir, sizeof(dir)), -EPERM);

	/* a regular file */
	snprintf(link, sizeof(link), "%s/file", base);
	close(open(link, O_CREAT | O_WRONLY, 0600));
	setenv("CLONE_RUNTIME_DIR", link, 1);
	cr_assert_eq(registry_dir(dir, sizeof(dir)), -EPERM);

	/* owned by someone else (only root can set that up) */
	if (geteuid() == 0) {
		cr_assert_eq(chown(rt, 65534, 65534), 0);
		setenv("CLONE_RUNTIME_DIR", rt, 1);
		cr_assert_eq(registry_dir(dir, sizeof(dir)), -EPERM);
		cr_assert(strstr(err_msg(), "owned by"), "%s", err_msg());
	}
}

Test(registry, planted_symlinks_are_not_followed)
{
	char target[200], p[256], buf[64] = { 0 };
	struct registry_claim c;
	struct registry_entry e;
	struct stat st;
	FILE *f;

	cr_assert_eq(mkdir(rt, 0700), 0);
	snprintf(target, sizeof(target), "%s/victim", base);
	f = fopen(target, "w");
	fputs("precious", f);
	fclose(f);

	snprintf(p, sizeof(p), "%s/sym.json", rt);
	cr_assert_eq(symlink(target, p), 0);
	cr_assert_eq(registry_claim("sym", &c), 0, "%s", err_msg());
	cr_assert_eq(lstat(p, &st), 0);
	cr_assert(S_ISREG(st.st_mode), "NAME.json must have been replaced, not followed");
	f = fopen(target, "r");
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_assert_str_eq(buf, "precious");

	/* a symlink in place of the json of a held name is not read */
	cr_assert_eq(unlink(p), 0);
	cr_assert_eq(symlink(target, p), 0);
	cr_assert_eq(registry_find("sym", &e), -ENOENT);
	registry_release(&c);
	cr_assert_eq(stat(target, &st), 0, "release must not remove the symlink's target");

	/* a symlink as the lock is refused, not followed */
	snprintf(p, sizeof(p), "%s/sym2.lock", rt);
	cr_assert_eq(symlink(target, p), 0);
	cr_assert_eq(registry_claim("sym2", &c), -ELOOP);
	f = fopen(target, "r");
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_assert_str_eq(buf, "precious");
}
