build-x/san/src/vmm/storage.o: src/vmm/storage.c src/block/disk.h \
 src/lib/err.h src/lib/log.h src/lib/util.h src/vmm/storage.h \
 src/boot/initramfs.h src/vmm/config.h src/lib/ratelimit.h
src/block/disk.h:
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
src/vmm/storage.h:
src/boot/initramfs.h:
src/vmm/config.h:
src/lib/ratelimit.h:
