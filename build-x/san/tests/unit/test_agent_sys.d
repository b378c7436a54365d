build-x/san/tests/unit/test_agent_sys.o: tests/unit/test_agent_sys.c \
 tests/unit/../../agent/dispatch.c tests/unit/../../agent/dispatch.h \
 src/api/agent_proto.h tests/unit/../../agent/sys.c \
 tests/unit/../../agent/sys.h
tests/unit/../../agent/dispatch.c:
tests/unit/../../agent/dispatch.h:
src/api/agent_proto.h:
tests/unit/../../agent/sys.c:
tests/unit/../../agent/sys.h:
