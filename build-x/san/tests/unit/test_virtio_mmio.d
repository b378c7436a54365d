build-x/san/tests/unit/test_virtio_mmio.o: tests/unit/test_virtio_mmio.c \
 tests/unit/fakes/fake_mem.h src/vmm/mem.h tests/unit/fakes/fake_virtio.h \
 src/virtio/virtio.h src/virtio/queue.h src/lib/err.h src/lib/util.h \
 src/virtio/mmio.h src/vmm/bus.h
tests/unit/fakes/fake_mem.h:
src/vmm/mem.h:
tests/unit/fakes/fake_virtio.h:
src/virtio/virtio.h:
src/virtio/queue.h:
src/lib/err.h:
src/lib/util.h:
src/virtio/mmio.h:
src/vmm/bus.h:
