build-x/rel/src/net/bridge.o: src/net/bridge.c src/lib/err.h \
 src/lib/util.h src/net/bridge.h src/net/netlink.h src/net/nft.h \
 src/vmm/registry.h
src/lib/err.h:
src/lib/util.h:
src/net/bridge.h:
src/net/netlink.h:
src/net/nft.h:
src/vmm/registry.h:
