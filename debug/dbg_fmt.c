/*
 * Formats (addr/fmt, addr?fmt, value=fmt, the /v /w /W /Z writes) and the
 * disassembler (capstone, AT&T syntax as mdb prints it), with symbol+offset
 * labels, call and jump targets named, and DWARF file:line where known.
 *
 * Reads guest memory only through dbg_vread (the current vCPU's page
 * tables); a read that fails ends the format with one error line.
 */
#include "dbg_impl.h"

#include <capstone/capstone.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_W 20

struct fmt_item {
	char ch;
	unsigned size;		/* bytes it consumes in / mode */
};

static unsigned item_size(char c)
{
	switch (c) {
	case 'B': case 'b': case 'c': case 'C': case 'v':
		return 1;
	case 'x': case 'd': case 'u': case 'o': case 'q': case 'w':
		return 2;
	case 'X': case 'D': case 'U': case 'O': case 'Q': case 'f': case 'W':
		return 4;
	case 'K': case 'J': case 'E': case 'e': case 'p': case 'F': case 'Z':
	case 'g': case 'G':
		return 8;
	case 's': case 'i':
		return 0;	/* variable */
	case 'a': case 'n': case 't': case 'r': case '+': case '^':
		return 0;
	default:
		return UINT32_MAX;
	}
}

static void label(struct dbg *d, uint64_t addr)
{
	char sym[256];
	dbg_symbolize(d, addr, sym, sizeof(sym));
	size_t n = strlen(sym) + 1;
	dbg_printf(d, "%s:%*s", sym, n < LABEL_W ? (int)(LABEL_W - n) : 1, "");
}

static void print_char(struct dbg *d, uint8_t c, bool caret)
{
	if (isprint(c))
		dbg_printf(d, "%c", c);
	else if (caret && c < 0x20)
		dbg_printf(d, "^%c", c + '@');
	else
		dbg_printf(d, "\\%03o", c);
}

/* One value in one format character (both / and = modes). */
static void print_value(struct dbg *d, char c, uint64_t v)
{
	char sym[256];
	switch (c) {
	case 'B': dbg_printf(d, "%-4llx", (unsigned long long)(v & 0xff)); break;
	case 'b': dbg_printf(d, "%-4llo", (unsigned long long)(v & 0xff)); break;
	case 'x': dbg_printf(d, "%-6llx", (unsigned long long)(v & 0xffff)); break;
	case 'X': dbg_printf(d, "%-10llx", (unsigned long long)(v & 0xffffffff)); break;
	case 'K': dbg_printf(d, "%-18llx", (unsigned long long)v); break;
	case 'J': dbg_printf(d, "%-18llx", (unsigned long long)v); break;
	case 'd': dbg_printf(d, "%-6d", (int16_t)v); break;
	case 'u': dbg_printf(d, "%-6u", (uint16_t)v); break;
	case 'D': dbg_printf(d, "%-11d", (int32_t)v); break;
	case 'U': dbg_printf(d, "%-11u", (uint32_t)v); break;
	case 'e': dbg_printf(d, "%-20lld", (long long)v); break;
	case 'E': dbg_printf(d, "%-20llu", (unsigned long long)v); break;
	case 'o': dbg_printf(d, "%-7llo", (unsigned long long)(v & 0xffff)); break;
	case 'O': dbg_printf(d, "%-12llo", (unsigned long long)(v & 0xffffffff)); break;
	case 'q': dbg_printf(d, "%-7lo", (long)(int16_t)v); break;
	case 'Q': dbg_printf(d, "%-12lo", (long)(int32_t)v); break;
	case 'c': print_char(d, (uint8_t)v, false); break;
	case 'C': print_char(d, (uint8_t)v, true); break;
	case 'p':
	case 'a':
		dbg_symbolize(d, v, sym, sizeof(sym));
		dbg_printf(d, "%s ", sym);
		break;
	case 'f': {
		float f;
		uint32_t u = (uint32_t)v;
		memcpy(&f, &u, 4);
		dbg_printf(d, "%-14g", (double)f);
		break;
	}
	case 'F': {
		double f;
		memcpy(&f, &v, 8);
		dbg_printf(d, "%-24g", f);
		break;
	}
	default:
		break;
	}
}

/* "/v 41 42", "/Z 0" and so on: write values starting at addr. */
static int write_values(struct dbg *d, uint64_t addr, char wc,
			const char *args, uint64_t *next)
{
	unsigned size = item_size(wc);
	char *copy = strdup(args), *save = NULL;
	int rc = 0;
	if (!copy)
		return -1;
	if (!d->t->ops->write_phys) {
		dbg_err(d, "this target cannot be written to");
		free(copy);
		return -1;
	}
	unsigned n = 0;
	for (char *tok = strtok_r(copy, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save), n++) {
		uint64_t v, old = 0;
		if (dbg_eval_arg(d, tok, &v)) {
			rc = -1;
			break;
		}
		if (dbg_vread(d, addr, &old, size) ||
		    kz_target_write_virt(d->t, d->cpu, addr, &v, size)) {
			dbg_err(d, "failed to write %u bytes at %llx", size,
				(unsigned long long)addr);
			rc = -1;
			break;
		}
		label(d, addr);
		dbg_printf(d, "%llx = %llx\n", (unsigned long long)old,
			   (unsigned long long)(size == 8 ? v
				: v & ((1ULL << (size * 8)) - 1)));
		addr += size;
	}
	if (!rc && n == 0) {
		dbg_err(d, "/%c wants values to write", wc);
		rc = -1;
	}
	*next = addr;
	free(copy);
	return rc;
}

/* Parse "[N]c" items; -1 on an unknown format character. */
static int parse_fmt(struct dbg *d, const char *fmt, struct fmt_item *items,
		     unsigned max, unsigned *n)
{
	*n = 0;
	for (const char *p = fmt; *p;) {
		unsigned rep = 0;
		while (isdigit((unsigned char)*p) && rep < 1000)
			rep = rep * 10 + (unsigned)(*p++ - '0');
		if (!*p)
			break;
		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		char c = *p++;
		if (item_size(c) == UINT32_MAX) {
			dbg_err(d, "'%c' is not a format (::formats lists them)",
				c);
			return -1;
		}
		for (unsigned i = 0; i < (rep ? rep : 1); i++) {
			if (*n == max) {
				dbg_err(d, "format too long");
				return -1;
			}
			items[(*n)++] = (struct fmt_item){ c, item_size(c) };
		}
	}
	if (*n == 0) {
		dbg_err(d, "empty format");
		return -1;
	}
	return 0;
}

static int fmt_value(struct dbg *d, uint64_t v, const struct fmt_item *it,
		     unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char c = it[i].ch;
		if (c == 'n')
			dbg_printf(d, "\n");
		else if (c == 't')
			dbg_printf(d, "\t");
		else if (c == 'r')
			dbg_printf(d, " ");
		else if (c == 's' || c == 'i' || c == '+' || c == '^') {
			dbg_err(d, "'%c' needs memory: use /%c", c, c);
			return -1;
		} else
			print_value(d, c, v);
	}
	dbg_printf(d, "\n");
	return 0;
}

int dbg_format(struct dbg *d, uint64_t addr, uint64_t count, char mode,
	       const char *fmt, uint64_t *next)
{
	struct fmt_item items[64];
	unsigned n;
	*next = addr;
	if (mode != '=' && strchr("vwWZ", fmt[0]))
		return write_values(d, addr, fmt[0], fmt + 1, next);
	if (parse_fmt(d, fmt, items, 64, &n))
		return -1;
	if (mode == '=')
		return fmt_value(d, addr, items, n);
	for (uint64_t r = 0; r < count; r++) {
		bool line_open = false;
		for (unsigned i = 0; i < n; i++) {
			char c = items[i].ch;
			if (c == 'i') {
				if (line_open)
					dbg_printf(d, "\n");
				line_open = false;
				uint64_t after;
				if (dbg_dis(d, addr, 1, false, 0, 0, &after))
					return -1;
				addr = after;
				continue;
			}
			/* Read before the label: a bad address is one line. */
			uint64_t v = 0;
			if (items[i].size && dbg_vread(d, addr, &v,
						       items[i].size)) {
				if (line_open)
					dbg_printf(d, "\n");
				dbg_err(d, "failed to read %u bytes at %llx",
					items[i].size, (unsigned long long)addr);
				*next = addr;
				return -1;
			}
			if (c == 's' && dbg_vread(d, addr, &v, 1)) {
				if (line_open)
					dbg_printf(d, "\n");
				dbg_err(d, "failed to read a string at %llx",
					(unsigned long long)addr);
				return -1;
			}
			if (!line_open && c != 'n') {
				label(d, addr);
				line_open = true;
			}
			switch (c) {
			case 'n':
				dbg_printf(d, "\n");
				line_open = false;
				continue;
			case 't':
				dbg_printf(d, "\t");
				continue;
			case 'r':
				dbg_printf(d, " ");
				continue;
			case 'a':
				continue;	/* the label is the symbol */
			case '+':
				addr++;
				continue;
			case '^':
				addr--;
				continue;
			case 's': {
				char s[1024];
				size_t len = 0;
				for (; len < sizeof(s) - 1; len++) {
					if (dbg_vread(d, addr + len, &s[len], 1))
						break;
					if (!s[len])
						break;
				}
				for (size_t k = 0; k < len; k++)
					print_char(d, (uint8_t)s[k], true);
				addr += len + 1;
				continue;
			}
			}
			print_value(d, c, v);
			if (i + 1 < n && items[i + 1].ch != 'n')
				dbg_printf(d, " ");
			addr += items[i].size;
		}
		if (line_open)
			dbg_printf(d, "\n");
		*next = addr;
	}
	return 0;
}

/* ---- disassembly ---- */

static int dis_open(csh *h)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, h) != CS_ERR_OK)
		return -1;
	cs_option(*h, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
	cs_option(*h, CS_OPT_DETAIL, CS_OPT_ON);
	return 0;
}

/* Read up to 15 bytes at addr, fewer at the end of mapped memory. */
static size_t read_insn_bytes(struct dbg *d, uint64_t addr, uint8_t *buf)
{
	if (dbg_vread(d, addr, buf, 15) == 0)
		return 15;
	size_t n = 0;
	while (n < 15 && dbg_vread(d, addr + n, buf + n, 1) == 0)
		n++;
	return n;
}

/* The branch target of a call or jump with an immediate operand. */
static bool branch_target(csh h, const cs_insn *in, uint64_t *to)
{
	if (!in->detail)
		return false;
	if (!cs_insn_group(h, in, X86_GRP_CALL) &&
	    !cs_insn_group(h, in, X86_GRP_JUMP))
		return false;
	const cs_x86 *x = &in->detail->x86;
	if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM) {
		*to = (uint64_t)x->operands[0].imm;
		return true;
	}
	return false;
}

int dbg_insn_info(struct dbg *d, uint64_t addr, unsigned *len, bool *call)
{
	csh h;
	uint8_t buf[16];
	cs_insn *in;
	size_t n = read_insn_bytes(d, addr, buf);
	if (!n || dis_open(&h))
		return -1;
	int rc = -1;
	if (cs_disasm(h, buf, n, addr, 1, &in) == 1) {
		*len = in->size;
		*call = cs_insn_group(h, in, X86_GRP_CALL);
		cs_free(in, 1);
		rc = 0;
	}
	cs_close(&h);
	return rc;
}

int dbg_dis(struct dbg *d, uint64_t addr, unsigned n, bool lines,
	    uint64_t stop_at, uint64_t mark, uint64_t *next)
{
	csh h;
	const char *last_file = NULL;
	unsigned last_line = 0;
	if (dis_open(&h)) {
		dbg_err(d, "the disassembler did not start");
		return -1;
	}
	cs_insn *in = cs_malloc(h);
	int rc = 0;
	for (unsigned i = 0; i < n && (!stop_at || addr < stop_at); i++) {
		uint8_t buf[16];
		size_t len = read_insn_bytes(d, addr, buf);
		if (!len) {
			dbg_err(d, "failed to read instructions at %llx",
				(unsigned long long)addr);
			rc = -1;
			break;
		}
		const uint8_t *code = buf;
		uint64_t pc = addr;
		if (lines && d->have_syms) {
			const char *file;
			unsigned line;
			if (dbg_sym_line(&d->syms, addr - (uint64_t)d->syms.slide,
					 &file, &line) &&
			    (file != last_file || line != last_line)) {
				dbg_printf(d, "%s:%u\n", file, line);
				last_file = file;
				last_line = line;
			}
		}
		char sym[256];
		dbg_symbolize(d, addr, sym, sizeof(sym));
		dbg_printf(d, "%s%s:%*s", mark && addr == mark ? ">" : "", sym,
			   strlen(sym) + 1 < LABEL_W
				   ? (int)(LABEL_W - strlen(sym) - 1) : 1, "");
		if (!cs_disasm_iter(h, &code, &len, &pc, in)) {
			dbg_printf(d, ".byte  0x%02x\n", buf[0]);
			addr++;
			continue;
		}
		uint64_t to;
		if (branch_target(h, in, &to)) {
			char tsym[256];
			dbg_symbolize(d, to, tsym, sizeof(tsym));
			dbg_printf(d, "%-7s %s <%s>\n", in->mnemonic,
				   in->op_str, tsym);
		} else if (in->op_str[0]) {
			dbg_printf(d, "%-7s %s\n", in->mnemonic, in->op_str);
		} else {
			dbg_printf(d, "%s\n", in->mnemonic);
		}
		addr += in->size;
	}
	cs_free(in, 1);
	cs_close(&h);
	*next = addr;
	return rc;
}
