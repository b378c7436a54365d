build-x/san/tests/unit/test_vsock.o: tests/unit/test_vsock.c \
 tests/unit/fakes/fake_mem.h src/vmm/mem.h tests/unit/fakes/fake_virtio.h \
 src/virtio/virtio.h src/virtio/queue.h src/lib/err.h src/virtio/mmio.h \
 src/vmm/bus.h src/virtio/vhost.h src/virtio/vsock.h
tests/unit/fakes/fake_mem.h:
src/vmm/mem.h:
tests/unit/fakes/fake_virtio.h:
src/virtio/virtio.h:
src/virtio/queue.h:
src/lib/err.h:
src/virtio/mmio.h:
src/vmm/bus.h:
src/virtio/vhost.h:
src/virtio/vsock.h:
