build-x/rel/src/virtio/mmio.o: src/virtio/mmio.c src/lib/err.h \
 src/lib/log.h src/lib/util.h src/virtio/mmio.h src/virtio/virtio.h \
 src/virtio/queue.h src/vmm/bus.h
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
src/virtio/mmio.h:
src/virtio/virtio.h:
src/virtio/queue.h:
src/vmm/bus.h:
