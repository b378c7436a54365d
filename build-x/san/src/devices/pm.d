build-x/san/src/devices/pm.o: src/devices/pm.c src/arch/x86/layout.h \
 src/lib/err.h src/lib/log.h src/devices/pm.h src/vmm/bus.h src/vmm/irq.h
src/arch/x86/layout.h:
src/lib/err.h:
src/lib/log.h:
src/devices/pm.h:
src/vmm/bus.h:
src/vmm/irq.h:
