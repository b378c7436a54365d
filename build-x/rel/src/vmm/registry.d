build-x/rel/src/vmm/registry.o: src/vmm/registry.c src/lib/err.h \
 src/lib/util.h src/vmm/registry.h
src/lib/err.h:
src/lib/util.h:
src/vmm/registry.h:
