// SPDX-License-Identifier: Apache-2.0
/* Unit tests: per-vCPU CPUID filtering (src/arch/x86/cpuid.c). */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "arch/x86/cpuid.h"

static struct kvm_cpuid2 *table(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 8 * sizeof(c->entries[0]));

	c->nent = 7;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 1, .ebx = 0xff0800, .edx = 0 };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 0xb,
						   .index = 0,
						   .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
	c->entries[2] = (struct kvm_cpuid_entry2){ .function = 0xb,
						   .index = 1,
						   .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
	c->entries[3] = (struct kvm_cpuid_entry2){
		.function = 0xb, .index = 2, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ecx = 2
	};
	c->entries[4] = (struct kvm_cpuid_entry2){ .function = 4, .eax = 0x121 };
	c->entries[5] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .ecx = 0 };
	c->entries[6] = (struct kvm_cpuid_entry2){ .function = 0x8000001e };
	return c;
}

Test(cpuid, apic_ids_and_topology)
{
	struct kvm_cpuid2 *c = table();
	struct kvm_cpuid_entry2 *e;

	cpuid_filter(c, 2, 3);
	e = cpuid_find(c, 1, 0);
	cr_assert_eq(e->ebx >> 24, 2, "leaf 1 APIC ID");
	cr_assert_eq((e->ebx >> 16) & 0xff, 3, "logical processors");
	cr_assert_eq(e->ebx & 0xffff, 0x0800, "low EBX bits kept");
	cr_assert(e->ecx & (1u << 31), "hypervisor bit");
	cr_assert(e->edx & (1u << 28), "HTT with >1 CPU");
	e = cpuid_find(c, 0xb, 0);
	cr_assert_eq(e->edx, 2);
	cr_assert_eq(e->ebx, 1);
	cr_assert_eq((e->ecx >> 8) & 0xff, 1, "SMT level");
	e = cpuid_find(c, 0xb, 1);
	cr_assert_eq(e->ebx, 3);
	cr_assert_eq(e->eax, 2, "shift covers 3 CPUs");
	cr_assert_eq((e->ecx >> 8) & 0xff, 2, "core level");
	e = cpuid_find(c, 0xb, 2);
	cr_assert_eq(e->ebx, 0, "invalid level");
	cr_assert_eq(e->ecx, 2);
	e = cpuid_find(c, 4, 0);
	cr_assert_eq(e->eax >> 26, 2);
	e = cpuid_find(c, 0x80000008, 0);
	cr_assert_eq(e->ecx & 0xff, 2);
	e = cpuid_find(c, 0x8000001e, 0);
	cr_assert_eq(e->eax, 2);
	free(c);
}

Test(cpuid, single_cpu_has_no_htt)
{
	struct kvm_cpuid2 *c = table();

	c->entries[0].edx = 1u << 28;
	cpuid_filter(c, 0, 1);
	cr_assert_eq(cpuid_find(c, 1, 0)->edx & (1u << 28), 0);
	cr_assert_eq(cpuid_find(c, 0xb, 1)->eax, 0);
	cr_assert_null(cpuid_find(c, 0x7, 0));
	free(c);
}
