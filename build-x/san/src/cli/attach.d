build-x/san/src/cli/attach.o: src/cli/attach.c src/cli/attach.h \
 src/cli/cli.h src/vmm/config.h src/lib/ratelimit.h src/lib/err.h \
 src/lib/util.h src/vmm/console.h src/vmm/config.h src/vmm/registry.h
src/cli/attach.h:
src/cli/cli.h:
src/vmm/config.h:
src/lib/ratelimit.h:
src/lib/err.h:
src/lib/util.h:
src/vmm/console.h:
src/vmm/config.h:
src/vmm/registry.h:
