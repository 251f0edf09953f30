/*
 * Inside the debugger engine: the session structure shared by the parser
 * (dbg.c), the formats and disassembler (dbg_fmt.c) and the dcmds
 * (dbg_cmds.c).  Only debug/ includes this.
 */
#ifndef KZ_DEBUG_DBG_IMPL_H
#define KZ_DEBUG_DBG_IMPL_H

#include "dbg.h"
#include "dbg_sym.h"
#include "target.h"

#include <stdbool.h>
#include <stdint.h>

#define DBG_MAX_BP	32
#define DBG_MAX_ARGS	16
#define DBG_MAX_FRAMES	64

enum dbg_bp_kind { DBG_BP_SW, DBG_BP_HW, DBG_BP_WATCH };

struct dbg_bp {
	bool used;
	bool enabled;
	bool planted;		/* in the target now */
	bool temporary;		/* :e's step-over breakpoint */
	unsigned id;
	enum dbg_bp_kind kind;
	enum kz_break_kind tkind;
	uint64_t addr;
	unsigned len;
	uint64_t hits;
	uint8_t orig;		/* the byte under a planted int3 */
};

struct dbg {
	struct kz_target *t;
	dbg_out_fn out;
	void *out_ctx;
	char name[128];
	char prog[16];
	bool postmortem;
	struct dbg_symtab syms;
	bool have_syms;
	unsigned cpu;		/* current vCPU (::switch) */
	uint64_t dot;		/* "." */
	uint64_t last_count;
	char last_fmt[64];	/* for a blank line */
	char last_fmtch;	/* '/', '?' or '=' */
	uint64_t next_dot;	/* where a blank line continues */
	struct dbg_bp bp[DBG_MAX_BP];
	unsigned next_bp_id;
	char why[128];		/* how the debugger was last entered */
	/* Output capture for the left side of a pipeline. */
	char *cap;
	size_t cap_len, cap_size;
	bool capturing;
	bool quit;
};

/* How a dcmd was invoked: "addr,count::name args". */
struct dbg_call {
	bool have_addr;
	uint64_t addr;
	bool have_count;
	uint64_t count;
	int argc;
	const char *argv[DBG_MAX_ARGS];
};

enum { DCMD_OK, DCMD_ERR, DCMD_USAGE, DCMD_RESUMED, DCMD_QUIT };

struct dbg_dcmd {
	const char *name;
	const char *usage;
	const char *descr;
	int (*fn)(struct dbg *d, const struct dbg_call *c);
	const char *help;	/* NULL: the description says it all */
};

/* dbg.c */
void dbg_err(struct dbg *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void dbg_write(struct dbg *d, const char *buf, size_t len);
int dbg_eval_arg(struct dbg *d, const char *s, uint64_t *val);
/* Virtual reads through the current vCPU's page tables. */
int dbg_vread(struct dbg *d, uint64_t va, void *buf, size_t len);
int dbg_regs(struct dbg *d, unsigned cpu, struct kz_regs *r);
/* "sym+0x12" or a bare hex address; with the file:line when asked. */
void dbg_symbolize(struct dbg *d, uint64_t addr, char *buf, size_t len);
const struct dbg_sym *dbg_lookup_addr(struct dbg *d, uint64_t addr,
				      uint64_t *off);
bool dbg_lookup_name(struct dbg *d, const char *name, uint64_t *addr);
const struct dbg_dcmd *dbg_dcmd_find(const char *name);
int dbg_reg_by_name(const struct kz_regs *r, const char *name,
		    uint64_t *val);

/* dbg_fmt.c */
int dbg_format(struct dbg *d, uint64_t addr, uint64_t count, char mode,
	       const char *fmt, uint64_t *next);
/* Disassemble n instructions from addr; *next the address after. */
int dbg_dis(struct dbg *d, uint64_t addr, unsigned n, bool lines,
	    uint64_t stop_at, uint64_t mark, uint64_t *next);
/* Length of the instruction at addr and whether it is a call. */
int dbg_insn_info(struct dbg *d, uint64_t addr, unsigned *len, bool *call);

/* dbg_cmds.c */
extern const struct dbg_dcmd dbg_dcmds[];
extern const size_t dbg_ndcmds;
int dbg_run_control_ok(struct dbg *d);
void dbg_where(struct dbg *d, unsigned cpu);

#endif
