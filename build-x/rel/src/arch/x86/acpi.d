build-x/rel/src/arch/x86/acpi.o: src/arch/x86/acpi.c src/arch/x86/acpi.h \
 src/vmm/mem.h src/arch/x86/aml.h src/arch/x86/layout.h src/lib/err.h \
 src/lib/log.h src/lib/util.h
src/arch/x86/acpi.h:
src/vmm/mem.h:
src/arch/x86/aml.h:
src/arch/x86/layout.h:
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
