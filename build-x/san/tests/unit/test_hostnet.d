build-x/san/tests/unit/test_hostnet.o: tests/unit/test_hostnet.c \
 src/lib/err.h src/net/bridge.h src/net/netlink.h src/net/nft.h \
 src/net/tap.h
src/lib/err.h:
src/net/bridge.h:
src/net/netlink.h:
src/net/nft.h:
src/net/tap.h:
