# SPDX-License-Identifier: Apache-2.0
"""KVM tracepoints for bench/boot/run: hist triggers that count exits (by
reason), exits to the VMM, port I/O, MMIO and MSR accesses per boot, and two
private trace instances that timestamp the first guest entry and init's
write to the boot-timer port.  Needs root and tracefs with CONFIG_HIST_TRIGGERS."""

import os
import re
import subprocess
import sys

BOOT_TIMER_PORT = 0x610
TRACE_INSTANCE = "clone-bench"              # kvm_pio on port 0x610, mono clock
TRACE_INSTANCE_ENTRY = "clone-bench-entry"  # first kvm_entry events only


def log(msg):
    print(f"bench/boot: {msg}", file=sys.stderr, flush=True)


# Exit reasons (arch/x86/include/uapi/asm/svm.h, vmx.h; short names); the
# kernel's own table (kvm_exit's print fmt) names the rest.
SVM_EXITS = {
    0x60: "INTR", 0x61: "NMI", 0x62: "SMI", 0x63: "INIT", 0x64: "VINTR", 0x65: "CR0_SEL_WRITE",
    0x6e: "RDTSC", 0x6f: "RDPMC", 0x70: "PUSHF", 0x71: "POPF", 0x72: "CPUID", 0x73: "RSM",
    0x74: "IRET", 0x75: "SWINT", 0x76: "INVD", 0x77: "PAUSE", 0x78: "HLT", 0x79: "INVLPG",
    0x7a: "INVLPGA", 0x7b: "IOIO", 0x7c: "MSR", 0x7d: "TASK_SWITCH", 0x7e: "FERR_FREEZE",
    0x7f: "SHUTDOWN", 0x80: "VMRUN", 0x81: "VMMCALL", 0x82: "VMLOAD", 0x83: "VMSAVE",
    0x84: "STGI", 0x85: "CLGI", 0x86: "SKINIT", 0x87: "RDTSCP", 0x88: "ICEBP", 0x89: "WBINVD",
    0x8a: "MONITOR", 0x8b: "MWAIT", 0x8c: "MWAIT_COND", 0x8d: "XSETBV", 0x8e: "RDPRU",
    0x8f: "EFER_WRITE_TRAP", 0xa3: "INVPCID", 0x400: "NPF", 0x401: "AVIC_INCOMPLETE_IPI",
    0x402: "AVIC_UNACCEL_ACCESS", 0x403: "VMGEXIT",
}
SVM_EXITS.update({i: f"READ_CR{i}" for i in range(16)})
SVM_EXITS.update({0x10 + i: f"WRITE_CR{i}" for i in range(16)})
SVM_EXITS.update({0x20 + i: f"READ_DR{i}" for i in range(16)})
SVM_EXITS.update({0x30 + i: f"WRITE_DR{i}" for i in range(16)})
SVM_EXITS.update({0x90 + i: f"CR{i}_WRITE_TRAP" for i in range(16)})
_VECTORS = {0: "DE", 1: "DB", 2: "NMI", 3: "BP", 4: "OF", 5: "BR", 6: "UD", 7: "NM", 8: "DF",
            10: "TS", 11: "NP", 12: "SS", 13: "GP", 14: "PF", 16: "MF", 17: "AC", 18: "MC",
            19: "XM"}
SVM_EXITS.update({0x40 + v: f"EXCP_{_VECTORS.get(v, v)}" for v in range(32)})
VMX_EXITS = {
    0: "EXCEPTION_NMI", 1: "EXTERNAL_INTERRUPT", 2: "TRIPLE_FAULT", 3: "INIT_SIGNAL", 4: "SIPI",
    7: "INTERRUPT_WINDOW", 8: "NMI_WINDOW", 9: "TASK_SWITCH", 10: "CPUID", 12: "HLT",
    13: "INVD", 14: "INVLPG", 15: "RDPMC", 16: "RDTSC", 18: "VMCALL", 28: "CR_ACCESS",
    29: "DR_ACCESS", 30: "IO_INSTRUCTION", 31: "MSR_READ", 32: "MSR_WRITE", 33: "INVALID_STATE",
    34: "MSR_LOAD_FAIL", 36: "MWAIT", 37: "MONITOR_TRAP_FLAG", 39: "MONITOR", 40: "PAUSE",
    41: "MCE_DURING_VMENTRY", 43: "TPR_BELOW_THRESHOLD", 44: "APIC_ACCESS", 45: "EOI_INDUCED",
    46: "GDTR_IDTR", 47: "LDTR_TR", 48: "EPT_VIOLATION", 49: "EPT_MISCONFIG", 50: "INVEPT",
    51: "RDTSCP", 52: "PREEMPTION_TIMER", 53: "INVVPID", 54: "WBINVD", 55: "XSETBV",
    56: "APIC_WRITE", 57: "RDRAND", 58: "INVPCID", 59: "VMFUNC", 61: "RDSEED", 62: "PML_FULL",
    63: "XSAVES", 64: "XRSTORS", 67: "UMWAIT", 68: "TPAUSE", 74: "BUS_LOCK", 75: "NOTIFY",
}
KVM_ISA_VMX, KVM_ISA_SVM = 1, 2
# include/uapi/linux/kvm.h KVM_EXIT_*: why KVM_RUN returned to the VMM.
USERSPACE_EXITS = {
    0: "UNKNOWN", 1: "EXCEPTION", 2: "IO", 3: "HYPERCALL", 4: "DEBUG", 5: "HLT", 6: "MMIO",
    7: "IRQ_WINDOW_OPEN", 8: "SHUTDOWN", 9: "FAIL_ENTRY", 10: "INTR", 11: "SET_TPR",
    12: "TPR_ACCESS", 17: "INTERNAL_ERROR", 24: "SYSTEM_EVENT", 29: "X86_RDMSR",
    30: "X86_WRMSR", 35: "X86_BUS_LOCK", 37: "NOTIFY",
}




def parse_symbols(fmt):
    """{expression: {value: name}} from every __print_symbolic() in a format file."""
    tables = []
    for m in re.finditer(r"__print_symbolic\(([^,]+),", fmt):
        depth, i = 1, m.end()
        while i < len(fmt) and depth:
            depth += {"(": 1, ")": -1}.get(fmt[i], 0)
            i += 1
        pairs = re.findall(r"\{\s*(-?(?:0x)?[0-9a-fA-F]+)\s*,\s*\"([^\"]*)\"\s*\}",
                           fmt[m.end():i])
        table = {int(v, 0): name for v, name in pairs}
        tables.append((m.group(1).strip(), table))
    return tables


class Tracer:
    """kvm tracepoints in tracefs: hist triggers for counts, and two private
    instances for timestamps (mono clock, comparable with time.monotonic())."""

    HISTS = {  # event -> keys (the fields that exist are used)
        "kvm_exit": ("exit_reason", "isa"),
        "kvm_userspace_exit": ("reason",),
        "kvm_pio": ("port", "rw"),
        "kvm_mmio": ("gpa", "type"),
        "kvm_msr": ("ecx", "write"),
    }

    def __init__(self, vendor):
        self.root = None
        self.error = None
        self.specs = {}
        self.fields = {}
        self.exit_tables = []
        self.instances = []
        self.vendor = vendor
        try:
            self._setup()
        except OSError as e:
            self.error = f"tracefs: {e}"
            self.close()

    def _setup(self):
        for root in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
            if os.path.isdir(os.path.join(root, "events")):
                self.root = root
                break
        else:
            root = "/sys/kernel/tracing"
            r = subprocess.run(["mount", "-t", "tracefs", "tracefs", root],
                               capture_output=True, text=True)
            if r.returncode or not os.path.isdir(os.path.join(root, "events")):
                self.error = f"no tracefs (mount -t tracefs: {r.stderr.strip() or r.returncode})"
                return
            self.root = root
        kvm = os.path.join(self.root, "events", "kvm")
        if not os.path.isdir(os.path.join(kvm, "kvm_exit")):
            self.error = f"no kvm tracepoints in {kvm} (kvm module not loaded?)"
            self.root = None
            return
        for ev, keys in self.HISTS.items():
            fmt_path = os.path.join(kvm, ev, "format")
            if not os.path.exists(fmt_path):
                continue
            with open(fmt_path) as f:
                fmt = f.read()
            have = set(re.findall(r"field:[^;]*?\b(\w+)(?:\[\d*\])?;", fmt))
            use = [k for k in keys if k in have]
            if not use:
                continue
            if "common_pid" in have:
                use.append("common_pid")  # the VMM's threads only (see summarize_hists)
            self.fields[ev] = use
            self.specs[ev] = f"hist:keys={','.join(use)}:vals=hitcount:size=8192"
            if ev == "kvm_exit":
                self.exit_tables = parse_symbols(fmt)
        # Leftovers from an interrupted run.
        self.disarm()
        for name in (TRACE_INSTANCE, TRACE_INSTANCE_ENTRY):
            self._rmdir_instance(name)
        # Instance 1: kvm_pio writes to the boot-timer port, timestamped.
        inst = self._mkdir_instance(TRACE_INSTANCE)
        self._write(f"{inst}/trace_clock", "mono")
        self._write(f"{inst}/events/kvm/kvm_pio/filter", f"port == {BOOT_TIMER_PORT} && rw == 1")
        self._write(f"{inst}/events/kvm/kvm_pio/enable", "1")
        # Instance 2: the first kvm_entry events only (tiny buffer, no overwrite).
        inst = self._mkdir_instance(TRACE_INSTANCE_ENTRY)
        self._write(f"{inst}/trace_clock", "mono")
        self._write(f"{inst}/options/overwrite", "0")
        self._write(f"{inst}/buffer_size_kb", "8")
        self._write(f"{inst}/events/kvm/kvm_entry/enable", "1")

    def _mkdir_instance(self, name):
        path = os.path.join(self.root, "instances", name)
        os.mkdir(path)
        self.instances.append(path)
        return path

    def _rmdir_instance(self, name):
        path = os.path.join(self.root, "instances", name)
        if not os.path.isdir(path):
            return
        for ev in ("kvm_pio", "kvm_entry"):
            try:
                self._write(f"{path}/events/kvm/{ev}/enable", "0")
            except OSError:
                pass
        try:
            os.rmdir(path)
        except OSError as e:
            log(f"warning: cannot remove trace instance {path}: {e}")

    @staticmethod
    def _write(path, text):
        with open(path, "w") as f:
            f.write(text + "\n")

    @property
    def ok(self):
        return self.root is not None and not self.error

    def trigger_path(self, ev):
        return os.path.join(self.root, "events", "kvm", ev, "trigger")

    def arm(self):
        """Fresh (zeroed) hist triggers and empty timestamp buffers."""
        if not self.ok:
            return
        self.disarm()
        for ev, spec in self.specs.items():
            self._write(self.trigger_path(ev), spec)
        for inst in self.instances:
            with open(os.path.join(inst, "trace"), "w"):
                pass  # O_TRUNC clears the buffer

    def disarm(self):
        if not self.root:
            return
        for ev, spec in self.specs.items():
            try:
                self._write(self.trigger_path(ev), "!" + spec)
            except OSError:
                pass  # not armed

    def read_hists(self):
        out = {}
        if not self.ok:
            return out
        for ev in self.specs:
            with open(os.path.join(self.root, "events", "kvm", ev, "hist")) as f:
                text = f.read()
            rows = []
            for m in re.finditer(r"^\{(.*)\}\s*hitcount:\s*(\d+)", text, re.M):
                key = {k: int(v) for k, v in re.findall(r"(\w+):\s*(-?\d+)", m.group(1))}
                rows.append((key, int(m.group(2))))
            dropped = re.search(r"Dropped:\s*(\d+)", text)
            out[ev] = {"rows": rows, "dropped": int(dropped.group(1)) if dropped else 0}
        return out

    def first_timestamp(self, inst_name):
        """Earliest event timestamp (s, CLOCK_MONOTONIC) in an instance's buffer."""
        if not self.ok:
            return None
        path = os.path.join(self.root, "instances", inst_name, "trace")
        try:
            with open(path) as f:
                stamps = [float(m.group(1)) for m in
                          re.finditer(r"^\s*\S.*?\s(\d+\.\d+):\s", f.read(), re.M)]
        except OSError:
            return None
        return min(stamps) if stamps else None

    def exit_name(self, reason, isa):
        return exit_name(reason, isa, self.vendor, self.exit_tables)

    def close(self):
        if not self.root:
            return
        self.disarm()
        for path in list(self.instances):
            self._rmdir_instance(os.path.basename(path))
        self.instances = []


def exit_name(reason, isa, vendor, tables=()):
    """An exit reason's name: the table above, else the kernel's (tables)."""
    if isa == KVM_ISA_VMX or (isa is None and vendor == "GenuineIntel"):
        name = VMX_EXITS.get(reason & 0xffff)
        want = "EXCEPTION_NMI"
    else:
        name = SVM_EXITS.get(reason)
        want = None
    if name:
        return name
    for _, table in tables:
        if (want in table.values()) == (want is not None) and reason in table:
            return table[reason].upper()
    return hex(reason)


# Legacy PC ports and MMIO pages, to group port I/O and MMIO by device.
PORT_DEVICES = [
    (0x20, 0x21, "PIC"), (0xa0, 0xa1, "PIC"), (0x4d0, 0x4d1, "PIC ELCR"), (0x40, 0x43, "PIT"),
    (0x61, 0x61, "port 0x61"), (0x60, 0x60, "i8042"), (0x64, 0x64, "i8042"),
    (0x70, 0x71, "RTC/CMOS"), (0x80, 0x80, "POST 0x80"), (0x92, 0x92, "A20 0x92"),
    (0xb2, 0xb3, "APM/SMI"), (0x2e, 0x2f, "Super I/O probe"), (0x4e, 0x4f, "Super I/O probe"),
    (0x3f8, 0x3ff, "COM1"), (0x2f8, 0x2ff, "COM2"), (0x3e8, 0x3ef, "COM3"),
    (0x2e8, 0x2ef, "COM4"), (0x3b0, 0x3df, "VGA probe"), (0x402, 0x402, "debugcon 0x402"),
    (0x510, 0x51b, "fw_cfg"), (0x600, 0x60f, "ACPI PM"), (0x610, 0x610, "boot timer 0x610"),
    (0x620, 0x67f, "ACPI PM"), (0xcf8, 0xcff, "PCI config"),
]
MMIO_DEVICES = [
    (0xfec00000, 0xfec00fff, "IOAPIC"), (0xfec10000, 0xfec10fff, "IOAPIC2"),
    (0xfee00000, 0xfee00fff, "LAPIC"), (0xfed00000, 0xfed003ff, "HPET"),
    (0xfed1c000, 0xfed1ffff, "ICH9 RCRB"), (0xfeb00000, 0xfebfffff, "PCI BARs/virtio-mmio"),
    (0xb0000000, 0xbfffffff, "PCIe ECAM"),
]


MSR_NAMES = {
    0x10: "TSC", 0x1b: "APIC_BASE", 0x3a: "FEATURE_CONTROL", 0x48: "SPEC_CTRL",
    0x8b: "UCODE_REV", 0x179: "MCG_CAP", 0x1a0: "MISC_ENABLE", 0x277: "PAT",
    0x6e0: "TSC_DEADLINE", 0x802: "x2APIC ID", 0x803: "x2APIC VER", 0x808: "x2APIC TPR",
    0x80b: "x2APIC EOI", 0x80d: "x2APIC LDR", 0x80f: "x2APIC SVR", 0x828: "x2APIC ESR",
    0x830: "x2APIC ICR", 0x832: "x2APIC LVTT", 0x835: "x2APIC LVT0", 0x836: "x2APIC LVT1",
    0x837: "x2APIC LVTERR", 0x838: "x2APIC TMICT", 0x839: "x2APIC TMCCT",
    0x83e: "x2APIC TDCR", 0xc0000080: "EFER", 0xc0000081: "STAR", 0xc0000082: "LSTAR",
    0xc0000084: "SFMASK", 0xc0000100: "FS_BASE", 0xc0000101: "GS_BASE",
    0xc0000102: "KERNEL_GS_BASE", 0xc0000103: "TSC_AUX", 0xc0010015: "HWCR",
    0x4b564d00: "KVM WALL_CLOCK", 0x4b564d01: "KVM SYSTEM_TIME", 0x4b564d02: "KVM ASYNC_PF",
    0x4b564d03: "KVM STEAL_TIME", 0x4b564d04: "KVM PV_EOI", 0x4b564d05: "KVM POLL_CONTROL",
    0x4b564d06: "KVM ASYNC_PF_INT", 0x4b564d07: "KVM ASYNC_PF_ACK",
}


def port_device(port):
    for lo, hi, name in PORT_DEVICES:
        if lo <= port <= hi:
            return name
    return f"port 0x{port:x}"


def mmio_device(gpa):
    for lo, hi, name in MMIO_DEVICES:
        if lo <= gpa <= hi:
            return name
    return f"0x{gpa & ~0xfff:x}"


def summarize_hists(names, hists, tids=None):
    """Raw hist rows -> named counts; names: anything with exit_name().
    With tids, rows of other threads (another VM on this host) are left out
    and only counted in "foreign"."""
    if not hists:
        return None
    foreign = 0
    if tids:
        tids = set(tids)
        kept = {}
        for ev, h in hists.items():
            rows = []
            for key, n in h.get("rows", []):
                if key.get("common_pid", next(iter(tids))) in tids:
                    rows.append((key, n))
                elif ev == "kvm_exit":
                    foreign += n
            kept[ev] = dict(h, rows=rows)
        hists = kept
    s = {"exits": {}, "userspace": {}, "pio": {}, "pio_dev": {}, "mmio": {}, "mmio_dev": {},
         "mmio_vmm_reads": {}, "msr": {}, "dropped": 0}

    def add(d, k, n):
        d[k] = d.get(k, 0) + n
    for key, n in hists.get("kvm_exit", {}).get("rows", []):
        add(s["exits"], names.exit_name(key.get("exit_reason", -1), key.get("isa")), n)
    for key, n in hists.get("kvm_userspace_exit", {}).get("rows", []):
        add(s["userspace"], USERSPACE_EXITS.get(key.get("reason"), str(key.get("reason"))), n)
    for key, n in hists.get("kvm_pio", {}).get("rows", []):
        port = key.get("port", 0)
        add(s["pio"], f"0x{port:x} {'out' if key.get('rw') else 'in'}", n)
        add(s["pio_dev"], port_device(port), n)
    for key, n in hists.get("kvm_mmio", {}).get("rows", []):
        # type 0: a read KVM could not satisfy, handed to the VMM (traced
        # again as type 1 when it completes); 1: read; 2: write.
        gpa, kind = key.get("gpa", 0), key.get("type")
        if kind == 0:
            add(s["mmio_vmm_reads"], mmio_device(gpa), n)
            continue
        add(s["mmio"], f"0x{gpa:x} {'write' if kind == 2 else 'read'}", n)
        add(s["mmio_dev"], mmio_device(gpa), n)
    for key, n in hists.get("kvm_msr", {}).get("rows", []):
        ecx = key.get("ecx", 0)
        add(s["msr"], f"{'wr' if key.get('write') else 'rd'} "
            f"{MSR_NAMES.get(ecx, f'0x{ecx:x}')}", n)
    s["dropped"] = sum(h.get("dropped", 0) for h in hists.values())
    s["foreign_exits"] = foreign
    s["total_exits"] = sum(s["exits"].values())
    s["total_userspace"] = sum(s["userspace"].values())
    # Exits that come with elapsed time rather than with boot work: host
    # interrupts while the guest runs, and the guest's own timer (one
    # TSC_DEADLINE write per tick).
    s["exits_no_timer"] = s["total_exits"] - s["exits"].get("INTR", 0) - \
        s["exits"].get("EXTERNAL_INTERRUPT", 0) - s["msr"].get("wr TSC_DEADLINE", 0)
    return s


class Names:
    def __init__(self, vendor):
        self.vendor = vendor

    def exit_name(self, reason, isa):
        return exit_name(reason, isa, self.vendor)
