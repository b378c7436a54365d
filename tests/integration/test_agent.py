# SPDX-License-Identifier: Apache-2.0
"""End to end: named VMs, the control socket, virtio-vsock and clone-agent.

Every test gets its own runtime directory (CLONE_RUNTIME_DIR), so VMs,
sockets and logs of one test never meet another's; VMs run detached
(`clone run -d`) and are driven only through the CLI, as a user would.
Readiness is always an event: `clone exec --timeout` waits (inside the VMM,
on the agent's HELLO) for the agent, `clone stop` waits on a pidfd.
"""

import hashlib
import json
import os
import pty
import re
import select
import signal
import stat
import subprocess
import time

import pytest

from framework import images
from framework.host import BOOT, alive, wait_gone
from framework.vm import DEFAULT_TIMEOUT, clone_bin

EXIT_VM_NOT_FOUND = 240
EXIT_NO_AGENT = 241
EXIT_TIMEOUT = 242


# -- exec ------------------------------------------------------------------

def test_exec_streams_and_exit_codes(host):
    host.start("ex")
    p = host.exec("ex", "sh", "-c", "printf 'to out\\n'; printf 'to err' >&2; exit 7")
    assert p.returncode == 7
    assert p.stdout == b"to out\n"
    assert p.stderr == b"to err"

    data = os.urandom(5 * 1024 * 1024 + 123)
    p = host.exec("ex", "cat", input=data)
    assert p.returncode == 0, p.stderr
    assert hashlib.sha256(p.stdout).hexdigest() == hashlib.sha256(data).hexdigest()
    p = host.exec("ex", "sha256sum", input=data)
    assert p.stdout.decode().split()[0] == hashlib.sha256(data).hexdigest()

    assert host.exec("ex", "sh", "-c", "kill -9 $$").returncode == 128 + 9
    p = host.exec("ex", "no-such-command")
    assert p.returncode == 127
    assert b"command not found" in p.stderr
    p = host.exec("ex", "sh", "-c", 'echo "$FOO $(pwd)"', flags=("-e", "FOO=bar", "-w", "/tmp"))
    assert p.stdout == b"bar /tmp\n"
    # The VM's name is the guest's hostname (the agent's identity request).
    assert host.sh("ex", "hostname").strip() == "ex"


def test_twenty_concurrent_execs(host):
    host.start("many")
    host.sh("many", "true")
    procs = [host.popen("exec", "--timeout", BOOT, "many", "--", "sh", "-c",
                        f"echo start-{i}; head -c {1000 * i} /dev/zero | wc -c; exit {i}",
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i in range(20)]
    for i, p in enumerate(procs):
        out, err = p.communicate(timeout=DEFAULT_TIMEOUT)
        assert p.returncode == i, err
        assert out.decode().split() == [f"start-{i}", str(1000 * i)]


def test_exec_tty(host):
    host.start("tty")
    p = host.exec("tty", "tty")
    assert p.returncode == 1 and b"not a tty" in p.stdout
    # script(1) gives clone exec a terminal, as an interactive user has.
    cmd = (f"{clone_bin()} exec -t --timeout {BOOT} tty -- "
           "sh -c 'tty; stty size; test -t 0 && echo stdin-is-tty'")
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                       timeout=DEFAULT_TIMEOUT, env=dict(host.env, COLUMNS="91", LINES="37"),
                       stdin=subprocess.DEVNULL)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out + p.stderr.decode()
    assert re.search(r"/dev/pts/\d+", out), out
    assert "stdin-is-tty" in out


def test_exec_tty_window_size_and_resize(host):
    """An interactive `clone exec -t` on a terminal: raw mode, the terminal's
    size in the guest, SIGWINCH carried over as a resize, and the terminal
    restored afterwards."""
    import fcntl
    import struct
    import termios
    host.start("ws")
    host.sh("ws", "true")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 37, 91, 0, 0))
    before = termios.tcgetattr(slave)
    p = host.popen("exec", "-t", "ws", "--", "sh", "-c",
                   "stty size; read x; stty size; echo got-$x",
                   stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    try:
        read_until(master, b"37 91")
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        os.kill(p.pid, signal.SIGWINCH)
        os.write(master, b"hello\r")
        out = read_until(master, b"got-hello")
        assert b"40 100" in out, out
        assert p.wait(timeout=DEFAULT_TIMEOUT) == 0
        assert termios.tcgetattr(slave) == before
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
        os.close(slave)


# -- attach ----------------------------------------------------------------

def read_until(fd, pattern, timeout=DEFAULT_TIMEOUT):
    buf = b""
    end = time.monotonic() + timeout
    while pattern not in buf:
        left = end - time.monotonic()
        assert left > 0, f"{pattern!r} not seen; got {buf[-2000:]!r}"
        if select.select([fd], [], [], left)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            assert chunk, f"EOF before {pattern!r}; got {buf[-2000:]!r}"
            buf += chunk
    return buf


def test_attach_and_detach(host):
    entry = host.start("att")
    host.sh("att", "true")  # booted
    master, slave = pty.openpty()
    p = host.popen("attach", "att", stdin=slave, stdout=slave, stderr=slave,
                   start_new_session=True)
    os.close(slave)
    try:
        read_until(master, b"Ctrl-Q")
        os.write(master, b"\recho attached-$((6 * 7))\r")
        read_until(master, b"attached-42")
        os.write(master, b"\x11")  # Ctrl-Q
        assert p.wait(timeout=DEFAULT_TIMEOUT) == 0
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
    # Detaching left the VM running.
    assert alive(entry["pid"])
    assert host.listing()["att"]["state"] == "Running"
    assert host.sh("att", "echo still-here").strip() == "still-here"


# -- list, status ------------------------------------------------------------

def test_list_two_vms_and_forget_killed(host):
    a = host.start("alpha", "--vcpus", "2", "--mem-mb", "192")
    b = host.start("beta")
    host.sh("alpha", "true")
    host.sh("beta", "true")
    vms = host.listing()
    assert set(vms) == {"alpha", "beta"}
    assert vms["alpha"]["pid"] == a["pid"] and vms["beta"]["pid"] == b["pid"]
    assert vms["alpha"]["vcpus"] == 2 and vms["beta"]["vcpus"] == 1
    assert vms["alpha"]["mem_mib"] == 192 and vms["beta"]["mem_mib"] == 256
    for v in vms.values():
        assert v["state"] == "Running"
        assert v["agent"] == "connected"
        assert 0 < v["rss_kib"]
        assert v["uptime_ms"] > 0
    text = host("list").stdout.decode().splitlines()
    assert text[0].split() == ["NAME", "PID", "STATE", "VCPUS", "MEM", "RSS", "UPTIME", "AGENT"]
    rows = {line.split()[0]: line.split() for line in text[1:]}
    assert rows["alpha"][1] == str(a["pid"]) and rows["alpha"][3] == "2"

    st = host.status("beta")
    report = st["agent_info"]["report"]
    assert st["agent_info"]["hello"]["hostname"] in ("beta", "clone")
    assert report["procs"] > 0 and report["mem_total"] > 100 * 1024
    human = host("status", "beta").stdout.decode()
    assert "beta" in human and re.search(r"(?i)agent", human)

    os.kill(a["pid"], signal.SIGKILL)
    assert wait_gone(a["pid"])
    vms = host.listing()
    assert set(vms) == {"beta"}
    assert not (host.rundir / "alpha.json").exists()
    assert not (host.rundir / "alpha.sock").exists()
    p = host("status", "alpha")
    assert p.returncode == EXIT_VM_NOT_FOUND
    assert len(p.stderr.decode().strip().splitlines()) == 1


def test_agent_reports_activity(host):
    """A command running in the guest makes the agent report "active" at once
    (it reports activity edges, not only on its 2 s heartbeat)."""
    host.start("act")
    host.sh("act", "true")
    seq0 = host.status("act")["agent_info"]["report"]["seq"]
    p = host.popen("exec", "act", "--", "sh", "-c", "echo started; read x",
                   stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        read_until(p.stdout.fileno(), b"started")
        report = host.status("act")["agent_info"]["report"]
        assert report["active"] is True, report
        assert report["seq"] > seq0
        assert report["load1"] >= 0 and report["psi_some"] >= 0 and report["procs"] > 2
        p.stdin.write(b"done\n")
        p.stdin.close()
        assert p.wait(timeout=DEFAULT_TIMEOUT) == 0
    finally:
        if p.poll() is None:
            p.kill()


def test_list_ignores_reused_pid(host):
    """A stale entry whose pid now belongs to another process is not a VM."""
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        (host.rundir / "ghost.json").write_text(json.dumps({
            "name": "ghost", "pid": sleeper.pid, "start_time": 1, "created": 1,
            "api": str(host.rundir / "ghost.sock"), "console": str(host.rundir / "ghost.console"),
            "log": str(host.rundir / "ghost.log")}))
        (host.rundir / "ghost.lock").write_text("")
        assert "ghost" not in host.listing()
        assert not (host.rundir / "ghost.json").exists()
        assert alive(sleeper.pid)  # and it was not harmed
        assert host("kill", "ghost").returncode == EXIT_VM_NOT_FOUND
        assert alive(sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_names_are_unique_and_generated(host):
    p = host("run", "-d")
    assert p.returncode == 0, p.stderr.decode()
    name = p.stdout.decode().strip()
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name)
    assert name in host.listing()
    p = host("run", "-d", "--name", name)
    assert p.returncode == 2
    assert b"already running" in p.stderr
    assert host.sh(name, "hostname").strip() == name


# -- stop, kill --------------------------------------------------------------

def test_stop_graceful_through_agent(host):
    e = host.start("st1")
    host.sh("st1", "true")
    p = host("stop", "-v", "st1")
    assert p.returncode == 0, p.stderr.decode()
    assert b"agent" in p.stdout + p.stderr
    assert wait_gone(e["pid"])
    log = host.log("st1")
    assert "going down" in log and "reboot: Power down" in log, log[-2000:]
    assert "st1" not in host.listing()


def test_stop_falls_back_to_acpi(host):
    e = host.start("st2", "--no-agent")
    # Without an agent, readiness is the console: busybox init's shell prompt.
    p = host.popen("attach", "st2", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                   stderr=subprocess.DEVNULL)
    try:
        read_until(p.stdout.fileno(), b"shell ready")
        p.stdin.write(b"echo acpid-$(pidof acpid >/dev/null && echo up)\n")
        p.stdin.flush()
        read_until(p.stdout.fileno(), b"acpid-up")
    finally:
        p.kill()
        p.wait()
    p = host("stop", "-v", "--timeout", "60", "st2")
    assert p.returncode == 0, p.stderr.decode()
    assert b"acpi" in (p.stdout + p.stderr).lower()
    assert wait_gone(e["pid"])
    log = host.log("st2")
    assert "going down" in log and "reboot: Power down" in log, log[-2000:]


def test_stop_kills_after_timeout(host):
    # rdinit=/bin/sh: no init, no acpid, no agent: nothing answers a shutdown.
    e = host.start("st3", "--append", "rdinit=/bin/sh")
    t0 = time.monotonic()
    p = host("stop", "--timeout", "3", "st3")
    assert p.returncode == EXIT_TIMEOUT, p.stderr.decode()
    assert b"killed" in p.stderr
    assert time.monotonic() - t0 < 60
    assert wait_gone(e["pid"], 10)
    assert "st3" not in host.listing()


def test_kill(host):
    e = host.start("k")
    p = host("kill", "k")
    assert p.returncode == 0, p.stderr.decode()
    assert not alive(e["pid"])
    assert "k" not in host.listing()
    assert host("kill", "k").returncode == EXIT_VM_NOT_FOUND


# -- pause, resume -----------------------------------------------------------

def test_pause_freezes_the_guest(host):
    host.start("pz")
    host.sh("pz", "setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/n.new; mv /tmp/n.new /tmp/n; "
                  "echo tick-$i >/dev/console; usleep 100000; done' </dev/null >/dev/null 2>&1 &")
    # The loop starts in the background; wait for its first write.
    before = int(host.sh("pz", "while [ ! -s /tmp/n ]; do usleep 10000; done; cat /tmp/n"))
    assert host("pause", "pz").returncode == 0
    assert host.listing()["pz"]["state"] == "Paused"
    log = host.rundir / "pz.log"
    size = log.stat().st_size
    time.sleep(2)  # the interval measured, not a readiness wait
    assert log.stat().st_size == size, "the guest printed while paused"
    p = host.exec("pz", "true")
    assert p.returncode == 244 and b"paused" in p.stderr, p
    assert host("resume", "pz").returncode == 0
    assert host.listing()["pz"]["state"] == "Running"
    after = int(host.sh("pz", "cat /tmp/n"))
    assert after > before
    # Paused for 2 s, the 10 Hz counter gained far less than 20 from the pause.
    assert host("pause", "pz").returncode == 0
    assert host("pause", "pz").returncode == 0  # idempotent
    assert host("resume", "pz").returncode == 0


# -- errors ------------------------------------------------------------------

def test_exec_without_agent_fails_clearly(host):
    host.start("na", "--no-agent")
    p = host.exec("na", "true")
    assert p.returncode == EXIT_NO_AGENT
    err = p.stderr.decode().strip()
    assert len(err.splitlines()) == 1 and "agent" in err, err
    p = host.exec("nobody-here", "true")
    assert p.returncode == EXIT_VM_NOT_FOUND
    assert len(p.stderr.decode().strip().splitlines()) == 1


def test_exec_times_out_when_the_agent_never_comes(host):
    host.start("late", "--append", "rdinit=/bin/sh")
    p = host("exec", "--timeout", "3", "late", "--", "true")
    assert p.returncode == EXIT_TIMEOUT
    assert len(p.stderr.decode().strip().splitlines()) == 1


CLIENT = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except PermissionError:
    print("EACCES"); sys.exit(0)
try:  # the VMM may answer and close before the request is sent
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
except OSError:
    pass
data = b""
while True:
    try:
        b = s.recv(4096)
    except OSError:
        break
    if not b:
        break
    data += b
print(data.split(b"\r\n")[0].decode() if data else "CLOSED")
"""


def test_control_socket_refuses_other_users(host):
    host.start("sec")
    sock = host.rundir / "sec.sock"
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(host.rundir.stat().st_mode) == 0o700
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
              "/usr/bin/python3", "-c", CLIENT, str(sock)]
    # The directory and socket modes keep other users out (every directory
    # above the runtime directory is opened up, so only its own mode counts)...
    for d in host.rundir.parents:
        if str(d) in ("/", "/tmp"):
            break
        os.chmod(d, 0o755)
    out = subprocess.run(nobody, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "EACCES", out
    # ...and with the modes opened up, the VMM still checks the peer's uid.
    os.chmod(host.rundir, 0o711)
    os.chmod(sock, 0o666)
    try:
        out = subprocess.run(nobody, capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() in ("HTTP/1.1 403 Forbidden", "CLOSED"), out
        assert "200" not in out.stdout
    finally:
        os.chmod(sock, 0o600)
        os.chmod(host.rundir, 0o700)
    assert host.status("sec")["name"] == "sec"


def test_vsock_cid(host):
    host.start("c1", "--cid", "4242")
    assert host.status("c1")["cid"] == 4242
    p = host("run", "-d", "--name", "c2", "--cid", "4242")
    assert p.returncode != 0
    assert b"4242" in p.stderr and len(p.stderr.decode().strip().splitlines()) == 1
    # The guest sees the same CID (the agent's own view of it through the exec path).
    assert host.sh("c1", "true") == ""


def test_agent_in_a_rootfs_overlay(host, rootfs_base):
    """The initramfs's agent, chrooted into the new root, serves a disk root."""
    e = host.start("rfs", "--rootfs", rootfs_base, "--overlay", "tmpfs")
    tag = host.sh("rfs", "cat /etc/" + images.ROOTFS_TAG)
    assert tag.startswith(images.ROOTFS_TAG)
    assert host.exec("rfs", "test", "-e", "/newroot").returncode == 1
    assert host.sh("rfs", "hostname").strip() == "rfs"
    # A second agent (an image that starts its own) steps aside.
    p = host.exec("rfs", "sh", "-c",
                  "for d in /proc/[0-9]*; do case \"$(readlink $d/exe)\" in "
                  "*clone-agent*) a=$d ;; esac; done 2>/dev/null; "
                  "cp $a/exe /tmp/agent && /tmp/agent --log-stderr; echo rc=$?")
    assert p.stdout.decode().strip() == "rc=0", p
    assert b"another clone-agent" in p.stderr, p
    p = host("stop", "-v", "rfs")
    assert p.returncode == 0 and b"agent" in p.stdout, p.stderr.decode()
    assert wait_gone(e["pid"])
    assert "reboot: Power down" in host.log("rfs")


def test_without_vhost_vsock(host):
    """No vhost_vsock module: an explicit --cid is a clear error; otherwise the
    VM runs without vsock and exec says why."""
    # VMMs of earlier tests are gone (their pidfds said so), but the module's
    # last reference can drop a moment later: a bounded retry, no event exists.
    deadline = time.monotonic() + 20
    while subprocess.run(["modprobe", "-r", "vhost_vsock"], capture_output=True).returncode:
        if time.monotonic() > deadline:
            lsmod = subprocess.run(["lsmod"], capture_output=True, text=True).stdout
            pytest.fail("cannot unload vhost_vsock:\n" + lsmod)
        time.sleep(0.2)
    try:
        p = host("run", "-d", "--name", "nv", "--cid", "77")
        assert p.returncode == 1
        err = p.stderr.decode().strip()
        assert len(err.splitlines()) == 1 and "modprobe vhost_vsock" in err, err
        host.start("nv2")
        p = host.exec("nv2", "true")
        assert p.returncode == EXIT_NO_AGENT
        assert b"vsock" in p.stderr
        assert host.status("nv2")["agent"] == "disabled"
    finally:
        subprocess.run(["modprobe", "vhost_vsock"], check=True)
