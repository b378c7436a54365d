build-x/san/src/boot/initramfs.o: src/boot/initramfs.c \
 src/boot/agent_blob.h src/arch/x86/layout.h src/boot/cpio.h \
 src/lib/util.h src/boot/elf.h src/boot/loader.h src/arch/x86/e820.h \
 src/vmm/mem.h src/boot/initramfs.h src/lib/err.h src/boot/modules.h
src/boot/agent_blob.h:
src/arch/x86/layout.h:
src/boot/cpio.h:
src/lib/util.h:
src/boot/elf.h:
src/boot/loader.h:
src/arch/x86/e820.h:
src/vmm/mem.h:
src/boot/initramfs.h:
src/lib/err.h:
src/boot/modules.h:
