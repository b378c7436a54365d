build-x/rel/src/lib/usock.o: src/lib/usock.c src/lib/err.h \
 src/lib/usock.h
src/lib/err.h:
src/lib/usock.h:
