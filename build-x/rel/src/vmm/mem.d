build-x/rel/src/vmm/mem.o: src/vmm/mem.c src/arch/x86/layout.h \
 src/lib/err.h src/lib/util.h src/vmm/mem.h
src/arch/x86/layout.h:
src/lib/err.h:
src/lib/util.h:
src/vmm/mem.h:
