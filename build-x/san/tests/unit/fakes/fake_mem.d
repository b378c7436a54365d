build-x/san/tests/unit/fakes/fake_mem.o: tests/unit/fakes/fake_mem.c \
 tests/unit/fakes/fake_mem.h src/vmm/mem.h
tests/unit/fakes/fake_mem.h:
src/vmm/mem.h:
