/*
 * libFuzzer target for what the DWARF line child sends back
 * (debug/dbg_sym_dwarf.c): kzhost trusts the child no more than the
 * kernel file it read.  Whatever dbg_sym_dwarf_parse accepts must have
 * every line's file index in range and the lines sorted, and lookups on
 * it must stay in bounds.
 *
 *   make build/fuzz/fuzz_dbg_lines && build/fuzz/fuzz_dbg_lines tests/fuzz/corpus/dbg_lines
 *
 * The seed is the child's answer for a made-up two-file table.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dbg_sym.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dbg_symtab st;
	memset(&st, 0, sizeof(st));
	if (dbg_sym_dwarf_parse(data, size, &st) == 0) {
		for (size_t i = 0; i < st.nlines; i++) {
			uint32_t f = st.lines[i].file;
			if (f != UINT32_MAX && f >= st.nfiles)
				abort();
			if (i && st.lines[i - 1].addr > st.lines[i].addr)
				abort();
			const char *file;
			unsigned line;
			(void)dbg_sym_line(&st, st.lines[i].addr, &file, &line);
		}
	} else if (st.nlines || st.nfiles || st.lines || st.files) {
		abort();
	}
	dbg_sym_free(&st);
	return 0;
}
