/*
 * Source lines from a kernel's DWARF, read in a child process.
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
 * Wire format on fd 4: "KZDL", u32 nfiles, nfiles x (u32 len, bytes),
 * u64 nlines, nlines x struct dbg_line, all host byte order.
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

static void load_dwarf_lines(struct dbg_symtab *st, int fd)
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
	dwarf_finish(dw, &e);
	if (st->nlines)
		qsort(st->lines, st->nlines, sizeof(*st->lines), by_line_addr);
}

/* ---- the child: DWARF in, the wire format out ---- */

static int put(int fd, const void *buf, size_t len)
{
	return zs_write_all(fd, buf, len);
}

static int write_lines(int fd, const struct dbg_symtab *st)
{
	uint32_t nfiles = (uint32_t)st->nfiles;
	uint64_t nlines = st->nlines;
	if (put(fd, "KZDL", 4) || put(fd, &nfiles, 4))
		return -1;
	for (size_t i = 0; i < st->nfiles; i++) {
		uint32_t len = (uint32_t)strlen(st->files[i]);
		if (put(fd, &len, 4) || put(fd, st->files[i], len))
			return -1;
	}
	if (put(fd, &nlines, 8))
		return -1;
	return nlines ? put(fd, st->lines, nlines * sizeof(*st->lines)) : 0;
}

__attribute__((constructor)) static void dwarf_lines_child(void)
{
	const char *v = getenv(CHILD_ENV);
	if (!v || strcmp(v, "1") != 0)
		return;
	struct dbg_symtab st;
	memset(&st, 0, sizeof(st));
	load_dwarf_lines(&st, CHILD_IN);
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
	    nlines * sizeof(struct dbg_line) != r->len - at)
		return false;
	if (!nlines)
		return true;
	st->lines = malloc(nlines * sizeof(*st->lines));
	if (!st->lines)
		return false;
	take(r, &at, st->lines, nlines * sizeof(*st->lines));
	for (uint64_t i = 0; i < nlines; i++) {
		uint32_t f = st->lines[i].file;
		if (f != UINT32_MAX && f >= nfiles)
			return false;
		if (i && by_line_addr(&st->lines[i - 1], &st->lines[i]) > 0)
			return false;	/* the child sorts them */
	}
	st->nlines = (size_t)nlines;
	return true;
}

static void drop_lines(struct dbg_symtab *st)
{
	for (size_t i = 0; i < st->nfiles; i++)
		free(st->files[i]);
	free(st->files);
	free(st->lines);
	st->files = NULL;
	st->lines = NULL;
	st->nfiles = st->nlines = 0;
}

int dbg_sym_lines_parse(const uint8_t *buf, size_t len, struct dbg_symtab *st)
{
	const struct reply r = { buf, len };
	if (parse_reply(&r, st))
		return 0;
	drop_lines(st);
	return -EINVAL;
}

void dbg_sym_dwarf_lines(struct dbg_symtab *st, int fd)
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
		(void)dbg_sym_lines_parse(r.p, r.len, st);
out:
	free(r.p);
	if (in >= 0)
		close(in);
	if (hi_out >= 0)
		close(hi_out);
	close(p[0]);
}
