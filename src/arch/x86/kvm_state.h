/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The architectural state KVM keeps for a VM and its vCPUs, captured into
 * self-describing blobs for snapshots and loaded back into fresh KVM
 * objects.  Blobs are opaque to callers: a versioned little-endian record
 * list (kind, length, bytes) that kvmstate_*_parse() validates without
 * touching KVM, so the parsers are unit-tested and fuzzed.
 *
 * vCPU: CPUID, REGS, SREGS, XSAVE (KVM_GET_XSAVE2 when the state is larger
 * than 4 KiB) or FPU, XCRS, DEBUGREGS, LAPIC, MP_STATE, VCPU_EVENTS and
 * every MSR of KVM_GET_MSR_INDEX_LIST that the vCPU can read, plus the
 * TSC frequency.  Restored in an order KVM accepts: CPUID, MP state, REGS,
 * SREGS (APIC base), XSAVE/FPU, XCRS, DEBUGREGS, LAPIC, MSRs (the TSC
 * before MSR_IA32_TSC_DEADLINE, which is relative to it), VCPU_EVENTS.
 *
 * VM: the in-kernel irqchip (PIC master, PIC slave, IOAPIC), the PIT
 * (KVM_GET_PIT2) and kvmclock (KVM_GET_CLOCK with the host's realtime).
 *
 * Clock fix-up: a restore may move the guest's clocks forward by
 * advance_ns (the wall time that passed since the capture): the TSC MSR
 * by advance_ns at the saved TSC frequency, kvmclock by advance_ns, so
 * that the guest's CLOCK_REALTIME matches the host's again.
 *
 * Main thread, with the vCPUs stopped (not inside KVM_RUN).
 */
#ifndef CLONE_ARCH_X86_KVM_STATE_H
#define CLONE_ARCH_X86_KVM_STATE_H

#include <stddef.h>
#include <stdint.h>

#define KVMSTATE_VERSION 1u

/* What a VM blob holds, after kvmstate_vm_parse(). */
struct kvmstate_vm_info {
	uint64_t clock_ns;    /* kvmclock at capture */
	uint64_t realtime_ns; /* host CLOCK_REALTIME at capture */
};

/*
 * Capture vcpu_fd's state.  kvm_fd is /dev/kvm (for the MSR index list).
 * *blob is malloc'ed (free()), *len its size.  0 or -errno with the
 * message set.
 */
int kvmstate_vcpu_save(int kvm_fd, int vcpu_fd, void **blob, size_t *len);
/*
 * Load a blob from kvmstate_vcpu_save() into a new vCPU (created, CPUID
 * not yet used by KVM_RUN), advancing its TSC by advance_ns.  -EINVAL for
 * a malformed blob (message says what), other -errno from KVM with the
 * message naming the ioctl (e.g. "KVM_SET_MSRS: MSR 0x6e0 refused").
 */
int kvmstate_vcpu_restore(int vcpu_fd, const void *blob, size_t len, uint64_t advance_ns);
/* Validate a vCPU blob without KVM: 0 or -EINVAL with the message set. */
int kvmstate_vcpu_parse(const void *blob, size_t len);

/* Capture the VM-wide state of vm_fd (irqchip, PIT, clock).  As kvmstate_vcpu_save(). */
int kvmstate_vm_save(int vm_fd, void **blob, size_t *len);
/*
 * Load it into a new VM (irqchip and PIT created) with kvmclock moved
 * forward by advance_ns.  Call after every vCPU was restored.
 */
int kvmstate_vm_restore(int vm_fd, const void *blob, size_t len, uint64_t advance_ns);
/* Validate a VM blob without KVM; info (may be NULL) gets its clock fields. */
int kvmstate_vm_parse(const void *blob, size_t len, struct kvmstate_vm_info *info);

#endif
