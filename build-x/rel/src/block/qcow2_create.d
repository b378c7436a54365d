build-x/rel/src/block/qcow2_create.o: src/block/qcow2_create.c \
 src/lib/err.h src/lib/util.h src/block/qcow2.h src/block/disk.h
src/lib/err.h:
src/lib/util.h:
src/block/qcow2.h:
src/block/disk.h:
