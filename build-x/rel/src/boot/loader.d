build-x/rel/src/boot/loader.o: src/boot/loader.c src/arch/x86/layout.h \
 src/boot/bzimage.h src/arch/x86/e820.h src/vmm/mem.h src/boot/elf.h \
 src/boot/loader.h src/lib/err.h src/lib/util.h src/boot/loader.h
src/arch/x86/layout.h:
src/boot/bzimage.h:
src/arch/x86/e820.h:
src/vmm/mem.h:
src/boot/elf.h:
src/boot/loader.h:
src/lib/err.h:
src/lib/util.h:
src/boot/loader.h:
