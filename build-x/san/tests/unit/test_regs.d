build-x/san/tests/unit/test_regs.o: tests/unit/test_regs.c \
 src/arch/x86/layout.h src/arch/x86/regs.h src/vmm/mem.h src/lib/util.h
src/arch/x86/layout.h:
src/arch/x86/regs.h:
src/vmm/mem.h:
src/lib/util.h:
