/*
 * Linux's printk ringbuffer read from "guest memory" (debug/printk.c): a
 * ring built here the way Linux 6.1 lays it out (and 5.10's, without
 * last_finalized_id), with a record whose text wraps to the ring's
 * start, a data-less record, one still being written (reserved), one
 * whose data block was overwritten, and a panic line; then garbage.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "printk.h"

#define BASE 0xffffffff82000000ULL
#define MEM (64 * 1024)
static uint8_t mem[MEM];

#define RB 0x0		/* struct printk_ringbuffer */
#define DESCS 0x1000	/* 8 descriptors of 24 bytes */
#define INFOS 0x2000	/* 8 printk_info of 88 bytes */
#define DATA 0x4000	/* 256-byte text ring */
#define SIZE_BITS 8

static int vread(void *ctx, uint64_t va, void *buf, size_t len)
{
	(void)ctx;
	if (va < BASE || va - BASE > MEM || len > MEM - (va - BASE))
		return -EFAULT;
	memcpy(buf, mem + (va - BASE), len);
	return 0;
}

static void put64(uint64_t off, uint64_t v) { memcpy(mem + off, &v, 8); }
static void put32(uint64_t off, uint32_t v) { memcpy(mem + off, &v, 4); }

static void ring(bool has_last_finalized)
{
	memset(mem, 0, sizeof(mem));
	put32(RB, 3);				/* count_bits: 8 records */
	put64(RB + 8, BASE + DESCS);
	put64(RB + 16, BASE + INFOS);
	unsigned dr = has_last_finalized ? 48 : 40;
	put32(RB + dr, SIZE_BITS);
	put64(RB + dr + 8, BASE + DATA);
}

/* Record id with state st, its text at [begin, next) of the data ring. */
static void record(uint64_t id, unsigned st, uint64_t begin, uint64_t next,
		   const char *text, uint64_t blk_id)
{
	uint64_t slot = id & 7, size = 1u << SIZE_BITS;
	put64(DESCS + slot * 24, id | (uint64_t)st << 62);
	put64(DESCS + slot * 24 + 8, begin);
	put64(DESCS + slot * 24 + 16, next);
	put64(INFOS + slot * 88, 100 + id);			/* seq */
	put64(INFOS + slot * 88 + 8, id * 1500000000ULL);	/* ts_nsec */
	uint16_t tl = (uint16_t)strlen(text);
	memcpy(mem + INFOS + slot * 88 + 16, &tl, 2);
	if (begin & 1)
		return;
	uint64_t at = begin >> SIZE_BITS == next >> SIZE_BITS
		? begin & (size - 1) : 0;
	put64(DATA + at, blk_id);
	memcpy(mem + DATA + at + 8, text, tl);
}

static char got[4096];

static void emit(void *ctx, uint64_t seq, uint64_t ts, const char *text,
		 size_t len)
{
	(void)ctx;
	size_t n = strlen(got);
	snprintf(got + n, sizeof(got) - n, "%llu@%llu:%.*s|",
		 (unsigned long long)seq, (unsigned long long)(ts / 1000000000),
		 (int)len, text);
}

static void fill(void)
{
	/* ids 5..10: slots 5,6,7,0,1,2.  Data ring 256 bytes. */
	record(5, 2, 0x100 + 0x40, 0x100 + 0x60, "Linux version 6.1.0\n", 5);
	record(6, 2, 0x100 + 0x60, 0x100 + 0x80, "Command line: x", 6);
	record(7, 2, 1, 1, "", 0);				/* data-less */
	record(8, 2, 0x100 + 0x80, 0x100 + 0xc0, "overwritten", 99);
	record(9, 1, 0x100 + 0xe0, 0x200 + 0x30,
	       "Kernel panic - not syncing: boom here", 9);	/* wraps */
	record(10, 0, 0x200 + 0x30, 0x200 + 0x40, "", 10);	/* being written */
	put64(RB + 24, 10);	/* head_id */
	put64(RB + 32, 5);	/* tail_id */
}

static void check(bool has_last_finalized)
{
	char err[160] = "";
	ring(has_last_finalized);
	fill();
	got[0] = 0;
	int n = kz_printk_read(vread, NULL, BASE + RB, emit, NULL, err,
			       sizeof(err));
	if (n < 0)
		fail_msg("kz_printk_read: %s", err);
	if (n != 3)
		fail_msg("%d records: %s", n, got);
	assert_string_equal(got, "105@7:Linux version 6.1.0|106@9:Command line: x|"
			    "109@13:Kernel panic - not syncing: boom here|");
	char msg[64];
	assert_int_equal(kz_printk_panic(vread, NULL, BASE + RB, msg,
					 sizeof(msg)), 0);
	assert_string_equal(msg, "boom here");
}

static void test_linux_6_1(void **s) { (void)s; check(true); }
static void test_linux_5_10(void **s) { (void)s; check(false); }

static void test_garbage(void **s)
{
	(void)s;
	char err[160] = "", msg[16] = "x";
	ring(true);
	put32(RB, 0);		/* no descriptors */
	assert_int_equal(kz_printk_read(vread, NULL, BASE + RB, emit, NULL,
					err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no printk ringbuffer"));
	ring(true);
	put32(RB + 48, 40);	/* size_bits out of range, and at 40 too */
	assert_int_equal(kz_printk_read(vread, NULL, BASE + RB, emit, NULL,
					err, sizeof(err)), -EINVAL);
	assert_int_equal(kz_printk_read(vread, NULL, 0x1000, emit, NULL, err,
					sizeof(err)), -EFAULT);
	/* Descriptors outside memory: an error, not a crash. */
	ring(true);
	put64(RB + 8, BASE + MEM - 8);
	assert_int_equal(kz_printk_read(vread, NULL, BASE + RB, emit, NULL,
					err, sizeof(err)), -EFAULT);
	/* Ids that never reach the head: bounded by the ring's size. */
	ring(true);
	fill();
	put64(RB + 24, 3);
	got[0] = 0;
	assert_int_equal(kz_printk_read(vread, NULL, BASE + RB, emit, NULL,
					err, sizeof(err)), 3);
	/* A text_len beyond its block is cut at the block. */
	ring(true);
	fill();
	uint16_t big = 60000;
	memcpy(mem + INFOS + 5 * 88 + 16, &big, 2);
	got[0] = 0;
	assert_int_equal(kz_printk_read(vread, NULL, BASE + RB, emit, NULL,
					err, sizeof(err)), 3);
	assert_int_equal(kz_printk_panic(vread, NULL, 0x10, msg, sizeof(msg)),
			 -EFAULT);
	assert_string_equal(msg, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_6_1),
		cmocka_unit_test(test_linux_5_10),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
