// SPDX-License-Identifier: Apache-2.0
/*
 * KVM's architectural state of a VM and its vCPUs as blobs (see
 * kvm_state.h).  A blob is a header {magic, version, kind, count} and
 * records {type, length, bytes padded to 8}; each record is one structure
 * as KVM returns it.  The parser checks every length before the restore
 * functions hand anything to KVM.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "kvm_state.h"
#include "lib/err.h"
#define LOG_TAG "kvm-state"
#include "lib/log.h"
#include "lib/util.h"

#define MAGIC 0x534d564bu /* "KVMS" */
#define KIND_VCPU 1u
#define KIND_VM 2u
#define MAX_MSRS 1024u
#define MAX_CPUID 256u
#define MAX_XSAVE (64u << 10)
#define MAX_RECORDS 32u
#define PAD8(n) (((n) + 7) & ~(size_t)7)

#define MSR_IA32_TSC 0x10u
#define MSR_IA32_TSC_DEADLINE 0x6e0u

enum rec {
	R_CPUID = 1,
	R_REGS,
	R_SREGS,
	R_XSAVE,
	R_FPU,
	R_XCRS,
	R_DEBUGREGS,
	R_LAPIC,
	R_MP_STATE,
	R_EVENTS,
	R_MSRS,
	R_TSC_KHZ,
	R_PIC0 = 32,
	R_PIC1,
	R_IOAPIC,
	R_PIT,
	R_CLOCK,
	R_REALTIME,
	R_MAX,
};

static const struct {
	const char *name;
	size_t size; /* 0: variable */
	bool vm;
	bool required;
} recs[R_MAX] = {
	[R_CPUID] = { "CPUID", 0, false, true },
	[R_REGS] = { "REGS", sizeof(struct kvm_regs), false, true },
	[R_SREGS] = { "SREGS", sizeof(struct kvm_sregs), false, true },
	[R_XSAVE] = { "XSAVE", 0, false, false },
	[R_FPU] = { "FPU", sizeof(struct kvm_fpu), false, false },
	[R_XCRS] = { "XCRS", sizeof(struct kvm_xcrs), false, false },
	[R_DEBUGREGS] = { "DEBUGREGS", sizeof(struct kvm_debugregs), false, true },
	[R_LAPIC] = { "LAPIC", sizeof(struct kvm_lapic_state), false, true },
	[R_MP_STATE] = { "MP_STATE", sizeof(struct kvm_mp_state), false, true },
	[R_EVENTS] = { "VCPU_EVENTS", sizeof(struct kvm_vcpu_events), false, true },
	[R_MSRS] = { "MSRS", 0, false, true },
	[R_TSC_KHZ] = { "TSC_KHZ", sizeof(uint32_t), false, true },
	[R_PIC0] = { "PIC master", sizeof(struct kvm_irqchip), true, true },
	[R_PIC1] = { "PIC slave", sizeof(struct kvm_irqchip), true, true },
	[R_IOAPIC] = { "IOAPIC", sizeof(struct kvm_irqchip), true, true },
	[R_PIT] = { "PIT2", sizeof(struct kvm_pit_state2), true, true },
	[R_CLOCK] = { "CLOCK", sizeof(struct kvm_clock_data), true, true },
	[R_REALTIME] = { "REALTIME", sizeof(uint64_t), true, true },
};

struct hdr {
	uint32_t magic, version, kind, count;
};

struct rec_hdr {
	uint32_t type, len;
};

/* ---- writing ---- */

struct blob {
	uint8_t *buf;
	size_t len, cap;
	unsigned count;
	int err;
};

static void put(struct blob *b, uint32_t type, const void *data, size_t len)
{
	size_t need = sizeof(struct rec_hdr) + PAD8(len);
	struct rec_hdr h = { type, (uint32_t)len };

	if (b->err)
		return;
	if (b->len + need > b->cap) {
		size_t cap = b->cap ? b->cap : 8192;
		uint8_t *n;

		while (cap < b->len + need)
			cap *= 2;
		n = realloc(b->buf, cap);
		if (!n) {
			b->err = -ENOMEM;
			return;
		}
		b->buf = n;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, &h, sizeof(h));
	memcpy(b->buf + b->len + sizeof(h), data, len);
	memset(b->buf + b->len + sizeof(h) + len, 0, PAD8(len) - len);
	b->len += need;
	b->count++;
}

static void blob_start(struct blob *b, uint32_t kind)
{
	struct hdr h = { MAGIC, KVMSTATE_VERSION, kind, 0 };

	memset(b, 0, sizeof(*b));
	b->buf = malloc(8192);
	if (!b->buf) {
		b->err = -ENOMEM;
		return;
	}
	b->cap = 8192;
	memcpy(b->buf, &h, sizeof(h));
	b->len = sizeof(h);
}

static int blob_end(struct blob *b, void **out, size_t *len, int ret)
{
	if (!ret && b->err)
		ret = err_set(b->err, "KVM state");
	if (ret) {
		free(b->buf);
		return ret;
	}
	memcpy(b->buf + offsetof(struct hdr, count), &b->count, sizeof(b->count));
	*out = b->buf;
	*len = b->len;
	return 0;
}

/* ---- parsing ---- */

struct parsed {
	const void *p[R_MAX];
	size_t len[R_MAX];
};

static int parse(const void *blob, size_t len, uint32_t kind, struct parsed *out)
{
	const char *what = kind == KIND_VM ? "VM state" : "vCPU state";
	const uint8_t *b = blob;
	struct hdr h;
	size_t off = sizeof(h);

	memset(out, 0, sizeof(*out));
	if (!blob || len < sizeof(h))
		return err_setx(-EINVAL, "%s: truncated", what);
	memcpy(&h, b, sizeof(h));
	if (h.magic != MAGIC || h.kind != kind)
		return err_setx(-EINVAL, "%s: not a %s blob", what, what);
	if (h.version != KVMSTATE_VERSION)
		return err_setx(-EINVAL, "%s: version %u is not supported (%u)", what, h.version,
				KVMSTATE_VERSION);
	if (h.count > MAX_RECORDS)
		return err_setx(-EINVAL, "%s: %u records", what, h.count);
	for (unsigned i = 0; i < h.count; i++) {
		struct rec_hdr r;

		if (len - off < sizeof(r))
			return err_setx(-EINVAL, "%s: truncated", what);
		memcpy(&r, b + off, sizeof(r));
		off += sizeof(r);
		if (r.type == 0 || r.type >= R_MAX || !recs[r.type].name ||
		    recs[r.type].vm != (kind == KIND_VM))
			return err_setx(-EINVAL, "%s: unknown record %u", what, r.type);
		if (PAD8((size_t)r.len) > len - off)
			return err_setx(-EINVAL, "%s: record %s is truncated", what,
					recs[r.type].name);
		if (recs[r.type].size && r.len != recs[r.type].size)
			return err_setx(-EINVAL, "%s: record %s has %u bytes, expected %zu", what,
					recs[r.type].name, r.len, recs[r.type].size);
		if (out->p[r.type])
			return err_setx(-EINVAL, "%s: record %s appears twice", what,
					recs[r.type].name);
		out->p[r.type] = b + off;
		out->len[r.type] = r.len;
		off += PAD8((size_t)r.len);
	}
	if (off != len)
		return err_setx(-EINVAL, "%s: %zu trailing bytes", what, len - off);
	for (unsigned t = 1; t < R_MAX; t++)
		if (recs[t].name && recs[t].required && recs[t].vm == (kind == KIND_VM) &&
		    !out->p[t])
			return err_setx(-EINVAL, "%s: record %s is missing", what, recs[t].name);
	if (kind == KIND_VCPU) {
		size_t n = out->len[R_CPUID];

		if (!n || n % sizeof(struct kvm_cpuid_entry2) ||
		    n / sizeof(struct kvm_cpuid_entry2) > MAX_CPUID)
			return err_setx(-EINVAL, "%s: record CPUID has %zu bytes", what, n);
		n = out->len[R_MSRS];
		if (n % sizeof(struct kvm_msr_entry) || n / sizeof(struct kvm_msr_entry) > MAX_MSRS)
			return err_setx(-EINVAL, "%s: record MSRS has %zu bytes", what, n);
		if (!out->p[R_XSAVE] == !out->p[R_FPU])
			return err_setx(-EINVAL, "%s: needs exactly one of XSAVE and FPU", what);
		if (out->p[R_XSAVE] &&
		    (out->len[R_XSAVE] < sizeof(struct kvm_xsave) || out->len[R_XSAVE] > MAX_XSAVE))
			return err_setx(-EINVAL, "%s: record XSAVE has %zu bytes", what,
					out->len[R_XSAVE]);
	}
	return 0;
}

int kvmstate_vcpu_parse(const void *blob, size_t len)
{
	struct parsed p;

	return parse(blob, len, KIND_VCPU, &p);
}

int kvmstate_vm_parse(const void *blob, size_t len, struct kvmstate_vm_info *info)
{
	struct parsed p;
	int ret = parse(blob, len, KIND_VM, &p);

	if (!ret && info) {
		struct kvm_clock_data c;

		memcpy(&c, p.p[R_CLOCK], sizeof(c));
		info->clock_ns = c.clock;
		memcpy(&info->realtime_ns, p.p[R_REALTIME], sizeof(info->realtime_ns));
	}
	return ret;
}

/* ---- vCPU ---- */

static int get_msr_list(int kvm_fd, struct kvm_msr_list **out)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;

	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return err_set(-errno, "KVM_GET_MSR_INDEX_LIST");
	if (probe.nmsrs > MAX_MSRS)
		probe.nmsrs = MAX_MSRS;
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
	if (!l)
		return err_set(-ENOMEM, "MSR list");
	l->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		free(l);
		return err_set(-errno, "KVM_GET_MSR_INDEX_LIST");
	}
	*out = l;
	return 0;
}

/* Every MSR of list the vCPU can read, into *out (count in *n). */
static int read_msrs(int vcpu_fd, const struct kvm_msr_list *list, struct kvm_msr_entry *out,
		     unsigned *n)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + list->nmsrs * sizeof(m->entries[0]));
	unsigned next = 0;

	if (!m)
		return err_set(-ENOMEM, "MSRs");
	*n = 0;
	while (next < list->nmsrs) {
		int got;

		m->nmsrs = list->nmsrs - next;
		for (unsigned i = 0; i < m->nmsrs; i++)
			m->entries[i] = (struct kvm_msr_entry){ .index = list->indices[next + i] };
		got = ioctl(vcpu_fd, KVM_GET_MSRS, m);
		if (got < 0) {
			int ret = err_set(-errno, "KVM_GET_MSRS");

			free(m);
			return ret;
		}
		memcpy(out + *n, m->entries, (size_t)got * sizeof(m->entries[0]));
		*n += (unsigned)got;
		next += (unsigned)got + 1; /* skip the one KVM could not read */
	}
	free(m);
	return 0;
}

/* One fixed-size KVM_GET_* into record rec. */
static int get_put(struct blob *b, int fd, unsigned long req, enum rec rec)
{
	uint64_t buf[1024 / 8]; /* the largest fixed record, struct kvm_lapic_state */

	_Static_assert(sizeof(struct kvm_lapic_state) <= sizeof(buf), "record buffer");
	if (recs[rec].size > sizeof(buf))
		return err_setx(-EINVAL, "record %s too large", recs[rec].name);
	if (ioctl(fd, req, buf) < 0)
		return err_set(-errno, "KVM_GET_%s", recs[rec].name);
	put(b, rec, buf, recs[rec].size);
	return 0;
}

/* XSAVE (KVM_GET_XSAVE2 when the state outgrows 4 KiB), or the legacy FPU. */
static int save_fpu(struct blob *b, int kvm_fd, int vcpu_fd)
{
	int size = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	struct kvm_xsave *x;
	int ret = 0;

	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) <= 0)
		return get_put(b, vcpu_fd, KVM_GET_FPU, R_FPU);
	if (size < (int)sizeof(struct kvm_xsave))
		size = sizeof(struct kvm_xsave);
	if (size > (int)MAX_XSAVE)
		return err_setx(-ENOTSUP, "XSAVE state of %d bytes", size);
	x = calloc(1, (size_t)size);
	if (!x)
		return err_set(-ENOMEM, "XSAVE");
	if (ioctl(vcpu_fd, size > (int)sizeof(*x) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, x) < 0)
		ret = err_set(-errno, "KVM_GET_XSAVE");
	else
		put(b, R_XSAVE, x, (size_t)size);
	free(x);
	return ret;
}

static int save_cpuid(struct blob *b, int vcpu_fd)
{
	struct kvm_cpuid2 *cpuid =
		calloc(1, sizeof(*cpuid) + MAX_CPUID * sizeof(cpuid->entries[0]));
	int ret = 0;

	if (!cpuid)
		return err_set(-ENOMEM, "CPUID");
	cpuid->nent = MAX_CPUID;
	if (ioctl(vcpu_fd, KVM_GET_CPUID2, cpuid) < 0)
		ret = err_set(-errno, "KVM_GET_CPUID2");
	else
		put(b, R_CPUID, cpuid->entries, cpuid->nent * sizeof(cpuid->entries[0]));
	free(cpuid);
	return ret;
}

static int save_msrs(struct blob *b, int kvm_fd, int vcpu_fd)
{
	struct kvm_msr_list *list = NULL;
	struct kvm_msr_entry *msrs = NULL;
	unsigned n = 0;
	int ret = get_msr_list(kvm_fd, &list);

	if (ret)
		return ret;
	msrs = calloc(list->nmsrs ? list->nmsrs : 1, sizeof(*msrs));
	ret = msrs ? read_msrs(vcpu_fd, list, msrs, &n) : err_set(-ENOMEM, "MSRs");
	if (!ret)
		put(b, R_MSRS, msrs, n * sizeof(*msrs));
	free(msrs);
	free(list);
	return ret;
}

int kvmstate_vcpu_save(int kvm_fd, int vcpu_fd, void **out, size_t *len)
{
	struct blob b;
	int ret, khz;

	blob_start(&b, KIND_VCPU);
	ret = save_cpuid(&b, vcpu_fd);
	if (!ret)
		ret = get_put(&b, vcpu_fd, KVM_GET_REGS, R_REGS);
	if (!ret)
		ret = get_put(&b, vcpu_fd, KVM_GET_SREGS, R_SREGS);
	if (!ret)
		ret = save_fpu(&b, kvm_fd, vcpu_fd);
	if (!ret && ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0)
		ret = get_put(&b, vcpu_fd, KVM_GET_XCRS, R_XCRS);
	if (!ret)
		ret = get_put(&b, vcpu_fd, KVM_GET_DEBUGREGS, R_DEBUGREGS);
	if (!ret)
		ret = get_put(&b, vcpu_fd, KVM_GET_LAPIC, R_LAPIC);
	if (!ret)
		ret = get_put(&b, vcpu_fd, KVM_GET_MP_STATE, R_MP_STATE);
	if (!ret)
		ret = get_put(&b, vcpu_fd, KVM_GET_VCPU_EVENTS, R_EVENTS);
	if (!ret)
		ret = save_msrs(&b, kvm_fd, vcpu_fd);
	if (!ret) {
		khz = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
		if (khz > 0)
			put(&b, R_TSC_KHZ, &(uint32_t){ (uint32_t)khz }, sizeof(uint32_t));
		else
			ret = err_set(khz < 0 ? -errno : -EINVAL, "KVM_GET_TSC_KHZ");
	}
	return blob_end(&b, out, len, ret);
}

/* MSRs in restore order: the TSC first, the TSC deadline last; the TSC moved on. */
static struct kvm_msrs *prepare_msrs(const struct parsed *p, uint64_t advance_ns)
{
	unsigned n = (unsigned)(p->len[R_MSRS] / sizeof(struct kvm_msr_entry)), k = 0;
	const struct kvm_msr_entry *in = p->p[R_MSRS];
	struct kvm_msrs *m = calloc(1, sizeof(*m) + (n ? n : 1) * sizeof(m->entries[0]));
	uint32_t khz;

	if (!m)
		return NULL;
	memcpy(&khz, p->p[R_TSC_KHZ], sizeof(khz));
	for (int pass = 0; pass < 3; pass++)
		for (unsigned i = 0; i < n; i++) {
			struct kvm_msr_entry e;
			int want;

			memcpy(&e, &in[i], sizeof(e));
			want = e.index == MSR_IA32_TSC		  ? 0
			       : e.index == MSR_IA32_TSC_DEADLINE ? 2
								  : 1;
			if (want != pass)
				continue;
			if (e.index == MSR_IA32_TSC)
				e.data +=
					(uint64_t)((unsigned __int128)advance_ns * khz / 1000000u);
			m->entries[k++] = e;
		}
	m->nmsrs = k;
	return m;
}

int kvmstate_vcpu_restore(int vcpu_fd, const void *blob, size_t len, uint64_t advance_ns)
{
	struct parsed p;
	struct kvm_cpuid2 *cpuid;
	struct kvm_msrs *msrs;
	size_t ncpuid;
	uint32_t khz;
	int ret = parse(blob, len, KIND_VCPU, &p), cur, set;

	if (ret)
		return ret;
	ncpuid = p.len[R_CPUID] / sizeof(struct kvm_cpuid_entry2);
	cpuid = calloc(1, sizeof(*cpuid) + p.len[R_CPUID]);
	if (!cpuid)
		return err_set(-ENOMEM, "CPUID");
	cpuid->nent = (uint32_t)ncpuid;
	memcpy(cpuid->entries, p.p[R_CPUID], p.len[R_CPUID]);
	ret = ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid) < 0 ? err_set(-errno, "KVM_SET_CPUID2") : 0;
	free(cpuid);
	if (ret)
		return ret;
	memcpy(&khz, p.p[R_TSC_KHZ], sizeof(khz));
	cur = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
	if (cur > 0 && (uint32_t)cur != khz && ioctl(vcpu_fd, KVM_SET_TSC_KHZ, khz) < 0)
		log_debug("KVM_SET_TSC_KHZ %u (host %d): %s", khz, cur, strerror(errno));

#define SET(req, rec)                                                                              \
	do {                                                                                       \
		if (ioctl(vcpu_fd, req, p.p[rec]) < 0)                                             \
			return err_set(-errno, "KVM_SET_%s", recs[rec].name);                      \
	} while (0)
	SET(KVM_SET_MP_STATE, R_MP_STATE);
	SET(KVM_SET_REGS, R_REGS);
	SET(KVM_SET_SREGS, R_SREGS);
	if (p.p[R_XSAVE]) {
		/* KVM reads the whole (possibly XSAVE2-sized) buffer: give it an aligned copy. */
		void *x = calloc(1, MAX(p.len[R_XSAVE], sizeof(struct kvm_xsave)));

		if (!x)
			return err_set(-ENOMEM, "XSAVE");
		memcpy(x, p.p[R_XSAVE], p.len[R_XSAVE]);
		ret = ioctl(vcpu_fd, KVM_SET_XSAVE, x) < 0 ? err_set(-errno, "KVM_SET_XSAVE") : 0;
		free(x);
		if (ret)
			return ret;
	} else {
		SET(KVM_SET_FPU, R_FPU);
	}
	if (p.p[R_XCRS])
		SET(KVM_SET_XCRS, R_XCRS);
	SET(KVM_SET_DEBUGREGS, R_DEBUGREGS);
	SET(KVM_SET_LAPIC, R_LAPIC);
	msrs = prepare_msrs(&p, advance_ns);
	if (!msrs)
		return err_set(-ENOMEM, "MSRs");
	set = ioctl(vcpu_fd, KVM_SET_MSRS, msrs);
	if (set < 0)
		ret = err_set(-errno, "KVM_SET_MSRS");
	else if ((unsigned)set < msrs->nmsrs)
		ret = err_setx(-EINVAL, "KVM_SET_MSRS: MSR 0x%x refused", msrs->entries[set].index);
	free(msrs);
	if (ret)
		return ret;
	SET(KVM_SET_VCPU_EVENTS, R_EVENTS);
#undef SET
	return 0;
}

/* ---- VM ---- */

int kvmstate_vm_save(int vm_fd, void **out, size_t *len)
{
	struct kvm_clock_data clock;
	struct timespec ts;
	struct blob b;
	uint64_t rt;
	int ret = 0;

	blob_start(&b, KIND_VM);
	for (uint32_t chip = 0; chip < 3; chip++) {
		struct kvm_irqchip ic = { .chip_id = chip };

		if (ioctl(vm_fd, KVM_GET_IRQCHIP, &ic) < 0) {
			ret = err_set(-errno, "KVM_GET_IRQCHIP %u", chip);
			goto out;
		}
		put(&b, R_PIC0 + chip, &ic, sizeof(ic));
	}
	ret = get_put(&b, vm_fd, KVM_GET_PIT2, R_PIT);
	if (ret)
		goto out;
	memset(&clock, 0, sizeof(clock));
	if (ioctl(vm_fd, KVM_GET_CLOCK, &clock) < 0) {
		ret = err_set(-errno, "KVM_GET_CLOCK");
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	rt = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	put(&b, R_CLOCK, &clock, sizeof(clock));
	put(&b, R_REALTIME, &rt, sizeof(rt));
out:
	return blob_end(&b, out, len, ret);
}

int kvmstate_vm_restore(int vm_fd, const void *blob, size_t len, uint64_t advance_ns)
{
	struct kvm_clock_data clock;
	struct parsed p;
	int ret = parse(blob, len, KIND_VM, &p);

	if (ret)
		return ret;
	if (ioctl(vm_fd, KVM_SET_PIT2, p.p[R_PIT]) < 0)
		return err_set(-errno, "KVM_SET_PIT2");
	for (uint32_t chip = 0; chip < 3; chip++) {
		struct kvm_irqchip ic;

		memcpy(&ic, p.p[R_PIC0 + chip], sizeof(ic));
		if (ic.chip_id != chip)
			return err_setx(-EINVAL, "VM state: irqchip record %u names chip %u", chip,
					ic.chip_id);
		if (ioctl(vm_fd, KVM_SET_IRQCHIP, &ic) < 0)
			return err_set(-errno, "KVM_SET_IRQCHIP %u", chip);
	}
	memcpy(&clock, p.p[R_CLOCK], sizeof(clock));
	clock.clock += advance_ns;
	clock.flags = 0;
	clock.pad0 = 0;
	clock.realtime = 0;
	clock.host_tsc = 0;
	memset(clock.pad, 0, sizeof(clock.pad));
	if (ioctl(vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return err_set(-errno, "KVM_SET_CLOCK");
	return 0;
}
