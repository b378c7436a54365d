build-x/san/src/vmm/vm.o: src/vmm/vm.c src/arch/x86/acpi.h src/vmm/mem.h \
 src/arch/x86/e820.h src/arch/x86/layout.h src/arch/x86/regs.h \
 src/block/aio.h src/block/disk.h src/boot/bzimage.h src/boot/initramfs.h \
 src/boot/kernel.h src/lib/util.h src/boot/loader.h src/boot/modules.h \
 src/devices/boot_timer.h src/vmm/bus.h src/devices/i8042.h \
 src/devices/pm.h src/vmm/irq.h src/devices/rtc.h src/devices/serial.h \
 src/api/agent.h src/api/agent_proto.h src/api/server.h \
 src/lib/ratelimit.h src/vmm/evloop.h src/virtio/blk.h \
 src/virtio/virtio.h src/virtio/queue.h src/virtio/vsock.h src/vmm/irq.h \
 src/lib/err.h src/lib/log.h src/vmm/control.h src/vmm/vm.h src/vmm/bus.h \
 src/vmm/config.h src/vmm/console.h src/vmm/evloop.h src/vmm/kvm.h \
 src/vmm/mem.h src/vmm/network.h src/net/bridge.h src/net/usernet.h \
 src/vmm/config.h src/vmm/storage.h src/vmm/vcpu.h src/vmm/vdev.h
src/arch/x86/acpi.h:
src/vmm/mem.h:
src/arch/x86/e820.h:
src/arch/x86/layout.h:
src/arch/x86/regs.h:
src/block/aio.h:
src/block/disk.h:
src/boot/bzimage.h:
src/boot/initramfs.h:
src/boot/kernel.h:
src/lib/util.h:
src/boot/loader.h:
src/boot/modules.h:
src/devices/boot_timer.h:
src/vmm/bus.h:
src/devices/i8042.h:
src/devices/pm.h:
src/vmm/irq.h:
src/devices/rtc.h:
src/devices/serial.h:
src/api/agent.h:
src/api/agent_proto.h:
src/api/server.h:
src/lib/ratelimit.h:
src/vmm/evloop.h:
src/virtio/blk.h:
src/virtio/virtio.h:
src/virtio/queue.h:
src/virtio/vsock.h:
src/vmm/irq.h:
src/lib/err.h:
src/lib/log.h:
src/vmm/control.h:
src/vmm/vm.h:
src/vmm/bus.h:
src/vmm/config.h:
src/vmm/console.h:
src/vmm/evloop.h:
src/vmm/kvm.h:
src/vmm/mem.h:
src/vmm/network.h:
src/net/bridge.h:
src/net/usernet.h:
src/vmm/config.h:
src/vmm/storage.h:
src/vmm/vcpu.h:
src/vmm/vdev.h:
