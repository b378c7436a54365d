#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
End-to-end check of the real clone-agent binary on this host, without a VM
(a standalone script, not collected by pytest).

The agent runs with --dry-run-shutdown --log-stderr and either
  --transport vsock: vsock loopback (CID 1, needs the vsock_loopback module),
                     agent started with --host-cid 1; or
  --transport unix:  the agent's --unix DIR test transport (AF_UNIX sockets);
  --transport auto:  vsock if loopback works, else unix (the default).
It plays the VMM (control listener: HELLO, REPORTs, IDENTITY and SHUTDOWN
answered by ACK; nothing is applied to this host: only invalid IDENTITYs
are sent and shutdown is a dry run) and the exec client (stdin round trip
of several MiB by checksum, stderr, exit codes, a tty, signals, ERRORs for
a bad token / a missing command / a bad cwd, 20 concurrent sessions, no
zombies, no leaked descriptors).

usage: agent_loopback_check.py [--agent build/clone-agent] [--transport auto|vsock|unix]
Exit status 0 when every check passed.
"""
import argparse
import hashlib
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HELLO, REPORT, ACK, IDENTITY, SHUTDOWN = 1, 2, 3, 16, 17
EXEC, STDIN, RESIZE, SIGNAL = 32, 33, 34, 35
STARTED, STDOUT, STDERR, EXIT, ERROR = 48, 49, 50, 51, 52
T = dict(VERSION=1, TOKEN=2, AGENT_VERSION=3, KERNEL=4, HOSTNAME=5, SEQ=6, ACTIVE=7,
         CPU_BUSY=8, PSI_SOME=9, PSI_FULL=10, LOAD1=11, LOAD5=12, LOAD15=13, PROCS=14,
         MEM_TOTAL=15, MEM_AVAIL=16, UPTIME_MS=17, REQ_TYPE=18, REQ_ID=19, STATUS=20,
         MESSAGE=21, ADDRESS=22, GATEWAY=23, DNS=24, MODE=25, ARG=26, ENV=27, CWD=28,
         TTY=29, ROWS=30, COLS=31, SIGNO=32, PID=33, EXIT_CODE=34, TERM_SIGNAL=35, CORE=36,
         IFACE=37)
EXEC_PORT = 5250
TIMEOUT = 30

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def frame(ftype, payload=b""):
    return struct.pack("<IHH", len(payload), ftype, 0) + payload


def field(tag, val):
    return struct.pack("<HH", T[tag], len(val)) + val


def u8(tag, v):
    return field(tag, struct.pack("<B", v))


def u16(tag, v):
    return field(tag, struct.pack("<H", v))


def u32(tag, v):
    return field(tag, struct.pack("<I", v & 0xffffffff))


def sfield(tag, s):
    return field(tag, s.encode() if isinstance(s, str) else s)


def fields(payload):
    out = {}
    i = 0
    while i < len(payload):
        tag, n = struct.unpack_from("<HH", payload, i)
        out.setdefault(tag, []).append(payload[i + 4:i + 4 + n])
        i += 4 + n
    return out


def geti(f, tag, fmt="<I"):
    v = f.get(T[tag])
    return struct.unpack(fmt, v[-1])[0] if v else None


def signed(v):
    return v - (1 << 32) if v is not None and v >= 1 << 31 else v


class Conn:
    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def recv_frame(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 8:
                n, t, fl = struct.unpack_from("<IHH", self.buf)
                if len(self.buf) >= 8 + n:
                    p = self.buf[8:8 + n]
                    self.buf = self.buf[8 + n:]
                    return t, p
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no frame")
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                continue
            d = self.s.recv(1 << 20)
            if not d:
                return None, None
            self.buf += d


class Env:
    def __init__(self, transport, tmp):
        self.transport = transport
        self.tmp = tmp

    def exec_connect(self):
        if self.transport == "unix":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(os.path.join(self.tmp, "exec.sock"))
        else:
            s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
            s.connect((1, EXEC_PORT))
        return Conn(s)


def exec_frame(token, argv, envv=None, cwd=None, tty=False, rows=0, cols=0):
    p = field("TOKEN", token)
    for a in argv:
        p += sfield("ARG", a)
    for e in envv or []:
        p += sfield("ENV", e)
    if cwd is not None:
        p += sfield("CWD", cwd)
    if tty:
        p += u8("TTY", 1) + u16("ROWS", rows) + u16("COLS", cols)
    return frame(EXEC, p)


def run_exec(env, token, argv, stdin=b"", close_stdin=True, **kw):
    """One session: returns dict(started, out, err, exit, error, order_ok)."""
    c = env.exec_connect()
    c.send(exec_frame(token, argv, **kw))
    res = dict(started=None, out=b"", err=b"", exit=None, error=None, order_ok=True)

    def writer():
        try:
            for i in range(0, len(stdin), 60000):
                c.send(frame(STDIN, stdin[i:i + 60000]))
            if close_stdin:
                c.send(frame(STDIN))
        except OSError:
            pass

    th = threading.Thread(target=writer)
    th.start()
    while True:
        t, p = c.recv_frame()
        if t is None:
            break
        if t == STARTED:
            res["started"] = geti(fields(p), "PID")
        elif t == STDOUT:
            res["out"] += p
            res["order_ok"] &= res["exit"] is None
        elif t == STDERR:
            res["err"] += p
            res["order_ok"] &= res["exit"] is None
        elif t == EXIT:
            f = fields(p)
            res["exit"] = ("signal", geti(f, "TERM_SIGNAL")) if T["TERM_SIGNAL"] in f else \
                ("code", geti(f, "EXIT_CODE"))
        elif t == ERROR:
            f = fields(p)
            res["error"] = (signed(geti(f, "STATUS")), (f.get(T["MESSAGE"]) or [b""])[0].decode())
    th.join()
    c.s.close()
    return res


def vsock_loopback_works():
    if not hasattr(socket, "AF_VSOCK"):
        return False
    try:
        s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
        s.bind((1, socket.VMADDR_PORT_ANY if hasattr(socket, "VMADDR_PORT_ANY") else 0xffffffff))
        s.close()
        return True
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", default="build/clone-agent")
    ap.add_argument("--transport", default="auto", choices=["auto", "vsock", "unix"])
    a = ap.parse_args()
    transport = a.transport
    if transport == "auto":
        transport = "vsock" if vsock_loopback_works() else "unix"
    print(f"transport: {transport}")
    tmp = tempfile.mkdtemp(prefix="agent-check-")
    if transport == "unix":
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(os.path.join(tmp, "control.sock"))
        args = ["--unix", tmp]
    else:
        lsock = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
        lsock.bind((1, 0x40000000 + 1))
        args = ["--host-cid", "1", "--host-port", str(0x40000001)]
    lsock.listen(4)
    agent = subprocess.Popen([a.agent, "--log-stderr", "--dry-run-shutdown"] + args,
                             stdin=subprocess.DEVNULL)
    env = Env(transport, tmp)
    try:
        lsock.settimeout(TIMEOUT)
        cs, _ = lsock.accept()
        ctl = Conn(cs)
        t, p = ctl.recv_frame()
        check(t == HELLO, "HELLO is the first control frame")
        f = fields(p)
        token = f[T["TOKEN"]][0]
        check(geti(f, "VERSION") == 1 and len(token) == 32, "HELLO: VERSION 1, 32-byte TOKEN")
        check(T["KERNEL"] in f and T["AGENT_VERSION"] in f, "HELLO: KERNEL, AGENT_VERSION")
        t, p = ctl.recv_frame()
        f = fields(p)
        check(t == REPORT and geti(f, "SEQ", "<Q") == 0, "REPORT right after HELLO, SEQ 0")
        check((geti(f, "MEM_TOTAL", "<Q") or 0) > 0 and (geti(f, "PROCS") or 0) > 0
              and (geti(f, "UPTIME_MS", "<Q") or 0) > 0, "REPORT: memory, procs, uptime")

        # 1. stdin round trip by checksum, stderr, exit code
        data = os.urandom(4 << 20)
        r = run_exec(env, token, ["sh", "-c", "cat; echo err >&2; exit 3"], stdin=data)
        check(r["started"] and r["started"] > 0, "STARTED with a pid")
        check(hashlib.sha256(r["out"]).digest() == hashlib.sha256(data).digest(),
              f"4 MiB stdin round trip ({len(r['out'])} bytes back)")
        check(r["err"] == b"err\n", "stderr separate")
        check(r["exit"] == ("code", 3) and r["order_ok"], "EXIT 3 after all output")

        # 2. errors
        r = run_exec(env, b"\0" * 32, ["true"])
        check(r["error"] and r["error"][0] == -13 and r["started"] is None, "bad token: -EACCES")
        r = run_exec(env, token, ["no-such-command-xyz"])
        check(r["error"] and r["error"][0] == -2 and "not found" in r["error"][1],
              "missing command: -ENOENT 'command not found'")
        noexec = os.path.join(tmp, "noexec")
        with open(noexec, "w") as fh:
            fh.write("#!/bin/sh\n")
        os.chmod(noexec, 0o644)
        r = run_exec(env, token, [noexec])
        check(r["error"] and r["error"][0] == -13, "not executable: -EACCES")
        r = run_exec(env, token, ["true"], cwd="/no/such/dir")
        check(r["error"] and r["error"][0] == -2 and "chdir" in r["error"][1], "bad cwd: ERROR")
        r = run_exec(env, token, ["sh", "-c", "echo $PATH; pwd"], envv=["PATH=/bin:/usr/bin"],
                     cwd="/tmp")
        check(r["out"] == b"/bin:/usr/bin\n/tmp\n", "env exactly as given, cwd")
        r = run_exec(env, token, ["sh", "-c", "echo $HOME $PATH"])
        check(r["out"].startswith(b"/root /usr/local/sbin:"), "default env")

        # 3. no descriptors leak into the command
        r = run_exec(env, token, ["ls", "/proc/self/fd"])
        fds = set(r["out"].split())
        check(fds <= {b"0", b"1", b"2", b"3"}, f"command inherits only stdio ({sorted(fds)})")

        # 4. signals
        c = env.exec_connect()
        c.send(exec_frame(token, ["sleep", "100"]))
        t, p = c.recv_frame()
        c.send(frame(SIGNAL, u32("SIGNO", 15)))
        t, p = c.recv_frame()
        check(t == EXIT and geti(fields(p), "TERM_SIGNAL") == 15, "SIGNAL 15 → EXIT TERM_SIGNAL 15")
        c.s.close()

        # 5. tty
        r = run_exec(env, token, ["sh", "-c", "stty size; test -t 0 && echo tty; exit 5"],
                     tty=True, rows=30, cols=100, close_stdin=False)
        check(b"30 100" in r["out"] and b"tty" in r["out"] and r["exit"] == ("code", 5),
              f"tty: size, isatty, exit 5 ({r['out']!r})")
        r = run_exec(env, token, ["cat"], stdin=b"hello\n", tty=True, rows=24, cols=80)
        check(b"hello" in r["out"] and r["exit"] == ("code", 0), "tty: empty STDIN sends ^D")
        c = env.exec_connect()
        c.send(exec_frame(token, ["sh", "-c", "read x; stty size"], tty=True, rows=10, cols=20))
        c.recv_frame()
        c.send(frame(RESIZE, u16("ROWS", 50) + u16("COLS", 132)))
        c.send(frame(STDIN, b"go\n"))
        out = b""
        while True:
            t, p = c.recv_frame()
            if t in (None, EXIT):
                break
            if t == STDOUT:
                out += p
        check(b"50 132" in out, "RESIZE updates the window size")
        c.s.close()

        # 6. an early disconnect kills the command
        c = env.exec_connect()
        c.send(exec_frame(token, ["sleep", "77"]))
        t, p = c.recv_frame()
        pid = geti(fields(p), "PID")
        c.s.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
            time.sleep(0.05)
        check(not os.path.exists(f"/proc/{pid}"), "client disconnect kills the command")

        # 7. 20 concurrent sessions
        results = [None] * 20
        blobs = [os.urandom(300000 + i) for i in range(20)]

        def one(i):
            results[i] = run_exec(env, token, ["sh", "-c", f"cat; exit {i}"], stdin=blobs[i])

        ths = [threading.Thread(target=one, args=(i,)) for i in range(20)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        check(all(results[i]["out"] == blobs[i] and results[i]["exit"] == ("code", i)
                  for i in range(20)), "20 concurrent sessions")

        # 8. control requests (never applied to this host: invalid or dry run)
        ctl.send(frame(IDENTITY, u32("REQ_ID", 7) + sfield("ADDRESS", "10.0.0.300/24")))
        ctl.send(frame(IDENTITY, u32("REQ_ID", 8) + sfield("HOSTNAME", "bad host!")))
        ctl.send(frame(IDENTITY, u8("MODE", 1)))  # malformed: no REQ_ID
        ctl.send(frame(SHUTDOWN, u32("REQ_ID", 9) + u8("MODE", 0)))
        acks = {}
        saw_report = 0
        while len(acks) < 4:
            t, p = ctl.recv_frame()
            f = fields(p)
            if t == ACK:
                acks[geti(f, "REQ_ID")] = (geti(f, "REQ_TYPE", "<H"), signed(geti(f, "STATUS")))
            elif t == REPORT:
                saw_report = geti(f, "SEQ", "<Q")
        check(acks.get(7) == (IDENTITY, -22), "IDENTITY bad address: ACK -EINVAL")
        check(acks.get(8) == (IDENTITY, -22), "IDENTITY bad hostname: ACK -EINVAL")
        check(acks.get(0) == (IDENTITY, -71), "malformed IDENTITY: ACK -EPROTO")
        check(acks.get(9) == (SHUTDOWN, 0), "SHUTDOWN (dry run): ACK 0")
        while not saw_report:
            t, p = ctl.recv_frame()
            if t == REPORT:
                saw_report = geti(fields(p), "SEQ", "<Q")
        check(saw_report >= 1, f"heartbeat REPORTs keep coming (SEQ {saw_report})")

        # 9. no zombies
        time.sleep(0.3)
        zombies = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    st = open(f"/proc/{d}/stat").read()
                except OSError:
                    continue
                fields_ = st.rsplit(")", 1)[1].split()
                if fields_[0] == "Z" and int(fields_[1]) == agent.pid:
                    zombies.append(d)
        check(not zombies, f"no zombie sessions ({zombies})")
        check(agent.poll() is None, "agent still running")
    finally:
        agent.terminate()
        agent.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASSED" if not failures else f"FAILED: {len(failures)} checks")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
