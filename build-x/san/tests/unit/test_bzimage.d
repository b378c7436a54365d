build-x/san/tests/unit/test_bzimage.o: tests/unit/test_bzimage.c \
 src/arch/x86/e820.h src/vmm/mem.h src/arch/x86/layout.h \
 src/boot/bzimage.h src/boot/kernel.h src/lib/util.h src/boot/loader.h \
 src/lib/err.h
src/arch/x86/e820.h:
src/vmm/mem.h:
src/arch/x86/layout.h:
src/boot/bzimage.h:
src/boot/kernel.h:
src/lib/util.h:
src/boot/loader.h:
src/lib/err.h:
