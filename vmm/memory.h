/*
 * Guest memory: the one memory-map API.
 *
 * Owns the host mappings that back guest RAM and the KVM memory slots that
 * point at them.  Everything that touches guest memory from the host (boot
 * loaders, devices, savecore, suspend, migration, the debugger) goes through
 * the bounds-checked helpers here: a guest-controlled address is never
 * turned into a host pointer without checking that the whole range lies in
 * one RAM region.
 */
#ifndef KZ_VMM_MEMORY_H
#define KZ_VMM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vmm_pagesize_policy {
	VMM_PAGESIZE_LARGEST_AVAILABLE,	/* 1G, then 2M hugetlb, then THP, then 4K */
	VMM_PAGESIZE_LARGEST_ONLY,	/* largest hugetlb size or fail */
	VMM_PAGESIZE_SMALLEST_ONLY,	/* 4 KiB pages */
};

enum vmm_page_backing {
	VMM_BACKING_HUGETLB_1G,
	VMM_BACKING_HUGETLB_2M,
	VMM_BACKING_THP,
	VMM_BACKING_4K,
};

struct vmm_mem_region {
	uint64_t gpa;		/* guest-physical base */
	uint64_t size;		/* bytes */
	uint8_t *hva;		/* host mapping */
	uint32_t slot;		/* KVM memory slot */
};

#define VMM_MEM_MAX_REGIONS 4

struct vmm_mem {
	struct vmm_mem_region regions[VMM_MEM_MAX_REGIONS];
	unsigned nregions;
	uint64_t ram_size;		/* total guest RAM in bytes */
	enum vmm_page_backing backing;	/* what the policy got */
	bool locked;			/* mlock succeeded */
	void *map_base;			/* one host mapping for all regions */
	size_t map_size;
};

const char *vmm_pagesize_policy_name(enum vmm_pagesize_policy p);
int vmm_pagesize_policy_parse(const char *s, enum vmm_pagesize_policy *out);
const char *vmm_page_backing_name(enum vmm_page_backing b);

/*
 * Map RAM of ram_size bytes with the given policy and lay it out around
 * the MMIO hole.  Returns 0 or -errno; on error err holds one line.
 */
int vmm_mem_create(struct vmm_mem *m, uint64_t ram_size,
		   enum vmm_pagesize_policy policy, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void vmm_mem_destroy(struct vmm_mem *m);

/* All RAM back to zeroes, as at power-on (used on reboot). */
void vmm_mem_clear(struct vmm_mem *m);

/* Register every region with a KVM VM fd (slot i = region i). */
int vmm_mem_register(struct vmm_mem *m, int vm_fd, bool dirty_log)
	__attribute__((warn_unused_result));

/* Host pointer for [gpa, gpa+len) if it lies wholly in one region, else NULL. */
void *vmm_mem_ptr(const struct vmm_mem *m, uint64_t gpa, uint64_t len);

/* Bounds-checked copies; -EFAULT when any byte is outside RAM. */
int vmm_mem_read(const struct vmm_mem *m, uint64_t gpa, void *buf, size_t len);
int vmm_mem_write(const struct vmm_mem *m, uint64_t gpa, const void *buf,
		  size_t len);

/*
 * Walk RAM in order of guest-physical address.  fn is called once per
 * region; a non-zero return stops the walk and is returned.
 */
typedef int (*vmm_mem_walk_fn)(const struct vmm_mem_region *r, void *arg);
int vmm_mem_walk(const struct vmm_mem *m, vmm_mem_walk_fn fn, void *arg);

/* True when the 4 KiB page at p is all zero (savecore/suspend/migrate skip these). */
bool vmm_page_is_zero(const void *p);

/*
 * The e820-style map the guest is told about: usable RAM and reserved
 * ranges, sorted.  Returns the number of entries written (at most max).
 */
enum vmm_e820_type { VMM_E820_RAM = 1, VMM_E820_RESERVED = 2, VMM_E820_ACPI = 3 };
struct vmm_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};
unsigned vmm_mem_e820(const struct vmm_mem *m, struct vmm_e820_entry *out,
		      unsigned max);

#endif
