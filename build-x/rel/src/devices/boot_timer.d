build-x/rel/src/devices/boot_timer.o: src/devices/boot_timer.c \
 src/devices/boot_timer.h src/vmm/bus.h src/lib/err.h src/lib/log.h
src/devices/boot_timer.h:
src/vmm/bus.h:
src/lib/err.h:
src/lib/log.h:
