build-x/rel/src/api/agent.o: src/api/agent.c src/api/agent.h \
 src/api/agent_proto.h src/lib/err.h src/lib/log.h src/lib/util.h \
 src/vmm/evloop.h
src/api/agent.h:
src/api/agent_proto.h:
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
src/vmm/evloop.h:
