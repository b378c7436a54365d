build-x/san/src/net/tap.o: src/net/tap.c src/lib/err.h src/net/netlink.h \
 src/net/tap.h
src/lib/err.h:
src/net/netlink.h:
src/net/tap.h:
