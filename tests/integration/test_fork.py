# SPDX-License-Identifier: Apache-2.0
"""End to end: snapshots into templates, CoW forks, restore, incremental
snapshots and damaged templates.

Templates live in a data directory of the test's own (XDG_DATA_HOME).  A
"counter" process started in the template VM (a shell loop bumping a number
in /tmp, which is guest RAM) shows that forks and restores continue the
template's processes instead of booting.  Nothing waits a fixed time: each
step waits on the agent (clone exec waits for its HELLO) or on a condition.
"""

import hashlib
import json
import re
import subprocess
import time

import pytest

from framework.host import wait_gone
from framework.netns import NetNS
from framework.vm import DEFAULT_TIMEOUT

COUNTER = ("(i=0; while :; do i=$((i+1)); echo $i > /tmp/counter.new; "
           "mv /tmp/counter.new /tmp/counter; usleep 500000; done) "
           "</dev/null >/dev/null 2>&1 & echo $! > /tmp/counter.pid; "
           "while [ ! -s /tmp/counter ]; do usleep 10000; done")
# Wait (in the guest) until the counter moved past N, then print it.
COUNTER_PAST = "while [ $(cat /tmp/counter) -le {n} ]; do usleep 10000; done; cat /tmp/counter"
MEM_MB = 192


@pytest.fixture
def fhost(host, tmp_path):
    host.env["XDG_DATA_HOME"] = str(tmp_path / "data")
    host.templates = tmp_path / "data" / "clone" / "templates"
    return host


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def counter(host, name):
    return int(host.sh(name, "cat /tmp/counter").strip())


def snapshot(host, vm, template, *flags):
    p = host("snapshot", vm, "--template", template, "--json", *flags,
             timeout=10 * DEFAULT_TIMEOUT)
    assert p.returncode == 0, p.stderr.decode()
    return json.loads(p.stdout)


def fork(host, template, *args):
    p = host("fork", "--template", template, *args, timeout=10 * DEFAULT_TIMEOUT)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout.decode().split()


def urandom(host, name):
    return host.sh(name, "head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'")


def check_clock(host, name):
    """The guest's wall clock is within 1 s of the host's.  busybox date has
    whole seconds, so the guest prints the second that starts while the
    host's clock runs between before and after."""
    before = time.time()
    guest = int(host.sh(name, "t=$(date +%s); while [ $(date +%s) = $t ]; do :; done; "
                              "date +%s"))
    after = time.time()
    assert before - 1 < guest < after + 1, (before, guest, after)


