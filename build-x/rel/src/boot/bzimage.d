build-x/rel/src/boot/bzimage.o: src/boot/bzimage.c src/arch/x86/layout.h \
 src/boot/bzimage.h src/arch/x86/e820.h src/vmm/mem.h src/lib/err.h \
 src/lib/util.h
src/arch/x86/layout.h:
src/boot/bzimage.h:
src/arch/x86/e820.h:
src/vmm/mem.h:
src/lib/err.h:
src/lib/util.h:
