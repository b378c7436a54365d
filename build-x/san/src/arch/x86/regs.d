build-x/san/src/arch/x86/regs.o: src/arch/x86/regs.c \
 src/arch/x86/layout.h src/lib/err.h src/lib/log.h src/lib/util.h \
 src/arch/x86/regs.h src/vmm/mem.h
src/arch/x86/layout.h:
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
src/arch/x86/regs.h:
src/vmm/mem.h:
