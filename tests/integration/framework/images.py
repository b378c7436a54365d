# SPDX-License-Identifier: Apache-2.0
"""Disk images for the block-device and root-disk tests, built on the host.

Root file systems (ext4, `mkfs.ext4 -d TREE`), cached under
build/test-images/ and keyed by their inputs (the recipe below, and the
path, size and mtime of every host file copied in), so a run rebuilds one
only when busybox, fio or this file changed:

    rootfs_image()          busybox guest, 64 MiB
    rootfs_image(fio=True)  the same plus fio and util-linux's blkdiscard
                            and fallocate with every library they need
                            (about 90 MB of them), 192 MiB

The tree: /bin/busybox (busybox-static) and a symlink for every applet,
/sbin/init -> busybox, an /etc/inittab that runs /etc/init.d/rcS and a
respawning login shell on ttyS0, an /etc/profile that prints READY
("clone-guest: shell ready") as the built-in guest does, so
framework/vm.py's wait_ready() and run_cmd() work, and a shutdown script
that remounts / read-only so `poweroff` leaves a clean file system.
/etc/clone-test-rootfs holds ROOTFS_TAG: a guest that has it is running
from one of these images, not from Clone's built-in initramfs.

Images (qemu-img and plain copies):

    copy_raw(src, dst)                  sparse copy
    make_raw(path, size, fill=None)     sparse file, or filled with bytes
    to_qcow2(src, dst, src_format=None) qemu-img convert -O qcow2
    qcow2_with_backing(base, dst, base_format)
    create_qcow2(path, size)
    corrupt_qcow2(path, kind, source=None)  one broken header field (CORRUPT_QCOW2)

Checks:

    sha256(path)
    qemu_img_check(path)            exit 0 and "No errors were found"
    qemu_img_check_no_corruption(p) exit 0 or 3 (leaked clusters allowed)
    e2fsck_clean(path)              e2fsck -fn exits 0 (qcow2: on a raw copy)
    ext4_cat(path, file)            a file's contents, read with debugfs
    allocated_bytes(path)           st_blocks * 512

Initramfs (newc cpio, what the kernel unpacks):

    Cpio(); c.add_dir / add_file / add_symlink / add_chardev; c.finish()
    busybox_initramfs(path, init_script, extra_files={})

Guest side (a shell on the console, see framework/vm.py):

    disk_by_serial(vm, serial) -> "vdX"
"""

import fcntl
import hashlib
import os
import re
import shutil
import stat
import struct
import subprocess
import tempfile
from pathlib import Path

from framework.vm import READY, REPO

CACHE = REPO / "build" / "test-images"
BUSYBOX = Path("/bin/busybox")
ROOTFS_TAG = "clone-test-rootfs"
# Host programs copied into the fio image (with their libraries): fio and
# iperf3 for the I/O and network tests and benchmarks.
FIO_TOOLS = {"/usr/bin/fio": "usr/bin/fio",
             "/usr/bin/iperf3": "usr/bin/iperf3",
             "/usr/sbin/blkdiscard": "usr/local/sbin/blkdiscard",
             "/usr/bin/fallocate": "usr/local/bin/fallocate"}
SMALL_MB = 64
FIO_MB = 192

INITTAB = """\
# clone test rootfs (tests/integration/framework/images.py)
::sysinit:/etc/init.d/rcS
ttyS0::respawn:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/etc/init.d/rcK
"""

# Clone's initramfs has mounted /proc, /sys and /dev before switch_root;
# mount them here only if it did not (so the image also boots elsewhere).
RCS = """\
#!/bin/sh
# clone test rootfs: early setup
# (the initramfs has moved /proc, /sys and /dev here already)
[ -e /proc/self ] || mount -t proc proc /proc
grep -q ' /sys ' /proc/mounts || mount -t sysfs sysfs /sys
grep -q ' /dev ' /proc/mounts || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
grep -q ' /dev/pts ' /proc/mounts || mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
hostname clone
"""

# Run by init before it kills everything: leave the root file system clean.
RCK = """\
#!/bin/sh
# clone test rootfs: shutdown
sync
umount -a -r 2>/dev/null
mount -o remount,ro / 2>/dev/null
sync
"""

PROFILE = f"""\
export PATH=/usr/local/sbin:/usr/local/bin:/sbin:/usr/sbin:/bin:/usr/bin
export HOME=/root
export PS1='\\u@\\h:\\w\\$ '
cd "$HOME"
echo '{READY}'
"""

# Bump when the recipe changes in a way the key below does not see.
RECIPE = "1"


# ---------------------------------------------------------------- helpers

def run(argv, check=True, **kw):
    """subprocess.run with text output captured; a failure shows the output."""
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(str(a) for a in argv)}: exit {r.returncode}\n"
                             f"stdout: {r.stdout}\nstderr: {r.stderr}")
    return r


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


def allocated_bytes(path):
    return os.stat(path).st_blocks * 512


def image_format(path):
    with open(path, "rb") as f:
        return "qcow2" if f.read(4) == b"QFI\xfb" else "raw"


# ---------------------------------------------------------------- image making

def copy_raw(src, dst):
    """Copy a file keeping its holes (the copy is what the guest sees)."""
    run(["cp", "--sparse=always", src, dst])
    return Path(dst)


def make_raw(path, size, fill=None):
    """A raw image of `size` bytes: sparse, or `fill` (bytes) repeated."""
    with open(path, "wb") as f:
        if fill is None:
            f.truncate(size)
        else:
            chunk = (fill * (-(-(1 << 20) // len(fill))))[:1 << 20]
            left = size
            while left:
                n = min(left, len(chunk))
                f.write(chunk[:n])
                left -= n
    return Path(path)


def create_qcow2(path, size):
    run(["qemu-img", "create", "-q", "-f", "qcow2", path, str(size)])
    return Path(path)


def to_qcow2(src, dst, src_format=None):
    run(["qemu-img", "convert", "-f", src_format or image_format(src), "-O", "qcow2",
         src, dst])
    return Path(dst)


def to_raw(src, dst):
    run(["qemu-img", "convert", "-f", image_format(src), "-O", "raw", src, dst])
    return Path(dst)


def qcow2_with_backing(base, dst, base_format=None):
    """A qcow2 whose backing file is `base` (absolute path recorded)."""
    base = Path(base).resolve()
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", base,
         "-F", base_format or image_format(base), dst])
    return Path(dst)


def patch_bytes(path, offset, data):
    """Overwrite bytes of a file in place (crafting corrupt headers)."""
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


CORRUPT_QCOW2 = ("bad-magic", "bad-version", "encrypted", "l1-past-end")


def corrupt_qcow2(path, kind, source=None):
    """A qcow2 (of `source`, else an empty 16 MiB one) with one header
    field broken: "bad-magic" (not "QFI\\xfb"; only format=qcow2 makes it
    a qcow2), "bad-version" (99), "encrypted" (crypt_method 1, AES) or
    "l1-past-end" (L1 table offset 64 clusters beyond the end of file)."""
    if source is not None:
        to_qcow2(source, path)
    else:
        create_qcow2(path, 16 << 20)
    with open(path, "rb") as f:
        hdr = f.read(104)
    cluster = 1 << struct.unpack_from(">I", hdr, 20)[0]
    if kind == "bad-magic":
        patch_bytes(path, 0, b"QFI\x00")
    elif kind == "bad-version":
        patch_bytes(path, 4, struct.pack(">I", 99))
    elif kind == "encrypted":
        patch_bytes(path, 32, struct.pack(">I", 1))
    elif kind == "l1-past-end":
        end = -(-os.path.getsize(path) // cluster) * cluster
        patch_bytes(path, 40, struct.pack(">Q", end + 64 * cluster))
    else:
        raise ValueError(kind)
    return Path(path)


# ---------------------------------------------------------------- checks

def qemu_img_check(path):
    """`qemu-img check` finds nothing at all: exit 0, "No errors were found"."""
    r = run(["qemu-img", "check", path], check=False)
    assert r.returncode == 0 and "No errors were found" in r.stdout, \
        f"qemu-img check {path}: exit {r.returncode}\n{r.stdout}{r.stderr}"
    return r.stdout


def qemu_img_check_no_corruption(path):
    """`qemu-img check` finds no corruption; leaked clusters (exit 3, what a
    killed writer leaves) are allowed.  Returns the report."""
    r = run(["qemu-img", "check", path], check=False)
    assert r.returncode in (0, 3), \
        f"qemu-img check {path}: exit {r.returncode} (2: corruption)\n{r.stdout}{r.stderr}"
    assert not re.search(r"^ERROR|\d+ errors were found", r.stdout, re.M), r.stdout
    return r.stdout


def _as_raw(path, tmpdir):
    if image_format(path) == "raw":
        return Path(path)
    return to_raw(path, Path(tmpdir) / "image.raw")


def e2fsck_clean(path):
    """`e2fsck -fn` on the image (a raw copy of a qcow2) finds nothing."""
    with tempfile.TemporaryDirectory(prefix="clone-e2fsck-") as tmp:
        r = run(["e2fsck", "-fn", _as_raw(path, tmp)], check=False)
    assert r.returncode == 0, f"e2fsck -fn {path}: exit {r.returncode}\n{r.stdout}{r.stderr}"
    return r.stdout


def ext4_cat(path, name):
    """The contents of file `name` in the ext4 image (raw or qcow2), or None."""
    with tempfile.TemporaryDirectory(prefix="clone-debugfs-") as tmp:
        img = _as_raw(path, tmp)
        out = Path(tmp) / "out"
        r = run(["debugfs", "-R", f"dump {name} {out}", img], check=False)
        if r.returncode != 0 or not out.exists():
            return None
        return out.read_bytes()


# ---------------------------------------------------------------- initramfs

class Cpio:
    """newc (SVR4, no CRC) archive writer."""

    def __init__(self):
        self.buf = bytearray()
        self.ino = 1

    def _add(self, name, mode, data=b"", rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(name_b), 0]
        self.ino += 1
        self.buf += b"070701" + b"".join(b"%08X" % v for v in fields) + name_b
        self.buf += b"\0" * (-len(self.buf) % 4)
        self.buf += data
        self.buf += b"\0" * (-len(self.buf) % 4)

    def add_dir(self, name, perm=0o755):
        self._add(name, stat.S_IFDIR | perm)

    def add_file(self, name, data, perm=0o644):
        self._add(name, stat.S_IFREG | perm, data.encode() if isinstance(data, str) else data)

    def add_symlink(self, name, target):
        self._add(name, stat.S_IFLNK | 0o777, target.encode())

    def add_chardev(self, name, major, minor, perm=0o600):
        self._add(name, stat.S_IFCHR | perm, rdev=(major, minor))

    def finish(self):
        self._add("TRAILER!!!", 0)
        return bytes(self.buf)


def busybox_initramfs(path, init_script, extra_files=None):
    """An initramfs of static busybox (+ applet symlinks in /bin) with
    `init_script` as /init; extra_files maps archive names to contents."""
    c = Cpio()
    for d in ("bin", "sbin", "dev", "proc", "sys", "etc", "tmp", "root"):
        c.add_dir(d)
    c.add_chardev("dev/console", 5, 1)
    c.add_chardev("dev/null", 1, 3, 0o666)
    c.add_file("bin/busybox", BUSYBOX.read_bytes(), 0o755)
    for applet in ("sh", "mount", "cat", "echo", "poweroff", "sync", "mkdir", "ls"):
        c.add_symlink(f"bin/{applet}", "/bin/busybox")
    c.add_file("init", init_script, 0o755)
    for name, data in (extra_files or {}).items():
        c.add_file(name, data)
    Path(path).write_bytes(c.finish())
    return Path(path)


# ---------------------------------------------------------------- rootfs

def elf_deps(binary):
    """Every shared library `ldd` lists for binary, and its dynamic loader,
    as (path as listed, real file) pairs."""
    out = run(["ldd", binary]).stdout
    deps = []
    for line in out.splitlines():
        m = re.search(r"=>\s+(/\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
        if m:
            deps.append((m.group(1), os.path.realpath(m.group(1))))
    if not any("ld-linux" in p for p, _ in deps):
        raise AssertionError(f"ldd {binary} names no dynamic loader:\n{out}")
    return deps


def _inputs(fio):
    """Host files a rootfs copies in, as {path in tree: host file}."""
    files = {"bin/busybox": str(BUSYBOX)}
    if fio:
        for host, dest in FIO_TOOLS.items():
            files[dest] = host
            for listed, real in elf_deps(host):
                files[listed.lstrip("/")] = real
    return files


def _key(fio, size_mb, files):
    h = hashlib.sha256()
    h.update(f"{RECIPE}\n{fio}\n{size_mb}\n{INITTAB}{RCS}{RCK}{PROFILE}".encode())
    for dest in sorted(files):
        st = os.stat(files[dest])
        h.update(f"{dest} {files[dest]} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _check_busybox():
    r = run(["file", "-L", BUSYBOX], check=False)
    if "statically linked" not in r.stdout and "static-pie" not in r.stdout:
        raise AssertionError(f"{BUSYBOX} is not static ({r.stdout.strip()}): "
                             "apt-get install busybox-static")


def build_tree(tree, fio=False):
    """Fill directory `tree` with the rootfs (see the module docstring)."""
    tree = Path(tree)
    _check_busybox()
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "usr/local/sbin",
              "etc/init.d", "dev", "proc", "sys", "tmp", "run", "root", "mnt", "var",
              "lib", "lib64"):
        (tree / d).mkdir(parents=True, exist_ok=True)
    os.chmod(tree / "tmp", 0o1777)
    os.chmod(tree / "root", 0o700)
    files = _inputs(fio)
    for dest, host in files.items():
        (tree / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(host, tree / dest)
    applets = run([BUSYBOX, "--list-full"]).stdout.split()
    for a in applets:
        p = tree / a
        if p.exists() or p.is_symlink():
            continue
        p.parent.mkdir(parents=True, exist_ok=True)
        os.symlink("/bin/busybox", p)
    for name, text, mode in (("etc/inittab", INITTAB, 0o644), ("etc/init.d/rcS", RCS, 0o755),
                             ("etc/init.d/rcK", RCK, 0o755), ("etc/profile", PROFILE, 0o644),
                             ("etc/passwd", "root::0:0:root:/root:/bin/sh\n", 0o644),
                             ("etc/group", "root:x:0:\ntty:x:5:\n", 0o644),
                             ("etc/hosts", "127.0.0.1\tlocalhost clone\n", 0o644),
                             ("etc/fstab", "", 0o644),
                             ("etc/" + ROOTFS_TAG, ROOTFS_TAG + (" fio\n" if fio else "\n"),
                              0o644)):
        (tree / name).write_text(text)
        os.chmod(tree / name, mode)
    try:  # init's stdio before anything mounts devtmpfs (root only)
        os.mknod(tree / "dev/console", 0o600 | stat.S_IFCHR, os.makedev(5, 1))
        os.mknod(tree / "dev/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except OSError:  # not root, or a file system without device nodes (9p)
        pass
    return tree


def rootfs_image(fio=False):
    """Path of the cached rootfs image (build/test-images/), built if its
    inputs changed.  Shared: never boot it writable, copy it first."""
    size_mb = FIO_MB if fio else SMALL_MB
    files = _inputs(fio)
    name = "rootfs-fio" if fio else "rootfs"
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}-{_key(fio, size_mb, files)}.ext4"
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return path
        for old in CACHE.glob(f"{name}-*.ext4"):
            old.unlink()
        # The tree goes in the local temporary directory: the repository may be
        # a 9p share (inside scripts/with-kvm), where device nodes cannot be made.
        tmp = tempfile.mkdtemp(prefix=f"clone-{name}-")
        try:
            tree = build_tree(Path(tmp) / "tree", fio)
            img = Path(tmp) / "image"
            run(["mkfs.ext4", "-q", "-F", "-T", "default", "-L", "clone-root",
                 "-E", "root_owner=0:0", "-d", tree, img, f"{size_mb}M"])
            e2fsck_clean(img)
            os.chmod(img, 0o444)
            part = CACHE / f".{path.name}.part"
            shutil.copyfile(img, part)
            os.chmod(part, 0o444)
            os.rename(part, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return path


# ---------------------------------------------------------------- guest side

def disk_by_serial(vm, serial, timeout=None):
    """The guest's block device name ("vdb") whose virtio-blk serial is
    `serial` (/sys/block/vd*/serial)."""
    out = vm.run_cmd(f"for d in /sys/block/vd*; do [ \"$(cat $d/serial 2>/dev/null)\" = "
                     f"'{serial}' ] && echo DEV=${{d##*/}}; done; true",
                     timeout=timeout, strip_kmsg=True)
    devs = re.findall(r"^DEV=(vd[a-z]+)$", out, re.M)
    if len(devs) != 1:
        listing = vm.run_cmd("grep . /sys/block/vd*/serial", strip_kmsg=True)
        raise AssertionError(f"{len(devs)} disks with serial {serial!r} in the guest:\n"
                             f"{listing}")
    return devs[0]
