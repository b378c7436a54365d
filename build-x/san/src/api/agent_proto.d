build-x/san/src/api/agent_proto.o: src/api/agent_proto.c \
 src/api/agent_proto.h
src/api/agent_proto.h:
