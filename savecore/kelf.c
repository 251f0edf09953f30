/*
 * A guest kernel's ELF file, read for savecore: the symbol table and the
 * build-id note, nothing else.  No libelf: two lookups do not need it,
 * and every access here is one bounds check away from the mapping.
 */
#include "kelf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const void *at(const struct kelf *k, uint64_t off, uint64_t len)
{
	if (off > k->len || len > k->len - off)
		return NULL;
	return k->map + off;
}

int kelf_open(const char *path, struct kelf *k)
{
	struct stat st;
	k->map = NULL;
	k->len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		close(fd);
		return -ENOEXEC;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	k->map = p;
	k->len = (size_t)st.st_size;
	const Elf64_Ehdr *eh = p;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(Elf64_Shdr)) {
		kelf_close(k);
		return -ENOEXEC;
	}
	return 0;
}

void kelf_close(struct kelf *k)
{
	if (k->map)
		munmap((void *)k->map, k->len);
	k->map = NULL;
	k->len = 0;
}

static const Elf64_Shdr *shdr(const struct kelf *k, unsigned i)
{
	const Elf64_Ehdr *eh = (const void *)k->map;
	if (i >= eh->e_shnum)
		return NULL;
	return at(k, eh->e_shoff + (uint64_t)i * sizeof(Elf64_Shdr),
		  sizeof(Elf64_Shdr));
}

int kelf_symbol(const struct kelf *k, const char *name, uint64_t *value,
		uint64_t *size)
{
	const Elf64_Ehdr *eh = (const void *)k->map;
	size_t nlen = strlen(name);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *s = shdr(k, i);
		if (!s || s->sh_type != SHT_SYMTAB ||
		    s->sh_entsize != sizeof(Elf64_Sym))
			continue;
		const Elf64_Shdr *str = shdr(k, s->sh_link);
		const Elf64_Sym *syms = at(k, s->sh_offset, s->sh_size);
		const char *strs = str ? at(k, str->sh_offset, str->sh_size) : NULL;
		if (!syms || !strs)
			continue;
		for (uint64_t j = 0; j < s->sh_size / sizeof(Elf64_Sym); j++) {
			uint32_t o = syms[j].st_name;
			if (o >= str->sh_size || str->sh_size - o <= nlen ||
			    memcmp(strs + o, name, nlen + 1))
				continue;
			if (syms[j].st_shndx == SHN_UNDEF)
				continue;
			*value = syms[j].st_value;
			if (size)
				*size = syms[j].st_size;
			return 0;
		}
	}
	return -ENOENT;
}

/* The build id in one note area [off, off+len). */
static int note_build_id(const struct kelf *k, uint64_t off, uint64_t len,
			 char *out, size_t outlen)
{
	const uint8_t *p = at(k, off, len);
	if (!p)
		return -ENOENT;
	uint64_t pos = 0;
	while (len - pos >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, p + pos, sizeof(nh));
		uint64_t name = pos + sizeof(nh);
		uint64_t desc = name + ((nh.n_namesz + 3ULL) & ~3ULL);
		uint64_t next = desc + ((nh.n_descsz + 3ULL) & ~3ULL);
		if (next > len)
			break;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp(p + name, "GNU", 4) == 0 && nh.n_descsz > 0 &&
		    nh.n_descsz * 2 < outlen) {
			for (uint32_t i = 0; i < nh.n_descsz; i++)
				snprintf(out + 2 * i, 3, "%02x", p[desc + i]);
			return 0;
		}
		pos = next;
	}
	return -ENOENT;
}

int kelf_build_id(const struct kelf *k, char *out, size_t outlen)
{
	const Elf64_Ehdr *eh = (const void *)k->map;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *s = shdr(k, i);
		if (s && s->sh_type == SHT_NOTE &&
		    note_build_id(k, s->sh_offset, s->sh_size, out, outlen) == 0)
			return 0;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return -ENOENT;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = at(k, eh->e_phoff + (uint64_t)i * sizeof(*ph),
					  sizeof(*ph));
		if (ph && ph->p_type == PT_NOTE &&
		    note_build_id(k, ph->p_offset, ph->p_filesz, out, outlen) == 0)
			return 0;
	}
	return -ENOENT;
}

/*
 * A "ADDRESS TYPE NAME" line of a System.map for name, over the mapped
 * text: the first whole-word match.
 */
static int map_symbol(const char *p, size_t len, const char *name,
		      uint64_t *value)
{
	size_t nlen = strlen(name);
	for (size_t i = 0; i < len;) {
		const char *line = p + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - line) : len - i;
		i += ll + 1;
		/* 16 hex digits, space, type, space, name. */
		if (ll != 19 + nlen || line[16] != ' ' || line[18] != ' ' ||
		    memcmp(line + 19, name, nlen))
			continue;
		uint64_t v = 0;
		size_t d;
		for (d = 0; d < 16; d++) {
			char c = line[d];
			unsigned x = c >= '0' && c <= '9' ? (unsigned)(c - '0')
				   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
				   : 16;
			if (x == 16)
				break;
			v = v << 4 | x;
		}
		if (d == 16) {
			*value = v;
			return 0;
		}
	}
	return -ENOENT;
}

int kelf_file_symbol(const char *path, const char *name, uint64_t *value)
{
	struct kelf k;
	int rc = kelf_open(path, &k);
	if (rc == 0) {
		rc = kelf_symbol(&k, name, value, NULL);
		kelf_close(&k);
		return rc;
	}
	if (rc != -ENOEXEC)
		return rc;
	/* Not ELF: a System.map, mapped like the ELF files are. */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return -ENOENT;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	rc = map_symbol(p, (size_t)st.st_size, name, value);
	munmap(p, (size_t)st.st_size);
	return rc;
}
