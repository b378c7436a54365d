build-x/rel/src/vmm/kvm.o: src/vmm/kvm.c src/arch/x86/cpuid.h \
 src/vmm/kvm.h src/lib/err.h src/lib/util.h
src/arch/x86/cpuid.h:
src/vmm/kvm.h:
src/lib/err.h:
src/lib/util.h:
