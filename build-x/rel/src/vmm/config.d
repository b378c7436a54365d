build-x/rel/src/vmm/config.o: src/vmm/config.c src/vmm/config.h \
 src/lib/ratelimit.h src/lib/err.h src/lib/log.h src/lib/util.h
src/vmm/config.h:
src/lib/ratelimit.h:
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
