/*
 * Symbols and source lines of the kernel being debugged.
 *
 * The ELF symbol table gives names and sizes (libelf); the DWARF line
 * tables give file:line for ::dis and ::whatis (dbg_sym_dwarf.c).  Everything is
 * copied into flat arrays sorted by address (lookups by address are a
 * binary search) plus an index sorted by name, and the libraries' handles
 * are closed before returning: a session keeps no file open.
 *
 * Called by the engine (dbg.c) and by the fuzz target; never prints.
 */
#include "dbg_sym.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SYMS	(4u << 20)

static int str_add(struct dbg_symtab *st, const char *s, size_t *off)
{
	size_t n = strlen(s) + 1;
	if (st->strs_len + n > st->strs_cap) {
		size_t cap = st->strs_cap ? st->strs_cap * 2 : 4096;
		while (cap < st->strs_len + n)
			cap *= 2;
		char *p = realloc(st->strs, cap);
		if (!p)
			return -ENOMEM;
		st->strs = p;
		st->strs_cap = cap;
	}
	memcpy(st->strs + st->strs_len, s, n);
	*off = st->strs_len;
	st->strs_len += n;
	return 0;
}

/* Names are stored as offsets while strs may move, then fixed up. */
static int sym_add(struct dbg_symtab *st, size_t *cap, uint64_t addr,
		   uint64_t size, const char *name, char type)
{
	size_t off;
	if (st->nsyms >= MAX_SYMS)
		return -E2BIG;
	if (st->nsyms == *cap) {
		size_t ncap = *cap ? *cap * 2 : 1024;
		struct dbg_sym *p = realloc(st->syms, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		st->syms = p;
		*cap = ncap;
	}
	if (str_add(st, name, &off))
		return -ENOMEM;
	st->syms[st->nsyms++] = (struct dbg_sym){
		.addr = addr, .size = size, .name = (const char *)(uintptr_t)off,
		.type = type,
	};
	return 0;
}

static int by_addr(const void *a, const void *b)
{
	const struct dbg_sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Sized symbols (functions, objects) after the bare labels. */
	return (x->size > 0) - (y->size > 0);
}

static const struct dbg_symtab *sort_st;

static int by_name(const void *a, const void *b)
{
	const size_t *x = a, *y = b;
	return strcmp(sort_st->syms[*x].name, sort_st->syms[*y].name);
}

/* Offsets to pointers, sort both ways. */
static int finish(struct dbg_symtab *st)
{
	for (size_t i = 0; i < st->nsyms; i++)
		st->syms[i].name = st->strs + (uintptr_t)st->syms[i].name;
	if (st->nsyms)
		qsort(st->syms, st->nsyms, sizeof(*st->syms), by_addr);
	st->byname = malloc((st->nsyms ? st->nsyms : 1) * sizeof(size_t));
	if (!st->byname)
		return -ENOMEM;
	for (size_t i = 0; i < st->nsyms; i++)
		st->byname[i] = i;
	sort_st = st;
	if (st->nsyms)
		qsort(st->byname, st->nsyms, sizeof(size_t), by_name);
	sort_st = NULL;
	return 0;
}

static char nm_type(const GElf_Sym *s, Elf *e)
{
	unsigned type = GELF_ST_TYPE(s->st_info);
	bool global = GELF_ST_BIND(s->st_info) != STB_LOCAL;
	char c = '?';
	if (s->st_shndx == SHN_ABS)
		c = 'a';
	else if (type == STT_FUNC)
		c = 't';
	else if (type == STT_OBJECT) {
		c = 'd';
		Elf_Scn *scn = elf_getscn(e, s->st_shndx);
		GElf_Shdr sh;
		if (scn && gelf_getshdr(scn, &sh) && sh.sh_type == SHT_NOBITS)
			c = 'b';
	} else if (type == STT_NOTYPE) {
		c = 't';
		Elf_Scn *scn = elf_getscn(e, s->st_shndx);
		GElf_Shdr sh;
		if (scn && gelf_getshdr(scn, &sh) &&
		    !(sh.sh_flags & SHF_EXECINSTR))
			c = sh.sh_type == SHT_NOBITS ? 'b' : 'd';
	}
	return global && c != '?' ? (char)(c - 'a' + 'A') : c;
}

static int load_elf_syms(struct dbg_symtab *st, Elf *e, char *err,
			 size_t errlen)
{
	Elf_Scn *scn = NULL, *best = NULL;
	GElf_Shdr sh, bsh = { 0 };
	size_t cap = 0;
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB ||
		    (sh.sh_type == SHT_DYNSYM && !best)) {
			best = scn;
			bsh = sh;
		}
	}
	if (!best) {
		snprintf(err, errlen, "no symbol table (the file is stripped)");
		return -ENOENT;
	}
	Elf_Data *data = elf_getdata(best, NULL);
	if (!data || !bsh.sh_entsize) {
		snprintf(err, errlen, "unreadable symbol table: %s",
			 elf_errmsg(-1));
		return -EINVAL;
	}
	size_t n = data->d_size / bsh.sh_entsize;
	for (size_t i = 1; i < n; i++) {
		GElf_Sym s;
		if (!gelf_getsym(data, (int)i, &s))
			break;
		unsigned type = GELF_ST_TYPE(s.st_info);
		if (type == STT_SECTION || type == STT_FILE ||
		    s.st_shndx == SHN_UNDEF)
			continue;
		const char *name = elf_strptr(e, bsh.sh_link, s.st_name);
		if (!name || !*name)
			continue;
		int rc = sym_add(st, &cap, s.st_value, s.st_size, name,
				 nm_type(&s, e));
		if (rc) {
			snprintf(err, errlen, "symbol table: %s", strerror(-rc));
			return rc;
		}
	}
	return 0;
}

void dbg_sym_free(struct dbg_symtab *st)
{
	free(st->syms);
	free(st->byname);
	free(st->strs);
	free(st->lines);
	free(st->unwind);
	for (size_t i = 0; i < st->nfiles; i++)
		free(st->files[i]);
	free(st->files);
	memset(st, 0, sizeof(*st));
}

int dbg_sym_load_fd(struct dbg_symtab *st, int fd, char *err, size_t errlen)
{
	return dbg_sym_load_fd_lines(st, fd, true, err, errlen);
}

int dbg_sym_load_fd_lines(struct dbg_symtab *st, int fd, bool lines,
			  char *err, size_t errlen)
{
	int rc;
	memset(st, 0, sizeof(*st));
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "libelf: %s", elf_errmsg(-1));
		return -EINVAL;
	}
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		snprintf(err, errlen, "not an ELF file");
		if (e)
			elf_end(e);
		return -EINVAL;
	}
	rc = load_elf_syms(st, e, err, errlen);
	elf_end(e);
	if (rc)
		goto fail;
	if ((rc = finish(st))) {
		snprintf(err, errlen, "%s", strerror(-rc));
		goto fail;
	}
	if (lines)
		dbg_sym_dwarf(st, fd);
	return 0;
fail:
	dbg_sym_free(st);
	return rc;
}

int dbg_sym_load_map(struct dbg_symtab *st, const char *text, size_t len,
		     char *err, size_t errlen)
{
	size_t cap = 0, lineno = 0;
	int rc = 0;
	memset(st, 0, sizeof(*st));
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - text) - pos : len - pos;
		char line[512], name[256];
		unsigned long long a;
		char type;
		lineno++;
		if (l < sizeof(line)) {
			memcpy(line, text + pos, l);
			line[l] = 0;
			if (sscanf(line, "%llx %c %255s", &a, &type, name) == 3 &&
			    (rc = sym_add(st, &cap, a, 0, name, type))) {
				snprintf(err, errlen, "line %zu: %s", lineno,
					 strerror(-rc));
				goto fail;
			}
		}
		pos += l + 1;
	}
	if (!st->nsyms) {
		snprintf(err, errlen, "no 'ADDRESS TYPE NAME' lines");
		rc = -EINVAL;
		goto fail;
	}
	if ((rc = finish(st))) {
		snprintf(err, errlen, "%s", strerror(-rc));
		goto fail;
	}
	/* A map has no sizes: a symbol ends where the next begins. */
	for (size_t i = 0; i + 1 < st->nsyms; i++)
		st->syms[i].size = st->syms[i + 1].addr - st->syms[i].addr;
	return 0;
fail:
	dbg_sym_free(st);
	return rc;
}

int dbg_sym_load(struct dbg_symtab *st, const char *path, char *err,
		 size_t errlen)
{
	char magic[4] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (pread(fd, magic, 4, 0) == 4 && memcmp(magic, "\177ELF", 4) == 0) {
		rc = dbg_sym_load_fd(st, fd, err, errlen);
	} else {
		off_t sz = lseek(fd, 0, SEEK_END);
		char *buf = sz > 0 && sz < (256 << 20) ? malloc((size_t)sz) : NULL;
		if (!buf || pread(fd, buf, (size_t)sz, 0) != sz) {
			snprintf(err, errlen, "cannot read the file");
			rc = -EINVAL;
		} else {
			rc = dbg_sym_load_map(st, buf, (size_t)sz, err, errlen);
		}
		free(buf);
	}
	close(fd);
	if (!rc)
		snprintf(st->path, sizeof(st->path), "%s", path);
	return rc;
}

const struct dbg_sym *dbg_sym_byname(const struct dbg_symtab *st,
				     const char *name)
{
	size_t lo = 0, hi = st->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(st->syms[st->byname[mid]].name, name);
		if (c == 0) {
			/* Prefer a global definition among equal names. */
			size_t best = mid;
			for (size_t i = mid; i-- > 0 && !strcmp(
				     st->syms[st->byname[i]].name, name);)
				best = i;
			for (size_t i = best; i < st->nsyms && !strcmp(
				     st->syms[st->byname[i]].name, name); i++)
				if (st->syms[st->byname[i]].type >= 'A' &&
				    st->syms[st->byname[i]].type <= 'Z')
					return &st->syms[st->byname[i]];
			return &st->syms[st->byname[best]];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct dbg_sym *dbg_sym_byaddr(const struct dbg_symtab *st,
				     uint64_t addr, uint64_t *off)
{
	size_t lo = 0, hi = st->nsyms;
	while (lo < hi) {	/* first symbol above addr */
		size_t mid = lo + (hi - lo) / 2;
		if (st->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Walk down to a sized symbol that holds addr, or the nearest label. */
	for (size_t i = lo; i-- > 0 && lo - i <= 16;) {
		const struct dbg_sym *s = &st->syms[i];
		if (s->size && addr - s->addr < s->size) {
			*off = addr - s->addr;
			return s;
		}
		if (!s->size && s->addr <= addr && addr - s->addr < 0x100000) {
			/* A label: good only if no sized symbol ends past addr. */
			*off = addr - s->addr;
			return s;
		}
	}
	return NULL;
}

bool dbg_sym_line(const struct dbg_symtab *st, uint64_t addr,
		  const char **file, unsigned *line)
{
	size_t lo = 0, hi = st->nlines;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->lines[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	const struct dbg_line *l = &st->lines[lo - 1];
	if (l->file == UINT32_MAX || l->file >= st->nfiles)
		return false;
	*file = st->files[l->file];
	*line = l->line;
	return true;
}

const struct dbg_unwind *dbg_sym_unwind(const struct dbg_symtab *st,
					uint64_t addr)
{
	size_t lo = 0, hi = st->nunwind;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->unwind[mid].pc <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || st->unwind[lo - 1].cfa_reg == DBG_UW_NONE)
		return NULL;
	return &st->unwind[lo - 1];
}
