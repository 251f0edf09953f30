/*
 * Unit tests for the kernel loaders (vmm/boot*.c).
 *
 * Builds tiny PVH ELF images and bzImage headers in memory, loads them
 * into a 64 MiB guest (no KVM needed) and checks what lands in guest RAM.
 *
 *   test_boot                 run the tests
 *   test_boot --seeds DIR     write the images as fuzzer seeds into DIR
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "layout.h"
#include "memory.h"

#define RAM_SIZE	(64ULL << 20)

static struct vmm_mem mem;
static char err[256];

/* ---- little-endian helpers ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static const uint8_t *gpa(uint64_t addr, uint64_t len)
{
	const uint8_t *p = vmm_mem_ptr(&mem, addr, len);
	assert_non_null(p);
	return p;
}

/* ---- a tiny PVH ELF ---- */

/*
 * ehdr | 3 phdrs (LOAD, LOAD, NOTE) | Xen note | seg0 data | seg1 data |
 * section headers (null, .note).
 */
#define ELF_SEG0_OFF	0x200
#define ELF_SEG1_OFF	0x300
#define ELF_SHDR_OFF	0x400
#define ELF_SIZE	(ELF_SHDR_OFF + 2 * 64)
#define ELF_NOTE_OFF	(64 + 3 * 56)

struct pvh_spec {
	uint64_t seg0_paddr;	/* 0x100 bytes of 0xA5 */
	uint64_t seg1_paddr;	/* 0x80 bytes of 0x5A, then bss to 0x2000 */
	uint64_t entry;		/* PVH note value */
	unsigned descsz;	/* 4 or 8; 0 = no note at all */
	int note_as_section;	/* 1: SHT_NOTE section only, no PT_NOTE */
};

static void elf_phdr(uint8_t *p, uint32_t type, uint64_t off, uint64_t paddr,
		     uint64_t filesz, uint64_t memsz)
{
	put32(p, type);
	put32(p + 4, 7);
	put64(p + 8, off);
	put64(p + 16, paddr + 0xffffffff80000000ULL);
	put64(p + 24, paddr);
	put64(p + 32, filesz);
	put64(p + 40, memsz);
	put64(p + 48, 4);
}

static size_t build_pvh(uint8_t *b, const struct pvh_spec *s)
{
	unsigned notesz = s->descsz ? 16 + s->descsz : 0;

	memset(b, 0, ELF_SIZE);
	memcpy(b, "\177ELF", 4);
	b[4] = 2;		/* ELFCLASS64 */
	b[5] = 1;		/* little-endian */
	b[6] = 1;
	put16(b + 16, 2);	/* ET_EXEC */
	put16(b + 18, 62);	/* EM_X86_64 */
	put32(b + 20, 1);
	put64(b + 24, s->seg0_paddr);
	put64(b + 32, 64);
	put64(b + 40, ELF_SHDR_OFF);
	put16(b + 52, 64);
	put16(b + 54, 56);
	put16(b + 56, 3);
	put16(b + 58, 64);
	put16(b + 60, 2);

	elf_phdr(b + 64, 1, ELF_SEG0_OFF, s->seg0_paddr, 0x100, 0x100);
	elf_phdr(b + 120, 1, ELF_SEG1_OFF, s->seg1_paddr, 0x80, 0x2000);
	/* PT_NULL instead of PT_NOTE when the note is section-only. */
	elf_phdr(b + 176, s->note_as_section ? 0 : 4, ELF_NOTE_OFF, 0, notesz,
		 notesz);

	if (s->descsz) {
		uint8_t *n = b + ELF_NOTE_OFF;
		put32(n, 4);
		put32(n + 4, s->descsz);
		put32(n + 8, 18);	/* XEN_ELFNOTE_PHYS32_ENTRY */
		memcpy(n + 12, "Xen", 4);
		if (s->descsz == 4)
			put32(n + 16, (uint32_t)s->entry);
		else
			put64(n + 16, s->entry);
	}
	memset(b + ELF_SEG0_OFF, 0xA5, 0x100);
	memset(b + ELF_SEG1_OFF, 0x5A, 0x80);

	uint8_t *sh = b + ELF_SHDR_OFF + 64;	/* section 1: the note */
	put32(sh + 4, 7);			/* SHT_NOTE */
	put64(sh + 24, ELF_NOTE_OFF);
	put64(sh + 32, notesz);
	put64(sh + 48, 4);
	return ELF_SIZE;
}

static const struct pvh_spec pvh_default = {
	.seg0_paddr = 0x100000,
	.seg1_paddr = 0x200000,
	.entry = 0x100010,
	.descsz = 8,
};

/* ---- a tiny bzImage ---- */

#define BZ_SETUP_SECTS	4
#define BZ_SETUP_SIZE	((BZ_SETUP_SECTS + 1) * 512)
#define BZ_KSIZE	0x1000
#define BZ_SIZE		(BZ_SETUP_SIZE + BZ_KSIZE)

struct bz_spec {
	uint16_t version;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint32_t kernel_alignment;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
};

static const struct bz_spec bz_default = {
	.version = 0x020F,
	.xloadflags = 0x3,
	.relocatable = 1,
	.kernel_alignment = 0x200000,
	.pref_address = 0x1000000,
	.init_size = 0x800000,
	.cmdline_size = 2047,
	.initrd_addr_max = 0x7fffffff,
};

static size_t build_bz(uint8_t *b, const struct bz_spec *s)
{
	memset(b, 0, BZ_SIZE);
	b[0x1F1] = BZ_SETUP_SECTS;
	put16(b + 0x1FE, 0xAA55);
	b[0x200] = 0xEB;		/* jmp to the end of the header */
	b[0x201] = 0x66;
	memcpy(b + 0x202, "HdrS", 4);
	put16(b + 0x206, s->version);
	b[0x211] = 0x01;		/* LOADED_HIGH */
	put32(b + 0x214, 0x100000);
	put32(b + 0x22C, s->initrd_addr_max);
	put32(b + 0x230, s->kernel_alignment);
	b[0x234] = s->relocatable;
	put16(b + 0x236, s->xloadflags);
	put32(b + 0x238, s->cmdline_size);
	put64(b + 0x258, s->pref_address);
	put32(b + 0x260, s->init_size);
	for (unsigned i = 0; i < BZ_KSIZE; i++)
		b[BZ_SETUP_SIZE + i] = (uint8_t)(i * 7 + 1);
	return BZ_SIZE;
}

/* ---- fixtures ---- */

static int group_setup(void **state)
{
	(void)state;
	return vmm_mem_create(&mem, RAM_SIZE, VMM_PAGESIZE_SMALLEST_ONLY, err,
			      sizeof(err));
}

static int group_teardown(void **state)
{
	(void)state;
	vmm_mem_destroy(&mem);
	return 0;
}

/* Dirty all of RAM so that zeroing and stale data show. */
static int test_setup(void **state)
{
	(void)state;
	memset(mem.map_base, 0xEE, mem.map_size);
	err[0] = 0;
	return 0;
}

static struct vmm_boot_config config(const uint8_t *k, size_t len)
{
	return (struct vmm_boot_config){
		.kernel = k,
		.kernel_len = len,
		.cmdline = "console=ttyS0 quiet",
	};
}

static void expect_fail(const struct vmm_boot_config *cfg, const char *what)
{
	struct vmm_boot_entry e;
	int rc;

	err[0] = 0;
	rc = vmm_boot_load(&mem, cfg, &e, err, sizeof(err));
	if (rc == 0 || err[0] == 0 || !strstr(err, what))
		print_error("rc %d, err \"%s\", expected \"%s\"\n", rc, err,
			    what);
	assert_true(rc < 0);
	assert_true(err[0] != 0);
	assert_non_null(strstr(err, what));
}

static void check_e820(const uint8_t *tab, size_t stride, unsigned n)
{
	struct vmm_e820_entry map[128];
	unsigned want = vmm_mem_e820(&mem, map, 128);

	assert_int_equal(n, want);
	assert_true(n >= 3);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = tab + i * stride;
		assert_int_equal(get64(e), map[i].addr);
		assert_int_equal(get64(e + 8), map[i].size);
		assert_int_equal(get32(e + 16), map[i].type);
	}
}

/* ---- PVH ---- */

static void test_pvh_segments(void **state)
{
	uint8_t img[ELF_SIZE];
	struct vmm_boot_config cfg = config(img, build_pvh(img, &pvh_default));
	struct vmm_boot_entry e;
	(void)state;

	assert_int_equal(vmm_boot_load(&mem, &cfg, &e, err, sizeof(err)), 0);
	assert_int_equal(e.kind, VMM_BOOT_PVH);
	assert_int_equal(e.rip, 0x100010);
	assert_int_equal(e.arg, KZ_GPA_PVH_INFO);
	assert_int_equal(e.kernel_lo, 0x100000);
	assert_int_equal(e.kernel_hi, 0x202000);
	assert_int_equal(e.kernel_vaddr, 0x100000);

	const uint8_t *s0 = gpa(0x100000, 0x101);
	for (unsigned i = 0; i < 0x100; i++)
		assert_int_equal(s0[i], 0xA5);
	assert_int_equal(s0[0x100], 0xEE);	/* nothing past p_memsz */
	const uint8_t *s1 = gpa(0x200000, 0x2001);
	for (unsigned i = 0; i < 0x2000; i++)
		assert_int_equal(s1[i], i < 0x80 ? 0x5A : 0);
	assert_int_equal(s1[0x2000], 0xEE);
}

static void test_pvh_start_info(void **state)
{
	uint8_t img[ELF_SIZE];
	struct vmm_boot_config cfg = config(img, build_pvh(img, &pvh_default));
	struct vmm_boot_entry e;
	(void)state;

	cfg.rsdp_gpa = 0xE0000;
	assert_int_equal(vmm_boot_load(&mem, &cfg, &e, err, sizeof(err)), 0);
	const uint8_t *si = gpa(KZ_GPA_PVH_INFO, 56);
	assert_int_equal(get32(si), 0x336ec578);
	assert_int_equal(get32(si + 4), 1);		/* version */
	assert_int_equal(get32(si + 8), 0);		/* flags */
	assert_int_equal(get32(si + 12), 0);		/* nr_modules */
	assert_int_equal(get64(si + 16), 0);		/* modlist_paddr */
	assert_int_equal(get64(si + 24), KZ_GPA_CMDLINE);
	assert_int_equal(get64(si + 32), 0xE0000);	/* rsdp_paddr */
	assert_int_equal(get64(si + 40), KZ_GPA_PVH_INFO + 56);
	assert_string_equal((const char *)gpa(KZ_GPA_CMDLINE, 20),
			    "console=ttyS0 quiet");
	unsigned n = get32(si + 48);
	check_e820(gpa(get64(si + 40), n * 24), 24, n);
}

static void test_pvh_initrd(void **state)
{
	static uint8_t initrd[3 * 4096 + 1];
	uint8_t img[ELF_SIZE];
	struct vmm_boot_config cfg = config(img, build_pvh(img, &pvh_default));
	struct vmm_boot_entry e;
	(void)state;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ (i >> 8));
	cfg.initrd = initrd;
	cfg.initrd_len = sizeof(initrd);
	assert_int_equal(vmm_boot_load(&mem, &cfg, &e, err, sizeof(err)), 0);

	const uint8_t *si = gpa(KZ_GPA_PVH_INFO, 56);
	assert_int_equal(get32(si + 12), 1);
	const uint8_t *mod = gpa(get64(si + 16), 32);
	uint64_t at = get64(mod);
	assert_int_equal(get64(mod + 8), sizeof(initrd));
	assert_int_equal(get64(mod + 16), 0);
	assert_int_equal(at % 4096, 0);
	assert_true(at >= e.kernel_hi);
	assert_true(at + sizeof(initrd) <= RAM_SIZE);
	assert_true(at + sizeof(initrd) > RAM_SIZE - 8192);	/* high */
	assert_memory_equal(gpa(at, sizeof(initrd)), initrd, sizeof(initrd));
}

static void test_pvh_note_variants(void **state)
{
	uint8_t img[ELF_SIZE];
	struct pvh_spec s = pvh_default;
	struct vmm_boot_config cfg;
	struct vmm_boot_entry e;
	(void)state;

	s.descsz = 4;
	s.entry = 0x200040;
	cfg = config(img, build_pvh(img, &s));
	assert_int_equal(vmm_boot_load(&mem, &cfg, &e, err, sizeof(err)), 0);
	assert_int_equal(e.rip, 0x200040);

	s.note_as_section = 1;
	s.entry = 0x100000;
	cfg = config(img, build_pvh(img, &s));
	assert_int_equal(vmm_boot_load(&mem, &cfg, &e, err, sizeof(err)), 0);
	assert_int_equal(e.rip, 0x100000);
}

static void test_pvh_errors(void **state)
{
	uint8_t img[ELF_SIZE];
	struct pvh_spec s;
	struct vmm_boot_config cfg;
	(void)state;

	cfg = config(img, build_pvh(img, &pvh_default));
	cfg.kernel_len = 40;
	expect_fail(&cfg, "truncated ELF header");

	cfg = config(img, build_pvh(img, &pvh_default));
	cfg.kernel_len = 150;
	expect_fail(&cfg, "truncated ELF program header table (needs 232 "
			  "bytes, file has 150)");

	put64(img + 32, 0xfffffffffffffff0ULL);	/* e_phoff */
	expect_fail(&cfg, "program header table");
	cfg.kernel_len = ELF_SIZE;
	expect_fail(&cfg, "program header table");

	s = pvh_default;
	s.seg1_paddr = 0x4000000 - 0x1000;	/* bss runs past 64 MiB */
	cfg = config(img, build_pvh(img, &s));
	expect_fail(&cfg,
		    "segment 1 at 0x3fff000+0x2000 lies outside guest RAM");

	s = pvh_default;
	s.seg0_paddr = 0x8000;
	s.entry = 0x8000;
	cfg = config(img, build_pvh(img, &s));
	expect_fail(&cfg, "below 1 MiB");

	s = pvh_default;
	s.descsz = 0;
	cfg = config(img, build_pvh(img, &s));
	expect_fail(&cfg, "no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");

	s = pvh_default;
	s.entry = 0x300000;
	cfg = config(img, build_pvh(img, &s));
	expect_fail(&cfg, "lies outside the loaded segments");

	cfg = config(img, build_pvh(img, &pvh_default));
	put64(img + 64 + 32, 0x200);	/* seg0 p_filesz > p_memsz */
	expect_fail(&cfg, "larger than p_memsz");

	cfg = config(img, build_pvh(img, &pvh_default));
	put64(img + 120 + 8, ELF_SIZE - 0x10);	/* seg1 data past EOF */
	expect_fail(&cfg, "segment 1 at file offset");

	cfg = config(img, build_pvh(img, &pvh_default));
	put32(img + ELF_NOTE_OFF + 4, 6);	/* descsz 6 */
	expect_fail(&cfg, "expected 4 or 8");

	cfg = config(img, build_pvh(img, &pvh_default));
	img[4] = 1;				/* ELFCLASS32 */
	expect_fail(&cfg, "ELF64");

	cfg = config(img, build_pvh(img, &pvh_default));
	put16(img + 18, 3);			/* EM_386 */
	expect_fail(&cfg, "not x86-64");
}

static void test_cmdline_too_long(void **state)
{
	uint8_t img[ELF_SIZE];
	struct vmm_boot_config cfg = config(img, build_pvh(img, &pvh_default));
	char *line = malloc(70000);
	struct vmm_boot_entry e;
	(void)state;

	assert_non_null(line);
	memset(line, 'x', 69999);
	line[69999] = 0;
	cfg.cmdline = line;
	assert_int_equal(vmm_boot_load(&mem, &cfg, &e, err, sizeof(err)),
			 -E2BIG);
	assert_non_null(strstr(err, "command line of 69999 bytes"));

	/* The longest that fits is accepted. */
	line[KZ_CMDLINE_MAX - 1] = 0;
	assert_int_equal(vmm_boot_load(&mem, &cfg, &e, err, sizeof(err)), 0);
	assert_int_equal(strlen((const char *)gpa(KZ_GPA_CMDLINE,
						  KZ_CMDLINE_MAX)),
			 KZ_CMDLINE_MAX - 1);
	free(line);
}

static void test_garbage(void **state)
{
	static const uint8_t junk[] = "MZ this is not a kernel at all";
	struct vmm_boot_config cfg = config(junk, sizeof(junk));
	(void)state;

	expect_fail(&cfg, "not an ELF or bzImage kernel");
	cfg.kernel_len = 0;
	expect_fail(&cfg, "empty");
}

/* ---- bzImage ---- */

static void test_bz_load(void **state)
{
	static uint8_t img[BZ_SIZE];
	static uint8_t initrd[5000];
	struct vmm_boot_config cfg = config(img, build_bz(img, &bz_default));
	struct vmm_boot_entry e;
	(void)state;

	memset(initrd, 0x3C, sizeof(initrd));
	cfg.initrd = initrd;
	cfg.initrd_len = sizeof(initrd);
	cfg.rsdp_gpa = 0xE0000;
	assert_int_equal(vmm_boot_load(&mem, &cfg, &e, err, sizeof(err)), 0);
	assert_int_equal(e.kind, VMM_BOOT_LINUX64);
	assert_int_equal(e.rip, 0x1000200);
	assert_int_equal(e.arg, KZ_GPA_ZERO_PAGE);
	assert_int_equal(e.kernel_lo, 0x1000000);
	assert_int_equal(e.kernel_hi, 0x1800000);	/* pref + init_size */
	assert_memory_equal(gpa(0x1000000, BZ_KSIZE), img + BZ_SETUP_SIZE,
			    BZ_KSIZE);

	const uint8_t *zp = gpa(KZ_GPA_ZERO_PAGE, 4096);
	assert_memory_equal(zp + 0x1F1, img + 0x1F1, 0x210 - 0x1F1);
	assert_int_equal(zp[0x210], 0xFF);	/* type_of_loader */
	/* LOADED_HIGH kept, CAN_USE_HEAP added */
	assert_int_equal(zp[0x211], 0x81);
	assert_int_equal(get32(zp + 0x228), KZ_GPA_CMDLINE);
	assert_int_equal(get32(zp + 0x0C8), 0);	/* ext_cmd_line_ptr */
	assert_int_equal(get64(zp + 0x070), 0xE0000); /* acpi_rsdp_addr */
	/* pref_address and init_size kept from the file */
	assert_int_equal(get64(zp + 0x258), 0x1000000);
	assert_int_equal(get32(zp + 0x260), 0x800000);
	assert_string_equal((const char *)gpa(KZ_GPA_CMDLINE, 20),
			    "console=ttyS0 quiet");

	uint32_t rd = get32(zp + 0x218);
	assert_int_equal(get32(zp + 0x21C), sizeof(initrd));
	assert_int_equal(get32(zp + 0x0C0), 0);
	assert_int_equal(get32(zp + 0x0C4), 0);
	assert_int_equal(rd % 4096, 0);
	assert_true(rd >= e.kernel_hi);
	assert_true(rd + sizeof(initrd) <= RAM_SIZE);
	assert_memory_equal(gpa(rd, sizeof(initrd)), initrd, sizeof(initrd));

	check_e820(zp + 0x2D0, 20, zp[0x1E8]);
}

static void test_bz_fixed_address(void **state)
{
	static uint8_t img[BZ_SIZE];
	struct bz_spec s = bz_default;
	struct vmm_boot_config cfg;
	struct vmm_boot_entry e;
	(void)state;

	/* A non-relocatable kernel goes at 1 MiB and runs at pref_address. */
	s.relocatable = 0;
	cfg = config(img, build_bz(img, &s));
	assert_int_equal(vmm_boot_load(&mem, &cfg, &e, err, sizeof(err)), 0);
	assert_int_equal(e.rip, 0x100200);
	assert_int_equal(e.kernel_lo, 0x100000);
	assert_int_equal(e.kernel_hi, 0x1800000);
	assert_int_equal(get32(gpa(KZ_GPA_ZERO_PAGE, 4096) + 0x218), 0);

	/* Relocatable, but pref_address + init_size is beyond RAM. */
	s = bz_default;
	s.pref_address = 0x3C00000;
	s.kernel_alignment = 0x100000;
	cfg = config(img, build_bz(img, &s));
	assert_int_equal(vmm_boot_load(&mem, &cfg, &e, err, sizeof(err)),
			 -ENOMEM);
	assert_non_null(strstr(err, "ends at 0x4000000"));

	s.pref_address = 0;
	cfg = config(img, build_bz(img, &s));
	assert_int_equal(vmm_boot_load(&mem, &cfg, &e, err, sizeof(err)), 0);
	assert_int_equal(e.kernel_lo, 0x100000);
	assert_int_equal(e.kernel_hi, 0x900000);
}

static void test_bz_errors(void **state)
{
	static uint8_t img[BZ_SIZE];
	static const uint8_t big_initrd[16];
	struct bz_spec s;
	struct vmm_boot_config cfg;
	(void)state;

	s = bz_default;
	s.version = 0x0205;
	cfg = config(img, build_bz(img, &s));
	expect_fail(&cfg, "bzImage boot protocol 2.05 too old (need 2.12 for "
			  "64-bit entry)");

	s = bz_default;
	s.xloadflags = 0;
	cfg = config(img, build_bz(img, &s));
	expect_fail(&cfg, "64-bit entry");

	cfg = config(img, build_bz(img, &bz_default));
	cfg.kernel_len = 2000;
	expect_fail(&cfg, "truncated bzImage");
	cfg.kernel_len = BZ_SETUP_SIZE + 0x100;
	expect_fail(&cfg, "too small");

	s = bz_default;
	s.init_size = 0x8000000;
	cfg = config(img, build_bz(img, &s));
	expect_fail(&cfg, "bzImage needs RAM up to");

	s = bz_default;
	s.cmdline_size = 10;
	cfg = config(img, build_bz(img, &s));
	expect_fail(&cfg, "cmdline_size 10");

	s = bz_default;
	s.kernel_alignment = 0x300000;
	cfg = config(img, build_bz(img, &s));
	expect_fail(&cfg, "power of two");

	/* Never read: the size alone cannot fit. */
	cfg = config(img, build_bz(img, &bz_default));
	cfg.initrd = big_initrd;
	cfg.initrd_len = 600ULL << 20;
	expect_fail(&cfg, "initrd of 600 MiB does not fit");

	/* initrd_addr_max below the kernel leaves no room. */
	s = bz_default;
	s.initrd_addr_max = 0xFFFFFF;
	cfg = config(img, build_bz(img, &s));
	cfg.initrd = big_initrd;
	cfg.initrd_len = sizeof(big_initrd);
	expect_fail(&cfg, "initrd of 16 bytes does not fit");
}

/* ---- seeds for the fuzzer ---- */

static int write_file(const char *dir, const char *name, const void *p,
		      size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}

static int write_seeds(const char *dir)
{
	static uint8_t elf[ELF_SIZE], bz[BZ_SIZE];
	struct pvh_spec s = pvh_default;
	int rc = 0;

	rc |= write_file(dir, "pvh-note8", elf, build_pvh(elf, &s));
	s.descsz = 4;
	s.note_as_section = 1;
	rc |= write_file(dir, "pvh-note4-section", elf, build_pvh(elf, &s));
	rc |= write_file(dir, "bzimage-2.15", bz, build_bz(bz, &bz_default));
	return rc;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_pvh_segments, test_setup),
		cmocka_unit_test_setup(test_pvh_start_info, test_setup),
		cmocka_unit_test_setup(test_pvh_initrd, test_setup),
		cmocka_unit_test_setup(test_pvh_note_variants, test_setup),
		cmocka_unit_test_setup(test_pvh_errors, test_setup),
		cmocka_unit_test_setup(test_cmdline_too_long, test_setup),
		cmocka_unit_test_setup(test_garbage, test_setup),
		cmocka_unit_test_setup(test_bz_load, test_setup),
		cmocka_unit_test_setup(test_bz_fixed_address, test_setup),
		cmocka_unit_test_setup(test_bz_errors, test_setup),
	};

	if (argc == 3 && strcmp(argv[1], "--seeds") == 0)
		return write_seeds(argv[2]);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
