# SPDX-License-Identifier: Apache-2.0
"""The Markdown report of bench/boot/run: medians and ranges per
configuration, exit counts by reason, where the exits go."""

import statistics



def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_s(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "—"
    if len(xs) == 1:
        return f"{xs[0]:.2f}"
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}–{max(xs):.2f})"


def fmt_ms(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "—"
    if len(xs) == 1:
        return f"{xs[0]:.0f}"
    return f"{statistics.median(xs):.0f} ({min(xs):.0f}–{max(xs):.0f})"


def spread(xs):
    xs = [x for x in xs if x is not None]
    if len(xs) < 2 or not statistics.median(xs):
        return None
    return (max(xs) - min(xs)) / statistics.median(xs) * 100


def fmt_int(x):
    return "—" if x is None else f"{int(round(x)):,}"


def mib(kb):
    return "—" if kb is None else f"{kb / 1024:.1f}"


def config_stats(runs):
    ok = [r for r in runs if r["ok"]]
    st = {"ok": len(ok), "n": len(runs)}
    sums = [r.get("exits_init") for r in ok if r.get("exits_init")]
    st["exits"] = [s["total_exits"] for s in sums]
    st["userspace"] = [s["total_userspace"] for s in sums]
    st["reasons"] = {}
    for s in sums:
        for k in s["exits"]:
            st["reasons"].setdefault(k, [])
    for k in st["reasons"]:
        st["reasons"][k] = [s["exits"].get(k, 0) for s in sums]
    st["no_timer"] = [s["exits_no_timer"] for s in sums]
    st["console"] = [r.get("console_bytes_init") for r in ok]
    for cat in ("pio_dev", "mmio_dev", "mmio_vmm_reads", "msr", "userspace"):
        d = {}
        for s in sums:
            for k in s[cat]:
                d.setdefault(k, [])
        for k in d:
            d[k] = [s[cat].get(k, 0) for s in sums]
        st[cat + "_by"] = d
    st["ends"] = [r["exits_end"]["total_exits"] for r in ok if r.get("exits_end")]
    return st


def render(meta, results, configs):
    L = []
    w = L.append
    w(f"# Boot benchmark: Clone vs QEMU ({meta['date']})")
    w("")
    w(f"- **Host (L0):** {meta['l0_cpu']}, {meta['l0_cpus']} CPUs"
      + (" (itself a VM: `hypervisor` CPU flag)" if meta.get("l0_hypervisor") else ""))
    w(f"- **KVM:** {meta['kvm']}")
    w(f"- **Guest kernel:** `{meta['kernel']}` ({meta['kernel_version']}); "
      f"initramfs: static busybox + bench /init, {meta['initrd_bytes'] // 1024} KiB, uncompressed")
    w(f"- **VMMs:** Clone `{meta['clone']}` ({meta['clone_version']}); "
      + (f"{meta['qemu_version']}" if meta.get("qemu") else
         "**qemu-system-x86_64 not found: Clone measured alone**"))
    w(f"- **Machine:** 1 vCPU, {meta.get('mem_mb', 256)} MiB; {meta['runs']} boot(s) per "
      "configuration, "
      "interleaved; median, (min–max) where there is more than one run")
    base = meta.get("base_cmdline", "console=ttyS0 8250.nr_uarts=1 panic=-1 quiet")
    w(f"- **Guest arguments:** base = `{base}`; the variants append "
      "`pci=noearly` or `pci=off`. Clone always appends `pci=off` itself.")
    w(f"- **Command:** `{meta['command']}`")
    if meta.get("aborted"):
        w(f"- **Run aborted:** {meta['aborted']}")
    if meta.get("trace_error"):
        w(f"- **No exit counts:** {meta['trace_error']}")
    if meta.get("nested"):
        w("- **Nested under TCG:** times measure QEMU's CPU emulation of L1 far more than "
          "the VMMs; compare exit counts, not seconds.")
    w("")
    w("## Time to init and memory")
    w("")
    w("Seconds from spawning the VMM process: to its first guest entry (`kvm_entry`), to "
      "init's write to port 0x610 (`kvm_pio`), to the marker line on the serial console "
      "(harness). Guest uptime is the guest kernel's own clock at init. RSS is sampled "
      "while the guest waits at init; \"VMM\" excludes mappings ≥ guest RAM.")
    w("")
    w("| VMM | cmdline | ok | first entry s | port 0x610 s | marker s | guest uptime s "
      "| Clone --boot-timing ms | VMM RSS MiB (anon) | total RSS MiB |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for vmm, var in configs:
        runs = results[(vmm, var)]
        ok = [r for r in runs if r["ok"]]
        bt = "—"
        if vmm == "clone":
            bt = fmt_ms([r.get("clone_init_ms") for r in ok])
            fr = [r.get("clone_first_run_ms") for r in ok]
            if med(fr) is not None:
                bt += f"; 1st KVM_RUN {fmt_ms(fr)}"
        rss = [r["rss"] for r in ok if r.get("rss")]
        w(f"| {vmm} | {var} | {len(ok)}/{len(runs)} "
          f"| {fmt_s([r.get('first_entry_s') for r in ok])} "
          f"| {fmt_s([r.get('port_0x610_s') for r in ok])} "
          f"| {fmt_s([r.get('init_s') for r in ok])} "
          f"| {fmt_s([r.get('guest_uptime_s') for r in ok])} | {bt} "
          f"| {mib(med([x['vmm_kb'] for x in rss]))} ({mib(med([x['vmm_anon_kb'] for x in rss]))}) "
          f"| {mib(med([x['total_kb'] for x in rss]))} |")
    stats = {c: config_stats(results[c]) for c in configs}
    if any(s["exits"] for s in stats.values()):
        w("")
        w("## KVM exits up to init")
        w("")
        w("`kvm:kvm_exit` counted by reason from VMM start until the marker line "
          f"({meta.get('exit_isa', '')} exit codes). INTR (host interrupts while the guest "
          "runs, mostly the host's timer tick) and the guest's TSC_DEADLINE writes (its own "
          "timer tick) grow with elapsed time; \"w/o timer\" leaves both out and is the "
          "count that does not depend on emulation speed. \"to VMM\": exits that returned from "
          "KVM_RUN to the VMM (`kvm:kvm_userspace_exit`). Console bytes: what the guest "
          "printed before the marker; each byte costs a few COM1 exits. Spread: "
          "(max−min)/median over the runs. \"to poweroff\": all exits until the VMM exited.")
        w("")
        top = {}
        for s in stats.values():
            for k, v in s["reasons"].items():
                top[k] = max(top.get(k, 0), med(v) or 0)
        cols = [k for k, _ in sorted(top.items(), key=lambda kv: -kv[1])][:8]
        w("| VMM | cmdline | exits | spread | w/o timer | spread | to VMM | console bytes "
          "| to poweroff | " + " | ".join(cols) + " | other |")
        w("|---|---|---|---|---|---|---|---|---|" + "---|" * (len(cols) + 1))
        for c in configs:
            s = stats[c]
            if not s["exits"]:
                w(f"| {c[0]} | {c[1]} | — | | | | | | |" + " |" * (len(cols) + 1))
                continue
            sp, sp2 = spread(s["exits"]), spread(s["no_timer"])
            cells = [fmt_int(med(s["reasons"].get(k, [0]))) for k in cols]
            other = sum(med(v) or 0 for k, v in s["reasons"].items() if k not in cols)
            w(f"| {c[0]} | {c[1]} | {fmt_int(med(s['exits']))} "
              f"| {'—' if sp is None else f'{sp:.1f}%'} | {fmt_int(med(s['no_timer']))} "
              f"| {'—' if sp2 is None else f'{sp2:.1f}%'} | {fmt_int(med(s['userspace']))} "
              f"| {fmt_int(med(s['console']))} "
              f"| {fmt_int(med(s['ends']))} | " + " | ".join(cells) + f" | {fmt_int(other)} |")
        w("")
        w("## Where the exits go (median per boot, up to init)")
        w("")
        w("Port I/O and MMIO accesses by device (`kvm:kvm_pio`, `kvm:kvm_mmio`), whether "
          "KVM handled them in the kernel or passed them to the VMM, and intercepted MSR "
          "accesses (`kvm:kvm_msr`); per-port and per-address counts are in the JSON file.")
        w("")
        for c in configs:
            s = stats[c]
            if not s["exits"]:
                continue

            def top_of(d, n=6):
                items = sorted(((k, med(v) or 0) for k, v in d.items()), key=lambda kv: -kv[1])
                return ", ".join(f"{k} {fmt_int(v)}" for k, v in items[:n] if v) or "none"
            w(f"- **{c[0]}, {c[1]}:** to VMM: {top_of(s['userspace_by'])}; "
              f"port I/O: {top_of(s['pio_dev_by'], 8)}; MMIO: {top_of(s['mmio_dev_by'])}; "
              f"MMIO reads done by the VMM: {top_of(s['mmio_vmm_reads_by'])}; "
              f"MSR: {top_of(s['msr_by'])}")
    fails = [(c, r) for c in configs for r in results[c] if not r["ok"]]
    if fails:
        w("")
        w("## Failed boots")
        w("")
        for (vmm, var), r in fails:
            w(f"- {vmm}, {var}, run {r.get('run', 0) + 1}: {r['status']}"
              + ("; console and stderr are in the JSON file" if r.get("console") is not None
                 else ""))
    cl = [r for c in configs if c[0] == "clone" for r in results[c] if r.get("clone_cmdline")]
    gl = {c: next((r.get("guest_cmdline") for r in results[c] if r.get("guest_cmdline")), None)
          for c in configs}
    w("")
    w("## Effective guest command lines (the guest's /proc/cmdline)")
    w("")
    for c in configs:
        w(f"- {c[0]}, {c[1]}: `{gl[c] or '?'}`")
    if cl:
        w(f"- Clone's `--log-level info` says, e.g.: `{cl[0]['clone_cmdline']}`")
    cpus = {}
    for vmm in dict.fromkeys(c[0] for c in configs):
        cpus[vmm] = next((r["guest_cpu"] for c in configs if c[0] == vmm for r in results[c]
                          if r.get("guest_cpu")), None)
    if any(cpus.values()):
        w("")
        w("## Guest CPU (the guest's /proc/cpuinfo)")
        w("")
    for vmm, cpu in cpus.items():
        if cpu:
            w(f"- {vmm}: {cpu.get('vendor_id', '?')} family {cpu.get('cpu family', '?')} "
              f"model {cpu.get('model', '?')}, \"{cpu.get('model name', '?')}\"")
    w("")
    return "\n".join(L)
