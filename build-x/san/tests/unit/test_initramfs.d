build-x/san/tests/unit/test_initramfs.o: tests/unit/test_initramfs.c \
 src/boot/agent_blob.h src/boot/initramfs.h src/lib/err.h src/lib/util.h
src/boot/agent_blob.h:
src/boot/initramfs.h:
src/lib/err.h:
src/lib/util.h:
