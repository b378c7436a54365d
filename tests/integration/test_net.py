# SPDX-License-Identifier: Apache-2.0
"""End to end: virtio-net, the host bridge and NAT, rootless networking
through pasta, and rate limits on NICs and disks.

Every test works inside a network namespace of its own (framework/netns.py;
VMs join it with --netns), so bridges, TAPs and NAT rules never touch the
machine's network, and all traffic stays between addresses of this
machine.  Servers say when they listen (a READY line, or a loop in the
guest on /proc/net/tcp); nothing waits a fixed time.
"""

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile

import pytest

from framework.host import BOOT, wait_gone
from framework.netns import NetNS
from framework.vm import DEFAULT_TIMEOUT, clone_bin

NOBODY = 65534
# Guest shell: wait until a TCP socket listens on {port} (IPv4 or dual-stack IPv6).
LISTENING = ("while ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | "
             "grep -q ':{port:04X} [0-9A-F]*:0000 0A'; do usleep 20000; done")


@pytest.fixture
def ns():
    n = NetNS()
    yield n
    n.close()


def guest_listen(host, vm, port, server):
    """Start `server` in the guest in the background and return once a TCP
    socket listens on port (a condition in the guest, not a delay)."""
    host.sh(vm, f"({server}) </dev/null >/dev/null 2>&1 &\n" + LISTENING.format(port=port))


def nic(status, i=0):
    return status["net"][i]


def tap_links(ns):
    return [l for l in ns.links() if l.startswith("ct")]


# -- bridge ----------------------------------------------------------------

def test_bridge_nat_two_guests_and_tap_cleanup(host, ns):
    host.start("n1", "--netns", ns.name, "--net")
    host.start("n2", "--netns", ns.name, "--net", "--mac", "02:00:00:00:aa:02")

    # The bridge, its address and the NAT table exist in the namespace.
    addr = ns.run("ip", "-o", "-4", "addr", "show", "dev", "clone0").stdout.decode()
    assert "172.20.0.1/24" in addr
    assert "masquerade" in ns.run("nft", "list", "ruleset").stdout.decode()
    assert ns.run("cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == b"1"

    # Each guest got its own address from the bridge's subnet, on the NIC with its MAC.
    s1, s2 = host.status("n1"), host.status("n2")
    ip1 = nic(s1)["address"].split("/")[0]
    ip2 = nic(s2)["address"].split("/")[0]
    assert ip1 != ip2 and ip1.startswith("172.20.0.") and ip2.startswith("172.20.0.")
    assert nic(s2)["mac"] == "02:00:00:00:aa:02"
    assert re.fullmatch(r"02(:[0-9a-f]{2}){5}", nic(s1)["mac"])
    eth = host.sh("n1", "ip -o -4 addr show; cat /sys/class/net/eth0/address; ip route")
    assert nic(host.status("n1"))["path"] == "vhost"  # the driver is up now
    assert f"inet {ip1}/24" in eth
    assert nic(s1)["mac"] in eth
    assert "default via 172.20.0.1" in eth
    # The host's TAPs are on the bridge.
    taps = tap_links(ns)
    assert {nic(s1)["tap"], nic(s2)["tap"]} <= set(taps)

    # guest -> host: the guest connects to a server on the bridge address.
    srv = ns.echo_server("172.20.0.1", 7001)
    out = host.sh("n1", "echo from-guest | nc 172.20.0.1 7001")
    assert out == f"echo {ip1}: from-guest\n"
    srv.wait(timeout=DEFAULT_TIMEOUT)

    # host -> guest: a server in the guest, the host connects.
    guest_listen(host, "n1", 5001, "nc -ll -p 5001 -e cat")
    assert ns.echo_client(ip1, 5001, "from-host") == "from-host"

    # guest <-> guest over the bridge.
    out = host.sh("n2", f"echo from-n2 | nc {ip1} 5001")
    assert out == "from-n2\n"

    # TAPs go with their VM: after a clean stop...
    tap1, tap2 = nic(s1)["tap"], nic(s2)["tap"]
    p = host("stop", "n1")
    assert p.returncode == 0, p.stderr.decode()
    assert tap1 not in ns.links()
    # ... and after SIGKILL (the kernel deletes a TAP with its last fd).
    pid = host.entry("n2")["pid"]
    os.kill(pid, signal.SIGKILL)
    assert wait_gone(pid)
    assert tap2 not in ns.links()
    assert tap_links(ns) == []

    # The bridge stays for the next VM until `clone net down`.
    assert "clone0" in ns.links()
    p = subprocess.run(ns.cmd(clone_bin(), "net", "down"), capture_output=True)
    assert p.returncode == 0, p.stderr.decode()
    assert "clone0" not in ns.links()
    assert "clone" not in ns.run("nft", "list", "tables").stdout.decode()


def test_two_nics_one_on_an_existing_tap(host, ns):
    ns.run("ip", "tuntap", "add", "mytap0", "mode", "tap")
    ns.run("ip", "addr", "add", "10.9.0.1/24", "dev", "mytap0")
    ns.run("ip", "link", "set", "mytap0", "up")
    host.start("t1", "--netns", ns.name, "--net", "--tap", "mytap0,ip=10.9.0.2/24",
               "--mac", "02:00:00:00:99:01")
    out = host.sh("t1", "for i in eth0 eth1; do echo $i $(cat /sys/class/net/$i/address) "
                        "$(ip -o -4 addr show $i | awk '{print $4}'); done; ip route")
    st = host.status("t1")["net"]
    assert [n["mode"] for n in st] == ["bridge", "tap"]
    assert st[1]["tap"] == "mytap0" and st[1]["mac"] == "02:00:00:00:99:01"
    # Each address landed on the NIC with its MAC: eth0 the bridge's, eth1 the TAP's.
    assert f"eth0 {st[0]['mac']} {st[0]['address']}" in out, out
    assert "eth1 02:00:00:00:99:01 10.9.0.2/24" in out, out
    assert "default via 172.20.0.1 dev eth0" in out
    srv = ns.echo_server("10.9.0.1", 7002)
    assert host.sh("t1", "echo hi | nc 10.9.0.1 7002") == "echo 10.9.0.2: hi\n"
    srv.wait(timeout=DEFAULT_TIMEOUT)
    # The user's TAP outlives the VM.
    pid = host.entry("t1")["pid"]
    host("kill", "t1")
    assert wait_gone(pid)
    assert "mytap0" in ns.links()


# -- rootless --------------------------------------------------------------

@pytest.fixture
def nobody_env(tmp_path):
    """A copy of clone and a runtime directory an unprivileged user can use,
    and the device nodes such a user gets on a desktop distribution."""
    base = tempfile.mkdtemp(prefix="clone-nobody-")
    os.chmod(base, 0o755)
    shutil.copy(clone_bin(), f"{base}/clone")
    os.chmod(f"{base}/clone", 0o755)
    for d in ("run", "home"):
        os.mkdir(f"{base}/{d}", 0o700)
        os.chown(f"{base}/{d}", NOBODY, NOBODY)
    modes = {}
    for dev in ("/dev/net/tun", "/dev/vhost-vsock", "/dev/kvm"):
        modes[dev] = stat.S_IMODE(os.stat(dev).st_mode)
        os.chmod(dev, 0o666)
    yield base
    for dev, mode in modes.items():
        os.chmod(dev, mode)
    shutil.rmtree(base, ignore_errors=True)


def as_nobody(ns, base, *args, timeout=DEFAULT_TIMEOUT, **kw):
    argv = ns.cmd("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                  "env", f"HOME={base}/home", f"CLONE_RUNTIME_DIR={base}/run",
                  f"{base}/clone", *map(str, args))
    return subprocess.run(argv, capture_output=True, timeout=timeout, **kw)


def test_rootless_port_forward_and_dns(ns, nobody_env, log_dir):
    base = nobody_env
    ns.uplink()
    ns.resolv_conf("nameserver 127.0.0.1\n")
    dns = ns.popen("dnsmasq", "--keep-in-foreground", "--log-facility=-", "--conf-file=/dev/null",
                   "--no-resolv", "--no-hosts", "--listen-address=127.0.0.1",
                   "--bind-interfaces", "--address=/clone.test/10.11.12.13", "--user=root",
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        line = dns.stderr.readline().decode()
        assert "started" in line, line
        p = as_nobody(ns, base, "run", "-d", "--name", "u1", "--net", "user",
                      "-p", "18080:80", "-p", "18081:81")
        assert p.returncode == 0, p.stderr.decode()
        try:
            def sh(script):
                r = as_nobody(ns, base, "exec", "--timeout", BOOT, "u1", "--", "sh", "-c",
                              script)
                assert r.returncode == 0, (r.returncode, r.stderr.decode())
                return r.stdout.decode()

            assert "inet 10.0.2.15/24" in sh("ip -o -4 addr show eth0")
            # The guest serves HTTP on port 80; the host reaches it on its loopback.
            sh("mkdir -p /www && echo hello-from-the-guest > /www/index.html")
            sh("(httpd -p 80 -h /www) </dev/null >/dev/null 2>&1 &\n" + LISTENING.format(port=80))
            got = ns.run("python3", "-c",
                         "import urllib.request;print(urllib.request.urlopen("
                         "'http://127.0.0.1:18080/index.html', timeout=30).read().decode())")
            assert got.stdout.decode().strip() == "hello-from-the-guest"
            # DNS from the guest reaches the host's resolver.
            assert "Address: 10.11.12.13" in sh("nslookup -type=a clone.test")
            # Nothing here ran as root: the VMM and pasta belong to the user.
            st = json.loads(as_nobody(ns, base, "status", "--json", "u1").stdout)
            assert os.stat(f"/proc/{st['pid']}").st_uid == NOBODY
            assert st["net"][0]["mode"] == "user"
            # /dev/vhost-net is root's here: the VMM's own data path, said once.
            assert st["net"][0]["path"] == "userspace"
            assert p.stderr.decode().count("userspace data path") == 1, p.stderr.decode()
        finally:
            as_nobody(ns, base, "kill", "u1")
            log = f"{base}/run/u1.log"
            if os.path.exists(log):
                shutil.copy(log, log_dir / "u1.console.log")
    finally:
        dns.kill()
        dns.wait()


# -- rate limits -----------------------------------------------------------

def iperf_rate(host, vm, server_addr, ns, seconds=8):
    srv = ns.popen("iperf3", "-s", "-1", "--forceflush", "-B", server_addr, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
    try:
        line = b""
        while b"listening" not in line:
            line = srv.stdout.readline()
            assert line, srv.stderr.read().decode()
        out = host.sh(vm, f"iperf3 -J -c {server_addr} -t {seconds}")
        srv.wait(timeout=DEFAULT_TIMEOUT)
    finally:
        srv.kill()
    res = json.loads(out)
    return res["end"]["sum_received"]["bytes"] / res["end"]["sum_received"]["seconds"]


def test_net_bandwidth_limit_set_at_run_time(host, ns, fio_rootfs, tmp_path):
    host.start("r1", "--netns", ns.name, "--rootfs", fio_rootfs, "--overlay", "tmpfs", "--net")
    host.sh("r1", "true")  # booted: the driver runs the NIC
    assert host.status("r1")["net"][0]["path"] == "vhost"
    rate = 1024 * 1024  # bytes/s
    p = host("limit", "r1", "net0", f"tx_bps={rate}")
    assert p.returncode == 0, p.stderr.decode()
    st = host.status("r1")["net"][0]
    assert st["path"] == "userspace"  # a limited NIC runs on the loop's data path
    got = iperf_rate(host, "r1", "172.20.0.1", ns)
    # The limit holds; below it, emulated guests (nested KVM on TCG) do not
    # always fill the bucket, so the lower bound only shows traffic flowing.
    assert 0.5 * rate <= got <= 1.1 * rate, got
    # Lifted again: back to vhost-net, and much faster than the limit.
    p = host("limit", "r1", "net0", "none")
    assert p.returncode == 0, p.stderr.decode()
    assert host.status("r1")["net"][0]["path"] == "vhost"
    assert iperf_rate(host, "r1", "172.20.0.1", ns, seconds=3) > 2 * rate


def fio_iops(host, vm, dev, seconds=6):
    out = host.sh(vm, f"fio --name=r --filename={dev} --rw=randread --bs=4k --direct=1 "
                      f"--runtime={seconds} --time_based --output-format=json")
    return json.loads(out)["jobs"][0]["read"]["iops"]


def test_disk_iops_limit(host, fio_rootfs, tmp_path):
    disk = tmp_path / "data.raw"
    with open(disk, "wb") as f:
        f.truncate(64 << 20)
    host.start("d1", "--rootfs", fio_rootfs, "--overlay", "tmpfs",
               "--disk", f"{disk},serial=data,iops=40")
    dev = "/dev/" + host.sh("d1", "grep -l data /sys/block/vd*/serial | cut -d/ -f4").strip()
    got = fio_iops(host, "d1", dev)
    assert 36 <= got <= 44, got
    p = host("limit", "d1", "data", "iops=100")
    assert p.returncode == 0, p.stderr.decode()
    got = fio_iops(host, "d1", dev)
    assert 90 <= got <= 110, got


# -- errors ----------------------------------------------------------------

def test_network_errors_are_clear(host, ns):
    clone = str(clone_bin())

    def run(*args, **kw):
        return subprocess.run(ns.cmd(clone, "run", "--serial", "none", *args),
                              capture_output=True, timeout=DEFAULT_TIMEOUT, env=host.env, **kw)

    p = run("--tap", "nosuchtap0")
    assert p.returncode != 0
    assert "TAP device nosuchtap0 does not exist" in p.stderr.decode()

    ns.run("ip", "link", "add", "dum0", "type", "dummy")
    ns.run("ip", "addr", "add", "172.20.0.5/16", "dev", "dum0")
    p = run("--net")
    assert p.returncode != 0
    err = p.stderr.decode()
    assert "clashes" in err and "dum0" in err, err
    assert "clone0" not in ns.links()

    p = run("--net", "bridge,bridge-addr=10.77.0.1/24", "-p", "80")
    assert p.returncode == 2 and "-p forwards ports of --net user" in p.stderr.decode()

    # No /dev/net/tun: hide it in a private mount namespace.
    p = subprocess.run(["unshare", "-m", "sh", "-c",
                        "mount -t tmpfs none /dev/net && exec \"$@\"", "sh",
                        *ns.cmd(clone, "run", "--serial", "none", "--net",
                                "bridge,bridge-addr=10.77.0.1/24")],
                       capture_output=True, timeout=DEFAULT_TIMEOUT, env=host.env)
    assert p.returncode != 0
    assert "/dev/net/tun" in p.stderr.decode(), p.stderr.decode()
    assert not [l for l in ns.links() if l.startswith("ct")]
