/*
 * Where a randomized (KASLR) Linux kernel really runs, for the debugger's
 * symbols and gdb's qOffsets.
 *
 * The x86-64 kernel is linked to run at _text inside the kernel map
 * (__START_KERNEL_map, 0xffffffff80000000, one GiB); with KASLR the
 * decompressor moves it by a multiple of 2 MiB.  Early in boot
 * (__startup_64) Linux clears the kernel map's PMDs below _text, so from
 * then on the first mapped 2 MiB slot of the kernel map is the running
 * _text.  Before that (or a kernel that maps the whole range, like the
 * built-in guest) the first slot is the start of the map, which gives a
 * slide below zero for a kernel linked above it: reported as not known
 * yet, never as a wrong slide.
 *
 * The file's _text comes from its ELF symbols, or for a bzImage from its
 * header: the kernel is linked at the kernel map plus pref_address
 * (LOAD_PHYSICAL_ADDR) on x86-64.
 */
#include "kaslr.h"
#include "boot.h"
#include "kelf.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define KERNEL_MAP	0xffffffff80000000ULL
#define KERNEL_MAP_SIZE	(1ULL << 30)
#define SLOT		(2ULL << 20)
#define CR0_PG		(1ULL << 31)
#define EFER_LMA	(1ULL << 10)

/* A bzImage's kernel is linked at the kernel map plus its pref_address. */
static int bzimage_text(int fd, uint64_t *text)
{
	uint8_t h[VMM_BZIMAGE_HDR_LEN];
	uint64_t pref;
	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    vmm_bzimage_pref_address(h, sizeof(h), &pref) ||
	    pref == 0 || pref >= KERNEL_MAP_SIZE)
		return -ENOEXEC;
	*text = KERNEL_MAP + pref;
	return 0;
}

int kz_kernel_file_text(const char *path, uint64_t *text)
{
	struct kelf k;
	if (kelf_open(path, &k) == 0) {
		int rc = kelf_symbol(&k, "_text", text, NULL);
		kelf_close(&k);
		return rc;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = bzimage_text(fd, text);
	close(fd);
	return rc;
}

int kz_kernel_slide(struct kz_target *t, unsigned cpu, uint64_t file_text,
		    int64_t *slide)
{
	struct kz_regs r;
	if (file_text < KERNEL_MAP || file_text - KERNEL_MAP >= KERNEL_MAP_SIZE)
		return -EINVAL;
	int rc = t->ops->get_regs(t, cpu, &r);
	if (rc)
		return rc;
	if (!(r.cr0 & CR0_PG) || !(r.efer & EFER_LMA))
		return -EAGAIN;
	for (uint64_t va = KERNEL_MAP; va < KERNEL_MAP + KERNEL_MAP_SIZE;
	     va += SLOT) {
		struct kz_xlate x;
		if (kz_target_translate_regs(t, &r, va, &x))
			continue;
		uint64_t linked = file_text & ~(SLOT - 1);
		if (va < linked)
			return -EAGAIN;	/* the whole map: too early to tell */
		*slide = (int64_t)(va - linked);
		return 0;
	}
	return -ENOENT;
}
