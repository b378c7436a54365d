build-x/san/tests/unit/test_i8042.o: tests/unit/test_i8042.c \
 src/devices/boot_timer.h src/vmm/bus.h src/devices/i8042.h
src/devices/boot_timer.h:
src/vmm/bus.h:
src/devices/i8042.h:
