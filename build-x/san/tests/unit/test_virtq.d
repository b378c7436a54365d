build-x/san/tests/unit/test_virtq.o: tests/unit/test_virtq.c \
 tests/unit/fakes/fake_mem.h src/vmm/mem.h src/lib/util.h \
 src/virtio/queue.h
tests/unit/fakes/fake_mem.h:
src/vmm/mem.h:
src/lib/util.h:
src/virtio/queue.h:
