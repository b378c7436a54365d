build-x/rel/src/boot/kernel.o: src/boot/kernel.c src/boot/bzimage.h \
 src/arch/x86/e820.h src/vmm/mem.h src/boot/elf.h src/boot/loader.h \
 src/boot/kernel.h src/lib/util.h src/lib/err.h
src/boot/bzimage.h:
src/arch/x86/e820.h:
src/vmm/mem.h:
src/boot/elf.h:
src/boot/loader.h:
src/boot/kernel.h:
src/lib/util.h:
src/lib/err.h:
