build-x/san/src/api/http_client.o: src/api/http_client.c src/api/http.h \
 src/vmm/evloop.h src/lib/err.h src/lib/log.h src/lib/util.h
src/api/http.h:
src/vmm/evloop.h:
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
