// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: the snapshot state file (sections, checksum, refusals),
 * memory files (sparse writing, layers, the identity check, CoW mapping),
 * template metadata and the KVM state blob parsers.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/kvm_state.h"
#include "lib/err.h"
#include "lib/util.h"
#include "snapshot/memfile.h"
#include "snapshot/state.h"
#include "snapshot/template.h"

static char *tmpdir(void)
{
	char *d = strdup("/tmp/clone-snap-XXXXXX");

	cr_assert(mkdtemp(d));
	return d;
}

static void rmtree(const char *d)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	cr_assert_eq(system(cmd), 0);
}

/* ---- state file ---- */

static const uint8_t *sample(struct snap_writer *w, size_t *len)
{
	static const char meta[] = "{\"x\":1}";
	uint64_t v = 42;

	snapw_init(w);
	snapw_add(w, SNAP_SEC_META, 0, meta, strlen(meta));
	snapw_add(w, SNAP_SEC_VCPU, 0, &v, sizeof(v));
	snapw_add(w, SNAP_SEC_VCPU, 1, "abc", 3);
	return snapw_finish(w, len);
}

Test(snapshot_state, round_trip)
{
	struct snap_writer w;
	struct snap_reader r;
	size_t len, n;
	const uint8_t *buf = sample(&w, &len);
	uint64_t v = 0;

	cr_assert(buf);
	cr_assert_eq(len % 8, 0);
	cr_assert_eq(snapr_parse(&r, buf, len, "t"), 0, "%s", err_msg());
	cr_assert_eq(r.nr, 3);
	cr_assert_eq(snapr_get(&r, SNAP_SEC_VCPU, 0, &v, sizeof(v)), 0);
	cr_assert_eq(v, 42);
	cr_assert_eq(memcmp(snapr_find(&r, SNAP_SEC_VCPU, 1, &n), "abc", 3), 0);
	cr_assert_eq(n, 3);
	cr_assert_null(snapr_find(&r, SNAP_SEC_VCPU, 2, &n));
	cr_assert_eq(snapr_get(&r, SNAP_SEC_VM, 0, &v, sizeof(v)), -ENOENT);
	cr_assert_eq(snapr_get(&r, SNAP_SEC_VCPU, 1, &v, sizeof(v)), -EINVAL);
	cr_assert(strstr(err_msg(), "has 3 bytes, expected 8"));
	snapr_free(&r);
	snapw_free(&w);
}

static void expect_refused(const uint8_t *buf, size_t len, const char *msg)
{
	struct snap_reader r;

	cr_assert_eq(snapr_parse(&r, buf, len, "S"), -EINVAL, "accepted (%s)", msg);
	cr_assert(strstr(err_msg(), msg), "'%s' lacks '%s'", err_msg(), msg);
}

Test(snapshot_state, damage_is_refused)
{
	struct snap_writer w;
	size_t len;
	const uint8_t *good = sample(&w, &len);
	uint8_t *b = malloc(len + 8);

	memcpy(b, good, len);
	expect_refused(b, len - 1, "truncated");
	b[len] = 0;
	expect_refused(b, len + 1, "truncated");
	for (size_t off = 24; off < len; off += 7) {
		memcpy(b, good, len);
		b[off] ^= 0x10;
		expect_refused(b, len, "checksum mismatch");
	}
	memcpy(b, good, len);
	b[0] = 'X';
	expect_refused(b, len, "not a Clone snapshot");
	memcpy(b, good, len);
	b[8] = 9; /* version */
	expect_refused(b, len, "version 9");
	expect_refused(b, 10, "not a Clone snapshot");
	free(b);
	snapw_free(&w);
}

/* A file whose digest is right but whose section table lies. */
static void refix_digest(uint8_t *b, size_t len);

#include <nettle/sha2.h>
static void refix_digest(uint8_t *b, size_t len)
{
	struct sha256_ctx h;

	sha256_init(&h);
	sha256_update(&h, len - 32, b);
	sha256_digest(&h, 32, b + len - 32);
}

Test(snapshot_state, lying_sections_are_refused)
{
	struct snap_writer w;
	size_t len;
	const uint8_t *good = sample(&w, &len);
	uint8_t *b = malloc(len);
	uint64_t huge = 1ull << 40;

	/* The first section's length pointing past the end. */
	memcpy(b, good, len);
	memcpy(b + 24 + 8, &huge, 8);
	refix_digest(b, len);
	expect_refused(b, len, "malformed section table");
	/* The second vCPU section made a duplicate of the first. */
	memcpy(b, good, len);
	{
		size_t off = 24 + 16 + 8; /* after META (7 bytes padded to 8) */

		cr_assert_eq(b[off], SNAP_SEC_VCPU);
		off += 16 + 8;
		cr_assert_eq(b[off], SNAP_SEC_VCPU);
		b[off + 4] = 0;
	}
	refix_digest(b, len);
	expect_refused(b, len, "twice");
	free(b);
	snapw_free(&w);
}

Test(snapshot_state, commit_is_atomic_and_loads)
{
	char *d = tmpdir(), path[256];
	struct snap_writer w;
	struct snap_reader r;
	int dfd = open(d, O_RDONLY | O_DIRECTORY);
	size_t len;

	sample(&w, &len);
	snapw_free(&w);
	snapw_init(&w);
	snapw_add(&w, SNAP_SEC_META, 0, "{}", 2);
	cr_assert_eq(snapw_commit(&w, dfd, "state"), 0, "%s", err_msg());
	snapw_free(&w);
	snprintf(path, sizeof(path), "%s/state", d);
	cr_assert_eq(snapr_load(&r, path), 0, "%s", err_msg());
	cr_assert_eq(r.nr, 1);
	snapr_free(&r);
	/* Only the state file: no temporary left behind. */
	snprintf(path, sizeof(path), "test $(ls -A '%s' | wc -l) = 1", d);
	cr_assert_eq(system(path), 0);
	snprintf(path, sizeof(path), "%s/missing", d);
	cr_assert_eq(snapr_load(&r, path), -ENOENT);
	close(dfd);
	rmtree(d);
	free(d);
}

/* ---- memory files ---- */

#define RAM (8u << 20)

static void fill(struct guest_mem *gm)
{
	cr_assert_eq(gm_init(gm, RAM, 0), 0, "%s", err_msg());
	for (unsigned p = 0; p < RAM / 4096; p += 16)
		memset(gm->map + (size_t)p * 4096, (int)(p % 251) + 1, 4096);
}

Test(memfile, sparse_full_write_maps_back_private)
{
	char *d = tmpdir();
	int dfd = open(d, O_RDONLY | O_DIRECTORY), fd;
	struct guest_mem gm, back;
	struct memfile_info info;
	struct memfile_layer ly;
	struct stat st;
	bool hashed;
	uint8_t c;

	fill(&gm);
	cr_assert_eq(memfile_write_full(&gm, dfd, "mem", &info), 0, "%s", err_msg());
	cr_assert_eq(fstatat(dfd, "mem", &st, 0), 0);
	cr_assert_eq((uint64_t)st.st_size, RAM);
	/* One page in 16 has data: the file allocates about that much. */
	cr_assert_lt((uint64_t)st.st_blocks * 512, RAM / 8);
	cr_assert_eq(memfile_check(dfd, &info, &hashed), 0, "%s", err_msg());
	cr_assert_not(hashed);

	cr_assert_eq(gm_init(&back, RAM, 0), 0);
	fd = openat(dfd, "mem", O_RDONLY);
	ly = (struct memfile_layer){ .fd = fd };
	cr_assert_eq(memfile_map(&back, &ly, 1), 0, "%s", err_msg());
	close(fd);
	cr_assert_eq(memcmp(back.map, gm.map, RAM), 0);
	/* Writes stay in the process: the file is unchanged. */
	back.map[4096 * 16] ^= 0xff;
	fd = openat(dfd, "mem", O_RDONLY);
	cr_assert_eq(pread(fd, &c, 1, 4096 * 16), 1);
	cr_assert_eq(c, gm.map[4096 * 16]);
	close(fd);
	gm_destroy(&back);
	gm_destroy(&gm);
	close(dfd);
	rmtree(d);
	free(d);
}

Test(memfile, modified_or_truncated_file_is_refused)
{
	char *d = tmpdir(), cmd[512];
	int dfd = open(d, O_RDONLY | O_DIRECTORY), fd;
	struct guest_mem gm;
	struct memfile_info info;
	bool hashed;
	uint8_t c;

	fill(&gm);
	cr_assert_eq(memfile_write_full(&gm, dfd, "mem", &info), 0);
	/* Touched, same contents: hashed and accepted. */
	snprintf(cmd, sizeof(cmd), "touch -d '2001-01-01' '%s/mem'", d);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(memfile_check(dfd, &info, &hashed), 0, "%s", err_msg());
	cr_assert(hashed);
	/* One byte changed. */
	fd = openat(dfd, "mem", O_RDWR);
	cr_assert_eq(pread(fd, &c, 1, 12345), 1);
	c ^= 1;
	cr_assert_eq(pwrite(fd, &c, 1, 12345), 1);
	cr_assert_eq(memfile_check(dfd, &info, NULL), -EINVAL);
	cr_assert(strstr(err_msg(), "was modified"), "%s", err_msg());
	cr_assert_eq(ftruncate(fd, RAM - 4096), 0);
	cr_assert_eq(memfile_check(dfd, &info, NULL), -EINVAL);
	cr_assert(strstr(err_msg(), "truncated"), "%s", err_msg());
	close(fd);
	gm_destroy(&gm);
	close(dfd);
	rmtree(d);
	free(d);
}

static void layer_case(unsigned stride)
{
	char *d = tmpdir();
	int dfd = open(d, O_RDONLY | O_DIRECTORY);
	uint64_t *dirty = calloc(RAM / 4096 / 64, 8);
	struct guest_mem gm, back;
	struct memfile_info base, li;
	struct memfile_layer ly[2];
	struct snap_extent *ext;
	size_t nr;

	fill(&gm);
	cr_assert_eq(memfile_write_full(&gm, dfd, "mem", &base), 0);
	/* Dirty pages: every stride-th from page 3; one of them becomes zero. */
	for (unsigned p = 3; p < RAM / 4096; p += stride) {
		memset(gm.map + (size_t)p * 4096, 0x5a, 4096);
		dirty[p / 64] |= 1ull << (p % 64);
	}
	memset(gm.map + (size_t)(3 + 16 * stride) * 4096, 0, 4096);
	cr_assert_eq(memfile_write_layer(&gm, dirty, dfd, "mem.1", &li, &ext, &nr), 0, "%s",
		     err_msg());
	cr_assert_eq(nr, stride == 1 ? 1 : (RAM / 4096 - 3 + stride - 1) / stride);
	cr_assert_eq(ext[0].page, 3);
	cr_assert_eq(memfile_check_extents(ext, nr, RAM), 0);
	cr_assert_eq(gm_init(&back, RAM, 0), 0);
	ly[0] = (struct memfile_layer){ .fd = openat(dfd, "mem", O_RDONLY) };
	ly[1] = (struct memfile_layer){ .fd = openat(dfd, "mem.1", O_RDONLY),
					.ext = ext,
					.nr_ext = nr };
	cr_assert_eq(memfile_map(&back, ly, 2), 0, "%s", err_msg());
	cr_assert_eq(memcmp(back.map, gm.map, RAM), 0);
	close(ly[0].fd);
	close(ly[1].fd);
	free(ext);
	free(dirty);
	gm_destroy(&back);
	gm_destroy(&gm);
	close(dfd);
	rmtree(d);
	free(d);
}

Test(memfile, layer_maps_over_base)
{
	layer_case(5);
}

Test(memfile, layer_with_many_extents_is_read_in)
{
	layer_case(2); /* 1k extents: below the limit */
}

Test(memfile, bad_extents_are_refused)
{
	struct snap_extent e[2] = { { 10, 5 }, { 12, 1 } };

	cr_assert_eq(memfile_check_extents(e, 2, RAM), -EINVAL);
	e[1] = (struct snap_extent){ RAM / 4096 - 1, 2 };
	cr_assert_eq(memfile_check_extents(e, 2, RAM), -EINVAL);
	e[1] = (struct snap_extent){ 20, 0 };
	cr_assert_eq(memfile_check_extents(e, 2, RAM), -EINVAL);
	e[1] = (struct snap_extent){ 15, 3 };
	cr_assert_eq(memfile_check_extents(e, 2, RAM), 0);
}

/* ---- template metadata ---- */

static void meta_sample(struct template_meta *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "base");
	snprintf(m->source, sizeof(m->source), "vm1");
	m->mem_bytes = 256u << 20;
	m->vcpus = 2;
	m->cid = 1234;
	m->nr_mem = 2;
	snprintf(m->mem[0].name, sizeof(m->mem[0].name), "mem");
	snprintf(m->mem[1].name, sizeof(m->mem[1].name), "mem.1");
	m->mem[0].size = m->mem[1].size = m->mem_bytes;
	m->mem[1].sha256[31] = 0xab;
	m->nr_disks = 2;
	m->disks[0].ro = true;
	snprintf(m->disks[0].path, sizeof(m->disks[0].path), "/img/root.img");
	snprintf(m->disks[0].format, sizeof(m->disks[0].format), "raw");
	snprintf(m->disks[1].frozen, sizeof(m->disks[1].frozen), "disk-1.0.qcow2");
	snprintf(m->disks[1].format, sizeof(m->disks[1].format), "qcow2");
	m->nr_nics = 1;
	m->nics[0].mode = NIC_BRIDGE;
	memcpy(m->nics[0].mac, "\x02\x00\x00\x00\x00\x07", 6);
	m->nr_devices = 3;
	m->devices[0] = 1;
	m->devices[1] = 2;
	m->devices[2] = 19;
	m->hotplug_first = 3;
	m->hotplug_slots = 2;
}

Test(template, meta_round_trip)
{
	struct template_meta m, back;
	json_t *j;

	meta_sample(&m);
	j = template_meta_to_json(&m);
	cr_assert(j);
	cr_assert_eq(template_meta_from_json(j, &back), 0, "%s", err_msg());
	cr_assert_str_eq(back.name, "base");
	cr_assert_eq(back.nr_mem, 2);
	cr_assert_eq(back.mem[1].sha256[31], 0xab);
	cr_assert_str_eq(back.disks[1].frozen, "disk-1.0.qcow2");
	cr_assert_eq(memcmp(back.nics[0].mac, m.nics[0].mac, 6), 0);
	cr_assert_eq(back.devices[2], 19);
	cr_assert_eq(back.hotplug_first, 3);
	cr_assert_eq(back.hotplug_slots, 2);
	json_decref(j);
	/* Hotplug slots that do not hold the devices past hotplug_first are refused. */
	m.hotplug_slots = 0;
	m.hotplug_first = 2;
	j = template_meta_to_json(&m);
	cr_assert_eq(template_meta_from_json(j, &back), -EINVAL);
	json_decref(j);
	m.hotplug_first = 4;
	m.hotplug_slots = 1;
	j = template_meta_to_json(&m);
	cr_assert_eq(template_meta_from_json(j, &back), -EINVAL);
	json_decref(j);
	/* Without the field (older metadata): no slots. */
	meta_sample(&m);
	j = template_meta_to_json(&m);
	json_object_del(j, "hotplug");
	cr_assert_eq(template_meta_from_json(j, &back), 0, "%s", err_msg());
	cr_assert_eq(back.hotplug_first, 3);
	cr_assert_eq(back.hotplug_slots, 0);
	json_decref(j);
}

Test(template, meta_escaping_paths_are_refused)
{
	static const char *const bad[][2] = {
		{ "/disks/1/frozen", "../../etc/passwd" },
		{ "/memory/0/file", "/etc/shadow" },
		{ "/disks/0/path", "relative.img" },
		{ "/name", "../x" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct template_meta m, back;
		json_t *j, *o;
		char key[32];
		const char *p = bad[i][0] + 1;

		meta_sample(&m);
		j = template_meta_to_json(&m);
		o = j;
		/* Walk "/a/0/b" */
		while (strchr(p, '/')) {
			size_t n = (size_t)(strchr(p, '/') - p);

			snprintf(key, sizeof(key), "%.*s", (int)n, p);
			o = json_is_array(o) ? json_array_get(o, (size_t)atoi(key))
					     : json_object_get(o, key);
			p += n + 1;
		}
		json_object_set_new(o, p, json_string(bad[i][1]));
		cr_assert_eq(template_meta_from_json(j, &back), -EINVAL, "accepted %s", bad[i][0]);
		json_decref(j);
	}
}

Test(template, names)
{
	cr_assert_eq(template_check_name("base-1.2_x"), 0);
	cr_assert_eq(template_check_name(".hidden"), -EINVAL);
	cr_assert_eq(template_check_name("a/b"), -EINVAL);
	cr_assert_eq(template_check_name(""), -EINVAL);
}

Test(template, apply_refuses_other_devices)
{
	struct template_meta m;
	struct vm_config cfg;

	meta_sample(&m);
	config_init(&cfg);
	/* Two hotplug slots are free: three added disks do not fit. */
	cfg.nr_disks = 3;
	cr_assert_eq(template_apply(&m, &cfg, false), -EINVAL);
	cr_assert(strstr(err_msg(), "room for 2 more disk(s), not 3"), "%s", err_msg());
	cfg.nr_disks = 0;
	cfg.rootfs = "/img/other.img";
	cr_assert_eq(template_apply(&m, &cfg, false), -EINVAL);
	cr_assert(strstr(err_msg(), "--rootfs"), "%s", err_msg());
	cfg.rootfs = NULL;
	cfg.vcpus = 4;
	cr_assert_eq(template_apply(&m, &cfg, false), -EINVAL);
	cfg.vcpus = CONFIG_DEFAULT_VCPUS;
	cr_assert_eq(template_apply(&m, &cfg, false), 0, "%s", err_msg());
	cr_assert_eq(cfg.vcpus, 2);
	cr_assert_eq(cfg.mem_mb, 256);
	cr_assert_eq(cfg.nr_nics, 1);
	cr_assert_not(cfg.nics[0].has_mac); /* a fork gets its own */
	config_free(&cfg);
	config_init(&cfg);
	cr_assert_eq(template_apply(&m, &cfg, true), 0, "%s", err_msg());
	cr_assert(cfg.nics[0].has_mac); /* a restore keeps the template's */
	cr_assert_str_eq(cfg.name, "vm1");
	cr_assert_eq(cfg.preferred_cid, 1234);
	config_free(&cfg);
	config_init(&cfg);
	cfg.nr_disks = 2;
	cr_assert_eq(template_apply(&m, &cfg, false), 0, "%s", err_msg());
	cr_assert_eq(cfg.nr_disks, 2);
	cfg.nr_disks = 0;
	config_free(&cfg);
}

/* ---- KVM state blobs ---- */

struct rec {
	uint32_t type, len;
};

static size_t put_rec(uint8_t *b, size_t off, uint32_t type, size_t len)
{
	struct rec r = { type, (uint32_t)len };

	memcpy(b + off, &r, sizeof(r));
	memset(b + off + sizeof(r), 0, (len + 7) & ~(size_t)7);
	return off + sizeof(r) + ((len + 7) & ~(size_t)7);
}

/* A VM blob built by hand: header then the six records. */
static size_t vm_blob(uint8_t *b, int skip, int dup, uint32_t bad_len_type)
{
	static const struct {
		uint32_t type;
		size_t len;
	} r[] = {
		{ 32, sizeof(struct kvm_irqchip) },    { 33, sizeof(struct kvm_irqchip) },
		{ 34, sizeof(struct kvm_irqchip) },    { 35, sizeof(struct kvm_pit_state2) },
		{ 36, sizeof(struct kvm_clock_data) }, { 37, 8 },
	};
	uint32_t hdr[4] = { 0x534d564bu, KVMSTATE_VERSION, 2, 0 };
	size_t off = sizeof(hdr);

	for (size_t i = 0; i < 6; i++) {
		if ((int)i == skip)
			continue;
		off = put_rec(b, off, r[i].type,
			      r[i].type == bad_len_type ? r[i].len - 8 : r[i].len);
		hdr[3]++;
		if ((int)i == dup) {
			off = put_rec(b, off, r[i].type, r[i].len);
			hdr[3]++;
		}
	}
	memcpy(b, hdr, sizeof(hdr));
	return off;
}

Test(kvm_state, vm_blob_parse)
{
	static uint8_t b[16384];
	struct kvmstate_vm_info info;
	size_t n = vm_blob(b, -1, -1, 0);

	cr_assert_eq(kvmstate_vm_parse(b, n, &info), 0, "%s", err_msg());
	cr_assert_eq(kvmstate_vm_parse(b, n - 1, NULL), -EINVAL);
	n = vm_blob(b, 3, -1, 0);
	cr_assert_eq(kvmstate_vm_parse(b, n, NULL), -EINVAL);
	cr_assert(strstr(err_msg(), "PIT2 is missing"), "%s", err_msg());
	n = vm_blob(b, -1, 1, 0);
	cr_assert_eq(kvmstate_vm_parse(b, n, NULL), -EINVAL);
	cr_assert(strstr(err_msg(), "twice"), "%s", err_msg());
	n = vm_blob(b, -1, -1, 36);
	cr_assert_eq(kvmstate_vm_parse(b, n, NULL), -EINVAL);
	cr_assert(strstr(err_msg(), "CLOCK has"), "%s", err_msg());
	/* Restore parses first: a bad blob never reaches KVM (fd -1 would say EBADF). */
	cr_assert_eq(kvmstate_vm_restore(-1, b, n, 0), -EINVAL);
	/* A vCPU blob is not a VM blob. */
	n = vm_blob(b, -1, -1, 0);
	cr_assert_eq(kvmstate_vcpu_parse(b, n), -EINVAL);
	cr_assert_eq(kvmstate_vcpu_restore(-1, b, n, 0), -EINVAL);
}
