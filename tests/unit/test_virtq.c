/*
 * Unit tests for vmm/virtq.c: a split virtqueue laid out in a host buffer
 * that stands in for guest RAM, driven the way a driver would drive it,
 * and then the way a hostile one would.  Offsets of the ring fields come
 * from the virtio 1.x specification (2.7), not from virtq.c.
 *
 * Depends on vmm/virtq.c and vmm/memory.c (vmm_mem_ptr).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "memory.h"
#include "virtq.h"

#define RAM_GPA		0x10000ULL
#define RAM_SIZE	0x10000ULL
#define QSIZE		8
#define DESC		(RAM_GPA + 0x0000)
#define AVAIL		(RAM_GPA + 0x1000)
#define USED		(RAM_GPA + 0x2000)
#define DATA		(RAM_GPA + 0x4000)

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
static struct vmm_mem mem;
static struct virtq q;
static uint16_t avail_idx;

static uint8_t *at(uint64_t gpa) { return ram + (gpa - RAM_GPA); }

static void put16(uint64_t gpa, uint16_t v) { memcpy(at(gpa), &v, 2); }
static uint16_t get16(uint64_t gpa) { uint16_t v; memcpy(&v, at(gpa), 2); return v; }
static uint32_t get32(uint64_t gpa) { uint32_t v; memcpy(&v, at(gpa), 4); return v; }

static void desc_at(uint64_t table, unsigned i, uint64_t addr, uint32_t len,
		    uint16_t flags, uint16_t next)
{
	uint8_t *p = at(table + 16 * i);
	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static void offer(uint16_t head)
{
	put16(AVAIL + 4 + 2 * (avail_idx % QSIZE), head);
	avail_idx++;
	put16(AVAIL + 2, avail_idx);
}

static int setup(void **state)
{
	(void)state;
	memset(ram, 0, sizeof(ram));
	mem = (struct vmm_mem){ .nregions = 1 };
	mem.regions[0] = (struct vmm_mem_region){ .gpa = RAM_GPA,
						  .size = RAM_SIZE, .hva = ram };
	virtq_reset(&q);
	q.size = QSIZE;
	q.desc_gpa = DESC;
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	q.indirect = true;
	avail_idx = 0;
	assert_int_equal(virtq_enable(&q, &mem), 0);
	return 0;
}

static void test_simple_chain(void **state)
{
	struct virtq_chain c;
	(void)state;

	memcpy(at(DATA), "header..........", 16);
	desc_at(DESC, 3, DATA, 16, 1, 5);		/* readable, NEXT */
	desc_at(DESC, 5, DATA + 0x100, 512, 2 | 1, 6);	/* writable, NEXT */
	desc_at(DESC, 6, DATA + 0x400, 1, 2, 0);	/* writable status */
	assert_int_equal(virtq_pop(&q, &mem, &c), 0);
	offer(3);
	assert_int_equal(virtq_pending(&q), 1);
	assert_int_equal(virtq_pop(&q, &mem, &c), 1);
	assert_int_equal(c.head, 3);
	assert_int_equal(c.nseg, 3);
	assert_int_equal(c.out_len, 16);
	assert_int_equal(c.in_len, 513);
	char hdr[16];
	assert_int_equal(virtq_chain_read(&c, 0, hdr, 16), 16);
	assert_memory_equal(hdr, "header..........", 16);
	/* A write that straddles the two writable buffers. */
	assert_int_equal(virtq_chain_write(&c, 510, "abc", 3), 3);
	assert_memory_equal(at(DATA + 0x100 + 510), "ab", 2);
	assert_int_equal(*at(DATA + 0x400), 'c');
	virtq_push(&q, c.head, 513);
	assert_int_equal(get16(USED + 2), 1);
	assert_int_equal(get32(USED + 4), 3);
	assert_int_equal(get32(USED + 8), 513);
	assert_int_equal(virtq_pop(&q, &mem, &c), 0);
}

static void test_indirect(void **state)
{
	struct virtq_chain c;
	uint64_t table = DATA + 0x1000;
	(void)state;

	desc_at(table, 0, DATA, 16, 1, 2);
	desc_at(table, 2, DATA + 0x100, 8, 2, 0);
	desc_at(DESC, 0, table, 4 * 16, 4, 0);
	offer(0);
	assert_int_equal(virtq_pop(&q, &mem, &c), 1);
	assert_int_equal(c.nseg, 2);
	assert_int_equal(c.out_len, 16);
	assert_int_equal(c.in_len, 8);
}

static void expect_broken(void)
{
	struct virtq_chain c;
	assert_int_equal(virtq_pop(&q, &mem, &c), -EIO);
	assert_true(q.broken);
	assert_non_null(q.why);
	/* Stays broken; pushes are ignored. */
	assert_int_equal(virtq_pop(&q, &mem, &c), -EIO);
	virtq_push(&q, 0, 1);
	assert_int_equal(get16(USED + 2), 0);
}

static void test_loop(void **state)
{
	(void)state;
	desc_at(DESC, 0, DATA, 4, 1, 1);
	desc_at(DESC, 1, DATA, 4, 1, 0);
	offer(0);
	expect_broken();
}

static void test_outside_ram(void **state)
{
	(void)state;
	desc_at(DESC, 0, RAM_GPA + RAM_SIZE - 4, 8, 0, 0);
	offer(0);
	expect_broken();
}

static void test_wrapping_address(void **state)
{
	(void)state;
	desc_at(DESC, 0, ~0ULL - 2, 16, 0, 0);
	offer(0);
	expect_broken();
}

static void test_bad_head_and_next(void **state)
{
	(void)state;
	offer(QSIZE);
	expect_broken();
	setup(NULL);
	desc_at(DESC, 0, DATA, 4, 1, QSIZE + 3);
	offer(0);
	expect_broken();
}

static void test_avail_runs_ahead(void **state)
{
	(void)state;
	put16(AVAIL + 2, QSIZE + 1);
	expect_broken();
}

static void test_indirect_rules(void **state)
{
	uint64_t table = DATA + 0x1000;
	(void)state;

	/* Not negotiated. */
	q.indirect = false;
	desc_at(DESC, 0, table, 32, 4, 0);
	offer(0);
	expect_broken();
	/* Nested. */
	setup(NULL);
	desc_at(table, 0, table, 32, 4, 0);
	desc_at(DESC, 0, table, 32, 4, 0);
	offer(0);
	expect_broken();
	/* Length not a multiple of 16. */
	setup(NULL);
	desc_at(DESC, 0, table, 20, 4, 0);
	offer(0);
	expect_broken();
	/* Loop inside the table. */
	setup(NULL);
	desc_at(table, 0, DATA, 4, 1, 1);
	desc_at(table, 1, DATA, 4, 1, 0);
	desc_at(DESC, 0, table, 32, 4, 0);
	offer(0);
	expect_broken();
}

static void test_write_then_read(void **state)
{
	(void)state;
	desc_at(DESC, 0, DATA, 4, 2 | 1, 1);
	desc_at(DESC, 1, DATA, 4, 0, 0);
	offer(0);
	expect_broken();
}

static void test_bad_areas(void **state)
{
	(void)state;
	virtq_reset(&q);
	q.size = QSIZE;
	q.desc_gpa = RAM_GPA + RAM_SIZE - 16;	/* table runs off RAM */
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	assert_int_equal(virtq_enable(&q, &mem), -EINVAL);
	assert_false(q.ready);
	q.desc_gpa = DESC + 8;			/* misaligned */
	assert_int_equal(virtq_enable(&q, &mem), -EINVAL);
	q.desc_gpa = DESC;
	q.size = VIRTQ_MAX_SIZE + 1;
	assert_int_equal(virtq_enable(&q, &mem), -EINVAL);
}

static void test_event_idx(void **state)
{
	struct virtq_chain c;
	(void)state;

	q.event_idx = true;
	desc_at(DESC, 0, DATA, 4, 2, 0);
	/* Driver wants an interrupt once used idx passes 1 (used_event=1). */
	put16(AVAIL + 4 + 2 * QSIZE, 1);
	for (int i = 0; i < 3; i++)
		offer(0);
	assert_int_equal(virtq_pop(&q, &mem, &c), 1);
	virtq_push(&q, 0, 4);
	assert_true(virtq_need_interrupt(&q));	/* first one always */
	assert_int_equal(virtq_pop(&q, &mem, &c), 1);
	virtq_push(&q, 0, 4);			/* used idx 2: crosses 1 */
	assert_true(virtq_need_interrupt(&q));
	assert_int_equal(virtq_pop(&q, &mem, &c), 1);
	virtq_push(&q, 0, 4);			/* used idx 3: event still 1 */
	assert_false(virtq_need_interrupt(&q));
	/* Device side: avail_event tells the driver where we are. */
	assert_false(virtq_enable_notify(&q));
	assert_int_equal(get16(USED + 4 + 8 * QSIZE), 3);
	offer(0);
	assert_true(virtq_enable_notify(&q));
}

static void test_no_interrupt_flag(void **state)
{
	(void)state;
	put16(AVAIL, 1);	/* VIRTQ_AVAIL_F_NO_INTERRUPT */
	virtq_push(&q, 0, 0);
	assert_false(virtq_need_interrupt(&q));
	put16(AVAIL, 0);
	assert_true(virtq_need_interrupt(&q));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_simple_chain, setup),
		cmocka_unit_test_setup(test_indirect, setup),
		cmocka_unit_test_setup(test_loop, setup),
		cmocka_unit_test_setup(test_outside_ram, setup),
		cmocka_unit_test_setup(test_wrapping_address, setup),
		cmocka_unit_test_setup(test_bad_head_and_next, setup),
		cmocka_unit_test_setup(test_avail_runs_ahead, setup),
		cmocka_unit_test_setup(test_indirect_rules, setup),
		cmocka_unit_test_setup(test_write_then_read, setup),
		cmocka_unit_test_setup(test_bad_areas, setup),
		cmocka_unit_test_setup(test_event_idx, setup),
		cmocka_unit_test_setup(test_no_interrupt_flag, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
