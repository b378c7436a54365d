build-x/rel/src/virtio/blk.o: src/virtio/blk.c src/block/aio.h \
 src/block/disk.h src/virtio/blk.h src/lib/ratelimit.h \
 src/virtio/virtio.h src/virtio/queue.h src/lib/err.h src/lib/log.h \
 src/lib/util.h src/vmm/evloop.h
src/block/aio.h:
src/block/disk.h:
src/virtio/blk.h:
src/lib/ratelimit.h:
src/virtio/virtio.h:
src/virtio/queue.h:
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
src/vmm/evloop.h:
