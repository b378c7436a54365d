build-x/san/tests/unit/test_rtc.o: tests/unit/test_rtc.c \
 src/devices/rtc.h src/vmm/bus.h
src/devices/rtc.h:
src/vmm/bus.h:
