/*
 * Kernel loaders: PVH ELF (hvm_start_info protocol) and Linux bzImage
 * (64-bit boot protocol).
 *
 * The image is untrusted: every header field, offset and size is checked
 * against the file length and against guest RAM before use.  Loaders only
 * write guest memory through vmm/memory.h and describe the entry state in
 * struct vmm_boot_entry; setting vCPU registers is the caller's job.
 */
#ifndef KZ_VMM_BOOT_H
#define KZ_VMM_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmm_mem;

enum vmm_boot_kind {
	VMM_BOOT_PVH,		/* 32-bit protected mode, paging off, ebx = start_info */
	VMM_BOOT_LINUX64,	/* long mode, identity map, rsi = boot_params */
};

struct vmm_boot_entry {
	enum vmm_boot_kind kind;
	uint64_t rip;
	uint64_t arg;		/* ebx (PVH) or rsi (LINUX64) */
	uint64_t kernel_lo, kernel_hi;	/* guest-physical span of the kernel */
	uint64_t kernel_vaddr;		/* ELF entry's virtual address if known */
};

struct vmm_boot_config {
	const uint8_t *kernel;	/* whole kernel file */
	size_t kernel_len;
	const uint8_t *initrd;	/* NULL when none */
	size_t initrd_len;
	const char *cmdline;	/* NUL-terminated, may be "" */
	uint64_t rsdp_gpa;	/* 0 when no ACPI */
};

/*
 * Detect the format and load.  Returns 0, or -errno with one line in err
 * naming the problem (the caller prefixes the file name).
 */
int vmm_boot_load(struct vmm_mem *mem, const struct vmm_boot_config *cfg,
		  struct vmm_boot_entry *entry, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* True when k starts like a bzImage: boot flag 0xAA55 and "HdrS". */
bool vmm_boot_is_bzimage(const uint8_t *k, size_t len);
/* Bytes from a bzImage's start that hold all of the header read below. */
#define VMM_BZIMAGE_HDR_LEN 0x260
/*
 * The physical address a bzImage's kernel is linked for (pref_address,
 * boot protocol 2.10 and later): 0, or -ENOEXEC.  k holds at least len
 * bytes of the file's start.
 */
int vmm_bzimage_pref_address(const uint8_t *k, size_t len, uint64_t *pref);

/* The two loaders, for tests and fuzzing. */
int vmm_boot_load_pvh(struct vmm_mem *mem, const struct vmm_boot_config *cfg,
		      struct vmm_boot_entry *entry, char *err, size_t errlen);
int vmm_boot_load_bzimage(struct vmm_mem *mem,
			  const struct vmm_boot_config *cfg,
			  struct vmm_boot_entry *entry, char *err,
			  size_t errlen);

#endif
