# SPDX-License-Identifier: Apache-2.0
"""The command line: help, version, and refusing bad arguments and inputs.

Contract: bad configuration or input exits 2 with exactly one line on stderr
that starts with "clone: ", and never crashes (no sanitizer report, no core,
no death by signal).  None of these boot a guest.
"""

import hashlib
import os
import re

import pytest

from framework.vm import run_clone

CRASH = re.compile(r"Sanitizer|runtime error:|core dumped|Segmentation fault|Aborted|"
                   r"fatal signal|stack-buffer|heap-buffer", re.I)


def assert_clean_error(r, code=2):
    """Exit `code`, one stderr line starting "clone: ", no crash output."""
    diag = f"exit {r.returncode}\nstdout: {r.stdout!r}\nstderr: {r.stderr!r}"
    assert not CRASH.search(r.stderr + r.stdout), diag
    assert r.returncode == code, diag
    lines = r.stderr.splitlines()
    assert len(lines) == 1, diag
    assert lines[0].startswith("clone: "), diag


@pytest.fixture(autouse=True)
def _binary(clone_binary):
    return clone_binary


@pytest.mark.parametrize("args", [["--help"], ["-h"]])
def test_help(args):
    r = run_clone(args)
    assert r.returncode == 0, r
    assert "run" in r.stdout and "Usage" in r.stdout, r.stdout
    assert not CRASH.search(r.stderr)


def test_run_help():
    r = run_clone(["run", "--help"])
    assert r.returncode == 0, r
    for flag in ("--kernel", "--initrd", "--cmdline", "--append", "--mem-mb", "--vcpus",
                 "--serial", "--kernel-sha256", "--boot-timing", "--ksm", "--log-level"):
        assert flag in r.stdout, f"{flag} missing from clone run --help:\n{r.stdout}"


def test_version():
    r = run_clone(["--version"])
    assert r.returncode == 0, r
    assert re.match(r"clone \S+", r.stdout), r.stdout
    assert r.stderr == ""


def test_missing_kernel(tmp_path, kvm):
    assert_clean_error(run_clone(["run", "--kernel", tmp_path / "no-such-vmlinuz"]))


def test_unreadable_kernel_directory(tmp_path, kvm):
    assert_clean_error(run_clone(["run", "--kernel", tmp_path]))


def test_truncated_kernel(tmp_path, kernel, kvm):
    path = tmp_path / "vmlinuz-truncated"
    path.write_bytes(kernel[0].read_bytes()[:1000])
    assert_clean_error(run_clone(["run", "--kernel", path]))


def test_empty_kernel(tmp_path, kvm):
    path = tmp_path / "vmlinuz-empty"
    path.write_bytes(b"")
    assert_clean_error(run_clone(["run", "--kernel", path]))


def test_garbage_kernel(tmp_path, kvm):
    path = tmp_path / "vmlinuz-random"
    path.write_bytes(os.urandom(2 * 1024 * 1024))
    assert_clean_error(run_clone(["run", "--kernel", path]))


def test_wrong_kernel_sha256(kernel, kvm):
    wrong = hashlib.sha256(b"not the kernel").hexdigest()
    assert_clean_error(run_clone(["run", "--kernel", kernel[0], "--kernel-sha256", wrong]))


def test_malformed_kernel_sha256(kernel, kvm):
    assert_clean_error(run_clone(["run", "--kernel", kernel[0], "--kernel-sha256", "xyz"]))


def test_missing_initrd(tmp_path, kvm):
    assert_clean_error(run_clone(["run", "--initrd", tmp_path / "no-such-initrd"]))


@pytest.mark.parametrize("args", [
    ["run", "--no-such-flag"],
    ["run", "--vcpus", "0"],
    ["run", "--vcpus", "-1"],
    ["run", "--mem-mb", "abc"],
    ["run", "--mem-mb", "0"],
    ["run", "--mem-mb"],
    ["run", "--serial", "bogus"],
    ["run", "--log-level", "loud"],
    ["run", "unexpected-positional"],
    ["no-such-command"],
], ids=lambda a: " ".join(a))
def test_bad_arguments(args):
    assert_clean_error(run_clone(args))
