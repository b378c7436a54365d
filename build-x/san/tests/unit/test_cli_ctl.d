build-x/san/tests/unit/test_cli_ctl.o: tests/unit/test_cli_ctl.c \
 src/api/agent_proto.h src/cli/cli.h src/vmm/config.h src/lib/ratelimit.h \
 src/lib/err.h src/lib/util.h
src/api/agent_proto.h:
src/cli/cli.h:
src/vmm/config.h:
src/lib/ratelimit.h:
src/lib/err.h:
src/lib/util.h:
