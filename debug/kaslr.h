/*
 * KASLR: how far a running Linux kernel sits from where its file was
 * linked (debug/kaslr.c says how it is found).
 */
#ifndef KZ_DEBUG_KASLR_H
#define KZ_DEBUG_KASLR_H

#include <stdint.h>

#include "target.h"

/*
 * The address the kernel file links _text at: its ELF symbol, or for a
 * bzImage the kernel map plus its header's pref_address.  -ENOENT (ELF
 * without _text), -ENOEXEC (neither), or -errno.
 */
int kz_kernel_file_text(const char *path, uint64_t *text);

/*
 * The running kernel's slide (a multiple of 2 MiB, >= 0), from cpu's
 * page tables.  -EAGAIN while it cannot be told yet (paging off, or the
 * kernel map not trimmed to _text yet), -ENOENT when nothing is mapped
 * there, -EINVAL for a _text outside the kernel map.
 */
int kz_kernel_slide(struct kz_target *t, unsigned cpu, uint64_t file_text,
		    int64_t *slide);

#endif
