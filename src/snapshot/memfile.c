// SPDX-License-Identifier: Apache-2.0
/*
 * Guest RAM files (see memfile.h): sparse writing with a SHA-256 of the
 * logical contents, layers of dirty pages, the identity check and the
 * copy-on-write mapping of base and layers.
 */
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/util.h"
#include "memfile.h"

#define PAGE MEMFILE_PAGE
#define RUN_MAX (4u << 20) /* bytes per pwrite */

static const uint8_t zero_page[PAGE];

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;

	for (size_t i = 0; i < PAGE / 8; i += 4)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3])
			return false;
	return true;
}

static void identity_of(const struct stat *st, struct memfile_info *info)
{
	info->dev = st->st_dev;
	info->ino = st->st_ino;
	info->size = (uint64_t)st->st_size;
	info->allocated = (uint64_t)st->st_blocks * 512;
	info->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	info->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

static bool want(const uint64_t *dirty, uint64_t page)
{
	return !dirty || (dirty[page / 64] >> (page % 64)) & 1;
}

/*
 * The common writer: every page of the RAM goes into the digest; pages
 * selected by dirty (all when NULL) and not zero are written.  Runs of
 * selected pages become extents when ext is not NULL.
 */
static int write_file(const struct guest_mem *gm, const uint64_t *dirty, int dirfd,
		      const char *name, struct memfile_info *info, struct snap_extent **ext,
		      size_t *nr_ext)
{
	uint64_t pages = gm->ram_size / PAGE, run_start = 0, run_len = 0;
	struct snap_extent *ev = NULL;
	size_t nev = 0, cap = 0;
	struct sha256_ctx h;
	char tmp[128];
	struct stat st;
	int fd, ret = 0;

	if (strlen(name) >= sizeof(info->name))
		return err_setx(-ENAMETOOLONG, "memory file name %s", name);
	snprintf(tmp, sizeof(tmp), ".%s.tmp-%d", name, (int)getpid());
	fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(-errno, "creating memory file %s", name);
	if (ftruncate(fd, (off_t)gm->ram_size) < 0) {
		ret = err_set(-errno, "sizing memory file %s", name);
		goto out;
	}
	sha256_init(&h);
	for (uint64_t p = 0; p <= pages; p++) {
		const uint8_t *src = p < pages ? gm->map + p * PAGE : NULL;
		bool sel = src && want(dirty, p);
		bool data = sel && !page_is_zero(src);

		if (src)
			sha256_update(&h, PAGE, src);
		/* Extents: runs of selected pages. */
		if (ext && sel && nev && ev[nev - 1].page + ev[nev - 1].count == p) {
			ev[nev - 1].count++;
		} else if (ext && sel) {
			if (nev == cap) {
				struct snap_extent *n;

				cap = cap ? 2 * cap : 256;
				n = realloc(ev, cap * sizeof(*n));
				if (!n) {
					ret = err_set(-ENOMEM, "extent list");
					goto out;
				}
				ev = n;
			}
			ev[nev++] = (struct snap_extent){ .page = p, .count = 1 };
		}
		/* Data: runs of non-zero selected pages, one pwrite each. */
		if (data && run_len && run_start + run_len == p && run_len * PAGE < RUN_MAX) {
			run_len++;
			continue;
		}
		if (run_len) {
			const uint8_t *from = gm->map + run_start * PAGE;
			size_t n = run_len * PAGE;

			if (pwrite(fd, from, n, (off_t)(run_start * PAGE)) != (ssize_t)n) {
				ret = err_set(errno ? -errno : -EIO, "writing memory file %s",
					      name);
				goto out;
			}
			run_len = 0;
		}
		if (data) {
			run_start = p;
			run_len = 1;
		}
	}
	sha256_digest(&h, sizeof(info->sha256), info->sha256);
	if (fsync(fd) < 0) {
		ret = err_set(-errno, "fsync of memory file %s", name);
		goto out;
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		ret = err_set(-errno, "renaming memory file %s", name);
		goto out;
	}
	/* The identity after the rename (rename updates ctime on some file systems). */
	if (fstat(fd, &st) < 0) {
		ret = err_set(-errno, "memory file %s", name);
		unlinkat(dirfd, name, 0);
		goto out;
	}
	snprintf(info->name, sizeof(info->name), "%s", name);
	identity_of(&st, info);
	if (ext) {
		*ext = ev;
		*nr_ext = nev;
		ev = NULL;
	}
out:
	close(fd);
	if (ret)
		unlinkat(dirfd, tmp, 0);
	free(ev);
	return ret;
}

int memfile_write_full(const struct guest_mem *gm, int dirfd, const char *name,
		       struct memfile_info *info)
{
	return write_file(gm, NULL, dirfd, name, info, NULL, NULL);
}

int memfile_write_layer(const struct guest_mem *gm, const uint64_t *dirty, int dirfd,
			const char *name, struct memfile_info *info, struct snap_extent **ext,
			size_t *nr_ext)
{
	*ext = NULL;
	*nr_ext = 0;
	return write_file(gm, dirty, dirfd, name, info, ext, nr_ext);
}

/* SHA-256 of the file's logical contents (holes as zeroes). */
static int hash_file(int fd, uint64_t size, uint8_t out[32], const char *name)
{
	uint8_t *buf = malloc(RUN_MAX);
	struct sha256_ctx h;
	uint64_t pos = 0;
	int ret = 0;

	if (!buf)
		return err_set(-ENOMEM, "hashing %s", name);
	sha256_init(&h);
	while (pos < size) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA);
		uint64_t d = data < 0 ? size : (uint64_t)data;

		while (pos < d) {
			size_t n = (size_t)MIN((uint64_t)PAGE, d - pos);

			sha256_update(&h, n, zero_page);
			pos += n;
		}
		if (pos >= size)
			break;
		{
			off_t hole = lseek(fd, (off_t)pos, SEEK_HOLE);
			uint64_t e = hole < 0 ? size : MIN((uint64_t)hole, size);

			while (pos < e) {
				size_t n = (size_t)MIN((uint64_t)RUN_MAX, e - pos);
				ssize_t got = pread(fd, buf, n, (off_t)pos);

				if (got <= 0) {
					ret = err_set(got < 0 ? -errno : -EIO, "reading %s", name);
					goto out;
				}
				sha256_update(&h, (size_t)got, buf);
				pos += (uint64_t)got;
			}
		}
	}
	sha256_digest(&h, 32, out);
out:
	free(buf);
	return ret;
}

int memfile_check(int dirfd, const struct memfile_info *info, bool *hashed)
{
	struct memfile_info now;
	uint8_t digest[32];
	struct stat st;
	int fd, ret;

	if (hashed)
		*hashed = false;
	fd = openat(dirfd, info->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? err_setx(-ENOENT, "memory file %s is missing", info->name)
				       : err_set(-errno, "memory file %s", info->name);
	if (fstat(fd, &st) < 0) {
		ret = err_set(-errno, "memory file %s", info->name);
		goto out;
	}
	if ((uint64_t)st.st_size != info->size) {
		ret = err_setx(-EINVAL,
			       "memory file %s is truncated or was extended (%lld bytes, "
			       "expected %llu)",
			       info->name, (long long)st.st_size, (unsigned long long)info->size);
		goto out;
	}
	identity_of(&st, &now);
	ret = 0;
	if (now.dev == info->dev && now.ino == info->ino && now.mtime_ns == info->mtime_ns &&
	    now.ctime_ns == info->ctime_ns)
		goto out;
	if (hashed)
		*hashed = true;
	ret = hash_file(fd, info->size, digest, info->name);
	if (!ret && memcmp(digest, info->sha256, sizeof(digest)))
		ret = err_setx(-EINVAL,
			       "memory file %s was modified since the snapshot (checksum mismatch)",
			       info->name);
out:
	close(fd);
	return ret;
}

int memfile_check_extents(const struct snap_extent *ext, size_t nr, uint64_t ram_size)
{
	uint64_t pages = ram_size / PAGE, next = 0;

	for (size_t i = 0; i < nr; i++) {
		if (!ext[i].count || ext[i].page < next || ext[i].page > pages ||
		    ext[i].count > pages - ext[i].page)
			return err_setx(-EINVAL,
					"layer extent %zu [%llu, +%llu) is out of order or "
					"outside the RAM",
					i, (unsigned long long)ext[i].page,
					(unsigned long long)ext[i].count);
		next = ext[i].page + ext[i].count;
	}
	return 0;
}

static int check_size(int fd, uint64_t size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return err_set(-errno, "memory file");
	if ((uint64_t)st.st_size != size)
		return err_setx(-EINVAL, "memory file is truncated (%lld bytes, expected %llu)",
				(long long)st.st_size, (unsigned long long)size);
	return 0;
}

int memfile_map(struct guest_mem *gm, const struct memfile_layer *layers, unsigned nr)
{
	const int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE;
	int ret;

	if (!nr)
		return err_setx(-EINVAL, "no memory file to map");
	ret = check_size(layers[0].fd, gm->ram_size);
	if (ret)
		return ret;
	if (mmap(gm->map, gm->ram_size, prot, flags, layers[0].fd, 0) == MAP_FAILED)
		return err_set(-errno, "mapping the memory file");
	for (unsigned l = 1; l < nr; l++) {
		const struct memfile_layer *ly = &layers[l];

		ret = check_size(ly->fd, gm->ram_size);
		if (!ret)
			ret = memfile_check_extents(ly->ext, ly->nr_ext, gm->ram_size);
		if (ret)
			return ret;
		for (size_t i = 0; i < ly->nr_ext; i++) {
			uint64_t off = ly->ext[i].page * PAGE, len = ly->ext[i].count * PAGE;

			if (ly->nr_ext <= MEMFILE_MAX_MAPS) {
				if (mmap(gm->map + off, len, prot, flags, ly->fd, (off_t)off) ==
				    MAP_FAILED)
					return err_set(-errno, "mapping memory layer %u", l);
			} else if (pread(ly->fd, gm->map + off, len, (off_t)off) != (ssize_t)len) {
				return err_set(errno ? -errno : -EIO, "reading memory layer %u", l);
			}
		}
	}
	return 0;
}
