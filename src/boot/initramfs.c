// SPDX-License-Identifier: Apache-2.0
/*
 * The built-in default guest (see initramfs.h, docs/guest.md): busybox as
 * /init with an inittab, an rcS that mounts the usual filesystems and pings
 * the VMM's boot timer, and a profile that prints the ready line.  With
 * disks, rcS first loads their drivers (modules.c resolves them); for a
 * disk or overlay root the archive is instead busybox, the modules and a
 * generated /init script that mounts the root and switches to it.  Built
 * on the main thread before the VM exists; no state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_blob.h"
#include "arch/x86/layout.h"
#include "cpio.h"
#include "elf.h"
#include "initramfs.h"
#include "lib/err.h"
#include "lib/util.h"
#include "modules.h"

#define BUSYBOX_MAX_SIZE (64 * MiB)
#define NOT_INSTALLED "busybox-static is not installed: apt-get install busybox-static"

/*
 * busybox init reads this (busybox examples/inittab).  The shell runs on
 * ttyS0 itself, not /dev/console: only a real tty can be a controlling
 * terminal, which job control and Ctrl-C need.  "-" makes it a login shell,
 * so it reads /etc/profile.
 */
static const char inittab[] = "# Clone default guest: see docs/guest.md\n"
			      "::sysinit:/etc/init.d/rcS\n"
			      "ttyS0::respawn:-/bin/sh\n"
			      "::ctrlaltdel:/sbin/reboot\n"
			      "::shutdown:/bin/sync\n"
			      "::shutdown:/bin/umount -a -r 2>/dev/null\n";

/*
 * proc first: "busybox --install" finds its own path through
 * /proc/self/exe.  The kernel does not mount devtmpfs for an initramfs
 * (CONFIG_DEVTMPFS_MOUNT applies to the real root only), so rcS does.
 * The last line is the boot timer: one byte to an I/O port through
 * /dev/port, whose file offset is the port number (drivers/char/mem.c).
 */
#define RCS_HEAD                                                                                   \
	"#!/bin/sh\n"                                                                              \
	"# Clone default guest: early setup (docs/guest.md)\n"
/* Drivers' insmod lines go between the two (disks, vsock, the power button). */
#define RCS_FMT                                                                                    \
	"/bin/busybox mount -t proc proc /proc\n"                                                  \
	"/bin/busybox --install -s\n"                                                              \
	"mount -t sysfs sysfs /sys\n"                                                              \
	"mount -t devtmpfs devtmpfs /dev\n"                                                        \
	"mkdir -p /dev/pts /dev/shm\n"                                                             \
	"mount -t devpts devpts /dev/pts\n"                                                        \
	"mount -t tmpfs -o mode=1777 tmpfs /tmp\n"                                                 \
	"mount -t tmpfs -o mode=0755 tmpfs /run\n"                                                 \
	"hostname clone\n"                                                                         \
	"%s"                                                                                       \
	"# Boot timer: byte 0x%02x to I/O port 0x%x\n"                                             \
	"printf '\\%03o' | dd of=/dev/port bs=1 seek=%d count=1 conv=notrunc 2>/dev/null\n"

/*
 * Optional services, after the mounts: busybox acpid runs
 * /etc/acpi/PWRF/00000080 when the host presses the ACPI power button
 * (clone stop without the agent); clone-agent talks to the host over
 * vsock (docs/agent-protocol.md).
 */
static const char rcs_acpid[] = "# ACPI power button -> poweroff (docs/guest.md)\n"
				"acpid -c /etc/acpi -l /dev/null -p /run/acpid.pid\n";
static const char rcs_agent[] = "# The guest agent, detached (docs/agent-protocol.md)\n"
				"setsid /bin/clone-agent </dev/null >/dev/null 2>&1 &\n";
static const char acpi_power[] = "#!/bin/sh\n"
				 "# The host pressed the ACPI power button: power off cleanly.\n"
				 "exec poweroff\n";

static const char profile[] = "export PATH=/sbin:/usr/sbin:/bin:/usr/bin\n"
			      "export HOME=/root\n"
			      "export PS1='\\u@\\h:\\w\\$ '\n"
			      "cd \"$HOME\"\n"
			      "echo '" INITRAMFS_READY_LINE "'\n";

static const char passwd[] = "root::0:0:root:/root:/bin/sh\n";
static const char group[] = "root:x:0:\ntty:x:5:\n";
static const char hosts[] = "127.0.0.1\tlocalhost clone\n";

struct dir_entry {
	const char *path;
	unsigned perm;
};

static const struct dir_entry dirs[] = {
	{ "bin", 0755 },      { "sbin", 0755 }, { "usr", 0755 },	{ "usr/bin", 0755 },
	{ "usr/sbin", 0755 }, { "etc", 0755 },	{ "etc/init.d", 0755 }, { "dev", 0755 },
	{ "proc", 0555 },     { "sys", 0555 },	{ "tmp", 01777 },	{ "run", 0755 },
	{ "root", 0700 },     { "mnt", 0755 },	{ "var", 0755 },
};

/*
 * The applets init and shutdown need, linked in the archive so they work
 * even before (or without) "busybox --install -s" in rcS.
 */
static const char *const applets[] = {
	"bin/sh", "bin/mount", "bin/umount",  "bin/sync",      "bin/mkdir", "bin/hostname",
	"bin/dd", "sbin/init", "sbin/reboot", "sbin/poweroff", "sbin/halt",
};

/* Read busybox and make sure it is the static build: the initramfs has no libc. */
static int read_busybox(const char *path, void **data, size_t *len)
{
	int ret = read_file("busybox", path, BUSYBOX_MAX_SIZE, data, len);

	if (ret == -ENOENT)
		return err_setx(-ENOENT, NOT_INSTALLED " (%s is missing)", path);
	if (ret)
		return ret;
	ret = elf_is_static(*data, *len);
	if (ret == 1)
		return 0;
	free(*data);
	*data = NULL;
	if (ret == 0)
		return err_setx(-ENOEXEC, NOT_INSTALLED " (%s is dynamically linked)", path);
	return err_setx(-ENOEXEC, NOT_INSTALLED " (%s is not an x86_64 ELF executable)", path);
}

/*
 * The generated /init of the disk roots (docs/guest.md, "Disk roots"), in
 * pieces: the head, one load line per module, the disk search, the mode's
 * mounts, the tail.  It runs as PID 1 with the kernel's /dev/console as
 * stdio; every failure prints one "clone-init: " line and powers off, so
 * the VMM exits rather than waiting on a guest that cannot boot.
 */
static const char init_head[] =
	"export PATH=/sbin:/usr/sbin:/bin:/usr/bin\n"
	"\n"
	"# Say what failed and power off: the VMM exits instead of hanging.\n"
	"fail() {\n"
	"\techo \"clone-init: $*\"\n"
	"\t/bin/busybox sync\n"
	"\t/bin/busybox poweroff -f\n"
	"\texit 1\n"
	"}\n"
	"\n"
	"/bin/busybox mount -t proc proc /proc || fail \"mount /proc failed\"\n"
	"/bin/busybox --install -s || fail \"busybox --install failed\"\n"
	"mount -t sysfs sysfs /sys || fail \"mount /sys failed\"\n"
	"mount -t devtmpfs devtmpfs /dev || fail \"mount /dev failed\"\n"
	"\n"
	"# Kernel modules, every one after its dependencies (the host's modules.dep).\n"
	"load() {\n"
	"\tinsmod \"/lib/modules/$1.ko\" || fail \"insmod $1.ko failed\"\n"
	"}\n"
	"# Soft dependencies and their alternatives (crc32c_intel needs SSE4.2) may fail.\n"
	"try_load() {\n"
	"\tinsmod \"/lib/modules/$1.ko\" 2>/dev/null || :\n"
	"}\n";

/*
 * virtio_blk adds a disk, and scans its partition table, in its probe;
 * sysfs shows the serial (VIRTIO_BLK_T_GET_ID) as /sys/block/vdX/serial.
 */
static const char init_find_disk[] =
	"\n"
	"# The disk whose virtio-blk serial is $1, as $dev: its first partition if\n"
	"# it is partitioned, else the whole disk.  Wait up to 10 s (200 x 50 ms).\n"
	"find_disk() {\n"
	"\tdev=\n"
	"\ttries=0\n"
	"\twhile :; do\n"
	"\t\tfor s in /sys/block/vd*/serial; do\n"
	"\t\t\t[ -r \"$s\" ] || continue\n"
	"\t\t\tv=\n"
	"\t\t\tread -r v <\"$s\" 2>/dev/null\n"
	"\t\t\t[ \"$v\" = \"$1\" ] || continue\n"
	"\t\t\td=${s%/serial}\n"
	"\t\t\td=${d##*/}\n"
	"\t\t\t[ -d \"/sys/block/$d/${d}1\" ] && d=${d}1\n"
	"\t\t\tdev=/dev/$d\n"
	"\t\t\t[ -b \"$dev\" ] && return 0\n"
	"\t\tdone\n"
	"\t\t[ \"$tries\" -lt 200 ] || return 1\n"
	"\t\ttries=$((tries + 1))\n"
	"\t\tusleep 50000\n"
	"\tdone\n"
	"}\n"
	"need_disk() {\n"
	"\tfind_disk \"$1\" && return 0\n"
	"\t[ -n \"$dev\" ] && fail \"$dev (the disk with serial $1) did not appear\"\n"
	"\tfail \"no disk with serial $1\"\n"
	"}\n"
	"\n"
	"need_disk " INITRAMFS_ROOT_SERIAL "\n"
	"mkdir -p /newroot\n";

/*
 * ext4 first: busybox mount without -t tries every type in
 * /proc/filesystems in turn, and ext4's ext2 and ext3 personalities come
 * first there and log "couldn't mount as ext3" at KERN_ERR, which "quiet"
 * does not hide.  Any other file system the kernel has still mounts.
 */
static const char init_root_disk[] =
	"# The root, read-write: ext4, else whatever busybox mount recognises.\n"
	"mount -t ext4 -o rw \"$dev\" /newroot 2>/dev/null ||\n"
	"\tmount -o rw \"$dev\" /newroot ||\n"
	"\tfail \"mount $dev (serial " INITRAMFS_ROOT_SERIAL ") read-write failed\"\n";

/* "noload": ext4 replays no journal, which would write to a read-only layer. */
static const char init_root_lower[] =
	"# The read-only lower layer; noload: ext4 replays no journal (a write).\n"
	"mkdir -p /run/clone/lower /run/clone/upper\n"
	"mount -t ext4 -o ro,noload \"$dev\" /run/clone/lower 2>/dev/null ||\n"
	"\tmount -o ro \"$dev\" /run/clone/lower ||\n"
	"\tfail \"mount $dev (serial " INITRAMFS_ROOT_SERIAL ") read-only failed\"\n";

static const char init_upper_tmpfs[] = "# The upper layer in RAM.\n"
				       "mount -t tmpfs -o mode=0755 tmpfs /run/clone/upper ||\n"
				       "\tfail \"mount tmpfs for the upper layer failed\"\n";

static const char init_upper_disk[] =
	"# The upper layer on the ext4 the host made on the " INITRAMFS_UPPER_SERIAL " disk.\n"
	"need_disk " INITRAMFS_UPPER_SERIAL "\n"
	"mount -t ext4 \"$dev\" /run/clone/upper ||\n"
	"\tfail \"mount $dev (serial " INITRAMFS_UPPER_SERIAL ") failed\"\n";

static const char init_overlay[] =
	"mkdir -p /run/clone/upper/upper /run/clone/upper/work ||\n"
	"\tfail \"mkdir upper/ and work/ in the upper layer failed\"\n"
	"mount -t overlay -o "
	"lowerdir=/run/clone/lower,upperdir=/run/clone/upper/upper,workdir=/run/clone/upper/work "
	"overlay /newroot ||\n"
	"\tfail \"mount overlay failed\"\n"
	"# Both layers stay reachable as /run/clone/{lower,upper} where the root has /run.\n"
	"if [ -d /newroot/run ] &&\n"
	"\tmkdir -p /newroot/run/clone/lower /newroot/run/clone/upper 2>/dev/null; then\n"
	"\tmount --move /run/clone/lower /newroot/run/clone/lower\n"
	"\tmount --move /run/clone/upper /newroot/run/clone/upper\n"
	"fi\n";

/* The tail: init= from the command line, the moves, the agent, the boot timer, switch_root. */
#define INIT_TAIL_FMT                                                                              \
	"\n"                                                                                       \
	"# init= on the kernel command line, else /sbin/init; the kernel's other\n"                \
	"# arguments for init are ours ($@) and go along.\n"                                       \
	"init=/sbin/init\n"                                                                        \
	"read -r cmdline </proc/cmdline\n"                                                         \
	"set -f\n"                                                                                 \
	"for arg in $cmdline; do\n"                                                                \
	"\tcase \"$arg\" in\n"                                                                     \
	"\tinit=*) init=${arg#init=} ;;\n"                                                         \
	"\tesac\n"                                                                                 \
	"done\n"                                                                                   \
	"set +f\n"                                                                                 \
	"[ -e \"/newroot$init\" ] || [ -L \"/newroot$init\" ] ||\n"                                \
	"\tfail \"no $init in the root file system\"\n"                                            \
	"\n"                                                                                       \
	"for d in proc sys dev; do\n"                                                              \
	"\tmkdir -p \"/newroot/$d\" && mount --move \"/$d\" \"/newroot/$d\" ||\n"                  \
	"\t\tfail \"mount --move /$d /newroot/$d failed\"\n"                                       \
	"done\n"                                                                                   \
	"\n"                                                                                       \
	"%s"                                                                                       \
	"# Boot timer: byte 0x%02x to I/O port 0x%x (the initramfs is done)\n"                     \
	"printf '\\%03o' | dd of=/newroot/dev/port bs=1 seek=%d count=1 conv=notrunc "             \
	"2>/dev/null\n"                                                                            \
	"exec switch_root /newroot \"$init\" \"$@\"\n"

/*
 * The agent from the initramfs, detached and chrooted into the new root
 * before switch_root: it keeps running from memory when switch_root
 * empties the initramfs, and writes nothing to the root file system.
 */
static const char init_agent[] =
	"\n"
	"# The guest agent (docs/agent-protocol.md), detached, in the new root; it\n"
	"# outlives switch_root.  A root made by clone rootfs create starts its own.\n"
	"if [ ! -e /newroot/etc/clone/agent-in-image ]; then\n"
	"\tsetsid /bin/clone-agent --chroot /newroot </newroot/dev/null >/newroot/dev/null 2>&1 &\n"
	"fi\n"
	"\n";

/* Module names go into shell scripts: only what a kernel module name can be. */
static int check_names(const struct modules *mods)
{
	for (size_t i = 0; i < mods->n; i++) {
		const char *n = mods->mod[i].name;

		if (!*n || strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "0123456789_") != strlen(n))
			return err_setx(-EINVAL,
					"module name \"%s\" (%s) is not a kernel module name", n,
					mods->mod[i].path);
	}
	return 0;
}

/* A malloc'ed script from an open_memstream() stream; -ENOMEM if any write failed. */
static int close_script(FILE *f, char **buf, size_t *len)
{
	int bad = ferror(f);

	if (fclose(f) || bad || !*buf) {
		free(*buf);
		*buf = NULL;
		return err_setx(-ENOMEM, "initramfs: out of memory for the init script");
	}
	*len = strlen(*buf);
	return 0;
}

/* The default guest's rcS, with insmod lines for mods (which may be empty) at its start. */
static int make_rcs(const struct initramfs_spec *spec, const struct modules *mods, char **buf,
		    size_t *len)
{
	FILE *f;

	*buf = NULL;
	f = open_memstream(buf, len);
	if (!f)
		return err_set(-ENOMEM, "initramfs: rcS");
	fputs(RCS_HEAD, f);
	if (mods->n)
		fputs("# Drivers, every one after its dependencies (docs/guest.md)\n", f);
	for (size_t i = 0; i < mods->n; i++) {
		const char *n = mods->mod[i].name;

		if (mods->mod[i].optional)
			fprintf(f, "/bin/busybox insmod /lib/modules/%s.ko 2>/dev/null\n", n);
		else
			fprintf(f,
				"/bin/busybox insmod /lib/modules/%s.ko || "
				"echo 'clone-init: insmod %s.ko failed'\n",
				n, n);
	}
	{
		char services[256];

		snprintf(services, sizeof(services), "%s%s", spec->acpid ? rcs_acpid : "",
			 spec->agent ? rcs_agent : "");
		fprintf(f, RCS_FMT, services, BOOT_TIMER_INIT, PORT_BOOT_TIMER, BOOT_TIMER_INIT,
			PORT_BOOT_TIMER);
	}
	return close_script(f, buf, len);
}

static int make_init(const struct initramfs_spec *spec, const struct modules *mods, char **buf,
		     size_t *len)
{
	bool overlay = spec->root == INITRAMFS_ROOT_OVERLAY;
	bool upper_disk = spec->upper == INITRAMFS_UPPER_DISK;
	const char *what;
	FILE *f;

	*buf = NULL;
	f = open_memstream(buf, len);
	if (!f)
		return err_set(-ENOMEM, "initramfs: init script");
	if (!overlay)
		what = "root on the " INITRAMFS_ROOT_SERIAL " disk, read-write";
	else if (upper_disk)
		what = "overlay of " INITRAMFS_ROOT_SERIAL
		       " (read-only) and " INITRAMFS_UPPER_SERIAL;
	else
		what = "overlay of " INITRAMFS_ROOT_SERIAL " (read-only) and tmpfs";
	fprintf(f, "#!/bin/sh\n# Clone generated init: %s (docs/guest.md, \"Disk roots\")\n", what);
	fputs(init_head, f);
	for (size_t i = 0; i < mods->n; i++)
		fprintf(f, "%s %s\n", mods->mod[i].optional ? "try_load" : "load",
			mods->mod[i].name);
	fputs(init_find_disk, f);
	if (overlay) {
		fputs(init_root_lower, f);
		fputs(upper_disk ? init_upper_disk : init_upper_tmpfs, f);
		fputs(init_overlay, f);
	} else {
		fputs(init_root_disk, f);
	}
	fprintf(f, INIT_TAIL_FMT, spec->agent ? init_agent : "\n", BOOT_TIMER_INIT, PORT_BOOT_TIMER,
		BOOT_TIMER_INIT, PORT_BOOT_TIMER);
	return close_script(f, buf, len);
}

/* lib/modules/<name>.ko for each module, decompressed. */
static int add_modules(struct cpio *c, const struct modules *mods)
{
	char path[MODULES_NAME_MAX + 32];
	int ret = 0;

	if (!mods->n)
		return 0;
	ret = cpio_add_dir(c, "lib", 0755);
	if (!ret)
		ret = cpio_add_dir(c, "lib/modules", 0755);
	for (size_t i = 0; !ret && i < mods->n; i++) {
		void *ko;
		size_t ko_len;

		ret = modules_read(&mods->mod[i], &ko, &ko_len);
		if (ret)
			break;
		snprintf(path, sizeof(path), "lib/modules/%s.ko", mods->mod[i].name);
		ret = cpio_add_file(c, path, 0644, ko, ko_len);
		free(ko);
	}
	return ret;
}

/*
 * What every initramfs starts with: its directories, the /dev nodes the
 * kernel needs before devtmpfs is mounted (it opens /dev/console for
 * init's stdio) and /bin/busybox.
 */
static int add_base(struct cpio *c, const struct dir_entry *tree, size_t nr, const void *bb,
		    size_t bb_len)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < nr; i++)
		ret = cpio_add_dir(c, tree[i].path, tree[i].perm);
	if (!ret)
		ret = cpio_add_chardev(c, "dev/console", 0600, 5, 1);
	if (!ret)
		ret = cpio_add_chardev(c, "dev/null", 0666, 1, 3);
	if (!ret)
		ret = cpio_add_file(c, "bin/busybox", 0755, bb, bb_len);
	return ret;
}

/* /bin/clone-agent, the copy the clone binary carries. */
static int add_agent(struct cpio *c)
{
	if (clone_agent_size() < 64)
		return err_setx(-ENOEXEC, "initramfs: this clone binary carries no clone-agent");
	return cpio_add_file(c, "bin/clone-agent", 0755, clone_agent_blob, clone_agent_size());
}

/* busybox acpid's handler for the power button event (button/power PWRF 00000080). */
static int add_acpi_power(struct cpio *c)
{
	int ret = cpio_add_dir(c, "etc/acpi", 0755);

	if (!ret)
		ret = cpio_add_dir(c, "etc/acpi/PWRF", 0755);
	if (!ret)
		ret = cpio_add_file(c, "etc/acpi/PWRF/00000080", 0755, acpi_power,
				    strlen(acpi_power));
	return ret;
}

/* The default guest; mods (possibly none) load at the start of its rcS. */
static int add_tree(struct cpio *c, const struct initramfs_spec *spec, const void *bb,
		    size_t bb_len, const struct modules *mods)
{
	char *rcs;
	size_t rcs_len;
	int ret;

	ret = make_rcs(spec, mods, &rcs, &rcs_len);
	if (ret)
		return ret;
	ret = add_base(c, dirs, ARRAY_SIZE(dirs), bb, bb_len);
	/* busybox picks the applet from argv[0]: /init runs as "init". */
	if (!ret)
		ret = cpio_add_symlink(c, "init", "/bin/busybox");
	for (size_t i = 0; !ret && i < ARRAY_SIZE(applets); i++)
		ret = cpio_add_symlink(c, applets[i], "/bin/busybox");
	if (!ret)
		ret = cpio_add_file(c, "etc/inittab", 0644, inittab, strlen(inittab));
	if (!ret)
		ret = cpio_add_file(c, "etc/init.d/rcS", 0755, rcs, rcs_len);
	if (!ret)
		ret = cpio_add_file(c, "etc/profile", 0644, profile, strlen(profile));
	if (!ret)
		ret = cpio_add_file(c, "etc/passwd", 0644, passwd, strlen(passwd));
	if (!ret)
		ret = cpio_add_file(c, "etc/group", 0644, group, strlen(group));
	if (!ret)
		ret = cpio_add_file(c, "etc/hosts", 0644, hosts, strlen(hosts));
	if (!ret && spec->acpid)
		ret = add_acpi_power(c);
	if (!ret && spec->agent)
		ret = add_agent(c);
	if (!ret)
		ret = add_modules(c, mods);
	free(rcs);
	return ret;
}

/*
 * A disk root: busybox, the modules and the generated /init; busybox
 * --install makes the other applets.  switch_root empties all of it.
 */
static const struct dir_entry disk_dirs[] = {
	{ "bin", 0755 },      { "sbin", 0755 },	   { "usr", 0755 },  { "usr/bin", 0755 },
	{ "usr/sbin", 0755 }, { "dev", 0755 },	   { "proc", 0555 }, { "sys", 0555 },
	{ "run", 0755 },      { "newroot", 0755 },
};

static int add_disk_tree(struct cpio *c, const struct initramfs_spec *spec, const void *bb,
			 size_t bb_len, const struct modules *mods)
{
	char *init;
	size_t init_len;
	int ret;

	ret = make_init(spec, mods, &init, &init_len);
	if (ret)
		return ret;
	ret = add_base(c, disk_dirs, ARRAY_SIZE(disk_dirs), bb, bb_len);
	/* The kernel runs /init through its "#!/bin/sh" line. */
	if (!ret)
		ret = cpio_add_symlink(c, "bin/sh", "/bin/busybox");
	if (!ret)
		ret = cpio_add_file(c, "init", 0755, init, init_len);
	if (!ret && spec->agent)
		ret = add_agent(c);
	if (!ret)
		ret = add_modules(c, mods);
	free(init);
	return ret;
}

static int build(const char *busybox, const struct initramfs_spec *spec, const struct modules *mods,
		 void **data, size_t *len)
{
	struct cpio c;
	void *bb;
	size_t bb_len;
	int ret;

	ret = read_busybox(busybox, &bb, &bb_len);
	if (ret)
		return ret;
	cpio_init(&c);
	if (spec->root != INITRAMFS_ROOT_RAM)
		ret = add_disk_tree(&c, spec, bb, bb_len, mods);
	else
		ret = add_tree(&c, spec, bb, bb_len, mods);
	free(bb);
	if (!ret)
		ret = cpio_finish(&c, data, len);
	cpio_destroy(&c);
	return ret;
}

int initramfs_build(const char *busybox, void **data, size_t *len)
{
	static const struct initramfs_spec plain = { .root = INITRAMFS_ROOT_RAM };
	struct modules none = { NULL, 0 };

	return build(busybox, &plain, &none, data, len);
}

int initramfs_build_default(void **data, size_t *len)
{
	return initramfs_build(INITRAMFS_BUSYBOX, data, len);
}

int initramfs_build_spec(const struct initramfs_spec *spec, void **data, size_t *len)
{
	/* virtio-mmio transport, virtio-blk disks, ext4 on them; overlay for the overlay root. */
	static const char *const disk_mods[] = { "virtio_mmio", "virtio_blk", "ext4", "overlay" };
	/* The agent's transport; the power button's input device for acpid. */
	static const char *const agent_mods[] = { "virtio_mmio", "vmw_vsock_virtio_transport" };
	static const char *const acpid_mods[] = { "button", "evdev" };
	const char *
		needed[ARRAY_SIZE(disk_mods) + ARRAY_SIZE(agent_mods) + ARRAY_SIZE(acpid_mods) + 2];
	struct modules mods;
	size_t n = 0, nd;
	int ret;

	switch (spec->root) {
	case INITRAMFS_ROOT_RAM:
		nd = spec->virtio_blk ? 3 : 0;
		break;
	case INITRAMFS_ROOT_DISK:
		nd = 3;
		break;
	case INITRAMFS_ROOT_OVERLAY:
		if (spec->upper != INITRAMFS_UPPER_TMPFS && spec->upper != INITRAMFS_UPPER_DISK)
			return err_setx(-EINVAL, "initramfs: unknown upper layer %d",
					(int)spec->upper);
		nd = 4;
		break;
	default:
		return err_setx(-EINVAL, "initramfs: unknown root mode %d", (int)spec->root);
	}
	for (size_t i = 0; i < nd; i++)
		needed[n++] = disk_mods[i];
	/* virtio_mmio once: the disks' list starts with it. */
	for (size_t i = spec->agent ? (nd ? 1 : 0) : ARRAY_SIZE(agent_mods);
	     i < ARRAY_SIZE(agent_mods); i++)
		needed[n++] = agent_mods[i];
	for (size_t i = 0;
	     spec->acpid && spec->root == INITRAMFS_ROOT_RAM && i < ARRAY_SIZE(acpid_mods); i++)
		needed[n++] = acpid_mods[i];
	if (spec->virtio_net) {
		bool mmio = false;

		for (size_t i = 0; i < n; i++)
			mmio |= !strcmp(needed[i], "virtio_mmio");
		if (!mmio)
			needed[n++] = "virtio_mmio";
		needed[n++] = "virtio_net";
	}
	if (n)
		ret = modules_resolve(spec->modules_dir, spec->kver, needed, n, &mods);
	else
		ret = modules_resolve(MODULES_NONE, NULL, needed, 0, &mods);
	if (ret)
		return ret;
	ret = check_names(&mods);
	if (!ret)
		ret = build(spec->busybox ? spec->busybox : INITRAMFS_BUSYBOX, spec, &mods, data,
			    len);
	modules_destroy(&mods);
	return ret;
}
