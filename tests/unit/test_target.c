/*
 * The target API's page walker, over a fake backend whose "physical
 * memory" is a host buffer: 4- and 5-level paging, 4K/2M/1G pages, PAE,
 * non-present entries, tables outside RAM, and reads across pages.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../debug/target.h"

#define RAM (4u << 20)
static uint8_t ram[RAM];
#include "fake_ram.h"
#include "fake_cpu.h"

static void put(uint64_t pa, uint64_t v) { memcpy(ram + pa, &v, 8); }

#define P 1ULL
#define W 2ULL
#define PS 0x80ULL
#define HH 0xFFFFFFFF80000000ULL	/* PML4 511, PDPT 510 */

static void long_mode(unsigned levels)
{
	memset(ram, 0, sizeof(ram));
	memset(&regs, 0, sizeof(regs));
	regs.cr0 = 0x80000001;
	regs.cr4 = 0x20 | (levels == 5 ? 0x1000 : 0);
	regs.efer = 0x500;
	uint64_t top = 0x1000;
	if (levels == 5) {
		regs.cr3 = 0x1000;
		put(0x1000 + 511 * 8, 0x2000 | P | W);	/* PML5[511] */
		top = 0x2000;
	} else {
		regs.cr3 = 0x1000;
	}
	put(top + 511 * 8, 0x3000 | P | W);		/* PML4[511] -> PDPT */
	put(0x3000 + 510 * 8, 0x4000 | P | W);		/* PDPT[510] -> PD */
	put(0x4000 + 0 * 8, 0x200000 | P | W | PS);	/* 2M page at 2M */
	put(0x4000 + 1 * 8, 0x5000 | P | W);		/* PD[1] -> PT */
	put(0x5000 + 0 * 8, 0x7000 | P);		/* 4K, read-only */
	put(0x5000 + 1 * 8, 0x9000 | P | W);		/* next 4K */
	put(0x3000 + 0 * 8, 0x0 | P | W | PS);		/* PDPT[0]: 1G at 0 */
	put(0x4000 + 2 * 8, 0xFFFFFFF000ULL | P);	/* PT outside RAM */
}

static void test_2m_page(void **s)
{
	(void)s;
	struct kz_xlate x;
	long_mode(4);
	assert_int_equal(kz_target_translate(&tgt, 0, HH + 0x1234, &x), 0);
	assert_int_equal(x.pa, 0x201234);
	assert_int_equal(x.page_size, 2u << 20);
	assert_int_equal(x.levels, 4);
}

static void test_4k_and_perms(void **s)
{
	(void)s;
	struct kz_xlate x;
	long_mode(4);
	assert_int_equal(kz_target_translate(&tgt, 0, HH + 0x200000 + 0x10, &x), 0);
	assert_int_equal(x.pa, 0x7010);
	assert_int_equal(x.page_size, 4096);
	assert_false(x.writable);
}

static void test_1g_page(void **s)
{
	(void)s;
	struct kz_xlate x;
	long_mode(4);
	/* PML4[511] PDPT[0] covers 0xFFFFFF8000000000. */
	assert_int_equal(kz_target_translate(&tgt, 0, 0xFFFFFF8000123456ULL, &x), 0);
	assert_int_equal(x.pa, 0x123456);
	assert_int_equal(x.page_size, 1u << 30);
}

static void test_not_present_and_noncanonical(void **s)
{
	(void)s;
	struct kz_xlate x;
	long_mode(4);
	assert_int_equal(kz_target_translate(&tgt, 0, 0x400000, &x), -ENOENT);
	assert_int_equal(kz_target_translate(&tgt, 0, HH + 0x200000 + 0x2000, &x),
			 -ENOENT);
	assert_int_equal(kz_target_translate(&tgt, 0, 0x0000800000000000ULL, &x),
			 -ENOENT);
	/* A table pointer outside RAM is an error, not a host fault. */
	assert_int_equal(kz_target_translate(&tgt, 0, HH + 0x400000, &x), -EFAULT);
}

static void test_5_level(void **s)
{
	(void)s;
	struct kz_xlate x;
	long_mode(5);
	assert_int_equal(kz_target_translate(&tgt, 0, HH + 0x42, &x), 0);
	assert_int_equal(x.pa, 0x200042);
	assert_int_equal(x.levels, 5);
}

static void test_read_across_pages(void **s)
{
	(void)s;
	long_mode(4);
	memcpy(ram + 0x7FFC, "abcd", 4);
	memcpy(ram + 0x9000, "efgh", 4);
	char buf[9] = { 0 };
	assert_int_equal(kz_target_read_virt(&tgt, 0, HH + 0x200FFC, buf, 8), 0);
	assert_string_equal(buf, "abcdefgh");
	assert_int_equal(kz_target_write_virt(&tgt, 0, HH + 0x200FFE, "XYZW", 4), 0);
	assert_memory_equal(ram + 0x7FFE, "XY", 2);
	assert_memory_equal(ram + 0x9000, "ZW", 2);
	/* Running into an unmapped page fails the whole access. */
	assert_int_equal(kz_target_read_virt(&tgt, 0, HH + 0x201FFC, buf, 8),
			 -ENOENT);
}

static void test_paging_off_and_pae(void **s)
{
	(void)s;
	struct kz_xlate x;
	memset(&regs, 0, sizeof(regs));
	regs.cr0 = 1;
	assert_int_equal(kz_target_translate(&tgt, 0, 0x123456, &x), 0);
	assert_int_equal(x.pa, 0x123456);
	/* PAE: PDPT at 0x1000 (4 entries), PD at 0x2000, 2M page. */
	memset(ram, 0, 0x10000);
	regs.cr0 = 0x80000001;
	regs.cr4 = 0x20;
	regs.cr3 = 0x1000;
	put(0x1000 + 3 * 8, 0x2000 | P);
	put(0x2000 + 511 * 8, 0x200000 | P | W | PS);
	assert_int_equal(kz_target_translate(&tgt, 0, 0xFFE00010, &x), 0);
	assert_int_equal(x.pa, 0x200010);
	assert_int_equal(x.levels, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_2m_page),
		cmocka_unit_test(test_4k_and_perms),
		cmocka_unit_test(test_1g_page),
		cmocka_unit_test(test_not_present_and_noncanonical),
		cmocka_unit_test(test_5_level),
		cmocka_unit_test(test_read_across_pages),
		cmocka_unit_test(test_paging_off_and_pae),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
