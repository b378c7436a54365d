# SPDX-License-Identifier: Apache-2.0
"""Images that `clone rootfs create` builds for the end-to-end tests.

The Debian image takes minutes (debootstrap, then gdb, strace, docker.io and
the kernel's modules), so it is built on the host before the suite enters
the nested-KVM L1 (scripts/test runs `python3 -m framework.rootfs_images`
from tests/integration) and cached in build/test-images/, keyed by what
goes into it: the package list, the release, debootstrap's version, the
kernel's modules and the clone-agent the clone binary carries.
debian_image() returns the cached path, building it if missing.  A minimal
Ubuntu image (ubuntu_image(), jammy from archive.ubuntu.com) is built the
same way, with Ubuntu's archive keyring taken from its ubuntu-keyring
package (pinned by SHA-256).
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
UBUNTU_RELEASE = "jammy"
UBUNTU_SIZE = "2G"
UBUNTU_MIRROR = "http://archive.ubuntu.com/ubuntu"
UBUNTU_KEYRING_DEB = "pool/main/u/ubuntu-keyring/ubuntu-keyring_2021.03.26_all.deb"
UBUNTU_KEYRING_SHA256 = "0d0e7ed6b112f5d03eabf3c7eb01ebdacf9c57714b279e90495cfc58c8c4520f"


def _newest_kernel_version():
    names = [n[len("vmlinuz-"):] for n in os.listdir("/boot") if n.startswith("vmlinuz-")]
    return sorted(names)[-1] if names else ""


def _debootstrap_version():
    p = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "debootstrap"],
                       capture_output=True, text=True)
    return p.stdout.strip()


def _key(*parts):
    h = hashlib.sha256()
    h.update("\n".join(parts).encode())
    h.update(AGENT.read_bytes())
    # Bump when what `clone rootfs create` puts into an image changes.
    h.update(RECIPE.encode())
    return h.hexdigest()[:16]


def _build(path, prefix, make_args):
    """Build the image at path with `clone rootfs create ARGS` unless it is
    there (make_args() gives ARGS, only then: it may download); older images
    of the same prefix (and their copies) go."""
    if path.exists():
        return path
    if os.environ.get("WITH_KVM_L1") == "1":
        raise RuntimeError(f"{path.name} is not built (or is out of date): build it on the "
                           "host first, as scripts/test does: cd tests/integration && "
                           "/usr/bin/python3 -m framework.rootfs_images")
    args = make_args()
    for old in CACHE.glob(f"{prefix}-*.img"):
        old.unlink()
    p = subprocess.run([str(CLONE), "rootfs", "create", *args, "-o", str(path)],
                       stdout=sys.stderr, stderr=sys.stderr, timeout=3600)
    if p.returncode != 0:
        raise RuntimeError(f"clone rootfs create {' '.join(args[:2])} failed ({p.returncode})")
    return path


def debian_image():
    """The cached Debian image (raw ext4), built here if it is not there yet."""
    CACHE.mkdir(parents=True, exist_ok=True)
    key = _key(RELEASE, PACKAGES, SIZE, _debootstrap_version(), _newest_kernel_version())
    return _build(CACHE / f"debian-{RELEASE}-{key}.img", f"debian-{RELEASE}",
                  lambda: ["--distro", "debian", "--release", RELEASE, "--packages", PACKAGES,
                           "--kernel-modules", "--size", SIZE, "--hostname", "deb"])


UNREACHABLE = CACHE / "ubuntu-unreachable"


def ubuntu_reachable():
    """Whether Ubuntu's archive answers from here (the Debian one is needed
    anyway; Ubuntu's has not always been reachable from test machines)."""
    p = subprocess.run(["curl", "-fsS", "-o", "/dev/null", "--max-time", "30", "--retry", "2",
                        f"{UBUNTU_MIRROR}/dists/{UBUNTU_RELEASE}/Release"],
                       capture_output=True, text=True)
    if p.returncode == 0:
        UNREACHABLE.unlink(missing_ok=True)
        return True
    UNREACHABLE.write_text(f"{UBUNTU_MIRROR}: {p.stderr.strip()}\n")
    return False


def ubuntu_unreachable():
    """Why the Ubuntu image could not be built (its archive did not answer
    when scripts/test built the images), or None."""
    try:
        return UNREACHABLE.read_text().strip()
    except OSError:
        return None


def ubuntu_keyring():
    """Ubuntu's archive keyring, from the ubuntu-keyring package on Ubuntu's
    archive (Debian 12 does not carry it), checked against the package's
    pinned SHA-256 (the archive key in it: F6EC B376 2474 EDA9 D21B 7022
    8719 20D1 991B C93C)."""
    path = CACHE / "ubuntu-archive-keyring.gpg"
    if path.exists():
        return path
    deb = CACHE / UBUNTU_KEYRING_DEB.rsplit("/", 1)[1]
    subprocess.run(["curl", "-fsS", "--retry", "3", "-o", str(deb),
                    f"{UBUNTU_MIRROR}/{UBUNTU_KEYRING_DEB}"], check=True, timeout=600)
    if hashlib.sha256(deb.read_bytes()).hexdigest() != UBUNTU_KEYRING_SHA256:
        deb.unlink()
        raise RuntimeError(f"{deb.name}: not the pinned ubuntu-keyring package")
    tmp = CACHE / "ubuntu-keyring.tmp"
    subprocess.run(["rm", "-rf", str(tmp)], check=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], check=True)
    os.replace(tmp / "usr/share/keyrings/ubuntu-archive-keyring.gpg", path)
    subprocess.run(["rm", "-rf", str(tmp), str(deb)], check=True)
    return path


def ubuntu_image():
    """The cached Ubuntu image (minimal: debootstrap's minbase and what
    rootfs create adds), built here if it is not there yet."""
    CACHE.mkdir(parents=True, exist_ok=True)
    key = _key("ubuntu", UBUNTU_RELEASE, UBUNTU_SIZE, _debootstrap_version())
    return _build(CACHE / f"ubuntu-{UBUNTU_RELEASE}-{key}.img", f"ubuntu-{UBUNTU_RELEASE}",
                  lambda: ["--distro", "ubuntu", "--release", UBUNTU_RELEASE, "--keyring",
                           str(ubuntu_keyring()), "--size", UBUNTU_SIZE, "--hostname", "ubu"])


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
    # The busybox images too: with the suite split over two L1 VMs
    # (scripts/test), neither should build them while the other waits.
    from framework import images
    print(images.rootfs_image())
    print(images.rootfs_image(fio=True))
    print(debian_image())
    if ubuntu_reachable():
        print(ubuntu_image())
    else:
        print(f"Ubuntu's archive is unreachable, no Ubuntu image: {ubuntu_unreachable()}",
              file=sys.stderr)
    for n in ("rw", "docker"):
        print(writable_copy(n, fresh=True))
