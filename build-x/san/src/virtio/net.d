build-x/san/src/virtio/net.o: src/virtio/net.c src/lib/err.h \
 src/lib/log.h src/lib/util.h src/virtio/net.h src/lib/ratelimit.h \
 src/virtio/virtio.h src/virtio/queue.h src/virtio/vhost.h \
 src/vmm/evloop.h
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
src/virtio/net.h:
src/lib/ratelimit.h:
src/virtio/virtio.h:
src/virtio/queue.h:
src/virtio/vhost.h:
src/vmm/evloop.h:
