build-x/san/tests/unit/test_cpio.o: tests/unit/test_cpio.c \
 src/boot/cpio.h src/lib/util.h src/lib/err.h
src/boot/cpio.h:
src/lib/util.h:
src/lib/err.h:
