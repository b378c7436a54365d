build-x/rel/src/api/http.o: src/api/http.c src/api/http.h \
 src/vmm/evloop.h src/lib/err.h src/lib/log.h src/lib/usock.h \
 src/lib/util.h
src/api/http.h:
src/vmm/evloop.h:
src/lib/err.h:
src/lib/log.h:
src/lib/usock.h:
src/lib/util.h:
