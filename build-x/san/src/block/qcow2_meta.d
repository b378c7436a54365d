build-x/san/src/block/qcow2_meta.o: src/block/qcow2_meta.c src/lib/err.h \
 src/lib/log.h src/lib/util.h src/block/qcow2.h src/block/disk.h
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
src/block/qcow2.h:
src/block/disk.h:
