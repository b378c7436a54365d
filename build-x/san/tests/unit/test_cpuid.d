build-x/san/tests/unit/test_cpuid.o: tests/unit/test_cpuid.c \
 src/arch/x86/cpuid.h
src/arch/x86/cpuid.h:
