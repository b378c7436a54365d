# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the end-to-end tests.

* make_vm(*args, use_pty=False, **kw) -> Clone: a started `clone run ARGS`,
  logging to build/test-logs/<test>/<name>.{console,stderr}.log; every VM a
  test made is killed at teardown, and when the test fails the tail of each
  VM's console and stderr is attached to the report.
* vm: a booted default guest (its shell is ready).
* kernel: (path, version) of the newest /boot/vmlinuz-*, what `clone run`
  boots by default.
* rootfs_base, fio_rootfs: read-only copies, in this session's temporary
  directory (a local file system, not the 9p share of build/ under
  scripts/with-kvm), of the cached busybox rootfs images of
  framework/images.py (fio_rootfs also has fio); copy one before booting it
  writable.

End-to-end tests never skip for lack of /dev/kvm: run them through
scripts/with-kvm, which provides one (nested KVM under QEMU TCG if need be).
"""

import os
import re
import shutil

import pytest

from framework import images
from framework.host import Host
from framework.vm import REPO, Clone, clone_bin, newest_kernel

LOG_ROOT = REPO / "build" / "test-logs"
_VMS = pytest.StashKey()


@pytest.fixture(scope="session")
def clone_binary():
    path = clone_bin()
    if not path.exists():
        pytest.fail(f"{path} does not exist: build it first (make -j2 all) or set CLONE_BIN")
    return path


@pytest.fixture(scope="session")
def kvm():
    """/dev/kvm must be usable: the suite runs through scripts/with-kvm."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        pytest.fail("no usable /dev/kvm: run the suite through scripts/with-kvm "
                    "(scripts/with-kvm -- /usr/bin/python3 -m pytest tests/integration)")


@pytest.fixture(scope="session")
def kernel():
    return newest_kernel()


@pytest.fixture
def log_dir(request):
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
    path = LOG_ROOT / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@pytest.fixture
def make_vm(request, clone_binary, kvm, log_dir):
    vms = request.node.stash.setdefault(_VMS, [])

    def make(*args, use_pty=False, name=None, **kw):
        vm = Clone(args, use_pty=use_pty, log_dir=log_dir,
                   name=name or f"vm{len(vms)}", **kw)
        vms.append(vm)
        return vm

    yield make
    for vm in vms:
        vm.close()


@pytest.fixture
def vm(make_vm):
    v = make_vm()
    v.wait_ready()
    return v


def _staged(tmp_path_factory, fio):
    src = images.rootfs_image(fio=fio)
    dst = tmp_path_factory.mktemp("base") / src.name
    images.copy_raw(src, dst)
    os.chmod(dst, 0o444)
    return dst


@pytest.fixture(scope="session")
def rootfs_base(tmp_path_factory):
    return _staged(tmp_path_factory, fio=False)


@pytest.fixture(scope="session")
def fio_rootfs(tmp_path_factory):
    return _staged(tmp_path_factory, fio=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for v in item.stash.get(_VMS, []):
            logs = f"(logs: {v.log_dir})\n" if v.log_dir else ""
            report.sections.append((f"clone {v.name} console ({report.when})",
                                    logs + v.tail(8000)))


@pytest.fixture
def host(tmp_path, log_dir, clone_binary, kvm):
    rundir = tmp_path / "run"
    rundir.mkdir(mode=0o700)
    h = Host(rundir, log_dir)
    yield h
    h.cleanup()
