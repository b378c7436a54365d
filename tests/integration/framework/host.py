# SPDX-License-Identifier: Apache-2.0
"""The CLI as a user drives it, against one runtime directory.

Host(rundir, log_dir): `host("list")` runs `clone list` with
CLONE_RUNTIME_DIR=rundir; start() runs a VM detached; exec()/sh() run
commands in it through the agent (waiting for it, inside the VMM, on its
HELLO: an event, not a poll); cleanup() kills what is left and keeps the
console logs.  The `host` fixture (conftest.py) gives each test its own.
"""

import json
import os
import select
import shutil
import signal
import subprocess

from framework.vm import DEFAULT_TIMEOUT, clone_bin

BOOT = str(int(DEFAULT_TIMEOUT))  # exec --timeout: the agent comes up once the guest booted


class Host:
    """The CLI against one runtime directory."""

    def __init__(self, rundir, log_dir):
        self.rundir = rundir
        self.log_dir = log_dir
        self.env = dict(os.environ, CLONE_RUNTIME_DIR=str(rundir))

    def __call__(self, *args, input=None, timeout=DEFAULT_TIMEOUT, env=None):
        return subprocess.run([str(clone_bin()), *map(str, args)], input=input,
                              capture_output=True, timeout=timeout,
                              env=dict(self.env, **(env or {})))

    def popen(self, *args, **kw):
        kw.setdefault("env", self.env)
        return subprocess.Popen([str(clone_bin()), *map(str, args)], **kw)

    def start(self, name, *args):
        p = self("run", "-d", "--name", name, *args)
        assert p.returncode == 0, p.stderr.decode()
        assert p.stdout.decode().strip() == name
        return self.entry(name)

    def entry(self, name):
        return json.loads((self.rundir / f"{name}.json").read_text())

    def exec(self, name, *cmd, input=None, timeout=DEFAULT_TIMEOUT, flags=()):
        return self("exec", "--timeout", BOOT, *flags, name, "--", *cmd, input=input,
                    timeout=timeout)

    def sh(self, name, script, **kw):
        p = self.exec(name, "sh", "-c", script, **kw)
        assert p.returncode == 0, (p.returncode, p.stderr.decode())
        return p.stdout.decode()

    def log(self, name):
        path = self.rundir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def status(self, name):
        p = self("status", "--json", name)
        assert p.returncode == 0, p.stderr.decode()
        return json.loads(p.stdout)

    def listing(self):
        p = self("list", "--json")
        assert p.returncode == 0, p.stderr.decode()
        return {v["name"]: v for v in json.loads(p.stdout)}

    def cleanup(self):
        for j in self.rundir.glob("*.json"):
            name = j.stem
            for ext in ("log",):
                src = self.rundir / f"{name}.{ext}"
                if src.exists():
                    shutil.copy(src, self.log_dir / f"{name}.console.log")
            try:
                pid = json.loads(j.read_text())["pid"]
                os.kill(pid, signal.SIGKILL)
                wait_gone(pid, 30)
            except (OSError, ValueError, KeyError):
                pass


def wait_gone(pid, timeout=DEFAULT_TIMEOUT):
    """Wait for a process that is not our child to end (pidfd: an event, not a poll)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
