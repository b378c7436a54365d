build-x/san/src/arch/x86/aml.o: src/arch/x86/aml.c src/arch/x86/aml.h \
 src/lib/err.h
src/arch/x86/aml.h:
src/lib/err.h:
