build-x/rel/src/block/raw.o: src/block/raw.c src/block/disk.h \
 src/lib/err.h src/lib/log.h src/lib/util.h
src/block/disk.h:
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
