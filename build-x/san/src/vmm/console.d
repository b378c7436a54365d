build-x/san/src/vmm/console.o: src/vmm/console.c src/vmm/console.h \
 src/vmm/config.h src/lib/ratelimit.h src/devices/serial.h src/vmm/bus.h \
 src/vmm/irq.h src/vmm/evloop.h src/lib/err.h src/lib/log.h \
 src/lib/usock.h src/lib/util.h
src/vmm/console.h:
src/vmm/config.h:
src/lib/ratelimit.h:
src/devices/serial.h:
src/vmm/bus.h:
src/vmm/irq.h:
src/vmm/evloop.h:
src/lib/err.h:
src/lib/log.h:
src/lib/usock.h:
src/lib/util.h:
