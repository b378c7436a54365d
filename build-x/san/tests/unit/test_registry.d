build-x/san/tests/unit/test_registry.o: tests/unit/test_registry.c \
 src/lib/err.h src/vmm/registry.h
src/lib/err.h:
src/vmm/registry.h:
