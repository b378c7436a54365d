build-x/san/src/cli/exec.o: src/cli/exec.c src/api/agent_proto.h \
 src/api/http.h src/vmm/evloop.h src/cli/cli.h src/vmm/config.h \
 src/lib/ratelimit.h src/lib/err.h src/lib/util.h src/vmm/console.h \
 src/vmm/config.h src/vmm/registry.h
src/api/agent_proto.h:
src/api/http.h:
src/vmm/evloop.h:
src/cli/cli.h:
src/vmm/config.h:
src/lib/ratelimit.h:
src/lib/err.h:
src/lib/util.h:
src/vmm/console.h:
src/vmm/config.h:
src/vmm/registry.h:
