/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's KVM: open /dev/kvm, check the API version and the capabilities
 * Clone relies on, with one clear error for each way this can fail.
 * Main thread, before any vCPU exists.
 */
#ifndef CLONE_VMM_KVM_H
#define CLONE_VMM_KVM_H

struct kvm_cpuid2;

struct kvm_host {
	int fd;
	int vcpu_mmap_size;
	unsigned max_vcpus;
	struct kvm_cpuid2 *supported_cpuid; /* KVM_GET_SUPPORTED_CPUID */
};

/* Open and check /dev/kvm (or path); 0 or -errno with the message set. */
int kvm_host_open(struct kvm_host *kvm, const char *path);
void kvm_host_close(struct kvm_host *kvm);

#endif
