build-x/san/tests/unit/test_net.o: tests/unit/test_net.c \
 tests/unit/fakes/fake_mem.h src/vmm/mem.h src/lib/util.h \
 src/virtio/mmio.h src/virtio/virtio.h src/virtio/queue.h src/vmm/bus.h \
 src/virtio/net.h src/lib/ratelimit.h src/vmm/evloop.h
tests/unit/fakes/fake_mem.h:
src/vmm/mem.h:
src/lib/util.h:
src/virtio/mmio.h:
src/virtio/virtio.h:
src/virtio/queue.h:
src/vmm/bus.h:
src/virtio/net.h:
src/lib/ratelimit.h:
src/vmm/evloop.h:
