build-x/san/tests/unit/test_api.o: tests/unit/test_api.c src/api/http.h \
 src/vmm/evloop.h src/api/server.h src/lib/ratelimit.h src/cli/cli.h \
 src/vmm/config.h src/lib/err.h src/lib/log.h
src/api/http.h:
src/vmm/evloop.h:
src/api/server.h:
src/lib/ratelimit.h:
src/cli/cli.h:
src/vmm/config.h:
src/lib/err.h:
src/lib/log.h:
