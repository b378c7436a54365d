build-x/san/src/boot/elf.o: src/boot/elf.c src/arch/x86/layout.h \
 src/boot/elf.h src/boot/loader.h src/arch/x86/e820.h src/vmm/mem.h \
 src/lib/err.h src/lib/util.h
src/arch/x86/layout.h:
src/boot/elf.h:
src/boot/loader.h:
src/arch/x86/e820.h:
src/vmm/mem.h:
src/lib/err.h:
src/lib/util.h:
