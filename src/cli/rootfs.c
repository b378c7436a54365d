// SPDX-License-Identifier: Apache-2.0
/*
 * clone rootfs create: options into struct rootfs_opts (rootfs/rootfs.h),
 * which does the work.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lib/err.h"
#include "lib/util.h"
#include "rootfs/rootfs.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: clone rootfs create SOURCE -o IMAGE [OPTIONS]\n"
		"Build a bootable root file system image for clone run --rootfs IMAGE.\n"
		"\n"
		"SOURCE (one):\n"
		"  --distro debian|ubuntu|alpine  a distribution (debootstrap; Alpine's "
		"minirootfs)\n"
		"  --release R        debian: bookworm (default), bullseye, trixie, sid;\n"
		"                     ubuntu: jammy (default), noble, focal; alpine: 3.20 "
		"(default)\n"
		"  --mirror URL       the archive (Debian: the host's apt source by default)\n"
		"  --keyring FILE     the archive's keys (debian, ubuntu; ubuntu's default is\n"
		"                     /usr/share/keyrings/ubuntu-archive-keyring.gpg)\n"
		"  --from-dir DIR     a directory tree (e.g. a busybox tree)\n"
		"  --from-tar FILE    a tarball (gzip, xz, zstd or plain; e.g. docker export)\n"
		"  --from-oci PATH[:REF]  an OCI image layout directory or tarball\n"
		"  --from-docker IMAGE    an image of the local Docker or Podman engine\n"
		"  --engine docker|podman  which engine (default: docker if its daemon runs,\n"
		"                     else podman)\n"
		"\n"
		"OPTIONS:\n"
		"  -o, --output IMAGE  the image file (its directory must exist)\n"
		"  --size SIZE         the file system's size (default 2G; sparse)\n"
		"  --format raw|qcow2  raw (default) or qcow2\n"
		"  --force             replace IMAGE if it exists\n"
		"  --packages a,b      more distribution packages (debian, ubuntu, alpine)\n"
		"  --ssh-key FILE      authorise this public key for root (and install sshd);\n"
		"                      without it root logs in on the console without a password\n"
		"  --hostname NAME     the image's hostname (default clone)\n"
		"  --kernel-modules[=VERSION]  add /lib/modules/VERSION (default: the kernel\n"
		"                      clone run boots) so the guest can load drivers\n"
		"\n"
		"Every image gets clone-agent (started at boot), a getty on ttyS0, hostname,\n"
		"/etc/fstab and loopback networking (NIC addresses come from clone-agent).\n"
		"Needs root. A failed build leaves nothing behind.\n");
}

enum {
	OPT_DISTRO = 256,
	OPT_RELEASE,
	OPT_MIRROR,
	OPT_KEYRING,
	OPT_FROM_DIR,
	OPT_FROM_TAR,
	OPT_FROM_OCI,
	OPT_FROM_DOCKER,
	OPT_ENGINE,
	OPT_SIZE,
	OPT_FORMAT,
	OPT_FORCE,
	OPT_PACKAGES,
	OPT_SSH_KEY,
	OPT_HOSTNAME,
	OPT_KMODS,
};

static const struct option options[] = {
	{ "distro", required_argument, NULL, OPT_DISTRO },
	{ "release", required_argument, NULL, OPT_RELEASE },
	{ "mirror", required_argument, NULL, OPT_MIRROR },
	{ "keyring", required_argument, NULL, OPT_KEYRING },
	{ "from-dir", required_argument, NULL, OPT_FROM_DIR },
	{ "from-tar", required_argument, NULL, OPT_FROM_TAR },
	{ "from-oci", required_argument, NULL, OPT_FROM_OCI },
	{ "from-docker", required_argument, NULL, OPT_FROM_DOCKER },
	{ "engine", required_argument, NULL, OPT_ENGINE },
	{ "output", required_argument, NULL, 'o' },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "packages", required_argument, NULL, OPT_PACKAGES },
	{ "ssh-key", required_argument, NULL, OPT_SSH_KEY },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "kernel-modules", optional_argument, NULL, OPT_KMODS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int set_source(struct rootfs_opts *o, enum rootfs_source s, const char *arg, int *n)
{
	(*n)++;
	o->source = s;
	if (s == ROOTFS_DISTRO)
		o->distro = arg;
	else
		o->from = arg;
	return 0;
}

static bool valid_name(const char *s, const char *extra)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(extra, *s)))
			return false;
	return true;
}

int cli_rootfs(int argc, char **argv)
{
	struct rootfs_opts o = { .size = ROOTFS_DEFAULT_SIZE };
	int c, sources = 0, ret;

	if (argc < 2 || strcmp(argv[1], "create")) {
		if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
			usage(stdout);
			return EXIT_OK;
		}
		cli_error("rootfs: expected `create` (see clone rootfs --help)");
		return EXIT_BAD_CONFIG;
	}
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", options, NULL)) != -1) {
		switch (c) {
		case OPT_DISTRO:
			set_source(&o, ROOTFS_DISTRO, optarg, &sources);
			break;
		case OPT_FROM_DIR:
			set_source(&o, ROOTFS_DIR, optarg, &sources);
			break;
		case OPT_FROM_TAR:
			set_source(&o, ROOTFS_TAR, optarg, &sources);
			break;
		case OPT_FROM_OCI:
			set_source(&o, ROOTFS_OCI, optarg, &sources);
			break;
		case OPT_FROM_DOCKER:
			set_source(&o, ROOTFS_DOCKER, optarg, &sources);
			break;
		case OPT_ENGINE:
			if (strcmp(optarg, "docker") && strcmp(optarg, "podman")) {
				cli_error("--engine %s: docker or podman", optarg);
				return EXIT_BAD_CONFIG;
			}
			o.engine = optarg;
			break;
		case OPT_RELEASE:
			o.release = optarg;
			break;
		case OPT_MIRROR:
			o.mirror = optarg;
			break;
		case OPT_KEYRING:
			o.keyring = optarg;
			break;
		case 'o':
			o.output = optarg;
			break;
		case OPT_SIZE:
			if (parse_size(optarg, &o.size)) {
				cli_error("--size %s: expected a size like 2G or 512M", optarg);
				return EXIT_BAD_CONFIG;
			}
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "raw") && strcmp(optarg, "qcow2")) {
				cli_error("--format %s: raw or qcow2", optarg);
				return EXIT_BAD_CONFIG;
			}
			o.qcow2 = !strcmp(optarg, "qcow2");
			break;
		case OPT_FORCE:
			o.force = true;
			break;
		case OPT_PACKAGES:
			if (!valid_name(optarg, ",.+-_:=~")) {
				cli_error("--packages %s: expected names separated by commas",
					  optarg);
				return EXIT_BAD_CONFIG;
			}
			o.packages = optarg;
			break;
		case OPT_SSH_KEY:
			o.ssh_key = optarg;
			break;
		case OPT_HOSTNAME:
			if (!valid_name(optarg, "-.") || strlen(optarg) > 63) {
				cli_error("--hostname %s: letters, digits, '-' and '.', at most 63",
					  optarg);
				return EXIT_BAD_CONFIG;
			}
			o.hostname = optarg;
			break;
		case OPT_KMODS:
			o.kernel_modules = true;
			o.kmod_version = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case ':':
			cli_error("rootfs create: %s needs a value", argv[optind - 1]);
			return EXIT_BAD_CONFIG;
		default:
			cli_error("rootfs create: unknown option %s (see clone rootfs --help)",
				  argv[optind - 1]);
			return EXIT_BAD_CONFIG;
		}
	}
	if (optind < argc) {
		cli_error("rootfs create: unexpected argument %s", argv[optind]);
		return EXIT_BAD_CONFIG;
	}
	if (sources != 1) {
		cli_error("rootfs create: give one source (--distro, --from-dir, --from-tar, "
			  "--from-oci or --from-docker)");
		return EXIT_BAD_CONFIG;
	}
	if (!o.output) {
		cli_error("rootfs create: -o IMAGE is required");
		return EXIT_BAD_CONFIG;
	}
	if (o.engine && o.source != ROOTFS_DOCKER) {
		cli_error("rootfs create: --engine goes with --from-docker");
		return EXIT_BAD_CONFIG;
	}
	if (o.source != ROOTFS_DISTRO && (o.release || o.mirror || o.keyring)) {
		cli_error("rootfs create: --release, --mirror and --keyring go with --distro");
		return EXIT_BAD_CONFIG;
	}
	if (o.keyring && o.source == ROOTFS_DISTRO && !strcmp(o.distro, "alpine")) {
		cli_error("rootfs create: --keyring goes with debian or ubuntu (Alpine's "
			  "minirootfs is checked by its SHA-256)");
		return EXIT_BAD_CONFIG;
	}
	if (o.source == ROOTFS_DISTRO) {
		ret = rootfs_check_release(o.distro, o.release ? o.release
							       : rootfs_default_release(o.distro));
		if (ret) {
			cli_error("%s", err_msg());
			return EXIT_BAD_CONFIG;
		}
	} else if (o.packages) {
		cli_error("rootfs create: --packages goes with --distro");
		return EXIT_BAD_CONFIG;
	}
	o.progress = isatty(2);
	ret = rootfs_create(&o);
	if (ret) {
		cli_error("%s", err_msg());
		return ret == -EINVAL || ret == -ENOENT || ret == -EEXIST || ret == -ENOSPC ||
				       ret == -EBADMSG || ret == -ENOTDIR || ret == -EPERM ||
				       ret == -ENOTSUP || ret == -ENOEXEC
			       ? EXIT_BAD_CONFIG
			       : EXIT_RUNTIME;
	}
	return EXIT_OK;
}
