build-x/san/tests/unit/test_blk.o: tests/unit/test_blk.c src/block/aio.h \
 src/block/disk.h tests/unit/fakes/fake_mem.h src/vmm/mem.h \
 src/virtio/blk.h src/lib/ratelimit.h src/virtio/virtio.h \
 src/virtio/queue.h src/lib/util.h src/virtio/mmio.h src/vmm/bus.h \
 src/vmm/evloop.h
src/block/aio.h:
src/block/disk.h:
tests/unit/fakes/fake_mem.h:
src/vmm/mem.h:
src/virtio/blk.h:
src/lib/ratelimit.h:
src/virtio/virtio.h:
src/virtio/queue.h:
src/lib/util.h:
src/virtio/mmio.h:
src/vmm/bus.h:
src/vmm/evloop.h:
