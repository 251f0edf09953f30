/*
 * Kernel loading: theory of operation.
 *
 * kzhost calls vmm_boot_load() once, after guest RAM exists and before the
 * boot vCPU is set up.  We look at the image, pick a boot protocol and put
 * into guest RAM everything the kernel expects to find at its entry:
 *
 *   PVH (boot_pvh.c)      an ELF64 x86-64 image carrying the Xen note
 *                         XEN_ELFNOTE_PHYS32_ENTRY.  PT_LOADs go to their
 *                         p_paddr, an hvm_start_info (with memory map and
 *                         module list) goes to KZ_GPA_PVH_INFO; the kernel
 *                         starts in 32-bit protected mode, paging off,
 *                         ebx = start_info.
 *   Linux (boot_bzimage.c) a bzImage with the "HdrS" setup header and the
 *                         64-bit entry (protocol 2.12+).  The protected-mode
 *                         kernel goes at pref_address (or 1 MiB), the zero
 *                         page (boot_params) at KZ_GPA_ZERO_PAGE; the kernel
 *                         starts in long mode at load + 0x200, rsi = zero
 *                         page.
 *
 * Both put the command line at KZ_GPA_CMDLINE and an initrd page-aligned
 * as high as fits in RAM below the MMIO hole, above the kernel.  Everything
 * stays below 4 GiB, which the caller's identity map covers.
 *
 * The image is untrusted input: each offset and size read from it is
 * checked against the file length and against guest RAM, with arithmetic
 * that cannot wrap, before it is used.  The loaders write guest memory only
 * through vmm/memory.h, and they never print or exit: they return -errno
 * and one line in err.  They describe the entry state in struct
 * vmm_boot_entry and leave vCPU registers to the caller.
 */
#include "boot.h"
#include "boot_impl.h"
#include "layout.h"
#include "memory.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void boot_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *boot_size_str(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= (1ULL << 20) && !(bytes & ((1ULL << 20) - 1)))
		snprintf(buf, len, "%llu MiB",
			 (unsigned long long)(bytes >> 20));
	else if (bytes >= (1ULL << 20))
		snprintf(buf, len, "%.1f MiB", (double)bytes / (1 << 20));
	else if (bytes >= 1024)
		snprintf(buf, len, "%llu KiB",
			 (unsigned long long)((bytes + 1023) >> 10));
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
	return buf;
}

uint64_t boot_low_ram_end(const struct vmm_mem *mem)
{
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct vmm_mem_region *r = &mem->regions[i];
		if (r->gpa != 0)
			continue;
		return r->size < KZ_GPA_MMIO_HOLE ? r->size : KZ_GPA_MMIO_HOLE;
	}
	return 0;
}

int boot_cmdline_load(struct vmm_mem *mem, const struct vmm_boot_config *cfg,
		      uint64_t max_chars, char *err, size_t errlen)
{
	const char *s = cfg->cmdline ? cfg->cmdline : "";
	size_t len = strlen(s);

	if (len >= KZ_CMDLINE_MAX) {
		boot_err(err, errlen,
			 "command line of %zu bytes is too long (at most %llu)",
			 len, KZ_CMDLINE_MAX - 1);
		return -E2BIG;
	}
	if (len > max_chars) {
		boot_err(err, errlen,
			 "command line of %zu bytes is longer than the kernel "
			 "accepts (cmdline_size %llu)",
			 len, (unsigned long long)max_chars);
		return -E2BIG;
	}
	if (vmm_mem_write(mem, KZ_GPA_CMDLINE, s, len + 1)) {
		boot_err(err, errlen,
			 "guest RAM too small for the command line at 0x%llx",
			 KZ_GPA_CMDLINE);
		return -ENOMEM;
	}
	return 0;
}

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

/* Highest page-aligned start for size bytes in one e820 RAM range. */
static bool initrd_slot(const struct vmm_e820_entry *e, uint64_t above,
			uint64_t below, uint64_t size, uint64_t *start)
{
	uint64_t lo = e->addr > above ? e->addr : above;
	uint64_t end = e->addr + e->size;	/* e820 ranges never wrap */
	uint64_t hi = end < below ? end : below;

	if (e->type != VMM_E820_RAM || hi <= lo || hi - lo < size)
		return false;
	uint64_t s = align_down(hi - size, BOOT_PAGE_SIZE);
	if (s < lo)
		return false;
	*start = s;
	return true;
}

int boot_initrd_load(struct vmm_mem *mem, const struct vmm_boot_config *cfg,
		     uint64_t above, uint64_t below, uint64_t *gpa, char *err,
		     size_t errlen)
{
	struct vmm_e820_entry map[BOOT_E820_MAX];
	uint64_t best = 0, size = cfg->initrd_len;
	bool found = false;
	char sz[32];

	*gpa = 0;
	if (!cfg->initrd || !cfg->initrd_len)
		return 0;

	/* Page-align the floor; an absurd floor simply leaves no room. */
	if (above > UINT64_MAX - BOOT_PAGE_SIZE)
		above = UINT64_MAX - BOOT_PAGE_SIZE;
	above = align_down(above + BOOT_PAGE_SIZE - 1, BOOT_PAGE_SIZE);

	unsigned n = vmm_mem_e820(mem, map, BOOT_E820_MAX);
	uint64_t top = 0;	/* end of usable RAM below the limit */
	for (unsigned i = 0; i < n; i++) {
		uint64_t s, end = map[i].addr + map[i].size;
		if (map[i].type == VMM_E820_RAM && map[i].addr < below)
			top = end < below ? end : below;
		if (initrd_slot(&map[i], above, below, size, &s) &&
		    (!found || s > best)) {
			best = s;
			found = true;
		}
	}
	if (!found) {
		boot_err(err, errlen,
			 "initrd of %s does not fit in guest RAM between "
			 "0x%llx (end of kernel) and 0x%llx",
			 boot_size_str(size, sz, sizeof(sz)),
			 (unsigned long long)above, (unsigned long long)top);
		return -ENOMEM;
	}
	if (vmm_mem_write(mem, best, cfg->initrd, size)) {
		boot_err(err, errlen, "initrd at 0x%llx+0x%llx is not in RAM",
			 (unsigned long long)best, (unsigned long long)size);
		return -EFAULT;
	}
	*gpa = best;
	return 0;
}

static bool is_elf(const uint8_t *k, size_t len)
{
	return len >= 4 && memcmp(k, "\177ELF", 4) == 0;
}

int vmm_boot_load(struct vmm_mem *mem, const struct vmm_boot_config *cfg,
		  struct vmm_boot_entry *entry, char *err, size_t errlen)
{
	if (!cfg->kernel || !cfg->kernel_len) {
		boot_err(err, errlen, "empty kernel image");
		return -ENOEXEC;
	}
	if (is_elf(cfg->kernel, cfg->kernel_len))
		return vmm_boot_load_pvh(mem, cfg, entry, err, errlen);
	if (vmm_boot_is_bzimage(cfg->kernel, cfg->kernel_len))
		return vmm_boot_load_bzimage(mem, cfg, entry, err, errlen);
	boot_err(err, errlen, "not an ELF or bzImage kernel");
	return -ENOEXEC;
}
