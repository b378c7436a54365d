build-x/san/tests/unit/test_aio.o: tests/unit/test_aio.c src/block/aio.h
src/block/aio.h:
