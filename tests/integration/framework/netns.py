# SPDX-License-Identifier: Apache-2.0
"""Network namespaces for the networking tests.

NetNS() makes a fresh namespace (`ip netns add`) with its loopback up, so
a test's bridges, TAPs, NAT rules and servers never meet the machine's or
another test's; close() kills what still runs in it and deletes it.
Traffic stays between addresses of this machine.
"""

import os
import secrets
import shutil
import signal
import subprocess

from framework.vm import DEFAULT_TIMEOUT

# A TCP echo server: prints READY once it listens, echoes each connection
# (until the client half-closes), serves `count` connections, then exits.
ECHO_SERVER = r"""
import socket, sys
addr, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(8)
print("READY", flush=True)
for _ in range(count):
    c, peer = s.accept()
    data = b""
    while True:
        d = c.recv(65536)
        if not d:
            break
        data += d
    c.sendall(b"echo " + peer[0].encode() + b": " + data)
    c.close()
"""

# A TCP client: sends argv[3], half-closes, prints the answer.
ECHO_CLIENT = r"""
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
c.sendall(sys.argv[3].encode())
c.shutdown(socket.SHUT_WR)
out = b""
while True:
    d = c.recv(65536)
    if not d:
        break
    out += d
sys.stdout.write(out.decode())
"""


class NetNS:
    def __init__(self):
        self.name = "clonet-" + secrets.token_hex(4)
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.run("ip", "link", "set", "lo", "up")

    def cmd(self, *argv):
        return ["ip", "netns", "exec", self.name, *map(str, argv)]

    def run(self, *argv, check=True, timeout=DEFAULT_TIMEOUT, **kw):
        p = subprocess.run(self.cmd(*argv), capture_output=True, timeout=timeout, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, argv))} in {self.name}: "
                                 f"{p.returncode} {p.stderr.decode(errors='replace')}")
        return p

    def popen(self, *argv, **kw):
        return subprocess.Popen(self.cmd(*argv), **kw)

    def links(self):
        out = self.run("ip", "-o", "link", "show").stdout.decode()
        return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]

    def echo_server(self, addr, port, count=1):
        """Start ECHO_SERVER; returns the process once it listens (its READY line)."""
        p = self.popen("python3", "-c", ECHO_SERVER, addr, port, count,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = p.stdout.readline().decode()
        assert line.strip() == "READY", (line, p.stderr.read().decode())
        return p

    def echo_client(self, addr, port, text):
        return self.run("python3", "-c", ECHO_CLIENT, addr, port, text).stdout.decode()

    def uplink(self, cidr="192.168.77.1/24", gw="192.168.77.2"):
        """A veth pair inside the namespace with a default route: a routable
        interface for pasta to copy (traffic to the gateway goes nowhere)."""
        self.run("ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1")
        self.run("ip", "addr", "add", cidr, "dev", "up0")
        self.run("ip", "link", "set", "up0", "up")
        self.run("ip", "link", "set", "up1", "up")
        self.run("ip", "route", "add", "default", "via", gw, "dev", "up0")

    def resolv_conf(self, text):
        """/etc/resolv.conf as `ip netns exec` shows it to processes in the namespace."""
        d = f"/etc/netns/{self.name}"
        os.makedirs(d, exist_ok=True)
        with open(f"{d}/resolv.conf", "w") as f:
            f.write(text)

    def close(self):
        p = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True)
        for pid in p.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        shutil.rmtree(f"/etc/netns/{self.name}", ignore_errors=True)
