build-x/san/src/block/disk.o: src/block/disk.c src/block/disk.h \
 src/lib/err.h src/lib/log.h src/lib/util.h
src/block/disk.h:
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
