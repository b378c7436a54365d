// SPDX-License-Identifier: Apache-2.0
/*
 * TAP devices through /dev/net/tun (see tap.h): a new, non-persistent one
 * that the kernel removes when its last fd closes, or an existing one
 * opened by name, which is first checked over rtnetlink to exist and be a
 * tun/tap device so that TUNSETIFF never creates one by accident.  Every
 * fd is IFF_TAP | IFF_NO_PI | IFF_VNET_HDR with a 12-byte virtio-net
 * header, O_NONBLOCK and O_CLOEXEC.  Any thread; no global state.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/err.h"
#include "net/netlink.h"
#include "net/tap.h"

#define TAP_FLAGS (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)

static int open_tun(void)
{
	int fd = open(TAP_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
		return err_setx(-ENOENT, "%s is missing: load the tun module (modprobe tun)",
				TAP_DEV);
	if (errno == EACCES || errno == EPERM)
		return err_set(-errno,
			       "open %s (TAP devices need CAP_NET_ADMIN: run as root, "
			       "or use --net user)",
			       TAP_DEV);
	return err_set(-errno, "open %s", TAP_DEV);
}

/* TUNSETIFF: the raw -errno, no message (the callers know what it means). */
static int set_iff(int fd, const char *name, unsigned flags, char ifname[IFNAMSIZ])
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = (short)flags; /* IFF_TUN_EXCL is bit 15 */
	if (ioctl(fd, TUNSETIFF, &ifr))
		return -errno;
	snprintf(ifname, IFNAMSIZ, "%s", ifr.ifr_name);
	return 0;
}

static int set_hdr(int fd, const char *ifname)
{
	int hdr = TAP_VNET_HDR_LEN;

	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr))
		return err_set(-errno, "setting the virtio-net header size of %s", ifname);
	return 0;
}

static int check_name(const char *name)
{
	if (!name || !*name || strlen(name) >= IFNAMSIZ || strchr(name, '/') ||
	    strpbrk(name, " \t\n:"))
		return err_setx(-EINVAL, "invalid TAP device name '%s'", name ? name : "");
	return 0;
}

/* After TUNSETIFF (ret): the header length, then hand tfd over or close it. */
static int finish(int tfd, int ret, char ifname[IFNAMSIZ], int *fd)
{
	if (!ret)
		ret = set_hdr(tfd, ifname);
	if (ret) {
		close(tfd);
		return ret;
	}
	*fd = tfd;
	return 0;
}

int tap_create(const char *name, char ifname[IFNAMSIZ], int *fd)
{
	int tfd, ret;

	*fd = -1;
	ret = check_name(name);
	if (ret)
		return ret;
	tfd = open_tun();
	if (tfd < 0)
		return tfd;
	/* IFF_TUN_EXCL: fail (EBUSY) rather than attach to an existing device */
	ret = set_iff(tfd, name, TAP_FLAGS | IFF_TUN_EXCL, ifname);
	if (ret == -EBUSY)
		ret = err_setx(-EEXIST,
			       "creating TAP device %s: a network interface of that name "
			       "exists",
			       name);
	else if (ret == -EPERM || ret == -EACCES)
		ret = err_set(ret,
			      "creating TAP device %s (needs CAP_NET_ADMIN: run as root, or "
			      "use --net user)",
			      name);
	else if (ret)
		ret = err_set(ret, "creating TAP device %s", name);
	return finish(tfd, ret, ifname, fd);
}

int tap_open(const char *name, char ifname[IFNAMSIZ], int *fd)
{
	char kind[16];
	int tfd, ret;

	*fd = -1;
	ret = check_name(name);
	if (ret)
		return ret;
	/* TUNSETIFF creates a missing device: make sure it is there first */
	ret = nl_link_kind(name, kind, sizeof(kind));
	if (ret == -ENODEV)
		return err_setx(-ENODEV, "TAP device %s does not exist", name);
	if (ret)
		return ret;
	if (strcmp(kind, "tun"))
		return err_setx(-EINVAL, "%s is not a TAP device (it is a %s)", name,
				*kind ? kind : "hardware interface");
	tfd = open_tun();
	if (tfd < 0)
		return tfd;
	ret = set_iff(tfd, name, TAP_FLAGS, ifname);
	if (ret == -EBUSY)
		ret = err_setx(-EBUSY, "TAP device %s is in use by another process", name);
	else if (ret == -EINVAL)
		ret = err_setx(-EINVAL, "%s is a TUN device (layer 3), not a TAP device", name);
	else if (ret == -EPERM || ret == -EACCES)
		ret = err_set(ret,
			      "opening TAP device %s (it belongs to another user, or needs "
			      "CAP_NET_ADMIN)",
			      name);
	else if (ret)
		ret = err_set(ret, "opening TAP device %s", name);
	return finish(tfd, ret, ifname, fd);
}

int tap_set_offload(int fd, unsigned tun_flags)
{
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_flags))
		return err_set(-errno, "TUNSETOFFLOAD 0x%x", tun_flags);
	return 0;
}
