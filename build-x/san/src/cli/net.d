build-x/san/src/cli/net.o: src/cli/net.c src/cli/cli.h src/vmm/config.h \
 src/lib/ratelimit.h src/lib/err.h src/net/bridge.h src/net/netlink.h \
 src/net/nft.h
src/cli/cli.h:
src/vmm/config.h:
src/lib/ratelimit.h:
src/lib/err.h:
src/net/bridge.h:
src/net/netlink.h:
src/net/nft.h:
