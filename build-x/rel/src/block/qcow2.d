build-x/rel/src/block/qcow2.o: src/block/qcow2.c src/lib/err.h \
 src/lib/log.h src/lib/util.h src/block/qcow2.h src/block/disk.h
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
src/block/qcow2.h:
src/block/disk.h:
