build-x/san/src/vmm/irq.o: src/vmm/irq.c src/vmm/irq.h src/lib/err.h
src/vmm/irq.h:
src/lib/err.h:
