build-x/rel/src/main.o: src/main.c src/cli/cli.h src/vmm/config.h \
 src/lib/ratelimit.h src/lib/util.h src/vmm/console.h src/vmm/config.h
src/cli/cli.h:
src/vmm/config.h:
src/lib/ratelimit.h:
src/lib/util.h:
src/vmm/console.h:
src/vmm/config.h:
