build-x/san/src/virtio/vhost.o: src/virtio/vhost.c src/lib/err.h \
 src/lib/util.h src/virtio/queue.h src/virtio/vhost.h src/vmm/mem.h
src/lib/err.h:
src/lib/util.h:
src/virtio/queue.h:
src/virtio/vhost.h:
src/vmm/mem.h:
