build-x/san/src/api/server.o: src/api/server.c src/api/http.h \
 src/vmm/evloop.h src/api/server.h src/lib/ratelimit.h src/lib/err.h \
 src/lib/log.h src/lib/util.h
src/api/http.h:
src/vmm/evloop.h:
src/api/server.h:
src/lib/ratelimit.h:
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
