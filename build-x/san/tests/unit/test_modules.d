build-x/san/tests/unit/test_modules.o: tests/unit/test_modules.c \
 src/boot/kernel.h src/lib/util.h src/boot/modules.h src/lib/err.h
src/boot/kernel.h:
src/lib/util.h:
src/boot/modules.h:
src/lib/err.h:
