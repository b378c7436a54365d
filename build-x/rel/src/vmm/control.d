build-x/rel/src/vmm/control.o: src/vmm/control.c src/api/agent.h \
 src/api/agent_proto.h src/api/server.h src/lib/ratelimit.h \
 src/vmm/evloop.h src/vmm/control.h src/devices/pm.h src/vmm/bus.h \
 src/vmm/irq.h src/lib/err.h src/lib/log.h src/lib/util.h \
 src/virtio/blk.h src/virtio/virtio.h src/virtio/queue.h src/virtio/net.h \
 src/virtio/vsock.h src/vmm/vm.h src/vmm/bus.h src/vmm/config.h \
 src/vmm/console.h src/vmm/evloop.h src/vmm/kvm.h src/vmm/mem.h \
 src/vmm/network.h src/net/bridge.h src/net/usernet.h src/vmm/config.h \
 src/vmm/storage.h src/boot/initramfs.h src/vmm/vcpu.h src/vmm/vdev.h \
 src/arch/x86/acpi.h src/vmm/mem.h
src/api/agent.h:
src/api/agent_proto.h:
src/api/server.h:
src/lib/ratelimit.h:
src/vmm/evloop.h:
src/vmm/control.h:
src/devices/pm.h:
src/vmm/bus.h:
src/vmm/irq.h:
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
src/virtio/blk.h:
src/virtio/virtio.h:
src/virtio/queue.h:
src/virtio/net.h:
src/virtio/vsock.h:
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
src/boot/initramfs.h:
src/vmm/vcpu.h:
src/vmm/vdev.h:
src/arch/x86/acpi.h:
src/vmm/mem.h:
