build-x/san/src/virtio/virtio.o: src/virtio/virtio.c src/lib/err.h \
 src/lib/log.h src/virtio/virtio.h src/virtio/queue.h
src/lib/err.h:
src/lib/log.h:
src/virtio/virtio.h:
src/virtio/queue.h:
