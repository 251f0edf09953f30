/*
 * The debugger engine: a session over one target, and the mdb command
 * language.
 *
 * A line is commands separated by ';'.  A command is
 *
 *	[expr][,count] ( /fmt | ?fmt | =fmt | ::dcmd args | $x | :x ) [| cmd]
 *
 * Expressions are 64-bit: numbers are hex unless 0t (decimal), 0o
 * (octal) or 0i (binary); identifiers are symbols (or hex digits when no
 * symbol has the name; `name forces the symbol); '.' is dot; <reg is a
 * register of the current vCPU; operators, loosest first: | ^ & << >>
 * + - * % (and / inside parentheses: at the top level '/' starts a
 * format), unary - ~ # (not) and * (the 8 bytes at an address).
 * A pipeline runs the right command once for each line the left one
 * printed, with dot set to the first number on that line.
 *
 * Called by the frontends (dbg_host.c, kzdb.c) and tests; reaches the
 * guest only through the target API and never blocks waiting for it to
 * run (see dbg.h).
 */
#include "dbg_impl.h"
#include "kaslr.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH	32
#define MAX_PIPE_LINES	4096

void dbg_write(struct dbg *d, const char *buf, size_t len)
{
	if (d->capturing) {
		if (d->cap_len + len + 1 > d->cap_size) {
			size_t n = d->cap_size ? d->cap_size : 4096;
			while (n < d->cap_len + len + 1)
				n *= 2;
			if (n > (16u << 20))
				return;	/* a pipeline's left side is bounded */
			char *p = realloc(d->cap, n);
			if (!p)
				return;
			d->cap = p;
			d->cap_size = n;
		}
		memcpy(d->cap + d->cap_len, buf, len);
		d->cap_len += len;
		d->cap[d->cap_len] = 0;
		return;
	}
	if (d->out)
		d->out(d->out_ctx, buf, len);
}

static void vprint(struct dbg *d, const char *fmt, va_list ap)
{
	char buf[1024];
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n >= 0 && (size_t)n < sizeof(buf)) {
		dbg_write(d, buf, (size_t)n);
	} else if (n > 0) {
		/* A long line (::msgbuf): format it again at its size. */
		char *p = malloc((size_t)n + 1);
		if (p && vsnprintf(p, (size_t)n + 1, fmt, again) == n)
			dbg_write(d, p, (size_t)n);
		free(p);
	}
	va_end(again);
}

void dbg_printf(struct dbg *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprint(d, fmt, ap);
	va_end(ap);
}

void dbg_err(struct dbg *d, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Errors are never captured: they go to the user, not the pipe. */
	bool cap = d->capturing;
	d->capturing = false;
	dbg_printf(d, "%s: %s\n", d->prog, msg);
	d->capturing = cap;
}

/* ---- target access ---- */

int dbg_regs(struct dbg *d, unsigned cpu, struct kz_regs *r)
{
	if (!d->t || !d->t->ops->get_regs)
		return -ENOTSUP;
	return d->t->ops->get_regs(d->t, cpu, r);
}

int dbg_vread(struct dbg *d, uint64_t va, void *buf, size_t len)
{
	if (!d->t)
		return -ENOTSUP;
	int rc = kz_target_read_virt(d->t, d->cpu, va, buf, len);
	if (rc)
		return rc;
	/* Show the guest's own bytes, not our int3s (as mdb does). */
	for (unsigned i = 0; i < DBG_MAX_BP; i++) {
		const struct dbg_bp *b = &d->bp[i];
		if (b->used && b->planted && b->tkind == KZ_BREAK_SW &&
		    b->addr - va < len)
			((uint8_t *)buf)[b->addr - va] = b->orig;
	}
	return 0;
}

/* ---- symbols ---- */

bool dbg_lookup_name(struct dbg *d, const char *name, uint64_t *addr)
{
	if (!d->have_syms)
		return false;
	const struct dbg_sym *s = dbg_sym_byname(&d->syms, name);
	if (!s)
		return false;
	*addr = s->addr + (uint64_t)d->syms.slide;
	return true;
}

const struct dbg_sym *dbg_lookup_addr(struct dbg *d, uint64_t addr,
				      uint64_t *off)
{
	if (!d->have_syms)
		return NULL;
	return dbg_sym_byaddr(&d->syms, addr - (uint64_t)d->syms.slide, off);
}

void dbg_symbolize(struct dbg *d, uint64_t addr, char *buf, size_t len)
{
	uint64_t off;
	const struct dbg_sym *s = dbg_lookup_addr(d, addr, &off);
	if (!s)
		snprintf(buf, len, "%llx", (unsigned long long)addr);
	else if (off)
		snprintf(buf, len, "%s+0x%llx", s->name,
			 (unsigned long long)off);
	else
		snprintf(buf, len, "%s", s->name);
}

/* ---- registers by name ---- */

#define R(n) { #n, offsetof(struct kz_regs, n) }
static const struct {
	const char *name;
	size_t off;
} reg_names[] = {
	R(rax), R(rbx), R(rcx), R(rdx), R(rsi), R(rdi), R(rbp), R(rsp),
	R(r8), R(r9), R(r10), R(r11), R(r12), R(r13), R(r14), R(r15),
	R(rip), R(rflags), R(cr0), R(cr2), R(cr3), R(cr4), R(cr8), R(efer),
	R(fs_base), R(gs_base), R(kernel_gs_base), R(apic_base),
	{ "pc", offsetof(struct kz_regs, rip) },
	{ "sp", offsetof(struct kz_regs, rsp) },
	{ "fp", offsetof(struct kz_regs, rbp) },
};
#undef R

int dbg_reg_by_name(const struct kz_regs *r, const char *name, uint64_t *val)
{
	for (size_t i = 0; i < sizeof(reg_names) / sizeof(reg_names[0]); i++)
		if (strcmp(name, reg_names[i].name) == 0) {
			memcpy(val, (const char *)r + reg_names[i].off, 8);
			return 0;
		}
	static const struct {
		const char *name;
		size_t off;
	} segs[] = {
		{ "cs", offsetof(struct kz_regs, cs) },
		{ "ds", offsetof(struct kz_regs, ds) },
		{ "es", offsetof(struct kz_regs, es) },
		{ "fs", offsetof(struct kz_regs, fs) },
		{ "gs", offsetof(struct kz_regs, gs) },
		{ "ss", offsetof(struct kz_regs, ss) },
	};
	for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++)
		if (strcmp(name, segs[i].name) == 0) {
			const struct kz_seg *s =
				(const void *)((const char *)r + segs[i].off);
			*val = s->selector;
			return 0;
		}
	return -ENOENT;
}

/* ---- expressions ---- */

struct ex {
	struct dbg *d;
	const char *p;
	bool in_paren;
	unsigned depth;
	char *err;
	size_t errlen;
	bool failed;
};

static void ex_fail(struct ex *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Up to 12 characters of input for a message, control characters as '?'. */
static const char *snip(const char *s, char *buf)
{
	size_t i = 0;
	for (; s[i] && i < 12; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = 0;
	return buf;
}

static void ex_fail(struct ex *e, const char *fmt, ...)
{
	if (e->failed)
		return;
	e->failed = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->err, e->errlen, fmt, ap);
	va_end(ap);
}

static void ex_ws(struct ex *e)
{
	while (*e->p == ' ' || *e->p == '\t')
		e->p++;
}

static bool is_ident(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '$';
}

static bool parse_digits(const char *s, size_t n, unsigned base, uint64_t *v)
{
	uint64_t x = 0;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		int c = tolower((unsigned char)s[i]);
		unsigned dv;
		if (c >= '0' && c <= '9')
			dv = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			dv = (unsigned)(c - 'a' + 10);
		else
			return false;
		if (dv >= base)
			return false;
		if (x > (UINT64_MAX - dv) / base)
			return false;	/* overflow */
		x = x * base + dv;
	}
	*v = x;
	return true;
}

static uint64_t ex_or(struct ex *e);

static uint64_t ex_primary(struct ex *e)
{
	ex_ws(e);
	const char *s = e->p;
	if (*s == '(') {
		if (++e->depth > MAX_DEPTH) {
			ex_fail(e, "expression nested too deeply");
			return 0;
		}
		bool was = e->in_paren;
		e->p++;
		e->in_paren = true;
		uint64_t v = ex_or(e);
		e->in_paren = was;
		e->depth--;
		ex_ws(e);
		if (*e->p != ')') {
			ex_fail(e, "missing ')'");
			return 0;
		}
		e->p++;
		return v;
	}
	if (*s == '<') {
		char name[32];
		size_t n = 0;
		e->p++;
		while (is_ident((unsigned char)*e->p) && n < sizeof(name) - 1)
			name[n++] = *e->p++;
		name[n] = 0;
		struct kz_regs r;
		uint64_t v;
		if (!n) {
			ex_fail(e, "'<' wants a register name");
			return 0;
		}
		if (dbg_regs(e->d, e->d->cpu, &r)) {
			ex_fail(e, "cannot read the registers of cpu %u",
				e->d->cpu);
			return 0;
		}
		if (dbg_reg_by_name(&r, name, &v)) {
			ex_fail(e, "no register named '%s'", name);
			return 0;
		}
		return v;
	}
	if (*s == '.' && !is_ident((unsigned char)s[1])) {
		e->p++;
		return e->d->dot;
	}
	bool force_sym = false;
	if (*s == '`') {
		force_sym = true;
		s = ++e->p;
	}
	size_t n = 0;
	while (is_ident((unsigned char)s[n]))
		n++;
	if (n == 0) {
		char sn[16];
		if (*s)
			ex_fail(e, "syntax error near '%s'", snip(s, sn));
		else
			ex_fail(e, "expression expected");
		return 0;
	}
	e->p = s + n;
	uint64_t v;
	if (!force_sym && isdigit((unsigned char)s[0])) {
		if (s[0] == '0' && n > 2 && strchr("xXtToOiI", s[1])) {
			unsigned base = strchr("xX", s[1]) ? 16
				: strchr("tT", s[1]) ? 10
				: strchr("oO", s[1]) ? 8 : 2;
			if (parse_digits(s + 2, n - 2, base, &v))
				return v;
		} else if (parse_digits(s, n, 16, &v)) {
			return v;
		}
		char sn[16];
		ex_fail(e, "bad number '%s'", snip(s, sn));
		return 0;
	}
	char name[256];
	if (n >= sizeof(name)) {
		ex_fail(e, "name too long");
		return 0;
	}
	memcpy(name, s, n);
	name[n] = 0;
	if (dbg_lookup_name(e->d, name, &v))
		return v;
	if (!force_sym && parse_digits(s, n, 16, &v))
		return v;
	ex_fail(e, "no symbol named '%s'", name);
	return 0;
}

static uint64_t ex_unary(struct ex *e)
{
	ex_ws(e);
	char c = *e->p;
	if (c == '-' || c == '~' || c == '#' || c == '*') {
		if (++e->depth > MAX_DEPTH) {
			ex_fail(e, "expression nested too deeply");
			return 0;
		}
		e->p++;
		uint64_t v = ex_unary(e);
		e->depth--;
		if (e->failed)
			return 0;
		if (c == '-')
			return -v;
		if (c == '~')
			return ~v;
		if (c == '#')
			return !v;
		uint64_t m;
		if (dbg_vread(e->d, v, &m, 8)) {
			ex_fail(e, "cannot read 8 bytes at %llx",
				(unsigned long long)v);
			return 0;
		}
		return m;
	}
	return ex_primary(e);
}

static uint64_t ex_mul(struct ex *e)
{
	uint64_t v = ex_unary(e);
	for (;;) {
		ex_ws(e);
		char c = *e->p;
		if (c != '*' && c != '%' && !(c == '/' && e->in_paren))
			return v;
		e->p++;
		uint64_t r = ex_unary(e);
		if (e->failed)
			return 0;
		if (c == '*') {
			v *= r;
		} else if (r == 0) {
			ex_fail(e, "division by zero");
			return 0;
		} else {
			v /= r;
		}
	}
}

static uint64_t ex_add(struct ex *e)
{
	uint64_t v = ex_mul(e);
	for (;;) {
		ex_ws(e);
		char c = *e->p;
		if (c != '+' && c != '-')
			return v;
		e->p++;
		uint64_t r = ex_mul(e);
		v = c == '+' ? v + r : v - r;
	}
}

static uint64_t ex_shift(struct ex *e)
{
	uint64_t v = ex_add(e);
	for (;;) {
		ex_ws(e);
		if (!((e->p[0] == '<' && e->p[1] == '<') ||
		      (e->p[0] == '>' && e->p[1] == '>')))
			return v;
		char c = e->p[0];
		e->p += 2;
		uint64_t r = ex_add(e);
		if (r >= 64)
			v = 0;
		else
			v = c == '<' ? v << r : v >> r;
	}
}

static uint64_t ex_and(struct ex *e)
{
	uint64_t v = ex_shift(e);
	for (;;) {
		ex_ws(e);
		if (*e->p != '&')
			return v;
		e->p++;
		v &= ex_shift(e);
	}
}

static uint64_t ex_xor(struct ex *e)
{
	uint64_t v = ex_and(e);
	for (;;) {
		ex_ws(e);
		if (*e->p != '^')
			return v;
		e->p++;
		v ^= ex_and(e);
	}
}

static uint64_t ex_or(struct ex *e)
{
	uint64_t v = ex_xor(e);
	for (;;) {
		ex_ws(e);
		/* '||' never: a '|' then a command is a pipeline. */
		if (*e->p != '|' || (!e->in_paren && e->p[1] == ':') ||
		    (!e->in_paren && e->p[1] == ' ' && e->p[2] == ':'))
			return v;
		e->p++;
		v |= ex_xor(e);
	}
}

/* Parse an expression at *p; advance *p past it. */
static int expr_at(struct dbg *d, const char **p, uint64_t *val, char *err,
		   size_t errlen)
{
	struct ex e = { .d = d, .p = *p, .err = err, .errlen = errlen };
	uint64_t v = ex_or(&e);
	if (e.failed)
		return -1;
	*p = e.p;
	*val = v;
	return 0;
}

int dbg_expr_eval(struct dbg *d, const char *s, uint64_t *val, char *err,
		  size_t errlen)
{
	const char *p = s;
	if (expr_at(d, &p, val, err, errlen))
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p) {
		char sn[16];
		snprintf(err, errlen, "unexpected '%s' after the expression",
			 snip(p, sn));
		return -1;
	}
	return 0;
}

int dbg_eval_arg(struct dbg *d, const char *s, uint64_t *val)
{
	char err[256];
	if (dbg_expr_eval(d, s, val, err, sizeof(err))) {
		dbg_err(d, "%s", err);
		return -1;
	}
	return 0;
}

/* ---- commands ---- */

const struct dbg_dcmd *dbg_dcmd_find(const char *name)
{
	for (size_t i = 0; i < dbg_ndcmds; i++)
		if (strcmp(dbg_dcmds[i].name, name) == 0)
			return &dbg_dcmds[i];
	return NULL;
}

size_t dbg_dcmd_count(void)
{
	return dbg_ndcmds;
}

const struct dbg_dcmd_info *dbg_dcmd_info(size_t i)
{
	static struct dbg_dcmd_info info;
	if (i >= dbg_ndcmds)
		return NULL;
	info = (struct dbg_dcmd_info){ dbg_dcmds[i].name, dbg_dcmds[i].usage,
				       dbg_dcmds[i].descr };
	return &info;
}

/* The $x and :x shorthands, as dcmds with fixed arguments. */
static const struct {
	const char *sh;
	const char *dcmd;
	const char *arg;
} shorthands[] = {
	{ "$c", "stack", NULL },	{ "$C", "stack", "-v" },
	{ "$r", "regs", NULL },		{ "$q", "quit", NULL },
	{ "$?", "status", NULL },	{ "$b", "events", NULL },
	{ ":c", "cont", NULL },		{ ":s", "step", NULL },
	{ ":e", "next", NULL },		{ ":b", "bp", NULL },
	{ ":d", "delete", NULL },	{ ":z", "delete", "all" },
};

static int split_args(char *s, struct dbg_call *c, struct dbg *d)
{
	c->argc = 0;
	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (c->argc == DBG_MAX_ARGS) {
			dbg_err(d, "too many arguments");
			return -1;
		}
		char q = (*s == '"' || *s == '\'') ? *s++ : 0;
		c->argv[c->argc++] = s;
		while (*s && (q ? *s != q : (*s != ' ' && *s != '\t')))
			s++;
		if (q && !*s) {
			dbg_err(d, "unterminated quote");
			return -1;
		}
		if (*s)
			*s++ = 0;
	}
	return 0;
}

static enum dbg_result run_dcmd(struct dbg *d, const struct dbg_dcmd *dc,
				struct dbg_call *c)
{
	if (c->have_addr)
		d->dot = c->addr;
	int rc = dc->fn(d, c);
	switch (rc) {
	case DCMD_OK:
		return DBG_OK;
	case DCMD_USAGE:
		dbg_printf(d, "Usage: %s%s %s\n", c->have_addr ? "[addr]" : "",
			   dc->name, dc->usage);
		return DBG_ERR;
	case DCMD_RESUMED:
		return DBG_RESUMED;
	case DCMD_QUIT:
		return DBG_QUIT;
	default:
		return DBG_ERR;
	}
}

/* Where a pipeline's right side splits off a "::dcmd args" tail. */
static char *pipe_split(char *s)
{
	char q = 0;
	for (; *s; s++) {
		if (q) {
			if (*s == q)
				q = 0;
		} else if (*s == '"' || *s == '\'') {
			q = *s;
		} else if (*s == '|') {
			return s;
		}
	}
	return NULL;
}

/* First number on a line of output (labels ending in ':' skipped). */
static bool line_value(const char *line, uint64_t *v)
{
	char tok[64];
	while (*line) {
		while (*line == ' ' || *line == '\t')
			line++;
		size_t n = 0;
		while (line[n] && line[n] != ' ' && line[n] != '\t')
			n++;
		if (!n)
			break;
		if (line[n - 1] != ':' && n < sizeof(tok)) {
			memcpy(tok, line, n);
			tok[n] = 0;
			const char *t = tok;
			if (t[0] == '0' && (t[1] == 'x' || t[1] == 'X'))
				t += 2;
			return parse_digits(t, strlen(t), 16, v);
		}
		line += n;
	}
	return false;
}

static enum dbg_result exec_one(struct dbg *d, char *cmd, unsigned depth);

/* One command, no ';' in it; pipelines handled here. */
static enum dbg_result exec_cmd(struct dbg *d, char *cmd, unsigned depth)
{
	struct dbg_call c = { 0 };
	char err[256];
	const char *p = cmd;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p) {
		/* A blank line goes on from where the last format stopped. */
		if (!d->last_fmtch || d->last_fmtch == '=')
			return DBG_OK;
		uint64_t next;
		d->dot = d->next_dot;
		if (dbg_format(d, d->dot, d->last_count, d->last_fmtch,
			       d->last_fmt, &next))
			return DBG_ERR;
		d->next_dot = next;
		return DBG_OK;
	}
	if (*p != ':' && *p != '$' && *p != '/' && *p != '?' && *p != '=' &&
	    *p != ',') {
		if (expr_at(d, &p, &c.addr, err, sizeof(err))) {
			dbg_err(d, "%s", err);
			return DBG_ERR;
		}
		c.have_addr = true;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == ',') {
		p++;
		if (expr_at(d, &p, &c.count, err, sizeof(err))) {
			dbg_err(d, "%s", err);
			return DBG_ERR;
		}
		c.have_count = true;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	if (!*p) {
		if (c.have_addr)
			d->dot = c.addr;
		return DBG_OK;
	}
	if (*p == '/' || *p == '?' || *p == '=') {
		char mode = *p++;
		uint64_t addr = c.have_addr ? c.addr : d->dot;
		uint64_t count = c.have_count ? c.count : 1;
		while (*p == ' ')
			p++;
		const char *fmt = *p ? p : (d->last_fmt[0] ? d->last_fmt : "X");
		if (count > 100000) {
			dbg_err(d, "count %llu is too large",
				(unsigned long long)count);
			return DBG_ERR;
		}
		if (strlen(fmt) >= sizeof(d->last_fmt)) {
			dbg_err(d, "format too long");
			return DBG_ERR;
		}
		char fbuf[sizeof(d->last_fmt)];
		snprintf(fbuf, sizeof(fbuf), "%s", fmt);
		d->dot = addr;
		uint64_t next = addr;
		int rc = dbg_format(d, addr, count, mode, fbuf, &next);
		snprintf(d->last_fmt, sizeof(d->last_fmt), "%s", fbuf);
		d->last_fmtch = mode;
		d->last_count = count;
		d->next_dot = next;
		return rc ? DBG_ERR : DBG_OK;
	}
	/* A dcmd: "::name args", "$x", ":x". */
	char name[64];
	const char *fixed_arg = NULL;
	const char *rest;
	if (p[0] == ':' && p[1] == ':') {
		p += 2;
		size_t n = 0;
		while (p[n] && (isalnum((unsigned char)p[n]) || p[n] == '_') &&
		       n < sizeof(name) - 1)
			n++;
		memcpy(name, p, n);
		name[n] = 0;
		rest = p + n;
		if (!n) {
			dbg_err(d, "'::' wants a command name (try ::help)");
			return DBG_ERR;
		}
	} else {
		size_t i;
		for (i = 0; i < sizeof(shorthands) / sizeof(shorthands[0]); i++)
			if (p[0] == shorthands[i].sh[0] &&
			    p[1] == shorthands[i].sh[1])
				break;
		if (i == sizeof(shorthands) / sizeof(shorthands[0])) {
			dbg_err(d, "'%.2s' is not a command (try ::help)", p);
			return DBG_ERR;
		}
		snprintf(name, sizeof(name), "%s", shorthands[i].dcmd);
		fixed_arg = shorthands[i].arg;
		rest = p + 2;
	}
	const struct dbg_dcmd *dc = dbg_dcmd_find(name);
	if (!dc) {
		dbg_err(d, "'%s' is not a dcmd (::help lists them)", name);
		return DBG_ERR;
	}
	char *args = cmd + (rest - cmd);
	char *pipe = pipe_split(args);
	if (pipe)
		*pipe++ = 0;
	if (split_args(args, &c, d))
		return DBG_ERR;
	if (fixed_arg && c.argc < DBG_MAX_ARGS)
		c.argv[c.argc++] = fixed_arg;
	if (!pipe)
		return run_dcmd(d, dc, &c);

	/* Pipeline: the left side's output feeds the right side. */
	if (depth > 8 || d->capturing) {
		dbg_err(d, "pipelines nest too deeply");
		return DBG_ERR;
	}
	d->capturing = true;
	d->cap_len = 0;
	if (d->cap)
		d->cap[0] = 0;
	enum dbg_result r = run_dcmd(d, dc, &c);
	d->capturing = false;
	if (r != DBG_OK)
		return r;
	char *text = d->cap ? strdup(d->cap) : strdup("");
	if (!text)
		return DBG_ERR;
	unsigned lines = 0;
	enum dbg_result res = DBG_OK;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		uint64_t v;
		if (!line_value(l, &v))
			continue;
		if (++lines > MAX_PIPE_LINES)
			break;
		char buf[1024];
		snprintf(buf, sizeof(buf), "%llx%s", (unsigned long long)v,
			 pipe);
		res = exec_one(d, buf, depth + 1);
		if (res != DBG_OK)
			break;
	}
	free(text);
	return res;
}

static enum dbg_result exec_one(struct dbg *d, char *cmd, unsigned depth)
{
	/* A leading space keeps "addr" from taking over the dcmd's dot. */
	return exec_cmd(d, cmd, depth);
}

/*
 * A Linux kernel moved by KASLR: find its slide again before each line
 * (it changes with every boot; debug/kaslr.c).  Kept when it cannot be
 * told now, e.g. the machine is running.
 */
static void update_slide(struct dbg *d)
{
	const struct dbg_sym *text = d->have_syms
		? dbg_sym_byname(&d->syms, "_text") : NULL;
	int64_t slide;
	if (text && kz_kernel_slide(d->t, d->cpu, text->addr, &slide) == 0)
		d->syms.slide = slide;
}

enum dbg_result dbg_exec(struct dbg *d, const char *line)
{
	size_t n = strlen(line);
	update_slide(d);
	if (n > 4096) {
		dbg_err(d, "line too long");
		return DBG_ERR;
	}
	char *copy = strdup(line);
	if (!copy)
		return DBG_ERR;
	/* Strip the line end and split on ';' outside quotes. */
	copy[strcspn(copy, "\r\n")] = 0;
	enum dbg_result r = DBG_OK;
	char *s = copy;
	bool blank_ok = true;
	for (;;) {
		char *q = s, quote = 0;
		for (; *q; q++) {
			if (quote) {
				if (*q == quote)
					quote = 0;
			} else if (*q == '"' || *q == '\'') {
				quote = *q;
			} else if (*q == ';' || *q == '!') {
				break;
			}
		}
		char end = *q;
		*q = 0;
		if (end == '!') {
			dbg_err(d, "shell escapes are not available in the "
				"kernel debugger");
			r = DBG_ERR;
			break;
		}
		bool blank = strspn(s, " \t") == strlen(s);
		if (!blank || (blank_ok && !end))
			r = exec_cmd(d, s, 0);
		blank_ok = false;
		if (r == DBG_ERR || r == DBG_RESUMED || r == DBG_QUIT || !end)
			break;
		s = q + 1;
	}
	free(copy);
	return r;
}

/* ---- session ---- */

int dbg_create(struct dbg **out, const struct dbg_opts *o, char *err,
	       size_t errlen)
{
	struct dbg *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	d->t = o->target;
	d->out = o->out;
	d->out_ctx = o->out_ctx;
	d->postmortem = o->postmortem;
	d->next_bp_id = 1;
	snprintf(d->name, sizeof(d->name), "%s", o->name ? o->name : "target");
	snprintf(d->prog, sizeof(d->prog), "%s", o->prog ? o->prog : "kmdb");
	if (o->kernel) {
		int rc = dbg_sym_load(&d->syms, o->kernel, err, errlen);
		if (rc) {
			free(d);
			return rc;
		}
		d->have_syms = true;
	}
	*out = d;
	return 0;
}

void dbg_destroy(struct dbg *d)
{
	if (!d)
		return;
	if (d->have_syms)
		dbg_sym_free(&d->syms);
	free(d->cap);
	free(d);
}

void dbg_prompt(struct dbg *d, char *buf, size_t len)
{
	snprintf(buf, len, "[%u]> ", d->cpu);
}

bool dbg_has_breakpoints(struct dbg *d)
{
	for (unsigned i = 0; i < DBG_MAX_BP; i++)
		if (d->bp[i].used && d->bp[i].enabled)
			return true;
	return false;
}

void dbg_forget_breakpoints(struct dbg *d)
{
	memset(d->bp, 0, sizeof(d->bp));
}
