# SPDX-License-Identifier: Apache-2.0
"""Drive the `clone` binary from tests.

`Clone` spawns `clone <subcommand> ARGS...` with its serial console on a pipe
(or on a pty, for tests that need a terminal), captures the console and
stderr on reader threads into buffers and log files, and offers event-driven
waits: a waiter is woken by the reader thread as output arrives, never by
a sleep.  Nothing here knows about a particular guest except `run_cmd`, which
needs a POSIX shell on the console (the default busybox guest has one).

    with Clone(["--vcpus", "2"], log_dir=tmp) as vm:
        vm.wait_for(READY)
        assert vm.run_cmd("nproc").strip() == "2"
        vm.send("poweroff\\n")
        assert vm.wait_exit() == 0

Timeouts are generous by default (CLONE_TEST_TIMEOUT, 120 s) because the
end-to-end suite usually runs under nested KVM on QEMU TCG, which is slow.
"""

import codecs
import itertools
import os
import pty
import re
import subprocess
import sys
import threading
import time
import termios
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DEFAULT_TIMEOUT = float(os.environ.get("CLONE_TEST_TIMEOUT", "120"))
# Printed by the default guest once its shell on ttyS0 is up.
READY = "clone-guest: shell ready"
# Kernel log lines that can land in the middle of a command's output.
_KMSG = re.compile(r"^\[\s*\d+\.\d+\] .*$\n?", re.M)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_uid = itertools.count(1)


def clone_bin():
    """The binary under test: $CLONE_BIN, default <repo>/build/clone."""
    return Path(os.environ.get("CLONE_BIN", REPO / "build" / "clone"))


def newest_kernel():
    """The newest /boot/vmlinuz-* (what a bare `clone run` boots) and its version."""
    def key(p):
        return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", p.name)]
    kernels = sorted(Path("/boot").glob("vmlinuz-*"), key=key)
    if not kernels:
        raise FileNotFoundError("no /boot/vmlinuz-*: run scripts/deps")
    return kernels[-1], kernels[-1].name[len("vmlinuz-"):]


class ConsoleTimeout(AssertionError):
    """A wait on the console or on the process ran out of time (or the
    process exited first).  An AssertionError, so pytest reports it as a
    test failure with the console tail in the message."""


class _Stream:
    """Bytes from one fd, collected by a reader thread into text (\\r dropped)
    and a log file.  Waiters block on a condition the reader notifies."""

    def __init__(self, fd, log_path, name, cond, is_pty=False, tee=None):
        self.fd = fd
        self.tee = tee
        self.name = name
        self.cond = cond
        self.text = ""
        self.raw = bytearray()
        self.eof = False
        self.is_pty = is_pty
        self._dec = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._log = open(log_path, "wb") if log_path else None
        self.thread = threading.Thread(target=self._run, name=f"clone-{name}", daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # EIO: the pty's last slave fd closed
                data = b""
            if self._log:
                self._log.write(data)
                self._log.flush()
            if self.tee and data:
                self.tee.write(data)
                self.tee.flush()
            with self.cond:
                if data:
                    self.raw += data
                    self.text += self._dec.decode(data).replace("\r", "")
                else:
                    self.text += self._dec.decode(b"", final=True)
                    self.eof = True
                self.cond.notify_all()
            if not data:
                break
        if self._log:
            self._log.close()
        os.close(self.fd)


class Clone:
    """One `clone` process.

    args:       arguments after the subcommand.
    subcommand: "run" by default; None runs `clone ARGS` (for --help etc.).
    use_pty:    stdin/stdout on a new pty instead of pipes (the console then
                is a terminal: raw mode, Ctrl-A escapes, termios restore).
    log_dir:    where console.log / stderr.log (prefixed by `name`) go.
    env:        extra environment variables.
    tee:        also copy the console to our stdout and clone's stderr to
                our stderr as they arrive (demos, debugging).
    """

    def __init__(self, args=(), *, subcommand="run", use_pty=False, log_dir=None,
                 name="vm", env=None, binary=None, start=True, tee=False):
        self.binary = Path(binary) if binary else clone_bin()
        self.argv = ([str(self.binary)] + ([subcommand] if subcommand else [])
                     + [str(a) for a in args])
        self.use_pty = use_pty
        self.name = name
        self.log_dir = Path(log_dir) if log_dir else None
        self.env = dict(os.environ, **(env or {}))
        self.tee = tee
        self.proc = None
        self.pty_slave = None  # kept open in pty mode: tests read its termios
        self.initial_termios = self.final_termios = None
        self.last_rc = None
        self.cond = threading.Condition()
        self.console = self.stderr = None
        self._cursor = 0
        self._stdin = None
        if start:
            self.start()

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        if not self.binary.exists():
            raise FileNotFoundError(f"{self.binary} does not exist: run `make` first "
                                    "(or set CLONE_BIN)")
        logs = {}
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            logs = {k: self.log_dir / f"{self.name}.{k}.log" for k in ("console", "stderr")}
            (self.log_dir / f"{self.name}.cmd").write_text(" ".join(self.argv) + "\n")
        err_r, err_w = os.pipe()
        if self.use_pty:
            master, slave = pty.openpty()
            self.pty_slave = slave
            self.initial_termios = termios.tcgetattr(slave)
            # setsid --ctty: a new session whose controlling terminal is the
            # pty, as on an interactive login (it execs, keeping the pid).
            self.proc = subprocess.Popen(["setsid", "--ctty"] + self.argv, stdin=slave,
                                         stdout=slave, stderr=err_w, env=self.env)
            self._stdin = master
            out_fd = os.dup(master)
        else:
            out_r, out_w = os.pipe()
            in_r, in_w = os.pipe()
            self.proc = subprocess.Popen(self.argv, stdin=in_r, stdout=out_w, stderr=err_w,
                                         env=self.env, start_new_session=True)
            os.close(in_r)
            os.close(out_w)
            self._stdin = in_w
            out_fd = out_r
        os.close(err_w)
        tee_out = sys.stdout.buffer if self.tee else None
        tee_err = sys.stderr.buffer if self.tee else None
        self.console = _Stream(out_fd, logs.get("console"), "console", self.cond,
                               self.use_pty, tee_out)
        self.stderr = _Stream(err_r, logs.get("stderr"), "stderr", self.cond, tee=tee_err)
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def pid(self):
        return self.proc.pid

    @property
    def returncode(self):
        return self.proc.poll()

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self):
        """SIGKILL the VMM (if still running) and reap it."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        """Kill if still running, then release fds and reader threads."""
        if not self.proc:
            return
        if self.log_dir and self.proc.poll() is None:
            (self.log_dir / f"{self.name}.exit").write_text(
                "killed by the test framework while running\n" + self.threads() + "\n")
        elif self.log_dir:
            (self.log_dir / f"{self.name}.exit").write_text(f"exit {self.proc.returncode}\n")
        self.kill()
        if self._stdin is not None and not self.use_pty:
            _close(self._stdin)
            self._stdin = None
        if self.use_pty and self.pty_slave is not None:
            _close(self.pty_slave)  # the console reader then sees EIO and ends
            self.pty_slave = None
        for s in (self.console, self.stderr):
            if s:
                s.thread.join(timeout=10)
        if self.use_pty and self._stdin is not None:
            _close(self._stdin)
            self._stdin = None

    def wait_exit(self, timeout=None):
        """Wait for the process to exit; return its exit code (negative: the
        signal that killed it).  Output is complete when this returns."""
        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ConsoleTimeout(f"{self.name}: clone did not exit within {timeout:g} s\n"
                                 + self.tail()) from None
        self.stderr.thread.join(timeout=10)
        if not self.use_pty:
            self.console.thread.join(timeout=10)
        else:
            self._drain_pty()
        return code

    def _drain_pty(self):
        # We hold the slave open, so the master never reports EOF: record the
        # terminal's final attributes, then close our slave fd; the reader
        # reads what clone wrote before it exited, then gets EIO.
        if self.pty_slave is not None:
            self.final_termios = termios.tcgetattr(self.pty_slave)
            _close(self.pty_slave)
            self.pty_slave = None
        self.console.thread.join(timeout=10)

    # -- console -----------------------------------------------------------

    @property
    def output(self):
        """The whole console output so far (\\r removed)."""
        with self.cond:
            return self.console.text

    @property
    def err(self):
        """Everything clone wrote on stderr so far."""
        with self.cond:
            return self.stderr.text

    def threads(self):
        """One line per thread of the running process: name, state, CPU
        ticks and kernel wait channel (e.g. a vCPU in kvm_vcpu_block is a
        halted guest; R with growing ticks is a spinning one)."""
        lines = []
        try:
            for tid in sorted(os.listdir(f"/proc/{self.pid}/task"), key=int):
                base = f"/proc/{self.pid}/task/{tid}"
                with open(f"{base}/stat") as f:
                    st = f.read().rsplit(")", 1)[1].split()
                with open(f"{base}/comm") as f:
                    comm = f.read().strip()
                with open(f"{base}/wchan") as f:
                    wchan = f.read().strip()
                lines.append(f"  tid {tid} {comm}: state {st[0]} utime {st[11]} "
                             f"stime {st[12]} wchan {wchan}")
        except OSError:
            pass
        return "\n".join(lines)

    def tail(self, n=3000):
        with self.cond:
            out, err = self.console.text[-n:], self.stderr.text[-n:]
        code = self.proc.poll()
        state = "running" if code is None else f"exited with {code}"
        threads = f"--- threads:\n{self.threads()}\n" if code is None else ""
        return (f"--- clone ({state}): {' '.join(self.argv)}\n{threads}"
                f"--- console (last {n} chars):\n{out}\n--- stderr:\n{err}\n---")

    def wait_for(self, pattern, timeout=None, *, stream="console", since=None):
        """Wait until `pattern` (a regex string or compiled regex; use
        re.escape for literal text) appears in the console (or stderr)
        output after the cursor; return the match and move the cursor past
        it.  `since` overrides the cursor (0: search everything).  Fails
        fast if the process exits or closes the stream first."""
        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        rx = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, re.M)
        src = self.console if stream == "console" else self.stderr
        start = (self._cursor if stream == "console" else 0) if since is None else since
        deadline = time.monotonic() + timeout
        m = None

        def ready():
            nonlocal m
            m = rx.search(src.text, start)
            return m is not None or src.eof or self.proc.poll() is not None

        with self.cond:
            while not ready():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                # Wakes on every chunk of output; the timed wake only
                # notices process exit on a stream nobody closes.
                self.cond.wait(min(left, 1.0))
            if m is None:  # one last look: output may have come with the exit
                m = rx.search(src.text, start)
        if m is None:
            why = (f"{stream} closed" if src.eof else
                   "clone exited" if self.proc.poll() is not None else f"{timeout:g} s passed")
            raise ConsoleTimeout(f"{self.name}: {why} before {rx.pattern!r} appeared on "
                                 f"{stream}\n" + self.tail())
        if stream == "console":
            self._cursor = m.end()
        return m

    def wait_ready(self, timeout=None):
        """Wait for the default guest's ready line."""
        return self.wait_for(re.escape(READY), timeout)

    def send(self, text):
        """Type text on the console (str or bytes)."""
        data = text.encode() if isinstance(text, str) else text
        while data:
            n = os.write(self._stdin, data)
            data = data[n:]

    def run_cmd(self, cmd, timeout=None, *, check=False, strip_kmsg=False):
        """Type `cmd` (one shell line) into the guest's shell and return
        exactly its output (stdout and stderr, "\\n" line ends).  The line
        typed is `echo CL''ONE-n-BEGIN; CMD; echo CL''ONE-n-END rc=$?`: the
        markers are quoted in what is typed, so the tty's echo of the line
        never matches them, only what the shell prints does; output without
        a final newline comes back without one.  strip_kmsg
        drops lines that look like console printk ("[   1.234] ..."), which
        can land in the middle of the output; never use it on dmesg output.
        The exit status is in self.last_rc; check=True asserts it is 0."""
        n = next(_uid)
        begin, end = f"CLONE-{n}-BEGIN", f"CLONE-{n}-END"
        self.send(f"echo CL''ONE-{n}-BEGIN; {cmd}; echo CL''ONE-{n}-END rc=$?\n")
        self.wait_for(rf"^{begin}\n", timeout)
        start = self._cursor
        # Not anchored at a line start: output without a final newline
        # (`cat /sys/block/vda/serial`, `head -c`) runs into the marker.
        m = self.wait_for(rf"{end} rc=(\d+)$", timeout)
        with self.cond:
            out = self.console.text[start:m.start()]
        out = _ANSI.sub("", out)
        if strip_kmsg:
            out = _KMSG.sub("", out)
        self.last_rc = int(m.group(1))
        if check:
            assert self.last_rc == 0, f"`{cmd}` exited with {self.last_rc}:\n{out}"
        return out

    def termios(self):
        """The console terminal's attributes (pty mode only); after
        wait_exit, as they were when clone exited."""
        if self.pty_slave is None:
            return self.final_termios
        return termios.tcgetattr(self.pty_slave)


def _close(fd):
    try:
        os.close(fd)
    except OSError:
        pass


def run_clone(args, *, subcommand=None, timeout=60, env=None):
    """Run clone to completion with no console input (for CLI tests);
    return the CompletedProcess (text output)."""
    argv = [str(clone_bin())] + ([subcommand] if subcommand else []) + [str(a) for a in args]
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, **(env or {})))
