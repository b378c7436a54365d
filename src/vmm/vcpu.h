/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vCPU threads: one per vCPU, each looping on KVM_RUN and dispatching port
 * I/O and MMIO exits to the VM's buses.  vcpu_kick() may be called from any
 * thread: it forces the vCPU out of KVM_RUN (SIGUSR1 + immediate_exit) so
 * it sees stop or pause requests.
 */
#ifndef CLONE_VMM_VCPU_H
#define CLONE_VMM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned idx;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	uint64_t exits_io;
	uint64_t exits_mmio;
};

/* KVM_CREATE_VCPU, map kvm_run, set CPUID.  0 or -errno; vcpu_destroy() undoes. */
int vcpu_create(struct vm *vm, unsigned idx, struct vcpu *v);
/* Install the kick signal handler once per process, before any vcpu_start(). */
int vcpu_init_signals(void);
int vcpu_start(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);

#endif
