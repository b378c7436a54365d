build-x/rel/src/cli/run.o: src/cli/run.c src/cli/cli.h src/vmm/config.h \
 src/lib/ratelimit.h src/lib/err.h src/lib/log.h src/lib/util.h \
 src/vmm/network.h src/api/agent_proto.h src/net/bridge.h \
 src/net/usernet.h src/vmm/registry.h src/vmm/vm.h src/vmm/bus.h \
 src/vmm/config.h src/vmm/console.h src/vmm/evloop.h src/vmm/kvm.h \
 src/vmm/mem.h src/vmm/network.h src/vmm/storage.h src/boot/initramfs.h \
 src/vmm/vcpu.h src/vmm/vdev.h src/arch/x86/acpi.h src/vmm/mem.h \
 src/virtio/virtio.h src/virtio/queue.h
src/cli/cli.h:
src/vmm/config.h:
src/lib/ratelimit.h:
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
src/vmm/network.h:
src/api/agent_proto.h:
src/net/bridge.h:
src/net/usernet.h:
src/vmm/registry.h:
src/vmm/vm.h:
src/vmm/bus.h:
src/vmm/config.h:
src/vmm/console.h:
src/vmm/evloop.h:
src/vmm/kvm.h:
src/vmm/mem.h:
src/vmm/network.h:
src/vmm/storage.h:
src/boot/initramfs.h:
src/vmm/vcpu.h:
src/vmm/vdev.h:
src/arch/x86/acpi.h:
src/vmm/mem.h:
src/virtio/virtio.h:
src/virtio/queue.h:
