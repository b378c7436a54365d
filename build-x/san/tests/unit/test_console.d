build-x/san/tests/unit/test_console.o: tests/unit/test_console.c \
 src/devices/serial.h src/vmm/bus.h src/vmm/irq.h src/lib/util.h \
 src/vmm/console.h src/vmm/config.h src/lib/ratelimit.h src/vmm/evloop.h
src/devices/serial.h:
src/vmm/bus.h:
src/vmm/irq.h:
src/lib/util.h:
src/vmm/console.h:
src/vmm/config.h:
src/lib/ratelimit.h:
src/vmm/evloop.h:
