build-x/san/tests/unit/test_mem.o: tests/unit/test_mem.c \
 src/arch/x86/e820.h src/vmm/mem.h src/arch/x86/layout.h src/lib/util.h
src/arch/x86/e820.h:
src/vmm/mem.h:
src/arch/x86/layout.h:
src/lib/util.h:
