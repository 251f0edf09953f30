/*
 * Guest memory map.
 *
 * One anonymous mapping backs all of guest RAM; it is split into at most
 * two regions around the 32-bit MMIO hole (below 3 GiB, and from 4 GiB
 * up).  The page-size policy decides what backs the mapping: hugetlb pages
 * (1 GiB, then 2 MiB), transparent huge pages, or plain 4 KiB pages.  The
 * mapping is locked so the guest's memory is never paged out, as kernel
 * zones require.
 *
 * Callers: kzhost (create/register), the boot loaders and devices (the
 * bounds-checked accessors), savecore/suspend/migration (vmm_mem_walk).
 * Never hands out a host pointer for a guest range that is not wholly
 * inside one region.
 */
#include "memory.h"
#include "layout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <linux/kvm.h>

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#define MAP_HUGE_1GB (30 << MAP_HUGE_SHIFT)

#define GIB (1ULL << 30)
#define MIB (1ULL << 20)

static const char *const policy_names[] = {
	[VMM_PAGESIZE_LARGEST_AVAILABLE] = "largest-available",
	[VMM_PAGESIZE_LARGEST_ONLY] = "largest-only",
	[VMM_PAGESIZE_SMALLEST_ONLY] = "smallest-only",
};

static const char *const backing_names[] = {
	[VMM_BACKING_HUGETLB_1G] = "1G hugetlb",
	[VMM_BACKING_HUGETLB_2M] = "2M hugetlb",
	[VMM_BACKING_THP] = "transparent huge pages",
	[VMM_BACKING_4K] = "4K",
};

const char *vmm_pagesize_policy_name(enum vmm_pagesize_policy p)
{
	if ((unsigned)p >= sizeof(policy_names) / sizeof(policy_names[0]))
		return "?";
	return policy_names[p];
}

int vmm_pagesize_policy_parse(const char *s, enum vmm_pagesize_policy *out)
{
	for (unsigned i = 0; i < sizeof(policy_names) / sizeof(policy_names[0]);
	     i++) {
		if (strcmp(s, policy_names[i]) == 0) {
			*out = (enum vmm_pagesize_policy)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *vmm_page_backing_name(enum vmm_page_backing b)
{
	if ((unsigned)b >= sizeof(backing_names) / sizeof(backing_names[0]))
		return "?";
	return backing_names[b];
}

static void *map_anon(size_t size, int extra_flags)
{
	/*
	 * No MAP_NORESERVE: for hugetlb it would let the mapping succeed
	 * with an empty pool and the guest die of SIGBUS on first touch;
	 * without it, a short pool fails here, where the policy can step
	 * down.
	 */
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * Try each backing from the policy's first choice down.  hugetlb sizes are
 * only tried when the RAM size is a multiple of the page size.
 */
static int map_with_policy(struct vmm_mem *m, size_t size,
			   enum vmm_pagesize_policy policy, char *err,
			   size_t errlen)
{
	static const struct {
		enum vmm_page_backing backing;
		uint64_t pagesize;
		int flags;
	} tries[] = {
		{ VMM_BACKING_HUGETLB_1G, GIB, MAP_HUGETLB | MAP_HUGE_1GB },
		{ VMM_BACKING_HUGETLB_2M, 2 * MIB, MAP_HUGETLB | MAP_HUGE_2MB },
	};
	int last_errno = 0;

	if (policy != VMM_PAGESIZE_SMALLEST_ONLY) {
		for (unsigned i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
			if (size % tries[i].pagesize)
				continue;
			void *p = map_anon(size, tries[i].flags);
			if (p) {
				m->map_base = p;
				m->backing = tries[i].backing;
				return 0;
			}
			last_errno = errno;
			/*
			 * largest-only: the largest size the RAM size allows
			 * is the only one we may use.
			 */
			if (policy == VMM_PAGESIZE_LARGEST_ONLY) {
				snprintf(err, errlen,
					 "cannot get %llu MiB of %s pages "
					 "(pagesize-policy largest-only): %s",
					 (unsigned long long)(size / MIB),
					 backing_names[tries[i].backing],
					 strerror(last_errno));
				return -last_errno;
			}
		}
		if (policy == VMM_PAGESIZE_LARGEST_ONLY) {
			snprintf(err, errlen,
				 "memory size %llu KiB is not a multiple of "
				 "2 MiB, so largest-only cannot use huge pages",
				 (unsigned long long)(size >> 10));
			return -EINVAL;
		}
	}

	void *p = map_anon(size, 0);
	if (!p) {
		int e = errno;
		snprintf(err, errlen, "cannot map %llu MiB of guest memory: %s",
			 (unsigned long long)(size / MIB), strerror(e));
		return -e;
	}
	m->map_base = p;
	m->backing = VMM_BACKING_4K;
	if (policy == VMM_PAGESIZE_LARGEST_AVAILABLE &&
	    madvise(p, size, MADV_HUGEPAGE) == 0)
		m->backing = VMM_BACKING_THP;
	else if (policy == VMM_PAGESIZE_SMALLEST_ONLY)
		(void)madvise(p, size, MADV_NOHUGEPAGE);
	return 0;
}

/*
 * Lock the mapping, raising RLIMIT_MEMLOCK first when we are allowed to
 * (root or CAP_SYS_RESOURCE): the default limit of a few MiB would
 * otherwise leave every zone unlocked.
 */
static bool mem_lock(struct vmm_mem *m)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < m->map_size) {
		struct rlimit want = { RLIM_INFINITY, RLIM_INFINITY };
		(void)setrlimit(RLIMIT_MEMLOCK, &want);
	}
	return mlock2(m->map_base, m->map_size, MLOCK_ONFAULT) == 0;
}

int vmm_mem_create(struct vmm_mem *m, uint64_t ram_size,
		   enum vmm_pagesize_policy policy, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	if (ram_size < 2 * MIB || ram_size % 4096) {
		snprintf(err, errlen,
			 "memory size %llu bytes: need at least 2 MiB, in "
			 "whole 4 KiB pages",
			 (unsigned long long)ram_size);
		return -EINVAL;
	}
	if (ram_size > (1ULL << 46)) {
		snprintf(err, errlen, "memory size %llu GiB is too large",
			 (unsigned long long)(ram_size / GIB));
		return -EINVAL;
	}
	int rc = map_with_policy(m, ram_size, policy, err, errlen);
	if (rc)
		return rc;
	m->map_size = ram_size;
	m->ram_size = ram_size;

	uint64_t low = ram_size < KZ_GPA_MMIO_HOLE ? ram_size : KZ_GPA_MMIO_HOLE;
	m->regions[0] = (struct vmm_mem_region){
		.gpa = 0, .size = low, .hva = m->map_base, .slot = 0
	};
	m->nregions = 1;
	if (ram_size > low) {
		m->regions[1] = (struct vmm_mem_region){
			.gpa = KZ_GPA_4G,
			.size = ram_size - low,
			.hva = (uint8_t *)m->map_base + low,
			.slot = 1,
		};
		m->nregions = 2;
	}

	/*
	 * Kernel zones are not pageable.  MLOCK_ONFAULT locks each page as
	 * the guest first touches it: never paged out, yet a 4 GiB zone
	 * that uses 100 MiB does not cost 4 GiB at boot.  A host that
	 * limits locked memory (RLIMIT_MEMLOCK) leaves the memory unlocked;
	 * the caller sees locked == false and warns.
	 */
	m->locked = mem_lock(m);
	return 0;
}

void vmm_mem_destroy(struct vmm_mem *m)
{
	if (m->map_base)
		munmap(m->map_base, m->map_size);
	memset(m, 0, sizeof(*m));
}

void vmm_mem_clear(struct vmm_mem *m)
{
	/*
	 * Dropping the pages zeroes them and gives them back to the host;
	 * locked pages cannot be dropped, so unlock around it.
	 */
	if (m->locked)
		munlock(m->map_base, m->map_size);
	if (madvise(m->map_base, m->map_size, MADV_DONTNEED) < 0)
		memset(m->map_base, 0, m->map_size);
	if (m->locked)
		m->locked = mem_lock(m);
}

int vmm_mem_register(struct vmm_mem *m, int vm_fd, bool dirty_log)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = m->regions[i].slot,
			.flags = dirty_log ? KVM_MEM_LOG_DIRTY_PAGES : 0,
			.guest_phys_addr = m->regions[i].gpa,
			.memory_size = m->regions[i].size,
			.userspace_addr = (uintptr_t)m->regions[i].hva,
		};
		if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return -errno;
	}
	return 0;
}

void *vmm_mem_ptr(const struct vmm_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		const struct vmm_mem_region *r = &m->regions[i];
		if (gpa < r->gpa)
			continue;
		uint64_t off = gpa - r->gpa;
		if (off >= r->size || len > r->size - off)
			continue;
		return r->hva + off;
	}
	return NULL;
}

int vmm_mem_read(const struct vmm_mem *m, uint64_t gpa, void *buf, size_t len)
{
	void *p = vmm_mem_ptr(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int vmm_mem_write(const struct vmm_mem *m, uint64_t gpa, const void *buf,
		  size_t len)
{
	void *p = vmm_mem_ptr(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

int vmm_mem_walk(const struct vmm_mem *m, vmm_mem_walk_fn fn, void *arg)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		int rc = fn(&m->regions[i], arg);
		if (rc)
			return rc;
	}
	return 0;
}

bool vmm_page_is_zero(const void *p)
{
	const uint64_t *w = p;
	uint64_t acc = 0;
	/* Unrolled OR keeps this branch-free; the compiler vectorises it. */
	for (unsigned i = 0; i < 4096 / 8; i++)
		acc |= w[i];
	return acc == 0;
}

static unsigned e820_add(struct vmm_e820_entry *out, unsigned n, unsigned max,
			 uint64_t addr, uint64_t size, uint32_t type)
{
	if (n < max && size)
		out[n] = (struct vmm_e820_entry){ addr, size, type };
	return size ? n + 1 : n;
}

unsigned vmm_mem_e820(const struct vmm_mem *m, struct vmm_e820_entry *out,
		      unsigned max)
{
	unsigned n = 0;
	uint64_t low_end = m->regions[0].size;

	/* Base memory up to the EBDA, then the legacy/BIOS area reserved. */
	n = e820_add(out, n, max, 0, KZ_GPA_EBDA, VMM_E820_RAM);
	n = e820_add(out, n, max, KZ_GPA_EBDA, KZ_GPA_HIGH_RAM - KZ_GPA_EBDA,
		     VMM_E820_RESERVED);
	if (low_end > KZ_GPA_HIGH_RAM)
		n = e820_add(out, n, max, KZ_GPA_HIGH_RAM,
			     low_end - KZ_GPA_HIGH_RAM, VMM_E820_RAM);
	/* IOAPIC .. end of 4 GiB: LAPIC, IOAPIC, firmware hole. */
	n = e820_add(out, n, max, KZ_GPA_IOAPIC, KZ_GPA_4G - KZ_GPA_IOAPIC,
		     VMM_E820_RESERVED);
	if (m->nregions > 1)
		n = e820_add(out, n, max, m->regions[1].gpa,
			     m->regions[1].size, VMM_E820_RAM);
	return n < max ? n : max;
}
