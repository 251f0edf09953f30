/*
 * Just enough of a guest kernel's ELF file for a dump: one symbol by name
 * and the GNU build id.  The file is opened read-only and mapped; every
 * offset in it is checked before use (a zone's kernel is the zone
 * owner's file, not ours).
 */
#ifndef KZ_SAVECORE_KELF_H
#define KZ_SAVECORE_KELF_H

#include <stddef.h>
#include <stdint.h>

struct kelf {
	const uint8_t *map;
	size_t len;
};

int kelf_open(const char *path, struct kelf *k)
	__attribute__((warn_unused_result));
void kelf_close(struct kelf *k);
/* 0 and the symbol's value (and size), or -ENOENT. */
int kelf_symbol(const struct kelf *k, const char *name, uint64_t *value,
		uint64_t *size);
/*
 * name's value from the file at path: an ELF kernel's symbol table, or a
 * System.map.  Maps the file, never allocates (savecore's forked child).
 */
int kelf_file_symbol(const char *path, const char *name, uint64_t *value);
/* The build id as hex into out; -ENOENT when the file has none. */
int kelf_build_id(const struct kelf *k, char *out, size_t outlen);

#endif
