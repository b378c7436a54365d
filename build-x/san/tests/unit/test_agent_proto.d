build-x/san/tests/unit/test_agent_proto.o: tests/unit/test_agent_proto.c \
 src/api/agent_proto.h
src/api/agent_proto.h:
