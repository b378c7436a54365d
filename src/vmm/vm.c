// SPDX-License-Identifier: Apache-2.0
/*
 * VM assembly and lifetime (see vm.h).  vm_create() and vm_run() run on the
 * main thread, which becomes the event-loop thread; vCPU threads call back
 * into vm_request_exit(), vm_vcpu_checkpoint() and the device callbacks
 * below.  vm->lock guards the exit and pause state.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "arch/x86/regs.h"
#include "block/aio.h"
#include "block/disk.h"
#include "boot/bzimage.h"
#include "boot/initramfs.h"
#include "boot/kernel.h"
#include "boot/loader.h"
#include "boot/modules.h"
#include "devices/boot_timer.h"
#include "devices/i8042.h"
#include "devices/pm.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "api/agent.h"
#include "api/server.h"
#include "virtio/blk.h"
#include "virtio/vsock.h"
#include "snapshot/state.h"
#include "snapshot/template.h"
#include "irq.h"
#include "lib/err.h"
#define LOG_TAG "vm"
#include "lib/log.h"
#include "lib/util.h"
#include "control.h"
#include "snapshot.h"
#include "vm.h"

struct boot_files {
	void *kernel;
	size_t kernel_len;
	void *initrd;
	size_t initrd_len;
};

#define INITRD_MAX_SIZE (2 * GiB)

/* Guest arguments implied by the machine Clone builds: no PCI bus yet. */
#define MACHINE_CMDLINE "pci=off"

static void irq_line_kvm(void *opaque, unsigned gsi, int level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (ioctl(vm->fd, KVM_IRQ_LINE, &irq) < 0)
		log_warn_rl("KVM_IRQ_LINE gsi %u: %s", gsi, strerror(errno));
}

static double ms(uint64_t from, uint64_t to)
{
	return to > from ? (double)(to - from) / 1e6 : 0.0;
}

static void print_boot_timing(struct vm *vm)
{
	const struct vm_timing *t = &vm->t;

	fprintf(stderr,
		"clone: boot-timing: memory %.3f ms, load %.3f ms, devices %.3f ms, "
		"first KVM_RUN at %.3f ms\n"
		"clone: boot-timing: guest init at %.3f ms after clone started "
		"(%.3f ms after the first KVM_RUN)\n",
		ms(t->start, t->mem), ms(t->mem, t->load), ms(t->load, t->devices),
		ms(t->start, t->first_run), ms(t->start, t->init), ms(t->first_run, t->init));
}

/* vCPU thread: the guest's init wrote the boot-timer port. */
static void on_boot_timer(void *opaque, uint8_t value)
{
	struct vm *vm = opaque;
	bool first;

	if (value != BOOT_TIMER_INIT)
		return;
	pthread_mutex_lock(&vm->lock);
	first = !vm->t.init;
	if (first)
		vm->t.init = monotonic_ns();
	pthread_mutex_unlock(&vm->lock);
	if (first && vm->cfg->boot_timing)
		print_boot_timing(vm);
}

static void on_pm_event(void *opaque, enum pm_event ev)
{
	struct vm *vm = opaque;

	vm_request_exit(vm, ev == PM_EVENT_POWEROFF ? VM_EXIT_POWEROFF : VM_EXIT_RESET, 0);
}

static void on_reset(void *opaque)
{
	vm_request_exit(opaque, VM_EXIT_RESET, 0);
}

static void on_quit(void *opaque)
{
	vm_request_exit(opaque, VM_EXIT_QUIT, 0);
}

static void on_signal(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;

	if (read(vm->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("signal %u: shutting down", si.ssi_signo);
	vm_request_exit(vm, VM_EXIT_SIGNAL, 128 + (int)si.ssi_signo);
}

void vm_request_exit(struct vm *vm, enum vm_exit_reason reason, int code)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->exit_reason == VM_EXIT_NONE) {
		vm->exit_reason = reason;
		vm->exit_code = code;
	}
	vm->stopping = true;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	evl_stop(&vm->loop);
}

bool vm_vcpu_checkpoint(struct vm *vm)
{
	bool run;

	pthread_mutex_lock(&vm->lock);
	if (vm->pause_requested && !vm->stopping) {
		vm->parked++;
		pthread_cond_broadcast(&vm->cond);
		while (vm->pause_requested && !vm->stopping)
			pthread_cond_wait(&vm->cond, &vm->lock);
		vm->parked--;
	}
	run = !vm->stopping;
	pthread_mutex_unlock(&vm->lock);
	return run;
}

void vm_note_first_run(struct vm *vm)
{
	if (!vm->t.first_run)
		vm->t.first_run = monotonic_ns();
}

int vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_requested = true;
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_lock(&vm->lock);
	while (vm->parked < vm->nr_vcpus && !vm->stopping)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	if (vm->stopping)
		return err_setx(-ESHUTDOWN, "the VM is stopping");
	/*
	 * Tell kvmclock the guest was stopped on purpose, so its watchdogs do
	 * not report soft lockups after the resume (EINVAL: no kvmclock).
	 */
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (ioctl(vm->vcpus[i].fd, KVM_KVMCLOCK_CTRL, 0) < 0 && errno != EINVAL)
			log_debug("KVM_KVMCLOCK_CTRL vCPU %u: %s", i, strerror(errno));
	return 0;
}

bool vm_paused(struct vm *vm)
{
	bool paused;

	pthread_mutex_lock(&vm->lock);
	paused = vm->pause_requested && !vm->stopping;
	pthread_mutex_unlock(&vm->lock);
	return paused;
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_requested = false;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

static int create_kvm_vm(struct vm *vm)
{
	uint64_t identity = LAYOUT_IDENTITY_MAP;
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	vm->fd = ioctl(vm->kvm.fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		vm->fd = -1;
		return err_set(-errno, "KVM_CREATE_VM");
	}
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_TSS) < 0)
		return err_set(-errno, "KVM_SET_TSS_ADDR");
	if (ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
		return err_set(-errno, "KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return err_set(-errno, "KVM_CREATE_IRQCHIP");
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0)
		return err_set(-errno, "KVM_CREATE_PIT2");
	return irq_setup_routing(vm->fd);
}

static int setup_memory(struct vm *vm, const struct snap_reader *state)
{
	unsigned flags = vm->cfg->ksm ? GM_MERGEABLE : 0;
	int ret = gm_init(&vm->mem, vm->cfg->mem_mb * MiB, flags);

	if (!ret && vm->cfg->tmpl)
		ret = snapshot_map_memory(vm, vm->cfg->tmpl, state);
	if (ret)
		return ret;
	for (unsigned i = 0; i < vm->mem.nr; i++) {
		const struct gm_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region kr = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};

		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0)
			return err_set(-errno, "KVM_SET_USER_MEMORY_REGION slot %u", i);
	}
	return 0;
}

static int read_kernel(const struct vm_config *cfg, void **data, size_t *len)
{
	char path[4096];
	int ret;

	if (cfg->kernel) {
		snprintf(path, sizeof(path), "%s", cfg->kernel);
	} else {
		ret = kernel_find_default(path, sizeof(path));
		if (ret)
			return ret;
	}
	ret = kernel_read(path, data, len);
	if (ret)
		return ret;
	if (cfg->kernel_sha256) {
		ret = kernel_verify_sha256(*data, *len, cfg->kernel_sha256);
		if (ret) {
			free(*data);
			*data = NULL;
		}
	}
	return ret;
}

/* The initramfs that mounts the VM's disks, with the kernel's own modules. */
static int build_initramfs(struct vm *vm, struct boot_files *f)
{
	struct initramfs_spec spec = {
		.root = vm->storage.root,
		.upper = vm->storage.upper,
		/* Always: a fork of this VM may get disks (hotplug slots) later. */
		.virtio_blk = true,
		.agent = !vm->cfg->no_agent && !vm->cfg->no_vsock,
		.acpid = true,
		.virtio_net = vm->cfg->nr_nics > 0,
		.modules_dir = vm->cfg->modules,
	};
	char kver[256];
	int ret;

	if (kernel_version(f->kernel, f->kernel_len, kver, sizeof(kver)) == 0)
		spec.kver = kver;
	ret = initramfs_build_spec(&spec, &f->initrd, &f->initrd_len);
	/*
	 * The default guest without the host's modules for this kernel (a
	 * custom kernel): it still boots, without the drivers the agent and
	 * the power button need.  Disk roots cannot do without theirs.
	 */
	if (ret == -ENOENT && !vm->storage.nr && !vm->cfg->modules) {
		log_warn("%s; the default guest boots without modules: the agent (clone exec) and "
			 "the ACPI power button work only if the kernel has their drivers built in",
			 err_msg());
		spec.modules_dir = MODULES_NONE;
		ret = initramfs_build_spec(&spec, &f->initrd, &f->initrd_len);
	}
	vm->agent_expected = !ret && spec.agent;
	return ret;
}

/* Read and check the user's files before touching KVM: mistakes there are input errors. */
static int read_inputs(struct vm *vm, struct boot_files *f, struct snap_reader *r)
{
	int ret;

	if (vm->cfg->tmpl) {
		/* Read again with the state: the same checks the CLI made, the sections kept. */
		ret = template_load(vm->cfg->tmpl->name, vm->cfg->tmpl, r);
		if (!ret)
			ret = storage_open(vm->cfg, &vm->storage);
		vm->agent_expected = !ret && vm->cfg->tmpl->agent_expected;
		vm->hotplug_first = vm->cfg->tmpl->hotplug_first;
		vm->hotplug_slots = vm->cfg->tmpl->hotplug_slots;
		return ret;
	}
	ret = read_kernel(vm->cfg, &f->kernel, &f->kernel_len);
	if (ret)
		return ret;
	ret = storage_open(vm->cfg, &vm->storage);
	if (ret)
		return ret;
	if (vm->cfg->initrd)
		return read_file("initrd", vm->cfg->initrd, INITRD_MAX_SIZE, &f->initrd,
				 &f->initrd_len);
	return build_initramfs(vm, f);
}

static void free_inputs(struct boot_files *f)
{
	free(f->kernel);
	free(f->initrd);
	memset(f, 0, sizeof(*f));
}

static int load_guest(struct vm *vm, const struct boot_files *f)
{
	struct acpi_mmio_dev mmio[VDEV_MAX];
	unsigned nr_acpi = vdev_acpi(&vm->vdevs, vdev_spare_slots(&vm->vdevs), mmio, VDEV_MAX);
	struct acpi_config acfg = {
		.nr_cpus = vm->nr_vcpus,
		.mmio = mmio,
		.nr_mmio = vm->vdevs.nr,
		.vmgenid_gpa = LAYOUT_VMGENID,
		.ged_gsi = IRQ_GED,
		.nr_hotplug = nr_acpi - vm->vdevs.nr,
		.hotplug_gpa = LAYOUT_HOTPLUG,
	};
	struct e820_entry e820[E820_MAX];
	struct boot_setup setup = { 0 };
	struct boot_entry entry;
	enum regs_boot_mode mode;
	char *cmdline;
	int ret;

	vm->hotplug_first = vm->vdevs.nr;
	vm->hotplug_slots = acfg.nr_hotplug;
	ret = acpi_build(&vm->mem, &acfg, &setup.rsdp);
	if (!ret)
		ret = snapshot_write_identity(vm, NULL);
	if (ret)
		return ret;
	cmdline = config_guest_cmdline(vm->cfg, MACHINE_CMDLINE);
	if (!cmdline)
		return err_set(-ENOMEM, "guest command line");
	setup.cmdline = cmdline;
	setup.initrd = f->initrd;
	setup.initrd_size = f->initrd_len;
	setup.e820 = e820;
	setup.e820_nr = e820_build(&vm->mem, e820, E820_MAX);
	ret = loader_load(&vm->mem, f->kernel, f->kernel_len, &setup, &entry);
	if (ret)
		goto out;
	log_info("guest command line: %s", cmdline);
	mode = entry.mode == BOOT_ENTRY_PVH32 ? REGS_BOOT_PVH32 : REGS_BOOT_LONG64;
	ret = regs_write_gdt(&vm->mem, mode);
	if (!ret)
		ret = regs_write_page_tables(&vm->mem);
	for (unsigned i = 0; !ret && i < vm->nr_vcpus; i++)
		ret = regs_setup_vcpu(vm->vcpus[i].fd, i == 0, mode, entry.ip, entry.boot_info);
out:
	free(cmdline);
	return ret;
}

static int setup_devices(struct vm *vm)
{
	const struct irq_line com1 = { irq_line_kvm, vm, IRQ_COM1 };
	const struct irq_line sci = { irq_line_kvm, vm, IRQ_SCI };
	int ret;

	ret = serial_create(&com1, console_output, &vm->console, &vm->serial);
	if (!ret)
		ret = bus_add(&vm->pio, PORT_COM1, 8, &serial_bus_ops, vm->serial, "serial");
	if (ret)
		return ret;
	serial_set_rx_ready(vm->serial, console_rx_ready, &vm->console);
	ret = rtc_create(NULL, &vm->rtc);
	if (!ret)
		ret = bus_add(&vm->pio, PORT_RTC, 2, &rtc_bus_ops, vm->rtc, "rtc");
	if (!ret)
		ret = i8042_create(on_reset, vm, &vm->i8042);
	if (!ret)
		ret = bus_add(&vm->pio, PORT_I8042, 5, &i8042_bus_ops, vm->i8042, "i8042");
	if (!ret)
		ret = pm_create(&sci, on_pm_event, vm, &vm->pm);
	if (!ret)
		ret = bus_add(&vm->pio, PORT_PM_BASE, 16, &pm_bus_ops, vm->pm, "acpi-pm");
	if (!ret)
		ret = boot_timer_create(on_boot_timer, vm, &vm->boot_timer);
	if (!ret)
		ret = bus_add(&vm->pio, PORT_BOOT_TIMER, 1, &boot_timer_bus_ops, vm->boot_timer,
			      "boot-timer");
	return ret;
}

static void on_agent_changed(void *opaque)
{
	struct vm *vm = opaque;

	if (vm->api)
		api_agent_changed(vm->api);
}

/*
 * virtio-vsock and the agent's channel.  The CID must be free both in
 * vhost-vsock and as the agent's host port (AP_HOST_PORT(cid)); an
 * automatic CID moves on when either is taken.  Without vhost-vsock an
 * automatic configuration boots anyway (no agent: said once); an explicit
 * --cid is an error.
 */
static int setup_vsock(struct vm *vm)
{
	struct vsock_config vc = { .cid = vm->cfg->cid };
	int ret;

	if (vm->cfg->no_vsock) {
		snprintf(vm->agent_why, sizeof(vm->agent_why),
			 "the VM runs without virtio-vsock (--no-vsock)");
		vm->agent_expected = false;
		return 0;
	}
	ret = vsock_create(&vc, &vm->mem, &vm->vsock);
	if (ret) {
		if (vm->cfg->cid)
			return ret;
		log_warn("%s; the VM runs without vsock, so without the agent", err_msg());
		snprintf(vm->agent_why, sizeof(vm->agent_why), "the VM has no vsock: %s",
			 err_msg());
		vm->agent_expected = false;
		return 0;
	}
	/* A restore keeps the CID the guest knew when it can. */
	if (vm->cfg->preferred_cid && !vm->cfg->cid &&
	    vsock_set_cid(vm->vsock, vm->cfg->preferred_cid))
		log_info("CID %llu is taken (%s): the VM gets CID %llu",
			 (unsigned long long)vm->cfg->preferred_cid, err_msg(),
			 (unsigned long long)vsock_cid(vm->vsock));
	for (unsigned tries = 0;; tries++) {
		struct ap_identity nets[CONFIG_MAX_NICS];
		struct agent_host_config ac = {
			.cid = (uint32_t)vsock_cid(vm->vsock),
			.hostname = vm->cfg->name,
			.nets = nets,
			.nr_nets = network_identities(&vm->net, nets),
			.changed = on_agent_changed,
			.opaque = vm,
		};

		ret = agent_host_create(&vm->loop, &ac, &vm->agent);
		if (ret != -EADDRINUSE || vm->cfg->cid || tries >= 64)
			break;
		ret = vsock_set_cid(vm->vsock, 0);
		if (ret)
			break;
	}
	if (ret)
		return ret;
	if (!vm->agent_expected && !vm->agent_why[0])
		snprintf(vm->agent_why, sizeof(vm->agent_why),
			 vm->cfg->initrd
				 ? "the VM boots its own initramfs (--initrd), which starts "
				   "no clone-agent that Clone knows of"
				 : "the VM runs without the agent (--no-agent)");
	return vdev_add(vm, &vm->vdevs, vsock_virtio(vm->vsock));
}

/* virtio-blk for the storage's disk i, in the next virtio slot. */
static int add_blk(struct vm *vm, unsigned i)
{
	struct storage *st = &vm->storage;
	struct blk_config bc = {
		.disk = st->disks[i].disk,
		.ro = st->disks[i].ro,
		.serial = st->disks[i].serial,
		.rl = st->disks[i].rl,
	};
	struct vm_disk_ref *ref = &vm->disk_refs[vm->nr_blks];
	int ret;

	ref->disk = st->disks[i].disk;
	ref->ro = st->disks[i].ro;
	ref->has_backing = disk_has_backing(ref->disk);
	snprintf(ref->serial, sizeof(ref->serial), "%s", st->disks[i].serial);
	st->disks[i].disk = NULL; /* blk_create owns it now, even on failure */
	ret = blk_create(&bc, &vm->mem, vm->aio, &vm->loop, &vm->blks[vm->nr_blks]);
	if (ret)
		return ret;
	return vdev_add(vm, &vm->vdevs, blk_virtio(vm->blks[vm->nr_blks++]));
}

/*
 * The NICs (the guest's eth0, eth1, ...), virtio-blk for every disk in
 * attach order (vda, vdb, ...), then vsock (whose agent gets the NICs'
 * addresses); last the disks a VM from a template adds (hotplug slots).
 */
static int setup_virtio(struct vm *vm)
{
	struct storage *st = &vm->storage;
	int ret;

	/* First: --net user forks helpers, best before the block workers' threads exist. */
	ret = network_setup(vm, &vm->net);
	if (ret)
		return ret;
	if (st->nr) {
		ret = aio_pool_create(AIO_DEFAULT_THREADS, &vm->aio);
		if (ret)
			return ret;
	}
	for (unsigned i = 0; i < st->nr_boot && !ret; i++)
		ret = add_blk(vm, i);
	if (!ret)
		ret = setup_vsock(vm);
	for (unsigned i = st->nr_boot; i < st->nr && !ret; i++) {
		if (vm->vdevs.nr >= vm->hotplug_first + vm->hotplug_slots)
			return err_setx(-ENOSPC, "no free hotplug slot for disk %s",
					st->disks[i].serial);
		ret = add_blk(vm, i);
	}
	return ret;
}

static int setup_signals(struct vm *vm)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before any thread starts, so every thread inherits the mask. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return err_setx(-EINVAL, "pthread_sigmask");
	vm->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm->sig_fd < 0)
		return err_set(-errno, "signalfd");
	return evl_add(&vm->loop, vm->sig_fd, EPOLLIN, on_signal, vm);
}

int vm_create(struct vm_config *cfg, uint64_t start_ns, struct vm **out, bool *input_error)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	struct boot_files files = { 0 };
	struct snap_reader state = { 0 };
	int ret;

	*input_error = false;
	if (!vm)
		return err_set(-ENOMEM, "vm");
	vm->cfg = cfg;
	vm->fd = vm->sig_fd = -1;
	vm->kvm.fd = -1;
	vm->console.in_fd = vm->console.out_fd = vm->console.wake_fd = -1;
	vm->t.start = start_ns;
	vm->created = (uint64_t)time(NULL);
	if (getrandom(vm->vm_id, sizeof(vm->vm_id), 0) != (ssize_t)sizeof(vm->vm_id))
		memset(vm->vm_id, 0, sizeof(vm->vm_id));
	vm->nr_vcpus = cfg->vcpus;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vm->loop.epfd = vm->loop.wake_fd = -1;

	ret = read_inputs(vm, &files, &state);
	if (ret) {
		*input_error = true;
		goto fail;
	}
	ret = evl_init(&vm->loop);
	if (ret)
		goto fail;
	ret = setup_signals(vm);
	if (ret)
		goto fail;
	ret = kvm_host_open(&vm->kvm, "/dev/kvm");
	if (ret)
		goto fail;
	if (cfg->vcpus > vm->kvm.max_vcpus) {
		ret = err_setx(-EINVAL, "--vcpus %u: this host's KVM allows at most %u", cfg->vcpus,
			       vm->kvm.max_vcpus);
		goto fail;
	}
	ret = create_kvm_vm(vm);
	if (ret)
		goto fail;
	ret = setup_memory(vm, &state);
	if (ret)
		goto fail;
	vm->t.mem = monotonic_ns();

	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		ret = err_set(-ENOMEM, "vcpus");
		goto fail;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].fd = -1;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_create(vm, i, &vm->vcpus[i]);
		if (ret)
			goto fail;
	}
	ret = setup_virtio(vm);
	if (ret)
		goto fail;
	if (!cfg->tmpl) {
		ret = load_guest(vm, &files);
		if (ret) {
			*input_error = true;
			goto fail;
		}
	}
	free_inputs(&files);
	vm->t.load = monotonic_ns();

	ret = console_open(&vm->console, cfg->serial, cfg->serial_path);
	if (ret)
		goto fail;
	ret = setup_devices(vm);
	if (ret)
		goto fail;
	ret = console_attach(&vm->console, &vm->loop, vm->serial, on_quit, vm);
	if (!ret && cfg->console_path)
		ret = console_listen(&vm->console, cfg->console_path);
	if (!ret && cfg->tmpl)
		ret = snapshot_restore(vm, cfg->tmpl, &state);
	if (ret)
		goto fail;
	snapr_free(&state);
	memset(&state, 0, sizeof(state));
	vm->t.devices = monotonic_ns();
	ret = control_start(vm);
	if (ret)
		goto fail;
	*out = vm;
	return 0;
fail:
	snapr_free(&state);
	free_inputs(&files);
	vm_destroy(vm);
	return ret;
}

enum vm_exit_reason vm_run(struct vm *vm, int *code)
{
	int ret = vcpu_init_signals();

	for (unsigned i = 0; !ret && i < vm->nr_vcpus; i++)
		ret = vcpu_start(&vm->vcpus[i]);
	if (ret) {
		log_err("%s", err_msg());
		vm_request_exit(vm, VM_EXIT_ERROR, 1);
	} else if (evl_run(&vm->loop) < 0) {
		log_err("%s", err_msg());
		vm_request_exit(vm, VM_EXIT_ERROR, 1);
	}
	pthread_mutex_lock(&vm->lock);
	vm->stopping = true;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(&vm->vcpus[i]);
	if (log_get_level() >= LOG_INFO) {
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			log_info("vCPU %u: %llu port I/O and %llu MMIO exits to the VMM", i,
				 (unsigned long long)vm->vcpus[i].exits_io,
				 (unsigned long long)vm->vcpus[i].exits_mmio);
	}
	*code = vm->exit_code;
	return vm->exit_reason;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	if (vm->vcpus) {
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			vcpu_destroy(&vm->vcpus[i]);
		free(vm->vcpus);
	}
	control_stop(vm);
	snapshot_track_free(vm);
	network_destroy(&vm->net);
	vdev_destroy_all(&vm->vdevs);
	vsock_destroy(vm->vsock);
	agent_host_destroy(vm->agent);
	for (unsigned i = 0; i < vm->nr_blks; i++)
		blk_destroy(vm->blks[i]);
	aio_pool_destroy(vm->aio);
	storage_close(&vm->storage);
	serial_destroy(vm->serial);
	rtc_destroy(vm->rtc);
	i8042_destroy(vm->i8042);
	pm_destroy(vm->pm);
	boot_timer_destroy(vm->boot_timer);
	console_close(&vm->console);
	if (vm->sig_fd >= 0)
		close(vm->sig_fd);
	evl_destroy(&vm->loop);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	gm_destroy(&vm->mem);
	if (vm->fd >= 0)
		close(vm->fd);
	kvm_host_close(&vm->kvm);
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->cond);
	free(vm);
}
