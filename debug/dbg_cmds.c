/*
 * The dcmds: one const table, {name, usage, description, function, help},
 * from which ::help prints and kzsh completes.  Each function gets the
 * session and how it was called ("addr,count::name args") and returns
 * DCMD_OK, DCMD_ERR (after printing one line), DCMD_USAGE, or, for run
 * control, DCMD_RESUMED / DCMD_QUIT for the frontend to act on.
 *
 * Everything reaches the guest through the target API; run control
 * answers "not available" on a crash dump.
 */
#include "dbg_impl.h"
#include "printk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSGBUF_MAGIC	0x626d7a6bu
#define MSGBUF_MAX	(16u << 20)

static bool has_opt(const struct dbg_call *c, const char *opt)
{
	for (int i = 0; i < c->argc; i++)
		if (strcmp(c->argv[i], opt) == 0)
			return true;
	return false;
}

int dbg_run_control_ok(struct dbg *d)
{
	if (d->postmortem || !d->t->ops->resume || !d->t->ops->step) {
		dbg_err(d, "run control is not available on %s", d->name);
		return 0;
	}
	return 1;
}

static const char *cpu_mode(const struct kz_regs *r)
{
	if (!(r->cr0 & 1))
		return "real";
	if (r->efer & (1u << 10))
		return (r->cs.attr >> 13) & 1 ? "long" : "compat";
	return "prot";
}

/* "kz_panic+0x12:  movq ..." for where a vCPU stands. */
void dbg_where(struct dbg *d, unsigned cpu)
{
	struct kz_regs r;
	uint64_t next;
	if (dbg_regs(d, cpu, &r)) {
		dbg_err(d, "cannot read the registers of cpu %u", cpu);
		return;
	}
	unsigned save = d->cpu;
	d->cpu = cpu;
	(void)dbg_dis(d, r.rip, 1, false, 0, 0, &next);
	d->cpu = save;
}

/* ---- ::help ---- */

static int dc_help(struct dbg *d, const struct dbg_call *c)
{
	if (c->argc > 1)
		return DCMD_USAGE;
	if (c->argc == 1) {
		const char *n = c->argv[0];
		if (n[0] == ':' && n[1] == ':')
			n += 2;
		const struct dbg_dcmd *dc = dbg_dcmd_find(n);
		if (!dc) {
			dbg_err(d, "'%s' is not a dcmd", n);
			return DCMD_ERR;
		}
		dbg_printf(d, "NAME\n  %s - %s\n\nSYNOPSIS\n  ::%s %s\n", dc->name,
			   dc->descr, dc->name, dc->usage);
		if (dc->help)
			dbg_printf(d, "\nDESCRIPTION\n%s", dc->help);
		return DCMD_OK;
	}
	dbg_printf(d, "Each dcmd is run as [addr][,count]::name [args]; "
		   "::help NAME says more.\n\n");
	for (size_t i = 0; i < dbg_ndcmds; i++)
		dbg_printf(d, "  %-10s %-22s - %s\n", dbg_dcmds[i].name,
			   dbg_dcmds[i].usage, dbg_dcmds[i].descr);
	dbg_printf(d, "\nShorthands: $c ::stack, $C ::stack -v, $r ::regs, "
		   "$? ::status, $b ::events,\n$q ::quit, :b ::bp, :d ::delete, "
		   ":z ::delete all, :c ::cont, :s ::step, :e ::next.\n"
		   "Formats: addr/fmt reads memory, addr=fmt prints the value "
		   "(::formats).\n");
	return DCMD_OK;
}

static int dc_formats(struct dbg *d, const struct dbg_call *c)
{
	(void)c;
	static const char *const lines[] = {
		"B  1 byte, hex          b  1 byte, octal",
		"x  2 bytes, hex         d/u  2 bytes, signed/unsigned decimal",
		"X  4 bytes, hex         D/U  4 bytes, signed/unsigned decimal",
		"J  8 bytes, hex         e/E  8 bytes, signed/unsigned decimal",
		"K  pointer, hex         p  pointer, as symbol+offset",
		"o/O  2/4 bytes, octal   f/F  float/double",
		"c  character            C  character, ^X for control",
		"s  string               i  instruction",
		"a  the address as symbol+offset (no bytes)",
		"n t r  newline, tab, space   + ^  dot forward/back one byte",
		"/v /w /W /Z VALUE...  write 1, 2, 4, 8 bytes",
		"A number before a character repeats it: addr/4X",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		dbg_printf(d, "%s\n", lines[i]);
	return DCMD_OK;
}

/* ---- registers and stack ---- */

static int dc_regs(struct dbg *d, const struct dbg_call *c)
{
	struct kz_regs r;
	char sym[256];
	if (c->argc)
		return DCMD_USAGE;
	if (dbg_regs(d, d->cpu, &r)) {
		dbg_err(d, "cannot read the registers of cpu %u", d->cpu);
		return DCMD_ERR;
	}
	const struct {
		const char *a;
		uint64_t av;
		const char *b;
		uint64_t bv;
	} rows[] = {
		{ "rax", r.rax, "r8", r.r8 },	{ "rbx", r.rbx, "r9", r.r9 },
		{ "rcx", r.rcx, "r10", r.r10 }, { "rdx", r.rdx, "r11", r.r11 },
		{ "rsi", r.rsi, "r12", r.r12 }, { "rdi", r.rdi, "r13", r.r13 },
		{ "rbp", r.rbp, "r14", r.r14 }, { "rsp", r.rsp, "r15", r.r15 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		dbg_printf(d, "%%%-4s= 0x%016llx   %%%-4s= 0x%016llx\n",
			   rows[i].a, (unsigned long long)rows[i].av, rows[i].b,
			   (unsigned long long)rows[i].bv);
	dbg_symbolize(d, r.rip, sym, sizeof(sym));
	dbg_printf(d, "\n%%rip = 0x%016llx %s\n", (unsigned long long)r.rip,
		   sym);
	dbg_printf(d, "%%rflags = 0x%016llx\n", (unsigned long long)r.rflags);
	dbg_printf(d, "  id=%u vip=%u vif=%u ac=%u vm=%u rf=%u nt=%u iopl=%u "
		   "of=%u df=%u if=%u tf=%u sf=%u zf=%u af=%u pf=%u cf=%u\n",
		   (unsigned)(r.rflags >> 21) & 1, (unsigned)(r.rflags >> 20) & 1,
		   (unsigned)(r.rflags >> 19) & 1, (unsigned)(r.rflags >> 18) & 1,
		   (unsigned)(r.rflags >> 17) & 1, (unsigned)(r.rflags >> 16) & 1,
		   (unsigned)(r.rflags >> 14) & 1, (unsigned)(r.rflags >> 12) & 3,
		   (unsigned)(r.rflags >> 11) & 1, (unsigned)(r.rflags >> 10) & 1,
		   (unsigned)(r.rflags >> 9) & 1, (unsigned)(r.rflags >> 8) & 1,
		   (unsigned)(r.rflags >> 7) & 1, (unsigned)(r.rflags >> 6) & 1,
		   (unsigned)(r.rflags >> 4) & 1, (unsigned)(r.rflags >> 2) & 1,
		   (unsigned)r.rflags & 1);
	dbg_printf(d, "\n%%cs = 0x%04x  %%ds = 0x%04x  %%es = 0x%04x  "
		   "%%fs = 0x%04x  %%gs = 0x%04x  %%ss = 0x%04x\n",
		   r.cs.selector, r.ds.selector, r.es.selector, r.fs.selector,
		   r.gs.selector, r.ss.selector);
	dbg_printf(d, "%%cr0 = 0x%016llx   %%cr2 = 0x%016llx\n"
		   "%%cr3 = 0x%016llx   %%cr4 = 0x%016llx\n"
		   "%%efer = 0x%016llx  %%fsbase = 0x%016llx\n"
		   "%%gsbase = 0x%016llx  %%kgsbase = 0x%016llx\n",
		   (unsigned long long)r.cr0, (unsigned long long)r.cr2,
		   (unsigned long long)r.cr3, (unsigned long long)r.cr4,
		   (unsigned long long)r.efer, (unsigned long long)r.fs_base,
		   (unsigned long long)r.gs_base,
		   (unsigned long long)r.kernel_gs_base);
	dbg_printf(d, "%%gdt = 0x%016llx/%x  %%idt = 0x%016llx/%x\n",
		   (unsigned long long)r.gdt.base, r.gdt.limit,
		   (unsigned long long)r.idt.base, r.idt.limit);
	return DCMD_OK;
}

static void frame_line(struct dbg *d, uint64_t pc, uint64_t fp, bool verbose,
		       bool ret)
{
	char sym[256];
	uint64_t off;
	const struct dbg_sym *s;
	/*
	 * A return address names the function of its call instruction: a
	 * call to a function that never returns may end its caller.
	 */
	if (ret && (s = dbg_lookup_addr(d, pc - 1, &off)))
		snprintf(sym, sizeof(sym), "%s+0x%llx", s->name,
			 (unsigned long long)off + 1);
	else
		dbg_symbolize(d, pc, sym, sizeof(sym));
	if (verbose)
		dbg_printf(d, "%016llx %s()\n", (unsigned long long)fp, sym);
	else
		dbg_printf(d, "%s()\n", sym);
}

/* Where a walk is: a frame's pc and the rsp and rbp it runs with. */
struct walk {
	uint64_t pc, sp, fp;
};

/*
 * One step by the kernel's call frame information (DWARF CFI): the
 * caller's pc, rsp and rbp.  false where no rule covers pc.  Past the
 * first frame, pc is a return address: its call is at pc - 1.
 */
static bool cfi_step(struct dbg *d, struct walk *w, bool first)
{
	if (!d->have_syms)
		return false;
	uint64_t at = (first ? w->pc : w->pc - 1) - (uint64_t)d->syms.slide;
	const struct dbg_unwind *u = dbg_sym_unwind(&d->syms, at);
	if (!u)
		return false;
	uint64_t cfa = (u->cfa_reg == DBG_UW_RSP ? w->sp : w->fp) +
		       (uint64_t)(int64_t)u->cfa_off;
	uint64_t ra, fp = w->fp;
	if (cfa <= w->sp || dbg_vread(d, cfa + (uint64_t)(int64_t)u->ra_off,
				      &ra, 8))
		return false;
	if (u->rbp_saved &&
	    dbg_vread(d, cfa + (uint64_t)(int64_t)u->rbp_off, &fp, 8))
		return false;
	*w = (struct walk){ ra, cfa, fp };
	return true;
}

/*
 * One step by frame pointers: [rbp] is the caller's rbp, [rbp+8] the
 * return address.  In the first frame at a function's first instruction
 * (a breakpoint on it) the frame is not built yet: the return address is
 * at [rsp]; one instruction in (after push %rbp) at [rsp+8].
 */
static bool fp_step(struct dbg *d, struct walk *w, bool first)
{
	if (first) {
		uint64_t off = 0, ret;
		const struct dbg_sym *s = dbg_lookup_addr(d, w->pc, &off);
		uint8_t op = 0;
		(void)dbg_vread(d, w->pc, &op, 1);
		if ((s && off == 0) || op == 0x55) {
			if (dbg_vread(d, w->sp, &ret, 8))
				return false;
			*w = (struct walk){ ret, w->sp + 8, w->fp };
			return true;
		}
		if (s && off == 1) {
			if (dbg_vread(d, w->sp + 8, &ret, 8) ||
			    dbg_vread(d, w->sp, &w->fp, 8))
				return false;
			*w = (struct walk){ ret, w->sp + 16, w->fp };
			return true;
		}
	}
	uint64_t f[2];
	/* Frames grow up the stack: a saved rbp below this one ends it. */
	if (!w->fp || (w->fp & 7) || w->fp < w->sp ||
	    dbg_vread(d, w->fp, f, sizeof(f)))
		return false;
	*w = (struct walk){ f[1], w->fp + 16, f[0] };
	return true;
}

/*
 * $c: the first frame, then its callers, each step by CFI where the
 * kernel file has it (a kernel built without frame pointers still
 * unwinds) and by frame pointers where it has not.
 */
static int dc_stack(struct dbg *d, const struct dbg_call *c)
{
	struct kz_regs r;
	bool verbose = has_opt(c, "-v");
	if (dbg_regs(d, d->cpu, &r)) {
		dbg_err(d, "cannot read the registers of cpu %u", d->cpu);
		return DCMD_ERR;
	}
	struct walk w = { r.rip, r.rsp, r.rbp };
	if (c->have_addr) {
		/* addr::stack walks from a frame pointer the user gives. */
		frame_line(d, r.rip, c->addr, verbose, false);
		w = (struct walk){ 0, c->addr, c->addr };
		for (unsigned i = 0; i < DBG_MAX_FRAMES && fp_step(d, &w, false) &&
				     w.pc; i++)
			frame_line(d, w.pc, w.sp - 16, verbose, true);
		return DCMD_OK;
	}
	frame_line(d, w.pc, w.sp, verbose, false);
	for (unsigned i = 0; i < DBG_MAX_FRAMES; i++) {
		uint64_t sp = w.sp;
		if (!cfi_step(d, &w, i == 0) && !fp_step(d, &w, i == 0))
			break;
		if (!w.pc || w.sp <= sp)
			break;
		frame_line(d, w.pc, w.sp, verbose, true);
	}
	return DCMD_OK;
}

/* ---- status, msgbuf ---- */

static int dc_status(struct dbg *d, const struct dbg_call *c)
{
	(void)c;
	unsigned n = d->t->ops->ncpus ? d->t->ops->ncpus(d->t) : 1;
	unsigned nbp = 0;
	for (unsigned i = 0; i < DBG_MAX_BP; i++)
		nbp += d->bp[i].used;
	dbg_printf(d, "debugging %s (%s target)\n", d->name, d->t->ops->name);
	dbg_printf(d, "%u vCPU%s, current vCPU %u; %s\n", n, n == 1 ? "" : "s",
		   d->cpu, d->postmortem ? "no run control (crash dump)"
					 : "all vCPUs stopped");
	if (d->why[0])
		dbg_printf(d, "entered: %s\n", d->why);
	if (d->have_syms)
		dbg_printf(d, "kernel symbols: %s (%zu symbols, %zu line "
			   "entries)\n", d->syms.path, d->syms.nsyms,
			   d->syms.nlines);
	else
		dbg_printf(d, "kernel symbols: none loaded\n");
	if (d->syms.slide)
		dbg_printf(d, "kernel slide (KASLR): 0x%llx\n",
			   (unsigned long long)d->syms.slide);
	dbg_printf(d, "breakpoints and watchpoints: %u\n", nbp);
	return DCMD_OK;
}

static int msgbuf_vread(void *ctx, uint64_t va, void *buf, size_t len)
{
	return dbg_vread(ctx, va, buf, len);
}

/* One record as dmesg shows it: [seconds.micro] text. */
static void msgbuf_line(void *ctx, uint64_t seq, uint64_t ts, const char *text,
			size_t len)
{
	struct dbg *d = ctx;
	char line[KZ_PRINTK_LINE_MAX + 32];
	size_t o = (size_t)snprintf(line, sizeof(line), "[%5llu.%06llu] ",
				    (unsigned long long)(ts / 1000000000),
				    (unsigned long long)(ts % 1000000000 / 1000));
	(void)seq;
	for (size_t i = 0; i < len && o < sizeof(line) - 1; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch == '\n' || ch == '\t' || (ch >= 0x20 && ch < 0x7f))
			line[o++] = (char)ch;
	}
	line[o++] = '\n';
	dbg_write(d, line, o);
}

/* A Linux guest's log: its printk ringbuffer (debug/printk.c). */
static int linux_msgbuf(struct dbg *d)
{
	uint64_t rb, prb;
	char err[192];
	if (dbg_lookup_name(d, "prb", &prb)) {
		if (dbg_vread(d, prb, &rb, sizeof(rb))) {
			dbg_err(d, "failed to read prb at %llx",
				(unsigned long long)prb);
			return DCMD_ERR;
		}
	} else if (!dbg_lookup_name(d, "printk_rb_static", &rb)) {
		dbg_err(d, "no kz_msgbuf, prb or printk_rb_static symbol: no "
			"kernel log this debugger knows");
		return DCMD_ERR;
	}
	if (kz_printk_read(msgbuf_vread, d, rb, msgbuf_line, d, err,
			   sizeof(err)) < 0) {
		dbg_err(d, "%s", err);
		return DCMD_ERR;
	}
	return DCMD_OK;
}

static int dc_msgbuf(struct dbg *d, const struct dbg_call *c)
{
	uint64_t base;
	struct {
		uint32_t magic, size;
		uint64_t windex;
	} h;
	if (c->argc)
		return DCMD_USAGE;
	if (!dbg_lookup_name(d, "kz_msgbuf", &base))
		return linux_msgbuf(d);
	if (dbg_vread(d, base, &h, sizeof(h))) {
		dbg_err(d, "failed to read kz_msgbuf at %llx",
			(unsigned long long)base);
		return DCMD_ERR;
	}
	if (h.magic != MSGBUF_MAGIC || h.size == 0 || h.size > MSGBUF_MAX) {
		dbg_err(d, "kz_msgbuf at %llx is not initialised (magic %x, "
			"size %u)", (unsigned long long)base, h.magic, h.size);
		return DCMD_ERR;
	}
	uint64_t len = h.windex < h.size ? h.windex : h.size;
	uint64_t start = h.windex < h.size ? 0 : h.windex % h.size;
	char *buf = malloc(len + 1);
	if (!buf)
		return DCMD_ERR;
	uint64_t first = h.size - start < len ? h.size - start : len;
	if (dbg_vread(d, base + 16 + start, buf, first) ||
	    (len > first && dbg_vread(d, base + 16, buf + first, len - first))) {
		dbg_err(d, "failed to read the message buffer");
		free(buf);
		return DCMD_ERR;
	}
	/* Drop carriage returns and anything unprintable. */
	size_t o = 0;
	for (uint64_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)buf[i];
		if (ch == '\n' || ch == '\t' || (ch >= 0x20 && ch < 0x7f))
			buf[o++] = (char)ch;
	}
	if (o && buf[o - 1] != '\n')
		buf[o++] = '\n';
	dbg_write(d, buf, o);
	free(buf);
	return DCMD_OK;
}

/* ---- symbols ---- */

static int dc_nm(struct dbg *d, const struct dbg_call *c)
{
	bool funcs = false;
	for (int i = 0; i < c->argc; i++) {
		if (strcmp(c->argv[i], "-f") == 0)
			funcs = true;
		else
			return DCMD_USAGE;
	}
	if (!d->have_syms) {
		dbg_err(d, "no kernel symbols loaded");
		return DCMD_ERR;
	}
	dbg_printf(d, "%-18s %-18s %s %s\n", "Value", "Size", "T", "Name");
	for (size_t i = 0; i < d->syms.nsyms; i++) {
		const struct dbg_sym *s = &d->syms.syms[i];
		if (funcs && s->type != 'T' && s->type != 't')
			continue;
		if (c->have_addr) {
			uint64_t a = s->addr + (uint64_t)d->syms.slide;
			if (c->addr < a || c->addr - a >= (s->size ? s->size : 1))
				continue;
		}
		dbg_printf(d, "0x%016llx 0x%016llx %c %s\n",
			   (unsigned long long)(s->addr + (uint64_t)d->syms.slide),
			   (unsigned long long)s->size, s->type, s->name);
	}
	return DCMD_OK;
}

static int dc_whatis(struct dbg *d, const struct dbg_call *c)
{
	uint64_t off, a;
	if (c->argc > 1)
		return DCMD_USAGE;
	if (c->argc == 1) {
		if (dbg_eval_arg(d, c->argv[0], &a))
			return DCMD_ERR;
	} else if (c->have_addr) {
		a = c->addr;
	} else {
		return DCMD_USAGE;
	}
	const struct dbg_sym *s = dbg_lookup_addr(d, a, &off);
	if (!s) {
		dbg_printf(d, "%llx is not in any known symbol\n",
			   (unsigned long long)a);
	} else {
		dbg_printf(d, "%llx is %s+0x%llx", (unsigned long long)a,
			   s->name, (unsigned long long)off);
		if (s->size)
			dbg_printf(d, ", in %s %s of 0x%llx bytes",
				   strchr("Tt", s->type) ? "function" : "object",
				   s->name, (unsigned long long)s->size);
		const char *file;
		unsigned line;
		if (dbg_sym_line(&d->syms, a - (uint64_t)d->syms.slide, &file,
				 &line))
			dbg_printf(d, " (%s:%u)", file, line);
		dbg_printf(d, "\n");
	}
	struct kz_xlate x;
	if (d->t && kz_target_translate(d->t, d->cpu, a, &x) == 0)
		dbg_printf(d, "mapped to physical %llx\n",
			   (unsigned long long)x.pa);
	else
		dbg_printf(d, "not mapped on cpu %u\n", d->cpu);
	return DCMD_OK;
}

static int dc_lookup(struct dbg *d, const struct dbg_call *c)
{
	uint64_t a, off;
	char sym[256];
	if (c->argc > 1 || (!c->argc && !c->have_addr))
		return DCMD_USAGE;
	if (c->argc) {
		if (dbg_eval_arg(d, c->argv[0], &a))
			return DCMD_ERR;
	} else {
		a = c->addr;
	}
	if (!dbg_lookup_addr(d, a, &off)) {
		dbg_err(d, "no symbol near %llx", (unsigned long long)a);
		return DCMD_ERR;
	}
	dbg_symbolize(d, a, sym, sizeof(sym));
	dbg_printf(d, "%s\n", sym);
	return DCMD_OK;
}

/* ---- memory and vCPUs ---- */

static int dc_vtop(struct dbg *d, const struct dbg_call *c)
{
	unsigned cpu = d->cpu;
	if (!c->have_addr)
		return DCMD_USAGE;
	for (int i = 0; i < c->argc; i++) {
		uint64_t v;
		if (strcmp(c->argv[i], "-c") == 0 && i + 1 < c->argc) {
			if (dbg_eval_arg(d, c->argv[++i], &v))
				return DCMD_ERR;
			cpu = (unsigned)v;
		} else {
			return DCMD_USAGE;
		}
	}
	struct kz_xlate x;
	int rc = kz_target_translate(d->t, cpu, c->addr, &x);
	if (rc) {
		dbg_err(d, "no mapping for %llx on cpu %u: %s",
			(unsigned long long)c->addr, cpu,
			rc == -ENOENT ? "not present in the page tables"
				      : strerror(-rc));
		return DCMD_ERR;
	}
	const char *sz = x.page_size == (1u << 30) ? "1G"
			 : x.page_size == (2u << 20) ? "2M"
			 : x.page_size == (4u << 20) ? "4M" : "4K";
	dbg_printf(d, "virtual %llx mapped to physical %llx\n",
		   (unsigned long long)c->addr, (unsigned long long)x.pa);
	if (x.levels)
		dbg_printf(d, "%s page, %u-level paging, %s, %s, %s\n", sz,
			   x.levels, x.writable ? "writable" : "read-only",
			   x.user ? "user" : "kernel",
			   x.nx ? "no-execute" : "executable");
	else
		dbg_printf(d, "paging is off: physical equals virtual\n");
	return DCMD_OK;
}

static int dc_cpuinfo(struct dbg *d, const struct dbg_call *c)
{
	(void)c;
	unsigned n = d->t->ops->ncpus ? d->t->ops->ncpus(d->t) : 1;
	dbg_printf(d, " ID %-16s %-12s %-12s %-6s %-3s %s\n", "RIP", "RIP-PHYS",
		   "CR3", "MODE", "IF", "FUNCTION");
	for (unsigned i = 0; i < n; i++) {
		struct kz_regs r;
		struct kz_xlate x;
		char sym[256], pa[24] = "-";
		if (dbg_regs(d, i, &r)) {
			dbg_printf(d, "%3u (registers unreadable)\n", i);
			continue;
		}
		if (kz_target_translate_regs(d->t, &r, r.rip, &x) == 0)
			snprintf(pa, sizeof(pa), "%llx", (unsigned long long)x.pa);
		dbg_symbolize(d, r.rip, sym, sizeof(sym));
		dbg_printf(d, "%c%2u %016llx %-12s %-12llx %-6s %-3s %s\n",
			   i == d->cpu ? '>' : ' ', i,
			   (unsigned long long)r.rip, pa,
			   (unsigned long long)r.cr3, cpu_mode(&r),
			   r.rflags & 0x200 ? "on" : "off", sym);
	}
	return DCMD_OK;
}

static int dc_switch(struct dbg *d, const struct dbg_call *c)
{
	uint64_t v;
	unsigned n = d->t->ops->ncpus ? d->t->ops->ncpus(d->t) : 1;
	if (c->argc == 1) {
		if (dbg_eval_arg(d, c->argv[0], &v))
			return DCMD_ERR;
	} else if (c->argc == 0 && c->have_addr) {
		v = c->addr;
	} else {
		return DCMD_USAGE;
	}
	if (v >= n) {
		dbg_err(d, "there is no cpu %llu (this target has %u)",
			(unsigned long long)v, n);
		return DCMD_ERR;
	}
	d->cpu = (unsigned)v;
	return DCMD_OK;
}

static int dc_dis(struct dbg *d, const struct dbg_call *c)
{
	uint64_t addr = c->have_addr ? c->addr : d->dot, next, off = 0;
	unsigned n = 0;
	for (int i = 0; i < c->argc; i++) {
		uint64_t v;
		if (strcmp(c->argv[i], "-n") == 0 && i + 1 < c->argc) {
			if (dbg_eval_arg(d, c->argv[++i], &v))
				return DCMD_ERR;
			n = v > 4096 ? 4096 : (unsigned)v;
		} else {
			return DCMD_USAGE;
		}
	}
	if (!c->have_addr && !c->argc) {
		struct kz_regs r;
		if (dbg_regs(d, d->cpu, &r) == 0)
			addr = r.rip;
	}
	if (c->have_count)
		n = c->count > 4096 ? 4096 : (unsigned)c->count;
	uint64_t stop = 0;
	const struct dbg_sym *s = dbg_lookup_addr(d, addr, &off);
	if (!n && s && s->size && strchr("Tt", s->type) && s->size < 0x10000) {
		/* A function: all of it, from its start. */
		addr -= off;
		stop = addr + s->size;
		n = 4096;
	}
	if (!n)
		n = 16;
	if (dbg_dis(d, addr, n, true, stop, 0, &next))
		return DCMD_ERR;
	d->next_dot = next;
	return DCMD_OK;
}

/* ---- breakpoints ---- */

static struct dbg_bp *bp_find_id(struct dbg *d, unsigned id)
{
	for (unsigned i = 0; i < DBG_MAX_BP; i++)
		if (d->bp[i].used && d->bp[i].id == id)
			return &d->bp[i];
	return NULL;
}

static int bp_plant(struct dbg *d, struct dbg_bp *b)
{
	if (b->tkind == KZ_BREAK_SW &&
	    kz_target_read_virt(d->t, d->cpu, b->addr, &b->orig, 1))
		return -ENOENT;
	int rc = d->t->ops->set_break(d->t, b->tkind, b->addr, b->len);
	if (rc == 0)
		b->planted = true;
	return rc;
}

static int bp_unplant(struct dbg *d, struct dbg_bp *b)
{
	if (!b->planted)
		return 0;
	int rc = d->t->ops->clear_break(d->t, b->tkind, b->addr, b->len);
	b->planted = false;
	return rc == -ENOENT ? 0 : rc;
}

static const char *bp_err(int rc)
{
	switch (rc) {
	case -ENOSPC: return "no debug register or breakpoint slot is free";
	case -ENOENT: return "the address is not mapped";
	case -EINVAL: return "a debug register cannot watch that address "
			     "and size (sizes 1, 2, 4, 8, aligned)";
	case -EBUSY: return "the guest is running";
	case -ENOTSUP: return "this target has no breakpoints";
	default: return strerror(-rc);
	}
}

static struct dbg_bp *bp_add(struct dbg *d, enum dbg_bp_kind kind,
			     enum kz_break_kind tk, uint64_t addr,
			     unsigned len, bool enabled)
{
	for (unsigned i = 0; i < DBG_MAX_BP; i++) {
		struct dbg_bp *b = &d->bp[i];
		if (b->used && b->addr == addr && b->tkind == tk && !b->temporary) {
			dbg_err(d, "there is already a breakpoint at %llx ([%u])",
				(unsigned long long)addr, b->id);
			return NULL;
		}
	}
	for (unsigned i = 0; i < DBG_MAX_BP; i++) {
		struct dbg_bp *b = &d->bp[i];
		if (b->used)
			continue;
		*b = (struct dbg_bp){ .used = true, .enabled = enabled,
				      .id = d->next_bp_id, .kind = kind,
				      .tkind = tk, .addr = addr, .len = len };
		if (enabled) {
			int rc = bp_plant(d, b);
			if (rc) {
				dbg_err(d, "cannot set a breakpoint at %llx: %s",
					(unsigned long long)addr, bp_err(rc));
				b->used = false;
				return NULL;
			}
		}
		d->next_bp_id++;
		return b;
	}
	dbg_err(d, "too many breakpoints (%u)", DBG_MAX_BP);
	return NULL;
}

static int dc_bp(struct dbg *d, const struct dbg_call *c)
{
	bool disabled = false, hw = false;
	uint64_t addrs[DBG_MAX_ARGS];
	unsigned n = 0;
	if (!dbg_run_control_ok(d))
		return DCMD_ERR;
	if (c->have_addr)
		addrs[n++] = c->addr;
	for (int i = 0; i < c->argc; i++) {
		if (strcmp(c->argv[i], "-d") == 0)
			disabled = true;
		else if (strcmp(c->argv[i], "-h") == 0)
			hw = true;
		else if (c->argv[i][0] == '-')
			return DCMD_USAGE;
		else if (dbg_eval_arg(d, c->argv[i], &addrs[n++]))
			return DCMD_ERR;
	}
	if (!n) {
		/* No address: list them, as mdb does. */
		struct dbg_call l = { 0 };
		return dbg_dcmd_find("events")->fn(d, &l);
	}
	for (unsigned i = 0; i < n; i++) {
		char sym[256];
		struct dbg_bp *b = bp_add(d, hw ? DBG_BP_HW : DBG_BP_SW,
					  hw ? KZ_BREAK_HW_EXEC : KZ_BREAK_SW,
					  addrs[i], 1, !disabled);
		if (!b)
			return DCMD_ERR;
		dbg_symbolize(d, b->addr, sym, sizeof(sym));
		dbg_printf(d, "[%u] %s breakpoint at %s%s\n", b->id,
			   hw ? "hardware" : "software", sym,
			   disabled ? " (disabled)" : "");
	}
	return DCMD_OK;
}

static int dc_wp(struct dbg *d, const struct dbg_call *c)
{
	enum kz_break_kind tk = KZ_BREAK_HW_WRITE;
	uint64_t size = 0;
	bool got_kind = false;
	if (!dbg_run_control_ok(d))
		return DCMD_ERR;
	if (!c->have_addr)
		return DCMD_USAGE;
	for (int i = 0; i < c->argc; i++) {
		const char *a = c->argv[i];
		if (!strcmp(a, "-w") || !strcmp(a, "-r") || !strcmp(a, "-x")) {
			tk = a[1] == 'w' ? KZ_BREAK_HW_WRITE
			     : a[1] == 'r' ? KZ_BREAK_HW_ACCESS : KZ_BREAK_HW_EXEC;
			got_kind = true;
		} else if (a[0] != '-' && !size) {
			if (dbg_eval_arg(d, a, &size))
				return DCMD_ERR;
		} else {
			return DCMD_USAGE;
		}
	}
	if (!got_kind)
		return DCMD_USAGE;
	if (!size)
		size = tk == KZ_BREAK_HW_EXEC ? 1 : 8;
	if (size > 8)
		size = 9;	/* let the target refuse it */
	struct dbg_bp *b = bp_add(d, tk == KZ_BREAK_HW_EXEC ? DBG_BP_HW
							    : DBG_BP_WATCH,
				  tk, c->addr, (unsigned)size, true);
	if (!b)
		return DCMD_ERR;
	char sym[256];
	dbg_symbolize(d, b->addr, sym, sizeof(sym));
	dbg_printf(d, "[%u] watchpoint (%s) on %llu byte%s at %s\n", b->id,
		   tk == KZ_BREAK_HW_WRITE ? "write"
		   : tk == KZ_BREAK_HW_ACCESS ? "read or write" : "execute",
		   (unsigned long long)size, size == 1 ? "" : "s", sym);
	return DCMD_OK;
}

static int dc_events(struct dbg *d, const struct dbg_call *c)
{
	(void)c;
	bool any = false;
	for (unsigned i = 0; i < DBG_MAX_BP; i++) {
		const struct dbg_bp *b = &d->bp[i];
		char sym[256];
		if (!b->used || b->temporary)
			continue;
		if (!any)
			dbg_printf(d, "   ID S KIND  %-16s HITS   WHERE\n",
				   "ADDRESS");
		any = true;
		dbg_symbolize(d, b->addr, sym, sizeof(sym));
		static const char *const kinds[] = { "bp", "hwbp", "wp" };
		char id[16];
		snprintf(id, sizeof(id), "[%u]", b->id);
		dbg_printf(d, "%5s %c %-5s %016llx %-6llu %s",
			   id, b->enabled ? '+' : '-', kinds[b->kind],
			   (unsigned long long)b->addr,
			   (unsigned long long)b->hits, sym);
		if (b->kind == DBG_BP_WATCH)
			dbg_printf(d, " (%s, %u bytes)",
				   b->tkind == KZ_BREAK_HW_WRITE ? "write"
							       : "read/write",
				   b->len);
		dbg_printf(d, "\n");
	}
	if (!any)
		dbg_printf(d, "no breakpoints or watchpoints\n");
	return DCMD_OK;
}

static int set_enabled(struct dbg *d, const struct dbg_call *c, bool en)
{
	if (c->argc != 1)
		return DCMD_USAGE;
	uint64_t id;
	if (dbg_eval_arg(d, c->argv[0], &id))
		return DCMD_ERR;
	struct dbg_bp *b = bp_find_id(d, (unsigned)id);
	if (!b) {
		dbg_err(d, "there is no breakpoint [%llu]",
			(unsigned long long)id);
		return DCMD_ERR;
	}
	if (b->enabled == en)
		return DCMD_OK;
	int rc = en ? bp_plant(d, b) : bp_unplant(d, b);
	if (rc) {
		dbg_err(d, "breakpoint [%u]: %s", b->id, bp_err(rc));
		return DCMD_ERR;
	}
	b->enabled = en;
	return DCMD_OK;
}

static int dc_enable(struct dbg *d, const struct dbg_call *c)
{
	return set_enabled(d, c, true);
}

static int dc_disable(struct dbg *d, const struct dbg_call *c)
{
	return set_enabled(d, c, false);
}

static int dc_delete(struct dbg *d, const struct dbg_call *c)
{
	if (c->argc != 1 && !(c->argc == 0 && c->have_addr))
		return DCMD_USAGE;
	if (c->argc == 1 && strcmp(c->argv[0], "all") == 0) {
		for (unsigned i = 0; i < DBG_MAX_BP; i++)
			if (d->bp[i].used) {
				(void)bp_unplant(d, &d->bp[i]);
				d->bp[i].used = false;
			}
		return DCMD_OK;
	}
	uint64_t id = c->have_addr ? c->addr : 0;
	if (c->argc == 1) {
		/* Ids are decimal, as ::events prints them. */
		char *end;
		id = strtoull(c->argv[0], &end, 10);
		if (*end || !c->argv[0][0]) {
			dbg_err(d, "'%s' is not a breakpoint id", c->argv[0]);
			return DCMD_ERR;
		}
	}
	struct dbg_bp *b = bp_find_id(d, (unsigned)id);
	if (!b) {
		dbg_err(d, "there is no breakpoint [%llu]",
			(unsigned long long)id);
		return DCMD_ERR;
	}
	int rc = bp_unplant(d, b);
	b->used = false;
	if (rc) {
		dbg_err(d, "breakpoint [%u]: %s", b->id, bp_err(rc));
		return DCMD_ERR;
	}
	return DCMD_OK;
}

/* ---- run control ---- */

static int dc_cont(struct dbg *d, const struct dbg_call *c)
{
	if (c->argc)
		return DCMD_USAGE;
	if (!dbg_run_control_ok(d))
		return DCMD_ERR;
	int rc = d->t->ops->resume(d->t);
	if (rc) {
		dbg_err(d, "cannot resume the guest: %s", strerror(-rc));
		return DCMD_ERR;
	}
	return DCMD_RESUMED;
}

/* One instruction on the current vCPU, stepping around our own int3. */
static int step_one(struct dbg *d)
{
	struct kz_regs r;
	struct kz_event ev;
	struct dbg_bp *here = NULL;
	if (dbg_regs(d, d->cpu, &r)) {
		dbg_err(d, "cannot read the registers of cpu %u", d->cpu);
		return -1;
	}
	for (unsigned i = 0; i < DBG_MAX_BP; i++)
		if (d->bp[i].used && d->bp[i].planted &&
		    d->bp[i].tkind == KZ_BREAK_SW && d->bp[i].addr == r.rip)
			here = &d->bp[i];
	if (here)
		(void)bp_unplant(d, here);
	int rc = d->t->ops->step(d->t, d->cpu);
	if (rc == 0)
		(void)d->t->ops->wait_event(d->t, &ev, 1000);
	if (here)
		(void)bp_plant(d, here);
	if (rc) {
		dbg_err(d, "cpu %u did not step: %s", d->cpu,
			rc == -ETIMEDOUT ? "it is halted with nothing to run"
					 : strerror(-rc));
		return -1;
	}
	return 0;
}

static int dc_step(struct dbg *d, const struct dbg_call *c)
{
	if (c->argc)
		return DCMD_USAGE;
	if (!dbg_run_control_ok(d))
		return DCMD_ERR;
	if (step_one(d))
		return DCMD_ERR;
	dbg_where(d, d->cpu);
	return DCMD_OK;
}

static int dc_next(struct dbg *d, const struct dbg_call *c)
{
	struct kz_regs r;
	unsigned len;
	bool call;
	if (c->argc)
		return DCMD_USAGE;
	if (!dbg_run_control_ok(d))
		return DCMD_ERR;
	if (dbg_regs(d, d->cpu, &r) || dbg_insn_info(d, r.rip, &len, &call)) {
		dbg_err(d, "cannot decode the instruction at the current pc");
		return DCMD_ERR;
	}
	if (!call)
		return dc_step(d, c);
	/* Over a call: run to the instruction after it. */
	struct dbg_bp *b = bp_add(d, DBG_BP_SW, KZ_BREAK_SW, r.rip + len, 1,
				  true);
	if (!b)
		return DCMD_ERR;
	b->temporary = true;
	return dc_cont(d, c);
}

static int dc_quit(struct dbg *d, const struct dbg_call *c)
{
	(void)c;
	d->quit = true;
	return DCMD_QUIT;
}

const struct dbg_dcmd dbg_dcmds[] = {
	{ "help", "[dcmd]", "list the dcmds, or describe one", dc_help, NULL },
	{ "formats", "", "list the format characters of /, ? and =",
	  dc_formats, NULL },
	{ "regs", "", "show the current vCPU's registers ($r)", dc_regs, NULL },
	{ "stack", "[-v]", "stack backtrace of the current vCPU ($c)",
	  dc_stack,
	  "  Unwinds by the kernel's DWARF call frame information where it\n"
	  "  has it, by saved frame pointers elsewhere.  addr::stack walks\n"
	  "  frame pointers from the frame at addr.  -v shows each frame's\n"
	  "  stack address.\n" },
	{ "status", "", "what is being debugged and how it stopped ($?)",
	  dc_status, NULL },
	{ "msgbuf", "", "the guest kernel's message buffer", dc_msgbuf,
	  "  Reads kz_msgbuf of the built-in guest, or a Linux guest's printk\n"
	  "  ringbuffer (prb or printk_rb_static among the symbols), one\n"
	  "  record a line with its time stamp, as dmesg shows it.\n" },
	{ "nm", "[-f]", "list the kernel's symbols (-f: functions only)",
	  dc_nm, "  addr::nm shows the symbol holding addr.\n" },
	{ "whatis", "[addr]", "describe an address: symbol, source, mapping",
	  dc_whatis, NULL },
	{ "lookup", "[addr]", "the nearest symbol to an address", dc_lookup,
	  NULL },
	{ "vtop", "[-c cpu]", "translate a virtual address through the page "
	  "tables", dc_vtop, NULL },
	{ "cpuinfo", "", "one line per vCPU: pc, its physical address, cr3, "
	  "mode", dc_cpuinfo, NULL },
	{ "switch", "cpu", "make another vCPU the current one", dc_switch,
	  NULL },
	{ "dis", "[-n count]", "disassemble at an address", dc_dis,
	  "  Without a count, an address inside a known function shows the\n"
	  "  whole function; otherwise 16 instructions.  Source lines come\n"
	  "  from the kernel's DWARF line tables.\n" },
	{ "bp", "[-dh] [addr...]", "set a breakpoint (:b); no address lists "
	  "them", dc_bp,
	  "  A software breakpoint (int3 written into guest memory) unless -h\n"
	  "  asks for a debug register; -d creates it disabled.\n" },
	{ "wp", "-w|-r|-x [size]", "set a watchpoint with a debug register",
	  dc_wp,
	  "  addr::wp -w 8 stops when the guest writes those 8 bytes; -r on\n"
	  "  reads or writes; -x on execution.  Sizes 1, 2, 4, 8, aligned.\n"
	  "  Some hosts (KVM that emulates guest code) never report data\n"
	  "  watchpoints.\n" },
	{ "events", "", "list breakpoints and watchpoints ($b)", dc_events,
	  NULL },
	{ "delete", "id|all", "delete a breakpoint (:d; :z for all)",
	  dc_delete, NULL },
	{ "disable", "id", "disable a breakpoint, keeping it", dc_disable,
	  NULL },
	{ "enable", "id", "enable a disabled breakpoint", dc_enable, NULL },
	{ "cont", "", "resume every vCPU (:c)", dc_cont, NULL },
	{ "step", "", "execute one instruction on the current vCPU (:s)",
	  dc_step, NULL },
	{ "next", "", "step over calls (:e)", dc_next, NULL },
	{ "quit", "", "leave the debugger; the guest resumes ($q)", dc_quit,
	  "  Removes every breakpoint first.\n" },
};
const size_t dbg_ndcmds = sizeof(dbg_dcmds) / sizeof(dbg_dcmds[0]);

/* ---- entering and stopping ---- */

void dbg_enter(struct dbg *d, const char *why, unsigned cpu)
{
	unsigned n = d->t->ops->ncpus ? d->t->ops->ncpus(d->t) : 1;
	d->cpu = cpu < n ? cpu : 0;
	snprintf(d->why, sizeof(d->why), "%s", why);
	struct kz_regs r;
	if (dbg_regs(d, d->cpu, &r) == 0)
		d->dot = r.rip;
	dbg_printf(d, "\n%s: %s; %u vCPU%s stopped\n", d->prog, why, n,
		   n == 1 ? "" : "s");
	dbg_where(d, d->cpu);
}

void dbg_stopped(struct dbg *d, const struct kz_event *ev)
{
	char sym[256];
	unsigned n = d->t->ops->ncpus ? d->t->ops->ncpus(d->t) : 1;
	if (ev->kind == KZ_EVENT_POWEROFF || ev->kind == KZ_EVENT_PANIC) {
		snprintf(d->why, sizeof(d->why), "the guest %s",
			 ev->kind == KZ_EVENT_PANIC ? "panicked" : "stopped");
		dbg_printf(d, "%s: %s\n", d->prog, d->why);
		if (ev->kind == KZ_EVENT_POWEROFF)
			return;
	}
	if (ev->cpu < n)
		d->cpu = ev->cpu;
	struct kz_regs r;
	if (dbg_regs(d, d->cpu, &r) == 0)
		d->dot = r.rip;
	/* A temporary breakpoint (:e) is gone once anything stops us. */
	for (unsigned i = 0; i < DBG_MAX_BP; i++) {
		struct dbg_bp *b = &d->bp[i];
		if (!b->used)
			continue;
		if (ev->kind == KZ_EVENT_BREAK && b->addr == ev->addr &&
		    !b->temporary)
			b->hits++;
		if (b->temporary) {
			(void)bp_unplant(d, b);
			b->used = false;
		}
	}
	dbg_symbolize(d, ev->kind == KZ_EVENT_WATCH ? ev->addr : d->dot, sym,
		      sizeof(sym));
	switch (ev->kind) {
	case KZ_EVENT_BREAK:
		snprintf(d->why, sizeof(d->why), "breakpoint at %s on cpu %u",
			 sym, d->cpu);
		break;
	case KZ_EVENT_WATCH:
		snprintf(d->why, sizeof(d->why), "watchpoint on %s hit on "
			 "cpu %u", sym, d->cpu);
		break;
	case KZ_EVENT_STEP:
		snprintf(d->why, sizeof(d->why), "step on cpu %u", d->cpu);
		break;
	case KZ_EVENT_PANIC:
		break;
	default:
		snprintf(d->why, sizeof(d->why), "stopped on request");
		break;
	}
	if (ev->kind != KZ_EVENT_PANIC)
		dbg_printf(d, "%s: stop: %s\n", d->prog, d->why);
	dbg_where(d, d->cpu);
}
