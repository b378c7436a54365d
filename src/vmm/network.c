// SPDX-License-Identifier: Apache-2.0
/*
 * A VM's NICs (see network.h).  Order per NIC: the TAP fd first (the mode
 * decides how), then the MAC, then the device, then its placement.  The
 * TAPs Clone makes are not persistent: the kernel deletes them when the
 * last fd goes (the device's, and vhost-net's reference to it), which is
 * also what happens when the VMM is killed, so no clean-up can be missed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#define LOG_TAG "network"
#include "lib/log.h"
#include "lib/util.h"
#include "net/tap.h"
#include "network.h"
#include "snapshot/template.h"
#include "vdev.h"
#include "virtio/net.h"
#include "vm.h"

int network_enter_netns(const char *name)
{
	char path[512];
	int fd;

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(-errno, "--netns %s: cannot open %s", name, path);
	if (setns(fd, CLONE_NEWNET) < 0) {
		int ret = err_set(-errno, "--netns %s: entering the network namespace%s", name,
				  errno == EPERM ? " (needs root)" : "");

		close(fd);
		return ret;
	}
	close(fd);
	return 0;
}

static void mac_str(const uint8_t mac[6], char *buf, size_t cap)
{
	snprintf(buf, cap, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

/* The host's resolvers that a guest can reach (not loopback ones). */
static void host_dns(struct ap_identity *id)
{
	FILE *f = fopen("/etc/resolv.conf", "re");
	char line[256], addr[64];
	unsigned char tmp[16];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && id->nr_dns < 4) {
		if (sscanf(line, " nameserver %63s", addr) != 1)
			continue;
		if (!strncmp(addr, "127.", 4) || !strcmp(addr, "::1") ||
		    inet_pton(AF_INET, addr, tmp) != 1)
			continue;
		snprintf(id->dns[id->nr_dns++], sizeof(id->dns[0]), "%s", addr);
	}
	fclose(f);
}

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; s && *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* --net [bridge]: bridge up (idempotent), an address, a new TAP on the bridge. */
static int open_bridge(struct vm *vm, const struct nic_config *c, struct vm_nic *nic,
		       unsigned index, int *fd)
{
	struct bridge_config bc;
	char tap[IFNAMSIZ], addr[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	int ret;

	memset(&bc, 0, sizeof(bc));
	if (bridge_parse_cidr(c->bridge_addr ? c->bridge_addr : BRIDGE_DEFAULT_ADDR, &bc))
		return -EINVAL;
	snprintf(bc.name, sizeof(bc.name), "%s", c->bridge ? c->bridge : BRIDGE_DEFAULT_NAME);
	snprintf(nic->bridge, sizeof(nic->bridge), "%s", bc.name);
	if (geteuid() != 0)
		return err_setx(-EPERM, "--net (bridge) sets up the host's network and needs root; "
					"without root use --net user");
	ret = bridge_up(&bc);
	if (ret)
		return ret;
	ret = bridge_lease_take(&bc, &nic->lease);
	if (ret)
		return ret;
	snprintf(tap, sizeof(tap), "ct%08x-%u", name_hash(vm->cfg->name), (uint8_t)index);
	ret = tap_create(tap, nic->ifname, fd);
	if (ret == -EEXIST)
		ret = tap_create("ctap%d", nic->ifname, fd);
	if (ret)
		return ret;
	ret = bridge_attach(bc.name, nic->ifname);
	if (ret)
		return ret;
	inet_ntop(AF_INET, &nic->lease.addr, addr, sizeof(addr));
	inet_ntop(AF_INET, &bc.addr, gw, sizeof(gw));
	snprintf(nic->identity.addrs[0], sizeof(nic->identity.addrs[0]), "%s/%u", addr, bc.prefix);
	nic->identity.nr_addrs = 1;
	snprintf(nic->identity.gateway, sizeof(nic->identity.gateway), "%s", gw);
	host_dns(&nic->identity);
	log_info("%s: %s on bridge %s, guest address %s/%u", nic->id, nic->ifname, bc.name, addr,
		 bc.prefix);
	return 0;
}

/* --net user: pasta's namespace and its TAP. */
static int open_user(struct vm *vm, struct vm_network *net, struct vm_nic *nic, int *fd)
{
	struct usernet_config uc = { .nr_fwd = vm->cfg->nr_fwds };
	int ret;

	for (unsigned i = 0; i < vm->cfg->nr_fwds && i < USERNET_MAX_FWD; i++) {
		uc.fwd[i].host = vm->cfg->fwds[i].host;
		uc.fwd[i].guest = vm->cfg->fwds[i].guest;
	}
	ret = usernet_start(&uc, &net->user);
	if (ret)
		return ret;
	net->user_started = true;
	*fd = net->user.tap_fd;
	net->user.tap_fd = -1;
	snprintf(nic->ifname, sizeof(nic->ifname), "%s", net->user.ifname);
	snprintf(nic->identity.addrs[0], sizeof(nic->identity.addrs[0]), "%s",
		 net->user.guest_cidr);
	nic->identity.nr_addrs = 1;
	snprintf(nic->identity.gateway, sizeof(nic->identity.gateway), "%s", net->user.gateway);
	snprintf(nic->identity.dns[0], sizeof(nic->identity.dns[0]), "%s", net->user.dns);
	nic->identity.nr_dns = 1;
	return 0;
}

/* --tap NAME: an existing device; the address only if the user gave one. */
static int open_tap(const struct nic_config *c, struct vm_nic *nic, int *fd)
{
	int ret = tap_open(c->tap, nic->ifname, fd);

	if (ret)
		return ret;
	if (c->ip) {
		snprintf(nic->identity.addrs[0], sizeof(nic->identity.addrs[0]), "%s", c->ip);
		nic->identity.nr_addrs = 1;
	}
	if (c->gw)
		snprintf(nic->identity.gateway, sizeof(nic->identity.gateway), "%s", c->gw);
	return 0;
}

static int setup_nic(struct vm *vm, struct vm_network *net, unsigned i)
{
	const struct nic_config *c = &vm->cfg->nics[i];
	struct vm_nic *nic = &net->nics[i];
	struct net_config nc;
	int fd = -1, ret;

	nic->lease.fd = -1;
	snprintf(nic->id, sizeof(nic->id), "net%u", (uint8_t)i);
	switch (c->mode) {
	case NIC_BRIDGE:
		nic->mode = "bridge";
		ret = open_bridge(vm, c, nic, i, &fd);
		break;
	case NIC_USER:
		nic->mode = "user";
		ret = open_user(vm, net, nic, &fd);
		break;
	case NIC_TAP:
	default:
		nic->mode = "tap";
		ret = open_tap(c, nic, &fd);
		break;
	}
	net->nr = i + 1; /* from here on network_destroy() cleans this NIC up */
	if (ret) {
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (c->has_mac)
		memcpy(nic->mac, c->mac, sizeof(nic->mac));
	else
		config_derive_mac(vm->cfg->name, i, nic->mac);
	mac_str(nic->mac, nic->identity.mac, sizeof(nic->identity.mac));
	/* From a template, the guest's interface still has the template's MAC. */
	if (vm->cfg->tmpl && i < vm->cfg->tmpl->nr_nics)
		mac_str(vm->cfg->tmpl->nics[i].mac, nic->identity.match_mac,
			sizeof(nic->identity.match_mac));

	memset(&nc, 0, sizeof(nc));
	nc.id = nic->id;
	nc.tap_fd = fd;
	memcpy(nc.mac, nic->mac, sizeof(nc.mac));
	nc.no_vhost = c->no_vhost;
	nc.rx = c->rx;
	nc.tx = c->tx;
	ret = net_create(&nc, &vm->mem, &vm->loop, &nic->dev); /* owns fd now */
	if (ret)
		return ret;
	return vdev_add(vm, &vm->vdevs, net_virtio(nic->dev));
}

int network_setup(struct vm *vm, struct vm_network *net)
{
	int ret;

	for (unsigned i = 0; i < vm->cfg->nr_nics; i++) {
		ret = setup_nic(vm, net, i);
		if (ret)
			return ret;
	}
	return 0;
}

unsigned network_identities(const struct vm_network *net, struct ap_identity *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < net->nr; i++)
		if (net->nics[i].dev &&
		    (net->nics[i].identity.nr_addrs ||
		     (net->nics[i].identity.match_mac[0] &&
		      strcmp(net->nics[i].identity.match_mac, net->nics[i].identity.mac))))
			out[n++] = net->nics[i].identity;
	return n;
}

struct vm_nic *network_find(struct vm_network *net, const char *id)
{
	for (unsigned i = 0; i < net->nr; i++)
		if (net->nics[i].dev && !strcmp(net->nics[i].id, id))
			return &net->nics[i];
	return NULL;
}

void network_destroy(struct vm_network *net)
{
	for (unsigned i = 0; i < net->nr; i++) {
		net_destroy(net->nics[i].dev);
		net->nics[i].dev = NULL;
		bridge_lease_release(&net->nics[i].lease);
	}
	net->nr = 0;
	if (net->user_started) {
		usernet_stop(&net->user);
		net->user_started = false;
	}
}
