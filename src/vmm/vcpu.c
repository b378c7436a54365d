// SPDX-License-Identifier: Apache-2.0
/*
 * vCPU threads and the KVM_RUN exit dispatch (see vcpu.h).  Each thread
 * owns its vCPU fd and kvm_run page.  Shared state it reads: the buses
 * (immutable while vCPUs run) and the VM's stop/pause flags (vm->lock).
 * Device handlers run on these threads and lock their own state.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/cpuid.h"
#include "lib/err.h"
#define LOG_TAG "vcpu"
#include "lib/log.h"
#include "vcpu.h"
#include "vm.h"

#define VCPU_KICK_SIGNAL SIGUSR1

static __thread struct kvm_run *tls_run;

/* Async-signal-safe: makes a KVM_RUN that is about to start, or running, return EINTR. */
static void kick_handler(int sig)
{
	if (tls_run)
		tls_run->immediate_exit = 1;
}

int vcpu_init_signals(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return err_set(-errno, "sigaction(SIGUSR1)");
	return 0;
}

int vcpu_create(struct vm *vm, unsigned idx, struct vcpu *v)
{
	int ret;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->idx = idx;
	v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)idx);
	if (v->fd < 0) {
		ret = err_set(-errno, "KVM_CREATE_VCPU %u", idx);
		v->fd = -1;
		return ret;
	}
	v->run_size = (size_t)vm->kvm.vcpu_mmap_size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		ret = err_set(-errno, "mmap kvm_run of vCPU %u", idx);
		goto fail;
	}
	ret = cpuid_setup(v->fd, vm->kvm.supported_cpuid, idx, vm->nr_vcpus);
	if (ret)
		goto fail;
	return 0;
fail:
	vcpu_destroy(v);
	return ret;
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;

	v->exits_io++;
	/* String I/O (rep outsb/insb) arrives as count accesses of size bytes. */
	for (uint32_t i = 0; i < run->io.count; i++) {
		bus_access(&v->vm->pio, run->io.port, data, run->io.size, write);
		data += run->io.size;
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	v->exits_mmio++;
	if (run->mmio.len > sizeof(run->mmio.data))
		return;
	if (!bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
			run->mmio.is_write))
		log_debug("unclaimed MMIO %s at %#llx", run->mmio.is_write ? "write" : "read",
			  (unsigned long long)run->mmio.phys_addr);
}

static void dump_state(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return;
	log_err("vCPU %u: rip=%#llx rsp=%#llx rflags=%#llx cr0=%#llx cr3=%#llx cr4=%#llx "
		"efer=%#llx",
		v->idx, r.rip, r.rsp, r.rflags, s.cr0, s.cr3, s.cr4, s.efer);
}

/* Handle one exit; false ends the thread. */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return true;
	case KVM_EXIT_HLT:
		/* With the in-kernel LAPIC, HLT is handled by KVM; seen only if it gives up. */
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* Triple fault: what a PC does is reset. */
		vm_request_exit(v->vm, VM_EXIT_RESET, 0);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_request_exit(v->vm, VM_EXIT_POWEROFF, 0);
			break;
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_exit(v->vm, VM_EXIT_RESET, 0);
			break;
		default:
			log_err("vCPU %u: system event %u", v->idx, run->system_event.type);
			vm_request_exit(v->vm, VM_EXIT_ERROR, 1);
			break;
		}
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		log_err("vCPU %u: KVM_RUN failed to enter the guest (hardware reason %#llx)",
			v->idx, (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		log_err("vCPU %u: KVM internal error, suberror %u", v->idx, run->internal.suberror);
		break;
	default:
		log_err("vCPU %u: unexpected exit reason %u", v->idx, run->exit_reason);
		break;
	}
	dump_state(v);
	vm_request_exit(v->vm, VM_EXIT_ERROR, 1);
	return false;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	sigset_t set;

	tls_run = v->run;
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	for (;;) {
		if (!vm_vcpu_checkpoint(vm))
			break;
		if (v->idx == 0)
			vm_note_first_run(vm);
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			int e = errno;

			if (e == EINTR || e == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			log_err("vCPU %u: KVM_RUN: %s", v->idx, strerror(e));
			dump_state(v);
			vm_request_exit(vm, VM_EXIT_ERROR, 1);
			break;
		}
		if (!handle_exit(v))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	int ret = pthread_create(&v->thread, NULL, vcpu_thread, v);

	if (ret)
		return err_set(-ret, "start vCPU %u thread", v->idx);
	v->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (v->started)
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *v)
{
	if (v->started)
		pthread_join(v->thread, NULL);
	v->started = false;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}
