/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applying nftables rules with the standard `nft` tool (Debian nftables):
 * the script goes to `nft -f -` on its standard input, in the caller's
 * network namespace.  A missing nft says "install nftables"; a failure
 * returns nft's first error line.  Scripts are written to be idempotent
 * (add table; flush table; rules), so applying one twice is harmless.
 */
#ifndef CLONE_NET_NFT_H
#define CLONE_NET_NFT_H

/* 0 or -errno with the message set. */
int nft_apply(const char *script);
/* Delete table `family name` if it exists; 0 or -errno. */
int nft_delete_table(const char *family, const char *name);
/* 1 if table `family name` exists, 0 if not, -errno (message set) when nft fails. */
int nft_table_exists(const char *family, const char *name);

#endif
