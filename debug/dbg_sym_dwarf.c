/*
 * Source lines and unwind rules from a kernel's DWARF, read in a child
 * process.
 *
 * Why a child: the kernel file is the zone owner's, and Debian 12's
 * libdwarf (20210528) double-frees on some corrupt line tables; inside
 * kzhost that would take the zone down with the file.  The child is this
 * same program started again (posix_spawn of /proc/self/exe: a fresh
 * process, so no lock a thread of a multithreaded parent held comes
 * along, as it would with fork) with KZ_DWARF_LINES_CHILD=1 in its
 * environment.  A constructor here sees that before main, reads the lines
 * from fd 3 (the kernel file), writes them to fd 4 and exits.  The parent
 * checks what comes back like any untrusted input; a child that crashes,
 * hangs past LINES_TIMEOUT_MS or writes garbage costs the lines, not the
 * symbols.  Where /proc/self/exe cannot be started, nothing is read: no
 * lines, never the risk in-process.
 *
 * What it reads: the line tables, and the call frame information
 * (.debug_frame, else .eh_frame) evaluated by libdwarf into rows of an
 * unwind table (struct dbg_unwind: where the CFA, the return address and
 * the saved rbp are from each pc on), which is all $c needs.
 *
 * Wire format on fd 4: "KZDL", u32 nfiles, nfiles x (u32 len, bytes),
 * u64 nlines, nlines x struct dbg_line, u64 nunwind, nunwind x struct
 * dbg_unwind, all host byte order.
 */
#include "dbg_sym.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <libdwarf/dwarf.h>
#include <libdwarf/libdwarf.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINES	(16u << 20)
#define MAX_FILES	(1u << 20)
#define MAX_NAME	4096
#define LINES_TIMEOUT_MS 60000
#define CHILD_ENV	"KZ_DWARF_LINES_CHILD"
#define CHILD_IN	3
#define CHILD_OUT	4

extern char **environ;

static int file_index(struct dbg_symtab *st, const char *name, uint32_t *idx)
{
	/* Lines of one CU come in runs of the same file: look back first. */
	for (size_t i = st->nfiles; i-- > 0 && st->nfiles - i <= 64;)
		if (strcmp(st->files[i], name) == 0) {
			*idx = (uint32_t)i;
			return 0;
		}
	if (st->nfiles >= UINT32_MAX - 1)
		return -E2BIG;
	char **p = realloc(st->files, (st->nfiles + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	st->files = p;
	if (!(p[st->nfiles] = strdup(name)))
		return -ENOMEM;
	*idx = (uint32_t)st->nfiles++;
	return 0;
}

static int line_add(struct dbg_symtab *st, size_t *cap, uint64_t addr,
		    uint32_t file, uint32_t line)
{
	if (st->nlines >= MAX_LINES)
		return -E2BIG;
	if (st->nlines == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4096;
		struct dbg_line *p = realloc(st->lines, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		st->lines = p;
		*cap = ncap;
	}
	st->lines[st->nlines++] = (struct dbg_line){ addr, file, line };
	return 0;
}

static int by_line_addr(const void *a, const void *b)
{
	const struct dbg_line *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* An end of sequence before a row starting at the same address. */
	return (y->file == UINT32_MAX) - (x->file == UINT32_MAX);
}

/* One CU's line table into st; DWARF errors just end this CU. */
static void cu_lines(struct dbg_symtab *st, Dwarf_Debug dw, Dwarf_Die die,
		     size_t *cap)
{
	Dwarf_Unsigned version;
	Dwarf_Small count;
	Dwarf_Line_Context ctx;
	Dwarf_Line *buf;
	Dwarf_Signed n;
	Dwarf_Error e = NULL;

	if (dwarf_srclines_b(die, &version, &count, &ctx, &e) != DW_DLV_OK)
		return;
	if (dwarf_srclines_from_linecontext(ctx, &buf, &n, &e) != DW_DLV_OK) {
		dwarf_srclines_dealloc_b(ctx);
		return;
	}
	for (Dwarf_Signed i = 0; i < n; i++) {
		Dwarf_Addr addr;
		Dwarf_Unsigned lineno;
		Dwarf_Bool end = 0;
		char *src = NULL;
		uint32_t fidx;
		if (dwarf_lineaddr(buf[i], &addr, &e) != DW_DLV_OK ||
		    dwarf_lineno(buf[i], &lineno, &e) != DW_DLV_OK)
			continue;
		(void)dwarf_lineendsequence(buf[i], &end, &e);
		if (end) {
			if (line_add(st, cap, addr, UINT32_MAX, 0))
				break;
			continue;
		}
		if (dwarf_linesrc(buf[i], &src, &e) != DW_DLV_OK)
			continue;
		/* The base name: enough to find the line, short on screen. */
		const char *base = strrchr(src, '/');
		int rc = file_index(st, base ? base + 1 : src, &fidx);
		dwarf_dealloc(dw, src, DW_DLA_STRING);
		if (rc || line_add(st, cap, addr, fidx,
				   lineno > UINT32_MAX ? UINT32_MAX
						       : (uint32_t)lineno))
			break;
	}
	dwarf_srclines_dealloc_b(ctx);
}

/* ---- call frame information: rows of an unwind table ---- */

#define DW_RBP		6
#define DW_RSP		7
#define DW_RA		16	/* x86-64's return address column */
#define MAX_UNWIND	(4u << 20)
#define MAX_FDE_ROWS	4096

static int unwind_add(struct dbg_symtab *st, size_t *cap,
		      const struct dbg_unwind *u)
{
	if (st->nunwind >= MAX_UNWIND)
		return -E2BIG;
	if (st->nunwind == *cap) {
		size_t ncap = *cap ? *cap * 2 : 1024;
		struct dbg_unwind *p = realloc(st->unwind, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		st->unwind = p;
		*cap = ncap;
	}
	st->unwind[st->nunwind++] = *u;
	return 0;
}

static int by_unwind_pc(const void *a, const void *b)
{
	const struct dbg_unwind *x = a, *y = b;
	if (x->pc != y->pc)
		return x->pc < y->pc ? -1 : 1;
	/* The end of one FDE before a row starting at the same pc. */
	return (y->cfa_reg == DBG_UW_NONE) - (x->cfa_reg == DBG_UW_NONE);
}

/* Where rule col puts a register at pc: true with off when "at CFA+off". */
static bool at_cfa(Dwarf_Fde fde, Dwarf_Half col, Dwarf_Addr pc, int32_t *off)
{
	Dwarf_Small vt;
	Dwarf_Signed rel, reg, o;
	Dwarf_Ptr blk;
	Dwarf_Addr row, next;
	Dwarf_Bool more;
	Dwarf_Error e = NULL;
	if (dwarf_get_fde_info_for_reg3_b(fde, col, pc, &vt, &rel, &reg, &o,
					  &blk, &row, &more, &next, &e) !=
	    DW_DLV_OK)
		return false;
	if (vt != DW_EXPR_OFFSET || !rel || reg != DW_FRAME_CFA_COL3 ||
	    o < INT32_MIN || o > INT32_MAX)
		return false;
	*off = (int32_t)o;
	return true;
}

/* The rows of one FDE, and a row ending it. */
static void fde_rows(struct dbg_symtab *st, Dwarf_Fde fde, size_t *cap)
{
	Dwarf_Addr low;
	Dwarf_Unsigned len, blen;
	Dwarf_Ptr bytes;
	Dwarf_Off cie_off, fde_off;
	Dwarf_Signed cie_idx;
	Dwarf_Error e = NULL;
	if (dwarf_get_fde_range(fde, &low, &len, &bytes, &blen, &cie_off,
				&cie_idx, &fde_off, &e) != DW_DLV_OK ||
	    len == 0 || low + len < low)
		return;
	Dwarf_Addr pc = low;
	for (unsigned i = 0; i < MAX_FDE_ROWS && pc < low + len; i++) {
		Dwarf_Small vt;
		Dwarf_Signed rel, reg, off;
		Dwarf_Ptr blk;
		Dwarf_Addr row, next;
		Dwarf_Bool more = 0;
		struct dbg_unwind u = { .pc = pc, .ra_off = -8 };
		if (dwarf_get_fde_info_for_cfa_reg3_b(fde, pc, &vt, &rel, &reg,
						      &off, &blk, &row, &more,
						      &next, &e) != DW_DLV_OK)
			break;
		if (vt == DW_EXPR_OFFSET && (reg == DW_RSP || reg == DW_RBP) &&
		    off >= INT32_MIN && off <= INT32_MAX) {
			u.cfa_reg = reg == DW_RSP ? DBG_UW_RSP : DBG_UW_RBP;
			u.cfa_off = (int32_t)off;
			if (!at_cfa(fde, DW_RA, pc, &u.ra_off))
				u.cfa_reg = DBG_UW_NONE;
			u.rbp_saved = at_cfa(fde, DW_RBP, pc, &u.rbp_off);
		}
		if (unwind_add(st, cap, &u))
			return;
		if (!more || next <= pc)
			break;
		pc = next;
	}
	const struct dbg_unwind end = { .pc = low + len };
	(void)unwind_add(st, cap, &end);
}

static void load_cfi(struct dbg_symtab *st, Dwarf_Debug dw)
{
	Dwarf_Cie *cies;
	Dwarf_Fde *fdes;
	Dwarf_Signed nc, nf;
	Dwarf_Error e = NULL;
	size_t cap = 0;
	/* .debug_frame, else .eh_frame. */
	if (dwarf_get_fde_list(dw, &cies, &nc, &fdes, &nf, &e) != DW_DLV_OK &&
	    dwarf_get_fde_list_eh(dw, &cies, &nc, &fdes, &nf, &e) != DW_DLV_OK)
		return;
	for (Dwarf_Signed i = 0; i < nf; i++)
		fde_rows(st, fdes[i], &cap);
	dwarf_fde_cie_list_dealloc(dw, cies, nc, fdes, nf);
	if (st->nunwind)
		qsort(st->unwind, st->nunwind, sizeof(*st->unwind),
		      by_unwind_pc);
}

static void load_dwarf(struct dbg_symtab *st, int fd)
{
	Dwarf_Debug dw;
	Dwarf_Error e = NULL;
	size_t cap = 0;
	if (dwarf_init_b(fd, DW_DLC_READ, DW_GROUPNUMBER_ANY, NULL, NULL, &dw,
			 &e) != DW_DLV_OK) {
		if (e)
			dwarf_dealloc(NULL, e, DW_DLA_ERROR);
		return;	/* no DWARF: symbols alone */
	}
	for (unsigned cus = 0; cus < 1000000; cus++) {
		Dwarf_Unsigned hlen, abbr, next;
		Dwarf_Half ver, asz, lsz, osz, type;
		Dwarf_Sig8 sig;
		Dwarf_Unsigned toff;
		Dwarf_Die die = NULL;
		int rc = dwarf_next_cu_header_d(dw, 1, &hlen, &ver, &abbr, &asz,
						&osz, &lsz, &sig, &toff, &next,
						&type, &e);
		if (rc != DW_DLV_OK)
			break;
		if (dwarf_siblingof_b(dw, NULL, 1, &die, &e) != DW_DLV_OK)
			continue;
		cu_lines(st, dw, die, &cap);
		dwarf_dealloc(dw, die, DW_DLA_DIE);
	}
	if (st->nlines)
		qsort(st->lines, st->nlines, sizeof(*st->lines), by_line_addr);
	load_cfi(st, dw);
	dwarf_finish(dw, &e);
}

/* ---- the child: DWARF in, the wire format out ---- */

static int write_lines(int fd, const struct dbg_symtab *st)
{
	uint32_t nfiles = (uint32_t)st->nfiles;
	uint64_t nlines = st->nlines, nunwind = st->nunwind;
	if (zs_write_all(fd, "KZDL", 4) || zs_write_all(fd, &nfiles, 4))
		return -1;
	for (size_t i = 0; i < st->nfiles; i++) {
		uint32_t len = (uint32_t)strlen(st->files[i]);
		if (zs_write_all(fd, &len, 4) ||
		    zs_write_all(fd, st->files[i], len))
			return -1;
	}
	/* zs_write_all of 0 bytes writes nothing: empty arrays need no test. */
	if (zs_write_all(fd, &nlines, 8) ||
	    zs_write_all(fd, st->lines, nlines * sizeof(*st->lines)) ||
	    zs_write_all(fd, &nunwind, 8) ||
	    zs_write_all(fd, st->unwind, nunwind * sizeof(*st->unwind)))
		return -1;
	return 0;
}

__attribute__((constructor)) static void dwarf_lines_child(void)
{
	const char *v = getenv(CHILD_ENV);
	if (!v || strcmp(v, "1") != 0)
		return;
	struct dbg_symtab st;
	memset(&st, 0, sizeof(st));
	load_dwarf(&st, CHILD_IN);
	_exit(write_lines(CHILD_OUT, &st) ? 1 : 0);
}

/* ---- the parent: start the child, take its answer ---- */

struct reply {
	const uint8_t *p;
	size_t len;
};

struct reply_buf {
	uint8_t *p;
	size_t len, cap;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Everything the child writes, until EOF or the deadline. */
static int read_reply(int fd, struct reply_buf *r)
{
	const size_t limit = 64 + (size_t)MAX_FILES * (4 + MAX_NAME) / 16 +
			     (size_t)MAX_LINES * sizeof(struct dbg_line);
	int64_t deadline = now_ms() + LINES_TIMEOUT_MS;
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0)
			return -ETIMEDOUT;
		int rc = poll(&p, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return rc ? -errno : -ETIMEDOUT;
		if (r->len == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 65536;
			if (cap > limit)
				return -E2BIG;
			uint8_t *n = realloc(r->p, cap);
			if (!n)
				return -ENOMEM;
			r->p = n;
			r->cap = cap;
		}
		ssize_t n = read(fd, r->p + r->len, r->cap - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		r->len += (size_t)n;
	}
}

static bool take(const struct reply *r, size_t *at, void *out, size_t len)
{
	if (len > r->len - *at)
		return false;
	memcpy(out, r->p + *at, len);
	*at += len;
	return true;
}

static bool parse_reply(const struct reply *r, struct dbg_symtab *st)
{
	size_t at = 0;
	char magic[4];
	uint32_t nfiles;
	uint64_t nlines;
	if (!take(r, &at, magic, 4) || memcmp(magic, "KZDL", 4) ||
	    !take(r, &at, &nfiles, 4) || nfiles > MAX_FILES)
		return false;
	st->files = nfiles ? calloc(nfiles, sizeof(*st->files)) : NULL;
	if (nfiles && !st->files)
		return false;
	for (uint32_t i = 0; i < nfiles; i++) {
		uint32_t len;
		if (!take(r, &at, &len, 4) || len > MAX_NAME ||
		    len > r->len - at || !(st->files[i] = malloc(len + 1)))
			return false;
		st->nfiles = i + 1;
		take(r, &at, st->files[i], len);
		st->files[i][len] = 0;
	}
	if (!take(r, &at, &nlines, 8) || nlines > MAX_LINES ||
	    nlines * sizeof(struct dbg_line) > r->len - at)
		return false;
	if (nlines) {
		st->lines = malloc(nlines * sizeof(*st->lines));
		if (!st->lines)
			return false;
		take(r, &at, st->lines, nlines * sizeof(*st->lines));
		st->nlines = (size_t)nlines;
	}
	for (uint64_t i = 0; i < nlines; i++) {
		uint32_t f = st->lines[i].file;
		if (f != UINT32_MAX && f >= nfiles)
			return false;
		if (i && by_line_addr(&st->lines[i - 1], &st->lines[i]) > 0)
			return false;	/* the child sorts them */
	}
	uint64_t nu;
	if (!take(r, &at, &nu, 8) || nu > MAX_UNWIND ||
	    nu * sizeof(struct dbg_unwind) != r->len - at)
		return false;
	if (nu) {
		st->unwind = malloc(nu * sizeof(*st->unwind));
		if (!st->unwind)
			return false;
		take(r, &at, st->unwind, nu * sizeof(*st->unwind));
		st->nunwind = (size_t)nu;
	}
	for (uint64_t i = 0; i < nu; i++) {
		const struct dbg_unwind *u = &st->unwind[i];
		if (u->cfa_reg > DBG_UW_RBP || u->rbp_saved > 1)
			return false;
		if (i && by_unwind_pc(&st->unwind[i - 1], u) > 0)
			return false;
	}
	return true;
}

static void drop_lines(struct dbg_symtab *st)
{
	for (size_t i = 0; i < st->nfiles; i++)
		free(st->files[i]);
	free(st->files);
	free(st->lines);
	free(st->unwind);
	st->files = NULL;
	st->lines = NULL;
	st->unwind = NULL;
	st->nfiles = st->nlines = st->nunwind = 0;
}

int dbg_sym_dwarf_parse(const uint8_t *buf, size_t len, struct dbg_symtab *st)
{
	const struct reply r = { buf, len };
	if (parse_reply(&r, st))
		return 0;
	drop_lines(st);
	return -EINVAL;
}

void dbg_sym_dwarf(struct dbg_symtab *st, int fd)
{
	int p[2], in = -1;
	pid_t pid = -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	struct reply_buf r = { 0 };

	/* Out of the way of 3 and 4, so that the dup2s below really dup. */
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	int hi_out = fcntl(p[1], F_DUPFD_CLOEXEC, 10);
	in = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(p[1]);
	if (hi_out < 0 || in < 0 || lseek(in, 0, SEEK_SET) < 0)
		goto out;

	size_t n = 0;
	while (environ && environ[n])
		n++;
	char **env = calloc(n + 2, sizeof(*env));
	if (!env)
		goto out;
	memcpy(env, environ, n * sizeof(*env));
	env[n] = CHILD_ENV "=1";

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, CHILD_IN);
	posix_spawn_file_actions_adddup2(&fa, hi_out, CHILD_OUT);
	/* A crashing libdwarf must not write into the zone's console. */
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
				      POSIX_SPAWN_SETSIGDEF);
	char *argv[] = { "kz-dwarf-lines", NULL };
	if (posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, env) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(env);
	close(hi_out);
	hi_out = -1;
	if (pid < 0)
		goto out;

	int rc = read_reply(p[0], &r);
	if (rc)
		kill(pid, SIGKILL);
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (rc == 0 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
		(void)dbg_sym_dwarf_parse(r.p, r.len, st);
out:
	free(r.p);
	if (in >= 0)
		close(in);
	if (hi_out >= 0)
		close(hi_out);
	close(p[0]);
}
