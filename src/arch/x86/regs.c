// SPDX-License-Identifier: Apache-2.0
/*
 * Boot CPU state (see regs.h): the GDT and identity-mapped page tables in
 * guest memory and the initial registers of each vCPU.  Main thread, before
 * vCPU threads start; no locks.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "layout.h"
#include "lib/err.h"
#define LOG_TAG "regs"
#include "lib/log.h"
#include "lib/util.h"
#include "regs.h"

#define X86_CR0_PE 0x1ull
#define X86_CR0_ET 0x10ull
#define X86_CR0_PG 0x80000000ull
#define X86_CR4_PAE 0x20ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull

#define PTE_PRESENT 0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull

#define MSR_IA32_TSC 0x10
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

/* Descriptor flags as in the kernel's GDT_ENTRY(): G, D/B, L, AVL | P, DPL, S, type. */
#define GDT_CODE64 0xa09b
#define GDT_CODE32 0xc09b
#define GDT_DATA 0xc093
#define GDT_TSS 0x808b

uint64_t regs_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0x0000ffffu);
}

static uint16_t code_flags(enum regs_boot_mode mode)
{
	return mode == REGS_BOOT_LONG64 ? GDT_CODE64 : GDT_CODE32;
}

int regs_write_gdt(struct guest_mem *gm, enum regs_boot_mode mode)
{
	const uint64_t gdt[4] = {
		0,
		regs_gdt_entry(code_flags(mode), 0, 0xfffff),
		regs_gdt_entry(GDT_DATA, 0, 0xfffff),
		regs_gdt_entry(GDT_TSS, 0, 0xfffff),
	};
	const uint64_t idt = 0;

	if (gm_write(gm, LAYOUT_GDT, gdt, sizeof(gdt)) ||
	    gm_write(gm, LAYOUT_IDT, &idt, sizeof(idt)))
		return err_setx(-EFAULT, "guest memory too small for the boot GDT");
	return 0;
}

int regs_write_page_tables(struct guest_mem *gm)
{
	uint64_t *pml4 = gm_ptr(gm, LAYOUT_PML4, 4096);
	uint64_t *pdpt = gm_ptr(gm, LAYOUT_PDPT, 4096);
	uint64_t *pd = gm_ptr(gm, LAYOUT_PD, LAYOUT_PD_COUNT * 4096);

	if (!pml4 || !pdpt || !pd)
		return err_setx(-EFAULT, "guest memory too small for the boot page tables");
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = LAYOUT_PDPT | PTE_PRESENT | PTE_RW;
	for (uint64_t i = 0; i < LAYOUT_PD_COUNT; i++) {
		pdpt[i] = (LAYOUT_PD + i * 4096) | PTE_PRESENT | PTE_RW;
		for (uint64_t j = 0; j < 512; j++)
			pd[i * 512 + j] = ((i * 512 + j) << 21) | PTE_PRESENT | PTE_RW | PTE_PS;
	}
	return 0;
}

static struct kvm_segment segment(uint64_t gdt_entry, uint16_t selector)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = (gdt_entry >> 40) & 0xf,
		.present = (gdt_entry >> 47) & 1,
		.dpl = (gdt_entry >> 45) & 3,
		.db = (gdt_entry >> 54) & 1,
		.s = (gdt_entry >> 44) & 1,
		.l = (gdt_entry >> 53) & 1,
		.g = (gdt_entry >> 55) & 1,
		.avl = (gdt_entry >> 52) & 1,
	};
}

static int setup_sregs(int fd, enum regs_boot_mode mode)
{
	struct kvm_sregs s;
	struct kvm_segment data;

	if (ioctl(fd, KVM_GET_SREGS, &s) < 0)
		return err_set(-errno, "KVM_GET_SREGS");
	s.gdt.base = LAYOUT_GDT;
	s.gdt.limit = 4 * 8 - 1;
	s.idt.base = LAYOUT_IDT;
	s.idt.limit = 7;
	s.cs = segment(regs_gdt_entry(code_flags(mode), 0, 0xfffff), GDT_SEL_CODE);
	data = segment(regs_gdt_entry(GDT_DATA, 0, 0xfffff), GDT_SEL_DATA);
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.tr = segment(regs_gdt_entry(GDT_TSS, 0, 0xfffff), GDT_SEL_TSS);
	s.tr.limit = 0xfffff;
	if (mode == REGS_BOOT_LONG64) {
		s.cr3 = LAYOUT_PML4;
		s.cr4 = X86_CR4_PAE;
		s.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
		s.efer = EFER_LME | EFER_LMA;
	} else {
		/* PVH: 32-bit protected mode, paging off (xen/include/public/arch-x86/hvm/start_info.h). */
		s.cr3 = 0;
		s.cr4 = 0;
		s.cr0 = X86_CR0_PE | X86_CR0_ET;
		s.efer = 0;
	}
	if (ioctl(fd, KVM_SET_SREGS, &s) < 0)
		return err_set(-errno, "KVM_SET_SREGS");
	return 0;
}

static int setup_regs(int fd, enum regs_boot_mode mode, uint64_t ip, uint64_t boot_info)
{
	struct kvm_regs r = {
		.rflags = 0x2,
		.rip = ip,
		.rsp = LAYOUT_BOOT_STACK,
		.rbp = LAYOUT_BOOT_STACK,
	};

	if (mode == REGS_BOOT_LONG64)
		r.rsi = boot_info;
	else
		r.rbx = boot_info;
	if (ioctl(fd, KVM_SET_REGS, &r) < 0)
		return err_set(-errno, "KVM_SET_REGS");
	return 0;
}

static int setup_fpu(int fd)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	if (ioctl(fd, KVM_SET_FPU, &fpu) < 0)
		return err_set(-errno, "KVM_SET_FPU");
	return 0;
}

static int setup_msrs(int fd)
{
	static const struct {
		uint32_t index;
		uint64_t value;
	} boot_msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },
		{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },
		{ MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_SYSCALL_MASK, 0 },
		{ MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, 1 },	       /* fast string operations */
		{ MSR_MTRR_DEF_TYPE, (1u << 11) | 6 }, /* MTRRs on, default write-back */
	};
	struct kvm_msrs *m;
	int n;

	m = calloc(1, sizeof(*m) + ARRAY_SIZE(boot_msrs) * sizeof(m->entries[0]));
	if (!m)
		return err_set(-ENOMEM, "boot MSRs");
	m->nmsrs = ARRAY_SIZE(boot_msrs);
	for (unsigned i = 0; i < ARRAY_SIZE(boot_msrs); i++) {
		m->entries[i].index = boot_msrs[i].index;
		m->entries[i].data = boot_msrs[i].value;
	}
	n = ioctl(fd, KVM_SET_MSRS, m);
	free(m);
	if (n < 0)
		return err_set(-errno, "KVM_SET_MSRS");
	if ((unsigned)n != ARRAY_SIZE(boot_msrs))
		log_warn("KVM accepted %d of %zu boot MSRs (MSR %#x refused)", n,
			 ARRAY_SIZE(boot_msrs), boot_msrs[n].index);
	return 0;
}

static void lapic_set_lvt(struct kvm_lapic_state *l, unsigned reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], sizeof(v));
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&l->regs[reg], &v, sizeof(v));
}

/* LINT0 as ExtINT (the 8259 PIC's output) and LINT1 as NMI, as firmware leaves them. */
static int setup_lapic(int fd)
{
	struct kvm_lapic_state l;

	if (ioctl(fd, KVM_GET_LAPIC, &l) < 0)
		return err_set(-errno, "KVM_GET_LAPIC");
	lapic_set_lvt(&l, APIC_LVT0, APIC_MODE_EXTINT);
	lapic_set_lvt(&l, APIC_LVT1, APIC_MODE_NMI);
	if (ioctl(fd, KVM_SET_LAPIC, &l) < 0)
		return err_set(-errno, "KVM_SET_LAPIC");
	return 0;
}

int regs_setup_vcpu(int vcpu_fd, bool bsp, enum regs_boot_mode mode, uint64_t ip,
		    uint64_t boot_info)
{
	int ret;

	ret = setup_msrs(vcpu_fd);
	if (!ret)
		ret = setup_fpu(vcpu_fd);
	if (!ret)
		ret = setup_lapic(vcpu_fd);
	if (ret || !bsp)
		return ret;
	ret = setup_sregs(vcpu_fd, mode);
	if (!ret)
		ret = setup_regs(vcpu_fd, mode, ip, boot_info);
	return ret;
}
