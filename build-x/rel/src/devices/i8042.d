build-x/rel/src/devices/i8042.o: src/devices/i8042.c src/devices/i8042.h \
 src/vmm/bus.h src/lib/err.h src/lib/log.h
src/devices/i8042.h:
src/vmm/bus.h:
src/lib/err.h:
src/lib/log.h:
