build-x/rel/src/vmm/evloop.o: src/vmm/evloop.c src/vmm/evloop.h \
 src/lib/err.h src/lib/util.h
src/vmm/evloop.h:
src/lib/err.h:
src/lib/util.h:
