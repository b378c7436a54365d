# SPDX-License-Identifier: Apache-2.0
"""Root file systems: a user initramfs (--initrd), a root disk (--rootfs),
and a read-only base with a writable overlay (--rootfs --overlay
tmpfs|auto|FILE.qcow2).

The root disks are copies of framework/images.py's busybox rootfs (ext4),
whose /etc/profile prints the same ready line as the built-in guest, so
wait_ready() and run_cmd() work on them; /etc/clone-test-rootfs proves the
guest runs from the disk and not from Clone's built-in initramfs.  Host-side
checks: sha256 of every base that must stay untouched, `qemu-img check` of
every qcow2 Clone wrote, `e2fsck -fn` after a clean guest poweroff.
Readiness is always a console line, never a sleep.
"""

import os
import re
import signal
import time

import pytest

from framework import images
from framework.images import ROOTFS_TAG, disk_by_serial
from framework.vm import DEFAULT_TIMEOUT, READY, run_clone

# A root disk boot loads virtio, ext4 (and overlay) modules first: under
# nested KVM on TCG that takes a while longer than the default guest.
BOOT = max(DEFAULT_TIMEOUT, 300)
CRASH = re.compile(r"Sanitizer|runtime error:|core dumped|Segmentation fault|Aborted|"
                   r"fatal signal", re.I)


def boot(make_vm, *args, name=None, timeout=BOOT):
    """Start clone with args, wait for the shell; check it runs the test rootfs."""
    vm = make_vm(*args, name=name)
    vm.wait_ready(timeout)
    tag = vm.run_cmd(f"cat /etc/{ROOTFS_TAG}", strip_kmsg=True)
    assert vm.last_rc == 0 and tag.startswith(ROOTFS_TAG), \
        f"the guest is not running from the test rootfs:\n{tag}"
    return vm


def poweroff(vm, timeout=None):
    vm.send("poweroff\n")
    code = vm.wait_exit(timeout)
    assert code == 0, f"exit {code}\n" + vm.tail()
    assert not CRASH.search(vm.err), vm.err


def root_mount(vm):
    """(fstype, options) of the file system mounted on / (the last entry)."""
    out = vm.run_cmd("awk '$2 == \"/\" {t = $3; o = $4} END {print \"ROOT\", t, o}' "
                     "/proc/mounts", check=True, strip_kmsg=True)
    m = re.search(r"^ROOT (\S+) (\S+)$", out, re.M)
    assert m, out
    return m.group(1), m.group(2).split(",")


def write_file(vm, path, text):
    vm.run_cmd(f"echo '{text}' > {path} && sync", check=True)


def read_file(vm, path):
    out = vm.run_cmd(f"cat {path}", strip_kmsg=True)
    return out.strip() if vm.last_rc == 0 else None


def token(what):
    return f"{what}-{os.getpid()}-{time.monotonic_ns()}"


# ---------------------------------------------------------------- mode 1

def test_user_initrd(make_vm, tmp_path):
    """--initrd: Clone boots the given initramfs, not its own."""
    mark = token("user-initrd")
    init = ("#!/bin/busybox sh\n"
            "/bin/busybox mount -t proc proc /proc\n"
            "echo \"INITRD-$(/bin/busybox cat /etc/mark)\"\n"
            "/bin/busybox poweroff -f\n")
    initrd = images.busybox_initramfs(tmp_path / "initrd.cpio", init,
                                      {"etc/mark": mark + "\n"})
    vm = make_vm("--initrd", initrd)
    vm.wait_for(re.escape(f"INITRD-{mark}"), BOOT)
    assert vm.wait_exit() == 0, vm.tail()
    assert READY not in vm.output, "the built-in guest ran instead of --initrd"


# ---------------------------------------------------------------- mode 2

def test_rootfs_write_survives_restart(make_vm, rootfs_base, tmp_path):
    """--rootfs disk.img: / is the disk's ext4, read-write; a file written
    and synced is there after the VM is restarted."""
    disk = images.copy_raw(rootfs_base, tmp_path / "disk.img")
    mark = token("persist")
    vm = boot(make_vm, "--rootfs", disk, name="first")
    fstype, opts = root_mount(vm)
    assert fstype == "ext4" and "rw" in opts, (fstype, opts)
    assert read_file(vm, "/sys/block/vda/serial") == "clone-root"
    write_file(vm, "/root/persist", mark)
    poweroff(vm)

    vm = boot(make_vm, "--rootfs", disk, name="second")
    assert read_file(vm, "/root/persist") == mark
    poweroff(vm)


def test_rootfs_clean_after_poweroff(make_vm, rootfs_base, tmp_path):
    """After file-system work in the guest and `poweroff`, `e2fsck -fn` of
    the image finds nothing, and the data is in the image."""
    disk = images.copy_raw(rootfs_base, tmp_path / "disk.img")
    vm = boot(make_vm, "--rootfs", disk)
    vm.run_cmd("mkdir -p /root/d && i=0 && while [ $i -lt 60 ]; do echo $i > /root/d/f$i; "
               "i=$((i + 1)); done && rm /root/d/f1* && "
               "dd if=/dev/urandom of=/root/big bs=64k count=32 2>/dev/null && "
               "mv /root/d/f42 /root/moved && sync", check=True, timeout=BOOT)
    poweroff(vm)
    images.e2fsck_clean(disk)
    assert images.ext4_cat(disk, "/root/moved") == b"42\n"
    assert images.ext4_cat(disk, "/root/d/f15") is None
    assert len(images.ext4_cat(disk, "/root/big")) == 2 << 20


