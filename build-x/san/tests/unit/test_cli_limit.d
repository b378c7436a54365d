build-x/san/tests/unit/test_cli_limit.o: tests/unit/test_cli_limit.c \
 src/cli/cli.h src/vmm/config.h src/lib/ratelimit.h src/lib/err.h
src/cli/cli.h:
src/vmm/config.h:
src/lib/ratelimit.h:
src/lib/err.h:
