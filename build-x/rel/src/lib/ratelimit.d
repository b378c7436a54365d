build-x/rel/src/lib/ratelimit.o: src/lib/ratelimit.c src/lib/err.h \
 src/lib/ratelimit.h src/lib/util.h
src/lib/err.h:
src/lib/ratelimit.h:
src/lib/util.h:
