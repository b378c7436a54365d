build-x/san/tests/unit/fakes/fake_virtio.o: \
 tests/unit/fakes/fake_virtio.c tests/unit/fakes/fake_virtio.h \
 src/virtio/virtio.h src/virtio/queue.h src/lib/err.h src/lib/util.h
tests/unit/fakes/fake_virtio.h:
src/virtio/virtio.h:
src/virtio/queue.h:
src/lib/err.h:
src/lib/util.h:
