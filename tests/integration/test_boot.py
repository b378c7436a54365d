# SPDX-License-Identifier: Apache-2.0
"""Booting the default guest end to end: `clone run` with the newest
/boot/vmlinuz-* and the built-in busybox initramfs, driven over its serial
console.

Every test waits on console or stderr output (event driven, no sleeps).
Under nested KVM on QEMU TCG a boot takes tens of seconds, hence the
generous timeouts.
"""

import hashlib
import re
import signal
import time

import pytest

from framework.vm import READY

# Kernel log lines that mean the ACPI tables Clone generated are wrong.
ACPI_PROBLEMS = r"ACPI (BIOS )?(Error|Warning)|ACPI: .*failed"
# A VMM that died of a signal is a crash, whatever the exit code says.
CRASH_CODES = set(range(148, 160))


def poweroff(vm, timeout=None):
    vm.send("poweroff\n")
    return vm.wait_exit(timeout)


def value(vm, cmd, **kw):
    """The output of a command that prints one value (console printk lines,
    which can interleave, dropped)."""
    return vm.run_cmd(cmd, check=True, strip_kmsg=True, **kw).strip()


def cmdline_words(vm):
    return value(vm, "cat /proc/cmdline").split()


def test_boot_shell_and_poweroff(make_vm, kernel):
    """Boot to the shell, run a command, power off: exit 0."""
    vm = make_vm()
    vm.wait_ready()
    assert value(vm, "uname -r") == kernel[1]
    assert value(vm, "echo $((6 * 7))") == "42"
    assert vm.run_cmd("false") == "" and vm.last_rc == 1
    assert poweroff(vm) == 0
    assert not re.search(r"Sanitizer|runtime error:", vm.err), vm.err


def test_default_cmdline(vm):
    words = cmdline_words(vm)
    assert "console=ttyS0" in words, words
    assert "panic=-1" in words, words


def test_no_acpi_errors(vm):
    # The kernel did use Clone's tables (so the check below is not vacuous)...
    rsdp = vm.run_cmd("dmesg | grep 'ACPI: RSDP'")
    assert vm.last_rc == 0, "no 'ACPI: RSDP' in dmesg: the guest found no ACPI tables"
    # ...and complained about none of them.
    out = vm.run_cmd(f"dmesg | grep -E '{ACPI_PROBLEMS}'")
    assert vm.last_rc == 1 and out.strip() == "", f"ACPI problems in dmesg:\n{rsdp}{out}"


def test_ready_line_once(vm):
    """The guest printed its ready line exactly once (no respawn loop)."""
    vm.run_cmd("true", check=True)
    assert vm.output.count(READY) == 1, vm.output


def test_vcpus(make_vm):
    vm = make_vm("--vcpus", "3")
    vm.wait_ready()
    assert value(vm, "nproc") == "3"
    assert value(vm, "grep -c ^processor /proc/cpuinfo") == "3"
    assert value(vm, "cat /sys/devices/system/cpu/online") == "0-2"
    assert poweroff(vm) == 0


@pytest.mark.slow
def test_memory_above_4g(make_vm):
    """5000 MiB: the e820 map gives the guest all of it (some above 4 GiB),
    MemTotal is what is left after the kernel's own reservations, and the
    guest allocates from and reads back data in RAM above 4 GiB."""
    vm = make_vm("--mem-mb", "5000")
    vm.wait_ready()
    e820 = vm.run_cmd("dmesg | grep -E 'BIOS-e820: .*usable'", check=True)
    ranges = [(int(m.group(1), 16), int(m.group(2), 16) + 1)
              for m in re.finditer(r"\[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\] usable", e820)]
    total = sum(end - start for start, end in ranges)
    high = sum(end - max(start, 1 << 32) for start, end in ranges if end > 1 << 32)
    assert 4990 << 20 <= total <= 5000 << 20, f"e820 usable RAM {total >> 20} MiB:\n{e820}"
    assert high >= 800 << 20, f"only {high >> 20} MiB usable above 4 GiB:\n{e820}"

    # The Debian kernel keeps ~4% (struct pages, its image, ...) for itself.
    kib = int(value(vm, "sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo"))
    assert 4700 * 1024 <= kib <= 5000 * 1024, f"MemTotal {kib} kB"

    # Zone Normal is the RAM above 4 GiB, and page-cache/tmpfs allocations
    # come from the highest zone first: 256 MiB written to a tmpfs must take
    # its pages there and read back intact.
    def normal_free():
        return int(value(vm, "awk '/^Node 0, zone/ {z=$4} z==\"Normal\" && "
                             "$1==\"nr_free_pages\" {print $2; exit}' /proc/zoneinfo"))
    before = normal_free()
    assert before * 4096 >= 800 << 20, f"only {before * 4 >> 10} MiB free in zone Normal"
    out = vm.run_cmd("mkdir -p /mnt/big && mount -t tmpfs -o size=300m tmpfs /mnt/big && "
                     "dd if=/dev/urandom of=/mnt/big/fill bs=1M count=256 2>/dev/null && "
                     "a=$(sha256sum < /mnt/big/fill) && echo 3 > /proc/sys/vm/drop_caches && "
                     "b=$(sha256sum < /mnt/big/fill) && [ \"$a\" = \"$b\" ] && echo same",
                     timeout=300, check=True)
    assert "same" in out, out
    taken = before - normal_free()
    assert taken * 4096 >= 200 << 20, f"256 MiB in tmpfs took only {taken * 4 >> 10} MiB from zone Normal"
    vm.run_cmd("rm /mnt/big/fill", check=True)
    assert poweroff(vm) == 0


def test_cmdline_replaces_default(make_vm):
    token = f"clonetest.token={int(time.time() * 1000)}"
    vm = make_vm("--cmdline", f"console=ttyS0 quiet {token}")
    vm.wait_ready()
    words = cmdline_words(vm)
    assert token in words, words
    assert "panic=-1" not in words, f"--cmdline should replace the defaults: {words}"
    assert poweroff(vm) == 0


def test_verbose_console_boot(make_vm):
    """Without `quiet` the kernel writes ~20 KB to the console while it
    boots (polled, one port I/O exit per byte and more): it must still get
    to the shell."""
    vm = make_vm("--cmdline", "console=ttyS0 panic=-1")
    vm.wait_ready()
    assert "Linux version" in vm.output
    assert poweroff(vm) == 0


def test_append_adds_to_default(make_vm):
    token = f"clonetest.append={int(time.time() * 1000)}"
    vm = make_vm("--append", token)
    vm.wait_ready()
    words = cmdline_words(vm)
    assert token in words, words
    assert "console=ttyS0" in words and "panic=-1" in words, words
    assert poweroff(vm) == 0


def test_reboot_ends_vmm(make_vm):
    vm = make_vm()
    vm.wait_ready()
    vm.send("reboot\n")
    assert vm.wait_exit() == 0


def test_boot_timing(make_vm):
    vm = make_vm("--boot-timing")
    vm.wait_ready()
    vm.wait_for(r"boot-timing:.*init", stream="stderr")
    assert poweroff(vm) == 0


def test_kernel_sha256_match_boots(make_vm, kernel):
    digest = hashlib.sha256(kernel[0].read_bytes()).hexdigest()
    vm = make_vm("--kernel", kernel[0], "--kernel-sha256", digest)
    vm.wait_ready()
    assert poweroff(vm) == 0


def test_serial_file(make_vm, tmp_path):
    """--serial file=PATH: the console goes to the file, not to stdout."""
    path = tmp_path / "console.txt"
    vm = make_vm("--serial", f"file={path}")
    # The file is not a stream we are woken on: poll it against a deadline.
    deadline = time.monotonic() + 300
    while READY not in (path.read_text(errors="replace") if path.exists() else ""):
        assert vm.returncode is None, vm.tail()
        assert time.monotonic() < deadline, "no ready line in the serial file\n" + vm.tail()
        time.sleep(0.5)
    vm.signal(signal.SIGTERM)
    code = vm.wait_exit(60)
    assert code in (0, 143), vm.tail()
    assert READY not in vm.output, "console leaked to stdout with --serial file="


def test_sigterm_mid_boot_restores_terminal(make_vm):
    """SIGTERM after the first console output (mid-boot) ends clone cleanly
    within a timeout and puts the terminal back as it was."""
    vm = make_vm(use_pty=True)
    before = vm.initial_termios
    vm.wait_for(r"\S")  # first console output: clone is running, tty is raw
    assert vm.termios() != before, "clone did not put its terminal in raw mode"
    vm.signal(signal.SIGTERM)
    code = vm.wait_exit(60)
    assert code >= 0, f"clone died of signal {-code}\n" + vm.tail()
    assert code in (0, 143), f"exit {code}\n" + vm.tail()
    assert code not in CRASH_CODES
    assert vm.termios() == before, "terminal attributes not restored after SIGTERM"


def test_interactive_pty_session(make_vm):
    """On a terminal: the shell works, and poweroff restores the terminal."""
    vm = make_vm(use_pty=True)
    before = vm.initial_termios
    vm.wait_ready()
    assert value(vm, "echo pty-$((1 + 2))") == "pty-3"
    assert poweroff(vm) == 0
    assert vm.termios() == before
