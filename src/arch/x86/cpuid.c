// SPDX-License-Identifier: Apache-2.0
/*
 * CPUID filtering for each vCPU (see cpuid.h).  Runs on the main thread
 * while vCPUs are created; pure functions apart from cpuid_setup().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cpuid.h"
#include "lib/err.h"

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)

struct kvm_cpuid2 *cpuid_dup(const struct kvm_cpuid2 *src)
{
	size_t sz = sizeof(*src) + src->nent * sizeof(src->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);

	if (c)
		memcpy(c, src, sz);
	return c;
}

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, unsigned function, unsigned index)
{
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != function)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
			continue;
		return e;
	}
	return NULL;
}

static unsigned order_base_2(unsigned n)
{
	unsigned s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

/*
 * Extended topology (leaf 0xB, and 0x1F where present): level 0 is SMT with
 * one thread per core, level 1 is the core level holding all vCPUs of the
 * package.  EDX is the x2APIC ID (SDM Vol. 2A, CPUID leaf 0BH).
 */
static void filter_topology(struct kvm_cpuid_entry2 *e, unsigned idx, unsigned nr_cpus)
{
	e->edx = idx;
	switch (e->index) {
	case 0:
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (1u << 8) | 0;
		break;
	case 1:
		e->eax = order_base_2(nr_cpus);
		e->ebx = nr_cpus;
		e->ecx = (2u << 8) | 1;
		break;
	default:
		e->eax = 0;
		e->ebx = 0;
		e->ecx = e->index;
		break;
	}
}

void cpuid_filter(struct kvm_cpuid2 *c, unsigned idx, unsigned nr_cpus)
{
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 0x1:
			/* EBX[31:24] initial APIC ID, EBX[23:16] logical processors per package. */
			e->ebx = (e->ebx & 0xffff) | (idx << 24) | ((nr_cpus & 0xff) << 16);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (nr_cpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			break;
		case 0x4:
			/* EAX[31:26] cores per package - 1; EAX[25:14] threads sharing this cache - 1. */
			if (e->eax & 0x1f) {
				e->eax &= 0x3fff;
				e->eax |= ((nr_cpus - 1) & 0x3f) << 26;
			}
			break;
		case 0xb:
		case 0x1f:
			filter_topology(e, idx, nr_cpus);
			break;
		case 0x80000008:
			/* AMD: ECX[7:0] cores - 1, ECX[15:12] APIC ID bits. */
			e->ecx = (e->ecx & ~0xf0ffu) | ((nr_cpus - 1) & 0xff) |
				 (order_base_2(nr_cpus) << 12);
			break;
		case 0x8000001e:
			/* AMD extended APIC ID / core id, one thread per core, one node. */
			e->eax = idx;
			e->ebx = idx & 0xff;
			e->ecx = 0;
			break;
		default:
			break;
		}
	}
}

int cpuid_setup(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned idx, unsigned nr_cpus)
{
	struct kvm_cpuid2 *c = cpuid_dup(supported);
	int ret = 0;

	if (!c)
		return err_set(-ENOMEM, "cpuid");
	cpuid_filter(c, idx, nr_cpus);
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0)
		ret = err_set(-errno, "KVM_SET_CPUID2 (vCPU %u)", idx);
	free(c);
	return ret;
}
