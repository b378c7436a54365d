build-x/san/tests/unit/test_kernel.o: tests/unit/test_kernel.c \
 src/boot/kernel.h src/lib/util.h src/lib/err.h
src/boot/kernel.h:
src/lib/util.h:
src/lib/err.h:
