build-x/san/tests/unit/test_qcow2.o: tests/unit/test_qcow2.c \
 src/block/disk.h src/lib/err.h src/lib/util.h
src/block/disk.h:
src/lib/err.h:
src/lib/util.h:
