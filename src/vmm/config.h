/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct vm_config: the one description of a VM.  The CLI fills it, the
 * control socket and snapshots will read and write it; vm.c builds a VM
 * from it.  config_validate() checks what a parser cannot.
 */
#ifndef CLONE_VMM_CONFIG_H
#define CLONE_VMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/ratelimit.h"

#define CONFIG_DEFAULT_MEM_MB 256
#define CONFIG_DEFAULT_VCPUS 1
#define CONFIG_MAX_VCPUS 255 /* LAPIC IDs fit the 8-bit xAPIC ID */
#define CONFIG_MIN_MEM_MB 16
#define CONFIG_MAX_MEM_MB (1024u * 1024u) /* 1 TiB */
/* Guest arguments when --cmdline does not replace them. */
#define CONFIG_DEFAULT_CMDLINE "console=ttyS0 8250.nr_uarts=1 panic=-1 quiet"

enum serial_mode { SERIAL_STDIO, SERIAL_FILE, SERIAL_NONE };

#define CONFIG_MAX_DISKS 8	   /* --disk, besides the rootfs and its overlay */
#define CONFIG_DISK_SERIAL_MAX 20  /* VIRTIO_BLK_ID_BYTES */
#define CONFIG_MIN_CID 3	   /* 0-2 are reserved (hypervisor, local, host) */
#define CONFIG_MAX_CID 0x3fffffffu /* AP_MAX_CID: the agent's host port is derived from it */

enum config_disk_format { CONFIG_FMT_AUTO, CONFIG_FMT_RAW, CONFIG_FMT_QCOW2 };

struct disk_config { /* --disk PATH[,ro][,format=F][,serial=S] */
	char *path;
	bool ro;
	enum config_disk_format format;
	char *serial;	     /* NULL: "disk<N>" */
	struct rl_config rl; /* bps=, iops=...: zero is unlimited */
};

#define CONFIG_MAX_NICS 4
#define CONFIG_MAX_FWDS 32

enum nic_mode {
	NIC_BRIDGE, /* --net [bridge]: a TAP made by Clone on the host bridge, NAT, leased address */
	NIC_USER,   /* --net user: pasta in a user+network namespace, -p forwards */
	NIC_TAP,    /* --tap NAME: an existing TAP device */
};

struct nic_config {
	enum nic_mode mode;
	char *tap;	   /* NIC_TAP: the device */
	char *bridge;	   /* NIC_BRIDGE: NULL for the default (clone0) */
	char *bridge_addr; /* NIC_BRIDGE: the bridge's CIDR, NULL for the default */
	char *ip;	   /* NIC_TAP: the guest's CIDR to configure, or NULL */
	char *gw;	   /* NIC_TAP: its gateway, or NULL */
	bool has_mac;
	uint8_t mac[6]; /* has_mac: --mac or mac=; else derived from the VM name */
	bool no_vhost;	/* vhost=off */
	struct rl_config rx, tx;
};

struct template_meta;

struct port_fwd {
	uint16_t host, guest;
};

enum overlay_mode {
	OVERLAY_NONE,  /* --rootfs alone: the disk is the root, read-write */
	OVERLAY_TMPFS, /* writes go to guest RAM */
	OVERLAY_AUTO,  /* a temporary qcow2 under the data directory, deleted at exit */
	OVERLAY_FILE,  /* a persistent qcow2 (created and formatted on first use) */
};

struct vm_config {
	char *kernel;	     /* NULL: newest /boot/vmlinuz-* */
	char *initrd;	     /* NULL: the built-in busybox initramfs */
	char *cmdline;	     /* NULL: CONFIG_DEFAULT_CMDLINE */
	char *append;	     /* extra guest arguments, or NULL */
	char *kernel_sha256; /* expected hex digest, or NULL */
	uint64_t mem_mb;
	unsigned vcpus;
	enum serial_mode serial;
	char *serial_path; /* SERIAL_FILE */
	bool boot_timing;
	bool ksm;
	int log_level; /* enum log_level */
	struct disk_config disks[CONFIG_MAX_DISKS];
	unsigned nr_disks;
	char *rootfs; /* --rootfs image, or NULL */
	enum overlay_mode overlay;
	char *overlay_path;    /* OVERLAY_FILE */
	uint64_t overlay_size; /* bytes; a new overlay's virtual size (0: default) */
	char *modules;	       /* --modules DIR|none, or NULL for /lib/modules/<version> */
	/* Host<->guest (docs/agent-protocol.md) */
	char *name;    /* --name; NULL: generated */
	bool detach;   /* -d: run in the background, console to the log and the socket */
	uint64_t cid;  /* --cid; 0: a free one */
	bool no_vsock; /* --no-vsock: no virtio-vsock device (and so no agent) */
	bool no_agent; /* --no-agent: the generated initramfs does not start clone-agent */
	/* Networking */
	struct nic_config nics[CONFIG_MAX_NICS];
	unsigned nr_nics;
	struct port_fwd fwds[CONFIG_MAX_FWDS]; /* -p HOST:GUEST (with --net user) */
	unsigned nr_fwds;
	char *netns; /* --netns NAME|PATH, or NULL */
	/* From a template: clone run --from-template, clone fork, clone restore. */
	char *from_template;	    /* the template's name, or NULL */
	bool keep_identity;	    /* restore: the template's MACs, and its CID if free */
	uint64_t preferred_cid;	    /* tried before an automatic CID (0: none) */
	struct template_meta *tmpl; /* what template_apply() read (owned; config_free()) */
	/* Set by `clone run` from the registry, not by flags. */
	char *api_path;	    /* the control socket, or NULL */
	char *console_path; /* the console socket, or NULL */
};

/*
 * Parse one --disk argument into d (fields malloc'ed).  0 or -EINVAL with
 * the message set.
 */
int config_parse_disk(const char *arg, struct disk_config *d);
/*
 * Parse --net [MODE][,KEY=VAL...] (arg NULL: bridge with defaults) or
 * --tap NAME[,KEY=VAL...] into n (fields malloc'ed).  0 or -EINVAL with
 * the message set.
 */
int config_parse_net(const char *arg, struct nic_config *n);
int config_parse_tap(const char *arg, struct nic_config *n);
/* "52:54:00:12:34:56" into mac; 0 or -EINVAL (message set). */
int config_parse_mac(const char *arg, uint8_t mac[6]);
/* -p HOST:GUEST or -p PORT into f; 0 or -EINVAL (message set). */
int config_parse_fwd(const char *arg, struct port_fwd *f);
/*
 * The MAC of NIC index for VM name when none was given: locally
 * administered, unicast (02:...), stable for a (name, index) pair.
 */
void config_derive_mac(const char *name, unsigned index, uint8_t mac[6]);

/* Parse --overlay tmpfs|auto|PATH into cfg.  0 or -EINVAL. */
int config_parse_overlay(struct vm_config *cfg, const char *arg);

void config_init(struct vm_config *cfg);
void config_free(struct vm_config *cfg);
/* 0 or -EINVAL with the message set. */
int config_validate(const struct vm_config *cfg);
/* One "key: value" line per field. */
void config_print(const struct vm_config *cfg, FILE *f);
/*
 * The guest command line: the default or --cmdline, then --append, then
 * extra (device arguments), space separated.  malloc'ed; NULL on ENOMEM.
 */
char *config_guest_cmdline(const struct vm_config *cfg, const char *extra);

#endif
