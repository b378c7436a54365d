# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the benchmark scripts (bench/blk/run, bench/net/run).

  * host facts: kvm_usable, cpu_model, newest_kernel, tool_version;
  * initramfs: Cpio (a newc writer), add_busybox, add_binary (an ELF with
    every library ldd lists), add_modules (kernel modules with their
    dependencies, in load order, decompressed);
  * processes: kill_group;
  * run_nested: run the script again inside one scripts/with-kvm L1 when
    this machine has no usable /dev/kvm.

A script sets PROG (the prefix of its log lines) before calling anything:

    sys.dont_write_bytecode = True
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    import benchlib
    benchlib.PROG = "bench/blk"

Python 3 standard library only (Debian's python3).
"""

import fcntl
import lzma
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile

REPO = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
KVM_GET_API_VERSION = 0xAE00
PROG = "bench"


def log(msg):
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


def die(msg):
    log(f"error: {msg}")
    sys.exit(1)


# ---------------------------------------------------------------- host facts

def kvm_usable():
    """/dev/kvm opens read-write and KVM_GET_API_VERSION says 12."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if fcntl.ioctl(fd, KVM_GET_API_VERSION) != 12:
            return False
    except OSError:
        return False
    finally:
        os.close(fd)
    # kvm_pvm serves /dev/kvm without hardware virtualisation, for PVM guest
    # kernels only: not a KVM that boots ordinary guests.
    return (not os.path.exists("/sys/module/kvm_pvm")
            or any(os.path.exists(f"/sys/module/{m}") for m in ("kvm_amd", "kvm_intel")))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def kvm_module():
    return "kvm_amd" if os.path.isdir("/sys/module/kvm_amd") else \
        "kvm_intel" if os.path.isdir("/sys/module/kvm_intel") else "kvm"


def version_key(s):
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", s)]


def newest_kernel():
    names = [f for f in os.listdir("/boot") if f.startswith("vmlinuz-")] \
        if os.path.isdir("/boot") else []
    if not names:
        die("no /boot/vmlinuz-*: install linux-image-amd64")
    path = os.path.join("/boot", sorted(names, key=version_key)[-1])
    if not os.access(path, os.R_OK):
        die(f"cannot read {path} (run as root)")
    return path


def tool_version(argv):
    """The first line ARGV prints (e.g. `qemu-system-x86_64 --version`), or "?"."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout
        return out.splitlines()[0].strip() if out else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def git_version():
    return tool_version(["git", "-C", REPO, "describe", "--always", "--dirty"])


# ---------------------------------------------------------------- initramfs

class Cpio:
    """A minimal newc (SVR4, no CRC) archive writer: what the kernel unpacks."""

    def __init__(self):
        self.buf = bytearray()
        self.ino = 1
        self.dirs = set()

    def add(self, name, mode, data=b"", rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0]
        self.ino += 1
        self.buf += b"070701" + b"".join(b"%08X" % v for v in fields) + name_b
        self.buf += b"\0" * (-len(self.buf) % 4)
        self.buf += data
        self.buf += b"\0" * (-len(self.buf) % 4)

    def mkdirs(self, path):
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d and d not in self.dirs:
                self.dirs.add(d)
                self.add(d, stat.S_IFDIR | 0o755)

    def file(self, name, data, perm=0o755):
        self.mkdirs(os.path.dirname(name))
        self.add(name, stat.S_IFREG | perm, data)

    def finish(self):
        self.add("TRAILER!!!", 0)
        return bytes(self.buf)


def read_module(path):
    """A .ko's bytes, decompressed (.ko.xz, .ko.zst, .ko.gz)."""
    if path.endswith(".xz"):
        with lzma.open(path) as f:
            return f.read()
    if path.endswith(".gz"):
        import gzip
        with gzip.open(path) as f:
            return f.read()
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", path], capture_output=True, check=True).stdout
    with open(path, "rb") as f:
        return f.read()


def module_order(kver, names):
    """The .ko paths (relative to /lib/modules/KVER) for names and their
    dependencies, dependencies first; built-in modules are left out."""
    base = f"/lib/modules/{kver}"
    deps = {}
    try:
        with open(f"{base}/modules.dep") as f:
            for line in f:
                mod, _, rest = line.partition(":")
                deps[mod.strip()] = rest.split()
    except OSError as e:
        die(f"cannot read {base}/modules.dep ({e.strerror}): install the modules of {kver}")
    builtin = set()
    try:
        with open(f"{base}/modules.builtin") as f:
            builtin = {re.sub(r"\.ko$", "", os.path.basename(x.strip())).replace("-", "_")
                       for x in f}
    except OSError:
        pass
    by_name = {re.sub(r"\.ko(\.\w+)?$", "", os.path.basename(p)).replace("-", "_"): p
               for p in deps}
    order = []

    def visit(path):
        if path in order:
            return
        for d in deps.get(path, []):
            visit(d)
        order.append(path)

    for n in names:
        key = n.replace("-", "_")
        if key in builtin:
            continue
        if key not in by_name:
            die(f"module {n} not found in {base}/modules.dep")
        visit(by_name[key])
    return [(p, os.path.join(base, p)) for p in order]


def elf_deps(binary):
    """The libraries (and the ELF interpreter) ldd lists for BINARY."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        m = re.search(r"=>\s+(/\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
        if m:
            libs.append(m.group(1))
    return libs


def add_busybox(c):
    """Static /bin/busybox, /bin/sh, the usual directories and /dev/console."""
    busybox = "/bin/busybox"
    if not os.path.isfile(busybox) or b"statically linked" not in subprocess.run(
            ["file", "-L", busybox], capture_output=True).stdout:
        die("/bin/busybox is missing or dynamically linked: apt-get install busybox-static")
    for d in ("bin", "dev", "proc", "sys", "tmp", "modules"):
        c.mkdirs(d)
    c.add("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    with open(busybox, "rb") as f:
        c.file("bin/busybox", f.read())
    c.add("bin/sh", stat.S_IFLNK | 0o777, b"/bin/busybox")


def add_binary(c, path, hint):
    """PATH (at the same path) with every library ldd lists; HINT says how
    to install it when it is missing."""
    if not os.access(path, os.X_OK):
        die(f"{path} not found: {hint}")
    with open(path, "rb") as f:
        c.file(path.lstrip("/"), f.read())
    for lib in elf_deps(path):
        with open(os.path.realpath(lib), "rb") as f:
            c.file(lib.lstrip("/"), f.read())


def add_modules(c, kver, names):
    """NAMES and their dependencies as /modules/*.ko and /modules.order
    (load order); returns the module file names (none when built in)."""
    order = []
    for rel, host in module_order(kver, names):
        name = re.sub(r"\.(xz|gz|zst)$", "", os.path.basename(rel))
        c.file(f"modules/{name}", read_module(host), 0o644)
        order.append(name)
    c.file("modules.order", ("\n".join(order) + "\n").encode(), 0o644)
    return order


# ---------------------------------------------------------------- processes

def kill_group(proc, sig=signal.SIGKILL, wait=10):
    """Signal PROC's process group (it was started with start_new_session)
    and reap it; SIGKILL when it has not exited within WAIT seconds."""
    try:
        os.killpg(proc.pid, sig)
    except OSError:
        pass
    try:
        proc.wait(timeout=wait)
        return
    except subprocess.TimeoutExpired:
        pass
    if sig != signal.SIGKILL:
        kill_group(proc, signal.SIGKILL, wait)


# ---------------------------------------------------------------- nesting

def run_nested(script, args_no_out, out, limit_s, mem_mb, what):
    """No /dev/kvm here: run SCRIPT (relative to the repository, e.g.
    "bench/blk/run") once inside a scripts/with-kvm L1 with ARGS_NO_OUT plus
    --out.  L1 writes back only under the repository, so an OUT elsewhere is
    staged under build/ and moved afterwards.  Returns the exit status."""
    env = os.environ.copy()
    env.update({"CLONE_BENCH_L0_CPU": cpu_model(),
                "CLONE_BENCH_COMMAND": " ".join(shlex.quote(a) for a in
                                                [script] + sys.argv[1:])})
    out = os.path.realpath(out)
    stage = None
    if not (out + "/").startswith(REPO + "/"):
        os.makedirs(os.path.join(REPO, "build"), exist_ok=True)
        stage = tempfile.mkdtemp(prefix="bench-", dir=os.path.join(REPO, "build"))
    inner = ["/usr/bin/python3", os.path.join(REPO, script)] + args_no_out + \
        ["--out", stage or out]
    cmd = [os.path.join(REPO, "scripts", "with-kvm"), "--smp", "1", "--mem", str(mem_mb),
           "--timeout", str(int(limit_s)), "--"] + inner
    log(f"no usable /dev/kvm: running {what} inside one scripts/with-kvm L1")
    child = subprocess.Popen(cmd, env=env)
    # with-kvm stops its L1 VM on SIGTERM/SIGINT: pass ours on.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, _f: child.send_signal(signum))
    rc = child.wait()
    if stage:
        os.makedirs(out, exist_ok=True)
        for name in os.listdir(stage):
            shutil.move(os.path.join(stage, name), os.path.join(out, name))
            log(f"wrote {os.path.join(out, name)}")
        shutil.rmtree(stage, ignore_errors=True)
    return rc
