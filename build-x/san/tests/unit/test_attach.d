build-x/san/tests/unit/test_attach.o: tests/unit/test_attach.c \
 src/cli/attach.h src/cli/cli.h src/vmm/config.h src/lib/ratelimit.h \
 src/lib/err.h
src/cli/attach.h:
src/cli/cli.h:
src/vmm/config.h:
src/lib/ratelimit.h:
src/lib/err.h:
