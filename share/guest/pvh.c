/*
 * What the PVH boot loader hands over, and physical memory.
 *
 * struct hvm_start_info, its command line and its memory map sit in
 * memory the loader chose (kzhost: 0x6000 and 0x20000; QEMU: wherever its
 * firmware put them), some of it in RAM we will reuse (the AP trampoline
 * page, the boot allocator), so kz_main copies all of it into kz_boot
 * before anything else.  Field layout per the Xen PVH ABI
 * (xen/include/public/arch-x86/hvm/start_info.h), version 1.
 */
#include "kzguest.h"

#define HVM_START_MAGIC		0x336ec578
#define E820_RAM		1
#define GIB			(1UL << 30)

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	/* version >= 1 */
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

extern uint64_t boot_pdpt_low[512];
extern char _kernel_start[], _end[];

struct kz_bootinfo kz_boot;

static uint64_t direct_limit = 4 * GIB;	/* bytes the direct map covers */
static uint64_t alloc_next, alloc_end;	/* boot allocator, physical */

void pvh_copy_start_info(uint64_t pa)
{
	const struct hvm_start_info *si;
	const struct hvm_memmap_entry *mm;
	unsigned i, n;

	if (pa == 0 || pa >= direct_limit)
		return;
	si = phys_to_virt(pa);
	if (si->magic != HVM_START_MAGIC)
		return;
	kz_boot.rsdp_paddr = si->rsdp_paddr;
	if (si->cmdline_paddr && si->cmdline_paddr < direct_limit) {
		const char *c = phys_to_virt(si->cmdline_paddr);

		for (i = 0; i < sizeof(kz_boot.cmdline) - 1 && c[i]; i++)
			kz_boot.cmdline[i] = c[i];
	}
	if (si->version < 1 || !si->memmap_paddr ||
	    si->memmap_paddr >= direct_limit)
		return;
	mm = phys_to_virt(si->memmap_paddr);
	n = si->memmap_entries;
	if (n > KZ_MEMMAP_MAX)
		n = KZ_MEMMAP_MAX;
	for (i = 0; i < n; i++) {
		struct kz_memrange *r = &kz_boot.mem[kz_boot.nmem];

		if (mm[i].size == 0)	/* QEMU pads its map with one */
			continue;
		kz_boot.nmem++;
		r->addr = mm[i].addr;
		r->size = mm[i].size;
		r->type = mm[i].type;
		if (r->type == E820_RAM) {
			kz_boot.usable_bytes += r->size;
			if (r->addr + r->size > kz_boot.ram_top)
				kz_boot.ram_top = r->addr + r->size;
		}
	}
}

/* True if the command line holds word as a whole blank-separated token. */
bool kz_cmdline_has(const char *word)
{
	const char *p = kz_boot.cmdline;
	size_t n = strlen(word);

	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, word, n) && (p[n] == ' ' || p[n] == '\0'))
			return true;
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

/*
 * Start the boot allocator just past the kernel image, then extend the
 * direct map past 4 GiB: with 1 GiB pages when the CPU has them, else with
 * one page directory (512 x 2 MiB) per GiB from the boot allocator.
 * Stops at 512 GiB (one PDPT).
 */
void kz_mem_init(void)
{
	uint32_t r[4];
	uint64_t kend = (kva_to_phys(_end) + 4095) & ~4095UL;
	uint64_t top = (kz_boot.ram_top + GIB - 1) / GIB, g, j;
	bool gbpages = false;
	unsigned i;

	for (i = 0; i < kz_boot.nmem; i++) {
		const struct kz_memrange *m = &kz_boot.mem[i];

		if (m->type == E820_RAM && m->addr <= kend &&
		    m->addr + m->size > kend) {
			alloc_next = kend;
			alloc_end = m->addr + m->size;
		}
	}
	if (top <= 4)
		return;
	if (top > 512)
		top = 512;
	cpuid(0x80000000, 0, r);
	if (r[0] >= 0x80000001) {
		cpuid(0x80000001, 0, r);
		gbpages = r[3] & (1u << 26);
	}
	for (g = 4; g < top; g++) {
		uint64_t *pd;

		if (gbpages) {
			boot_pdpt_low[g] = (g * GIB) | 0x83;	/* P W PS */
			continue;
		}
		pd = kz_alloc_pages(1);
		if (!pd)
			break;
		for (j = 0; j < 512; j++)
			pd[j] = (g * GIB + j * (2UL << 20)) | 0x83;
		boot_pdpt_low[g] = (kz_virt_to_phys(pd)) | 0x03;
	}
	direct_limit = g * GIB;
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
}

/* True if [pa, pa + len) lies in one usable range of the memory map. */
bool kz_mem_usable(uint64_t pa, uint64_t len)
{
	unsigned i;

	for (i = 0; i < kz_boot.nmem; i++) {
		const struct kz_memrange *m = &kz_boot.mem[i];

		if (m->type == E820_RAM && m->addr <= pa &&
		    pa + len <= m->addr + m->size)
			return true;
	}
	return false;
}

/* Pages for the life of the kernel (AP stacks); not zeroed. */
void *kz_alloc_pages(size_t npages)
{
	uint64_t bytes = npages * 4096;

	if (!alloc_next || alloc_end - alloc_next < bytes ||
	    alloc_next + bytes > direct_limit)
		return NULL;
	alloc_next += bytes;
	return phys_to_virt(alloc_next - bytes);
}

/*
 * Find bytes of RAM that nothing uses (for `dirty'): the largest usable
 * range above 1 MiB, minus the kernel and boot allocations when they sit in
 * it, clipped to the direct map.
 */
bool kz_free_range(uint64_t bytes, uint64_t *pa)
{
	uint64_t best = 0, best_len = 0;
	unsigned i;

	for (i = 0; i < kz_boot.nmem; i++) {
		const struct kz_memrange *m = &kz_boot.mem[i];
		uint64_t lo = m->addr, hi = m->addr + m->size;

		if (m->type != E820_RAM)
			continue;
		if (lo < 0x100000)
			lo = 0x100000;
		if (alloc_next && lo <= alloc_next && alloc_next < hi)
			lo = (alloc_next + 4095) & ~4095ULL;
		if (hi > direct_limit)
			hi = direct_limit;
		if (hi > lo && hi - lo > best_len) {
			best = lo;
			best_len = hi - lo;
		}
	}
	if (best_len < bytes)
		return false;
	*pa = best;
	return true;
}

static const char *mem_type_name(uint32_t t)
{
	switch (t) {
	case 1: return "usable";
	case 2: return "reserved";
	case 3: return "ACPI data";
	case 4: return "ACPI NVS";
	case 5: return "unusable";
	case 7: return "persistent";
	default: return "other";
	}
}

void kz_mem_print(void)
{
	uint64_t reserved = 0, kend = kva_to_phys(_end);
	unsigned i;

	for (i = 0; i < kz_boot.nmem; i++) {
		const struct kz_memrange *m = &kz_boot.mem[i];

		kz_printf("  %016lx-%016lx %10lu KiB  %s\n", m->addr,
			  m->addr + m->size - 1, m->size >> 10,
			  mem_type_name(m->type));
		if (m->type != E820_RAM)
			reserved += m->size;
	}
	kz_printf("usable %lu KiB (%lu MiB), other %lu KiB\n",
		  kz_boot.usable_bytes >> 10,
		  (kz_boot.usable_bytes + (1 << 19)) >> 20, reserved >> 10);
	kz_printf("kernel %lx-%lx, boot allocations up to %lx, "
		  "direct map %lu GiB\n", kva_to_phys(_kernel_start), kend, alloc_next,
		  direct_limit / GIB);
}
