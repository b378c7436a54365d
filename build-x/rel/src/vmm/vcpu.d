build-x/rel/src/vmm/vcpu.o: src/vmm/vcpu.c src/arch/x86/cpuid.h \
 src/lib/err.h src/lib/log.h src/vmm/vcpu.h src/vmm/vm.h src/vmm/bus.h \
 src/vmm/config.h src/lib/ratelimit.h src/vmm/console.h src/vmm/evloop.h \
 src/vmm/kvm.h src/vmm/mem.h src/vmm/network.h src/api/agent_proto.h \
 src/net/bridge.h src/net/usernet.h src/vmm/config.h src/vmm/storage.h \
 src/boot/initramfs.h src/vmm/vdev.h src/arch/x86/acpi.h src/vmm/mem.h \
 src/virtio/virtio.h src/virtio/queue.h
src/arch/x86/cpuid.h:
src/lib/err.h:
src/lib/log.h:
src/vmm/vcpu.h:
src/vmm/vm.h:
src/vmm/bus.h:
src/vmm/config.h:
src/lib/ratelimit.h:
src/vmm/console.h:
src/vmm/evloop.h:
src/vmm/kvm.h:
src/vmm/mem.h:
src/vmm/network.h:
src/api/agent_proto.h:
src/net/bridge.h:
src/net/usernet.h:
src/vmm/config.h:
src/vmm/storage.h:
src/boot/initramfs.h:
src/vmm/vdev.h:
src/arch/x86/acpi.h:
src/vmm/mem.h:
src/virtio/virtio.h:
src/virtio/queue.h:
