build-x/rel/src/arch/x86/cpuid.o: src/arch/x86/cpuid.c \
 src/arch/x86/cpuid.h src/lib/err.h
src/arch/x86/cpuid.h:
src/lib/err.h:
