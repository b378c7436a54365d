build-x/san/tests/unit/test_raw.o: tests/unit/test_raw.c src/block/disk.h \
 src/lib/err.h src/lib/util.h
src/block/disk.h:
src/lib/err.h:
src/lib/util.h:
