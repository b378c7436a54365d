// SPDX-License-Identifier: Apache-2.0
/*
 * Opening the VM's disks (see storage.h), including making qcow2 overlays:
 * a new overlay is a qcow2 image holding an ext4 file system that
 * mkfs.ext4 (e2fsprogs) makes in a sparse temporary raw file under $TMPDIR;
 * only the non-zero blocks mkfs wrote are copied into the qcow2 (a few MiB
 * for a 16 GiB overlay).  Main thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "block/disk.h"
#include "lib/err.h"
#define LOG_TAG "storage"
#include "lib/log.h"
#include "lib/util.h"
#include "snapshot/template.h"
#include "storage.h"
#include "virtio/virtio.h"

#define COPY_CHUNK (1u << 20)
#define ZERO_GRAIN (64u << 10) /* the qcow2 cluster size Clone creates */

static bool is_zero(const uint8_t *p, size_t len)
{
	return len == 0 || (p[0] == 0 && !memcmp(p, p + 1, len - 1));
}

static void add_disk(struct storage *s, struct disk *d, bool ro, const char *serial)
{
	struct storage_disk *sd = &s->disks[s->nr++];

	sd->disk = d;
	sd->ro = ro;
	snprintf(sd->serial, sizeof(sd->serial), "%s", serial);
}

static enum disk_format to_disk_format(enum config_disk_format f)
{
	return f == CONFIG_FMT_RAW     ? DISK_FMT_RAW
	       : f == CONFIG_FMT_QCOW2 ? DISK_FMT_QCOW2
				       : DISK_FMT_AUTO;
}

int storage_data_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	int n;

	if (xdg && *xdg == '/')
		n = snprintf(buf, len, "%s/clone", xdg);
	else if (home && *home == '/')
		n = snprintf(buf, len, "%s/.local/share/clone", home);
	else
		return err_setx(-ENOENT, "no data directory: set HOME or XDG_DATA_HOME");
	if (n < 0 || (size_t)n >= len)
		return err_setx(-ENAMETOOLONG, "data directory path too long");
	return 0;
}

static int run_mkfs(const char *image)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
	char prog[64] = "";
	int status;
	pid_t pid;

	for (size_t i = 0; i < ARRAY_SIZE(dirs) && !*prog; i++) {
		snprintf(prog, sizeof(prog), "%s/mkfs.ext4", dirs[i]);
		if (access(prog, X_OK))
			*prog = '\0';
	}
	if (!*prog)
		return err_setx(-ENOENT, "mkfs.ext4 not found (install e2fsprogs): needed to "
					 "format a new overlay");
	pid = fork();
	if (pid < 0)
		return err_set(-errno, "fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		execl(prog, prog, "-q", "-F", "-L", "clone-overlay", "-E",
		      "lazy_itable_init=1,lazy_journal_init=1,nodiscard", image, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err_set(-errno, "waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return err_setx(-EIO, "%s failed (status 0x%x) formatting the overlay", prog,
				status);
	return 0;
}

/* Copy the data extents of the raw file fd (size bytes) into d. */
static int copy_extents(int fd, uint64_t size, struct disk *d)
{
	uint8_t *buf = malloc(COPY_CHUNK);
	off_t pos = 0;
	int ret = 0;

	if (!buf)
		return err_set(-ENOMEM, "overlay copy buffer");
	while (!ret && (uint64_t)pos < size) {
		off_t data = lseek(fd, pos, SEEK_DATA), hole;

		if (data < 0) {
			if (errno != ENXIO)
				ret = err_set(-errno, "SEEK_DATA");
			break;
		}
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0) {
			ret = err_set(-errno, "SEEK_HOLE");
			break;
		}
		for (pos = data; !ret && pos < hole;) {
			size_t n = (size_t)MIN((off_t)COPY_CHUNK, hole - pos);
			ssize_t got = pread(fd, buf, n, pos);

			if (got <= 0) {
				ret = got < 0 ? err_set(-errno, "read")
					      : err_setx(-EIO, "short read");
				break;
			}
			/* File systems without SEEK_HOLE report holes as data: skip zeroes. */
			for (size_t o = 0; !ret && o < (size_t)got; o += ZERO_GRAIN) {
				size_t l = MIN((size_t)ZERO_GRAIN, (size_t)got - o);

				if (!is_zero(buf + o, l))
					ret = disk_pwrite(d, buf + o, l, (uint64_t)pos + o);
			}
			pos += got;
		}
	}
	free(buf);
	return ret;
}

int storage_create_overlay(const char *path, uint64_t size)
{
	const char *tmpdir = getenv("TMPDIR");
	char tmp[PATH_MAX];
	struct disk *d = NULL;
	int fd = -1, ret;

	/* A sparse scratch file where holes are cheap to find (tmpfs or a local disk). */
	if (!tmpdir || *tmpdir != '/')
		tmpdir = "/tmp";
	if (snprintf(tmp, sizeof(tmp), "%s/clone-mkfs-XXXXXX", tmpdir) >= (int)sizeof(tmp))
		return err_setx(-ENAMETOOLONG, "%s: path too long", tmpdir);
	ret = qcow2_create(path, size, NULL, NULL);
	if (ret)
		return ret;
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = err_set(-errno, "temporary file %s", tmp);
		goto out;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		ret = err_set(-errno, "ftruncate %s", tmp);
		goto out;
	}
	ret = run_mkfs(tmp);
	if (!ret)
		ret = disk_open(path, DISK_FMT_QCOW2, 0, &d);
	if (!ret)
		ret = copy_extents(fd, size, d);
	if (!ret)
		ret = disk_flush(d);
out:
	if (d)
		disk_close(d);
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (ret)
		unlink(path);
	return ret;
}

static int open_overlay(const struct vm_config *cfg, struct storage *s)
{
	uint64_t size = cfg->overlay_size ? cfg->overlay_size : STORAGE_DEFAULT_OVERLAY_SIZE;
	char path[PATH_MAX], dir[PATH_MAX - 64];
	struct disk *d;
	struct stat st;
	int ret;

	if (cfg->overlay == OVERLAY_FILE) {
		if (stat(cfg->overlay_path, &st) < 0) {
			if (errno != ENOENT)
				return err_set(-errno, "overlay %s", cfg->overlay_path);
			log_info("creating overlay %s (%llu bytes)", cfg->overlay_path,
				 (unsigned long long)size);
			ret = storage_create_overlay(cfg->overlay_path, size);
			if (ret)
				return ret;
		}
		ret = disk_open(cfg->overlay_path, DISK_FMT_QCOW2, 0, &d);
		if (ret)
			return ret;
		add_disk(s, d, false, INITRAMFS_UPPER_SERIAL);
		return 0;
	}
	/* auto: a fresh overlay under the data directory, unlinked once open. */
	ret = storage_data_dir(dir, sizeof(dir));
	if (!ret) {
		strncat(dir, "/overlays", sizeof(dir) - strlen(dir) - 1);
		ret = mkdir_p(dir);
	}
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/auto-%d-%llx.qcow2", dir, (int)getpid(),
		 (unsigned long long)monotonic_ns());
	ret = storage_create_overlay(path, size);
	if (ret)
		return ret;
	ret = disk_open(path, DISK_FMT_QCOW2, 0, &d);
	unlink(path); /* the open file lives on until the VM ends, even after SIGKILL */
	if (ret)
		return ret;
	add_disk(s, d, false, INITRAMFS_UPPER_SERIAL);
	return 0;
}

/*
 * The disks of a VM made from a template, in the template's order: a
 * read-only one is the original image (refused if it changed since), a
 * writable one a new qcow2 layer over the template's frozen copy, deleted
 * when the VM ends, or kept at --overlay PATH (the first writable disk's).
 */
static int open_template_disks(const struct vm_config *cfg, struct storage *s)
{
	const struct template_meta *m = cfg->tmpl;
	char tdir[PATH_MAX], odir[PATH_MAX - 64];
	bool persistent_used = false;
	int ret;

	ret = template_dir(m->name, tdir, sizeof(tdir));
	if (!ret)
		ret = storage_data_dir(odir, sizeof(odir));
	if (ret)
		return ret;
	strncat(odir, "/overlays", sizeof(odir) - strlen(odir) - 1);
	for (unsigned i = 0; i < m->nr_disks; i++) {
		const struct template_disk *td = &m->disks[i];
		char backing[PATH_MAX + 80], layer[PATH_MAX];
		bool persistent = false;
		struct disk *d;
		struct stat st;

		if (td->ro) {
			if (stat(td->path, &st) < 0)
				return err_set(-errno, "disk %s of template %s", td->path, m->name);
			if ((uint64_t)st.st_dev != td->dev || (uint64_t)st.st_ino != td->ino ||
			    (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec !=
				    td->mtime_ns)
				return err_setx(-EINVAL,
						"disk %s changed since template %s was taken: the "
						"guest's view of it would be wrong",
						td->path, m->name);
			ret = disk_open(td->path, DISK_FMT_AUTO, DISK_RDONLY, &d);
			if (ret)
				return ret;
			add_disk(s, d, true, td->serial);
			continue;
		}
		snprintf(backing, sizeof(backing), "%s/%s", tdir, td->frozen);
		if (cfg->overlay == OVERLAY_FILE && !persistent_used) {
			persistent = persistent_used = true;
			snprintf(layer, sizeof(layer), "%s", cfg->overlay_path);
		} else {
			ret = mkdir_p(odir);
			if (ret)
				return ret;
			snprintf(layer, sizeof(layer), "%s/fork-%d-%u-%llx.qcow2", odir,
				 (int)getpid(), i, (unsigned long long)monotonic_ns());
		}
		ret = qcow2_create(layer, td->size, backing, td->format);
		if (ret)
			return ret;
		ret = disk_open(layer, DISK_FMT_QCOW2, 0, &d);
		if (!persistent || ret)
			unlink(layer); /* the open file lives on until the VM ends */
		if (ret)
			return ret;
		add_disk(s, d, false, td->serial);
	}
	/* The disks the template's VM booted with; the others were hot-added. */
	for (unsigned i = 0; i < m->hotplug_first && i < m->nr_devices; i++)
		s->nr_boot += m->devices[i] == VIRTIO_ID_BLOCK;
	return 0;
}

static bool serial_used(const struct storage *s, const char *serial)
{
	for (unsigned i = 0; i < s->nr; i++)
		if (!strcmp(s->disks[i].serial, serial))
			return true;
	return false;
}

/* cfg's --disk list, after the disks s has (unnamed ones: the first free diskN). */
static int open_disks(const struct vm_config *cfg, struct storage *s)
{
	unsigned next = 0;
	struct disk *d;
	int ret;

	for (unsigned i = 0; i < cfg->nr_disks; i++) {
		const struct disk_config *dc = &cfg->disks[i];
		char serial[CONFIG_DISK_SERIAL_MAX + 1];

		if (dc->serial) {
			snprintf(serial, sizeof(serial), "%s", dc->serial);
		} else {
			do
				snprintf(serial, sizeof(serial), "disk%u", next++);
			while (serial_used(s, serial));
		}
		if (s->nr == STORAGE_MAX_DISKS)
			return err_setx(-EINVAL, "too many disks (at most %u)", STORAGE_MAX_DISKS);
		ret = disk_open(dc->path, to_disk_format(dc->format), dc->ro ? DISK_RDONLY : 0, &d);
		if (ret)
			return ret;
		add_disk(s, d, dc->ro, serial);
		s->disks[s->nr - 1].rl = dc->rl;
	}
	return 0;
}

int storage_open(const struct vm_config *cfg, struct storage *s)
{
	struct disk *d;
	int ret;

	memset(s, 0, sizeof(*s));
	if (cfg->tmpl) {
		s->root = INITRAMFS_ROOT_RAM;
		ret = open_template_disks(cfg, s);
		if (!ret)
			ret = open_disks(cfg, s);
		if (ret)
			storage_close(s);
		return ret;
	}
	s->root = INITRAMFS_ROOT_RAM;
	if (cfg->rootfs) {
		bool overlay = cfg->overlay != OVERLAY_NONE;

		ret = disk_open(cfg->rootfs, DISK_FMT_AUTO, overlay ? DISK_RDONLY : 0, &d);
		if (ret)
			return ret;
		add_disk(s, d, overlay, INITRAMFS_ROOT_SERIAL);
		s->root = overlay ? INITRAMFS_ROOT_OVERLAY : INITRAMFS_ROOT_DISK;
		s->upper = cfg->overlay == OVERLAY_TMPFS ? INITRAMFS_UPPER_TMPFS
							 : INITRAMFS_UPPER_DISK;
		if (overlay && cfg->overlay != OVERLAY_TMPFS) {
			ret = open_overlay(cfg, s);
			if (ret)
				goto fail;
		}
	}
	ret = open_disks(cfg, s);
	if (ret)
		goto fail;
	s->nr_boot = s->nr;
	return 0;
fail:
	storage_close(s);
	return ret;
}

void storage_close(struct storage *s)
{
	for (unsigned i = 0; i < s->nr; i++) {
		if (s->disks[i].disk)
			disk_close(s->disks[i].disk);
		s->disks[i].disk = NULL;
	}
	s->nr = 0;
}
