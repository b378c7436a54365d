// SPDX-License-Identifier: Apache-2.0
/*
 * GSI routing of the in-kernel irqchip, irqfds and ioeventfds (see irq.h).
 * Main thread, while the VM is built.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "irq.h"
#include "lib/err.h"

#define IRQ_NR_IOAPIC_PINS 24
#define IRQ_NR_PIC_PINS 16

int irq_setup_routing(int vm_fd)
{
	struct kvm_irq_routing *r;
	unsigned n = 0;
	int ret = 0;

	r = calloc(1, sizeof(*r) + (IRQ_NR_IOAPIC_PINS + IRQ_NR_PIC_PINS) * sizeof(r->entries[0]));
	if (!r)
		return err_set(-ENOMEM, "irq routing");
	for (unsigned gsi = 0; gsi < IRQ_NR_IOAPIC_PINS; gsi++) {
		/*
		 * ISA IRQ 0 (the PIT) is wired to IOAPIC pin 2, as on a PC and as
		 * the MADT's interrupt source override tells the guest.  KVM's
		 * default table routes GSI 0 to pin 0, where the guest never
		 * looks: its timer would not tick.
		 */
		r->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi == 0 ? 2 : gsi },
		};
	}
	for (unsigned gsi = 0; gsi < IRQ_NR_PIC_PINS; gsi++) {
		if (gsi == 2)
			continue; /* the cascade from the slave PIC */
		r->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
							  : KVM_IRQCHIP_PIC_SLAVE,
				       .pin = gsi % 8 },
		};
	}
	r->nr = n;
	if (ioctl(vm_fd, KVM_SET_GSI_ROUTING, r) < 0)
		ret = err_set(-errno, "KVM_SET_GSI_ROUTING");
	free(r);
	return ret;
}

int irq_irqfd(int vm_fd, unsigned gsi, int *efd)
{
	struct kvm_irqfd req = { .gsi = gsi };
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0)
		return err_set(-errno, "eventfd for GSI %u", gsi);
	req.fd = (uint32_t)fd;
	if (ioctl(vm_fd, KVM_IRQFD, &req) < 0) {
		int ret = err_set(-errno, "KVM_IRQFD GSI %u", gsi);

		close(fd);
		return ret;
	}
	*efd = fd;
	return 0;
}

int irq_ioeventfd(int vm_fd, uint64_t addr, unsigned len, uint64_t datamatch, int *efd)
{
	struct kvm_ioeventfd req = {
		.addr = addr,
		.len = len,
		.datamatch = datamatch,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0)
		return err_set(-errno, "eventfd for MMIO 0x%llx", (unsigned long long)addr);
	req.fd = fd;
	if (ioctl(vm_fd, KVM_IOEVENTFD, &req) < 0) {
		int ret = err_set(-errno, "KVM_IOEVENTFD at 0x%llx", (unsigned long long)addr);

		close(fd);
		return ret;
	}
	*efd = fd;
	return 0;
}
