build-x/rel/src/arch/x86/e820.o: src/arch/x86/e820.c src/arch/x86/e820.h \
 src/vmm/mem.h src/arch/x86/layout.h src/lib/util.h
src/arch/x86/e820.h:
src/vmm/mem.h:
src/arch/x86/layout.h:
src/lib/util.h:
