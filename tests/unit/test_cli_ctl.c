// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: the named-VM commands (src/cli/ctl.c, src/cli/exec.c):
 * argument parsing, formatting helpers, and exec's stream loop against a
 * fake agent on a socketpair.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/agent_proto.h"
#include "cli/cli.h"
#include "lib/err.h"
#include "lib/util.h"

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))
#define CTL(o, ...) cli_ctl_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o))
#define EXEC(o, ...) cli_exec_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o))

/* ---- ctl parsing ---- */

Test(cli_ctl, list)
{
	struct cli_ctl_opts o;

	cr_assert_eq(CTL(&o, "list"), 0);
	cr_assert_not(o.json);
	cr_assert_null(o.name);
	cr_assert_eq(CTL(&o, "list", "--json"), 0);
	cr_assert(o.json);
	cr_assert_eq(CTL(&o, "list", "extra"), -EINVAL);
	cr_assert_eq(CTL(&o, "list", "--bogus"), -EINVAL);
	cr_assert_eq(CTL(&o, "list", "--timeout", "3"), -EINVAL);
	cr_assert_eq(CTL(&o, "list", "-x"), -EINVAL);
	cr_assert_str_eq(err_msg(), "list: unknown option -x (see clone list --help)");
}

Test(cli_ctl, name_commands)
{
	static const char *const cmds[] = { "status", "pause", "resume", "stop", "kill" };
	struct cli_ctl_opts o;

	for (unsigned i = 0; i < ARRAY_SIZE(cmds); i++) {
		char *c = (char *)cmds[i];

		cr_assert_eq(CTL(&o, c, "vm1"), 0, "%s", c);
		cr_assert_str_eq(o.name, "vm1");
		cr_assert_eq(CTL(&o, c), -EINVAL, "%s: missing name", c);
		cr_assert(strstr(err_msg(), "which VM"), "%s", err_msg());
		cr_assert_eq(CTL(&o, c, "a", "b"), -EINVAL, "%s: two names", c);
		cr_assert_eq(CTL(&o, c, "--nope", "a"), -EINVAL, "%s", c);
	}
	cr_assert_eq(CTL(&o, "status", "--json", "vm"), 0);
	cr_assert(o.json);
	cr_assert_eq(CTL(&o, "status", "vm", "--json"), 0, "options after the name");
	cr_assert(o.json);
	cr_assert_eq(CTL(&o, "pause", "--json", "vm"), -EINVAL);
	cr_assert_eq(CTL(&o, "kill", "--timeout", "1", "vm"), -EINVAL);
	cr_assert_eq(CTL(&o, "resume", "-v", "vm"), -EINVAL);
}

Test(cli_ctl, stop_timeout)
{
	struct cli_ctl_opts o;

	cr_assert_eq(CTL(&o, "stop", "vm"), 0);
	cr_assert_eq(o.timeout_s, CLI_STOP_DEFAULT_TIMEOUT);
	cr_assert_not(o.verbose);
	cr_assert_eq(CTL(&o, "stop", "--timeout", "0", "vm"), 0);
	cr_assert_eq(o.timeout_s, 0);
	cr_assert_eq(CTL(&o, "stop", "--timeout=3600", "-v", "vm"), 0);
	cr_assert_eq(o.timeout_s, 3600);
	cr_assert(o.verbose);
	cr_assert_eq(CTL(&o, "stop", "vm", "--verbose"), 0);
	cr_assert(o.verbose);
	static const char *const bad[] = { "3601", "-1", "1.5", "", "ten", "99999999999999999999" };
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		cr_assert_eq(CTL(&o, "stop", "--timeout", (char *)bad[i], "vm"), -EINVAL, "%s",
			     bad[i]);
		cr_assert(strstr(err_msg(), "--timeout"), "%s", err_msg());
	}
	cr_assert_eq(CTL(&o, "stop", "vm", "--timeout"), -EINVAL);
	cr_assert(strstr(err_msg(), "needs a value"), "%s", err_msg());
}

Test(cli_ctl, help)
{
	struct cli_ctl_opts o;
	FILE *saved = stdout;

	stdout = fopen("/dev/null", "w");
	cr_assert_eq(CTL(&o, "stop", "--help"), CLI_HELP_SHOWN);
	cr_assert_eq(CTL(&o, "list", "-h"), CLI_HELP_SHOWN);
	struct cli_exec_opts e;
	cr_assert_eq(EXEC(&e, "exec", "-h"), CLI_HELP_SHOWN);
	fclose(stdout);
	stdout = saved;
}

/* The exit codes through main's dispatch: bad arguments are 2, no VM is 240. */
Test(cli_ctl, exit_codes_of_commands)
{
	char dir[] = "/tmp/clone-ctl-XXXXXX";
	FILE *saved = stderr;

	cr_assert_not_null(mkdtemp(dir));
	setenv("CLONE_RUNTIME_DIR", dir, 1);
	stderr = fopen("/dev/null", "w");
	cr_assert_eq(cli_stop(ARGC("stop"), ARGV("stop")), EXIT_BAD_CONFIG);
	cr_assert_eq(cli_stop(ARGC("stop", "--timeout", "4000", "x"),
			      ARGV("stop", "--timeout", "4000", "x")),
		     EXIT_BAD_CONFIG);
	cr_assert_eq(cli_status(ARGC("status", "nope"), ARGV("status", "nope")), EXIT_VM_NOT_FOUND);
	cr_assert_eq(cli_pause(ARGC("pause", "nope"), ARGV("pause", "nope")), EXIT_VM_NOT_FOUND);
	cr_assert_eq(cli_resume(ARGC("resume", "nope"), ARGV("resume", "nope")), EXIT_VM_NOT_FOUND);
	cr_assert_eq(cli_stop(ARGC("stop", "nope"), ARGV("stop", "nope")), EXIT_VM_NOT_FOUND);
	cr_assert_eq(cli_kill(ARGC("kill", "nope"), ARGV("kill", "nope")), EXIT_VM_NOT_FOUND);
	cr_assert_eq(cli_kill(ARGC("kill", "../x"), ARGV("kill", "../x")), EXIT_VM_NOT_FOUND);
	cr_assert_eq(
		cli_exec(ARGC("exec", "nope", "--", "true"), ARGV("exec", "nope", "--", "true")),
		EXIT_VM_NOT_FOUND);
	cr_assert_eq(cli_exec(ARGC("exec", "nope"), ARGV("exec", "nope")), EXIT_BAD_CONFIG);
	fclose(stderr);
	stderr = saved;
	cr_assert_eq(rmdir(dir), 0);
}

Test(cli_ctl, list_empty_json)
{
	char dir[] = "/tmp/clone-ctl-XXXXXX", *buf = NULL;
	size_t len = 0;
	FILE *saved = stdout;

	cr_assert_not_null(mkdtemp(dir));
	setenv("CLONE_RUNTIME_DIR", dir, 1);
	stdout = open_memstream(&buf, &len);
	cr_assert_eq(cli_list(ARGC("list", "--json"), ARGV("list", "--json")), EXIT_OK);
	fclose(stdout);
	stdout = saved;
	cr_assert_str_eq(buf, "[]\n");
	free(buf);
	rmdir(dir);
}

/* ---- exec parsing ---- */

Test(cli_exec, parse_full)
{
	struct cli_exec_opts o;
	char *argv[] = { "exec", "-t", "-i", "-e", "A=1", "--env=B=", "-w", "/tmp", "--timeout",
			 "5",	 "vm", "--", "ls", "-l",  "--",	      "x",  NULL };

	/* o points into argv: keep it in this scope */
	cr_assert_eq(cli_exec_parse(ARRAY_SIZE(argv) - 1, argv, &o), 0, "%s", err_msg());
	cr_assert(o.tty);
	cr_assert(o.interactive);
	cr_assert_eq(o.nenv, 2);
	cr_assert_str_eq(o.env[0], "A=1");
	cr_assert_str_eq(o.env[1], "B=");
	cr_assert_str_eq(o.cwd, "/tmp");
	cr_assert_eq(o.timeout_s, 5);
	cr_assert_str_eq(o.name, "vm");
	cr_assert_eq(o.ncmd, 4);
	cr_assert_str_eq(o.cmd[0], "ls");
	cr_assert_str_eq(o.cmd[1], "-l");
	cr_assert_str_eq(o.cmd[2], "--");
	cr_assert_str_eq(o.cmd[3], "x");
	cli_exec_opts_free(&o);
}

Test(cli_exec, parse_defaults_and_no_dashdash)
{
	struct cli_exec_opts o;
	char *argv[] = { "exec", "vm", "uname", "-a", NULL };

	cr_assert_eq(cli_exec_parse(ARRAY_SIZE(argv) - 1, argv, &o), 0);
	cr_assert_not(o.tty);
	cr_assert_eq(o.timeout_s, CLI_EXEC_DEFAULT_TIMEOUT);
	cr_assert_null(o.cwd);
	cr_assert_eq(o.nenv, 0);
	cr_assert_eq(o.ncmd, 2);
	cr_assert_str_eq(o.cmd[1], "-a", "the command's options are its own");
	cli_exec_opts_free(&o);
}

Test(cli_exec, parse_errors)
{
	struct cli_exec_opts o;

	cr_assert_eq(EXEC(&o, "exec"), -EINVAL);
	cr_assert_eq(EXEC(&o, "exec", "vm"), -EINVAL);
	cr_assert(strstr(err_msg(), "no command"), "%s", err_msg());
	cr_assert_eq(EXEC(&o, "exec", "vm", "--"), -EINVAL);
	cr_assert_eq(EXEC(&o, "exec", "-e", "NOEQUALS", "vm", "--", "x"), -EINVAL);
	cr_assert_eq(EXEC(&o, "exec", "-e", "=v", "vm", "--", "x"), -EINVAL);
	cr_assert_eq(EXEC(&o, "exec", "-w", "", "vm", "--", "x"), -EINVAL);
	cr_assert_eq(EXEC(&o, "exec", "--timeout", "3601", "vm", "--", "x"), -EINVAL);
	cr_assert_eq(EXEC(&o, "exec", "--timeout", "-3", "vm", "--", "x"), -EINVAL);
	cr_assert_eq(EXEC(&o, "exec", "--bogus", "vm", "--", "x"), -EINVAL);
	cr_assert_eq(EXEC(&o, "exec", "-e", "A=1", "-z", "vm", "--", "x"), -EINVAL); /* no leak */
	cr_assert_eq(EXEC(&o, "exec", "vm", "--", "x", "-e"), 0);
	cr_assert_eq(o.nenv, 0);
	cli_exec_opts_free(&o);
	cr_assert_eq(EXEC(&o, "exec", "--timeout", "0", "vm", "--", "x"), 0);
	cr_assert_eq(o.timeout_s, 0);
	cli_exec_opts_free(&o);
}

/* ---- formatting ---- */

static const char *size(uint64_t b)
{
	static char buf[32];

	cli_fmt_size(b, buf, sizeof(buf));
	return buf;
}

static const char *upt(uint64_t ms)
{
	static char buf[32];

	cli_fmt_uptime(ms, buf, sizeof(buf));
	return buf;
}

Test(cli_fmt, sizes)
{
	cr_assert_str_eq(size(0), "0B");
	cr_assert_str_eq(size(1023), "1023B");
	cr_assert_str_eq(size(1024), "1K");
	cr_assert_str_eq(size(1536), "1.5K");
	cr_assert_str_eq(size(256 * MiB), "256M");
	cr_assert_str_eq(size(1536 * MiB), "1.5G");
	cr_assert_str_eq(size(2 * GiB), "2G");
	cr_assert_str_eq(size(123456 * KiB), "121M");
	cr_assert_str_eq(size(MiB - 1), "1.0M");
	cr_assert_str_eq(size(3 * TiB), "3T");
}

Test(cli_fmt, uptimes)
{
	cr_assert_str_eq(upt(0), "0s");
	cr_assert_str_eq(upt(999), "0s");
	cr_assert_str_eq(upt(42000), "42s");
	cr_assert_str_eq(upt(60000), "1m00s");
	cr_assert_str_eq(upt(192000), "3m12s");
	cr_assert_str_eq(upt(3599999), "59m59s");
	cr_assert_str_eq(upt(3600000), "1h00m");
	cr_assert_str_eq(upt((2 * 3600 + 5 * 60 + 7) * 1000ull), "2h05m");
	cr_assert_str_eq(upt((86400 + 3 * 3600 + 59) * 1000ull), "1d03h");
	cr_assert_str_eq(upt(400 * 86400 * 1000ull), "400d00h");
}

Test(cli_fmt, agent_words)
{
	cr_assert_str_eq(cli_agent_word("connected"), "ready");
	cr_assert_str_eq(cli_agent_word("waiting"), "starting");
	cr_assert_str_eq(cli_agent_word("absent"), "none");
	cr_assert_str_eq(cli_agent_word("disabled"), "off");
	cr_assert_str_eq(cli_agent_word("what"), "-");
	cr_assert_str_eq(cli_agent_word(NULL), "-");
}

Test(cli_fmt, exit_mapping)
{
	cr_assert_eq(cli_exit_for_errno(-EACCES), EXIT_DENIED);
	cr_assert_eq(cli_exit_for_errno(-ETIMEDOUT), EXIT_TIMEOUT);
	cr_assert_eq(cli_exit_for_errno(-ECONNREFUSED), EXIT_RUNTIME);
	cr_assert_eq(cli_exit_for_http_status(204), EXIT_OK);
	cr_assert_eq(cli_exit_for_http_status(400), EXIT_VM_STATE);
	cr_assert_eq(cli_exit_for_http_status(409), EXIT_VM_STATE);
	cr_assert_eq(cli_exit_for_http_status(403), EXIT_DENIED);
	cr_assert_eq(cli_exit_for_http_status(503), EXIT_NO_AGENT);
	cr_assert_eq(cli_exit_for_http_status(504), EXIT_TIMEOUT);
	cr_assert_eq(cli_exit_for_http_status(500), EXIT_RUNTIME);
}

static char *capture_list(const char *json, bool as_json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_eq(cli_print_list(f, json, as_json), 0);
	fclose(f);
	return buf;
}

Test(cli_fmt, list_table)
{
	const char *json =
		"[{\"name\":\"web\",\"pid\":123,\"state\":\"Running\",\"vcpus\":2,\"mem_mib\":256,"
		"\"rss_kib\":123456,\"uptime_ms\":192000,\"agent\":\"connected\"},"
		"{\"name\":\"a-much-longer-name\",\"pid\":77,\"state\":\"unresponsive\"}]";
	char *out = capture_list(json, false);

	cr_assert_str_eq(
		out,
		"NAME                     PID  STATE         VCPUS     MEM     RSS   UPTIME  "
		"AGENT\n"
		"web                      123  Running           2    256M    121M    3m12s  "
		"ready\n"
		"a-much-longer-name        77  unresponsive      -       -       -        -  -\n");
	free(out);
	out = capture_list("[]", false);
	cr_assert_str_eq(out,
			 "NAME       PID  STATE         VCPUS     MEM     RSS   UPTIME  AGENT\n");
	free(out);
	out = capture_list(json, true);
	cr_assert_eq(out[0], '[');
	cr_assert(strstr(out, "\"unresponsive\""));
	free(out);
	cr_assert_eq(cli_print_list(stdout, "{}", false), -EINVAL);
	cr_assert_eq(cli_print_list(stdout, "not json", true), -EINVAL);
}

Test(cli_fmt, status_text)
{
	const char *json =
		"{\"name\":\"web\",\"pid\":123,\"state\":\"Paused\",\"vcpus\":2,\"mem_mib\":512,"
		"\"rss_kib\":1024,\"uptime_ms\":7384000,\"created\":0,\"cid\":3,"
		"\"console\":\"/r/web.console\",\"log\":\"/r/web.log\",\"agent\":\"connected\","
		"\"agent_info\":{\"hello\":{\"agent_version\":\"0.1\",\"kernel\":\"6.1.0\","
		"\"hostname\":\"guest\"},\"report\":{\"seq\":5,\"active\":true,\"cpu_busy\":125,"
		"\"psi_some\":150,\"psi_full\":0,\"load1\":12,\"load5\":5,\"load15\":1,\"procs\":"
		"40,"
		"\"mem_total\":500000,\"mem_avail\":400000,\"uptime_ms\":7000000},"
		"\"report_age_ms\":1200}}";
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_eq(cli_print_status(f, json), 0);
	fclose(f);
	cr_assert(strstr(buf, "name:             web\n"), "%s", buf);
	cr_assert(strstr(buf, "pid:              123\n"), "%s", buf);
	cr_assert(strstr(buf, "state:            Paused\n"), "%s", buf);
	cr_assert(strstr(buf, "memory:           512M\n"), "%s", buf);
	cr_assert(strstr(buf, "rss:              1M\n"), "%s", buf);
	cr_assert(strstr(buf, "uptime:           2h03m\n"), "%s", buf);
	cr_assert(strstr(buf, "created:          1970-01-01 00:00:00 UTC\n"), "%s", buf);
	cr_assert(strstr(buf, "agent:            ready (connected)\n"), "%s", buf);
	cr_assert(strstr(buf, "guest kernel:     6.1.0\n"), "%s", buf);
	cr_assert(strstr(buf, "activity:         active (cpu 12.5%)\n"), "%s", buf);
	cr_assert(strstr(buf, "memory pressure:  some 1.50%, full 0.00%\n"), "%s", buf);
	cr_assert(strstr(buf, "load:             0.12 0.05 0.01\n"), "%s", buf);
	cr_assert(strstr(buf, "processes:        40\n"), "%s", buf);
	cr_assert(strstr(buf, "guest memory:     391M available of 488M\n"), "%s", buf);
	cr_assert(strstr(buf, "report age:       1.2s\n"), "%s", buf);
	free(buf);
	cr_assert_eq(cli_print_status(stdout, "[1]"), -EINVAL);
}

/* ---- exec's stream loop against a fake agent ---- */

enum fake_mode { FAKE_ECHO, FAKE_SIGNALED, FAKE_ENOENT, FAKE_EACCES, FAKE_HANGUP, FAKE_SIGNAL_FWD };

struct fake {
	int fd;
	enum fake_mode mode;
	size_t stdin_bytes; /* what arrived */
	bool got_eof;
	uint32_t got_signal;
};

static void send_frame(int fd, const uint8_t *buf, long len)
{
	cr_assert_gt(len, 0);
	cr_assert_eq(write_full(fd, buf, (size_t)len), len);
}

static void send_exit(int fd, bool signaled, uint32_t code)
{
	struct ap_exit e = { .signaled = signaled, .code = code };
	uint8_t b[64];

	send_frame(fd, b, ap_encode_exit(b, sizeof(b), &e));
}

static void *fake_agent(void *arg)
{
	struct fake *fa = arg;
	static uint8_t rx[2 * AP_MAX_FRAME], tx[AP_MAX_FRAME];
	size_t len = 0;
	struct ap_error er = { 0 };

	send_frame(fa->fd, tx, ap_encode_started(tx, sizeof(tx), 42));
	switch (fa->mode) {
	case FAKE_SIGNALED:
		send_exit(fa->fd, true, SIGKILL);
		return NULL;
	case FAKE_ENOENT:
	case FAKE_EACCES:
		er.status = fa->mode == FAKE_ENOENT ? -ENOENT : -EACCES;
		send_frame(fa->fd, tx, ap_encode_error(tx, sizeof(tx), &er));
		return NULL;
	case FAKE_HANGUP:
		send_frame(fa->fd, tx, ap_encode_data(tx, sizeof(tx), AP_STDOUT, "partial", 7));
		shutdown(fa->fd, SHUT_RDWR);
		return NULL;
	case FAKE_SIGNAL_FWD:
		kill(getpid(), SIGUSR1);
		break;
	case FAKE_ECHO:
		break;
	}
	for (;;) {
		struct ap_frame f;
		long n = ap_frame_parse(rx, len, &f);

		if (n == 0) {
			ssize_t r = read(fa->fd, rx + len, sizeof(rx) - len);

			if (r <= 0)
				return NULL;
			len += (size_t)r;
			continue;
		}
		cr_assert_gt(n, 0);
		if (f.type == AP_STDIN && f.len) {
			fa->stdin_bytes += f.len;
			send_frame(fa->fd, tx,
				   ap_encode_data(tx, sizeof(tx), AP_STDOUT, f.payload, f.len));
		} else if (f.type == AP_STDIN) {
			fa->got_eof = true;
			if (fa->mode == FAKE_ECHO) {
				send_frame(fa->fd, tx,
					   ap_encode_data(tx, sizeof(tx), AP_STDERR, "bye", 3));
				send_exit(fa->fd, false, 3);
				return NULL;
			}
		} else if (f.type == AP_SIGNAL) {
			cr_assert_eq(ap_decode_signal(&f, &fa->got_signal), 0);
			send_exit(fa->fd, true, fa->got_signal);
			return NULL;
		}
		memmove(rx, rx + n, len - (size_t)n);
		len -= (size_t)n;
	}
}

struct run {
	int code;
	char *out, *err;
	size_t out_len, err_len;
};

static char *slurp(int fd, size_t *len)
{
	off_t end = lseek(fd, 0, SEEK_END);
	char *buf = malloc((size_t)end + 1);

	cr_assert_eq(pread(fd, buf, (size_t)end, 0), end);
	buf[end] = '\0';
	*len = (size_t)end;
	close(fd);
	return buf;
}

static int tmpfd(void)
{
	char path[] = "/tmp/clone-exec-XXXXXX";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	unlink(path);
	return fd;
}

static struct run run_session(struct fake *fa, int in, int sigfd)
{
	int sp[2], out = tmpfd(), err = tmpfd();
	pthread_t t;
	struct run r;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	fa->fd = sp[1];
	cr_assert_eq(pthread_create(&t, NULL, fake_agent, fa), 0);
	r.code = cli_exec_stream(sp[0], in, out, err, sigfd, "cmd");
	pthread_join(t, NULL);
	close(sp[0]);
	close(sp[1]);
	r.out = slurp(out, &r.out_len);
	r.err = slurp(err, &r.err_len);
	return r;
}

static void free_run(struct run *r)
{
	free(r->out);
	free(r->err);
}

Test(cli_exec, stream_echo_binary_safe)
{
	size_t n = 3 * AP_MAX_PAYLOAD + 12345;
	uint8_t *data = malloc(n);
	int in = tmpfd();
	struct fake fa = { .mode = FAKE_ECHO };
	struct run r;

	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 7 + (i >> 9)); /* NULs and every byte value */
	cr_assert_eq(write_full(in, data, n), (ssize_t)n);
	lseek(in, 0, SEEK_SET);
	r = run_session(&fa, in, -1);
	cr_assert_eq(r.code, 3);
	cr_assert(fa.got_eof);
	cr_assert_eq(fa.stdin_bytes, n);
	cr_assert_eq(r.out_len, n);
	cr_assert_eq(memcmp(r.out, data, n), 0);
	cr_assert_eq(r.err_len, 3);
	cr_assert_eq(memcmp(r.err, "bye", 3), 0);
	free_run(&r);
	free(data);
	close(in);
}

Test(cli_exec, stream_stdin_pipe_flow_control)
{
	/* a big stdin through a pipe, written by a child as the loop consumes it */
	size_t n = 4 * 1024 * 1024;
	int p[2];
	struct fake fa = { .mode = FAKE_ECHO };
	struct run r;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		static uint8_t chunk[65536];

		close(p[0]);
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = (uint8_t)i;
		for (size_t done = 0; done < n; done += sizeof(chunk))
			if (write_full(p[1], chunk, sizeof(chunk)) < 0)
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	r = run_session(&fa, p[0], -1);
	cr_assert_eq(r.code, 3);
	cr_assert_eq(r.out_len, n);
	for (size_t i = 0; i < n; i += 4099)
		cr_assert_eq((uint8_t)r.out[i], (uint8_t)(i % 65536), "byte %zu", i);
	free_run(&r);
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	cr_assert_eq(st, 0);
}

Test(cli_exec, stream_no_stdin_sends_eof_at_once)
{
	struct fake fa = { .mode = FAKE_ECHO };
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct run r = run_session(&fa, devnull, -1);

	cr_assert_eq(r.code, 3);
	cr_assert(fa.got_eof);
	cr_assert_eq(r.out_len, 0);
	free_run(&r);
	close(devnull);
}

Test(cli_exec, stream_exit_codes)
{
	struct fake fa = { .mode = FAKE_SIGNALED };
	struct run r = run_session(&fa, -1, -1);

	cr_assert_eq(r.code, 128 + SIGKILL);
	free_run(&r);
	fa = (struct fake){ .mode = FAKE_ENOENT };
	r = run_session(&fa, -1, -1);
	cr_assert_eq(r.code, 127);
	free_run(&r);
	fa = (struct fake){ .mode = FAKE_EACCES };
	r = run_session(&fa, -1, -1);
	cr_assert_eq(r.code, 126);
	free_run(&r);
}

Test(cli_exec, stream_connection_lost)
{
	struct fake fa = { .mode = FAKE_HANGUP };
	int p[2];

	/* stdin that never ends: only the hang-up can end the session */
	cr_assert_eq(pipe(p), 0);
	struct run r = run_session(&fa, p[0], -1);

	cr_assert_eq(r.code, EXIT_RUNTIME);
	cr_assert_eq(r.out_len, 7);
	cr_assert_eq(memcmp(r.out, "partial", 7), 0);
	free_run(&r);
	close(p[0]);
	close(p[1]);
}

Test(cli_exec, stream_forwards_signals)
{
	struct fake fa = { .mode = FAKE_SIGNAL_FWD };
	sigset_t mask;
	int p[2], sigfd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	cr_assert_eq(sigprocmask(SIG_BLOCK, &mask, NULL), 0); /* before the agent thread starts */
	sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	cr_assert_geq(sigfd, 0);
	cr_assert_eq(pipe(p), 0);
	struct run r = run_session(&fa, p[0], sigfd);

	cr_assert_eq(fa.got_signal, SIGUSR1);
	cr_assert_eq(r.code, 128 + SIGUSR1);
	free_run(&r);
	close(p[0]);
	close(p[1]);
	close(sigfd);
}
