/*
 * The vmcore reader: a core file as a read-only target (debug/target.h).
 *
 * kzdb's postmortem mode and the tests open dumps with vmcore_open().
 * Registers come from our KZ_NT_CPU notes when present, else from the
 * general registers of NT_PRSTATUS (any x86-64 ELF core: gdb's, QEMU's
 * dump-guest-memory).  Physical memory comes from the PT_LOADs by
 * p_paddr; the same physical range may appear several times (one PT_LOAD
 * per virtual mapping), so the segments are sorted and trimmed into one
 * list without overlaps.  A page that lies in guest RAM (KZ_NT_RAM) but
 * in no segment was all zero when the dump was taken and reads as zeros.
 *
 * The file is untrusted input: every offset and size is checked against
 * the file before use, and nothing is trusted to be aligned.  Run control
 * and writes answer -ENOTSUP.
 */
#include "vmcore.h"
#include "target.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CPUS	4096
#define MAX_LOADS	(1u << 22)
#define MAX_RAM		64

struct seg {
	uint64_t pa, filesz, memsz, off;
};

struct rcpu {
	bool have_full;		/* from KZ_NT_CPU */
	struct kz_regs regs;
	uint64_t xsave_off;		/* in the file */
	uint32_t xsave_size;		/* 0 when none */
	uint64_t fx_off;		/* NT_PRFPREG, 0 when none */
};

struct vmcore {
	const uint8_t *map;
	size_t len;
	bool mapped;		/* ours to munmap */
	struct seg *segs;
	size_t nsegs;
	struct rcpu *cpus;
	unsigned ncpus;
	uint64_t ram[MAX_RAM][2];
	unsigned nram;
	const char *zone_text;	/* the zone note, copied and NUL-terminated */
	char *zone_copy;
	const char *vmcoreinfo;
	size_t vmcoreinfo_len;
	char field[512];	/* vmcore_field's answer */
};

static const struct kz_target_ops vmcore_ops;

static struct vmcore *vc(struct kz_target *t)
{
	return t->priv;
}

static bool in_file(const struct vmcore *c, uint64_t off, uint64_t len)
{
	return off <= c->len && len <= c->len - off;
}

/* ---- target operations ---- */

static unsigned vc_ncpus(struct kz_target *t)
{
	return vc(t)->ncpus;
}

static int vc_get_regs(struct kz_target *t, unsigned cpu, struct kz_regs *r)
{
	struct vmcore *c = vc(t);
	if (cpu >= c->ncpus)
		return -EINVAL;
	*r = c->cpus[cpu].regs;
	return 0;
}

static int vc_get_fpu(struct kz_target *t, unsigned cpu, struct kz_fpu *f)
{
	struct vmcore *c = vc(t);
	if (cpu >= c->ncpus)
		return -EINVAL;
	const struct rcpu *p = &c->cpus[cpu];
	memset(f, 0, sizeof(*f));
	if (p->xsave_size) {
		f->size = p->xsave_size;
		memcpy(f->xsave, c->map + p->xsave_off, p->xsave_size);
		return 0;
	}
	if (p->fx_off) {
		f->size = 512;
		memcpy(f->xsave, c->map + p->fx_off, 512);
		return 0;
	}
	return -ENODATA;
}

static bool in_ram(const struct vmcore *c, uint64_t pa, uint64_t len)
{
	for (unsigned i = 0; i < c->nram; i++) {
		uint64_t b = c->ram[i][0], s = c->ram[i][1];
		if (pa >= b && pa - b < s && len <= s - (pa - b))
			return true;
	}
	return false;
}

/* The first segment ending above pa (segments sorted, disjoint). */
static size_t seg_find(const struct vmcore *c, uint64_t pa)
{
	size_t lo = 0, hi = c->nsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct seg *s = &c->segs[mid];
		if (s->pa + s->memsz <= pa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int vc_read_phys(struct kz_target *t, uint64_t pa, void *buf,
			size_t len)
{
	struct vmcore *c = vc(t);
	uint8_t *p = buf;
	if (len && pa + len - 1 < pa)
		return -EFAULT;
	size_t i = seg_find(c, pa);
	while (len) {
		const struct seg *s = i < c->nsegs ? &c->segs[i] : NULL;
		if (s && pa >= s->pa) {
			/* Inside segment s. */
			uint64_t rel = pa - s->pa;
			uint64_t n = s->memsz - rel;
			if (n > len)
				n = len;
			uint64_t nfile = rel < s->filesz ? s->filesz - rel : 0;
			if (nfile > n)
				nfile = n;
			/* Only bytes the file holds: past them the offset
			 * may point anywhere, so no pointer is formed. */
			if (nfile)
				memcpy(p, c->map + s->off + rel, (size_t)nfile);
			memset(p + nfile, 0, (size_t)(n - nfile));
			p += n;
			pa += n;
			len -= (size_t)n;
			i++;
			continue;
		}
		/* A hole: zero pages of RAM, or not memory at all. */
		uint64_t n = s ? s->pa - pa : len;
		if (n > len)
			n = len;
		if (!in_ram(c, pa, n))
			return -EFAULT;
		memset(p, 0, (size_t)n);
		p += n;
		pa += n;
		len -= (size_t)n;
	}
	return 0;
}

static int vc_ro(void)
{
	return -ENOTSUP;
}

static int vc_set_regs(struct kz_target *t, unsigned cpu,
		       const struct kz_regs *r)
{
	(void)t; (void)cpu; (void)r;
	return vc_ro();
}

static int vc_set_fpu(struct kz_target *t, unsigned cpu,
		      const struct kz_fpu *f)
{
	(void)t; (void)cpu; (void)f;
	return vc_ro();
}

static int vc_write_phys(struct kz_target *t, uint64_t pa, const void *buf,
			 size_t len)
{
	(void)t; (void)pa; (void)buf; (void)len;
	return vc_ro();
}

static int vc_run(struct kz_target *t)
{
	(void)t;
	return vc_ro();
}

static int vc_step(struct kz_target *t, unsigned cpu)
{
	(void)t; (void)cpu;
	return vc_ro();
}

static int vc_break(struct kz_target *t, enum kz_break_kind kind,
		    uint64_t addr, unsigned len)
{
	(void)t; (void)kind; (void)addr; (void)len;
	return vc_ro();
}

static int vc_wait(struct kz_target *t, struct kz_event *ev, int timeout_ms)
{
	(void)t; (void)timeout_ms;
	ev->kind = KZ_EVENT_NONE;
	return vc_ro();
}

static void vc_free(struct vmcore *c)
{
	if (!c)
		return;
	if (c->mapped)
		munmap((void *)c->map, c->len);
	free(c->segs);
	free(c->cpus);
	free(c->zone_copy);
	free(c);
}

static void vc_close(struct kz_target *t)
{
	vc_free(vc(t));
	t->priv = NULL;
	t->ops = NULL;
}

static const struct kz_target_ops vmcore_ops = {
	.name = "vmcore",
	.ncpus = vc_ncpus,
	.get_regs = vc_get_regs,
	.set_regs = vc_set_regs,
	.get_fpu = vc_get_fpu,
	.set_fpu = vc_set_fpu,
	.read_phys = vc_read_phys,
	.write_phys = vc_write_phys,
	.stop = vc_run,
	.resume = vc_run,
	.step = vc_step,
	.set_break = vc_break,
	.clear_break = vc_break,
	.wait_event = vc_wait,
	.close = vc_close,
};

/* ---- parsing ---- */

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static void regs_from_prstatus(struct kz_regs *r, const uint8_t *reg)
{
	uint64_t u[27];
	memcpy(u, reg, sizeof(u));
	memset(r, 0, sizeof(*r));
	r->r15 = u[0]; r->r14 = u[1]; r->r13 = u[2]; r->r12 = u[3];
	r->rbp = u[4]; r->rbx = u[5]; r->r11 = u[6]; r->r10 = u[7];
	r->r9 = u[8]; r->r8 = u[9]; r->rax = u[10]; r->rcx = u[11];
	r->rdx = u[12]; r->rsi = u[13]; r->rdi = u[14]; r->rip = u[16];
	r->cs.selector = (uint16_t)u[17]; r->rflags = u[18]; r->rsp = u[19];
	r->ss.selector = (uint16_t)u[20]; r->fs_base = u[21];
	r->gs_base = u[22]; r->ds.selector = (uint16_t)u[23];
	r->es.selector = (uint16_t)u[24]; r->fs.selector = (uint16_t)u[25];
	r->gs.selector = (uint16_t)u[26];
	r->fs.base = r->fs_base;
	r->gs.base = r->gs_base;
}

static void regs_from_kz(struct kz_regs *r, const struct vmcore_cpu *k)
{
	uint64_t *g[18] = { &r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi,
			    &r->rdi, &r->rbp, &r->rsp, &r->r8, &r->r9,
			    &r->r10, &r->r11, &r->r12, &r->r13, &r->r14,
			    &r->r15, &r->rip, &r->rflags };
	struct kz_seg *s[8] = { &r->cs, &r->ds, &r->es, &r->fs, &r->gs,
				&r->ss, &r->tr, &r->ldtr };
	memset(r, 0, sizeof(*r));
	for (unsigned i = 0; i < 18; i++)
		*g[i] = k->gpr[i];
	for (unsigned i = 0; i < 8; i++)
		*s[i] = (struct kz_seg){ k->seg[i].base, k->seg[i].limit,
					 k->seg[i].selector, k->seg[i].attr };
	r->gdt.base = k->gdt_base; r->gdt.limit = k->gdt_limit;
	r->idt.base = k->idt_base; r->idt.limit = k->idt_limit;
	r->cr0 = k->cr0; r->cr2 = k->cr2; r->cr3 = k->cr3; r->cr4 = k->cr4;
	r->cr8 = k->cr8; r->efer = k->efer; r->apic_base = k->apic_base;
	r->fs_base = k->fs_base; r->gs_base = k->gs_base;
	r->kernel_gs_base = k->kernel_gs_base;
	memcpy(r->dr, k->dr, sizeof(r->dr));
}

static int add_cpu(struct vmcore *c, unsigned *cap)
{
	if (c->ncpus >= MAX_CPUS)
		return -E2BIG;
	if (c->ncpus == *cap) {
		unsigned n = *cap ? *cap * 2 : 8;
		struct rcpu *p = realloc(c->cpus, n * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->cpus = p;
		*cap = n;
	}
	memset(&c->cpus[c->ncpus], 0, sizeof(c->cpus[0]));
	c->ncpus++;
	return 0;
}

static int parse_notes(struct vmcore *c, uint64_t off, uint64_t len,
		       unsigned *cap, unsigned *nkz, char *err, size_t errlen)
{
	uint64_t pos = 0;
	int rc;
	while (len - pos >= 12) {
		const uint8_t *h = c->map + off + pos;
		uint32_t namesz, descsz, type;
		memcpy(&namesz, h, 4);
		memcpy(&descsz, h + 4, 4);
		memcpy(&type, h + 8, 4);
		uint64_t name = pos + 12;
		uint64_t desc = name + ((namesz + 3ULL) & ~3ULL);
		uint64_t next = desc + ((descsz + 3ULL) & ~3ULL);
		if (desc > len || descsz > len - desc) {
			snprintf(err, errlen, "note at offset %llu runs past "
				 "its segment", (unsigned long long)(off + pos));
			return -EINVAL;
		}
		const char *nm = (const char *)c->map + off + name;
		const uint8_t *d = c->map + off + desc;
		bool core = namesz == 5 && memcmp(nm, "CORE", 5) == 0;
		bool kz = namesz == sizeof(VMCORE_NOTE_NAME) &&
			  memcmp(nm, VMCORE_NOTE_NAME, namesz) == 0;
		if (core && type == NT_PRSTATUS && descsz >= 112 + 27 * 8) {
			if ((rc = add_cpu(c, cap))) {
				snprintf(err, errlen, "too many NT_PRSTATUS notes");
				return rc;
			}
			struct rcpu *p = &c->cpus[c->ncpus - 1];
			regs_from_prstatus(&p->regs, d + 112);
		} else if (core && type == NT_PRFPREG && descsz >= 512 &&
			   c->ncpus) {
			c->cpus[c->ncpus - 1].fx_off = off + desc;
		} else if (kz && type == KZ_NT_CPU &&
			   descsz >= sizeof(struct vmcore_cpu)) {
			struct vmcore_cpu k;
			memcpy(&k, d, sizeof(k));
			/* In vCPU order, after that vCPU's NT_PRSTATUS. */
			if (k.version == VMCORE_CPU_VERSION && *nkz < c->ncpus &&
			    k.cpu == *nkz) {
				struct rcpu *p = &c->cpus[*nkz];
				regs_from_kz(&p->regs, &k);
				p->have_full = true;
				uint64_t xs = descsz - sizeof(k);
				if (k.xsave_size && k.xsave_size <= xs &&
				    k.xsave_size <= KZ_XSAVE_MAX) {
					p->xsave_off = off + desc + sizeof(k);
					p->xsave_size = k.xsave_size;
				}
				(*nkz)++;
			}
		} else if (kz && type == KZ_NT_ZONE && !c->zone_copy) {
			c->zone_copy = malloc((size_t)descsz + 1);
			if (!c->zone_copy)
				return -ENOMEM;
			memcpy(c->zone_copy, d, descsz);
			c->zone_copy[descsz] = 0;
			c->zone_text = c->zone_copy;
		} else if (kz && type == KZ_NT_RAM) {
			for (uint32_t i = 0; i + 16 <= descsz && c->nram < MAX_RAM;
			     i += 16) {
				c->ram[c->nram][0] = rd64(d + i);
				c->ram[c->nram][1] = rd64(d + i + 8);
				c->nram++;
			}
		} else if (namesz == 11 && memcmp(nm, "VMCOREINFO", 11) == 0) {
			c->vmcoreinfo = (const char *)d;
			c->vmcoreinfo_len = descsz;
		}
		if (next >= len)
			break;
		pos = next;
	}
	return 0;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	if (x->pa != y->pa)
		return x->pa < y->pa ? -1 : 1;
	return x->memsz > y->memsz ? -1 : x->memsz < y->memsz;
}

/* Sort, drop what an earlier segment covers, trim partial overlaps. */
static void segs_normalise(struct vmcore *c)
{
	qsort(c->segs, c->nsegs, sizeof(c->segs[0]), cmp_seg);
	size_t out = 0;
	uint64_t covered = 0;
	bool any = false;
	for (size_t i = 0; i < c->nsegs; i++) {
		struct seg s = c->segs[i];
		uint64_t end = s.pa + s.memsz;
		if (any && end <= covered)
			continue;
		if (any && s.pa < covered) {
			uint64_t cut = covered - s.pa;
			s.pa += cut;
			s.memsz -= cut;
			if (s.filesz > cut) {
				s.off += cut;
				s.filesz -= cut;
			} else {
				s.filesz = 0;	/* all zeros now; off unused */
			}
		}
		c->segs[out++] = s;
		covered = s.pa + s.memsz;
		any = true;
	}
	c->nsegs = out;
}

static int parse(struct vmcore *c, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	unsigned cap = 0, nkz = 0;
	int rc;

	if (c->len < sizeof(eh)) {
		snprintf(err, errlen, "too short for an ELF file");
		return -EINVAL;
	}
	memcpy(&eh, c->map, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
		snprintf(err, errlen, "not an ELF file");
		return -EINVAL;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_type != ET_CORE ||
	    eh.e_machine != EM_X86_64) {
		snprintf(err, errlen, "not an x86-64 ELF64 core file");
		return -EINVAL;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr)) {
		snprintf(err, errlen, "program header size %u, expected %zu",
			 eh.e_phentsize, sizeof(Elf64_Phdr));
		return -EINVAL;
	}
	uint64_t phnum = eh.e_phnum;
	if (phnum == PN_XNUM) {
		Elf64_Shdr sh0;
		if (eh.e_shoff == 0 || !in_file(c, eh.e_shoff, sizeof(sh0))) {
			snprintf(err, errlen, "program header count in a "
				 "section header that is not in the file");
			return -EINVAL;
		}
		memcpy(&sh0, c->map + eh.e_shoff, sizeof(sh0));
		phnum = sh0.sh_info;
	}
	if (phnum > MAX_LOADS ||
	    !in_file(c, eh.e_phoff, phnum * sizeof(Elf64_Phdr))) {
		snprintf(err, errlen, "program headers (%llu) lie outside the "
			 "file", (unsigned long long)phnum);
		return -EINVAL;
	}
	c->segs = calloc(phnum ? phnum : 1, sizeof(*c->segs));
	if (!c->segs)
		return -ENOMEM;
	for (uint64_t i = 0; i < phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, c->map + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_NOTE) {
			if (!in_file(c, ph.p_offset, ph.p_filesz)) {
				snprintf(err, errlen, "notes lie outside the file");
				return -EINVAL;
			}
			rc = parse_notes(c, ph.p_offset, ph.p_filesz, &cap, &nkz,
					 err, errlen);
			if (rc)
				return rc;
		} else if (ph.p_type == PT_LOAD && ph.p_memsz) {
			if (ph.p_filesz > ph.p_memsz ||
			    !in_file(c, ph.p_offset, ph.p_filesz) ||
			    ph.p_paddr + ph.p_memsz < ph.p_paddr) {
				snprintf(err, errlen, "load segment %llu lies "
					 "outside the file",
					 (unsigned long long)i);
				return -EINVAL;
			}
			c->segs[c->nsegs++] = (struct seg){
				ph.p_paddr, ph.p_filesz, ph.p_memsz, ph.p_offset };
		}
	}
	if (c->ncpus == 0) {
		snprintf(err, errlen, "no NT_PRSTATUS note: no registers");
		return -EINVAL;
	}
	segs_normalise(c);
	return 0;
}

static int open_common(struct vmcore *c, struct kz_target *t, char *err,
		       size_t errlen)
{
	int rc = parse(c, err, errlen);
	if (rc) {
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		vc_free(c);
		return rc;
	}
	t->ops = &vmcore_ops;
	t->priv = c;
	return 0;
}

int vmcore_open_mem(const void *buf, size_t len, struct kz_target *t,
		    char *err, size_t errlen)
{
	struct vmcore *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->map = buf;
	c->len = len;
	return open_common(c, t, err, errlen);
}

int vmcore_open(const char *path, struct kz_target *t, char *err,
		size_t errlen)
{
	struct stat st;
	int rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "%s: not a regular file", path);
		return -EINVAL;
	}
	if (st.st_size == 0) {
		close(fd);
		snprintf(err, errlen, "%s: empty file", path);
		return -EINVAL;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	struct vmcore *c = calloc(1, sizeof(*c));
	if (!c) {
		munmap(p, (size_t)st.st_size);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->map = p;
	c->len = (size_t)st.st_size;
	c->mapped = true;
	char e[256];
	rc = open_common(c, t, e, sizeof(e));
	if (rc)
		snprintf(err, errlen, "%s: %s", path, e);
	return rc;
}

bool vmcore_is(const struct kz_target *t)
{
	return t && t->ops == &vmcore_ops;
}

const char *vmcore_field(struct kz_target *t, const char *key)
{
	if (!vmcore_is(t))
		return NULL;
	struct vmcore *c = vc(t);
	size_t klen = strlen(key);
	for (const char *l = c->zone_text; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		if (n > klen && memcmp(l, key, klen) == 0 && l[klen] == '=') {
			snprintf(c->field, sizeof(c->field), "%.*s",
				 (int)(n - klen - 1), l + klen + 1);
			return c->field;
		}
		l = nl ? nl + 1 : NULL;
	}
	return NULL;
}

const char *vmcore_vmcoreinfo(struct kz_target *t, size_t *len)
{
	if (!vmcore_is(t) || !vc(t)->vmcoreinfo)
		return NULL;
	*len = vc(t)->vmcoreinfo_len;
	return vc(t)->vmcoreinfo;
}
