# SPDX-License-Identifier: Apache-2.0
"""virtio-blk disks (--disk PATH[,ro][,format=raw|qcow2]) end to end.

The guest finds a disk by its virtio-blk serial ("disk<N>" for the N-th
--disk, /sys/block/vdX/serial), never by its name.  Data tests run fio with
crc32c verification in the guest (the fio rootfs of framework/images.py,
booted with --overlay tmpfs so the shared image stays read-only) and verify
again on the host from the image file; feature tests look at what the guest
driver negotiated (/sys/block/vdX/queue) and at the host file.  Bad input
must be refused before the guest boots, leaving the file byte-identical.
Readiness is always a console line, never a sleep.
"""

import hashlib
import os
import re

import pytest

from framework import images
from framework.images import disk_by_serial, run
from framework.vm import DEFAULT_TIMEOUT, READY, run_clone

BOOT = max(DEFAULT_TIMEOUT, 300)
MiB = 1 << 20
CRASH = re.compile(r"Sanitizer|runtime error:|core dumped|Segmentation fault|Aborted|"
                   r"fatal signal", re.I)
# Random 4k and 64k writes over 64 MiB, each block checksummed (crc32c) and
# read back and checked after the write phase; the same job with
# --verify_only checks the image on the host afterwards.
FIO_JOB = ["--name=clonetest", "--rw=randwrite", "--bssplit=4k/50:64k/50", "--size=64M",
           "--verify=crc32c", "--verify_fatal=1", "--randseed=20240601"]
# util-linux's, by path: busybox ash runs its own applets (which lack -z)
# before anything in PATH.
BLKDISCARD = "/" + images.FIO_TOOLS["/usr/sbin/blkdiscard"]
FIO_ERRORS = re.compile(r"verify: |bad magic|verify failed|crc32c.*(wanted|mismatch)|"
                        r"err= *[1-9]|fio: pid=", re.I)


def poweroff(vm, timeout=None):
    vm.send("poweroff\n")
    code = vm.wait_exit(timeout)
    assert code == 0, f"exit {code}\n" + vm.tail()
    assert not CRASH.search(vm.err), vm.err


def value(vm, cmd, **kw):
    return vm.run_cmd(cmd, check=True, strip_kmsg=True, **kw).strip()


def tools_vm(make_vm, fio_rootfs, *disks):
    """The fio rootfs (read-only base, tmpfs overlay) with disks attached."""
    args = ["--rootfs", fio_rootfs, "--overlay", "tmpfs", "--mem-mb", "512"]
    for d in disks:
        args += ["--disk", d]
    vm = make_vm(*args)
    vm.wait_ready(BOOT)
    assert value(vm, f"cat /etc/{images.ROOTFS_TAG}") == f"{images.ROOTFS_TAG} fio"
    return vm


# ---------------------------------------------------------------- data

@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["raw", "qcow2"])
def test_fio_verify(make_vm, fio_rootfs, tmp_path, fmt):
    """fio random writes (4k and 64k, libaio, iodepth 8, O_DIRECT) with
    crc32c verification on a raw or qcow2 --disk: every block reads back
    intact in the guest, and the host image holds the same data."""
    size = 96 * MiB
    if fmt == "raw":
        disk = images.make_raw(tmp_path / "data.raw", size)
    else:
        disk = images.create_qcow2(tmp_path / "data.qcow2", size)
    vm = tools_vm(make_vm, fio_rootfs, f"{disk},format={fmt}")
    dev = disk_by_serial(vm, "disk0")
    assert int(value(vm, f"blockdev --getsize64 /dev/{dev}")) == size
    out = vm.run_cmd(f"fio {' '.join(FIO_JOB)} --filename=/dev/{dev} --direct=1 "
                     "--ioengine=libaio --iodepth=8", timeout=900)
    assert vm.last_rc == 0 and not FIO_ERRORS.search(out), f"fio in the guest:\n{out}"
    m = re.search(r"issued rwts: total=(\d+),(\d+),", out)
    assert m and int(m.group(2)) > 0 and m.group(1) == m.group(2), \
        f"fio did not read back what it wrote:\n{out}"
    poweroff(vm)

    if fmt == "qcow2":
        images.qemu_img_check(disk)
        raw = images.to_raw(disk, tmp_path / "data-as-raw.raw")
    else:
        raw = disk
    # cwd: fio leaves its verify-state file in the working directory.
    r = run(["fio"] + FIO_JOB + [f"--filename={raw}", "--verify_only", "--ioengine=psync"],
            check=False, cwd=tmp_path)
    assert r.returncode == 0 and not FIO_ERRORS.search(r.stdout + r.stderr), \
        f"the host image does not hold what the guest wrote:\n{r.stdout}{r.stderr}"


def test_read_only_disk(make_vm, tmp_path):
    """--disk x.img,ro: the guest sees a read-only disk it can read, a write
    to it fails with an error, and the host file is untouched."""
    disk = tmp_path / "ro.img"
    disk.write_bytes(os.urandom(4 * MiB))
    digest = images.sha256(disk)
    vm = make_vm("--disk", f"{disk},ro")
    vm.wait_ready(BOOT)
    dev = disk_by_serial(vm, "disk0", timeout=BOOT)
    assert value(vm, f"blockdev --getro /dev/{dev}") == "1"
    assert value(vm, f"sha256sum < /dev/{dev}").split()[0] == digest
    out = vm.run_cmd(f"dd if=/dev/zero of=/dev/{dev} bs=4096 count=16 oflag=direct",
                     strip_kmsg=True)
    assert vm.last_rc != 0, f"a write to a read-only disk succeeded:\n{out}"
    assert re.search(r"I/O error|Input/output error|Read-only|Operation not permitted|"
                     r"Permission denied", out), out
    poweroff(vm)
    assert images.sha256(disk) == digest, "the read-only disk's file changed"


def test_several_disks(make_vm, tmp_path):
    """Three disks (raw probed, qcow2 probed, raw with format=raw), each
    with its own contents: each is found by its serial and reads back
    exactly."""
    sizes = [2 * MiB, 3 * MiB, 1 * MiB]
    raws, digests, args = [], [], []
    for i, size in enumerate(sizes):
        head = f"clone-disk-{i}:".encode()
        data = head + os.urandom(size - len(head))
        raw = tmp_path / f"d{i}.raw"
        raw.write_bytes(data)
        raws.append(raw)
        digests.append(hashlib.sha256(data).hexdigest())
    qcow2 = images.to_qcow2(raws[1], tmp_path / "d1.qcow2", "raw")
    args = ["--disk", raws[0], "--disk", qcow2, "--disk", f"{raws[2]},format=raw"]
    vm = make_vm(*args)
    vm.wait_ready(BOOT)
    devs = []
    for i, size in enumerate(sizes):
        dev = disk_by_serial(vm, f"disk{i}", timeout=BOOT)
        devs.append(dev)
        assert int(value(vm, f"blockdev --getsize64 /dev/{dev}")) == size
        assert value(vm, f"head -c 13 /dev/{dev}") == f"clone-disk-{i}:"
        assert value(vm, f"sha256sum < /dev/{dev}").split()[0] == digests[i], \
            f"disk{i} (/dev/{dev}) reads back wrong"
    assert len(set(devs)) == 3, devs
    poweroff(vm)
    images.qemu_img_check(qcow2)


def test_discard_write_zeroes_flush_serial(make_vm, fio_rootfs, tmp_path):
    """What the guest driver negotiated and that it works: serial (get-id),
    discard (blkdiscard punches holes in the raw file: its allocated blocks
    shrink), write-zeroes (blkdiscard -z reads back as zeros, in the guest
    and in the file) and flush (a write-back cache; fsync and sync work and
    the data is in the file)."""
    size = 32 * MiB
    disk = images.make_raw(tmp_path / "data.raw", size, fill=b"\xa5" * 4096)
    allocated = images.allocated_bytes(disk)
    assert allocated >= size - MiB, "the test image should start fully allocated"
    vm = tools_vm(make_vm, fio_rootfs, disk)
    dev = disk_by_serial(vm, "disk0")
    assert value(vm, f"cat /sys/block/{dev}/serial") == "disk0"
    root = disk_by_serial(vm, "clone-root")
    assert root != dev

    # flush: VIRTIO_BLK_F_FLUSH makes the kernel treat the disk as a
    # write-back cache, which it then flushes on fsync/sync.
    assert value(vm, f"cat /sys/block/{dev}/queue/write_cache") == "write back"
    block = value(vm, f"dd if=/dev/urandom of=/tmp/blk bs=4096 count=1 2>/dev/null && "
                      f"dd if=/tmp/blk of=/dev/{dev} bs=4096 seek={28 * MiB // 4096} "
                      f"conv=fsync,notrunc 2>/dev/null && sync && sha256sum < /tmp/blk")
    block = block.split()[0]

    # discard: the first 16 MiB
    assert int(value(vm, f"cat /sys/block/{dev}/queue/discard_max_bytes")) > 0
    vm.run_cmd(f"{BLKDISCARD} -o 0 -l {16 * MiB} /dev/{dev}", check=True)
    after = images.allocated_bytes(disk)
    assert after <= allocated - 12 * MiB, \
        f"discard of 16 MiB freed only {(allocated - after) / MiB:.1f} MiB in the file"

    # write zeroes: 16..24 MiB
    assert int(value(vm, f"cat /sys/block/{dev}/queue/write_zeroes_max_bytes")) > 0
    vm.run_cmd(f"{BLKDISCARD} -z -o {16 * MiB} -l {8 * MiB} /dev/{dev}", check=True)
    zeros = hashlib.sha256(bytes(8 * MiB)).hexdigest()
    got = value(vm, f"dd if=/dev/{dev} bs=1M skip=16 count=8 iflag=direct 2>/dev/null | "
                    "sha256sum").split()[0]
    assert got == zeros, "write-zeroes range does not read back as zeros in the guest"
    poweroff(vm)

    with open(disk, "rb") as f:
        f.seek(16 * MiB)
        assert f.read(8 * MiB) == bytes(8 * MiB), "write-zeroes range not zero in the file"
        assert f.read(4 * MiB) == b"\xa5" * (4 * MiB), "data beside the ranges changed"
        assert hashlib.sha256(f.read(4096)).hexdigest() == block, \
            "the fsync'ed block is not in the file"


# ---------------------------------------------------------------- bad input

def assert_refused(r, *names):
    """Exit 2 before booting, with a `clone: ` line on stderr naming one of `names`."""
    diag = f"exit {r.returncode}\nstdout: {r.stdout[-2000:]!r}\nstderr: {r.stderr!r}"
    assert not CRASH.search(r.stderr + r.stdout), diag
    assert r.returncode == 2, diag
    assert READY not in r.stdout, diag
    lines = r.stderr.strip().splitlines()
    assert lines and lines[0].startswith("clone: "), diag
    assert any(n in r.stderr for n in names), f"the message names none of {names}: {diag}"


@pytest.mark.parametrize("kind", images.CORRUPT_QCOW2)
def test_corrupt_qcow2_disk_refused(clone_binary, kvm, tmp_path, kind):
    """A qcow2 with a broken header (bad magic given as format=qcow2, an
    unknown version, encryption, an L1 table beyond the end of the file):
    exit 2 before the guest boots, the file byte-identical."""
    path = images.corrupt_qcow2(tmp_path / f"{kind}.qcow2", kind)
    digest, mtime = images.sha256(path), os.stat(path).st_mtime_ns
    spec = f"{path},format=qcow2" if kind == "bad-magic" else str(path)
    assert_refused(run_clone(["run", "--disk", spec], timeout=120), path.name, "qcow2")
    assert images.sha256(path) == digest and os.stat(path).st_mtime_ns == mtime, \
        "clone modified the corrupt image"


def test_missing_disk(clone_binary, kvm, tmp_path):
    path = tmp_path / "no-such-disk.img"
    assert_refused(run_clone(["run", "--disk", path]), path.name)
