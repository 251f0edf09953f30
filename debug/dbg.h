/*
 * The kmdb-style debugger engine: mdb syntax over one struct kz_target.
 *
 * A session (struct dbg) holds what mdb calls the debugger state: dot,
 * the current vCPU, the last format, the breakpoint list and the kernel's
 * symbols.  Frontends feed it one line at a time with dbg_exec() and
 * print what comes out of the output callback.  The frontends are:
 *   - kzhost (dbg_host.c): the zone console after ~#, a panic with the
 *     debugger armed, and kzdb -z over run/ZONE/kmdb.sock;
 *   - kzdb (kzdb.c) in-process on a vmcore (no run control).
 * The engine never waits for the guest on its own: a command that lets
 * the guest run (:c) returns DBG_RESUMED and the frontend waits for the
 * next event, then hands it to dbg_stopped().  Steps (:s, :e) finish
 * inside dbg_exec.
 */
#ifndef KZ_DEBUG_DBG_H
#define KZ_DEBUG_DBG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kz_target;
struct kz_event;
struct dbg;

/* What dbg_exec() did with a line. */
enum dbg_result {
	DBG_OK,
	DBG_ERR,	/* a command failed; its message was printed */
	DBG_RESUMED,	/* the guest runs: wait for an event, then dbg_stopped */
	DBG_QUIT,	/* $q: leave (the frontend resumes and releases) */
};

typedef void (*dbg_out_fn)(void *ctx, const char *buf, size_t len);

struct dbg_opts {
	struct kz_target *target;
	dbg_out_fn out;
	void *out_ctx;
	const char *kernel;	/* ELF (or System.map) for symbols; may be NULL */
	const char *name;	/* what ::status calls the target */
	const char *prog;	/* prefix of error messages: "kmdb", "kzdb" */
	bool postmortem;	/* a crash dump: no run control */
};

int dbg_create(struct dbg **out, const struct dbg_opts *o, char *err,
	       size_t errlen) __attribute__((warn_unused_result));
void dbg_destroy(struct dbg *d);

/* Run one input line (commands separated by ';', pipelines by '|'). */
enum dbg_result dbg_exec(struct dbg *d, const char *line);
/* The guest stopped (after DBG_RESUMED): say where, make that cpu current. */
void dbg_stopped(struct dbg *d, const struct kz_event *ev);
/* The prompt, "[N]> " with N the current vCPU. */
void dbg_prompt(struct dbg *d, char *buf, size_t len);
/* Tell the session where the guest stands when it is entered. */
void dbg_enter(struct dbg *d, const char *why, unsigned cpu);
/* Are breakpoints set (the frontend keeps the claim while they are)? */
bool dbg_has_breakpoints(struct dbg *d);
/* Forget breakpoints without touching the target (it removed them). */
void dbg_forget_breakpoints(struct dbg *d);
/* Print a formatted message through the session's output. */
void dbg_printf(struct dbg *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The expression evaluator on its own (unit tests, fuzzing): evaluates
 * the whole of s; -1 with a one-line message in err on error.
 */
int dbg_expr_eval(struct dbg *d, const char *s, uint64_t *val, char *err,
		  size_t errlen);

/* The dcmd table, for ::help and for kzsh's completion. */
struct dbg_dcmd_info {
	const char *name;
	const char *usage;
	const char *descr;
};
size_t dbg_dcmd_count(void);
const struct dbg_dcmd_info *dbg_dcmd_info(size_t i);

/* kzdb's entry, shared with kzsh. */
int cmd_kzdb(int argc, char **argv);

#endif
