/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-vCPU CPUID: KVM's supported table, filtered so each vCPU reports its
 * own APIC ID, a topology of nr_cpus cores in one package, and the
 * hypervisor bit.  Main thread, while vCPUs are created.
 */
#ifndef CLONE_ARCH_X86_CPUID_H
#define CLONE_ARCH_X86_CPUID_H

#include <linux/kvm.h>

#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)

/* Copy of src with room for extra entries; NULL on allocation failure. */
struct kvm_cpuid2 *cpuid_dup(const struct kvm_cpuid2 *src);
/* Rewrite c in place for vCPU index (APIC ID) idx of nr_cpus (pure). */
void cpuid_filter(struct kvm_cpuid2 *c, unsigned idx, unsigned nr_cpus);
/* Find an entry; NULL when absent. */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, unsigned function, unsigned index);
/* KVM_SET_CPUID2 on vcpu_fd with the filtered copy of supported; 0 or -errno. */
int cpuid_setup(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned idx, unsigned nr_cpus);

#endif
