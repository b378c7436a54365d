// SPDX-License-Identifier: Apache-2.0
/*
 * The built-in default guest (see initramfs.h, docs/guest.md): busybox as
 * /init with an inittab, an rcS that mounts the usual filesystems and pings
 * the VMM's boot timer, and a profile that prints the ready line.  Built on
 * the main thread before the VM exists; no state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "cpio.h"
#include "elf.h"
#include "initramfs.h"
#include "lib/err.h"
#include "lib/util.h"

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
#define RCS_FMT                                                                                    \
	"#!/bin/sh\n"                                                                              \
	"# Clone default guest: early setup (docs/guest.md)\n"                                     \
	"/bin/busybox mount -t proc proc /proc\n"                                                  \
	"/bin/busybox --install -s\n"                                                              \
	"mount -t sysfs sysfs /sys\n"                                                              \
	"mount -t devtmpfs devtmpfs /dev\n"                                                        \
	"mkdir -p /dev/pts /dev/shm\n"                                                             \
	"mount -t devpts devpts /dev/pts\n"                                                        \
	"mount -t tmpfs -o mode=1777 tmpfs /tmp\n"                                                 \
	"mount -t tmpfs -o mode=0755 tmpfs /run\n"                                                 \
	"hostname clone\n"                                                                         \
	"# Boot timer: byte 0x%02x to I/O port 0x%x\n"                                             \
	"printf '\\%03o' | dd of=/dev/port bs=1 seek=%d count=1 conv=notrunc 2>/dev/null\n"

static const char profile[] = "export PATH=/sbin:/usr/sbin:/bin:/usr/bin\n"
			      "export HOME=/root\n"
			      "export PS1='\\u@\\h:\\w\\$ '\n"
			      "cd \"$HOME\"\n"
			      "echo '" INITRAMFS_READY_LINE "'\n";

static const char passwd[] = "root::0:0:root:/root:/bin/sh\n";
static const char group[] = "root:x:0:\ntty:x:5:\n";
static const char hosts[] = "127.0.0.1\tlocalhost clone\n";

static const struct {
	const char *path;
	unsigned perm;
} dirs[] = {
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

static int add_tree(struct cpio *c, const void *bb, size_t bb_len)
{
	char rcs[sizeof(RCS_FMT) + 64];
	int ret = 0;

	snprintf(rcs, sizeof(rcs), RCS_FMT, BOOT_TIMER_INIT, PORT_BOOT_TIMER, BOOT_TIMER_INIT,
		 PORT_BOOT_TIMER);
	for (size_t i = 0; !ret && i < ARRAY_SIZE(dirs); i++)
		ret = cpio_add_dir(c, dirs[i].path, dirs[i].perm);
	/* The kernel opens /dev/console for init's stdio before anything mounts devtmpfs. */
	if (!ret)
		ret = cpio_add_chardev(c, "dev/console", 0600, 5, 1);
	if (!ret)
		ret = cpio_add_chardev(c, "dev/null", 0666, 1, 3);
	if (!ret)
		ret = cpio_add_file(c, "bin/busybox", 0755, bb, bb_len);
	/* busybox picks the applet from argv[0]: /init runs as "init". */
	if (!ret)
		ret = cpio_add_symlink(c, "init", "/bin/busybox");
	for (size_t i = 0; !ret && i < ARRAY_SIZE(applets); i++)
		ret = cpio_add_symlink(c, applets[i], "/bin/busybox");
	if (!ret)
		ret = cpio_add_file(c, "etc/inittab", 0644, inittab, strlen(inittab));
	if (!ret)
		ret = cpio_add_file(c, "etc/init.d/rcS", 0755, rcs, strlen(rcs));
	if (!ret)
		ret = cpio_add_file(c, "etc/profile", 0644, profile, strlen(profile));
	if (!ret)
		ret = cpio_add_file(c, "etc/passwd", 0644, passwd, strlen(passwd));
	if (!ret)
		ret = cpio_add_file(c, "etc/group", 0644, group, strlen(group));
	if (!ret)
		ret = cpio_add_file(c, "etc/hosts", 0644, hosts, strlen(hosts));
	return ret;
}

int initramfs_build(const char *busybox, void **data, size_t *len)
{
	struct cpio c;
	void *bb;
	size_t bb_len;
	int ret;

	ret = read_busybox(busybox, &bb, &bb_len);
	if (ret)
		return ret;
	cpio_init(&c);
	ret = add_tree(&c, bb, bb_len);
	free(bb);
	if (!ret)
		ret = cpio_finish(&c, data, len);
	cpio_destroy(&c);
	return ret;
}

int initramfs_build_default(void **data, size_t *len)
{
	return initramfs_build(INITRAMFS_BUSYBOX, data, len);
}
