/*
 * bzImage loader: the Linux x86 boot protocol (Documentation/arch/x86/
 * boot.rst), 64-bit entry only (protocol 2.12+, XLF_KERNEL_64).
 *
 * The real-mode setup code is never run: we build the zero page
 * (struct boot_params) ourselves from the setup header in the file, load
 * the protected-mode kernel that follows the setup sectors, and enter it
 * at startup_64 (load address + 0x200) in long mode.
 *
 * Where the kernel ends up: a relocatable kernel decompresses itself at
 * max(load address rounded up to kernel_alignment, pref_address), a fixed
 * one at pref_address, and needs init_size bytes there.  We reserve that
 * span as well as the compressed image, and put the initrd above both.
 */
#include "boot.h"
#include "boot_impl.h"
#include "layout.h"
#include "memory.h"

#include <errno.h>
#include <string.h>

/*
 * Setup header fields, as offsets in the file and in the zero page.
 * Widths: u8 SETUP_SECTS (0 means 4), JUMP_END (header ends at 0x202 +
 * it), TYPE_OF_LOADER, LOADFLAGS, RELOCATABLE; u16 BOOT_FLAG, VERSION,
 * HEAP_END_PTR, XLOADFLAGS; u64 SETUP_DATA, PREF_ADDRESS; the rest u32.
 */
#define HDR_START		0x1F1
#define HDR_SETUP_SECTS		0x1F1
#define HDR_BOOT_FLAG		0x1FE
#define HDR_JUMP_END		0x201
#define HDR_VERSION		0x206
#define HDR_TYPE_OF_LOADER	0x210
#define HDR_LOADFLAGS		0x211
#define HDR_RAMDISK_IMAGE	0x218
#define HDR_RAMDISK_SIZE	0x21C
#define HDR_HEAP_END_PTR	0x224
#define HDR_CMD_LINE_PTR	0x228
#define HDR_INITRD_ADDR_MAX	0x22C	/* initrd's last byte */
#define HDR_KERNEL_ALIGNMENT	0x230
#define HDR_RELOCATABLE		0x234
#define HDR_XLOADFLAGS		0x236
#define HDR_CMDLINE_SIZE	0x238	/* longest line, without NUL */
#define HDR_SETUP_DATA		0x250
#define HDR_PREF_ADDRESS	0x258
#define HDR_INIT_SIZE		0x260
#define HDR_END_212		0x268	/* end of the 2.12 fields */
#define HDR_END_MAX		0x290	/* end of the header area */

/*
 * Zero page fields outside the setup header.  acpi_rsdp_addr is only
 * read by protocol 2.14+ kernels, but older ones ignore it: always set.
 */
#define BP_ACPI_RSDP_ADDR	0x070	/* u64 */
#define BP_EXT_RAMDISK_IMAGE	0x0C0	/* u32 */
#define BP_EXT_RAMDISK_SIZE	0x0C4	/* u32 */
#define BP_EXT_CMD_LINE_PTR	0x0C8	/* u32 */
#define BP_E820_ENTRIES		0x1E8	/* u8 */
#define BP_E820_TABLE		0x2D0	/* 20-byte entries */
#define BP_E820_ENTRY_SIZE	20

#define LOADED_HIGH		0x01
#define CAN_USE_HEAP		0x80
#define XLF_KERNEL_64		0x0001
#define PROTO_MIN		0x020C
#define SECTOR			512
#define STARTUP_64		0x200	/* 64-bit entry offset */

_Static_assert(BP_E820_TABLE + BOOT_E820_MAX * BP_E820_ENTRY_SIZE <=
	       BOOT_PAGE_SIZE, "e820 table overflows the zero page");

struct bz_image {
	const uint8_t *data;
	size_t len;
	uint16_t version;
	size_t setup_size;	/* real-mode part, in bytes */
	uint64_t ksize;		/* protected-mode kernel, in bytes */
	uint64_t load;		/* where that kernel goes */
	uint64_t end;		/* end of all the kernel needs */
};

static int bz_check_header(struct bz_image *bz, char *err, size_t errlen)
{
	const uint8_t *k = bz->data;
	unsigned sects = k[HDR_SETUP_SECTS] ? k[HDR_SETUP_SECTS] : 4;

	bz->setup_size = (size_t)(sects + 1) * SECTOR;
	if (bz->len <= bz->setup_size) {
		boot_err(err, errlen,
			 "truncated bzImage (%u setup sectors need more than "
			 "%zu bytes, file has %zu)",
			 sects, bz->setup_size, bz->len);
		return -ENOEXEC;
	}
	/* setup_size >= 1024 > HDR_END_MAX: the whole header is readable. */
	bz->ksize = bz->len - bz->setup_size;
	bz->version = boot_le16(k + HDR_VERSION);
	if (bz->version < PROTO_MIN) {
		boot_err(err, errlen,
			 "bzImage boot protocol %u.%02u too old (need 2.12 "
			 "for 64-bit entry)",
			 bz->version >> 8, bz->version & 0xFF);
		return -ENOEXEC;
	}
	if (!(boot_le16(k + HDR_XLOADFLAGS) & XLF_KERNEL_64)) {
		boot_err(err, errlen,
			 "bzImage has no 64-bit entry point (XLF_KERNEL_64 "
			 "not set)");
		return -ENOEXEC;
	}
	if (!(k[HDR_LOADFLAGS] & LOADED_HIGH)) {
		boot_err(err, errlen,
			 "zImage (kernel not loaded high) is not supported");
		return -ENOEXEC;
	}
	if (bz->ksize <= STARTUP_64) {
		boot_err(err, errlen,
			 "bzImage kernel of %llu bytes is too small for the "
			 "64-bit entry at +0x%x",
			 (unsigned long long)bz->ksize, STARTUP_64);
		return -ENOEXEC;
	}
	return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/*
 * Where the kernel will decompress itself to (*run) and the end of all it
 * needs, if its compressed image is at load.
 */
static uint64_t bz_span_end(const struct bz_image *bz, uint64_t load,
			    uint64_t *run)
{
	const uint8_t *k = bz->data;
	uint64_t pref = boot_le64(k + HDR_PREF_ADDRESS);
	uint64_t init = boot_le32(k + HDR_INIT_SIZE);

	*run = pref;
	if (k[HDR_RELOCATABLE]) {
		*run = align_up(load, boot_le32(k + HDR_KERNEL_ALIGNMENT));
		if (*run < pref)
			*run = pref;
	}
	if (*run < load)
		*run = load;
	/* Operands are < 2^33 here (load < 4 GiB, pref checked by caller). */
	uint64_t end = load + bz->ksize;
	return *run + init > end ? *run + init : end;
}

static bool bz_fits(uint64_t load, uint64_t end, uint64_t ram_end)
{
	return load >= KZ_GPA_HIGH_RAM && end <= ram_end && load < end;
}

static int bz_place(const struct vmm_mem *mem, struct bz_image *bz, char *err,
		    size_t errlen)
{
	const uint8_t *k = bz->data;
	uint64_t ram_end = boot_low_ram_end(mem);
	uint64_t pref = boot_le64(k + HDR_PREF_ADDRESS);
	uint32_t align = boot_le32(k + HDR_KERNEL_ALIGNMENT);
	uint64_t run;
	char ksz[32], isz[32];

	if (k[HDR_RELOCATABLE] && (align == 0 || (align & (align - 1)))) {
		boot_err(err, errlen,
			 "bzImage kernel_alignment 0x%x is not a power of two",
			 align);
		return -ENOEXEC;
	}
	if (pref >= KZ_GPA_4G) {
		boot_err(err, errlen,
			 "bzImage pref_address 0x%llx is above 4 GiB",
			 (unsigned long long)pref);
		return -ENOEXEC;
	}
	bz->load = KZ_GPA_HIGH_RAM;
	if (k[HDR_RELOCATABLE] && pref >= KZ_GPA_HIGH_RAM &&
	    !(pref & (align - 1)) &&
	    bz_fits(pref, bz_span_end(bz, pref, &run), ram_end))
		bz->load = pref;
	bz->end = bz_span_end(bz, bz->load, &run);
	if (!bz_fits(bz->load, bz->end, ram_end)) {
		boot_err(err, errlen,
			 "bzImage needs RAM up to 0x%llx (%s kernel at 0x%llx, "
			 "%s init_size at 0x%llx) but guest RAM below 4 GiB "
			 "ends at 0x%llx",
			 (unsigned long long)bz->end,
			 boot_size_str(bz->ksize, ksz, sizeof(ksz)),
			 (unsigned long long)bz->load,
			 boot_size_str(boot_le32(k + HDR_INIT_SIZE), isz,
				       sizeof(isz)),
			 (unsigned long long)run, (unsigned long long)ram_end);
		return -ENOMEM;
	}
	return 0;
}

/* Highest address + 1 the initrd may reach. */
static uint64_t bz_initrd_limit(const struct bz_image *bz)
{
	uint64_t max = (uint64_t)boot_le32(bz->data + HDR_INITRD_ADDR_MAX) + 1;

	return max < KZ_GPA_MMIO_HOLE ? max : KZ_GPA_MMIO_HOLE;
}

static void bz_fill_e820(const struct vmm_mem *mem, uint8_t *zp)
{
	struct vmm_e820_entry map[BOOT_E820_MAX];
	unsigned n = vmm_mem_e820(mem, map, BOOT_E820_MAX);

	zp[BP_E820_ENTRIES] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = zp + BP_E820_TABLE + i * BP_E820_ENTRY_SIZE;
		boot_put64(e, map[i].addr);
		boot_put64(e + 8, map[i].size);
		boot_put32(e + 16, map[i].type);
	}
}

static void bz_fill_zero_page(const struct vmm_mem *mem,
			      const struct vmm_boot_config *cfg,
			      const struct bz_image *bz, uint64_t initrd_gpa,
			      uint8_t *zp)
{
	size_t hdr_end = 0x202 + (size_t)bz->data[HDR_JUMP_END];

	/* Copy at least the 2.12 fields the kernel reads from here. */
	if (hdr_end < HDR_END_212)
		hdr_end = HDR_END_212;
	if (hdr_end > HDR_END_MAX)
		hdr_end = HDR_END_MAX;
	memset(zp, 0, BOOT_PAGE_SIZE);
	memcpy(zp + HDR_START, bz->data + HDR_START, hdr_end - HDR_START);

	zp[HDR_TYPE_OF_LOADER] = 0xFF;
	zp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
	boot_put16(zp + HDR_HEAP_END_PTR, 0xFE00);
	boot_put32(zp + HDR_CMD_LINE_PTR, (uint32_t)KZ_GPA_CMDLINE);
	boot_put32(zp + BP_EXT_CMD_LINE_PTR, (uint32_t)(KZ_GPA_CMDLINE >> 32));
	boot_put32(zp + HDR_RAMDISK_IMAGE, (uint32_t)initrd_gpa);
	boot_put32(zp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd_gpa >> 32));
	/* initrd_len fits: the initrd is placed below 4 GiB. */
	uint64_t isize = initrd_gpa ? cfg->initrd_len : 0;
	boot_put32(zp + HDR_RAMDISK_SIZE, (uint32_t)isize);
	boot_put32(zp + BP_EXT_RAMDISK_SIZE, (uint32_t)(isize >> 32));
	boot_put64(zp + HDR_SETUP_DATA, 0);
	boot_put64(zp + BP_ACPI_RSDP_ADDR, cfg->rsdp_gpa);
	bz_fill_e820(mem, zp);
}

/* boot_flag 0xAA55 at 0x1FE and the "HdrS" signature at 0x202. */
bool vmm_boot_is_bzimage(const uint8_t *k, size_t len)
{
	return len >= 0x206 && boot_le16(k + 0x1FE) == 0xAA55 &&
	       memcmp(k + 0x202, "HdrS", 4) == 0;
}

int vmm_bzimage_pref_address(const uint8_t *k, size_t len, uint64_t *pref)
{
	if (len < VMM_BZIMAGE_HDR_LEN || !vmm_boot_is_bzimage(k, len) ||
	    boot_le16(k + HDR_VERSION) < 0x020A)
		return -ENOEXEC;
	*pref = boot_le64(k + HDR_PREF_ADDRESS);
	return 0;
}

int vmm_boot_load_bzimage(struct vmm_mem *mem,
			  const struct vmm_boot_config *cfg,
			  struct vmm_boot_entry *entry, char *err,
			  size_t errlen)
{
	struct bz_image bz = { .data = cfg->kernel, .len = cfg->kernel_len };
	uint8_t zp[BOOT_PAGE_SIZE];
	uint64_t initrd_gpa;
	int rc;

	if (bz.len < HDR_VERSION + 2 ||
	    boot_le16(bz.data + HDR_BOOT_FLAG) != 0xAA55 ||
	    memcmp(bz.data + 0x202, "HdrS", 4) != 0) {
		boot_err(err, errlen, "no Linux boot header (HdrS)");
		return -ENOEXEC;
	}
	rc = bz_check_header(&bz, err, errlen);
	if (!rc)
		rc = bz_place(mem, &bz, err, errlen);
	if (!rc)
		rc = boot_cmdline_load(mem, cfg,
				       boot_le32(bz.data + HDR_CMDLINE_SIZE),
				       err, errlen);
	if (rc)
		return rc;
	/* bz_place() checked [load, end) lies in RAM. */
	if (vmm_mem_write(mem, bz.load, bz.data + bz.setup_size, bz.ksize)) {
		boot_err(err, errlen, "kernel at 0x%llx does not fit in RAM",
			 (unsigned long long)bz.load);
		return -EFAULT;
	}
	rc = boot_initrd_load(mem, cfg, bz.end, bz_initrd_limit(&bz),
			      &initrd_gpa, err, errlen);
	if (rc)
		return rc;
	bz_fill_zero_page(mem, cfg, &bz, initrd_gpa, zp);
	if (vmm_mem_write(mem, KZ_GPA_ZERO_PAGE, zp, sizeof(zp))) {
		boot_err(err, errlen,
			 "guest RAM too small for the zero page at 0x%llx",
			 KZ_GPA_ZERO_PAGE);
		return -ENOMEM;
	}

	*entry = (struct vmm_boot_entry){
		.kind = VMM_BOOT_LINUX64,
		.rip = bz.load + STARTUP_64,
		.arg = KZ_GPA_ZERO_PAGE,
		.kernel_lo = bz.load,
		.kernel_hi = bz.end,
		.kernel_vaddr = 0,
	};
	return 0;
}
