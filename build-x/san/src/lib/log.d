build-x/san/src/lib/log.o: src/lib/log.c src/lib/log.h src/lib/util.h
src/lib/log.h:
src/lib/util.h:
