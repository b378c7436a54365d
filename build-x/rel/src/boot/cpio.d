build-x/rel/src/boot/cpio.o: src/boot/cpio.c src/boot/cpio.h \
 src/lib/util.h src/lib/err.h
src/boot/cpio.h:
src/lib/util.h:
src/lib/err.h:
