build-x/rel/src/cli/ctl.o: src/cli/ctl.c src/api/http.h src/vmm/evloop.h \
 src/cli/cli.h src/vmm/config.h src/lib/ratelimit.h src/lib/err.h \
 src/lib/util.h src/vmm/registry.h
src/api/http.h:
src/vmm/evloop.h:
src/cli/cli.h:
src/vmm/config.h:
src/lib/ratelimit.h:
src/lib/err.h:
src/lib/util.h:
src/vmm/registry.h:
