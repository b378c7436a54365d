// SPDX-License-Identifier: Apache-2.0
/*
 * clone-agent: the identity page (identity.h).  The first read only
 * remembers the generation and writes the identity file; a later read with
 * another generation means the memory this agent runs in was snapshotted
 * and continued elsewhere, so everything random it holds is stale.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "identity.h"

/* <linux/random.h>, which musl does not carry. */
#ifndef RNDADDENTROPY
#define RNDADDENTROPY _IOW('R', 0x03, int[2])
#endif
#ifndef RNDRESEEDCRNG
#define RNDRESEEDCRNG _IO('R', 0x07)
#endif

int identity_parse(const void *buf, size_t len, struct identity_page *out)
{
	if (len < sizeof(*out))
		return -EINVAL;
	memcpy(out, buf, sizeof(*out));
	if (memcmp(out->magic, IDENTITY_MAGIC, sizeof(out->magic)) ||
	    le32toh(out->version) != IDENTITY_VERSION || le32toh(out->size) < sizeof(*out) ||
	    le32toh(out->size) > IDENTITY_SIZE)
		return -EINVAL;
	out->name[sizeof(out->name) - 1] = '\0';
	out->hostname[sizeof(out->hostname) - 1] = '\0';
	out->template_name[sizeof(out->template_name) - 1] = '\0';
	return 0;
}

int identity_format(const struct identity_page *p, char *out, size_t cap)
{
	char id[33];
	int n;

	for (unsigned i = 0; i < 16; i++)
		snprintf(id + 2 * i, 3, "%02x", p->vm_id[i]);
	n = snprintf(out, cap,
		     "name=%s\nhostname=%s\ncid=%llu\ngeneration=%llu\nvm_id=%s\n"
		     "template=%s\n",
		     p->name, p->hostname, (unsigned long long)le64toh(p->cid),
		     (unsigned long long)le64toh(p->generation), id, p->template_name);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

static int write_identity_file(const struct identity_page *p, const char *dir)
{
	char text[512], path[256], tmp[272];
	int n = identity_format(p, text, sizeof(text)), fd;

	if (n < 0)
		return n;
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/identity", dir);
	snprintf(tmp, sizeof(tmp), "%s/.identity.tmp", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)n) != n) {
		close(fd);
		unlink(tmp);
		return -EIO;
	}
	close(fd);
	return rename(tmp, path) < 0 ? -errno : 0;
}

/* Mix the page's entropy into the kernel's pool, credited, and reseed now. */
static void reseed(const struct identity_page *p)
{
	struct {
		int entropy_count; /* struct rand_pool_info */
		int buf_size;
		uint8_t buf[IDENTITY_ENTROPY];
	} e;
	int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);

	if (fd < 0) {
		alog(LOG_W, "/dev/urandom: %m");
		return;
	}
	e.entropy_count = IDENTITY_ENTROPY * 8;
	e.buf_size = IDENTITY_ENTROPY;
	memcpy(e.buf, p->entropy, IDENTITY_ENTROPY);
	if (ioctl(fd, RNDADDENTROPY, &e) < 0)
		alog(LOG_W, "RNDADDENTROPY: %m");
	if (ioctl(fd, RNDRESEEDCRNG) < 0 && errno != ENOTTY && errno != EINVAL)
		alog(LOG_W, "RNDRESEEDCRNG: %m");
	close(fd);
}

int identity_refresh(struct identity_state *st, const char *mem_path, const char *dir,
		     uint8_t token[AP_TOKEN_LEN])
{
	uint8_t buf[sizeof(struct identity_page)];
	struct identity_page p;
	uint64_t gen;
	bool fresh;
	int fd = open(mem_path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		n = -errno;
	else
		n = pread(fd, buf, sizeof(buf), (off_t)IDENTITY_GPA);
	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)sizeof(buf) || identity_parse(buf, sizeof(buf), &p)) {
		if (!st->warned)
			alog(LOG_I, "no identity page at 0x%llx in %s",
			     (unsigned long long)IDENTITY_GPA, mem_path);
		st->warned = true;
		return n < 0 ? (int)n : -EINVAL;
	}
	gen = le64toh(p.generation);
	fresh = st->known && gen != st->generation;
	if (st->known && !fresh)
		return 0;
	if (fresh || gen > 0) {
		/* This memory was continued elsewhere: nothing random in it is ours alone. */
		reseed(&p);
		if (getrandom(token, AP_TOKEN_LEN, 0) != AP_TOKEN_LEN)
			alog(LOG_W, "getrandom: %m");
		alog(LOG_I, "forked: generation %llu, cid %llu", (unsigned long long)gen,
		     (unsigned long long)le64toh(p.cid));
	}
	st->known = true;
	st->generation = gen;
	if (write_identity_file(&p, dir) < 0)
		alog(LOG_W, "%s/identity: %m", dir);
	return fresh;
}
