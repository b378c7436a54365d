build-x/san/src/net/nft.o: src/net/nft.c src/lib/err.h src/net/nft.h
src/lib/err.h:
src/net/nft.h:
