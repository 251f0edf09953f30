/*
 * PVH loader: an ELF64 x86-64 kernel with a XEN_ELFNOTE_PHYS32_ENTRY note.
 *
 * All checks (headers, note, every PT_LOAD against the file and guest RAM)
 * happen before the first byte is written to the guest.  Then PT_LOADs go
 * to p_paddr, and one page at KZ_GPA_PVH_INFO receives the hvm_start_info,
 * the memory map right after it and the module list (initrd) after that.
 */
#include "boot.h"
#include "boot_impl.h"
#include "layout.h"
#include "memory.h"

#include <errno.h>
#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "start_info is built with host structs: x86 hosts only");

/* ELF64 (System V gABI) sizes and offsets we read. */
#define ELF_EHDR_SIZE	64
#define ELF_PHDR_SIZE	56
#define ELF_SHDR_SIZE	64
#define ELFCLASS64	2
#define ELFDATA2LSB	1
#define ET_EXEC		2
#define EM_X86_64	62
#define PN_XNUM		0xFFFF
#define PT_LOAD		1
#define PT_NOTE		4
#define SHT_NOTE	7

#define XEN_ELFNOTE_PHYS32_ENTRY	18

/*
 * The start-of-day ABI of Xen's arch-x86/hvm/start_info.h, version 1:
 * little-endian, naturally aligned, addresses 0 meaning "absent".
 */
#define HVM_START_MAGIC		0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;		/* version 1 */
	uint32_t memmap_entries;	/* version 1 */
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;			/* e820 numbering */
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info ABI");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "modlist ABI");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "memmap ABI");
_Static_assert(sizeof(struct hvm_start_info) +
		       BOOT_E820_MAX * sizeof(struct hvm_memmap_table_entry) +
		       sizeof(struct hvm_modlist_entry) <=
	       BOOT_PAGE_SIZE,
	       "start_info page overflows");
_Static_assert(KZ_GPA_PVH_INFO + BOOT_PAGE_SIZE <= KZ_GPA_ZERO_PAGE,
	       "start_info page overlaps the zero page");

struct elf_image {
	const uint8_t *data;
	size_t len;
	uint64_t entry;
	uint64_t phoff, shoff;
	uint16_t phentsize, phnum, shentsize, shnum;
};

struct elf_phdr {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz, align;
};

static int elf_parse_header(struct elf_image *img, char *err, size_t errlen)
{
	const uint8_t *e = img->data;

	if (img->len < ELF_EHDR_SIZE) {
		boot_err(err, errlen,
			 "truncated ELF header (needs %d bytes, file has %zu)",
			 ELF_EHDR_SIZE, img->len);
		return -ENOEXEC;
	}
	if (memcmp(e, "\177ELF", 4) != 0) {
		boot_err(err, errlen, "not an ELF image");
		return -ENOEXEC;
	}
	if (e[4] != ELFCLASS64 || e[5] != ELFDATA2LSB) {
		boot_err(err, errlen,
			 "not a little-endian ELF64 image (class %u, data %u)",
			 e[4], e[5]);
		return -ENOEXEC;
	}
	if (boot_le16(e + 18) != EM_X86_64) {
		boot_err(err, errlen, "ELF machine %u is not x86-64",
			 boot_le16(e + 18));
		return -ENOEXEC;
	}
	if (boot_le16(e + 16) != ET_EXEC) {
		boot_err(err, errlen,
			 "ELF type %u is not an executable (ET_EXEC)",
			 boot_le16(e + 16));
		return -ENOEXEC;
	}
	img->entry = boot_le64(e + 24);
	img->phoff = boot_le64(e + 32);
	img->shoff = boot_le64(e + 40);
	img->phentsize = boot_le16(e + 54);
	img->phnum = boot_le16(e + 56);
	img->shentsize = boot_le16(e + 58);
	img->shnum = boot_le16(e + 60);
	return 0;
}

static int elf_check_phdrs(const struct elf_image *img, char *err,
			   size_t errlen)
{
	if (img->phnum == 0 || img->phnum == PN_XNUM) {
		boot_err(err, errlen, "ELF image has %s program headers",
			 img->phnum ? "an extended count of" : "no");
		return -ENOEXEC;
	}
	if (img->phentsize < ELF_PHDR_SIZE) {
		boot_err(err, errlen,
			 "ELF program header size %u is smaller than %d",
			 img->phentsize, ELF_PHDR_SIZE);
		return -ENOEXEC;
	}
	/* phnum * phentsize < 2^32: no overflow; phoff may be anything. */
	uint64_t size = (uint64_t)img->phnum * img->phentsize;
	if (!boot_range_ok(img->phoff, size, img->len)) {
		if (img->phoff > UINT64_MAX - size)
			boot_err(err, errlen,
				 "ELF program header table offset 0x%llx "
				 "is out of range",
				 (unsigned long long)img->phoff);
		else
			boot_err(err, errlen,
				 "truncated ELF program header table (needs "
				 "%llu bytes, file has %zu)",
				 (unsigned long long)(img->phoff + size),
				 img->len);
		return -ENOEXEC;
	}
	return 0;
}

/* Only after elf_check_phdrs(): the table is known to lie in the file. */
static void elf_phdr(const struct elf_image *img, unsigned i,
		     struct elf_phdr *ph)
{
	const uint8_t *p = img->data + img->phoff +
			   (uint64_t)i * img->phentsize;

	ph->type = boot_le32(p);
	ph->offset = boot_le64(p + 8);
	ph->paddr = boot_le64(p + 24);
	ph->filesz = boot_le64(p + 32);
	ph->memsz = boot_le64(p + 40);
	ph->align = boot_le64(p + 48);
}

static uint64_t note_pad(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

/*
 * Walk the notes in [off, off + len) of the file (already bounds-checked).
 * Returns 1 and sets *entry when the PVH note is found, 0 when not, or
 * -ENOEXEC for a malformed PVH note.
 */
static int notes_find_pvh(const uint8_t *p, uint64_t len, uint64_t align,
			  uint64_t *entry, char *err, size_t errlen)
{
	uint64_t pos = 0;

	while (len - pos >= 12) {
		uint32_t namesz = boot_le32(p + pos);
		uint32_t descsz = boot_le32(p + pos + 4);
		uint32_t type = boot_le32(p + pos + 8);
		uint64_t name = pos + 12;
		uint64_t desc = name + note_pad(namesz, align);
		uint64_t next = desc + note_pad(descsz, align);

		/* Sizes are < 2^32, so none of the sums above wrap. */
		if (desc > len || descsz > len - desc)
			return 0;	/* truncated note: stop looking */
		if (type == XEN_ELFNOTE_PHYS32_ENTRY &&
		    (namesz == 3 || namesz == 4) &&
		    memcmp(p + name, "Xen", 3) == 0 &&
		    (namesz == 3 || p[name + 3] == 0)) {
			if (descsz == 4) {
				*entry = boot_le32(p + desc);
			} else if (descsz == 8) {
				*entry = boot_le64(p + desc);
			} else {
				boot_err(err, errlen,
					 "PVH entry note has %u bytes of "
					 "data (expected 4 or 8)",
					 descsz);
				return -ENOEXEC;
			}
			return 1;
		}
		if (next >= len)
			break;
		pos = next;
	}
	return 0;
}

static uint64_t note_align(uint64_t a)
{
	return a == 8 ? 8 : 4;
}

static int pvh_find_in_segments(const struct elf_image *img, uint64_t *entry,
				char *err, size_t errlen)
{
	for (unsigned i = 0; i < img->phnum; i++) {
		struct elf_phdr ph;

		elf_phdr(img, i, &ph);
		if (ph.type != PT_NOTE)
			continue;
		if (!boot_range_ok(ph.offset, ph.filesz, img->len)) {
			boot_err(err, errlen,
				 "note segment %u at offset 0x%llx+0x%llx "
				 "lies outside the file (%zu bytes)",
				 i, (unsigned long long)ph.offset,
				 (unsigned long long)ph.filesz, img->len);
			return -ENOEXEC;
		}
		int rc = notes_find_pvh(img->data + ph.offset, ph.filesz,
					note_align(ph.align), entry, err,
					errlen);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * Section headers are optional in an executable: a table that does not
 * fit the file is ignored, but a note section that does is bounds-checked
 * like a segment.
 */
static int pvh_find_in_sections(const struct elf_image *img, uint64_t *entry,
				char *err, size_t errlen)
{
	if (img->shentsize < ELF_SHDR_SIZE || img->shnum == 0 ||
	    !boot_range_ok(img->shoff, (uint64_t)img->shnum * img->shentsize,
			   img->len))
		return 0;
	for (unsigned i = 0; i < img->shnum; i++) {
		const uint8_t *s = img->data + img->shoff +
				   (uint64_t)i * img->shentsize;
		uint64_t off = boot_le64(s + 24), size = boot_le64(s + 32);

		if (boot_le32(s + 4) != SHT_NOTE)
			continue;
		if (!boot_range_ok(off, size, img->len)) {
			boot_err(err, errlen,
				 "note section %u at offset 0x%llx+0x%llx "
				 "lies outside the file (%zu bytes)",
				 i, (unsigned long long)off,
				 (unsigned long long)size, img->len);
			return -ENOEXEC;
		}
		int rc = notes_find_pvh(img->data + off, size,
					note_align(boot_le64(s + 48)), entry,
					err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

static int pvh_find_entry(const struct elf_image *img, uint64_t *entry,
			  char *err, size_t errlen)
{
	int rc = pvh_find_in_segments(img, entry, err, errlen);

	if (rc == 0)
		rc = pvh_find_in_sections(img, entry, err, errlen);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		boot_err(err, errlen,
			 "no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");
		return -ENOEXEC;
	}
	if (*entry >= KZ_GPA_4G) {
		boot_err(err, errlen,
			 "PVH entry 0x%llx is above 4 GiB",
			 (unsigned long long)*entry);
		return -ENOEXEC;
	}
	return 0;
}

static int pvh_check_load(const struct vmm_mem *mem,
			  const struct elf_image *img, unsigned i,
			  const struct elf_phdr *ph, char *err, size_t errlen)
{
	unsigned long long pa = ph->paddr, msz = ph->memsz;

	if (ph->filesz > ph->memsz) {
		boot_err(err, errlen,
			 "segment %u has p_filesz 0x%llx larger than p_memsz "
			 "0x%llx",
			 i, (unsigned long long)ph->filesz, msz);
		return -ENOEXEC;
	}
	if (!boot_range_ok(ph->offset, ph->filesz, img->len)) {
		boot_err(err, errlen,
			 "segment %u at file offset 0x%llx+0x%llx lies outside "
			 "the file (%zu bytes)",
			 i, (unsigned long long)ph->offset,
			 (unsigned long long)ph->filesz, img->len);
		return -ENOEXEC;
	}
	if (!vmm_mem_ptr(mem, ph->paddr, ph->memsz)) {
		boot_err(err, errlen,
			 "segment %u at 0x%llx+0x%llx lies outside guest RAM",
			 i, pa, msz);
		return -ENOMEM;
	}
	if (ph->paddr < KZ_GPA_HIGH_RAM) {
		boot_err(err, errlen,
			 "segment %u at 0x%llx+0x%llx overlaps the boot area "
			 "below 1 MiB",
			 i, pa, msz);
		return -ENOEXEC;
	}
	/* In RAM, so paddr + memsz does not wrap. */
	if (ph->paddr + ph->memsz > KZ_GPA_4G) {
		boot_err(err, errlen,
			 "segment %u at 0x%llx+0x%llx lies above 4 GiB, out of "
			 "reach of the 32-bit PVH entry",
			 i, pa, msz);
		return -ENOEXEC;
	}
	return 0;
}

/* Check every PT_LOAD and return the guest-physical span they cover. */
static int pvh_check_loads(const struct vmm_mem *mem,
			   const struct elf_image *img, uint64_t *lo,
			   uint64_t *hi, char *err, size_t errlen)
{
	*lo = UINT64_MAX;
	*hi = 0;
	for (unsigned i = 0; i < img->phnum; i++) {
		struct elf_phdr ph;

		elf_phdr(img, i, &ph);
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		int rc = pvh_check_load(mem, img, i, &ph, err, errlen);
		if (rc)
			return rc;
		if (ph.paddr < *lo)
			*lo = ph.paddr;
		if (ph.paddr + ph.memsz > *hi)
			*hi = ph.paddr + ph.memsz;
	}
	if (*hi == 0) {
		boot_err(err, errlen, "ELF image has no loadable segment");
		return -ENOEXEC;
	}
	return 0;
}

/* Every PT_LOAD was checked by pvh_check_loads(). */
static void pvh_copy_loads(struct vmm_mem *mem, const struct elf_image *img)
{
	for (unsigned i = 0; i < img->phnum; i++) {
		struct elf_phdr ph;

		elf_phdr(img, i, &ph);
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		uint8_t *dst = vmm_mem_ptr(mem, ph.paddr, ph.memsz);
		memcpy(dst, img->data + ph.offset, ph.filesz);
		memset(dst + ph.filesz, 0, ph.memsz - ph.filesz);
	}
}

static int pvh_write_start_info(struct vmm_mem *mem,
				const struct vmm_boot_config *cfg,
				uint64_t initrd_gpa, char *err, size_t errlen)
{
	struct vmm_e820_entry map[BOOT_E820_MAX];
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = 1,
		.cmdline_paddr = KZ_GPA_CMDLINE,
		.rsdp_paddr = cfg->rsdp_gpa,
	};
	uint8_t page[BOOT_PAGE_SIZE] = { 0 };
	size_t off = sizeof(si);
	unsigned n = vmm_mem_e820(mem, map, BOOT_E820_MAX);

	si.memmap_paddr = KZ_GPA_PVH_INFO + off;
	si.memmap_entries = n;
	for (unsigned i = 0; i < n; i++) {
		struct hvm_memmap_table_entry me = {
			.addr = map[i].addr,
			.size = map[i].size,
			.type = map[i].type,
		};
		memcpy(page + off, &me, sizeof(me));
		off += sizeof(me);
	}
	if (initrd_gpa) {
		struct hvm_modlist_entry mod = {
			.paddr = initrd_gpa,
			.size = cfg->initrd_len,
		};
		si.nr_modules = 1;
		si.modlist_paddr = KZ_GPA_PVH_INFO + off;
		memcpy(page + off, &mod, sizeof(mod));
	}
	memcpy(page, &si, sizeof(si));
	if (vmm_mem_write(mem, KZ_GPA_PVH_INFO, page, sizeof(page))) {
		boot_err(err, errlen,
			 "guest RAM too small for start_info at 0x%llx",
			 KZ_GPA_PVH_INFO);
		return -ENOMEM;
	}
	return 0;
}

int vmm_boot_load_pvh(struct vmm_mem *mem, const struct vmm_boot_config *cfg,
		      struct vmm_boot_entry *entry, char *err, size_t errlen)
{
	struct elf_image img = { .data = cfg->kernel, .len = cfg->kernel_len };
	uint64_t pvh_entry = 0, lo, hi, initrd_gpa;
	int rc;

	rc = elf_parse_header(&img, err, errlen);
	if (!rc)
		rc = elf_check_phdrs(&img, err, errlen);
	if (!rc)
		rc = pvh_find_entry(&img, &pvh_entry, err, errlen);
	if (!rc)
		rc = pvh_check_loads(mem, &img, &lo, &hi, err, errlen);
	if (rc)
		return rc;
	if (pvh_entry < lo || pvh_entry >= hi) {
		boot_err(err, errlen,
			 "PVH entry 0x%llx lies outside the loaded segments "
			 "(0x%llx-0x%llx)",
			 (unsigned long long)pvh_entry, (unsigned long long)lo,
			 (unsigned long long)hi);
		return -ENOEXEC;
	}
	rc = boot_cmdline_load(mem, cfg, KZ_CMDLINE_MAX - 1, err, errlen);
	if (rc)
		return rc;
	pvh_copy_loads(mem, &img);
	rc = boot_initrd_load(mem, cfg, hi, KZ_GPA_MMIO_HOLE, &initrd_gpa, err,
			      errlen);
	if (!rc)
		rc = pvh_write_start_info(mem, cfg, initrd_gpa, err, errlen);
	if (rc)
		return rc;

	*entry = (struct vmm_boot_entry){
		.kind = VMM_BOOT_PVH,
		.rip = pvh_entry,
		.arg = KZ_GPA_PVH_INFO,
		.kernel_lo = lo,
		.kernel_hi = hi,
		.kernel_vaddr = img.entry,
	};
	return 0;
}
