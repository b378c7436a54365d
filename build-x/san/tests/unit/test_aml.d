build-x/san/tests/unit/test_aml.o: tests/unit/test_aml.c \
 src/arch/x86/aml.h src/lib/err.h
src/arch/x86/aml.h:
src/lib/err.h:
