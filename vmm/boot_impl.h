/*
 * Private helpers shared by the kernel loaders (boot.c, boot_pvh.c,
 * boot_bzimage.c).  Not part of libvmm's interface.
 */
#ifndef KZ_VMM_BOOT_IMPL_H
#define KZ_VMM_BOOT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmm_mem;
struct vmm_boot_config;
struct vmm_e820_entry;

#define BOOT_PAGE_SIZE	4096ULL
/* What boot_params can hold; the PVH memmap uses the same bound. */
#define BOOT_E820_MAX	128

/* Image fields are little-endian whatever the host; read them bytewise. */
static inline uint16_t boot_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t boot_le32(const uint8_t *p)
{
	return (uint32_t)boot_le16(p) | (uint32_t)boot_le16(p + 2) << 16;
}

static inline uint64_t boot_le64(const uint8_t *p)
{
	return (uint64_t)boot_le32(p) | (uint64_t)boot_le32(p + 4) << 32;
}

static inline void boot_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void boot_put32(uint8_t *p, uint32_t v)
{
	boot_put16(p, (uint16_t)v);
	boot_put16(p + 2, (uint16_t)(v >> 16));
}

static inline void boot_put64(uint8_t *p, uint64_t v)
{
	boot_put32(p, (uint32_t)v);
	boot_put32(p + 4, (uint32_t)(v >> 32));
}

/* [off, off + len) lies inside [0, total), without overflowing. */
static inline bool boot_range_ok(uint64_t off, uint64_t len, uint64_t total)
{
	return off <= total && len <= total - off;
}

void boot_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "600 MiB", "12 KiB", "17 bytes": for messages. */
const char *boot_size_str(uint64_t bytes, char *buf, size_t len);

/* End of the RAM region that starts at 0, capped at the MMIO hole. */
uint64_t boot_low_ram_end(const struct vmm_mem *mem);

/*
 * Copy cfg->cmdline to KZ_GPA_CMDLINE.  max_chars is the longest string
 * (without its NUL) the kernel accepts; KZ_CMDLINE_MAX bounds it too.
 * Returns 0 or -E2BIG with a message.
 */
int boot_cmdline_load(struct vmm_mem *mem, const struct vmm_boot_config *cfg,
		      uint64_t max_chars, char *err, size_t errlen);

/*
 * Place cfg->initrd page-aligned as high as possible in usable RAM (per
 * the e820 map) inside [above, below) and copy it there.  *gpa is set to
 * its address, or 0 when there is no initrd.  Returns 0 or -errno.
 */
int boot_initrd_load(struct vmm_mem *mem, const struct vmm_boot_config *cfg,
		     uint64_t above, uint64_t below, uint64_t *gpa, char *err,
		     size_t errlen);

#endif
