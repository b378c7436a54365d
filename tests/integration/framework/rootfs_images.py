# SPDX-License-Identifier: Apache-2.0
"""Images that `clone rootfs create` builds for the end-to-end tests.

The Debian image takes minutes (debootstrap, then gdb, strace, docker.io and
the kernel's modules), so it is built on the host before the suite enters
the nested-KVM L1 (scripts/test runs `python3 -m framework.rootfs_images`
from tests/integration) and cached in build/test-images/, keyed by what
goes into it: the package list, the release, the mirror, debootstrap's
version, the kernel's modules and the clone-agent the clone binary
carries.  debian_image() returns the cached path, building it if missing.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CACHE = REPO / "build" / "test-images"
CLONE = REPO / "build" / "clone"
AGENT = REPO / "build" / "clone-agent"
RELEASE = "bookworm"
# docker.io recommends apparmor (installs are without recommends), and the
# Debian kernel has AppArmor on: dockerd needs apparmor_parser.
PACKAGES = "gdb,strace,docker.io,apparmor"
SIZE = "4G"
RECIPE = "rootfs-create 1"


def _newest_kernel_version():
    names = [n[len("vmlinuz-"):] for n in os.listdir("/boot") if n.startswith("vmlinuz-")]
    return sorted(names)[-1] if names else ""


def _debootstrap_version():
    p = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "debootstrap"],
                       capture_output=True, text=True)
    return p.stdout.strip()


def debian_key():
    h = hashlib.sha256()
    h.update(f"{RELEASE}\n{PACKAGES}\n{SIZE}\n{_debootstrap_version()}\n"
             f"{_newest_kernel_version()}\n".encode())
    h.update(AGENT.read_bytes())
    # Bump when what `clone rootfs create` puts into an image changes.
    h.update(RECIPE.encode())
    return h.hexdigest()[:16]


def debian_image():
    """The cached Debian image (raw ext4), built here if it is not there yet."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"debian-{RELEASE}-{debian_key()}.img"
    if path.exists():
        return path
    if os.environ.get("WITH_KVM_L1") == "1":
        raise RuntimeError(f"{path.name} is not built (or is out of date): build it on the "
                           "host first, as scripts/test does: cd tests/integration && "
                           "/usr/bin/python3 -m framework.rootfs_images")
    for old in CACHE.glob(f"debian-{RELEASE}-*.img"):
        old.unlink()  # older images and their copies
    p = subprocess.run([str(CLONE), "rootfs", "create", "--distro", "debian", "--release",
                        RELEASE, "--packages", PACKAGES, "--kernel-modules", "--size", SIZE,
                        "--hostname", "deb", "-o", str(path)],
                       stdout=sys.stderr, stderr=sys.stderr, timeout=3600)
    if p.returncode != 0:
        raise RuntimeError(f"clone rootfs create --distro debian failed ({p.returncode})")
    return path


def writable_copy(name, fresh=False):
    """A writable copy of the Debian image for tests that boot it read-write.
    Made on the host (scripts/test, where cp finds the holes quickly) and
    reused in L1, where copying over 9p would read every byte."""
    base = debian_image()
    path = CACHE / f"{base.stem}-{name}.img"
    if fresh or not path.exists():
        subprocess.run(["cp", "--sparse=always", "--reflink=auto", str(base), str(path)],
                       check=True)
    return path


if __name__ == "__main__":
    print(debian_image())
    for n in ("rw", "docker"):
        print(writable_copy(n, fresh=True))
