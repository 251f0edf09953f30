/*
 * libFuzzer target for the debugger's symbol loading: arbitrary bytes as
 * a kernel file, through the ELF symbol path (libelf) and the System.map
 * path; then lookups by name and address on whatever loaded.  DWARF line
 * loading is left out: it runs in a child process (Debian 12's libdwarf
 * double-frees on some corrupt input), which is too slow to start per
 * run; fuzz_dbg_lines covers the parent's side, the child's answer.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dbg_sym.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dbg_symtab st;
	char err[256];
	int fd = memfd_create("fuzz-kernel", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size &&
	    dbg_sym_load_fd_lines(&st, fd, false, err, sizeof(err)) == 0) {
		uint64_t off;
		const char *file;
		unsigned line;
		for (size_t i = 0; i < st.nsyms && i < 64; i++) {
			if (!dbg_sym_byname(&st, st.syms[i].name))
				abort();
			(void)dbg_sym_byaddr(&st, st.syms[i].addr + 1, &off);
			(void)dbg_sym_line(&st, st.syms[i].addr, &file, &line);
		}
		dbg_sym_free(&st);
	}
	close(fd);
	if (dbg_sym_load_map(&st, (const char *)data, size, err,
			     sizeof(err)) == 0)
		dbg_sym_free(&st);
	return 0;
}
