build-x/san/src/devices/rtc.o: src/devices/rtc.c src/lib/err.h \
 src/lib/log.h src/lib/util.h src/devices/rtc.h src/vmm/bus.h
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
src/devices/rtc.h:
src/vmm/bus.h:
