// SPDX-License-Identifier: Apache-2.0
/*
 * Templates on disk and their metadata (see template.h).  The metadata is
 * JSON (jansson) inside the checksummed state file; every field is checked
 * when read, so a state file written by someone else cannot smuggle a path
 * outside the template directory or a size that does not fit.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/util.h"
#include "snapshot/state.h"
#include "template.h"
#include "vmm/storage.h"

int template_check_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (!n || n > TEMPLATE_NAME_MAX || !isalnum((unsigned char)name[0]))
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			goto bad;
	return 0;
bad:
	return err_setx(-EINVAL,
			"invalid template name '%s': letters, digits, '_', '.', '-' (first a "
			"letter or digit), at most %d",
			name ? name : "", TEMPLATE_NAME_MAX);
}

int template_root(char *buf, size_t len, bool create)
{
	char base[PATH_MAX - 32];
	int ret = 0;

	if (geteuid() == 0 && !getenv("XDG_DATA_HOME"))
		snprintf(base, sizeof(base), "/var/lib/clone");
	else
		ret = storage_data_dir(base, sizeof(base));
	if (ret)
		return ret;
	if ((size_t)snprintf(buf, len, "%s/templates", base) >= len)
		return err_setx(-ENAMETOOLONG, "templates directory path too long");
	return create ? mkdir_p(buf) : 0;
}

int template_dir(const char *name, char *buf, size_t len)
{
	char root[PATH_MAX - TEMPLATE_NAME_MAX - 2];
	int ret = template_check_name(name);

	if (!ret)
		ret = template_root(root, sizeof(root), false);
	if (ret)
		return ret;
	if ((size_t)snprintf(buf, len, "%s/%s", root, name) >= len)
		return err_setx(-ENAMETOOLONG, "template path too long");
	return 0;
}

/* ---- JSON ---- */

static void hex(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
	if (!s || strlen(s) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static const char *const nic_modes[] = {
	[NIC_BRIDGE] = "bridge", [NIC_USER] = "user", [NIC_TAP] = "tap"
};

json_t *template_meta_to_json(const struct template_meta *m)
{
	json_t *j = json_object(), *mem = json_array(), *disks = json_array(), *nics = json_array(),
	       *devs = json_array();
	char h[65];

	if (!j || !mem || !disks || !nics || !devs)
		goto fail;
	for (unsigned i = 0; i < m->nr_mem; i++) {
		const struct memfile_info *f = &m->mem[i];

		hex(h, f->sha256, 32);
		json_array_append_new(mem,
				      json_pack("{s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:I}", "file",
						f->name, "size", (json_int_t)f->size, "allocated",
						(json_int_t)f->allocated, "sha256", h, "dev",
						(json_int_t)f->dev, "ino", (json_int_t)f->ino,
						"mtime_ns", (json_int_t)f->mtime_ns, "ctime_ns",
						(json_int_t)f->ctime_ns));
	}
	for (unsigned i = 0; i < m->nr_disks; i++) {
		const struct template_disk *d = &m->disks[i];

		json_array_append_new(
			disks, json_pack("{s:s, s:b, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "serial",
					 d->serial, "ro", d->ro, "path", d->path, "frozen",
					 d->frozen, "format", d->format, "size",
					 (json_int_t)d->size, "dev", (json_int_t)d->dev, "ino",
					 (json_int_t)d->ino, "mtime_ns", (json_int_t)d->mtime_ns));
	}
	for (unsigned i = 0; i < m->nr_nics; i++) {
		const struct template_nic *n = &m->nics[i];
		char mac[18];

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
			 n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		json_array_append_new(nics,
				      json_pack("{s:s, s:s, s:s, s:s}", "mode", nic_modes[n->mode],
						"mac", mac, "tap", n->tap, "bridge", n->bridge));
	}
	for (unsigned i = 0; i < m->nr_devices; i++)
		json_array_append_new(devs, json_integer(m->devices[i]));
	if (json_object_set_new(j, "format", json_integer(1)) ||
	    json_object_set_new(j, "name", json_string(m->name)) ||
	    json_object_set_new(j, "source", json_string(m->source)) ||
	    json_object_set_new(j, "hostname", json_string(m->hostname)) ||
	    json_object_set_new(j, "created", json_integer((json_int_t)m->created)) ||
	    json_object_set_new(j, "realtime_ns", json_integer((json_int_t)m->realtime_ns)) ||
	    json_object_set_new(j, "mem_bytes", json_integer((json_int_t)m->mem_bytes)) ||
	    json_object_set_new(j, "vcpus", json_integer(m->vcpus)) ||
	    json_object_set_new(j, "cid", json_integer((json_int_t)m->cid)) ||
	    json_object_set_new(j, "ksm", json_boolean(m->ksm)) ||
	    json_object_set_new(j, "no_vsock", json_boolean(m->no_vsock)) ||
	    json_object_set_new(j, "agent", json_boolean(m->agent_expected)) ||
	    json_object_set_new(j, "generation", json_integer((json_int_t)m->generation)) ||
	    json_object_set_new(j, "memory", mem) || json_object_set_new(j, "disks", disks) ||
	    json_object_set_new(j, "nics", nics) || json_object_set_new(j, "devices", devs) ||
	    json_object_set_new(j, "hotplug",
				json_pack("{s:i, s:i}", "first", (int)m->hotplug_first, "slots",
					  (int)m->hotplug_slots)))
		goto fail_set;
	return j;
fail:
	json_decref(mem);
	json_decref(disks);
	json_decref(nics);
	json_decref(devs);
fail_set:
	json_decref(j);
	return NULL;
}

/* A file name inside the template directory: no '/', not "." or "..". */
static bool plain_name(const char *s)
{
	return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static int copy_str(char *dst, size_t cap, json_t *v, bool may_be_empty)
{
	const char *s = json_string_value(v);

	if (!s || strlen(s) >= cap || (!may_be_empty && !*s))
		return -EINVAL;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int get_u64(json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -EINVAL;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int parse_mem(json_t *a, struct template_meta *m)
{
	size_t i;
	json_t *e;

	if (!json_is_array(a) || !json_array_size(a) ||
	    json_array_size(a) > 1 + TEMPLATE_MAX_LAYERS)
		return -EINVAL;
	json_array_foreach(a, i, e)
	{
		struct memfile_info *f = &m->mem[i];
		uint64_t mt, ct;

		if (copy_str(f->name, sizeof(f->name), json_object_get(e, "file"), false) ||
		    !plain_name(f->name) || get_u64(e, "size", &f->size) ||
		    get_u64(e, "allocated", &f->allocated) || get_u64(e, "dev", &f->dev) ||
		    get_u64(e, "ino", &f->ino) || get_u64(e, "mtime_ns", &mt) ||
		    get_u64(e, "ctime_ns", &ct) ||
		    unhex(json_string_value(json_object_get(e, "sha256")), f->sha256, 32) ||
		    f->size != m->mem_bytes)
			return -EINVAL;
		f->mtime_ns = (int64_t)mt;
		f->ctime_ns = (int64_t)ct;
	}
	m->nr_mem = (unsigned)json_array_size(a);
	return 0;
}

static int parse_disks(json_t *a, struct template_meta *m)
{
	size_t i;
	json_t *e;

	if (!json_is_array(a) || json_array_size(a) > TEMPLATE_MAX_DISKS)
		return -EINVAL;
	json_array_foreach(a, i, e)
	{
		struct template_disk *d = &m->disks[i];
		uint64_t mt;

		memset(d, 0, sizeof(*d));
		if (copy_str(d->serial, sizeof(d->serial), json_object_get(e, "serial"), true) ||
		    !json_is_boolean(json_object_get(e, "ro")) ||
		    copy_str(d->path, sizeof(d->path), json_object_get(e, "path"), true) ||
		    copy_str(d->frozen, sizeof(d->frozen), json_object_get(e, "frozen"), true) ||
		    copy_str(d->format, sizeof(d->format), json_object_get(e, "format"), false) ||
		    get_u64(e, "size", &d->size) || get_u64(e, "dev", &d->dev) ||
		    get_u64(e, "ino", &d->ino) || get_u64(e, "mtime_ns", &mt))
			return -EINVAL;
		d->ro = json_is_true(json_object_get(e, "ro"));
		d->mtime_ns = (int64_t)mt;
		if (strcmp(d->format, "raw") && strcmp(d->format, "qcow2"))
			return -EINVAL;
		/* Read-only: an absolute path; writable: a file of the template. */
		if (d->ro ? d->path[0] != '/' : !plain_name(d->frozen))
			return -EINVAL;
	}
	m->nr_disks = (unsigned)json_array_size(a);
	return 0;
}

static int parse_nics(json_t *a, struct template_meta *m)
{
	size_t i;
	json_t *e;

	if (!json_is_array(a) || json_array_size(a) > CONFIG_MAX_NICS)
		return -EINVAL;
	json_array_foreach(a, i, e)
	{
		struct template_nic *n = &m->nics[i];
		const char *mode = json_string_value(json_object_get(e, "mode"));
		const char *mac = json_string_value(json_object_get(e, "mac"));
		unsigned k;

		memset(n, 0, sizeof(*n));
		for (k = 0; k < ARRAY_SIZE(nic_modes); k++)
			if (mode && !strcmp(mode, nic_modes[k]))
				break;
		if (k == ARRAY_SIZE(nic_modes) || !mac || config_parse_mac(mac, n->mac) ||
		    copy_str(n->tap, sizeof(n->tap), json_object_get(e, "tap"), true) ||
		    copy_str(n->bridge, sizeof(n->bridge), json_object_get(e, "bridge"), true))
			return -EINVAL;
		n->mode = (enum nic_mode)k;
	}
	m->nr_nics = (unsigned)json_array_size(a);
	return 0;
}

int template_meta_from_json(json_t *j, struct template_meta *m)
{
	uint64_t fmt, vcpus;
	json_t *devs = json_object_get(j, "devices"), *v;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(j) || get_u64(j, "format", &fmt) || fmt != 1)
		goto bad;
	if (copy_str(m->name, sizeof(m->name), json_object_get(j, "name"), false) ||
	    copy_str(m->source, sizeof(m->source), json_object_get(j, "source"), true) ||
	    copy_str(m->hostname, sizeof(m->hostname), json_object_get(j, "hostname"), true) ||
	    get_u64(j, "created", &m->created) || get_u64(j, "realtime_ns", &m->realtime_ns) ||
	    get_u64(j, "mem_bytes", &m->mem_bytes) || get_u64(j, "vcpus", &vcpus) ||
	    get_u64(j, "cid", &m->cid) || get_u64(j, "generation", &m->generation) ||
	    !json_is_boolean(json_object_get(j, "ksm")) ||
	    !json_is_boolean(json_object_get(j, "no_vsock")) ||
	    !json_is_boolean(json_object_get(j, "agent")))
		goto bad;
	if (template_check_name(m->name) || !vcpus || vcpus > CONFIG_MAX_VCPUS ||
	    m->mem_bytes < (uint64_t)CONFIG_MIN_MEM_MB << 20 ||
	    m->mem_bytes > (uint64_t)CONFIG_MAX_MEM_MB << 20 || m->mem_bytes % (1 << 20))
		goto bad;
	m->vcpus = (unsigned)vcpus;
	m->ksm = json_is_true(json_object_get(j, "ksm"));
	m->no_vsock = json_is_true(json_object_get(j, "no_vsock"));
	m->agent_expected = json_is_true(json_object_get(j, "agent"));
	if (parse_mem(json_object_get(j, "memory"), m) ||
	    parse_disks(json_object_get(j, "disks"), m) ||
	    parse_nics(json_object_get(j, "nics"), m))
		goto bad;
	if (!json_is_array(devs) || json_array_size(devs) > TEMPLATE_MAX_DEVICES)
		goto bad;
	json_array_foreach(devs, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		    json_integer_value(v) > 255)
			goto bad;
		m->devices[i] = (uint32_t)json_integer_value(v);
	}
	m->nr_devices = (unsigned)json_array_size(devs);
	/* Hotplug slots: from device hotplug_first on, hotplug_slots of them (absent: none). */
	m->hotplug_first = m->nr_devices;
	if (json_object_get(j, "hotplug")) {
		uint64_t first, slots;

		if (get_u64(json_object_get(j, "hotplug"), "first", &first) ||
		    get_u64(json_object_get(j, "hotplug"), "slots", &slots) ||
		    first > m->nr_devices || slots > TEMPLATE_MAX_DEVICES ||
		    first + slots > TEMPLATE_MAX_DEVICES || m->nr_devices > first + slots)
			goto bad;
		m->hotplug_first = (unsigned)first;
		m->hotplug_slots = (unsigned)slots;
	}
	return 0;
bad:
	return err_setx(-EINVAL, "the template's metadata is malformed");
}

int template_load(const char *name, struct template_meta *m, struct snap_reader *r)
{
	char dir[PATH_MAX - 8], path[PATH_MAX];
	struct snap_reader own;
	struct snap_reader *rd = r ? r : &own;
	const char *text;
	json_error_t jerr;
	json_t *j;
	size_t len;
	int ret = template_dir(name, dir, sizeof(dir));
	struct stat st;

	if (ret)
		return ret;
	if (stat(dir, &st) < 0)
		return err_setx(-ENOENT, "no template %s (clone template list shows them)", name);
	snprintf(path, sizeof(path), "%s/state", dir);
	ret = snapr_load(rd, path);
	if (ret)
		return ret;
	text = snapr_find(rd, SNAP_SEC_META, 0, &len);
	j = text ? json_loadb(text, len, 0, &jerr) : NULL;
	if (!j) {
		ret = err_setx(-EINVAL, "%s: no readable metadata", path);
	} else {
		ret = template_meta_from_json(j, m);
		json_decref(j);
		if (ret)
			err_setx(ret, "%s: %s", path, err_msg());
		else if (strcmp(m->name, name))
			ret = err_setx(-EINVAL, "%s: the state belongs to template %s", path,
				       m->name);
	}
	if (ret || !r)
		snapr_free(rd);
	return ret;
}

uint64_t template_disk_usage(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t total = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		struct stat st;

		if (e->d_name[0] != '.' && !fstatat(dirfd(d), e->d_name, &st, 0))
			total += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return total;
}

int template_remove(const char *name)
{
	char dir[PATH_MAX];
	struct dirent *e;
	int ret = template_dir(name, dir, sizeof(dir));
	DIR *d;

	if (ret)
		return ret;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? err_setx(-ENOENT, "no template %s", name)
				       : err_set(-errno, "%s", dir);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    unlinkat(dirfd(d), e->d_name, 0) < 0) {
			ret = err_set(-errno, "%s/%s", dir, e->d_name);
			break;
		}
	closedir(d);
	if (!ret && rmdir(dir) < 0)
		ret = err_set(-errno, "%s", dir);
	return ret;
}

/* ---- a VM's configuration from a template ---- */

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? strdup(v) : NULL;
	return v && !*dst ? err_set(-ENOMEM, "config") : 0;
}

int template_apply(const struct template_meta *m, struct vm_config *cfg, bool keep_identity)
{
	const char *what = keep_identity ? "a restored VM" : "a fork";
	int ret;

	if (cfg->rootfs || cfg->kernel || cfg->initrd || cfg->cmdline || cfg->append)
		return err_setx(-EINVAL,
				"%s has the template's kernel and root: --rootfs, --kernel, "
				"--initrd, --cmdline and --append do not apply (--disk adds disks)",
				what);
	/* Added disks go into the hotplug slots the guest's ACPI tables announced. */
	if (cfg->nr_disks > m->hotplug_first + m->hotplug_slots - m->nr_devices)
		return err_setx(-EINVAL,
				"template %s has room for %u more disk(s), not %u: its VM "
				"announced %u hotplug slot(s) when it booted, %u in use",
				m->name, m->hotplug_first + m->hotplug_slots - m->nr_devices,
				cfg->nr_disks, m->hotplug_slots, m->nr_devices - m->hotplug_first);
	if (cfg->mem_mb != CONFIG_DEFAULT_MEM_MB && cfg->mem_mb << 20 != m->mem_bytes)
		return err_setx(-EINVAL,
				"template %s has %llu MiB of memory: --mem-mb cannot change it",
				m->name, (unsigned long long)(m->mem_bytes >> 20));
	if (cfg->vcpus != CONFIG_DEFAULT_VCPUS && cfg->vcpus != m->vcpus)
		return err_setx(-EINVAL, "template %s has %u vCPUs: --vcpus cannot change it",
				m->name, m->vcpus);
	if (cfg->overlay == OVERLAY_TMPFS)
		return err_setx(-EINVAL,
				"--overlay tmpfs does not apply to %s: its guest mounted its file "
				"systems already (use auto or PATH)",
				what);
	if (cfg->nr_nics && cfg->nr_nics != m->nr_nics)
		return err_setx(-EINVAL,
				"template %s has %u NIC(s): %s has the template's devices, so give "
				"--net/--tap for each of them or none",
				m->name, m->nr_nics, what);
	if (cfg->no_vsock && !m->no_vsock)
		return err_setx(-EINVAL, "--no-vsock: template %s has a vsock device", m->name);
	cfg->mem_mb = m->mem_bytes >> 20;
	cfg->vcpus = m->vcpus;
	cfg->ksm |= m->ksm;
	cfg->no_vsock = m->no_vsock;
	if (keep_identity && !cfg->name && m->source[0]) {
		ret = set_str(&cfg->name, m->source);
		if (ret)
			return ret;
	}
	if (keep_identity && !cfg->cid)
		cfg->preferred_cid = m->cid;
	cfg->keep_identity = keep_identity;
	if (!cfg->nr_nics) {
		for (unsigned i = 0; i < m->nr_nics; i++) {
			struct nic_config *n = &cfg->nics[i];
			const struct template_nic *tn = &m->nics[i];

			memset(n, 0, sizeof(*n));
			n->mode = tn->mode;
			if (tn->mode == NIC_TAP && !keep_identity)
				return err_setx(
					-EINVAL,
					"template %s's NIC %u is on TAP %s: give the fork a "
					"TAP of its own with --tap",
					m->name, i, tn->tap);
			if ((tn->tap[0] && set_str(&n->tap, tn->tap)) ||
			    (tn->bridge[0] && set_str(&n->bridge, tn->bridge)))
				return err_set(-ENOMEM, "config");
		}
		cfg->nr_nics = m->nr_nics;
	}
	for (unsigned i = 0; keep_identity && i < m->nr_nics; i++)
		if (!cfg->nics[i].has_mac) {
			cfg->nics[i].has_mac = true;
			memcpy(cfg->nics[i].mac, m->nics[i].mac, 6);
		}
	return 0;
}
