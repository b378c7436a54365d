build-x/rel/src/vmm/bus.o: src/vmm/bus.c src/vmm/bus.h src/lib/err.h
src/vmm/bus.h:
src/lib/err.h:
