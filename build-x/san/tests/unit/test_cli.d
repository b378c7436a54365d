build-x/san/tests/unit/test_cli.o: tests/unit/test_cli.c src/cli/cli.h \
 src/vmm/config.h src/lib/ratelimit.h src/lib/err.h src/lib/log.h
src/cli/cli.h:
src/vmm/config.h:
src/lib/ratelimit.h:
src/lib/err.h:
src/lib/log.h:
