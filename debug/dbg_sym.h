/*
 * Kernel symbols for the debugger: names and sizes from an ELF symbol
 * table (libelf) or a System.map, source lines from DWARF (libdwarf).
 * Files are untrusted input: every offset is bounds-checked by the
 * libraries or here, and a file that does not parse is an error message,
 * never a crash.
 */
#ifndef KZ_DEBUG_DBG_SYM_H
#define KZ_DEBUG_DBG_SYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dbg_sym {
	uint64_t addr;
	uint64_t size;
	const char *name;
	char type;		/* nm letter: T t D d B b A ? */
};

struct dbg_line {
	uint64_t addr;
	uint32_t file;		/* index into files, UINT32_MAX: end of sequence */
	uint32_t line;
};

/*
 * How to find the caller's frame, from pc up to the next row's pc (DWARF
 * call frame information, x86-64).  CFA = cfa_reg + cfa_off; the return
 * address is at CFA + ra_off; the caller's rbp at CFA + rbp_off when
 * rbp_saved, else rbp is unchanged; the caller's rsp is the CFA.
 */
enum { DBG_UW_NONE, DBG_UW_RSP, DBG_UW_RBP };
struct dbg_unwind {
	uint64_t pc;
	int32_t cfa_off, ra_off, rbp_off;
	uint8_t cfa_reg;	/* DBG_UW_*: NONE, no rule from here */
	uint8_t rbp_saved;
	uint8_t pad[2];
};

struct dbg_symtab {
	struct dbg_sym *syms;	/* sorted by address */
	size_t nsyms;
	size_t *byname;		/* indices sorted by name */
	char *strs;		/* names, owned */
	size_t strs_len, strs_cap;
	struct dbg_line *lines;	/* sorted by address */
	size_t nlines;
	char **files;
	size_t nfiles;
	struct dbg_unwind *unwind;	/* sorted by pc */
	size_t nunwind;
	int64_t slide;		/* added to every file address (KASLR) */
	char path[512];
};

/* ELF by fd (any ELF with .symtab; DWARF lines when present). */
int dbg_sym_load_fd(struct dbg_symtab *st, int fd, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/*
 * The same, DWARF lines only when asked: the fuzz target leaves them out,
 * as the libdwarf of Debian 12 (20210528) is not safe on hostile input.
 */
int dbg_sym_load_fd_lines(struct dbg_symtab *st, int fd, bool lines,
			  char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* ELF or System.map by path (picked by the file's first bytes). */
int dbg_sym_load(struct dbg_symtab *st, const char *path, char *err,
		 size_t errlen) __attribute__((warn_unused_result));
/* "ADDR TYPE NAME" lines (System.map, nm output). */
int dbg_sym_load_map(struct dbg_symtab *st, const char *text, size_t len,
		     char *err, size_t errlen)
	__attribute__((warn_unused_result));
void dbg_sym_free(struct dbg_symtab *st);
/*
 * DWARF line tables (lines, files) and call frame information (unwind)
 * of the ELF file at fd into st, read in a child process
 * (dbg_sym_dwarf.c says why); none on any failure.
 */
void dbg_sym_dwarf(struct dbg_symtab *st, int fd);
/* The child's answer (wire format in dbg_sym_dwarf.c) into st's lines
 * and files: 0, or -EINVAL with st left without any. */
int dbg_sym_dwarf_parse(const uint8_t *buf, size_t len, struct dbg_symtab *st);

/* By exact name (slide applied to the result's addr by the caller). */
const struct dbg_sym *dbg_sym_byname(const struct dbg_symtab *st,
				     const char *name);
/* The symbol at or below addr (file address), inside its size if it has one. */
const struct dbg_sym *dbg_sym_byaddr(const struct dbg_symtab *st,
				     uint64_t addr, uint64_t *off);
/* The unwind row for a file address, or NULL (no CFI covers it). */
const struct dbg_unwind *dbg_sym_unwind(const struct dbg_symtab *st,
					uint64_t addr);
/* Source file and line of a file address; false when unknown. */
bool dbg_sym_line(const struct dbg_symtab *st, uint64_t addr,
		  const char **file, unsigned *line);

#endif
