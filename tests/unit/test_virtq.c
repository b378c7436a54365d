// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: split virtqueues (src/virtio/queue.c) over fake guest memory
 * with a hole: chain walks and every way a driver can get them wrong
 * (cycles, bad addresses, indirect tables, ordering, index jumps), 16-bit
 * index wrap, the used ring, notification suppression in both directions,
 * the chain copy helpers and save/restore.  The test plays the driver by
 * writing the rings directly.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fakes/fake_mem.h"
#include "lib/util.h"
#include "virtio/queue.h"

#define QSIZE 16
#define DESC 0x10000ull
#define AVAIL 0x20000ull
#define USED 0x30000ull
#define DATA 0x40000ull	 /* buffers */
#define TABLE 0x80000ull /* indirect tables */

#define F_NEXT VIRTQ_DESC_F_NEXT
#define F_WRITE VIRTQ_DESC_F_WRITE
#define F_INDIRECT VIRTQ_DESC_F_INDIRECT

static struct guest_mem gm;
static struct virtq q;
static struct virtq_chain *c;
static uint16_t drv_avail; /* the driver's next avail index */

static void setup_size(uint16_t size)
{
	cr_assert_eq(fake_mem_init_std(&gm), 0);
	c = malloc(sizeof(*c));
	cr_assert(c);
	virtq_init(&q, &gm);
	q.size = size;
	q.desc_gpa = DESC;
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	q.ready = true;
	q.indirect = true;
	drv_avail = 0;
}

static void setup(void)
{
	setup_size(QSIZE);
}

static void teardown(void)
{
	free(c);
	fake_mem_destroy(&gm);
}

TestSuite(virtq, .init = setup, .fini = teardown, .timeout = 10);

static void *at(uint64_t gpa)
{
	void *p = fake_mem_at(&gm, gpa);

	cr_assert(p, "test bug: %#llx is not RAM", (unsigned long long)gpa);
	return p;
}

static void put16(uint64_t gpa, uint16_t v)
{
	memcpy(at(gpa), &v, 2);
}

static uint16_t get16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, at(gpa), 2);
	return v;
}

static uint32_t get32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, at(gpa), 4);
	return v;
}

static void put_desc_at(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
			uint16_t next)
{
	uint8_t *p = at(table + 16ull * i);

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	put_desc_at(q.desc_gpa, i, addr, len, flags, next);
}

/* Publish head in the avail ring and bump avail->idx. */
static void avail_add(uint16_t head)
{
	put16(q.avail_gpa + 4 + 2ull * (drv_avail % q.size), head);
	drv_avail++;
	put16(q.avail_gpa + 2, drv_avail);
}

static void set_avail_idx(uint16_t idx)
{
	drv_avail = idx;
	put16(q.avail_gpa + 2, idx);
}

static void start_at(uint16_t idx)
{
	q.last_avail = idx;
	q.used_idx = idx;
	set_avail_idx(idx);
}

static uint16_t used_idx_in_ring(void)
{
	return get16(q.used_gpa + 2);
}

static void used_elem(unsigned slot, uint32_t *id, uint32_t *len)
{
	*id = get32(q.used_gpa + 4 + 8ull * slot);
	*len = get32(q.used_gpa + 4 + 8ull * slot + 4);
}

static void set_used_event(uint16_t v)
{
	put16(q.avail_gpa + 4 + 2ull * q.size, v);
}

static uint16_t avail_event(void)
{
	return get16(q.used_gpa + 4 + 8ull * q.size);
}

static void expect_einval(const char *what)
{
	uint16_t before = q.last_avail;

	cr_assert_eq(virtq_pop(&q, c), -EINVAL, "%s", what);
	cr_assert_eq(q.last_avail, before, "a refused chain is not consumed");
}

/* ---- basic walks ---- */

Test(virtq, empty_and_not_ready)
{
	cr_assert_eq(virtq_validate(&q), 0);
	cr_assert_eq(virtq_pop(&q, c), 0);
	cr_assert_not(virtq_has_avail(&q));
	desc(0, DATA, 8, 0, 0);
	avail_add(0);
	q.ready = false;
	cr_assert_eq(virtq_pop(&q, c), 0, "a queue that is not ready is empty to the device");
	cr_assert_not(virtq_has_avail(&q));
	q.ready = true;
	cr_assert(virtq_has_avail(&q));
}

Test(virtq, readable_then_writable)
{
	desc(3, DATA, 16, F_NEXT, 7);
	desc(7, DATA + 0x100, 32, F_NEXT, 1);
	desc(1, DATA + 0x200, 64, F_WRITE, 0);
	avail_add(3);
	cr_assert_eq(virtq_pop(&q, c), 1);
	cr_assert_eq(c->head, 3);
	cr_assert_eq(c->nr_out, 2);
	cr_assert_eq(c->nr_in, 1);
	cr_assert_eq(c->out_len, 48);
	cr_assert_eq(c->in_len, 64);
	cr_assert_eq(c->iov[0].iov_base, at(DATA));
	cr_assert_eq(c->iov[0].iov_len, 16);
	cr_assert_eq(c->iov[1].iov_base, at(DATA + 0x100));
	cr_assert_eq(c->iov[2].iov_base, at(DATA + 0x200));
	cr_assert_eq(c->iov[2].iov_len, 64);
	cr_assert_eq(q.last_avail, 1);
	cr_assert_eq(virtq_pop(&q, c), 0);
	cr_assert_not(virtq_has_avail(&q));
}

Test(virtq, several_chains_in_order)
{
	for (unsigned i = 0; i < 4; i++) {
		desc(i, DATA + 0x100 * i, 8 + i, 0, 0);
		avail_add((uint16_t)(3 - i));
	}
	for (unsigned i = 0; i < 4; i++) {
		cr_assert_eq(virtq_pop(&q, c), 1);
		cr_assert_eq(c->head, 3 - i);
		cr_assert_eq(c->out_len, 8 + 3 - i);
	}
	cr_assert_eq(virtq_pop(&q, c), 0);
}

Test(virtq, only_writable)
{
	desc(0, DATA, 512, F_WRITE, 0);
	avail_add(0);
	cr_assert_eq(virtq_pop(&q, c), 1);
	cr_assert_eq(c->nr_out, 0);
	cr_assert_eq(c->nr_in, 1);
	cr_assert_eq(c->in_len, 512);
}

Test(virtq, full_length_chain_of_queue_size)
{
	for (unsigned i = 0; i < QSIZE; i++)
		desc(i, DATA + 16 * i, 16, i + 1 < QSIZE ? F_NEXT : 0, (uint16_t)(i + 1));
	avail_add(0);
	cr_assert_eq(virtq_pop(&q, c), 1, "a chain using every descriptor once is fine");
	cr_assert_eq(c->nr_out, QSIZE);
}

/* ---- cycles and ranges ---- */

Test(virtq, self_loop)
{
	desc(2, DATA, 8, F_NEXT, 2);
	avail_add(2);
	expect_einval("descriptor pointing at itself");
}

Test(virtq, two_descriptor_cycle)
{
	desc(0, DATA, 8, F_NEXT, 1);
	desc(1, DATA, 8, F_NEXT, 0);
	avail_add(0);
	expect_einval("0 -> 1 -> 0");
}

Test(virtq, cycle_of_zero_length_descriptors)
{
	/* Skipped buffers still count towards the bound. */
	desc(0, 0, 0, F_NEXT, 1);
	desc(1, 0, 0, F_NEXT, 0);
	avail_add(0);
	expect_einval("zero-length cycle");
}

Test(virtq, next_out_of_range)
{
	desc(0, DATA, 8, F_NEXT, QSIZE);
	avail_add(0);
	expect_einval("next == size");
	desc(0, DATA, 8, F_NEXT, 0xffff);
	expect_einval("next == 0xffff");
}

Test(virtq, head_out_of_range)
{
	avail_add(QSIZE);
	expect_einval("head == size");
}

Test(virtq, buffer_past_end_of_ram)
{
	desc(0, FAKE_MEM_HIGH + FAKE_MEM_HIGH_SIZE, 8, 0, 0);
	avail_add(0);
	expect_einval("buffer after the last region");
}

Test(virtq, buffer_in_hole)
{
	desc(0, FAKE_MEM_LOW + 0x1000, 8, 0, 0);
	avail_add(0);
	expect_einval("buffer in the hole");
}

Test(virtq, buffer_straddling_hole)
{
	desc(0, FAKE_MEM_LOW - 8, 16, 0, 0);
	avail_add(0);
	expect_einval("buffer running from RAM into the hole");
	desc(0, FAKE_MEM_HIGH - 8, 16, 0, 0);
	expect_einval("buffer running from the hole into RAM");
	desc(0, FAKE_MEM_LOW - 8, 8, 0, 0);
	cr_assert_eq(virtq_pop(&q, c), 1, "the last bytes before the hole are fine");
}

Test(virtq, buffer_address_wraps)
{
	desc(0, UINT64_MAX - 3, 16, 0, 0);
	avail_add(0);
	expect_einval("addr + len overflows");
}

Test(virtq, buffer_in_high_region)
{
	desc(0, FAKE_MEM_HIGH + FAKE_MEM_HIGH_SIZE - 64, 64, F_WRITE, 0);
	avail_add(0);
	cr_assert_eq(virtq_pop(&q, c), 1);
	cr_assert_eq(c->iov[0].iov_base, at(FAKE_MEM_HIGH + FAKE_MEM_HIGH_SIZE - 64));
}

/* ---- ordering and zero length ---- */

Test(virtq, readable_after_writable)
{
	desc(0, DATA, 8, F_WRITE | F_NEXT, 1);
	desc(1, DATA + 8, 8, 0, 0);
	avail_add(0);
	expect_einval("readable after writable");
}

Test(virtq, zero_length_descriptors_are_skipped)
{
	desc(0, DATA, 8, F_NEXT, 1);
	desc(1, FAKE_MEM_LOW + 0x100, 0, F_NEXT, 2); /* in the hole, but empty */
	desc(2, DATA + 8, 8, F_WRITE | F_NEXT, 3);
	desc(3, 0, 0, F_NEXT, 4); /* a readable one after writable: empty, so ignored */
	desc(4, DATA + 16, 8, F_WRITE, 0);
	avail_add(0);
	cr_assert_eq(virtq_pop(&q, c), 1);
	cr_assert_eq(c->nr_out, 1);
	cr_assert_eq(c->nr_in, 2);
	cr_assert_eq(c->iov[1].iov_base, at(DATA + 8));
	cr_assert_eq(c->iov[2].iov_base, at(DATA + 16));
}

Test(virtq, chain_of_only_empty_descriptors)
{
	desc(0, 0, 0, 0, 0);
	avail_add(0);
	cr_assert_eq(virtq_pop(&q, c), 1);
	cr_assert_eq(c->nr_out + c->nr_in, 0);
	cr_assert_eq(c->out_len + c->in_len, 0);
}

/* ---- indirect tables ---- */

Test(virtq, indirect_table)
{
	put_desc_at(TABLE, 0, DATA, 16, F_NEXT, 2);
	put_desc_at(TABLE, 2, DATA + 0x100, 100, F_NEXT, 1);
	put_desc_at(TABLE, 1, DATA + 0x200, 1, F_WRITE, 0);
	desc(5, TABLE, 3 * 16, F_INDIRECT, 0);
	avail_add(5);
	cr_assert_eq(virtq_pop(&q, c), 1);
	cr_assert_eq(c->head, 5);
	cr_assert_eq(c->nr_out, 2);
	cr_assert_eq(c->nr_in, 1);
	cr_assert_eq(c->out_len, 116);
	cr_assert_eq(c->in_len, 1);
	cr_assert_eq(c->iov[1].iov_base, at(DATA + 0x100));
}

Test(virtq, indirect_ignores_write_flag_of_its_descriptor)
{
	put_desc_at(TABLE, 0, DATA, 16, 0, 0);
	desc(0, TABLE, 16, F_INDIRECT | F_WRITE, 0);
	avail_add(0);
	cr_assert_eq(virtq_pop(&q, c), 1);
	cr_assert_eq(c->nr_out, 1);
}

Test(virtq, direct_buffers_before_indirect_table)
{
	put_desc_at(TABLE, 0, DATA + 0x100, 8, F_WRITE, 0);
	desc(0, DATA, 8, F_NEXT, 1);
	desc(1, TABLE, 16, F_INDIRECT, 0);
	avail_add(0);
	cr_assert_eq(virtq_pop(&q, c), 1);
	cr_assert_eq(c->nr_out, 1);
	cr_assert_eq(c->nr_in, 1);
}

Test(virtq, indirect_not_negotiated)
{
	put_desc_at(TABLE, 0, DATA, 16, 0, 0);
	desc(0, TABLE, 16, F_INDIRECT, 0);
	avail_add(0);
	q.indirect = false;
	expect_einval("indirect without the feature");
	q.indirect = true;
	cr_assert_eq(virtq_pop(&q, c), 1);
}

Test(virtq, indirect_nested)
{
	put_desc_at(TABLE + 0x100, 0, DATA, 16, 0, 0);
	put_desc_at(TABLE, 0, TABLE + 0x100, 16, F_INDIRECT, 0);
	desc(0, TABLE, 16, F_INDIRECT, 0);
	avail_add(0);
	expect_einval("indirect inside indirect");
}

Test(virtq, indirect_with_next)
{
	put_desc_at(TABLE, 0, DATA, 16, 0, 0);
	desc(0, TABLE, 16, F_INDIRECT | F_NEXT, 1);
	desc(1, DATA, 8, 0, 0);
	avail_add(0);
	expect_einval("INDIRECT | NEXT");
}

Test(virtq, indirect_bad_lengths)
{
	put_desc_at(TABLE, 0, DATA, 16, 0, 0);
	avail_add(0);
	desc(0, TABLE, 0, F_INDIRECT, 0);
	expect_einval("empty table");
	desc(0, TABLE, 24, F_INDIRECT, 0);
	expect_einval("length not a multiple of 16");
	desc(0, TABLE, 8, F_INDIRECT, 0);
	expect_einval("shorter than one descriptor");
	desc(0, TABLE, 16 * (VIRTQ_MAX_CHAIN + 1), F_INDIRECT, 0);
	expect_einval("more entries than VIRTQ_MAX_CHAIN");
	desc(0, TABLE, 0xfffffff0u, F_INDIRECT, 0);
	expect_einval("huge table");
}

Test(virtq, indirect_largest_table)
{
	for (unsigned i = 0; i < VIRTQ_MAX_CHAIN; i++)
		put_desc_at(TABLE, i, DATA + i, 1, i + 1 < VIRTQ_MAX_CHAIN ? F_NEXT : 0,
			    (uint16_t)(i + 1));
	desc(0, TABLE, 16 * VIRTQ_MAX_CHAIN, F_INDIRECT, 0);
	avail_add(0);
	cr_assert_eq(virtq_pop(&q, c), 1);
	cr_assert_eq(c->nr_out, VIRTQ_MAX_CHAIN);
	cr_assert_eq(c->out_len, VIRTQ_MAX_CHAIN);
}

Test(virtq, indirect_cycle)
{
	put_desc_at(TABLE, 0, DATA, 16, F_NEXT, 1);
	put_desc_at(TABLE, 1, DATA, 16, F_NEXT, 2);
	put_desc_at(TABLE, 2, DATA, 16, F_NEXT, 0);
	desc(0, TABLE, 3 * 16, F_INDIRECT, 0);
	avail_add(0);
	expect_einval("cycle inside the table");
	put_desc_at(TABLE, 0, DATA, 16, F_NEXT, 0);
	expect_einval("self loop inside the table");
}

Test(virtq, indirect_next_out_of_table)
{
	put_desc_at(TABLE, 0, DATA, 16, F_NEXT, 2);
	put_desc_at(TABLE, 2, DATA, 16, 0, 0); /* exists in memory, but past len */
	desc(0, TABLE, 2 * 16, F_INDIRECT, 0);
	avail_add(0);
	expect_einval("next beyond len / 16");
}

Test(virtq, indirect_table_outside_ram)
{
	desc(0, FAKE_MEM_LOW - 16, 32, F_INDIRECT, 0);
	avail_add(0);
	expect_einval("table straddling the hole");
	desc(0, FAKE_MEM_LOW + 0x1000, 16, F_INDIRECT, 0);
	expect_einval("table in the hole");
}

Test(virtq, indirect_buffer_errors)
{
	put_desc_at(TABLE, 0, DATA, 8, F_WRITE | F_NEXT, 1);
	put_desc_at(TABLE, 1, DATA, 8, 0, 0);
	desc(0, TABLE, 32, F_INDIRECT, 0);
	avail_add(0);
	expect_einval("readable after writable in a table");
	put_desc_at(TABLE, 1, FAKE_MEM_LOW - 4, 8, F_WRITE, 0);
	expect_einval("table buffer straddling the hole");
}

Test(virtq, unaligned_indirect_table)
{
	put_desc_at(TABLE + 4, 0, DATA, 16, 0, 0);
	desc(0, TABLE + 4, 16, F_INDIRECT, 0);
	avail_add(0);
	cr_assert_eq(virtq_pop(&q, c), 1, "the spec asks no alignment of indirect tables");
}

/* ---- chain size limits ---- */

Test(virtq, direct_chain_over_max_buffers)
{
	teardown();
	setup_size(2048);
	for (unsigned i = 0; i <= VIRTQ_MAX_CHAIN; i++)
		desc(i, DATA + i, 1, i < VIRTQ_MAX_CHAIN ? F_NEXT : 0, (uint16_t)(i + 1));
	avail_add(0);
	expect_einval("1025 buffers");
	desc(VIRTQ_MAX_CHAIN - 1, DATA, 1, 0, 0);
	cr_assert_eq(virtq_pop(&q, c), 1, "1024 buffers is the limit, inclusive");
	cr_assert_eq(c->nr_out, VIRTQ_MAX_CHAIN);
}

Test(virtq, total_length_over_4g)
{
	/*
	 * A region far above the real RAM whose host side is never touched:
	 * the walk only computes pointers into it.
	 */
	struct guest_mem big = gm;
	struct virtq_chain *c2 = c;

	big.regions[big.nr].gpa = 64 * GiB;
	big.regions[big.nr].size = 16 * GiB;
	big.regions[big.nr].hva = (uint8_t *)(uintptr_t)0x100000000000ull;
	big.nr++;
	q.gm = &big;
	desc(0, 64 * GiB, 0xffffffffu, F_NEXT, 1);
	desc(1, 72 * GiB, 1, 0, 0);
	avail_add(0);
	expect_einval("2^32 bytes");
	desc(0, 64 * GiB, 0xfffffffeu, F_NEXT, 1);
	cr_assert_eq(virtq_pop(&q, c2), 1, "2^32 - 1 bytes fit the used length");
	cr_assert_eq(c2->out_len, 0xffffffffull);
	q.gm = &gm;
}

/* ---- indices ---- */

Test(virtq, avail_index_jump)
{
	desc(0, DATA, 8, 0, 0);
	for (unsigned i = 0; i < QSIZE; i++)
		put16(AVAIL + 4 + 2 * i, 0);
	set_avail_idx(QSIZE + 1);
	expect_einval("avail idx more than size ahead");
	cr_assert(virtq_has_avail(&q));
	set_avail_idx(QSIZE);
	for (unsigned i = 0; i < QSIZE; i++)
		cr_assert_eq(virtq_pop(&q, c), 1, "exactly size ahead is a full ring");
	cr_assert_eq(virtq_pop(&q, c), 0);
	set_avail_idx(0xffff);
	expect_einval("avail idx moved backwards");
}

Test(virtq, index_wrap)
{
	start_at(65534);
	for (unsigned i = 0; i < 4; i++) {
		desc(i, DATA + 0x10 * i, 4, F_WRITE, 0);
		avail_add((uint16_t)i);
	}
	cr_assert_eq(drv_avail, 2);
	for (unsigned i = 0; i < 4; i++) {
		cr_assert_eq(virtq_pop(&q, c), 1);
		cr_assert_eq(c->head, i, "ring slot %u", (65534 + i) % QSIZE);
		virtq_push(&q, c->head, 100 + i);
	}
	cr_assert_eq(q.last_avail, 2);
	cr_assert_eq(q.used_idx, 2);
	cr_assert_eq(used_idx_in_ring(), 2);
	for (unsigned i = 0; i < 4; i++) {
		uint32_t id, len;

		used_elem((65534 + i) % QSIZE, &id, &len);
		cr_assert_eq(id, i);
		cr_assert_eq(len, 100 + i);
	}
	cr_assert_eq(virtq_pop(&q, c), 0);
}

Test(virtq, push_fills_used_ring)
{
	desc(9, DATA, 8, F_WRITE, 0);
	avail_add(9);
	cr_assert_eq(virtq_pop(&q, c), 1);
	virtq_push(&q, c->head, 5);
	{
		uint32_t id, len;

		used_elem(0, &id, &len);
		cr_assert_eq(id, 9);
		cr_assert_eq(len, 5);
	}
	cr_assert_eq(used_idx_in_ring(), 1);
	cr_assert_eq(q.used_idx, 1);
	/* Out-of-order completion: ids go back as pushed. */
	virtq_push(&q, 3, 0);
	virtq_push(&q, 1, 7);
	{
		uint32_t id, len;

		used_elem(1, &id, &len);
		cr_assert_eq(id, 3);
		used_elem(2, &id, &len);
		cr_assert_eq(id, 1);
		cr_assert_eq(len, 7);
	}
	cr_assert_eq(used_idx_in_ring(), 3);
}

/* ---- rings outside RAM ---- */

Test(virtq, validate_alignment_and_ranges)
{
	cr_assert_eq(virtq_validate(&q), 0);
	q.desc_gpa = DESC + 8;
	cr_assert_eq(virtq_validate(&q), -EINVAL, "descriptor table 16-byte aligned");
	q.desc_gpa = DESC;
	q.avail_gpa = AVAIL + 1;
	cr_assert_eq(virtq_validate(&q), -EINVAL, "avail 2-byte aligned");
	q.avail_gpa = AVAIL + 2;
	cr_assert_eq(virtq_validate(&q), 0);
	q.used_gpa = USED + 2;
	cr_assert_eq(virtq_validate(&q), -EINVAL, "used 4-byte aligned");
	q.used_gpa = USED + 4;
	cr_assert_eq(virtq_validate(&q), 0);
	q.desc_gpa = FAKE_MEM_LOW - 16 * QSIZE;
	cr_assert_eq(virtq_validate(&q), 0, "table ending exactly at the hole");
	q.desc_gpa = FAKE_MEM_LOW - 16 * QSIZE + 16;
	cr_assert_eq(virtq_validate(&q), -EINVAL, "table straddling the hole");
	q.desc_gpa = DESC;
	q.used_gpa = FAKE_MEM_LOW - 4 - 8 * QSIZE; /* avail_event would be in the hole */
	cr_assert_eq(virtq_validate(&q), -EINVAL, "used ring with its event field past RAM");
	q.used_gpa = FAKE_MEM_HIGH;
	cr_assert_eq(virtq_validate(&q), 0);
	q.avail_gpa = FAKE_MEM_LOW + 0x100;
	cr_assert_eq(virtq_validate(&q), -EINVAL, "avail ring in the hole");
	q.avail_gpa = AVAIL;
	q.size = 0;
	cr_assert_eq(virtq_validate(&q), -EINVAL, "size 0");
	q.size = 24;
	cr_assert_eq(virtq_validate(&q), -EINVAL, "size not a power of two");
	q.size = 0xffff;
	cr_assert_eq(virtq_validate(&q), -EINVAL);
}

Test(virtq, unvalidated_rings_are_refused_not_followed)
{
	q.avail_gpa = FAKE_MEM_LOW + 0x2000;
	cr_assert_eq(virtq_pop(&q, c), -EINVAL);
	cr_assert_not(virtq_has_avail(&q));
	q.avail_gpa = AVAIL + 1;
	cr_assert_eq(virtq_pop(&q, c), -EINVAL, "misaligned avail");
	q.avail_gpa = AVAIL;
	q.desc_gpa = FAKE_MEM_HIGH + FAKE_MEM_HIGH_SIZE;
	cr_assert_eq(virtq_pop(&q, c), -EINVAL);
	q.used_gpa = FAKE_MEM_LOW + 0x2000;
	virtq_push(&q, 0, 0); /* nowhere to write: dropped */
	cr_assert_eq(q.used_idx, 0);
	virtq_set_notify(&q, false); /* likewise */
	q.avail_gpa = FAKE_MEM_LOW + 0x2000;
	cr_assert(virtq_should_notify(&q), "when in doubt, interrupt");
}

/* ---- notification suppression ---- */

Test(virtq, no_interrupt_flag)
{
	virtq_push(&q, 0, 0);
	cr_assert(virtq_should_notify(&q));
	put16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	virtq_push(&q, 0, 0);
	cr_assert_not(virtq_should_notify(&q));
	put16(AVAIL, 0);
	cr_assert(virtq_should_notify(&q));
}

Test(virtq, event_idx_decisions)
{
	q.event_idx = true;
	put16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT); /* ignored under EVENT_IDX */
	set_used_event(0);
	virtq_push(&q, 0, 0);
	cr_assert(virtq_should_notify(&q), "the first decision always notifies");
	cr_assert_eq(q.signalled_used, 1);
	virtq_push(&q, 0, 0); /* used 2, event 0 already passed */
	cr_assert_not(virtq_should_notify(&q));
	set_used_event(2);
	virtq_push(&q, 0, 0); /* used 2 -> 3 crosses event 2 */
	cr_assert(virtq_should_notify(&q));
	cr_assert_not(virtq_should_notify(&q), "nothing new pushed");
	set_used_event(4);
	virtq_push(&q, 0, 0);
	virtq_push(&q, 0, 0);
	virtq_push(&q, 0, 0); /* 3 -> 6 crosses 4 */
	cr_assert(virtq_should_notify(&q));
	set_used_event(6);
	virtq_push(&q, 0, 0); /* 6 -> 7: event 6 */
	cr_assert(virtq_should_notify(&q));
	set_used_event(9);
	virtq_push(&q, 0, 0); /* 7 -> 8: event 9 not reached */
	cr_assert_not(virtq_should_notify(&q));
	virtq_push(&q, 0, 0);
	virtq_push(&q, 0, 0); /* 8 -> 10 crosses 9 */
	cr_assert(virtq_should_notify(&q));
}

Test(virtq, event_idx_wrap)
{
	q.event_idx = true;
	q.signalled_valid = true;
	q.signalled_used = 65535;
	q.used_idx = 65535;
	set_used_event(65535);
	virtq_push(&q, 0, 0);
	virtq_push(&q, 0, 0); /* 65535 -> 1 crosses 65535 */
	cr_assert(virtq_should_notify(&q));
	set_used_event(0);
	virtq_push(&q, 0, 0); /* 1 -> 2, event 0 behind */
	cr_assert_not(virtq_should_notify(&q));
	q.signalled_used = 65534;
	q.used_idx = 65534;
	set_used_event(65535);
	virtq_push(&q, 0, 0); /* 65534 -> 65535 does not yet pass 65535 */
	cr_assert_not(virtq_should_notify(&q));
	virtq_push(&q, 0, 0); /* 65535 -> 0 does */
	cr_assert(virtq_should_notify(&q));
}

Test(virtq, set_notify_flags)
{
	virtq_set_notify(&q, false);
	cr_assert_eq(get16(USED), VIRTQ_USED_F_NO_NOTIFY);
	virtq_set_notify(&q, true);
	cr_assert_eq(get16(USED), 0);
}

Test(virtq, set_notify_event_idx)
{
	q.event_idx = true;
	start_at(700);
	virtq_set_notify(&q, true);
	cr_assert_eq(avail_event(), 700);
	cr_assert_eq(get16(USED), 0, "flags untouched under EVENT_IDX");
	virtq_set_notify(&q, false);
	cr_assert_eq(avail_event(), 699);
	start_at(0);
	virtq_set_notify(&q, false);
	cr_assert_eq(avail_event(), 0xffff);
}

Test(virtq, enable_then_recheck)
{
	desc(0, DATA, 8, 0, 0);
	virtq_set_notify(&q, false);
	avail_add(0);
	virtq_set_notify(&q, true);
	cr_assert(virtq_has_avail(&q), "the re-check catches a buffer added meanwhile");
	cr_assert_eq(virtq_pop(&q, c), 1);
	cr_assert_not(virtq_has_avail(&q));
}

/* ---- chain copy helpers ---- */

Test(virtq, chain_read_write)
{
	uint8_t *d = at(DATA);
	uint8_t buf[64];

	for (unsigned i = 0; i < 16; i++)
		d[i] = (uint8_t)i;
	desc(0, DATA, 4, F_NEXT, 1);
	desc(1, DATA + 4, 0, F_NEXT, 2);
	desc(2, DATA + 4, 6, F_NEXT, 3);
	desc(3, DATA + 0x100, 3, F_WRITE | F_NEXT, 4);
	desc(4, DATA + 0x200, 5, F_WRITE, 0);
	avail_add(0);
	cr_assert_eq(virtq_pop(&q, c), 1);
	memset(buf, 0xee, sizeof(buf));
	cr_assert_eq(virtq_chain_read(c, 0, buf, sizeof(buf)), 10, "short at the end");
	for (unsigned i = 0; i < 10; i++)
		cr_assert_eq(buf[i], i);
	cr_assert_eq(virtq_chain_read(c, 3, buf, 3), 3, "across a buffer boundary");
	cr_assert_eq(buf[0], 3);
	cr_assert_eq(buf[1], 4);
	cr_assert_eq(buf[2], 5);
	cr_assert_eq(virtq_chain_read(c, 10, buf, 1), 0, "offset at the end");
	cr_assert_eq(virtq_chain_read(c, 1000, buf, 1), 0);
	cr_assert_eq(virtq_chain_read(c, 0, buf, 0), 0);

	cr_assert_eq(virtq_chain_write(c, 1, "abcdefghij", 10), 7, "writable part is 8 bytes");
	cr_assert_eq(memcmp(at(DATA + 0x100), "\0ab", 3), 0);
	cr_assert_eq(memcmp(at(DATA + 0x200), "cdefg", 5), 0);
	cr_assert_eq(virtq_chain_write(c, 8, "x", 1), 0);
	cr_assert_eq(d[0], 0, "writes never land in the readable part");
}

/* ---- save / restore ---- */

Test(virtq, save_restore_round_trip)
{
	struct virtq_state a, b;
	struct virtq t;

	q.event_idx = true;
	q.last_avail = 65530;
	q.used_idx = 65529;
	q.signalled_used = 65000;
	q.signalled_valid = true;
	virtq_save(&q, &a);
	virtq_init(&t, &gm);
	cr_assert_eq(virtq_restore(&t, &a), 0);
	cr_assert_eq(t.gm, &gm);
	cr_assert_eq(t.size, QSIZE);
	cr_assert_eq(t.desc_gpa, DESC);
	cr_assert_eq(t.last_avail, 65530);
	cr_assert(t.ready && t.event_idx && t.indirect && t.signalled_valid);
	virtq_save(&t, &b);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
}

Test(virtq, restore_rejects_malformed)
{
	struct virtq_state a, bad;
	struct virtq t;

	virtq_save(&q, &a);
	virtq_init(&t, &gm);
	bad = a;
	bad.size = 24;
	cr_assert_eq(virtq_restore(&t, &bad), -EINVAL);
	bad = a;
	bad.size = 0xffff;
	cr_assert_eq(virtq_restore(&t, &bad), -EINVAL);
	bad = a;
	bad.ready = 2;
	cr_assert_eq(virtq_restore(&t, &bad), -EINVAL);
	bad = a;
	bad.pad[3] = 1;
	cr_assert_eq(virtq_restore(&t, &bad), -EINVAL);
	bad = a;
	bad.signalled_used = 5; /* without signalled_valid */
	cr_assert_eq(virtq_restore(&t, &bad), -EINVAL);
	cr_assert_eq(t.size, 0, "a refused state leaves the queue alone");
	bad = a;
	bad.size = 0;
	cr_assert_eq(virtq_restore(&t, &bad), 0, "size 0: a queue not configured yet");
}
