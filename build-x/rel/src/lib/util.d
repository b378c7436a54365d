build-x/rel/src/lib/util.o: src/lib/util.c src/lib/err.h src/lib/util.h
src/lib/err.h:
src/lib/util.h:
