/*
 * Backend-independent parts of the target API: the x86 page-table walker
 * and virtual memory access built on it.  Reads guest tables only through
 * ops->read_phys, so a table pointer the guest got wrong is an -EFAULT,
 * never a host fault.
 */
#include "target.h"

#include <errno.h>
#include <string.h>

#define CR0_PG		(1ULL << 31)
#define CR4_PSE		(1ULL << 4)
#define CR4_PAE		(1ULL << 5)
#define CR4_LA57	(1ULL << 12)
#define EFER_LMA	(1ULL << 10)
#define EFER_NXE	(1ULL << 11)

#define PTE_P		(1ULL << 0)
#define PTE_W		(1ULL << 1)
#define PTE_U		(1ULL << 2)
#define PTE_PS		(1ULL << 7)
#define PTE_NX		(1ULL << 63)
#define PTE_ADDR	0x000FFFFFFFFFF000ULL

static int read_entry(struct kz_target *t, uint64_t pa, unsigned size,
		      uint64_t *out)
{
	uint64_t v = 0;
	int rc = t->ops->read_phys(t, pa, &v, size);
	*out = v;
	return rc;
}

/* 64-bit-entry paging: long mode (4 or 5 levels) and 32-bit PAE (3). */
static int walk_pae(struct kz_target *t, const struct kz_regs *r,
		    uint64_t vaddr, unsigned levels, struct kz_xlate *out)
{
	uint64_t table = r->cr3 & (levels == 3 ? 0xFFFFFFE0ULL : PTE_ADDR);
	bool w = true, u = true, nx = false;
	unsigned shift = 12 + 9 * (levels - 1);

	for (unsigned lvl = levels; lvl >= 1; lvl--, shift -= 9) {
		/* PAE's top level has 4 entries, indexed by bits 31:30. */
		uint64_t idx = (vaddr >> shift) & (lvl == 3 && levels == 3 ? 3 : 511);
		uint64_t e;
		int rc = read_entry(t, table + idx * 8, 8, &e);
		if (rc)
			return rc;
		if (!(e & PTE_P))
			return -ENOENT;
		if (!(levels == 3 && lvl == 3)) {
			w = w && (e & PTE_W);
			u = u && (e & PTE_U);
		}
		nx = nx || ((r->efer & EFER_NXE) && (e & PTE_NX));
		bool leaf = lvl == 1 || ((lvl == 2 || lvl == 3) && (e & PTE_PS) &&
					 !(levels == 3 && lvl == 3));
		if (leaf) {
			uint64_t size = 1ULL << shift;
			out->pa = (e & PTE_ADDR & ~(size - 1)) | (vaddr & (size - 1));
			out->page_size = size;
			out->writable = w;
			out->user = u;
			out->nx = nx;
			return 0;
		}
		table = e & PTE_ADDR;
	}
	return -ENOENT;
}

/* Classic 32-bit paging, 4 KiB and (with CR4.PSE) 4 MiB pages. */
static int walk_32(struct kz_target *t, const struct kz_regs *r,
		   uint64_t vaddr, struct kz_xlate *out)
{
	uint64_t pde, pte;
	uint32_t va = (uint32_t)vaddr;
	int rc = read_entry(t, (r->cr3 & 0xFFFFF000) + (va >> 22) * 4, 4, &pde);
	if (rc)
		return rc;
	if (!(pde & PTE_P))
		return -ENOENT;
	if ((pde & PTE_PS) && (r->cr4 & CR4_PSE)) {
		out->pa = ((pde & 0xFFC00000) | ((pde & 0x1FE000) << 19)) |
			  (va & 0x3FFFFF);
		out->page_size = 4 << 20;
		out->writable = pde & PTE_W;
		out->user = pde & PTE_U;
		out->nx = false;
		return 0;
	}
	rc = read_entry(t, (pde & 0xFFFFF000) + ((va >> 12) & 1023) * 4, 4, &pte);
	if (rc)
		return rc;
	if (!(pte & PTE_P))
		return -ENOENT;
	out->pa = (pte & 0xFFFFF000) | (va & 0xFFF);
	out->page_size = 4096;
	out->writable = (pde & PTE_W) && (pte & PTE_W);
	out->user = (pde & PTE_U) && (pte & PTE_U);
	out->nx = false;
	return 0;
}

int kz_target_translate_regs(struct kz_target *t, const struct kz_regs *r,
			     uint64_t vaddr, struct kz_xlate *out)
{
	memset(out, 0, sizeof(*out));
	if (!(r->cr0 & CR0_PG)) {
		out->pa = vaddr;
		out->page_size = 4096;
		out->writable = true;
		return 0;
	}
	if (r->efer & EFER_LMA) {
		out->levels = (r->cr4 & CR4_LA57) ? 5 : 4;
		/* Non-canonical addresses have no translation. */
		unsigned bits = out->levels == 5 ? 57 : 48;
		int64_t sx = (int64_t)(vaddr << (64 - bits)) >> (64 - bits);
		if ((uint64_t)sx != vaddr)
			return -ENOENT;
		return walk_pae(t, r, vaddr, out->levels, out);
	}
	if (r->cr4 & CR4_PAE) {
		out->levels = 3;
		return walk_pae(t, r, vaddr & 0xFFFFFFFF, 3, out);
	}
	out->levels = 2;
	return walk_32(t, r, vaddr, out);
}

int kz_target_translate(struct kz_target *t, unsigned cpu, uint64_t vaddr,
			struct kz_xlate *out)
{
	struct kz_regs r;
	int rc = t->ops->get_regs(t, cpu, &r);
	if (rc)
		return rc;
	return kz_target_translate_regs(t, &r, vaddr, out);
}

static int access_virt(struct kz_target *t, unsigned cpu, uint64_t vaddr,
		       void *buf, size_t len, bool write)
{
	struct kz_regs r;
	uint8_t *p = buf;
	int rc = t->ops->get_regs(t, cpu, &r);
	if (rc)
		return rc;
	while (len) {
		struct kz_xlate x;
		rc = kz_target_translate_regs(t, &r, vaddr, &x);
		if (rc)
			return rc;
		uint64_t in_page = x.page_size - (x.pa & (x.page_size - 1));
		size_t n = len < in_page ? len : (size_t)in_page;
		rc = write ? t->ops->write_phys(t, x.pa, p, n)
			   : t->ops->read_phys(t, x.pa, p, n);
		if (rc)
			return rc;
		p += n;
		vaddr += n;
		len -= n;
	}
	return 0;
}

int kz_target_read_virt(struct kz_target *t, unsigned cpu, uint64_t vaddr,
			void *buf, size_t len)
{
	return access_virt(t, cpu, vaddr, buf, len, false);
}

int kz_target_write_virt(struct kz_target *t, unsigned cpu, uint64_t vaddr,
			 const void *buf, size_t len)
{
	return access_virt(t, cpu, vaddr, (void *)buf, len, true);
}
