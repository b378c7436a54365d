build-x/san/src/block/aio.o: src/block/aio.c src/block/aio.h \
 src/lib/err.h src/vmm/evloop.h
src/block/aio.h:
src/lib/err.h:
src/vmm/evloop.h:
