build-x/san/tests/unit/test_acpi.o: tests/unit/test_acpi.c \
 src/arch/x86/acpi.h src/vmm/mem.h src/arch/x86/layout.h src/lib/err.h \
 src/lib/util.h
src/arch/x86/acpi.h:
src/vmm/mem.h:
src/arch/x86/layout.h:
src/lib/err.h:
src/lib/util.h:
