build-x/rel/src/api/agent_proto.o: src/api/agent_proto.c \
 src/api/agent_proto.h
src/api/agent_proto.h:
