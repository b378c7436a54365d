build-x/san/tests/unit/test_ratelimit.o: tests/unit/test_ratelimit.c \
 src/lib/err.h src/lib/ratelimit.h
src/lib/err.h:
src/lib/ratelimit.h:
