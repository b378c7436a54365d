build-x/san/tests/unit/test_elf.o: tests/unit/test_elf.c \
 src/arch/x86/e820.h src/vmm/mem.h src/arch/x86/layout.h \
 src/boot/bzimage.h src/boot/elf.h src/boot/loader.h src/boot/kernel.h \
 src/lib/util.h src/lib/err.h
src/arch/x86/e820.h:
src/vmm/mem.h:
src/arch/x86/layout.h:
src/boot/bzimage.h:
src/boot/elf.h:
src/boot/loader.h:
src/boot/kernel.h:
src/lib/util.h:
src/lib/err.h:
