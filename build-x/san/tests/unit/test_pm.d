build-x/san/tests/unit/test_pm.o: tests/unit/test_pm.c \
 src/arch/x86/layout.h src/devices/pm.h src/vmm/bus.h src/vmm/irq.h
src/arch/x86/layout.h:
src/devices/pm.h:
src/vmm/bus.h:
src/vmm/irq.h:
