build-x/san/tests/unit/test_http.o: tests/unit/test_http.c src/api/http.h \
 src/vmm/evloop.h src/lib/log.h
src/api/http.h:
src/vmm/evloop.h:
src/lib/log.h:
