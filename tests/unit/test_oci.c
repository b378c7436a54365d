// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: OCI index/manifest parsing and unpacking a layout built here
 * (rootfs/oci.c); the distro helpers of rootfs/rootfs.c.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "rootfs/oci.h"
#include "rootfs/rootfs.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

Test(oci, index_picks_one_manifest)
{
	const char *one = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
			  "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D1
			  "\",\"size\":7}]}";
	const char *two = "{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1,\"platform\":{\"os\":"
			  "\"linux\",\"architecture\":\"arm64\"},\"annotations\":{\"org."
			  "opencontainers.image.ref.name\":\"arm\"}},{\"digest\":\"" D2
			  "\",\"size\":2,\"platform\":{\"os\":\"linux\",\"architecture\":"
			  "\"amd64\"}}]}";
	struct oci_desc d;

	cr_assert_eq(oci_parse_index(one, strlen(one), NULL, &d), 0, "%s", err_msg());
	cr_assert_eq(d.size, 7);
	cr_assert_eq(d.hex[0], '1');
	cr_assert_eq(oci_parse_index(two, strlen(two), NULL, &d), 0, "%s", err_msg());
	cr_assert_eq(d.hex[0], '2', "linux/amd64 chosen");
	cr_assert_eq(oci_parse_index(two, strlen(two), "arm", &d), 0);
	cr_assert_eq(d.hex[0], '1');
	cr_assert_eq(oci_parse_index(two, strlen(two), "nope", &d), -ENOENT);
	cr_assert_eq(oci_parse_index("{}", 2, NULL, &d), -EINVAL);
	cr_assert_eq(oci_parse_index("[1]", 3, NULL, &d), -EINVAL);
	cr_assert_eq(oci_parse_index("{\"manifests\":[{\"digest\":\"md5:00\",\"size\":1}]}", 46,
				     NULL, &d),
		     -EINVAL);
}

Test(oci, manifest_layers)
{
	const char *m =
		"{\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
		"\"digest\":\"" D1 "\",\"size\":10},{\"mediaType\":\"application/vnd.docker."
		"image.rootfs.diff.tar.gzip\",\"digest\":\"" D2 "\",\"size\":20}]}";
	const char *enc = "{\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+"
			  "gzip+encrypted\",\"digest\":\"" D1 "\",\"size\":10}]}";
	struct oci_manifest *man = malloc(sizeof(*man));

	cr_assert_eq(oci_parse_manifest(m, strlen(m), man), 0, "%s", err_msg());
	cr_assert_eq(man->nr_layers, 2);
	cr_assert_eq(man->layers[1].size, 20);
	cr_assert_eq(oci_parse_manifest(enc, strlen(enc), man), -EINVAL);
	cr_assert(strstr(err_msg(), "not a tar layer"), "%s", err_msg());
	cr_assert_eq(oci_parse_manifest("{\"layers\":3}", 12, man), -EINVAL);
	free(man);
}

/* ---- a layout on disk ---- */

static char dir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/clone-oci-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Store file as a blob; its digest's hex into hex, its size returned. */
static long blob(const char *file, char hex[65])
{
	struct sha256_ctx c;
	uint8_t buf[4096], d[32];
	char path[512];
	FILE *f = fopen(file, "rb"), *o;
	size_t n;
	long size = 0;

	cr_assert_not_null(f, "%s", file);
	sha256_init(&c);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		sha256_update(&c, n, buf);
		size += (long)n;
	}
	sha256_digest(&c, 32, d);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
	snprintf(path, sizeof(path), "%s/layout/blobs/sha256/%s", dir, hex);
	rewind(f);
	o = fopen(path, "wb");
	cr_assert_not_null(o, "%s", path);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, o);
	fclose(o);
	fclose(f);
	return size;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void make_layout(char l1[65], char l2[65])
{
	char cmd[1024], path[512], hex[65], json[2048];
	long s1, s2, sm;

	snprintf(
		cmd, sizeof(cmd),
		"cd %s && mkdir -p layout/blobs/sha256 one/etc two/etc && echo base > one/etc/a && "
		"echo gone > one/etc/b && echo top > two/etc/c && touch two/etc/.wh.b && "
		"tar -C one -czf l1.tgz . && tar -C two -cf l2.tar .",
		dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/l1.tgz", dir);
	s1 = blob(path, l1);
	snprintf(path, sizeof(path), "%s/l2.tar", dir);
	s2 = blob(path, l2);
	snprintf(
		json, sizeof(json),
		"{\"schemaVersion\":2,\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer."
		"v1.tar+gzip\",\"digest\":\"sha256:%s\",\"size\":%ld},{\"mediaType\":\"application/"
		"vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:%s\",\"size\":%ld}]}",
		l1, s1, l2, s2);
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	put(path, json);
	sm = blob(path, hex);
	snprintf(json, sizeof(json),
		 "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image."
		 "manifest.v1+json\",\"digest\":\"sha256:%s\",\"size\":%ld}]}",
		 hex, sm);
	snprintf(path, sizeof(path), "%s/layout/index.json", dir);
	put(path, json);
	snprintf(path, sizeof(path), "%s/layout/oci-layout", dir);
	put(path, "{\"imageLayoutVersion\":\"1.0.0\"}");
}

static int unpack(void)
{
	char layout[128], root[128];
	int fd, ret;

	snprintf(layout, sizeof(layout), "%s/layout", dir);
	snprintf(root, sizeof(root), "%s/root", dir);
	mkdir(root, 0755);
	fd = open(root, O_PATH | O_DIRECTORY);
	ret = oci_unpack(layout, NULL, fd, NULL, NULL);
	close(fd);
	return ret;
}

Test(oci, layout_unpacks_with_whiteouts, .init = setup, .fini = teardown)
{
	char l1[65], l2[65], p[256];

	make_layout(l1, l2);
	cr_assert_eq(unpack(), 0, "%s", err_msg());
	snprintf(p, sizeof(p), "%s/root/etc/a", dir);
	cr_assert_eq(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/root/etc/c", dir);
	cr_assert_eq(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/root/etc/b", dir);
	cr_assert_neq(access(p, F_OK), 0, "the whiteout deleted etc/b");
	snprintf(p, sizeof(p), "%s/root/etc/.wh.b", dir);
	cr_assert_neq(access(p, F_OK), 0);
}

Test(oci, missing_or_damaged_blobs_are_refused, .init = setup, .fini = teardown)
{
	char l1[65], l2[65], p[256], cmd[512];

	make_layout(l1, l2);
	snprintf(p, sizeof(p), "%s/layout/blobs/sha256/%s", dir, l2);
	snprintf(cmd, sizeof(cmd), "printf X | dd of=%s bs=1 seek=600 conv=notrunc status=none", p);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(unpack(), -EBADMSG);
	cr_assert(strstr(err_msg(), "damaged"), "%s", err_msg());
	unlink(p);
	cr_assert_eq(unpack(), -ENOENT);
	cr_assert(strstr(err_msg(), "is missing"), "%s", err_msg());
	snprintf(p, sizeof(p), "%s/layout/index.json", dir);
	unlink(p);
	cr_assert_eq(unpack(), -ENOENT);
	cr_assert(strstr(err_msg(), "not an OCI image layout"), "%s", err_msg());
}

/* ---- rootfs helpers ---- */

Test(rootfs, releases)
{
	cr_assert_str_eq(rootfs_default_release("debian"), "bookworm");
	cr_assert_str_eq(rootfs_default_release("ubuntu"), "jammy");
	cr_assert_str_eq(rootfs_default_release("alpine"), "3.20");
	cr_assert_null(rootfs_default_release("gentoo"));
	cr_assert_eq(rootfs_check_release("debian", "trixie"), 0);
	cr_assert_eq(rootfs_check_release("debian", "buster2"), -EINVAL);
	cr_assert(strstr(err_msg(), "unknown debian release buster2"), "%s", err_msg());
	cr_assert_eq(rootfs_check_release("alpine", "3.19"), 0);
	cr_assert_eq(rootfs_check_release("alpine", "edge"), -EINVAL);
	cr_assert_eq(rootfs_check_release("arch", "x"), -EINVAL);
	cr_assert(strstr(err_msg(), "unknown distro arch"), "%s", err_msg());
}

Test(rootfs, debian_mirror_from_apt_sources, .init = setup, .fini = teardown)
{
	char d[128], list[128], p[256], buf[256];

	snprintf(d, sizeof(d), "%s/sources.list.d", dir);
	mkdir(d, 0755);
	snprintf(list, sizeof(list), "%s/sources.list", dir);
	rootfs_debian_mirror(d, list, buf, sizeof(buf));
	cr_assert_str_eq(buf, "http://deb.debian.org/debian");
	snprintf(p, sizeof(p), "%s/a.sources", d);
	put(p, "Types: deb\nURIs: http://mirror.example/debian-security\n\n"
	       "Types: deb\nURIs: https://mirror.example/debian/\nSuites: bookworm\n");
	rootfs_debian_mirror(d, list, buf, sizeof(buf));
	cr_assert_str_eq(buf, "https://mirror.example/debian");
	put(list, "# comment\ndeb [arch=amd64] http://old.example/debian bookworm main\n");
	rootfs_debian_mirror(d, list, buf, sizeof(buf));
	cr_assert_str_eq(buf, "http://old.example/debian");
}

Test(rootfs, alpine_latest_releases)
{
	const char *yaml = "---\n-\n  title: \"Netboot\"\n  flavor: alpine-netboot\n"
			   "  file: alpine-netboot-3.20.3-x86_64.tar.gz\n  sha256: "
			   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
			   "-\n  title: \"Mini root filesystem\"\n  flavor: alpine-minirootfs\n"
			   "  file: alpine-minirootfs-3.20.3-x86_64.tar.gz\n  sha256: "
			   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";
	char file[256], sha[65];

	cr_assert_eq(rootfs_alpine_release(yaml, file, sizeof(file), sha), 0, "%s", err_msg());
	cr_assert_str_eq(file, "alpine-minirootfs-3.20.3-x86_64.tar.gz");
	cr_assert_eq(sha[0], '0');
	cr_assert_eq(rootfs_alpine_release("---\n-\n  flavor: x\n", file, sizeof(file), sha),
		     -ENOENT);
	cr_assert_eq(
		rootfs_alpine_release("-\n  flavor: alpine-minirootfs\n  file: ../x\n  sha256: "
				      "0123456789abcdef0123456789abcdef0123456789abcdef012345"
				      "6789abcdef\n",
				      file, sizeof(file), sha),
		-EINVAL);
}
