build-x/san/src/virtio/queue.o: src/virtio/queue.c src/lib/err.h \
 src/lib/util.h src/virtio/queue.h src/vmm/mem.h
src/lib/err.h:
src/lib/util.h:
src/virtio/queue.h:
src/vmm/mem.h:
