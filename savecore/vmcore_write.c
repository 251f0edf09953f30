/*
 * The vmcore writer: a consistent machine in, an ELF core file out (the
 * layout is in vmcore.h).
 *
 * One pass over guest memory, region by region through vmm_mem_walk:
 * pages that are not all zero (vmm_page_is_zero, as suspend and
 * migration judge them) are written in large writes and recorded as
 * extents.  Because the number of extents is known only at the end, the
 * notes and the program headers go after the memory and the ELF header is
 * written last, at offset 0.
 *
 * Pages the host never gave the guest are zero without looking: where
 * the mapping is private and anonymous, /proc/self/pagemap says which
 * pages are neither present nor swapped, and those are skipped unread
 * (reading them would fault in the zero page for each, most of the time
 * of a large idle zone).  Memory goes to the file with O_DIRECT where the
 * file system takes it (every extent is whole pages, page-aligned in the
 * file), through a buffer of our own (write_mem): no page cache to fill
 * and write back, and nothing left for the caller's fsync but metadata.
 * Elsewhere it goes through the page cache, with writeback started behind
 * the writes (sync_file_range) so that the fsync is short.
 *
 * Called in a forked child whose copy of guest memory no longer changes
 * (savecore.c), or on a stopped machine; it never talks to KVM and never
 * prints.  In that child only this thread exists, and any lock another
 * kzhost thread held at the fork stays held forever: so nothing here
 * takes one.  Memory comes from mmap (wmem_*), not the heap (ASan's
 * allocator has no fork handlers; nor do all of libc's), /proc files are
 * read with read(2), not stdio, and the time is formatted by hand (glibc's
 * gmtime_r takes the time-zone lock).  Guest memory is untrusted:
 * page-table walks and the guest's message buffer are read through
 * bounds-checked helpers, with a budget.
 */
#include "vmcore.h"
#include "kelf.h"
#include "printk.h"
#include "memory.h"
#include "target.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE		4096ULL
#define WRITE_CHUNK	(16ULL << 20)
#define MAX_RUNS	8		/* linear higher-half mappings kept */
#define MIN_RUN		(2ULL << 20)
#define WALK_BUDGET	(4u << 20)	/* page-table entries looked at */
#define PM_BATCH	8192		/* pagemap entries read at a time */
#define PM_PRESENT	(1ULL << 63)
#define PM_SWAPPED	(1ULL << 62)

#define PTE_P		1ULL
#define PTE_PS		(1ULL << 7)
#define PTE_ADDR	0x000FFFFFFFFFF000ULL
#define CR0_PG		(1ULL << 31)
#define CR4_LA57	(1ULL << 12)
#define EFER_LMA	(1ULL << 10)

#define KZ_MSGBUF_MAGIC	0x626d7a6bU

struct extent {
	uint64_t pa, len, off;
};

struct run {
	uint64_t va, pa, len;
};

struct wctx {
	int fd;
	uint64_t off;			/* where the next write goes */
	const struct vmcore_src *src;
	struct extent *ext;
	size_t next, cap;
	struct run runs[MAX_RUNS];
	unsigned nruns;
	struct run cur;			/* run being grown by the walk */
	unsigned long budget;
	uint8_t vmcoreinfo[PAGE];
	size_t vmcoreinfo_len;
	uint64_t done, total, last_progress;
	uint64_t synced;		/* writeback started up to here */
	int fl;				/* the fd's flags, without O_DIRECT */
	uint8_t *bounce;		/* [WRITE_CHUNK], for O_DIRECT */
	bool direct;			/* O_DIRECT on for the memory */
	int pagemap;			/* /proc/self/pagemap, or -1 */
	uint64_t *pm;			/* [PM_BATCH]: pages [pm_first, +pm_n) */
	uint64_t pm_first;		/* host virtual page number */
	size_t pm_n;
	char *err;
	size_t errlen;
};

/* ---- memory for the writer: mmap, never the heap (see the top) ---- */

static size_t wmem_round(size_t len)
{
	return (len + PAGE - 1) & ~(size_t)(PAGE - 1);
}

/* len bytes, zeroed and page-aligned, or NULL. */
static void *wmem_alloc(size_t len)
{
	void *p = mmap(NULL, wmem_round(len ? len : 1), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* p (old bytes, from wmem_alloc or NULL) grown to len; NULL on failure,
 * p then still valid. */
static void *wmem_grow(void *p, size_t old, size_t len)
{
	if (!p)
		return wmem_alloc(len);
	void *q = mremap(p, wmem_round(old ? old : 1), wmem_round(len),
			 MREMAP_MAYMOVE);
	return q == MAP_FAILED ? NULL : q;
}

static void wmem_free(void *p, size_t len)
{
	if (p)
		munmap(p, wmem_round(len ? len : 1));
}

/* Start writeback of what was written since the last call, without waiting. */
static void writeback_start(struct wctx *w)
{
	if (w->off - w->synced < WRITE_CHUNK)
		return;
	(void)sync_file_range(w->fd, (off64_t)w->synced,
			      (off64_t)(w->off - w->synced),
			      SYNC_FILE_RANGE_WRITE);
	w->synced = w->off;
}

static void direct_off(struct wctx *w)
{
	if (w->direct)
		(void)fcntl(w->fd, F_SETFL, w->fl);
	w->direct = false;
}

static int write_all(struct wctx *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(w->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && w->direct) {
			/* Not for this file after all: the page cache. */
			direct_off(w);
			continue;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		w->off += (uint64_t)n;
	}
	return 0;
}

/*
 * Guest memory out.  With O_DIRECT, through a buffer of our own: pinning
 * the guest's pages for the device would make the kernel give this
 * process private copies of every page it writes (the pages are shared
 * with the running zone since the fork), which costs more than a copy
 * into memory that is already ours.
 */
static int write_mem(struct wctx *w, const uint8_t *p, uint64_t len)
{
	if (!w->direct || !w->bounce)
		return write_all(w, p, len);
	while (len) {
		size_t n = len < WRITE_CHUNK ? (size_t)len : (size_t)WRITE_CHUNK;
		memcpy(w->bounce, p, n);
		int rc = write_all(w, w->bounce, n);
		if (rc)
			return rc;
		p += n;
		len -= n;
	}
	return 0;
}

/* ---- which pages the host never backed ---- */

/*
 * True when every mapping over [p, p+len) is private and anonymous (no
 * file behind it whose pages could be absent from our page tables yet
 * hold data): only there does "not present, not swapped" mean zero.
 */
static bool private_anon(const void *p, uint64_t len)
{
	uintptr_t lo = (uintptr_t)p, hi = lo + len, at = lo;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	size_t cap = 64 * 1024, n = 0;
	char *maps = fd >= 0 ? wmem_alloc(cap) : NULL;
	bool whole = maps != NULL;
	while (whole) {
		if (n + 1 >= cap) {
			char *m = wmem_grow(maps, cap, cap * 2);
			if (!m) {
				whole = false;
				break;
			}
			maps = m;
			cap *= 2;
		}
		ssize_t got = read(fd, maps + n, cap - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			whole = false;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	if (fd >= 0)
		close(fd);
	if (!whole) {
		wmem_free(maps, cap);
		return false;
	}
	maps[n] = 0;
	for (char *line = maps, *nl; at < hi && *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			nl = line + strlen(line) - 1;
		uintptr_t s, e;
		char perms[8], path[256] = "";
		unsigned long long pgoff, inode;
		unsigned maj, min;
		char save = nl[1];
		nl[1] = 0;	/* sscanf reads this line only */
		int got = sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %llx %x:%x %llu %255[^\n]",
				 &s, &e, perms, &pgoff, &maj, &min, &inode, path);
		nl[1] = save;
		if (got < 7)
			break;
		if (e <= at)
			continue;
		if (s > at || perms[3] != 'p')
			break;
		const char *name = path;
		while (*name == ' ')
			name++;
		/* Anonymous: no inode; private hugetlb: its hidden file. */
		if (!(inode == 0 && (name[0] == 0 || name[0] == '[')) &&
		    strncmp(name, "/anon_hugepage", 14) != 0)
			break;
		at = e;
	}
	wmem_free(maps, cap);
	return at >= hi;
}

/* True when the host page at p is known zero without reading it. */
static bool never_backed(struct wctx *w, const uint8_t *p)
{
	uint64_t vpn = (uintptr_t)p / PAGE;
	if (w->pagemap < 0)
		return false;
	if (vpn < w->pm_first || vpn >= w->pm_first + w->pm_n) {
		ssize_t n = pread(w->pagemap, w->pm, PM_BATCH * 8,
				  (off_t)(vpn * 8));
		if (n < 8) {
			close(w->pagemap);
			w->pagemap = -1;
			return false;
		}
		w->pm_first = vpn;
		w->pm_n = (size_t)n / 8;
	}
	return !(w->pm[vpn - w->pm_first] & (PM_PRESENT | PM_SWAPPED));
}

/* ---- linear mappings from the guest's page tables ---- */

static void run_keep(struct wctx *w, const struct run *r)
{
	if (r->len < MIN_RUN)
		return;
	if (w->nruns < MAX_RUNS) {
		w->runs[w->nruns++] = *r;
		return;
	}
	unsigned small = 0;
	for (unsigned i = 1; i < MAX_RUNS; i++)
		if (w->runs[i].len < w->runs[small].len)
			small = i;
	if (w->runs[small].len < r->len)
		w->runs[small] = *r;
}

static void leaf(struct wctx *w, uint64_t va, uint64_t pa, uint64_t size)
{
	struct run *c = &w->cur;
	if (c->len && va == c->va + c->len && pa == c->pa + c->len) {
		c->len += size;
		return;
	}
	run_keep(w, c);
	*c = (struct run){ va, pa, size };
}

static void walk(struct wctx *w, uint64_t table, unsigned level,
		 uint64_t va_base, bool top)
{
	const uint64_t *t = vmm_mem_ptr(w->src->mem, table & PTE_ADDR, PAGE);
	unsigned shift = 12 + 9 * (level - 1);
	if (!t)
		return;
	/* At the top level only the higher half (indices 256-511). */
	for (unsigned i = top ? 256 : 0; i < 512; i++) {
		if (w->budget == 0)
			return;
		w->budget--;
		uint64_t e = t[i];
		if (!(e & PTE_P))
			continue;
		uint64_t va = va_base | ((uint64_t)i << shift);
		if (level == 1 || (level <= 3 && (e & PTE_PS))) {
			uint64_t size = 1ULL << shift;
			leaf(w, va, e & PTE_ADDR & ~(size - 1), size);
		} else if (level > 1) {
			walk(w, e, level - 1, va, false);
		}
	}
}

static void find_runs(struct wctx *w)
{
	const struct kz_regs *r = &w->src->regs[0];
	if (!w->src->ncpus || !(r->cr0 & CR0_PG) || !(r->efer & EFER_LMA))
		return;
	bool la57 = r->cr4 & CR4_LA57;
	w->budget = WALK_BUDGET;
	walk(w, r->cr3, la57 ? 5 : 4,
	     la57 ? 0xff00000000000000ULL : 0xffff000000000000ULL, true);
	run_keep(w, &w->cur);
}

/* ---- guest memory ---- */

/* A VMCOREINFO note at the start of a page, as Linux allocates it. */
static void look_for_vmcoreinfo(struct wctx *w, const uint8_t *p)
{
	uint32_t namesz, descsz, type;
	if (w->vmcoreinfo_len)
		return;
	memcpy(&namesz, p, 4);
	if (namesz != 11)
		return;
	memcpy(&descsz, p + 4, 4);
	memcpy(&type, p + 8, 4);
	if (type != 0 || memcmp(p + 12, "VMCOREINFO", 11) ||
	    descsz == 0 || descsz > PAGE - 24)
		return;
	memcpy(w->vmcoreinfo, p + 24, descsz);
	w->vmcoreinfo_len = descsz;
}

static int add_extent(struct wctx *w, uint64_t pa, uint64_t len, uint64_t off)
{
	if (w->next == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		struct extent *e = wmem_grow(w->ext, w->cap * sizeof(*e),
					     cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		w->ext = e;
		w->cap = cap;
	}
	w->ext[w->next++] = (struct extent){ pa, len, off };
	return 0;
}

static int write_region(const struct vmm_mem_region *r, void *arg)
{
	struct wctx *w = arg;
	uint64_t npages = r->size / PAGE;
	bool in = false;
	uint64_t start = 0, flushed = 0, data_end = 0, ext_off = 0;
	unsigned zeros = 0;
	int rc;

	w->pagemap = w->pm && private_anon(r->hva, r->size)
		? open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC) : -1;
	w->pm_n = 0;
	for (uint64_t i = 0; i <= npages; i++) {
		uint64_t pos = i * PAGE;
		bool zero = i == npages || never_backed(w, r->hva + pos) ||
			    vmm_page_is_zero(r->hva + pos);
		if (!zero) {
			look_for_vmcoreinfo(w, r->hva + pos);
			if (!in) {
				in = true;
				start = flushed = pos;
				ext_off = w->off;
			}
			zeros = 0;
			data_end = pos + PAGE;
			if (data_end - flushed >= WRITE_CHUNK) {
				rc = write_mem(w, r->hva + flushed,
					       data_end - flushed);
				if (rc)
					goto out;
				flushed = data_end;
				writeback_start(w);
			}
		} else if (in && (++zeros >= VMCORE_GAP_PAGES || i == npages)) {
			rc = write_mem(w, r->hva + flushed, data_end - flushed);
			if (rc)
				goto out;
			rc = add_extent(w, r->gpa + start, data_end - start,
					ext_off);
			if (rc)
				goto out;
			in = false;
			writeback_start(w);
		}
		if (i < npages) {
			w->done += PAGE;
			if (w->src->progress &&
			    w->done - w->last_progress >= (64ULL << 20)) {
				w->last_progress = w->done;
				w->src->progress(w->src->progress_arg, w->done,
						 w->total);
			}
		}
	}
	rc = 0;
out:
	if (w->pagemap >= 0)
		close(w->pagemap);
	w->pagemap = -1;
	return rc;
}

/* ---- reading the guest the way its CPU would ---- */

struct snap {
	struct kz_target t;
	const struct vmcore_src *src;
};

static int snap_read_phys(struct kz_target *t, uint64_t pa, void *buf,
			  size_t len)
{
	const struct snap *s = (const struct snap *)t;
	return vmm_mem_read(s->src->mem, pa, buf, len);
}

static const struct kz_target_ops snap_ops = {
	.name = "snapshot",
	.read_phys = snap_read_phys,
};

static int snap_read_virt(struct snap *s, uint64_t va, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		struct kz_xlate x;
		int rc = kz_target_translate_regs(&s->t, &s->src->regs[0], va, &x);
		if (rc)
			return rc;
		uint64_t in_page = x.page_size - (x.pa & (x.page_size - 1));
		size_t n = len < in_page ? len : (size_t)in_page;
		rc = vmm_mem_read(s->src->mem, x.pa, p, n);
		if (rc)
			return rc;
		p += n;
		va += n;
		len -= n;
	}
	return 0;
}

/*
 * The built-in guest's panic line, "panic[cpuN]: MSG", the last one in
 * its kz_msgbuf.  Any other guest: nothing.
 */
static int snap_vread(void *ctx, uint64_t va, void *buf, size_t len)
{
	return snap_read_virt(ctx, va, buf, len);
}

/* A Linux guest's panic line, from its printk ringbuffer (debug/printk.c). */
static void linux_panic(struct snap *s, const char *syms, char *out,
			size_t outlen)
{
	uint64_t rb, prb;
	if (kelf_file_symbol(syms, "prb", &prb) == 0) {
		if (snap_read_virt(s, prb, &rb, sizeof(rb)))
			return;
	} else if (kelf_file_symbol(syms, "printk_rb_static", &rb)) {
		return;
	}
	(void)kz_printk_panic(snap_vread, s, rb, out, outlen);
}

static void msgbuf_panic(const struct vmcore_src *src, char *out, size_t outlen)
{
	struct snap s = { { &snap_ops, NULL }, src };
	const char *syms = src->symbols_path ? src->symbols_path
					     : src->kernel_path;
	uint64_t va;
	struct { uint32_t magic, size; uint64_t windex; } h;

	if (!src->ncpus || !syms)
		return;
	if (kelf_file_symbol(syms, "kz_msgbuf", &va)) {
		linux_panic(&s, syms, out, outlen);
		return;
	}
	if (snap_read_virt(&s, va, &h, sizeof(h)) || h.magic != KZ_MSGBUF_MAGIC ||
	    h.size == 0 || h.size > (1u << 20) || (h.size & (h.size - 1)))
		return;
	char *ring = wmem_alloc(h.size), *text = wmem_alloc(h.size + 1);
	if (!ring || !text || snap_read_virt(&s, va + 16, ring, h.size))
		goto out;
	size_t n;
	if (h.windex <= h.size) {
		n = (size_t)h.windex;
		memcpy(text, ring, n);
	} else {
		size_t at = (size_t)(h.windex & (h.size - 1));
		memcpy(text, ring + at, h.size - at);
		memcpy(text + h.size - at, ring, at);
		n = h.size;
	}
	text[n] = 0;
	for (size_t i = 0; i < n; i++)
		if (text[i] == 0)
			text[i] = ' ';
	char *last = NULL;
	for (char *p = text; (p = strstr(p, "panic[cpu")) != NULL; p++)
		if (p == text || p[-1] == '\n')
			last = p;
	if (last) {
		char *msg = strstr(last, "]: ");
		char *nl = strchr(last, '\n');
		if (msg && (!nl || msg < nl)) {
			msg += 3;
			size_t len = nl ? (size_t)(nl - msg) : strlen(msg);
			if (len && msg[len - 1] == '\r')
				len--;
			snprintf(out, outlen, "%.*s", (int)len, msg);
		}
	}
out:
	wmem_free(ring, h.size);
	wmem_free(text, h.size + 1);
}

/* ---- notes ---- */

struct nbuf {
	uint8_t *p;
	size_t len, cap;
	bool failed;
};

static void nb_put(struct nbuf *b, const void *data, size_t len)
{
	if (b->failed)
		return;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len)
			cap *= 2;
		uint8_t *p = wmem_grow(b->p, b->cap, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void nb_pad4(struct nbuf *b)
{
	static const uint8_t z[4];
	nb_put(b, z, (4 - (b->len & 3)) & 3);
}

static void nb_note(struct nbuf *b, const char *name, uint32_t type,
		    const void *desc, size_t desclen, const void *desc2,
		    size_t desc2len)
{
	Elf64_Nhdr nh = { .n_namesz = (uint32_t)strlen(name) + 1,
			  .n_descsz = (uint32_t)(desclen + desc2len),
			  .n_type = type };
	nb_put(b, &nh, sizeof(nh));
	nb_put(b, name, nh.n_namesz);
	nb_pad4(b);
	nb_put(b, desc, desclen);
	if (desc2len)
		nb_put(b, desc2, desc2len);
	nb_pad4(b);
}

/* gdb's x86-64 struct elf_prstatus and struct elf_prpsinfo. */
struct prstatus {
	int32_t si_signo, si_code, si_errno;
	int16_t cursig;
	uint16_t pad0;
	uint64_t sigpend, sighold;
	int32_t pid, ppid, pgrp, sid;
	int64_t times[8];
	uint64_t reg[27];		/* struct user_regs_struct */
	int32_t fpvalid;
	uint32_t pad1;
};
_Static_assert(sizeof(struct prstatus) == 336, "elf_prstatus");

struct prpsinfo {
	char state, sname, zomb, nice;
	uint32_t pad0;
	uint64_t flag;
	uint32_t uid, gid;
	int32_t pid, ppid, pgrp, sid;
	char fname[16];
	char psargs[80];
};
_Static_assert(sizeof(struct prpsinfo) == 136, "elf_prpsinfo");

static void cpu_notes(struct nbuf *b, const struct vmcore_src *src, unsigned i)
{
	const struct kz_regs *r = &src->regs[i];
	const struct kz_fpu *f = src->fpu ? &src->fpu[i] : NULL;
	struct prstatus ps = { .pid = (int32_t)i + 1, .ppid = 0,
			       .pgrp = 1, .sid = 1 };
	const uint64_t ur[27] = {
		r->r15, r->r14, r->r13, r->r12, r->rbp, r->rbx, r->r11, r->r10,
		r->r9, r->r8, r->rax, r->rcx, r->rdx, r->rsi, r->rdi,
		UINT64_MAX /* orig_rax */, r->rip, r->cs.selector, r->rflags,
		r->rsp, r->ss.selector, r->fs_base, r->gs_base,
		r->ds.selector, r->es.selector, r->fs.selector, r->gs.selector,
	};
	memcpy(ps.reg, ur, sizeof(ur));
	ps.fpvalid = f && f->size >= 512;
	nb_note(b, "CORE", NT_PRSTATUS, &ps, sizeof(ps), NULL, 0);
	if (ps.fpvalid)
		nb_note(b, "CORE", NT_PRFPREG, f->xsave, 512, NULL, 0);
	/* The whole XSAVE area, for gdb's AVX registers: after PRSTATUS,
	 * where gdb looks for a thread's notes. */
	if (ps.fpvalid && f->size > 512)
		nb_note(b, "LINUX", NT_X86_XSTATE, f->xsave, f->size, NULL, 0);

	struct vmcore_cpu c = {
		.version = VMCORE_CPU_VERSION, .cpu = i,
		.gpr = { r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi,
			 r->rbp, r->rsp, r->r8, r->r9, r->r10, r->r11, r->r12,
			 r->r13, r->r14, r->r15, r->rip, r->rflags },
		.gdt_base = r->gdt.base, .idt_base = r->idt.base,
		.gdt_limit = r->gdt.limit, .idt_limit = r->idt.limit,
		.xsave_size = f ? f->size : 0,
		.cr0 = r->cr0, .cr2 = r->cr2, .cr3 = r->cr3, .cr4 = r->cr4,
		.cr8 = r->cr8, .efer = r->efer, .apic_base = r->apic_base,
		.fs_base = r->fs_base, .gs_base = r->gs_base,
		.kernel_gs_base = r->kernel_gs_base,
	};
	const struct kz_seg *segs[8] = { &r->cs, &r->ds, &r->es, &r->fs,
					 &r->gs, &r->ss, &r->tr, &r->ldtr };
	for (unsigned s = 0; s < 8; s++)
		c.seg[s] = (struct vmcore_seg){ segs[s]->base, segs[s]->limit,
						segs[s]->selector,
						segs[s]->attr };
	memcpy(c.dr, r->dr, sizeof(c.dr));
	nb_note(b, VMCORE_NOTE_NAME, KZ_NT_CPU, &c, sizeof(c),
		f ? f->xsave : NULL, f ? f->size : 0);
}

/* "key=value\n" with newlines in the value turned into spaces. */
static void kv(struct nbuf *b, const char *key, const char *val)
{
	nb_put(b, key, strlen(key));
	nb_put(b, "=", 1);
	for (const char *p = val ? val : ""; *p; p++) {
		char c = *p == '\n' || *p == '\r' ? ' ' : *p;
		nb_put(b, &c, 1);
	}
	nb_put(b, "\n", 1);
}

static void kvu(struct nbuf *b, const char *key, unsigned long long v)
{
	char s[32];
	snprintf(s, sizeof(s), "%llu", v);
	kv(b, key, s);
}

/*
 * t as 2026-11-22T07:14:08Z, without gmtime_r (see the top): the civil
 * date from the day number, as in Howard Hinnant's days_from_civil
 * inverse, for any t from 1970 on.
 */
static void utc_iso8601(time_t t, char *out, size_t outlen)
{
	uint64_t secs = t > 0 ? (uint64_t)t : 0;
	uint64_t days = secs / 86400, sod = secs % 86400;
	uint64_t z = days + 719468, era = z / 146097;
	uint64_t doe = z - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint64_t mp = (5 * doy + 2) / 153;
	unsigned day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	unsigned month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	uint64_t year = yoe + era * 400 + (month <= 2);
	snprintf(out, outlen, "%04llu-%02u-%02uT%02u:%02u:%02uZ",
		 (unsigned long long)year, month, day, (unsigned)(sod / 3600),
		 (unsigned)(sod / 60 % 60), (unsigned)(sod % 60));
}

static int ram_note(struct nbuf *b, const struct vmm_mem *m)
{
	uint64_t map[VMM_MEM_MAX_REGIONS * 2];
	unsigned n = 0;
	for (unsigned i = 0; i < m->nregions && i < VMM_MEM_MAX_REGIONS; i++) {
		map[n++] = m->regions[i].gpa;
		map[n++] = m->regions[i].size;
	}
	nb_note(b, VMCORE_NOTE_NAME, KZ_NT_RAM, map, n * 8, NULL, 0);
	return 0;
}

static void build_notes(struct wctx *w, struct nbuf *b, struct vmcore_stats *st)
{
	const struct vmcore_src *src = w->src;
	struct kelf k = { 0 };
	char build_id[130] = "";
	bool have_kernel = src->kernel_path &&
			   kelf_open(src->kernel_path, &k) == 0;

	if (have_kernel)
		(void)kelf_build_id(&k, build_id, sizeof(build_id));
	if (src->panic_msg)
		snprintf(st->panic_msg, sizeof(st->panic_msg), "%s",
			 src->panic_msg);
	else if (src->reason && strcmp(src->reason, "panic") == 0)
		msgbuf_panic(src, st->panic_msg, sizeof(st->panic_msg));
	if (have_kernel)
		kelf_close(&k);

	struct prpsinfo pi = { .state = 0, .sname = 'R', .pid = 1 };
	const char *base = src->kernel_path ? strrchr(src->kernel_path, '/') : NULL;
	snprintf(pi.fname, sizeof(pi.fname), "%s",
		 base ? base + 1 : src->kernel_path ? src->kernel_path : "guest");
	snprintf(pi.psargs, sizeof(pi.psargs), "zone %s", src->zone ? src->zone : "-");
	nb_note(b, "CORE", NT_PRPSINFO, &pi, sizeof(pi), NULL, 0);
	for (unsigned i = 0; i < src->ncpus; i++)
		cpu_notes(b, src, i);

	struct nbuf z = { 0 };
	char when[64], host[256] = "";
	utc_iso8601(src->when, when, sizeof(when));
	gethostname(host, sizeof(host) - 1);
	kv(&z, "zone", src->zone);
	kv(&z, "uuid", src->uuid);
	kv(&z, "kernel", src->kernel_path);
	kv(&z, "kernel-build-id", build_id[0] ? build_id : "none");
	kvu(&z, "time", (unsigned long long)src->when);
	kv(&z, "time-utc", when);
	kv(&z, "reason", src->reason ? src->reason : "requested");
	if (st->panic_msg[0])
		kv(&z, "panic", st->panic_msg);
	kv(&z, "host", host);
	kvu(&z, "vcpus", src->ncpus);
	kvu(&z, "memory", (unsigned long long)src->mem->ram_size);
	kvu(&z, "saved", (unsigned long long)st->saved_bytes);
	if (src->stop_us)
		kvu(&z, "stopped-us",
		    (unsigned long long)src->stop_us(src->stop_arg));
	kv(&z, "writer", "kzones savecore 1");
	nb_note(b, VMCORE_NOTE_NAME, KZ_NT_ZONE, z.p, z.len, NULL, 0);
	if (z.failed)
		b->failed = true;
	wmem_free(z.p, z.cap);
	ram_note(b, src->mem);
	if (w->vmcoreinfo_len)
		nb_note(b, "VMCOREINFO", 0, w->vmcoreinfo, w->vmcoreinfo_len,
			NULL, 0);
}

/* ---- program headers ---- */

struct pbuf {
	Elf64_Phdr *p;
	size_t n, cap;
};

static int ph_add(struct pbuf *b, uint64_t va, uint64_t pa, uint64_t off,
		  uint64_t len)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		Elf64_Phdr *p = wmem_grow(b->p, b->cap * sizeof(*p),
					  cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	b->p[b->n++] = (Elf64_Phdr){
		.p_type = PT_LOAD, .p_flags = PF_R | PF_W | PF_X,
		.p_offset = off, .p_vaddr = va, .p_paddr = pa,
		.p_filesz = len, .p_memsz = len, .p_align = PAGE,
	};
	return 0;
}

static int cmp_u64pair(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* One PT_LOAD per mapping of each extent, and identity for the rest. */
static int extent_phdrs(struct wctx *w, struct pbuf *b, const struct extent *e)
{
	uint64_t cov[MAX_RUNS][2];
	unsigned nc = 0;
	uint64_t end = e->pa + e->len;
	int rc;
	for (unsigned i = 0; i < w->nruns; i++) {
		const struct run *r = &w->runs[i];
		uint64_t s = e->pa > r->pa ? e->pa : r->pa;
		uint64_t t = end < r->pa + r->len ? end : r->pa + r->len;
		if (s >= t)
			continue;
		rc = ph_add(b, r->va + (s - r->pa), s, e->off + (s - e->pa),
			    t - s);
		if (rc)
			return rc;
		cov[nc][0] = s;
		cov[nc][1] = t;
		nc++;
	}
	qsort(cov, nc, sizeof(cov[0]), cmp_u64pair);
	uint64_t at = e->pa;
	for (unsigned i = 0; i <= nc; i++) {
		uint64_t s = i < nc ? cov[i][0] : end;
		if (s > at && (rc = ph_add(b, at, at, e->off + (at - e->pa),
					   s - at)))
			return rc;
		if (i < nc && cov[i][1] > at)
			at = cov[i][1];
	}
	return 0;
}

int vmcore_write(int fd, const struct vmcore_src *src, struct vmcore_stats *st,
		 char *err, size_t errlen)
{
	struct wctx w = { .fd = fd, .src = src, .err = err, .errlen = errlen,
			  .pagemap = -1 };
	struct nbuf notes = { 0 };
	struct pbuf ph = { 0 };
	int rc;

	memset(st, 0, sizeof(*st));
	st->ram_bytes = w.total = src->mem->ram_size;
	w.pm = wmem_alloc(PM_BATCH * sizeof(*w.pm));	/* none: read every page */
	find_runs(&w);
	st->aliases = w.nruns;

	/* Memory from offset 4096; the header goes in last. */
	if (lseek(fd, (off_t)PAGE, SEEK_SET) < 0) {
		rc = -errno;
		snprintf(err, errlen, "seeking in the dump file: %s",
			 strerror(errno));
		goto out;
	}
	w.off = PAGE;
	w.fl = fcntl(fd, F_GETFL);
	w.direct = w.fl >= 0 && !(w.fl & O_DIRECT) &&
		   fcntl(fd, F_SETFL, w.fl | O_DIRECT) == 0;
	w.bounce = w.direct ? wmem_alloc(WRITE_CHUNK) : NULL;
	rc = vmm_mem_walk(src->mem, write_region, &w);
	direct_off(&w);		/* the rest is small and unaligned */
	if (rc) {
		snprintf(err, errlen, "writing guest memory: %s", strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < w.next; i++)
		st->saved_bytes += w.ext[i].len;
	st->vmcoreinfo = w.vmcoreinfo_len > 0;

	build_notes(&w, &notes, st);
	if (notes.failed) {
		rc = -ENOMEM;
		snprintf(err, errlen, "building the notes: out of memory");
		goto out;
	}
	/* PT_NOTE first, then the loads. */
	if ((rc = ph_add(&ph, 0, 0, 0, 0)))
		goto nomem;
	for (size_t i = 0; i < w.next; i++)
		if ((rc = extent_phdrs(&w, &ph, &w.ext[i])))
			goto nomem;
	uint64_t notes_off = w.off;
	ph.p[0] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = notes_off,
				.p_filesz = notes.len, .p_align = 4 };
	st->loads = (unsigned)(ph.n - 1);

	rc = write_all(&w, notes.p, notes.len);
	static const uint8_t zero8[8];
	if (!rc)
		rc = write_all(&w, zero8, (8 - (w.off & 7)) & 7);
	uint64_t ph_off = w.off;
	if (!rc)
		rc = write_all(&w, ph.p, ph.n * sizeof(Elf64_Phdr));
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64,
			     ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE },
		.e_type = ET_CORE, .e_machine = EM_X86_64,
		.e_version = EV_CURRENT, .e_phoff = ph_off,
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = ph.n < PN_XNUM ? (uint16_t)ph.n : PN_XNUM,
		.e_shentsize = sizeof(Elf64_Shdr),
	};
	if (!rc && ph.n >= PN_XNUM) {
		/* The real count goes in section header 0 (ELF's extension). */
		Elf64_Shdr sh0 = { .sh_info = (uint32_t)ph.n };
		eh.e_shoff = w.off;
		eh.e_shnum = 1;
		rc = write_all(&w, &sh0, sizeof(sh0));
	}
	if (rc) {
		snprintf(err, errlen, "writing the notes and headers: %s",
			 strerror(-rc));
		goto out;
	}
	st->file_size = w.off;
	if (pwrite(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh)) {
		rc = errno ? -errno : -EIO;
		snprintf(err, errlen, "writing the ELF header: %s",
			 strerror(-rc));
	}
	goto out;
nomem:
	snprintf(err, errlen, "building the program headers: out of memory");
out:
	wmem_free(w.bounce, WRITE_CHUNK);
	wmem_free(w.pm, PM_BATCH * sizeof(*w.pm));
	wmem_free(w.ext, w.cap * sizeof(*w.ext));
	wmem_free(notes.p, notes.cap);
	wmem_free(ph.p, ph.cap * sizeof(*ph.p));
	return rc;
}
