build-x/san/tests/unit/test_bus.o: tests/unit/test_bus.c src/vmm/bus.h
src/vmm/bus.h:
