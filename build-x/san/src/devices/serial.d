build-x/san/src/devices/serial.o: src/devices/serial.c src/lib/err.h \
 src/lib/log.h src/lib/util.h src/devices/serial.h src/vmm/bus.h \
 src/vmm/irq.h
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
src/devices/serial.h:
src/vmm/bus.h:
src/vmm/irq.h:
