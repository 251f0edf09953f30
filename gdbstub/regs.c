/*
 * x86-64 registers for gdb: the target description and the g/G layout,
 * both from reg_table below.
 *
 * gdb recognises an amd64 target by the features org.gnu.gdb.i386.core
 * and .sse (register names in its fixed order), .segments (fs_base,
 * gs_base) and .avx (ymm0h..ymm15h, the upper halves).  What gdb has no
 * feature for -- the kernel GS base, control registers and EFER, which
 * kernel developers want beside rip -- goes in a feature of our own with
 * the names QEMU uses (k_gs_base, cr0, cr2, cr3, cr4, cr8, efer), so the
 * same `info registers cr3` works against either.  Registers without a
 * group show up in plain `info registers`.
 *
 * FPU state comes as an XSAVE image (standard format): the legacy FXSAVE
 * region at 0 (x87, MXCSR, XMM), the header's XSTATE_BV at 512 (a clear
 * bit means that component is in its initial state), AVX upper halves at
 * 576.  FXSAVE keeps an abridged tag byte; gdb wants the full tag word,
 * so it is derived from the register contents, as the x87 itself would.
 */
#include "regs.h"
#include "target.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

enum reg_kind {
	R_GPR,		/* 64-bit field of struct kz_regs at off */
	R_EFLAGS,
	R_SEL,		/* selector of the struct kz_seg at off */
	R_ST,		/* x87 register n */
	R_FCTRL, R_FSTAT, R_FTAG, R_FISEG, R_FIOFF, R_FOSEG, R_FOOFF, R_FOP,
	R_XMM,		/* xmm n */
	R_MXCSR,
	R_YMMH,		/* upper half of ymm n */
};

struct reg_def {
	const char *name;
	unsigned bits;
	const char *type;
	const char *group;	/* NULL: let gdb decide (general) */
	enum reg_kind kind;
	unsigned arg;		/* offset into kz_regs, or register number */
	unsigned feature;
};

enum { F_CORE, F_SSE, F_SEGMENTS, F_SYS, F_AVX, F_COUNT };

#define GPR(n, t) { #n, 64, t, NULL, R_GPR, offsetof(struct kz_regs, n), F_CORE }
#define SEL(n) { #n, 32, "int32", NULL, R_SEL, offsetof(struct kz_regs, n), F_CORE }
#define ST(n) { "st" #n, 80, "i387_ext", NULL, R_ST, n, F_CORE }
#define FPC(n, k) { #n, 32, "int", "float", k, 0, F_CORE }
#define XMM(n) { "xmm" #n, 128, "vec128", NULL, R_XMM, n, F_SSE }
#define SYS(n, f, t) { #n, 64, t, NULL, R_GPR, offsetof(struct kz_regs, f), F_SYS }
#define YMMH(n) { "ymm" #n "h", 128, "uint128", NULL, R_YMMH, n, F_AVX }

static const struct reg_def reg_table[] = {
	GPR(rax, "int64"), GPR(rbx, "int64"), GPR(rcx, "int64"),
	GPR(rdx, "int64"), GPR(rsi, "int64"), GPR(rdi, "int64"),
	GPR(rbp, "data_ptr"), GPR(rsp, "data_ptr"),
	GPR(r8, "int64"), GPR(r9, "int64"), GPR(r10, "int64"),
	GPR(r11, "int64"), GPR(r12, "int64"), GPR(r13, "int64"),
	GPR(r14, "int64"), GPR(r15, "int64"),
	GPR(rip, "code_ptr"),
	{ "eflags", 32, "i386_eflags", NULL, R_EFLAGS, 0, F_CORE },
	SEL(cs), SEL(ss), SEL(ds), SEL(es), SEL(fs), SEL(gs),
	ST(0), ST(1), ST(2), ST(3), ST(4), ST(5), ST(6), ST(7),
	FPC(fctrl, R_FCTRL), FPC(fstat, R_FSTAT), FPC(ftag, R_FTAG),
	FPC(fiseg, R_FISEG), FPC(fioff, R_FIOFF), FPC(foseg, R_FOSEG),
	FPC(fooff, R_FOOFF), FPC(fop, R_FOP),
	XMM(0), XMM(1), XMM(2), XMM(3), XMM(4), XMM(5), XMM(6), XMM(7),
	XMM(8), XMM(9), XMM(10), XMM(11), XMM(12), XMM(13), XMM(14),
	XMM(15),
	{ "mxcsr", 32, "i386_mxcsr", "vector", R_MXCSR, 0, F_SSE },
	{ "fs_base", 64, "int", NULL, R_GPR, offsetof(struct kz_regs, fs_base),
	  F_SEGMENTS },
	{ "gs_base", 64, "int", NULL, R_GPR, offsetof(struct kz_regs, gs_base),
	  F_SEGMENTS },
	SYS(k_gs_base, kernel_gs_base, "int64"),
	SYS(cr0, cr0, "kz_cr0"), SYS(cr2, cr2, "int64"),
	SYS(cr3, cr3, "int64"), SYS(cr4, cr4, "kz_cr4"),
	SYS(cr8, cr8, "int64"), SYS(efer, efer, "kz_efer"),
	YMMH(0), YMMH(1), YMMH(2), YMMH(3), YMMH(4), YMMH(5), YMMH(6),
	YMMH(7), YMMH(8), YMMH(9), YMMH(10), YMMH(11), YMMH(12), YMMH(13),
	YMMH(14), YMMH(15),
};
#define NREGS (sizeof(reg_table) / sizeof(reg_table[0]))

unsigned gdb_reg_count(void)
{
	return NREGS;
}

unsigned gdb_reg_size(unsigned n)
{
	return n < NREGS ? reg_table[n].bits / 8 : 0;
}

const char *gdb_reg_name(unsigned n)
{
	return n < NREGS ? reg_table[n].name : NULL;
}

size_t gdb_regs_size(void)
{
	size_t s = 0;
	for (unsigned i = 0; i < NREGS; i++)
		s += reg_table[i].bits / 8;
	return s;
}

bool gdb_reg_is_fpu(unsigned n)
{
	return n < NREGS && reg_table[n].kind >= R_ST;
}

/* ---- XSAVE image access ---- */

#define FX_FCW		0
#define FX_FSW		2
#define FX_FTW		4	/* abridged: one bit per physical register */
#define FX_FOP		6
#define FX_FIP		8
#define FX_FDP		16
#define FX_MXCSR	24
#define FX_ST		32
#define FX_XMM		160
#define XS_BV		512
#define XS_YMMH		576

#define XFEAT_X87	1u
#define XFEAT_SSE	2u
#define XFEAT_AVX	4u

static uint64_t xstate_bv(const struct kz_fpu *f)
{
	uint64_t bv;
	if (f->size < XS_BV + 8)
		return 0;
	memcpy(&bv, f->xsave + XS_BV, 8);
	return bv;
}

/* The image is complete enough to hold off..off+len. */
static bool fpu_has(const struct kz_fpu *f, unsigned off, unsigned len)
{
	return f->size <= KZ_XSAVE_MAX && off + len <= f->size;
}

static void mark_present(struct kz_fpu *f, unsigned feat)
{
	if (f->size >= XS_BV + 8) {
		uint64_t bv = xstate_bv(f) | feat;
		memcpy(f->xsave + XS_BV, &bv, 8);
	}
}

static uint64_t le_get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void le_put(uint8_t *p, unsigned n, uint64_t v)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* x87 value in the initial state, or from the image. */
static uint64_t fx_get(const struct kz_fpu *f, unsigned off, unsigned n)
{
	if (!fpu_has(f, off, n))
		return 0;
	if (off < FX_MXCSR && !(xstate_bv(f) & XFEAT_X87) && f->size > XS_BV)
		return off == FX_FCW ? 0x37f : 0;
	return le_get(f->xsave + off, n);
}

/* Full tag word (2 bits per physical register) from the abridged byte. */
static uint16_t full_tag(const struct kz_fpu *f)
{
	unsigned ftw = (unsigned)fx_get(f, FX_FTW, 1);
	unsigned top = ((unsigned)fx_get(f, FX_FSW, 2) >> 11) & 7;
	uint16_t tag = 0;
	for (unsigned phys = 0; phys < 8; phys++) {
		unsigned t = 3;		/* empty */
		if (ftw & (1u << phys)) {
			unsigned st = (phys - top) & 7;
			uint8_t v[10] = { 0 };
			if (fpu_has(f, FX_ST + 16 * st, 10) &&
			    (xstate_bv(f) & XFEAT_X87 || f->size <= XS_BV))
				memcpy(v, f->xsave + FX_ST + 16 * st, 10);
			unsigned exp = (unsigned)le_get(v + 8, 2) & 0x7fff;
			uint64_t mant = le_get(v, 8);
			if (exp == 0x7fff)
				t = 2;		/* special: NaN or infinity */
			else if (exp == 0)
				t = mant ? 2 : 1;	/* denormal or zero */
			else
				t = mant >> 63 ? 0 : 2;	/* valid or unnormal */
		}
		tag |= (uint16_t)(t << (2 * phys));
	}
	return tag;
}

static void vec_get(const struct kz_fpu *f, unsigned off, unsigned feat,
		    uint8_t *out)
{
	memset(out, 0, 16);
	if (fpu_has(f, off, 16) && (f->size <= XS_BV || xstate_bv(f) & feat))
		memcpy(out, f->xsave + off, 16);
}

void gdb_reg_get(unsigned n, const struct kz_regs *r, const struct kz_fpu *f,
		 uint8_t *out)
{
	if (n >= NREGS)
		return;
	const struct reg_def *d = &reg_table[n];
	const uint8_t *base = (const uint8_t *)r;
	uint64_t v = 0;
	unsigned bytes = d->bits / 8;

	memset(out, 0, bytes);
	switch (d->kind) {
	case R_GPR:
		memcpy(&v, base + d->arg, 8);
		break;
	case R_EFLAGS:
		v = r->rflags & 0xffffffff;
		break;
	case R_SEL: {
		struct kz_seg s;
		memcpy(&s, base + d->arg, sizeof(s));
		v = s.selector;
		break;
	}
	case R_ST:
		if (fpu_has(f, FX_ST + 16 * d->arg, 10) &&
		    (f->size <= XS_BV || xstate_bv(f) & XFEAT_X87))
			memcpy(out, f->xsave + FX_ST + 16 * d->arg, 10);
		return;
	case R_FCTRL: v = fx_get(f, FX_FCW, 2); break;
	case R_FSTAT: v = fx_get(f, FX_FSW, 2); break;
	case R_FTAG: v = full_tag(f); break;
	case R_FOP: v = fx_get(f, FX_FOP, 2) & 0x7ff; break;
	case R_FIOFF: v = fx_get(f, FX_FIP, 4); break;
	case R_FISEG: v = (fx_get(f, FX_FIP, 8) >> 32) & 0xffff; break;
	case R_FOOFF: v = fx_get(f, FX_FDP, 4); break;
	case R_FOSEG: v = (fx_get(f, FX_FDP, 8) >> 32) & 0xffff; break;
	case R_XMM:
		vec_get(f, FX_XMM + 16 * d->arg, XFEAT_SSE, out);
		return;
	case R_MXCSR:
		v = fpu_has(f, FX_MXCSR, 4) ? le_get(f->xsave + FX_MXCSR, 4) : 0;
		break;
	case R_YMMH:
		vec_get(f, XS_YMMH + 16 * d->arg, XFEAT_AVX, out);
		return;
	}
	le_put(out, bytes, v);
}

static int fx_put(struct kz_fpu *f, unsigned off, unsigned n, uint64_t v)
{
	if (!fpu_has(f, off, n))
		return -EINVAL;
	if (off < FX_MXCSR && !(xstate_bv(f) & XFEAT_X87) && f->size > XS_BV) {
		/* Leaving the initial state: write the init values out first. */
		memset(f->xsave, 0, FX_MXCSR);
		memset(f->xsave + FX_ST, 0, 128);
		le_put(f->xsave + FX_FCW, 2, 0x37f);
		mark_present(f, XFEAT_X87);
	}
	le_put(f->xsave + off, n, v);
	return 0;
}

static int vec_put(struct kz_fpu *f, unsigned off, unsigned feat,
		   const uint8_t *in)
{
	if (!fpu_has(f, off, 16))
		return -EINVAL;
	if (f->size > XS_BV && !(xstate_bv(f) & feat)) {
		/* The rest of the component reads as zero from now on. */
		if (feat == XFEAT_SSE)
			memset(f->xsave + FX_XMM, 0, 256);
		else if (fpu_has(f, XS_YMMH, 256))
			memset(f->xsave + XS_YMMH, 0, 256);
		mark_present(f, feat);
	}
	memcpy(f->xsave + off, in, 16);
	return 0;
}

int gdb_reg_set(unsigned n, struct kz_regs *r, struct kz_fpu *f,
		const uint8_t *in)
{
	if (n >= NREGS)
		return -EINVAL;
	const struct reg_def *d = &reg_table[n];
	uint8_t *base = (uint8_t *)r;
	unsigned bytes = d->bits / 8;
	uint64_t v = bytes <= 8 ? le_get(in, bytes) : 0;

	switch (d->kind) {
	case R_GPR:
		memcpy(base + d->arg, &v, 8);
		return 0;
	case R_EFLAGS:
		r->rflags = (r->rflags & ~0xffffffffULL) | v;
		return 0;
	case R_SEL: {
		struct kz_seg s;
		if (v > 0xffff)
			return -EINVAL;
		memcpy(&s, base + d->arg, sizeof(s));
		s.selector = (uint16_t)v;
		memcpy(base + d->arg, &s, sizeof(s));
		return 0;
	}
	case R_ST: {
		int rc = fx_put(f, FX_ST + 16 * d->arg, 2,
				fx_get(f, FX_ST + 16 * d->arg, 2));
		if (rc)
			return rc;
		memcpy(f->xsave + FX_ST + 16 * d->arg, in, 10);
		return 0;
	}
	case R_FCTRL: return fx_put(f, FX_FCW, 2, v & 0xffff);
	case R_FSTAT: return fx_put(f, FX_FSW, 2, v & 0xffff);
	case R_FTAG: {
		uint64_t ab = 0;
		for (unsigned i = 0; i < 8; i++)
			if (((v >> (2 * i)) & 3) != 3)
				ab |= 1u << i;
		return fx_put(f, FX_FTW, 1, ab);
	}
	case R_FOP: return fx_put(f, FX_FOP, 2, v & 0x7ff);
	case R_FIOFF:
		return fx_put(f, FX_FIP, 8, (fx_get(f, FX_FIP, 8) &
					     ~0xffffffffULL) | (v & 0xffffffff));
	case R_FISEG:
		return fx_put(f, FX_FIP, 8, (fx_get(f, FX_FIP, 8) &
					     0xffffffffULL) | (v & 0xffff) << 32);
	case R_FOOFF:
		return fx_put(f, FX_FDP, 8, (fx_get(f, FX_FDP, 8) &
					     ~0xffffffffULL) | (v & 0xffffffff));
	case R_FOSEG:
		return fx_put(f, FX_FDP, 8, (fx_get(f, FX_FDP, 8) &
					     0xffffffffULL) | (v & 0xffff) << 32);
	case R_XMM:
		return vec_put(f, FX_XMM + 16 * d->arg, XFEAT_SSE, in);
	case R_MXCSR:
		if (!fpu_has(f, FX_MXCSR, 4) || v > 0xffff)
			return -EINVAL;	/* reserved bits fault the CPU */
		le_put(f->xsave + FX_MXCSR, 4, v);
		return 0;
	case R_YMMH:
		return vec_put(f, XS_YMMH + 16 * d->arg, XFEAT_AVX, in);
	}
	return -EINVAL;
}

/* ---- target description ---- */

static const char *const feature_names[F_COUNT] = {
	[F_CORE] = "org.gnu.gdb.i386.core",
	[F_SSE] = "org.gnu.gdb.i386.sse",
	[F_SEGMENTS] = "org.gnu.gdb.i386.segments",
	[F_SYS] = "org.kzones.gdb.x86.sys",
	[F_AVX] = "org.gnu.gdb.i386.avx",
};

struct flag_bit {
	unsigned bit;
	const char *name;
};

static const struct flag_bit eflags_bits[] = {
	{ 0, "CF" }, { 1, "" }, { 2, "PF" }, { 4, "AF" }, { 6, "ZF" },
	{ 7, "SF" }, { 8, "TF" }, { 9, "IF" }, { 10, "DF" }, { 11, "OF" },
	{ 14, "NT" }, { 16, "RF" }, { 17, "VM" }, { 18, "AC" },
	{ 19, "VIF" }, { 20, "VIP" }, { 21, "ID" }, { 0, NULL },
};

static const struct flag_bit mxcsr_bits[] = {
	{ 0, "IE" }, { 1, "DE" }, { 2, "ZE" }, { 3, "OE" }, { 4, "UE" },
	{ 5, "PE" }, { 6, "DAZ" }, { 7, "IM" }, { 8, "DM" }, { 9, "ZM" },
	{ 10, "OM" }, { 11, "UM" }, { 12, "PM" }, { 15, "FZ" }, { 0, NULL },
};

static const struct flag_bit cr0_bits[] = {
	{ 0, "PE" }, { 1, "MP" }, { 2, "EM" }, { 3, "TS" }, { 4, "ET" },
	{ 5, "NE" }, { 16, "WP" }, { 18, "AM" }, { 29, "NW" }, { 30, "CD" },
	{ 31, "PG" }, { 0, NULL },
};

static const struct flag_bit cr4_bits[] = {
	{ 0, "VME" }, { 1, "PVI" }, { 2, "TSD" }, { 3, "DE" }, { 4, "PSE" },
	{ 5, "PAE" }, { 6, "MCE" }, { 7, "PGE" }, { 8, "PCE" },
	{ 9, "OSFXSR" }, { 10, "OSXMMEXCPT" }, { 11, "UMIP" }, { 12, "LA57" },
	{ 13, "VMXE" }, { 14, "SMXE" }, { 16, "FSGSBASE" }, { 17, "PCIDE" },
	{ 18, "OSXSAVE" }, { 20, "SMEP" }, { 21, "SMAP" }, { 22, "PKE" },
	{ 0, NULL },
};

static const struct flag_bit efer_bits[] = {
	{ 0, "SCE" }, { 8, "LME" }, { 10, "LMA" }, { 11, "NXE" },
	{ 12, "SVME" }, { 13, "LMSLE" }, { 14, "FFXSR" }, { 15, "TCE" },
	{ 0, NULL },
};

static char xml[24 * 1024];
static size_t xml_len;
static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void add(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(xml + xml_len, sizeof(xml) - xml_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		xml_len += (size_t)n;
	if (xml_len >= sizeof(xml))
		xml_len = sizeof(xml) - 1;	/* caught by the unit test */
}

static void add_flags(const char *id, unsigned size,
		      const struct flag_bit *bits)
{
	add("<flags id=\"%s\" size=\"%u\">", id, size);
	for (; bits->name; bits++)
		add("<field name=\"%s\" start=\"%u\" end=\"%u\"/>", bits->name,
		    bits->bit, bits->bit);
	add("</flags>\n");
}

static void build_xml(void)
{
	add("<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
	    "<target version=\"1.0\">\n"
	    "<architecture>i386:x86-64</architecture>\n");
	for (unsigned f = 0; f < F_COUNT; f++) {
		add("<feature name=\"%s\">\n", feature_names[f]);
		if (f == F_CORE) {
			add_flags("i386_eflags", 4, eflags_bits);
		} else if (f == F_SSE) {
			add("<vector id=\"v8bf16\" type=\"bfloat16\" count=\"8\"/>"
			    "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
			    "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
			    "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
			    "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
			    "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
			    "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n"
			    "<union id=\"vec128\">"
			    "<field name=\"v8_bfloat16\" type=\"v8bf16\"/>"
			    "<field name=\"v4_float\" type=\"v4f\"/>"
			    "<field name=\"v2_double\" type=\"v2d\"/>"
			    "<field name=\"v16_int8\" type=\"v16i8\"/>"
			    "<field name=\"v8_int16\" type=\"v8i16\"/>"
			    "<field name=\"v4_int32\" type=\"v4i32\"/>"
			    "<field name=\"v2_int64\" type=\"v2i64\"/>"
			    "<field name=\"uint128\" type=\"uint128\"/>"
			    "</union>\n");
			add_flags("i386_mxcsr", 4, mxcsr_bits);
		} else if (f == F_SYS) {
			add_flags("kz_cr0", 8, cr0_bits);
			add_flags("kz_cr4", 8, cr4_bits);
			add_flags("kz_efer", 8, efer_bits);
		}
		for (unsigned i = 0; i < NREGS; i++) {
			const struct reg_def *d = &reg_table[i];
			if (d->feature != f)
				continue;
			add("<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" "
			    "regnum=\"%u\"%s%s%s/>\n", d->name, d->bits, d->type,
			    i, d->group ? " group=\"" : "",
			    d->group ? d->group : "", d->group ? "\"" : "");
		}
		add("</feature>\n");
	}
	add("</target>\n");
}

const char *gdb_target_xml(size_t *len)
{
	pthread_once(&xml_once, build_xml);
	if (len)
		*len = xml_len;
	return xml;
}
