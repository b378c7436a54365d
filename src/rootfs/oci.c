// SPDX-License-Identifier: Apache-2.0
/*
 * OCI layouts (see oci.h): index.json → manifest → layers, with jansson for
 * the JSON and nettle for the digests.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/zstream.h"
#include "oci.h"
#include "tar.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

static int parse_digest(const char *d, char hex[65])
{
	if (!d || strncmp(d, "sha256:", 7) || strlen(d + 7) != 64)
		return -EINVAL;
	for (unsigned i = 0; i < 64; i++) {
		char c = d[7 + i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -EINVAL;
	}
	memcpy(hex, d + 7, 65);
	return 0;
}

static int parse_desc(json_t *j, struct oci_desc *d)
{
	json_t *plat = json_object_get(j, "platform");
	const char *mt = json_string_value(json_object_get(j, "mediaType"));
	const char *ref = json_string_value(json_object_get(json_object_get(j, "annotations"),
							    "org.opencontainers.image.ref.name"));
	json_t *size = json_object_get(j, "size");

	memset(d, 0, sizeof(*d));
	if (!json_is_object(j) ||
	    parse_digest(json_string_value(json_object_get(j, "digest")), d->hex))
		return err_setx(-EINVAL, "a descriptor without a sha256 digest");
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return err_setx(-EINVAL, "descriptor sha256:%.12s has no size", d->hex);
	d->size = (uint64_t)json_integer_value(size);
	snprintf(d->media_type, sizeof(d->media_type), "%s", mt ? mt : "");
	snprintf(d->ref, sizeof(d->ref), "%s", ref ? ref : "");
	if (json_is_object(plat))
		snprintf(d->platform, sizeof(d->platform), "%s/%s",
			 json_string_value(json_object_get(plat, "os")) ?: "",
			 json_string_value(json_object_get(plat, "architecture")) ?: "");
	d->is_index = mt && (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST));
	return 0;
}

static json_t *load(const char *json, size_t len, const char *what)
{
	json_error_t e;
	json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &e);

	if (!j)
		err_setx(-EINVAL, "%s is not valid JSON (line %d: %s)", what, e.line, e.text);
	else if (!json_is_object(j)) {
		json_decref(j);
		j = NULL;
		err_setx(-EINVAL, "%s is not a JSON object", what);
	}
	return j;
}

int oci_parse_index(const char *json, size_t len, const char *ref, struct oci_desc *out)
{
	json_t *j = load(json, len, "index.json"), *ms, *m;
	struct oci_desc d;
	int found = 0, ret = 0;
	size_t i;

	if (!j)
		return -EINVAL;
	ms = json_object_get(j, "manifests");
	if (!json_is_array(ms) || !json_array_size(ms)) {
		json_decref(j);
		return err_setx(-EINVAL, "index.json lists no manifests");
	}
	json_array_foreach(ms, i, m)
	{
		ret = parse_desc(m, &d);
		if (ret)
			break;
		if (ref ? !strcmp(d.ref, ref)
			: json_array_size(ms) == 1 || !strcmp(d.platform, "linux/amd64")) {
			*out = d;
			found++;
		}
	}
	json_decref(j);
	if (ret)
		return err_setx(ret, "index.json: %s", err_msg());
	if (found == 1)
		return 0;
	if (ref)
		return err_setx(-ENOENT, "index.json has %s image named %s",
				found ? "more than one" : "no", ref);
	return err_setx(-ENOENT, "index.json lists several images and %s for linux/amd64: name one",
			found ? "more than one" : "none");
}

int oci_parse_manifest(const char *json, size_t len, struct oci_manifest *m)
{
	json_t *j = load(json, len, "the image manifest"), *ls, *l;
	size_t i;
	int ret = 0;

	memset(m, 0, sizeof(*m));
	if (!j)
		return -EINVAL;
	ls = json_object_get(j, "layers");
	if (!json_is_array(ls)) {
		json_decref(j);
		return err_setx(-EINVAL, "the image manifest has no layers");
	}
	if (json_array_size(ls) > OCI_MAX_LAYERS) {
		json_decref(j);
		return err_setx(-EINVAL, "the image has %zu layers: at most %u",
				json_array_size(ls), OCI_MAX_LAYERS);
	}
	json_array_foreach(ls, i, l)
	{
		struct oci_desc *d = &m->layers[i];

		ret = parse_desc(l, d);
		if (ret)
			break;
		/* tar, tar+gzip, tar+zstd (OCI and Docker names); not encrypted or foreign ones. */
		if (!strstr(d->media_type, "tar") || strstr(d->media_type, "encrypted") ||
		    strstr(d->media_type, "foreign") || strstr(d->media_type, "nondistributable")) {
			ret = err_setx(-EINVAL,
				       "layer %zu has media type %s, which is not a tar layer",
				       i + 1, d->media_type[0] ? d->media_type : "(none)");
			break;
		}
		m->nr_layers++;
	}
	json_decref(j);
	return ret;
}

/* ---- blobs ---- */

static int open_blob(int dirfd, const struct oci_desc *d, int *fd_out)
{
	char path[80];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "blobs/sha256/%s", d->hex);
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(-errno, "blob sha256:%s is missing", d->hex);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != d->size) {
		close(fd);
		return err_setx(-EBADMSG, "blob sha256:%s has %lld bytes, its descriptor says %llu",
				d->hex, (long long)st.st_size, (unsigned long long)d->size);
	}
	*fd_out = fd;
	return 0;
}

/* Check fd's contents against the digest; the fd is rewound. */
static int check_blob(int fd, const struct oci_desc *d)
{
	static const char hexd[] = "0123456789abcdef";
	struct sha256_ctx c;
	uint8_t buf[1 << 16], dig[SHA256_DIGEST_SIZE];
	char got[65];
	ssize_t n;

	sha256_init(&c);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sha256_update(&c, (size_t)n, buf);
	if (n < 0)
		return err_set(-errno, "read blob sha256:%s", d->hex);
	sha256_digest(&c, sizeof(dig), dig);
	for (unsigned i = 0; i < sizeof(dig); i++) {
		got[2 * i] = hexd[dig[i] >> 4];
		got[2 * i + 1] = hexd[dig[i] & 15];
	}
	got[64] = '\0';
	if (strcmp(got, d->hex))
		return err_setx(-EBADMSG, "blob sha256:%s is damaged: its contents hash to %s",
				d->hex, got);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return err_set(-errno, "rewind blob");
	return 0;
}

static int read_blob(int dirfd, const struct oci_desc *d, char **out)
{
	char *buf;
	int fd = -1, ret;

	if (d->size > OCI_JSON_MAX)
		return err_setx(-EFBIG, "blob sha256:%s: %llu bytes of JSON", d->hex,
				(unsigned long long)d->size);
	ret = open_blob(dirfd, d, &fd);
	if (!ret)
		ret = check_blob(fd, d);
	if (ret) {
		if (fd >= 0)
			close(fd);
		return ret;
	}
	buf = malloc((size_t)d->size + 1);
	if (!buf) {
		close(fd);
		return err_set(-ENOMEM, "blob");
	}
	if (read(fd, buf, (size_t)d->size) != (ssize_t)d->size) {
		free(buf);
		close(fd);
		return err_setx(-EIO, "short read of blob sha256:%s", d->hex);
	}
	close(fd);
	buf[d->size] = '\0';
	*out = buf;
	return 0;
}

struct layer_progress {
	oci_progress_fn fn;
	void *opaque;
	unsigned layer, nr;
	uint64_t total;
};

static void on_tar_progress(void *opaque, uint64_t consumed)
{
	struct layer_progress *p = opaque;

	if (p->fn)
		p->fn(p->opaque, p->layer, p->nr, consumed, p->total);
}

static int apply_layer(int dirfd, const struct oci_desc *d, int rootfd, struct layer_progress *p)
{
	char what[96];
	struct zstream *z;
	int fd = -1, ret;

	snprintf(what, sizeof(what), "layer sha256:%.12s", d->hex);
	ret = open_blob(dirfd, d, &fd);
	if (ret)
		return ret;
	ret = check_blob(fd, d);
	/* Whiteouts first: they hide what the layers below put there. */
	if (!ret)
		ret = zs_open(fd, what, &z);
	if (!ret) {
		ret = tar_apply_whiteouts(z, what, rootfd, NULL);
		zs_close(z);
	}
	if (!ret && lseek(fd, 0, SEEK_SET) < 0)
		ret = err_set(-errno, "rewind %s", what);
	if (!ret)
		ret = zs_open(fd, what, &z);
	if (!ret) {
		ret = tar_extract(z, what, rootfd, TAR_OCI, NULL, on_tar_progress, p);
		zs_close(z);
	}
	close(fd);
	return ret;
}

int oci_unpack(const char *layout, const char *ref, int rootfd, oci_progress_fn progress,
	       void *opaque)
{
	struct oci_manifest *m = NULL;
	struct oci_desc d;
	char *json = NULL;
	int dirfd, fd, ret;
	ssize_t n;

	dirfd = open(layout, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return err_set(-errno, "OCI layout %s", layout);
	fd = openat(dirfd, "index.json", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = err_set(-errno, "%s is not an OCI image layout (no index.json)", layout);
		goto out;
	}
	json = malloc(OCI_JSON_MAX + 1);
	n = json ? read(fd, json, OCI_JSON_MAX + 1) : -1;
	close(fd);
	if (n < 0 || n > (ssize_t)OCI_JSON_MAX) {
		ret = err_setx(-EINVAL, "%s/index.json cannot be read or is too large", layout);
		goto out;
	}
	ret = oci_parse_index(json, (size_t)n, ref, &d);
	/* An index may point at another index (multi-platform images): one level. */
	for (int depth = 0; !ret && d.is_index && depth < 2; depth++) {
		free(json);
		json = NULL;
		ret = read_blob(dirfd, &d, &json);
		if (!ret)
			ret = oci_parse_index(json, strlen(json), NULL, &d);
	}
	if (!ret && d.is_index)
		ret = err_setx(-EINVAL, "index.json nests image indexes too deeply");
	free(json);
	json = NULL;
	if (!ret)
		ret = read_blob(dirfd, &d, &json);
	m = malloc(sizeof(*m));
	if (!ret && !m)
		ret = err_set(-ENOMEM, "manifest");
	if (!ret)
		ret = oci_parse_manifest(json, strlen(json), m);
	for (unsigned i = 0; !ret && i < m->nr_layers; i++) {
		struct layer_progress p = { progress, opaque, i, m->nr_layers, m->layers[i].size };

		ret = apply_layer(dirfd, &m->layers[i], rootfd, &p);
	}
out:
	free(m);
	free(json);
	close(dirfd);
	return ret;
}
