# SPDX-License-Identifier: Apache-2.0
"""End to end: `clone rootfs create` images boot and serve the agent.

A Debian image (debootstrap, with gdb, strace, docker.io and the kernel's
modules; built once on the host and cached, see framework/rootfs_images.py)
boots with --rootfs and with --rootfs --overlay, its systemd reaches a login
prompt on ttyS0, `clone exec` goes through the clone-agent the image
starts itself, gdb and strace trace, and Docker runs a container from an
image loaded from a tarball built here.  --from-docker through a real
engine: podman (beside a docker whose daemon is down) exports an image
loaded from the same kind of tarball.  Busybox trees (--from-dir), OCI
layouts built here (--from-oci, with a whiteout), an Alpine-style mirror
served from a local HTTP server (checksums) and every refusal: bad paths,
sizes, corrupt tarballs, missing blobs, no container engine.  Waiting is on
the console's lines or the agent, never a fixed time.
"""

import functools
import hashlib
import http.server
import io
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest

from framework import images
from framework.netns import NetNS
from framework.rootfs_images import (debian_image, ubuntu_image, ubuntu_unreachable,
                                     writable_copy)
from framework.vm import DEFAULT_TIMEOUT, clone_bin

BOOT = max(DEFAULT_TIMEOUT, 600)  # systemd under nested KVM on TCG


def create(*args, env=None, timeout=1800):
    return subprocess.run([str(clone_bin()), "rootfs", "create", *map(str, args)],
                          capture_output=True, timeout=timeout, env=env)


def wait_console(host, name, text, timeout=BOOT):
    """Wait until the VM's console log shows text (a condition, polled)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = host.log(name)
        if text in log:
            return log
        if name not in host.listing():
            break
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not on {name}'s console:\n{host.log(name)[-3000:]}")


def leftovers(d):
    return [p.name for p in Path(d).iterdir()]


def busybox_tree(path):
    """A bare busybox tree: the binary alone (rootfs create adds the rest)."""
    (path / "bin").mkdir(parents=True)
    shutil.copy2(images.BUSYBOX, path / "bin" / "busybox")
    return path


@pytest.fixture(scope="module")
def debian():
    return debian_image()


# ---- Debian ----------------------------------------------------------------

def test_debian_image_boots_with_its_own_agent_and_tools(host, debian):
    disk = writable_copy("rw")
    host.start("deb", "--rootfs", disk, "--mem-mb", "1024")
    wait_console(host, "deb", " login:")
    assert host.sh("deb", "cat /etc/hostname") == "deb\n"
    # The agent that answers is the image's, started by systemd.
    assert host.sh("deb", "systemctl is-active clone-agent").strip() == "active"
    exe = host.sh("deb", "readlink /proc/$(systemctl show -p MainPID --value clone-agent)/exe")
    exe = exe.strip()
    assert exe == "/usr/local/sbin/clone-agent", exe
    out = host.sh("deb", "strace -f -e trace=openat cat /etc/hostname 2>&1")
    assert 'openat(AT_FDCWD, "/etc/hostname"' in out, out
    out = host.sh("deb", "gdb -batch -ex 'set breakpoint pending on' -ex 'break write' -ex run "
                         "-ex bt --args /bin/echo hi 2>&1")
    assert "Breakpoint 1" in out and "#0" in out, out
    # The kernel's modules are there: the guest loads a driver it did not have.
    host.sh("deb", "modprobe dummy && grep -q '^dummy ' /proc/modules")


def test_debian_image_boots_with_an_overlay(host, debian):
    # The cached image itself is the base: Clone opens it read-only.
    before = os.stat(debian)
    ns = NetNS()
    try:
        host.start("debo", "--rootfs", debian, "--overlay", "tmpfs", "--mem-mb", "1024",
                   "--netns", ns.name, "--net")
        wait_console(host, "debo", " login:")
        assert host.sh("debo", "echo changed > /etc/motd; cat /etc/motd") == "changed\n"
        assert "overlay" in host.sh("debo", "grep ' / ' /proc/mounts")
        # The image's networking takes the address Clone gives: eth0 has it
        # and the host's bridge is reachable.
        addr = host.status("debo")["net"][0]["address"]
        assert f"inet {addr}" in host.sh("debo", "ip -o -4 addr show eth0")
        srv = ns.echo_server("172.20.0.1", 7100)
        p = host.exec("debo", "bash", "-c", "echo hi > /dev/tcp/172.20.0.1/7100")
        assert p.returncode == 0, p.stderr.decode()
        assert srv.wait(timeout=DEFAULT_TIMEOUT) == 0
    finally:
        host("kill", "debo")
        ns.close()
    after = os.stat(debian)
    assert (after.st_mtime_ns, after.st_size, after.st_blocks) == \
        (before.st_mtime_ns, before.st_size, before.st_blocks)


def test_ubuntu_image_boots_to_login_and_serves_exec(host):
    """--distro ubuntu (debootstrap jammy; built on the host, cached)."""
    why = ubuntu_unreachable()
    if why:
        pytest.skip(f"no Ubuntu image: Ubuntu's archive was unreachable ({why})")
    img = ubuntu_image()
    host.start("ubu", "--rootfs", img, "--overlay", "tmpfs", "--mem-mb", "512")
    wait_console(host, "ubu", " login:")
    assert 'VERSION_ID="22.04"' in host.sh("ubu", "cat /etc/os-release")
    # The image's systemd started the agent that serves this exec.
    assert host.sh("ubu", "readlink /proc/$(systemctl show -p MainPID --value "
                          "clone-agent)/exe").strip() == "/usr/local/sbin/clone-agent"


MARKER = b"made by the test's docker save\n"


def docker_image_tar():
    """A one-layer image in `docker save` format: static busybox, an echo,
    a marker file."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as t:
        t.add(str(images.BUSYBOX), arcname="bin/busybox")
        info = tarfile.TarInfo("etc/container-marker")
        info.size = len(MARKER)
        t.addfile(info, io.BytesIO(MARKER))
    layer = layer.getvalue()
    diff = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/busybox", "echo", "hello-from-a-container"]},
        "rootfs": {"type": "layers", "diff_ids": [diff]},
    }).encode()
    manifest = json.dumps([{"Config": "config.json", "RepoTags": ["clone-test:1"],
                            "Layers": ["layer/layer.tar"]}]).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as t:
        for name, data in (("config.json", config), ("layer/layer.tar", layer),
                           ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_docker_runs_a_container_in_the_vm(host, debian):
    disk = writable_copy("docker")
    host.start("dock", "--rootfs", disk, "--mem-mb", "2048")
    host.sh("dock", "systemctl start docker", timeout=BOOT)  # minutes under nested TCG
    p = host.exec("dock", "sh", "-c", "cat > /root/image.tar", input=docker_image_tar())
    assert p.returncode == 0, p.stderr.decode()
    out = host.sh("dock", "docker load -i /root/image.tar", timeout=BOOT)
    assert "clone-test:1" in out, out
    out = host.sh("dock", "docker run --rm --network none clone-test:1", timeout=BOOT)
    assert out == "hello-from-a-container\n", out


def docker_down(path):
    """A docker CLI whose daemon does not run (what docker prints then)."""
    path.mkdir()
    (path / "docker").write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon at "
                                 "unix:///var/run/docker.sock. Is the docker daemon "
                                 "running?' >&2\nexit 1\n")
    (path / "docker").chmod(0o755)
    return path


def test_from_docker_falls_back_to_podman_and_boots(host, tmp_path):
    """--from-docker against a real engine: podman, with storage of the
    test's own, holding an image loaded from a `docker save` tarball built
    here (no registry).  docker is installed but its daemon is down, so
    Clone exports through podman."""
    conf = tmp_path / "storage.conf"
    conf.write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{tmp_path}/graph"\n'
                    f'runroot = "{tmp_path}/run"\n')
    env = dict(os.environ, CONTAINERS_STORAGE_CONF=str(conf))
    (tmp_path / "image.tar").write_bytes(docker_image_tar())
    p = subprocess.run(["podman", "load", "-i", str(tmp_path / "image.tar")], env=env,
                       capture_output=True, timeout=BOOT)
    assert p.returncode == 0, p.stderr.decode()

    fake = docker_down(tmp_path / "bin")
    img = tmp_path / "out" / "pod.img"
    img.parent.mkdir()
    p = create("--from-docker", "clone-test:1", "-o", img, "--size", "64M",
               env=dict(env, PATH=f"{fake}:{os.environ['PATH']}"))
    assert p.returncode == 0, p.stderr.decode()
    err = p.stderr.decode()
    assert "no docker engine runs here" in err and "through podman instead" in err, err
    assert images.ext4_cat(img, "/etc/container-marker") == MARKER
    assert leftovers(img.parent) == ["pod.img"]
    # The container made for the export is gone; the image stays.
    p = subprocess.run(["podman", "ps", "-a", "-q"], env=env, capture_output=True,
                       timeout=BOOT)
    assert p.returncode == 0 and p.stdout == b"", p
    # --engine docker insists on docker.
    err = one_line_error(create("--from-docker", "clone-test:1", "-o", tmp_path / "d.img",
                                "--engine", "docker",
                                env=dict(env, PATH=f"{fake}:{os.environ['PATH']}")))
    assert "no docker engine runs here" in err, err
    assert leftovers(img.parent) == ["pod.img"]

    host.start("pod", "--rootfs", img)
    wait_console(host, "pod", " login:")
    assert host.sh("pod", "cat /etc/container-marker").encode() == MARKER


# ---- busybox trees and OCI layouts ---------------------------------------

def test_busybox_tree_from_dir_boots(host, tmp_path):
    tree = busybox_tree(tmp_path / "tree")
    img = tmp_path / "bb.img"
    p = create("--from-dir", tree, "-o", img, "--size", "64M", "--hostname", "bbox")
    assert p.returncode == 0, p.stderr.decode()
    assert b"[1/3]" in p.stderr and b"[3/3]" in p.stderr, p.stderr
    assert images.allocated_bytes(img) < 32 << 20  # sparse
    assert images.ext4_cat(img, "/etc/hostname") == b"bbox\n"
    host.start("bb", "--rootfs", img)
    # getty prints the host name, which the agent changes to the VM's name
    # (early or late).
    wait_console(host, "bb", " login:")
    assert host.sh("bb", "hostname") == "bb\n"
    assert "/usr/local/sbin/clone-agent" in host.sh("bb", "ps")


def on_terminal(*args, timeout=600):
    """clone rootfs create ARGS with stdout and stderr on a pseudo-terminal:
    (exit status, everything it wrote there)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([str(clone_bin()), "rootfs", "create", *map(str, args)],
                         stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    try:
        while True:
            if not select.select([master], [], [], timeout)[0]:
                p.kill()
                raise AssertionError(f"no output for {timeout} s: {out[-2000:]!r}")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not data:
                break
            out += data
    finally:
        os.close(master)
    return p.wait(timeout=timeout), out


def test_progress_bars_on_a_terminal_plain_lines_otherwise(tmp_path):
    tree = busybox_tree(tmp_path / "tree")
    (tree / "data").write_bytes(os.urandom(8 << 20))
    rc, out = on_terminal("--from-dir", tree, "-o", tmp_path / "a.img", "--size", "64M")
    assert rc == 0, out
    # The copy's bar, redrawn in place and ending full.
    assert b"\r  copying" in out and b"[" + b"#" * 30 + b"] 100%" in out, out
    assert b"[1/3]" in out
    tar = tmp_path / "tree.tar.gz"
    subprocess.run(["tar", "-czf", tar, "-C", tree, "."], check=True)
    rc, out = on_terminal("--from-tar", tar, "-o", tmp_path / "b.img", "--size", "64M")
    assert rc == 0, out
    assert b"#" * 30 + b"] 100%" in out, out
    # On a pipe: stage lines only, nothing redrawn.
    p = create("--from-tar", tar, "-o", tmp_path / "c.img", "--size", "64M")
    assert p.returncode == 0, p.stderr.decode()
    assert b"[1/3]" in p.stderr and b"\r" not in p.stderr and b"#" not in p.stderr, p.stderr


def oci_layout(path, layers, tag="latest"):
    """An OCI image layout: each layer a {name: bytes or None (a whiteout)}."""
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data):
        d = hashlib.sha256(data).hexdigest()
        (blobs / d).write_bytes(data)
        return {"digest": "sha256:" + d, "size": len(data)}

    descs = []
    for files in layers:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as t:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                if isinstance(data, Path):
                    t.add(str(data), arcname=name)
                    continue
                info.size = len(data)
                info.mode = 0o755
                t.addfile(info, io.BytesIO(data))
        descs.append(dict(blob(buf.getvalue()),
                          mediaType="application/vnd.oci.image.layer.v1.tar+gzip"))
    config = blob(json.dumps({"architecture": "amd64", "os": "linux"}).encode())
    manifest = blob(json.dumps({"schemaVersion": 2, "config": dict(
        config, mediaType="application/vnd.oci.image.config.v1+json"), "layers": descs})
        .encode())
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [dict(
        manifest, mediaType="application/vnd.oci.image.manifest.v1+json",
        annotations={"org.opencontainers.image.ref.name": tag})]}))
    (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    return descs


def test_oci_layout_with_a_whiteout_boots(host, tmp_path):
    layout = tmp_path / "layout"
    oci_layout(layout, [
        {"bin/busybox": images.BUSYBOX, "etc/keep": b"kept\n", "etc/gone": b"lower\n"},
        {"etc/.wh.gone": b"", "etc/new": b"upper\n"},
    ])
    img = tmp_path / "oci.img"
    p = create("--from-oci", layout, "-o", img, "--size", "64M")
    assert p.returncode == 0, p.stderr.decode()
    # The whiteout really deleted the file (read on the host, then in the guest).
    assert images.ext4_cat(img, "/etc/new") == b"upper\n"
    host.start("oci", "--rootfs", img)
    assert host.sh("oci", "cat /etc/keep /etc/new") == "kept\nupper\n"
    assert host.sh("oci", "ls -a /etc | grep -c gone || true").strip() == "0"
    # The same layout as a tarball (an OCI archive), by its tag.
    arch = tmp_path / "layout.tar"
    subprocess.run(["tar", "-C", layout, "-cf", arch, "."], check=True)
    p = create("--from-oci", f"{arch}:latest", "-o", tmp_path / "arch.img", "--size", "64M")
    assert p.returncode == 0, p.stderr.decode()
    assert images.ext4_cat(tmp_path / "arch.img", "/etc/keep") == b"kept\n"


# ---- Alpine through a mirror ----------------------------------------------

class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


@pytest.fixture
def mirror(tmp_path):
    root = tmp_path / "mirror"
    rel = root / "v3.20" / "releases" / "x86_64"
    rel.mkdir(parents=True)
    tree = busybox_tree(tmp_path / "mini")
    (tree / "etc").mkdir()
    (tree / "etc" / "alpine-release").write_text("3.20.9\n")
    name = "alpine-minirootfs-3.20.9-x86_64.tar.gz"
    subprocess.run(["tar", "-C", tree, "-czf", rel / name, "."], check=True)
    digest = hashlib.sha256((rel / name).read_bytes()).hexdigest()
    (rel / "latest-releases.yaml").write_text(
        f"---\n-\n  title: \"Mini root filesystem\"\n  flavor: alpine-minirootfs\n"
        f"  file: {name}\n  sha256: {digest}\n")
    srv = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", rel / name
    srv.shutdown()


def test_alpine_minirootfs_from_a_mirror_is_checked(mirror, tmp_path):
    url, tarball = mirror
    img = tmp_path / "alpine.img"
    p = create("--distro", "alpine", "--release", "3.20", "--mirror", url, "-o", img,
               "--size", "64M")
    assert p.returncode == 0, p.stderr.decode()
    assert images.ext4_cat(img, "/etc/alpine-release") == b"3.20.9\n"
    assert images.ext4_cat(img, "/etc/clone/agent-in-image")
    # On a terminal the download has curl's progress bar, the unpacking ours.
    rc, out = on_terminal("--distro", "alpine", "--mirror", url, "-o", tmp_path / "t.img",
                          "--size", "64M")
    assert rc == 0, out
    assert b"100.0%" in out and b"] 100%" in out, out
    # A tarball that does not match the published checksum is refused.
    data = bytearray(tarball.read_bytes())
    data[-1] ^= 0xff
    tarball.write_bytes(bytes(data))
    p = create("--distro", "alpine", "--mirror", url, "-o", tmp_path / "bad.img",
               "--size", "64M")
    assert p.returncode != 0 and b"sha256" in p.stderr, p.stderr
    assert not (tmp_path / "bad.img").exists()
    p = create("--distro", "alpine", "--mirror", "http://127.0.0.1:9", "-o",
               tmp_path / "bad.img", "--size", "64M")
    assert p.returncode != 0 and b"download of" in p.stderr, p.stderr


# ---- refusals ----------------------------------------------------------------

def one_line_error(p):
    err = p.stderr.decode().strip().splitlines()
    assert p.returncode != 0 and err, p
    return err[-1]


def test_bad_inputs_are_refused_and_leave_nothing(tmp_path):
    tree = busybox_tree(tmp_path / "tree")
    out = tmp_path / "out"
    out.mkdir()
    img = out / "x.img"

    err = one_line_error(create("--from-dir", tree, "-o", tmp_path / "missing" / "x.img"))
    assert "does not exist" in err, err
    err = one_line_error(create("--from-dir", tree, "-o", img, "--size", "1M"))
    assert "too small" in err, err
    (tree / "big").write_bytes(os.urandom(24 << 20))
    err = one_line_error(create("--from-dir", tree, "-o", img, "--size", "20M"))
    assert "too small" in err and "--size" in err, err
    (tree / "big").unlink()

    bad = tmp_path / "corrupt.tar.gz"
    good = subprocess.run(["tar", "-C", tree, "-czf", "-", "."], capture_output=True,
                          check=True).stdout
    bad.write_bytes(good[: len(good) // 2])
    err = one_line_error(create("--from-tar", bad, "-o", img, "--size", "64M"))
    assert "tarball" in err and ("truncated" in err or "corrupt" in err), err

    layout = tmp_path / "layout"
    descs = oci_layout(layout, [{"bin/busybox": images.BUSYBOX}])
    (layout / "blobs" / "sha256" / descs[0]["digest"][7:]).unlink()
    err = one_line_error(create("--from-oci", layout, "-o", img, "--size", "64M"))
    assert "is missing" in err, err

    err = one_line_error(create("--distro", "gentoo", "-o", img))
    assert "unknown distro gentoo" in err, err
    err = one_line_error(create("--distro", "debian", "--release", "potato", "-o", img))
    assert "unknown debian release potato" in err, err
    # debootstrap missing; an archive that does not answer; a keyring that is not there.
    hidden = subprocess.run(["unshare", "-m", "sh", "-c",
                             "mount --bind /dev/null \"$(command -v debootstrap || "
                             "echo /usr/sbin/debootstrap)\" && exec \"$@\"", "sh",
                             str(clone_bin()), "rootfs", "create", "--distro", "debian",
                             "-o", str(img)], capture_output=True, timeout=DEFAULT_TIMEOUT)
    err = one_line_error(hidden)
    assert "needs debootstrap" in err, err
    err = one_line_error(create("--distro", "debian", "--mirror", "http://127.0.0.1:9/debian",
                                "-o", img, timeout=BOOT))
    assert "debootstrap failed" in err and "127.0.0.1" in err, err
    err = one_line_error(create("--distro", "ubuntu", "--keyring", tmp_path / "no.gpg",
                                "-o", img))
    assert "--keyring" in err and "No such file" in err, err

    # No engine: none installed, or one that does not run.
    env = dict(os.environ, PATH=str(tmp_path / "nobin"))
    err = one_line_error(create("--from-docker", "busybox", "-o", img, env=env))
    assert "neither is installed" in err, err
    # docker alone, its daemon down (with podman beside it, see above, Clone
    # falls back to podman).
    env = dict(os.environ, PATH=str(docker_down(tmp_path / "bin")))
    err = one_line_error(create("--from-docker", "busybox", "-o", img, env=env))
    assert "no docker engine runs" in err, err

    # Nothing of any of these builds is left: no image, no work directory.
    assert leftovers(out) == []
    # An existing image is kept unless --force.
    p = create("--from-dir", tree, "-o", img, "--size", "32M")
    assert p.returncode == 0, p.stderr.decode()
    before = images.sha256(img)
    err = one_line_error(create("--from-dir", tree, "-o", img, "--size", "32M"))
    assert "--force" in err, err
    assert images.sha256(img) == before
    p = create("--from-dir", tree, "-o", img, "--size", "32M", "--format", "qcow2", "--force")
    assert p.returncode == 0, p.stderr.decode()
    assert images.image_format(img) == "qcow2"
    assert leftovers(out) == ["x.img"]


def test_a_signal_stops_the_build_and_what_it_runs(tmp_path):
    """SIGTERM in the middle of a step: the step's process goes too (Clone
    passes the signal on to its process group), nothing is left."""
    fake = tmp_path / "bin"
    fake.mkdir()
    pidfile = tmp_path / "export.pid"
    (fake / "docker").write_text("#!/bin/sh\ncase \"$1\" in\ncreate) echo 0123abcd ;;\n"
                                 f"export) echo $$ > {pidfile}.new; mv {pidfile}.new {pidfile}; "
                                 "exec sleep 600 ;;\nesac\n")
    (fake / "docker").chmod(0o755)
    out = tmp_path / "out"
    out.mkdir()
    p = subprocess.Popen([str(clone_bin()), "rootfs", "create", "--from-docker", "img",
                          "--engine", "docker", "-o", str(out / "x.img")],
                         env=dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}"),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + DEFAULT_TIMEOUT
    while not pidfile.exists():
        assert p.poll() is None and time.monotonic() < deadline, p.stderr.read()
        time.sleep(0.05)
    export = int(pidfile.read_text())
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=DEFAULT_TIMEOUT)
    assert p.returncode != 0 and b"interrupted" in err, err
    assert not Path(f"/proc/{export}").exists()
    assert leftovers(out) == []


def test_ssh_key_is_authorised_and_the_password_locked(tmp_path):
    tree = busybox_tree(tmp_path / "tree")
    key = tmp_path / "id.pub"
    key.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK9Zl0sAm8S2pGZbWQmRZp5+Qo7Ilr7kDn3W0TLdX"
                   "cQ8 test@clone\n")
    img = tmp_path / "key.img"
    p = create("--from-dir", tree, "-o", img, "--size", "32M", "--ssh-key", key)
    assert p.returncode == 0, p.stderr.decode()
    assert images.ext4_cat(img, "/root/.ssh/authorized_keys") == key.read_bytes()
    assert images.ext4_cat(img, "/etc/shadow").startswith(b"root:!:")
    # Without a key root logs in on the console without a password.
    p = create("--from-dir", tree, "-o", tmp_path / "open.img", "--size", "32M")
    assert p.returncode == 0, p.stderr.decode()
    assert images.ext4_cat(tmp_path / "open.img", "/etc/shadow").startswith(b"root::")
    key.write_text("not a key\n")
    err = one_line_error(create("--from-dir", tree, "-o", tmp_path / "bad.img", "--ssh-key", key))
    assert "not an OpenSSH public key" in err, err
    assert not (tmp_path / "bad.img").exists()
