build-x/san/src/virtio/vsock.o: src/virtio/vsock.c src/lib/err.h \
 src/lib/log.h src/lib/util.h src/virtio/vhost.h src/virtio/vsock.h \
 src/virtio/virtio.h src/virtio/queue.h
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
src/virtio/vhost.h:
src/virtio/vsock.h:
src/virtio/virtio.h:
src/virtio/queue.h:
