build-x/rel/src/boot/modules.o: src/boot/modules.c src/lib/err.h \
 src/boot/modules.h src/lib/util.h
src/lib/err.h:
src/boot/modules.h:
src/lib/util.h:
