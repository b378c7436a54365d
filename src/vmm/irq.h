/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An interrupt line as devices see it: a callback that drives one GSI of the
 * in-kernel irqchip (KVM_IRQ_LINE) in the VMM, or a recording fake in unit
 * tests.  ISA devices drive the level: 1 while an interrupt is pending, 0 when
 * it is not; the IOAPIC/PIC turn the rising edge into an interrupt.
 * Any thread.
 */
#ifndef CLONE_VMM_IRQ_H
#define CLONE_VMM_IRQ_H

#include <stdint.h>

struct irq_line {
	void (*set)(void *opaque, unsigned gsi, int level);
	void *opaque;
	unsigned gsi;
};

static inline void irq_line_set(const struct irq_line *l, int level)
{
	if (l && l->set)
		l->set(l->opaque, l->gsi, level);
}

/*
 * Install the PC's GSI routing on the in-kernel irqchip: GSI n → IOAPIC pin
 * n (GSI 0 → pin 2) and, for ISA IRQs, the PIC.  0 or -errno.
 */
int irq_setup_routing(int vm_fd);

/*
 * A new eventfd (*efd) that raises GSI gsi when written (KVM_IRQFD: an edge
 * for the IOAPIC, no exit to the VMM).  0 or -errno with the message set.
 */
int irq_irqfd(int vm_fd, unsigned gsi, int *efd);
/*
 * A new eventfd (*efd) that KVM signals when the guest writes datamatch
 * (len bytes) at MMIO address addr, instead of exiting to the VMM.
 */
int irq_ioeventfd(int vm_fd, uint64_t addr, unsigned len, uint64_t datamatch, int *efd);

#endif
