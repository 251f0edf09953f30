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
 * DWARF line tables of the ELF file at fd into st (lines, files), read in
 * a child process (dbg_sym_lines.c says why); none on any failure.
 */
void dbg_sym_dwarf_lines(struct dbg_symtab *st, int fd);
/* The child's answer (wire format in dbg_sym_lines.c) into st's lines
 * and files: 0, or -EINVAL with st left without any. */
int dbg_sym_lines_parse(const uint8_t *buf, size_t len, struct dbg_symtab *st);

/* By exact name (slide applied to the result's addr by the caller). */
const struct dbg_sym *dbg_sym_byname(const struct dbg_symtab *st,
				     const char *name);
/* The symbol at or below addr (file address), inside its size if it has one. */
const struct dbg_sym *dbg_sym_byaddr(const struct dbg_symtab *st,
				     uint64_t addr, uint64_t *off);
/* Source file and line of a file address; false when unknown. */
bool dbg_sym_line(const struct dbg_symtab *st, uint64_t addr,
		  const char **file, unsigned *line);

#endif
