build-x/san/tests/unit/test_usernet.o: tests/unit/test_usernet.c \
 src/lib/err.h src/net/usernet.h
src/lib/err.h:
src/net/usernet.h:
