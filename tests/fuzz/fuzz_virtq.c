// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the split virtqueue walk (src/virtio/queue.c).  The
 * input is a 16-byte header of queue parameters followed by a guest memory
 * image.  Guest memory is two 64 KiB regions with a 64 KiB hole between
 * them; the image fills the first region, then the second.  The target
 * plays the device: pop chains until the ring is empty or refused, check
 * every iovec lies in guest RAM, copy through the chain helpers (which may
 * scribble over the rings: a hostile guest can do that too), push the
 * chains back and make the notification decisions, then round-trip the
 * queue state.  It must never crash, hang or leave RAM.  Single-threaded.
 *
 * Header: [0] log2 queue size, [1] flags (event_idx, indirect, ready,
 * validate first), [2..5] desc, [6..9] avail, [10..13] used guest
 * addresses (little-endian, masked to 18 bits: RAM, hole and beyond),
 * [14..15] starting last_avail = used_idx.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "virtio/queue.h"
#include "vmm/mem.h"

#define REGION 0x10000u
#define HOLE_END 0x20000u
#define HDR 16

static uint8_t ram[2 * REGION];
static struct virtq_chain chain;

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void check_chain(const struct virtq_chain *c)
{
	uint64_t out = 0, in = 0;

	if (c->nr_out + c->nr_in > VIRTQ_MAX_CHAIN)
		abort();
	for (unsigned i = 0; i < c->nr_out + c->nr_in; i++) {
		const uint8_t *b = c->iov[i].iov_base;

		/* Every buffer wholly inside the host memory backing the guest. */
		if (!c->iov[i].iov_len || b < ram || b + c->iov[i].iov_len > ram + sizeof(ram))
			abort();
		if (b < ram + REGION && b + c->iov[i].iov_len > ram + REGION)
			abort(); /* glued across the hole */
		if (i < c->nr_out)
			out += c->iov[i].iov_len;
		else
			in += c->iov[i].iov_len;
	}
	if (out != c->out_len || in != c->in_len || out + in > 0xffffffffull)
		abort();
}

static void round_trip(const struct virtq *q, const struct guest_mem *gm)
{
	struct virtq_state a, b;
	struct virtq t;

	virtq_save(q, &a);
	virtq_init(&t, gm);
	if (virtq_restore(&t, &a))
		abort(); /* a saved state must always load */
	virtq_save(&t, &b);
	if (memcmp(&a, &b, sizeof(a)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem gm = { .nr = 2 };
	struct virtq q;
	uint8_t scratch[256];
	size_t img;
	unsigned budget;

	if (size < HDR)
		return 0;
	log_set_level(LOG_ERR);
	gm.regions[0] = (struct gm_region){ .gpa = 0, .size = REGION, .hva = ram };
	gm.regions[1] = (struct gm_region){ .gpa = HOLE_END, .size = REGION, .hva = ram + REGION };
	memset(ram, 0, sizeof(ram));
	img = size - HDR < sizeof(ram) ? size - HDR : sizeof(ram);
	memcpy(ram, data + HDR, img);

	virtq_init(&q, &gm);
	q.size = (uint16_t)(1u << (data[0] & 15));
	q.event_idx = data[1] & 1;
	q.indirect = data[1] & 2;
	q.ready = !(data[1] & 4);
	q.desc_gpa = le32_at(data + 2) & 0x3ffff;
	q.avail_gpa = le32_at(data + 6) & 0x3ffff;
	q.used_gpa = le32_at(data + 10) & 0x3ffff;
	q.last_avail = q.used_idx = (uint16_t)(data[14] | data[15] << 8);
	if ((data[1] & 8) && virtq_validate(&q))
		return 0;

	/*
	 * An untouched ring empties in at most size pops, but the chain
	 * writes and used entries may land on avail->idx and refill it.
	 */
	for (budget = 2u * q.size + 2; budget; budget--) {
		size_t n, w;
		int ret = virtq_pop(&q, &chain);

		if (ret > 1)
			abort();
		if (ret <= 0)
			break;
		check_chain(&chain);
		if (chain.head >= q.size)
			abort();
		n = virtq_chain_read(&chain, chain.out_len / 2, scratch, sizeof(scratch));
		if (n > sizeof(scratch) || n > chain.out_len)
			abort();
		w = virtq_chain_write(&chain, chain.in_len / 3, scratch, n);
		if (w > n || w > chain.in_len)
			abort();
		virtq_push(&q, chain.head, (uint32_t)w);
		(void)virtq_should_notify(&q);
		if (budget & 1) {
			virtq_set_notify(&q, false);
			virtq_set_notify(&q, true);
		}
	}
	(void)virtq_has_avail(&q);
	round_trip(&q, &gm);
	return 0;
}