def test_fork_ten_from_one_template(fhost):
    h = fhost
    h.start("tpl", "--mem-mb", str(MEM_MB))
    # The guest kernel bound the VMGenID device and the GED that notifies it.
    drivers = h.sh("tpl", "ls /sys/bus/acpi/drivers/vmgenid /sys/bus/platform/drivers/acpi-ged")
    assert "CLNV0001:00" in drivers and "ACPI0013:00" in drivers, drivers
    h.sh("tpl", COUNTER)
    pid = h.sh("tpl", "cat /tmp/counter.pid").strip()
    snap = snapshot(h, "tpl", "base")
    assert snap["incremental"] is False and snap["layer"] == 0
    mem = h.templates / "base" / "mem"
    digest = sha256(mem)
    # Sparse: far less than the RAM is allocated on disk.
    assert mem.stat().st_size == MEM_MB << 20
    assert mem.stat().st_blocks * 512 < (MEM_MB << 20) * 3 // 4
    at_snapshot = counter(h, "tpl")
    tpl_random = urandom(h, "tpl")

    names = fork(h, "base", "--count", "10", "--name", "f")
    assert names == [f"f-{i}" for i in range(1, 11)]

    listing = h.listing()
    cids, randoms = set(), {tpl_random}
    for n in names:
        assert n in listing
        # One exec per fork: the counter's pid and value, hostname, identity file, 16 random bytes.
        out = h.sh(n, "cat /tmp/counter.pid; " + COUNTER_PAST.format(n=at_snapshot) +
                   "; hostname; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo; "
                   "cat /run/clone/identity").splitlines()
        # The template's counter process runs on in the fork (same pid, moving on).
        assert out[0] == pid
        assert int(out[1]) > at_snapshot
        # Its own identity: hostname, CID (the VMM's and the guest's view), generation.
        assert out[2] == n
        ident = dict(line.split("=", 1) for line in out[4:] if "=" in line)
        st = h.status(n)
        assert ident["name"] == n and int(ident["cid"]) == st["cid"]
        assert int(ident["generation"]) >= 1 and ident["template"] == "base"
        cids.add(st["cid"])
        # Fresh entropy: /dev/urandom differs from every other fork and the template.
        r = out[3]
        assert re.fullmatch(r"[0-9a-f]{32}", r), out
        assert r not in randoms
        randoms.add(r)
    for n in (names[0], names[-1]):
        check_clock(h, n)
    assert len(cids) == 10 and listing["tpl"]["cid"] not in cids

    # Writes in one fork are invisible to the others, to the template VM and
    # to the template's memory file.
    h.sh("f-1", "echo private-f1 > /tmp/private")
    for other in ("f-2", "tpl"):
        p = h.exec(other, "cat", "/tmp/private")
        assert p.returncode != 0
    assert h.sh("f-1", "cat /tmp/private") == "private-f1\n"
    assert sha256(mem) == digest

    # Each fork's private memory is a fraction of its RAM: the rest is the template's page cache.
    smaps = open(f"/proc/{h.entry('f-2')['pid']}/smaps_rollup").read()
    private = sum(int(m) for m in re.findall(r"Private_(?:Clean|Dirty):\s+(\d+) kB", smaps))
    assert private * 1024 < (MEM_MB << 20) // 2

    p = h("template", "list", "--json")
    assert p.returncode == 0, p.stderr.decode()
    (t,) = json.loads(p.stdout)
    assert t["name"] == "base" and t["mem_bytes"] == MEM_MB << 20 and t["source"] == "tpl"


def test_fork_with_net_reaches_the_bridge(fhost):
    h = fhost
    ns = NetNS()
    try:
        h.start("ntpl", "--netns", ns.name, "--net", "--mem-mb", str(MEM_MB))
        tpl_mac = h.status("ntpl")["net"][0]["mac"]
        # The guest's interface is up and addressed before the snapshot.
        h.sh("ntpl", "ip -o -4 addr show eth0 | grep -q 172.20.0.")
        snapshot(h, "ntpl", "nbase")
        names = fork(h, "nbase", "--count", "2", "--name", "nf", "--netns", ns.name)
        seen = {tpl_mac}
        addrs = set()
        for n in names:
            nic = h.status(n)["net"][0]
            mac, ip = nic["mac"], nic["address"].split("/")[0]
            assert mac not in seen and ip not in addrs
            seen.add(mac)
            addrs.add(ip)
            out = h.sh(n, "cat /sys/class/net/eth0/address; ip -o -4 addr show eth0")
            assert mac in out and f"inet {ip}/24" in out
            srv = ns.echo_server("172.20.0.1", 7100)
            assert h.sh(n, "echo hi | nc 172.20.0.1 7100") == f"echo {ip}: hi\n"
            srv.wait(timeout=DEFAULT_TIMEOUT)
    finally:
        h.cleanup()
        ns.close()


def test_restore_continues_the_same_process(fhost):
    h = fhost
    h.start("rvm", "--mem-mb", str(MEM_MB))
    h.sh("rvm", COUNTER)
    pid = h.sh("rvm", "cat /tmp/counter.pid").strip()
    vmm = h.entry("rvm")["pid"]
    snapshot(h, "rvm", "rsnap", "--stop")
    assert wait_gone(vmm)
    p = h("restore", "rsnap", "-d", timeout=10 * DEFAULT_TIMEOUT)
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().strip() == "rvm"  # the template's VM, by name
    assert h.sh("rvm", "cat /tmp/counter.pid").strip() == pid
    last = counter(h, "rvm")
    assert int(h.sh("rvm", COUNTER_PAST.format(n=last)).strip()) > last
    check_clock(h, "rvm")


def test_incremental_snapshot_writes_only_dirtied_memory(fhost):
    h = fhost
    h.start("ivm", "--mem-mb", "256")
    h.sh("ivm", COUNTER)
    first = snapshot(h, "ivm", "inc")
    assert first["incremental"] is False
    digest = h.sh("ivm", "dd if=/dev/urandom of=/tmp/blob bs=1M count=32 2>/dev/null; "
                         "md5sum /tmp/blob").split()[0]
    second = snapshot(h, "ivm", "inc")
    assert second["incremental"] is True and second["layer"] == 1
    dirtied = 32 << 20
    # About the 32 MiB written (plus what the guest's kernel touched meanwhile).
    assert dirtied <= second["memory_bytes"] < dirtied + (24 << 20), (first, second)
    assert second["memory_bytes"] < first["memory_bytes"]
    assert (h.templates / "inc" / "mem.1").exists()
    p = h("template", "list", "--json")
    (t,) = json.loads(p.stdout)
    assert t["layers"] == 1

    vmm = h.entry("ivm")["pid"]
    h("kill", "ivm")
    assert wait_gone(vmm)
    p = h("restore", "inc", "-d", timeout=10 * DEFAULT_TIMEOUT)
    assert p.returncode == 0, p.stderr.decode()
    assert h.sh("ivm", "md5sum /tmp/blob").split()[0] == digest
    last = counter(h, "ivm")
    assert int(h.sh("ivm", COUNTER_PAST.format(n=last)).strip()) > last


def test_damaged_templates_are_refused(fhost):
    h = fhost
    h.start("dvm", "--mem-mb", str(MEM_MB))
    snapshot(h, "dvm", "dmg")
    d = h.templates / "dmg"
    state, mem = d / "state", d / "mem"
    good_state, good_mem = state.read_bytes(), mem.read_bytes()

    def refused(expect):
        p = h("fork", "--template", "dmg", "--name", "bad")
        err = p.stderr.decode()
        assert p.returncode != 0 and re.search(expect, err), err
        assert "bad" not in h.listing()

    state.write_bytes(good_state[:-100])
    refused(r"truncated")
    state.write_bytes(good_state[:200] + bytes([good_state[200] ^ 1]) + good_state[201:])
    refused(r"checksum mismatch")
    state.write_bytes(good_state)

    with open(mem, "r+b") as f:
        f.seek(0x1000)
        b = f.read(1)
        f.seek(0x1000)
        f.write(bytes([b[0] ^ 0xff]))
    refused(r"modified")
    with open(mem, "r+b") as f:
        f.truncate(len(good_mem) - 4096)
    refused(r"truncated")
    mem.write_bytes(good_mem)

    p = h("template", "rm", "dmg")
    assert p.returncode == 0, p.stderr.decode()
    assert not d.exists()
    p = h("fork", "--template", "dmg")
    assert p.returncode == 2 and "no template dmg" in p.stderr.decode()


def test_fork_of_a_rootfs_template_writes_its_own_disk_layer(fhost, rootfs_base):
    h = fhost
    h.start("rtpl", "--rootfs", str(rootfs_base), "--overlay", "auto", "--mem-mb", str(MEM_MB))
    h.sh("rtpl", "echo from-template > /root-file; sync")
    snapshot(h, "rtpl", "rbase")
    # The overlay's upper disk was writable: the template holds a frozen copy of it.
    (frozen,) = (h.templates / "rbase").glob("disk-*")
    digest = sha256(frozen)
    names = fork(h, "rbase", "--count", "2", "--name", "rf")
    drop = "sync; echo 3 > /proc/sys/vm/drop_caches; cat /root-file"
    for n in names:
        assert h.sh(n, drop) == "from-template\n"
    # A fork's writes go to its own qcow2 layer: the other fork, the template VM
    # and the frozen copy never see them, even re-read from disk.
    h.sh("rf-1", "echo mine > /root-file; sync")
    h.sh("rtpl", "echo later > /root-file; sync")
    assert h.sh("rf-1", drop) == "mine\n"
    assert h.sh("rf-2", drop) == "from-template\n"
    assert h.sh("rtpl", drop) == "later\n"
    assert sha256(frozen) == digest


# The guest's view of its virtio disks: "serial:name" per disk, sorted.
DISKS = ("for d in /sys/block/vd*; do [ ! -e $d ] || echo $(cat $d/serial):${d##*/}; done | sort")


def wait_disks(host, name, count):
    """Wait (in the guest) until it has count virtio disks; return serial -> /dev node."""
    out = host.sh(name, f"while [ $(ls -d /sys/block/vd* 2>/dev/null | wc -l) -lt {count} ]; "
                        f"do usleep 10000; done; {DISKS}")
    return {s: "/dev/" + n for s, n in (line.split(":") for line in out.split())}


def test_fork_adds_disks_through_acpi_hotplug(fhost, tmp_path):
    h = fhost
    h.start("htpl", "--mem-mb", str(MEM_MB))
    assert h.sh("htpl", DISKS) == ""
    # The spare slots are announced but absent: no platform device for them yet.
    assert "ACPI0004:00" in h.sh("htpl", "ls /sys/bus/acpi/devices")
    static = h.sh("htpl", "ls /sys/bus/platform/devices | grep -c LNRO0005").strip()
    snapshot(h, "htpl", "hp")

    files = tmp_path / "files"
    files.mkdir()
    (files / "hello.txt").write_text("hello from the host\n")
    data = tmp_path / "data.img"
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(files), str(data), "16M"], check=True)
    raw = tmp_path / "raw.img"
    raw.write_bytes(b"raw-disk-contents\n".ljust(1 << 20, b"\0"))

    (name,) = fork(h, "hp", "--name", "hf", "--disk", str(data),
                   "--disk", f"{raw},ro,serial=extra")
    disks = wait_disks(h, name, 2)
    assert sorted(disks) == ["disk0", "extra"], disks
    assert h.sh(name, f"head -c 18 {disks['extra']}") == "raw-disk-contents\n"
    assert h.exec(name, "dd", "if=/dev/zero", f"of={disks['extra']}", "count=1").returncode != 0
    h.sh(name, f"mkdir -p /mnt && mount {disks['disk0']} /mnt && cat /mnt/hello.txt && "
               "echo from-the-fork > /mnt/new.txt && sync")
    # Two more platform devices than the template's, in the hotplug slots.
    assert int(h.sh(name, "ls /sys/bus/platform/devices | grep -c LNRO0005")) == int(static) + 2
    # Neither the template VM nor a fork without --disk sees them.
    (plain,) = fork(h, "hp", "--name", "plain")
    assert h.sh(plain, "cat /proc/uptime >/dev/null; " + DISKS) == ""
    assert h.sh("htpl", DISKS) == ""

    # A fork's template keeps the added disks; its own forks can add more.
    snapshot(h, name, "hp2")
    (second,) = fork(h, "hp2", "--name", "hf2", "--disk", f"{raw},ro,serial=third")
    disks2 = wait_disks(h, second, 3)
    assert sorted(disks2) == ["disk0", "extra", "third"], disks2
    assert h.sh(second, "cat /mnt/new.txt") == "from-the-fork\n"
    assert h.sh(second, f"head -c 18 {disks2['third']}") == "raw-disk-contents\n"
    # hp2 uses 2 of its 8 slots: 7 more disks do not fit.
    p = h("fork", "--template", "hp2", *[a for i in range(7)
                                          for a in ("--disk", f"{raw},ro,serial=x{i}")])
    assert p.returncode == 2 and "room for 6 more disk(s), not 7" in p.stderr.decode(), p

    # The first fork's writes reached its disk file.
    h.sh(name, "umount /mnt")
    vmm = h.entry(name)["pid"]
    h("kill", name)
    assert wait_gone(vmm)
    out = subprocess.run(["debugfs", "-R", "cat /new.txt", str(data)], capture_output=True)
    assert out.stdout == b"from-the-fork\n", out
