// SPDX-License-Identifier: Apache-2.0
/*
 * /dev/kvm checks (see kvm.h).  Main thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch/x86/cpuid.h"
#include "kvm.h"
#include "lib/err.h"
#include "lib/util.h"

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_IRQCHIP, "in-kernel irqchip (KVM_CAP_IRQCHIP)" },
	{ KVM_CAP_PIT2, "in-kernel PIT (KVM_CAP_PIT2)" },
	{ KVM_CAP_USER_MEMORY, "user memory regions (KVM_CAP_USER_MEMORY)" },
	{ KVM_CAP_IOEVENTFD, "ioeventfd (KVM_CAP_IOEVENTFD)" },
	{ KVM_CAP_IRQFD, "irqfd (KVM_CAP_IRQFD)" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_GET_SUPPORTED_CPUID (KVM_CAP_EXT_CPUID)" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
};

static int get_supported_cpuid(struct kvm_host *kvm)
{
	for (unsigned n = 128; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return err_set(-ENOMEM, "KVM_GET_SUPPORTED_CPUID");
		c->nent = n;
		if (ioctl(kvm->fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			kvm->supported_cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return err_set(-errno, "KVM_GET_SUPPORTED_CPUID");
	}
	return err_setx(-E2BIG, "KVM_GET_SUPPORTED_CPUID: too many entries");
}

int kvm_host_open(struct kvm_host *kvm, const char *path)
{
	int ret, v;

	memset(kvm, 0, sizeof(*kvm));
	kvm->fd = open(path, O_RDWR | O_CLOEXEC);
	if (kvm->fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			return err_setx(
				ret,
				"%s does not exist: this host has no KVM (no hardware "
				"virtualisation, or the kvm_intel/kvm_amd module is not loaded)",
				path);
		if (ret == -EACCES || ret == -EPERM)
			return err_setx(ret,
					"%s: permission denied (add your user to the 'kvm' "
					"group or run as root)",
					path);
		return err_set(ret, "open %s", path);
	}
	/*
	 * PVM (kvm_pvm) serves /dev/kvm without hardware virtualisation but
	 * runs only kernels built as PVM guests: an ordinary guest would sit
	 * there without a single exit.  Say so instead.
	 */
	if (access("/sys/module/kvm_pvm", F_OK) == 0 && access("/sys/module/kvm_amd", F_OK) &&
	    access("/sys/module/kvm_intel", F_OK)) {
		ret = err_setx(-ENOTSUP,
			       "%s is served by kvm_pvm (no hardware virtualisation), which runs "
			       "only PVM guest kernels; Clone needs kvm_intel or kvm_amd",
			       path);
		goto fail;
	}
	v = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		ret = err_setx(-ENOTSUP, "%s: KVM API version %d, Clone needs %d", path, v,
			       KVM_API_VERSION);
		goto fail;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(required_caps); i++) {
		if (ioctl(kvm->fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			ret = err_setx(-ENOTSUP, "KVM on this host lacks %s, which Clone needs",
				       required_caps[i].name);
			goto fail;
		}
	}
	kvm->vcpu_mmap_size = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->vcpu_mmap_size <= 0) {
		ret = err_set(-errno, "KVM_GET_VCPU_MMAP_SIZE");
		goto fail;
	}
	v = ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (v <= 0)
		v = ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	kvm->max_vcpus = v > 0 ? (unsigned)v : 4;
	ret = get_supported_cpuid(kvm);
	if (ret)
		goto fail;
	/*
	 * KVM_GET_SUPPORTED_CPUID leaves out the TSC-deadline timer because it
	 * depends on the in-kernel LAPIC (Documentation/virt/kvm/api.rst); we
	 * always have one.  Without it the guest calibrates the LAPIC timer
	 * against the PIT at every boot.
	 */
	if (ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0) {
		struct kvm_cpuid_entry2 *e = cpuid_find(kvm->supported_cpuid, 1, 0);

		if (e)
			e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
	}
	return 0;
fail:
	kvm_host_close(kvm);
	return ret;
}

void kvm_host_close(struct kvm_host *kvm)
{
	if (kvm->fd >= 0)
		close(kvm->fd);
	free(kvm->supported_cpuid);
	kvm->supported_cpuid = NULL;
	kvm->fd = -1;
}
