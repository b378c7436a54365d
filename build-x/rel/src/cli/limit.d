build-x/rel/src/cli/limit.o: src/cli/limit.c src/api/http.h \
 src/vmm/evloop.h src/cli/cli.h src/vmm/config.h src/lib/ratelimit.h \
 src/lib/err.h src/vmm/registry.h
src/api/http.h:
src/vmm/evloop.h:
src/cli/cli.h:
src/vmm/config.h:
src/lib/ratelimit.h:
src/lib/err.h:
src/vmm/registry.h:
