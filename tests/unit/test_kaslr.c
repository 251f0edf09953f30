/*
 * KASLR slide detection (debug/kaslr.c) over a fake target whose kernel
 * map is built in a buffer: a kernel moved by 302 MiB, one not moved,
 * one too early in boot to tell (the whole map still there), paging off,
 * nothing mapped; and the link address of _text from a bzImage header,
 * from an ELF without _text, and from a file that is neither.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "kaslr.h"

#define RAM (1u << 20)
static uint8_t ram[RAM];
#include "fake_ram.h"
#include "fake_cpu.h"

#define TEXT 0xffffffff81000000ULL	/* x86-64 Linux's default _text */
#define MB2 (2ULL << 20)

static void put(uint64_t pa, uint64_t v) { memcpy(ram + pa, &v, 8); }

/* Long mode; PML4[511] -> PDPT, PDPT[510] -> PD (the kernel map);
 * 2 MiB pages in PD slots [first, first + n). */
static void kernel_map(unsigned first, unsigned n)
{
	memset(ram, 0, sizeof(ram));
	memset(&regs, 0, sizeof(regs));
	regs.cr0 = 0x80000001;
	regs.cr4 = 0x20;
	regs.efer = 0x500;
	regs.cr3 = 0x1000;
	put(0x1000 + 511 * 8, 0x2000 | 3);
	put(0x2000 + 510 * 8, 0x3000 | 3);
	for (unsigned i = first; i < first + n && i < 512; i++)
		put(0x3000 + i * 8, (0x1000000ULL + (i - first) * MB2) | 0x83);
}

static void test_slid(void **s)
{
	(void)s;
	int64_t slide = -1;
	uint64_t moved = 0x12e00000;	/* 302 MiB */
	kernel_map((unsigned)((TEXT - 0xffffffff80000000ULL + moved) / MB2), 16);
	assert_int_equal(kz_kernel_slide(&tgt, 0, TEXT, &slide), 0);
	assert_int_equal(slide, (int64_t)moved);
	/* A _text inside its first 2 MiB gives the same slide. */
	assert_int_equal(kz_kernel_slide(&tgt, 0, TEXT + 0x1000, &slide), 0);
	assert_int_equal(slide, (int64_t)moved);
}

static void test_not_slid(void **s)
{
	(void)s;
	int64_t slide = -1;
	kernel_map(8, 16);
	assert_int_equal(kz_kernel_slide(&tgt, 0, TEXT, &slide), 0);
	assert_int_equal(slide, 0);
}

static void test_cannot_tell(void **s)
{
	(void)s;
	int64_t slide = 77;
	kernel_map(0, 512);	/* before __startup_64 trims the map */
	assert_int_equal(kz_kernel_slide(&tgt, 0, TEXT, &slide), -EAGAIN);
	regs.cr0 = 1;		/* paging off */
	assert_int_equal(kz_kernel_slide(&tgt, 0, TEXT, &slide), -EAGAIN);
	kernel_map(0, 0);
	assert_int_equal(kz_kernel_slide(&tgt, 0, TEXT, &slide), -ENOENT);
	assert_int_equal(kz_kernel_slide(&tgt, 0, 0x1000000, &slide), -EINVAL);
	assert_int_equal(kz_kernel_slide(&tgt, 1, TEXT, &slide), -EINVAL);
	assert_int_equal(slide, 77);
}

static char *temp_file(const void *data, size_t len)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/kz-kaslr.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_file_text(void **s)
{
	(void)s;
	uint8_t bz[1024] = { 0 };
	bz[0x1fe] = 0x55;	/* boot flag */
	bz[0x1ff] = 0xaa;
	memcpy(bz + 0x202, "HdrS", 4);
	bz[0x206] = 0x0f;	/* protocol 2.15 */
	bz[0x207] = 0x02;
	bz[0x25a] = 0x00;	/* pref_address 0x1000000 */
	bz[0x25b] = 0x01;
	uint64_t text = 0;
	char *p = temp_file(bz, sizeof(bz));
	assert_int_equal(kz_kernel_file_text(p, &text), 0);
	assert_int_equal(text, TEXT);
	unlink(p);

	bz[0x206] = 0x09;	/* 2.09: no pref_address yet */
	p = temp_file(bz, sizeof(bz));
	assert_int_equal(kz_kernel_file_text(p, &text), -ENOEXEC);
	unlink(p);

	p = temp_file("not a kernel at all", 19);
	assert_int_equal(kz_kernel_file_text(p, &text), -ENOEXEC);
	unlink(p);

	/* An ELF without _text: this test program. */
	assert_int_equal(kz_kernel_file_text("/proc/self/exe", &text), -ENOENT);
	assert_int_equal(kz_kernel_file_text("/nonexistent/kernel", &text),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slid),
		cmocka_unit_test(test_not_slid),
		cmocka_unit_test(test_cannot_tell),
		cmocka_unit_test(test_file_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