# ---------------------------------------------------------------- mode 3

def test_overlay_tmpfs_discards_writes(make_vm, rootfs_base, tmp_path):
    """--overlay tmpfs: writes work but vanish at exit; the base is untouched."""
    base = images.copy_raw(rootfs_base, tmp_path / "base.img")
    digest = images.sha256(base)
    mark = token("vanish")
    vm = boot(make_vm, "--rootfs", base, "--overlay", "tmpfs", name="first")
    fstype, opts = root_mount(vm)
    assert fstype == "overlay" and "rw" in opts, (fstype, opts)
    write_file(vm, "/root/vanish", mark)
    write_file(vm, "/etc/" + ROOTFS_TAG, "overwritten")
    assert read_file(vm, "/root/vanish") == mark
    poweroff(vm)
    assert images.sha256(base) == digest, "--overlay tmpfs changed the base image"

    vm = boot(make_vm, "--rootfs", base, "--overlay", "tmpfs", name="second")
    assert read_file(vm, "/root/vanish") is None, "a tmpfs-overlay write survived a restart"
    poweroff(vm)
    assert images.sha256(base) == digest


def test_overlay_qcow2_file_persists(make_vm, rootfs_base, tmp_path):
    """--overlay FILE.qcow2: created on first use, seen as serial
    clone-upper; writes persist across restarts in it, never in the base;
    qemu-img check finds it clean."""
    base = images.copy_raw(rootfs_base, tmp_path / "base.img")
    upper = tmp_path / "upper.qcow2"
    digest = images.sha256(base)
    mark1, mark2 = token("upper-1"), token("upper-2")

    vm = boot(make_vm, "--rootfs", base, "--overlay", upper, name="first")
    assert root_mount(vm)[0] == "overlay"
    disk_by_serial(vm, "clone-upper")
    write_file(vm, "/root/persist", mark1)
    poweroff(vm)
    assert upper.exists() and images.image_format(upper) == "qcow2"
    images.qemu_img_check(upper)
    assert images.sha256(base) == digest, "writes reached the base image"

    vm = boot(make_vm, "--rootfs", base, "--overlay", upper, name="second")
    assert read_file(vm, "/root/persist") == mark1
    write_file(vm, "/root/persist2", mark2)
    poweroff(vm)
    images.qemu_img_check(upper)
    assert images.sha256(base) == digest

    vm = boot(make_vm, "--rootfs", base, "--overlay", upper, name="third")
    assert read_file(vm, "/root/persist") == mark1
    assert read_file(vm, "/root/persist2") == mark2
    poweroff(vm)
    images.qemu_img_check(upper)


def _qcow2_files(d):
    found = set()
    for name in os.listdir(d):
        p = os.path.join(d, name)
        try:
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    if f.read(4) == b"QFI\xfb":
                        found.add(p)
        except OSError:
            pass
    return found


def test_overlay_auto_leaves_nothing(make_vm, rootfs_base, tmp_path):
    """--overlay auto: a writable root on a temporary qcow2 disk that is
    gone after exit (nothing new beside the base, in $TMPDIR, /tmp or
    /var/tmp)."""
    work = tmp_path / "work"
    tmpdir = tmp_path / "tmpdir"
    work.mkdir()
    tmpdir.mkdir()
    base = images.copy_raw(rootfs_base, work / "base.img")
    digest = images.sha256(base)
    before = {str(d): set(os.listdir(d)) for d in (work, tmpdir)}
    qcow2_before = _qcow2_files("/tmp") | _qcow2_files("/var/tmp")

    vm = make_vm("--rootfs", base, "--overlay", "auto", env={"TMPDIR": str(tmpdir)})
    vm.wait_ready(BOOT)
    assert read_file(vm, f"/etc/{ROOTFS_TAG}").startswith(ROOTFS_TAG)
    assert root_mount(vm)[0] == "overlay"
    disk_by_serial(vm, "clone-upper")
    mark = token("auto")
    write_file(vm, "/root/auto", mark)
    assert read_file(vm, "/root/auto") == mark
    poweroff(vm)

    assert set(os.listdir(work)) == before[str(work)], os.listdir(work)
    assert set(os.listdir(tmpdir)) == before[str(tmpdir)], os.listdir(tmpdir)
    left = (_qcow2_files("/tmp") | _qcow2_files("/var/tmp")) - qcow2_before
    assert not left, f"--overlay auto left qcow2 files behind: {left}"
    assert images.sha256(base) == digest


def test_two_vms_share_one_base(make_vm, rootfs_base, tmp_path):
    """Two VMs on one base at once (--overlay tmpfs): both reach the shell,
    each sees its own writes only, and the base is untouched."""
    base = images.copy_raw(rootfs_base, tmp_path / "base.img")
    digest = images.sha256(base)
    a = make_vm("--rootfs", base, "--overlay", "tmpfs", name="a")
    b = make_vm("--rootfs", base, "--overlay", "tmpfs", name="b")
    for vm in (a, b):
        vm.wait_ready(2 * BOOT)
    marks = {}
    for vm in (a, b):
        marks[vm.name] = token(vm.name)
        write_file(vm, f"/root/{vm.name}", marks[vm.name])
    for vm, other in ((a, b), (b, a)):
        assert read_file(vm, f"/root/{vm.name}") == marks[vm.name]
        assert read_file(vm, f"/root/{other.name}") is None, \
            f"VM {vm.name} sees VM {other.name}'s file"
    for vm in (a, b):
        poweroff(vm)
    assert images.sha256(base) == digest


@pytest.mark.parametrize("base_format", ["raw", "qcow2"])
def test_qcow2_rootfs_with_backing_file(make_vm, rootfs_base, tmp_path, base_format):
    """--rootfs top.qcow2 whose backing file (made by qemu-img) is a raw or
    qcow2 image: it boots, writes land in the top image only, and both
    qemu-img check and e2fsck find the result clean."""
    if base_format == "raw":
        base = images.copy_raw(rootfs_base, tmp_path / "base.raw")
    else:
        base = images.to_qcow2(rootfs_base, tmp_path / "base.qcow2", "raw")
    digest = images.sha256(base)
    top = images.qcow2_with_backing(base, tmp_path / "top.qcow2", base_format)
    mark = token("backing")
    vm = boot(make_vm, "--rootfs", top)
    assert root_mount(vm)[0] == "ext4"
    write_file(vm, "/root/backing", mark)
    poweroff(vm)
    assert images.sha256(base) == digest, "a write went to the backing file"
    images.qemu_img_check(top)
    images.e2fsck_clean(top)
    assert images.ext4_cat(top, "/root/backing") == (mark + "\n").encode()


@pytest.mark.slow
def test_sigkill_during_writes_qcow2(make_vm, rootfs_base, tmp_path):
    """SIGKILL of clone while the guest writes and fsyncs files on a qcow2
    root: qemu-img check finds no corruption (leaked clusters allowed), the
    next boot replays the ext4 journal, the file system is usable, and after
    a clean poweroff e2fsck finds it clean."""
    disk = images.to_qcow2(rootfs_base, tmp_path / "root.qcow2", "raw")
    vm = boot(make_vm, "--rootfs", disk, name="killed")
    vm.send("i=0; while :; do dd if=/dev/urandom of=/root/churn.$((i % 4)) bs=64k count=8 "
            "conv=fsync 2>/dev/null; echo CHURN-$i; i=$((i + 1)); done\n")
    # A few writes have completed and the loop is still writing.
    vm.wait_for(r"^CHURN-3$", BOOT)
    vm.kill()
    assert vm.returncode == -signal.SIGKILL
    images.qemu_img_check_no_corruption(disk)

    vm = boot(make_vm, "--rootfs", disk, name="after")
    fstype, opts = root_mount(vm)
    assert fstype == "ext4" and "rw" in opts, (fstype, opts)
    dmesg = vm.run_cmd("dmesg | grep -i 'EXT4-fs'", strip_kmsg=False)
    assert "recovery complete" in dmesg, f"no journal recovery on the next boot:\n{dmesg}"
    mark = token("after-kill")
    write_file(vm, "/root/after", mark)
    vm.run_cmd("cat /root/churn.* > /dev/null && ls -l /root", check=True, timeout=BOOT)
    assert read_file(vm, "/root/after") == mark
    poweroff(vm)
    images.qemu_img_check_no_corruption(disk)
    images.e2fsck_clean(disk)
    assert images.ext4_cat(disk, "/root/after") == (mark + "\n").encode()


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


@pytest.mark.parametrize("mode", ["tmpfs", "auto"])
def test_overlay_without_rootfs_is_usage_error(clone_binary, kvm, mode):
    assert_refused(run_clone(["run", "--overlay", mode]), "overlay", "rootfs")


def test_missing_rootfs(clone_binary, kvm, tmp_path):
    path = tmp_path / "no-such-rootfs.img"
    assert_refused(run_clone(["run", "--rootfs", path]), path.name)


# bad magic is not in this list: --rootfs probes the format, and a file
# without the qcow2 magic is a raw image (test_blk.py covers it with
# --disk ...,format=qcow2).
@pytest.mark.parametrize("kind", ["bad-version", "encrypted", "l1-past-end"])
def test_corrupt_qcow2_rootfs_refused(clone_binary, kvm, tmp_path, rootfs_base, kind):
    path = images.corrupt_qcow2(tmp_path / f"{kind}.qcow2", kind, source=rootfs_base)
    digest, mtime = images.sha256(path), os.stat(path).st_mtime_ns
    assert_refused(run_clone(["run", "--rootfs", path], timeout=120), path.name, "qcow2")
    assert images.sha256(path) == digest and os.stat(path).st_mtime_ns == mtime, \
        "clone modified the corrupt image"
