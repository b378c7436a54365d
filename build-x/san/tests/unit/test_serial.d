build-x/san/tests/unit/test_serial.o: tests/unit/test_serial.c \
 src/devices/serial.h src/vmm/bus.h src/vmm/irq.h
src/devices/serial.h:
src/vmm/bus.h:
src/vmm/irq.h:
