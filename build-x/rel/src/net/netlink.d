build-x/rel/src/net/netlink.o: src/net/netlink.c src/lib/err.h \
 src/net/netlink.h
src/lib/err.h:
src/net/netlink.h:
