/*
 * The vmcore format without a VM: a made-up machine (1 MiB of RAM with
 * page tables mapping it at the direct-map and kernel addresses, a few
 * pages of data, a Linux-style VMCOREINFO page, gaps of zero pages) is
 * written with vmcore_write and read back with vmcore_open_mem: PT_LOADs
 * by physical and by virtual address, zero pages left out and read as
 * zeros, the gap rule, registers and XSAVE, the notes.  Also the reader
 * refusing broken files.  With KZ_VMCORE_SEED=FILE it leaves the dump
 * there (the fuzz corpus seed).  And memory the host never backed: pages
 * of a private anonymous mapping never touched are skipped without being
 * read (they stay non-resident), while a shared mapping whose pages are
 * absent from our page tables but hold data is still read and saved.
 * And the writer takes nothing from the heap: it runs in a child forked
 * from multithreaded kzhost, where a heap lock held by another thread at
 * the fork would hang it (this binary counts malloc calls; not under
 * ASan, which owns malloc there).
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "memory.h"
#include "target.h"
#include "vmcore.h"
#include "fake_printk.h"

#define RAM (1u << 20)
#define DIRECT 0xffff800000000000ULL
#define KERN 0xffffffff80000000ULL

static uint8_t *ram;
static struct vmm_mem mem;

#ifndef __SANITIZE_ADDRESS__
/* Every heap call in this process, counted while heap_watch is set. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);
static volatile int heap_watch, heap_calls;

void *malloc(size_t n)
{
	heap_calls += heap_watch;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	heap_calls += heap_watch;
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	heap_calls += heap_watch;
	return __libc_realloc(p, n);
}

void *aligned_alloc(size_t a, size_t n)
{
	heap_calls += heap_watch;
	return __libc_memalign(a, n);
}

int posix_memalign(void **p, size_t a, size_t n)
{
	heap_calls += heap_watch;
	*p = __libc_memalign(a, n);
	return *p ? 0 : ENOMEM;
}

void free(void *p)
{
	heap_calls += heap_watch && p;
	__libc_free(p);
}
#endif
static struct kz_regs regs[2];
static struct kz_fpu fpu[2];
static uint8_t *file;
static size_t file_len;

static void put64(uint64_t pa, uint64_t v)
{
	memcpy(ram + pa, &v, 8);
}

/* 4-level tables at 0x1000..0x4000: 2 MiB page 0 at DIRECT and KERN. */
static void build_machine(void)
{
	ram = aligned_alloc(4096, RAM);
	memset(ram, 0, RAM);
	put64(0x1000 + 256 * 8, 0x2000 | 3);	/* PML4[256] -> PDPT A */
	put64(0x1000 + 511 * 8, 0x3000 | 3);	/* PML4[511] -> PDPT B */
	put64(0x2000, 0x4000 | 3);		/* PDPT A[0] -> PD */
	put64(0x3000 + 510 * 8, 0x4000 | 3);	/* PDPT B[510] -> PD */
	put64(0x4000, 0x0 | 0x83);		/* PD[0]: 2 MiB at 0 */
	put64(0x4008, 0x200000 | 0x83);		/* PD[1]: outside RAM */
	memcpy(ram + 0x5000, "hello from physical 0x5000", 27);
	memcpy(ram + 0x7ff8, "12345678", 8);	/* after a zero page */
	memset(ram + 0x40000, 0xab, 4096);	/* alone, far from the rest */
	/* Linux's vmcoreinfo_note: a page-aligned note. */
	static const char info[] = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\n";
	uint32_t h[3] = { 11, sizeof(info) - 1, 0 };
	memcpy(ram + 0x80000, h, 12);
	memcpy(ram + 0x8000c, "VMCOREINFO\0\0", 12);
	memcpy(ram + 0x80018, info, sizeof(info) - 1);

	mem.regions[0] = (struct vmm_mem_region){ 0, RAM, ram, 0 };
	mem.nregions = 1;
	mem.ram_size = RAM;
	for (unsigned i = 0; i < 2; i++) {
		regs[i].cr0 = 0x80050033;
		regs[i].cr3 = 0x1000;
		regs[i].cr4 = 0x20;
		regs[i].efer = 0x500;
		regs[i].rip = KERN + 0x5000 + i;
		regs[i].rsp = DIRECT + 0x9000;
		regs[i].rax = 0x1111 * (i + 1);
		regs[i].r15 = 0xf15;
		regs[i].cs = (struct kz_seg){ 0, 0xffffffff, 0x08, 0xa09b };
		regs[i].gs_base = 0xabc0 + i;
		regs[i].dr[7] = 0x400;
		fpu[i].size = 1024;
		memset(fpu[i].xsave, 0x40 + i, 1024);
	}
}

static int write_dump(void)
{
	char err[256];
	struct vmcore_stats st;
	const struct vmcore_src src = {
		.mem = &mem, .ncpus = 2, .regs = regs, .fpu = fpu,
		.kernel_path = NULL, .zone = "fake", .uuid = "u-u-i-d",
		.reason = "panic", .panic_msg = "made up\nsecond line",
		.when = 1700000000,
	};
	int fd = memfd_create("vmcore", 0);
	assert_true(fd >= 0);
	int rc = vmcore_write(fd, &src, &st, err, sizeof(err));
	if (rc)
		fail_msg("vmcore_write: %s", err);
	assert_int_equal(st.aliases, 2);
	assert_true(st.vmcoreinfo);
	/*
	 * 0x1000-0x7fff (tables and data: the zero page at 0x6000 is a
	 * gap shorter than VMCORE_GAP_PAGES, so kept), 0x40000, 0x80000.
	 */
	assert_int_equal(st.saved_bytes, 0x7000 + 4096 + 4096);
	file_len = (size_t)st.file_size;
	file = malloc(file_len);
	assert_int_equal(pread(fd, file, file_len, 0), (ssize_t)file_len);
	close(fd);
	const char *seed = getenv("KZ_VMCORE_SEED");
	if (seed) {
		FILE *f = fopen(seed, "w");
		fwrite(file, 1, file_len, f);
		fclose(f);
	}
	return 0;
}

static int setup(void **state)
{
	(void)state;
	build_machine();
	return write_dump();
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	free(file);
	return 0;
}

static void test_headers(void **state)
{
	(void)state;
	Elf64_Ehdr eh;
	memcpy(&eh, file, sizeof(eh));
	assert_int_equal(eh.e_type, ET_CORE);
	assert_int_equal(eh.e_machine, EM_X86_64);
	unsigned loads = 0, direct = 0, kern = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, file + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (i == 0) {
			assert_int_equal(ph.p_type, PT_NOTE);
			continue;
		}
		assert_int_equal(ph.p_type, PT_LOAD);
		assert_int_equal(ph.p_offset % 4096, 0);
		loads++;
		if (ph.p_vaddr == DIRECT + ph.p_paddr)
			direct++;
		else if (ph.p_vaddr == KERN + ph.p_paddr)
			kern++;
		else
			fail_msg("PT_LOAD %u at %llx for %llx", i,
				 (unsigned long long)ph.p_vaddr,
				 (unsigned long long)ph.p_paddr);
	}
	/* Three extents, each at both mappings. */
	assert_int_equal(loads, 6);
	assert_int_equal(direct, 3);
	assert_int_equal(kern, 3);
}

static void test_read_back(void **state)
{
	(void)state;
	struct kz_target t;
	char err[256];
	uint8_t buf[4096], zero[4096] = { 0 };
	assert_int_equal(vmcore_open_mem(file, file_len, &t, err, sizeof(err)), 0);
	assert_int_equal(t.ops->ncpus(&t), 2);

	struct kz_regs r;
	assert_int_equal(t.ops->get_regs(&t, 1, &r), 0);
	assert_memory_equal(&r, &regs[1], sizeof(r));
	struct kz_fpu *f = malloc(sizeof(*f));
	assert_int_equal(t.ops->get_fpu(&t, 1, f), 0);
	assert_int_equal(f->size, 1024);
	assert_int_equal(f->xsave[1023], 0x41);
	free(f);

	/* Every byte of RAM as it was, zero pages included. */
	for (uint64_t pa = 0; pa < RAM; pa += sizeof(buf)) {
		assert_int_equal(t.ops->read_phys(&t, pa, buf, sizeof(buf)), 0);
		assert_memory_equal(buf, ram + pa, sizeof(buf));
	}
	assert_int_equal(t.ops->read_phys(&t, 0x7ff0, buf, 32), 0);
	assert_memory_equal(buf, ram + 0x7ff0, 32);
	assert_memory_equal(zero, ram + 0x20000, 16);
	assert_int_equal(t.ops->read_phys(&t, RAM - 8, buf, 16), -EFAULT);
	assert_int_equal(t.ops->read_phys(&t, UINT64_MAX - 3, buf, 8), -EFAULT);

	char s[32];
	assert_int_equal(kz_target_read_virt(&t, 0, KERN + 0x5000, s, 27), 0);
	assert_string_equal(s, "hello from physical 0x5000");
	assert_int_equal(kz_target_read_virt(&t, 1, DIRECT + 0x5000, s, 27), 0);
	assert_string_equal(s, "hello from physical 0x5000");

	assert_string_equal(vmcore_field(&t, "zone"), "fake");
	assert_string_equal(vmcore_field(&t, "reason"), "panic");
	assert_string_equal(vmcore_field(&t, "panic"), "made up second line");
	assert_string_equal(vmcore_field(&t, "time"), "1700000000");
	assert_string_equal(vmcore_field(&t, "time-utc"), "2023-11-14T22:13:20Z");
	size_t len;
	const char *vi = vmcore_vmcoreinfo(&t, &len);
	assert_non_null(vi);
	assert_int_equal(len, 35);
	assert_memory_equal(vi, "OSRELEASE=6.1.0-test\n", 21);
	t.ops->close(&t);
}

static void refused(const void *buf, size_t len, const char *want)
{
	struct kz_target t;
	char err[256] = "";
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, buf, len);
	int rc = vmcore_open_mem(copy, len, &t, err, sizeof(err));
	if (rc == 0)
		fail_msg("accepted a broken file (want '%s')", want);
	if (!strstr(err, want))
		fail_msg("said '%s', want '%s'", err, want);
	free(copy);
}

static void test_broken_files(void **state)
{
	(void)state;
	refused("", 0, "too short");
	uint8_t notcore[64];
	memset(notcore, 'x', sizeof(notcore));
	memcpy(notcore, ELFMAG, SELFMAG);
	refused(notcore, sizeof(notcore), "not an x86-64 ELF64 core");
	uint8_t *f = malloc(file_len);
	Elf64_Ehdr eh;
	memcpy(f, file, file_len);
	memcpy(&eh, f, sizeof(eh));
	eh.e_phoff = file_len - 8;
	memcpy(f, &eh, sizeof(eh));
	refused(f, file_len, "program headers");
	/* Truncated: the headers at the end are gone. */
	refused(file, file_len / 2, "program headers");
	free(f);
}

/* Dump one region at hva into a real temp file if we can (O_DIRECT), else a memfd. */
static uint8_t *dump_region(uint8_t *hva, uint64_t size, uint64_t *saved,
			    size_t *len)
{
	static struct vmm_mem m;
	static struct kz_regs r1;
	char err[256];
	struct vmcore_stats st;
	m = (struct vmm_mem){ .nregions = 1, .ram_size = size };
	m.regions[0] = (struct vmm_mem_region){ 0, size, hva, 0 };
	const struct vmcore_src src = {
		.mem = &m, .ncpus = 1, .regs = &r1, .zone = "sparse",
		.uuid = "u", .reason = "requested", .when = 1,
	};
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR, 0600);
	if (fd < 0)
		fd = memfd_create("vmcore", 0);
	assert_true(fd >= 0);
	if (vmcore_write(fd, &src, &st, err, sizeof(err)))
		fail_msg("vmcore_write: %s", err);
	*saved = st.saved_bytes;
	*len = (size_t)st.file_size;
	uint8_t *f = malloc(*len);
	assert_int_equal(pread(fd, f, *len, 0), (ssize_t)*len);
	close(fd);
	return f;
}

static void test_unbacked_pages(void **state)
{
	(void)state;
	const uint64_t size = 16u << 20, pg = 4096;
	struct kz_target t;
	char err[256], buf[16];
	uint64_t saved;
	size_t len;

	/* Private anonymous: two pages written, one read (the zero page). */
	uint8_t *a = mmap(NULL, size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(a != MAP_FAILED);
	(void)madvise(a, size, MADV_NOHUGEPAGE);
	memcpy(a + 3 * pg, "page three", 11);
	memcpy(a + 3000 * pg + 100, "page 3000", 10);
	assert_int_equal(*(volatile uint8_t *)(a + 100 * pg), 0);
	uint8_t *f = dump_region(a, size, &saved, &len);
	assert_int_equal(saved, 2 * pg);
	unsigned char vec[16u << 20 >> 12];
	assert_int_equal(mincore(a, size, vec), 0);
	assert_int_equal(vec[2000] & 1, 0);	/* never read */
	assert_int_equal(vec[3] & 1, 1);
	assert_int_equal(vmcore_open_mem(f, len, &t, err, sizeof(err)), 0);
	assert_int_equal(t.ops->read_phys(&t, 3 * pg, buf, 11), 0);
	assert_string_equal(buf, "page three");
	assert_int_equal(t.ops->read_phys(&t, 3000 * pg + 100, buf, 10), 0);
	assert_string_equal(buf, "page 3000");
	assert_int_equal(t.ops->read_phys(&t, 2000 * pg, buf, 8), 0);
	assert_memory_equal(buf, "\0\0\0\0\0\0\0\0", 8);
	t.ops->close(&t);
	free(f);
	munmap(a, size);

	/* Shared: data written through the fd, not through our mapping. */
	int mfd = memfd_create("ram", 0);
	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, (off_t)size), 0);
	assert_int_equal(pwrite(mfd, "shared page", 12, 7 * pg), 12);
	uint8_t *s = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	assert_true(s != MAP_FAILED);
	f = dump_region(s, size, &saved, &len);
	assert_int_equal(saved, pg);
	assert_int_equal(vmcore_open_mem(f, len, &t, err, sizeof(err)), 0);
	assert_int_equal(t.ops->read_phys(&t, 7 * pg, buf, 12), 0);
	assert_string_equal(buf, "shared page");
	t.ops->close(&t);
	free(f);
	munmap(s, size);
	close(mfd);
}

/* The writer's whole run, /proc/self/maps and the notes included. */
static void test_no_heap(void **state)
{
	(void)state;
#ifdef __SANITIZE_ADDRESS__
	skip();
#else
	char err[256];
	struct vmcore_stats st;
	const struct vmcore_src src = {
		.mem = &mem, .ncpus = 2, .regs = regs, .fpu = fpu,
		.zone = "fake", .uuid = "u", .reason = "requested",
		.when = 1700000000,
	};
	int fd = memfd_create("vmcore", 0);
	assert_true(fd >= 0);
	heap_calls = 0;
	heap_watch = 1;
	int rc = vmcore_write(fd, &src, &st, err, sizeof(err));
	heap_watch = 0;
	close(fd);
	assert_int_equal(rc, 0);
	assert_int_equal(heap_calls, 0);
#endif
}

/*
 * A Linux guest's panic: no panic string given, so the writer finds it
 * in the guest's printk ringbuffer (symbols from a System.map), without
 * touching the heap either.
 */
static void test_linux_panic(void **state)
{
	(void)state;
	static const char text[] = "Kernel panic - not syncing: boom here";
	char map[] = "/tmp/kz-map.XXXXXX", err[256];
	int mfd = mkstemp(map);
	assert_true(mfd >= 0);
	static const char line[] = "ffffffff80090000 D printk_rb_static\n";
	assert_int_equal(write(mfd, line, sizeof(line) - 1), sizeof(line) - 1);
	close(mfd);
	const uint64_t rb = 0x90000;
	fake_printk_ring(ram + rb, KERN + rb, text, 0);

	struct vmcore_stats st;
	const struct vmcore_src src = {
		.mem = &mem, .ncpus = 2, .regs = regs, .fpu = fpu,
		.symbols_path = map, .zone = "fake", .uuid = "u",
		.reason = "panic", .when = 1700000000,
	};
	int fd = memfd_create("vmcore", 0);
	assert_true(fd >= 0);
#ifndef __SANITIZE_ADDRESS__
	heap_calls = 0;
	heap_watch = 1;
#endif
	int rc = vmcore_write(fd, &src, &st, err, sizeof(err));
#ifndef __SANITIZE_ADDRESS__
	heap_watch = 0;
	assert_int_equal(heap_calls, 0);
#endif
	unlink(map);
	memset(ram + rb, 0, 0x1000);
	if (rc)
		fail_msg("vmcore_write: %s", err);
	assert_string_equal(st.panic_msg, "boom here");
	size_t n = (size_t)st.file_size;
	uint8_t *f = malloc(n);
	assert_int_equal(pread(fd, f, n, 0), (ssize_t)n);
	close(fd);
	struct kz_target t;
	assert_int_equal(vmcore_open_mem(f, n, &t, err, sizeof(err)), 0);
	assert_string_equal(vmcore_field(&t, "panic"), "boom here");
	t.ops->close(&t);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_read_back),
		cmocka_unit_test(test_broken_files),
		cmocka_unit_test(test_unbacked_pages),
		cmocka_unit_test(test_no_heap),
		cmocka_unit_test(test_linux_panic),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
