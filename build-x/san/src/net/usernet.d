build-x/san/src/net/usernet.o: src/net/usernet.c src/lib/err.h \
 src/lib/log.h src/lib/util.h src/net/netlink.h src/net/nft.h \
 src/net/tap.h src/net/usernet.h
src/lib/err.h:
src/lib/log.h:
src/lib/util.h:
src/net/netlink.h:
src/net/nft.h:
src/net/tap.h:
src/net/usernet.h:
