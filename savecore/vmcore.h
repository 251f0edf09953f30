/*
 * vmcore: crash dumps of a machine as ELF64 core files.
 *
 * The writer (vmcore_write.c) turns a consistent copy of a machine (guest
 * memory through the memory-map API, registers of every vCPU) into an
 * ET_CORE file that gdb, eu-readelf and kzdb read.  The reader
 * (vmcore_read.c) is a read-only backend of the target API: the debugger
 * sees a dump the way it sees a live zone, minus run control (-ENOTSUP).
 * savecore.c takes the copy from a running machine (pause, registers,
 * fork, resume) and files the result as DIR/vmcore.N.
 *
 * File layout, in file order:
 *
 *   ELF header
 *   guest memory       page-aligned, from offset 4096; all-zero pages
 *                      are left out (runs of fewer than VMCORE_GAP_PAGES
 *                      zero pages are kept, to bound the segment count)
 *   notes              one PT_NOTE:
 *                        "CORE" NT_PRPSINFO   kernel name, zone name
 *                        per vCPU, in order:
 *                        "CORE" NT_PRSTATUS   gdb's elf_prstatus, pid cpu+1
 *                        "CORE" NT_PRFPREG    the XSAVE legacy area
 *                        "KZONES" KZ_NT_CPU   struct vmcore_cpu + XSAVE
 *                        "KZONES" KZ_NT_ZONE  text, "key=value" lines
 *                        "KZONES" KZ_NT_RAM   RAM regions {u64 gpa, size}
 *                        "VMCOREINFO" 0       when the guest published one
 *   program headers    PT_NOTE, then PT_LOADs
 *   section header 0   only when there are 0xffff or more program headers
 *
 * Every PT_LOAD has p_paddr = guest-physical address.  p_vaddr is where
 * the guest's own page tables (vCPU 0's CR3) map that memory linearly in
 * the higher half; memory mapped at several such places gets one PT_LOAD
 * per place over the same file bytes, and memory mapped at none gets
 * p_vaddr = p_paddr.  So gdb reads kernel variables by their link
 * addresses and readers by physical address dedupe on p_paddr.
 */
#ifndef KZ_SAVECORE_VMCORE_H
#define KZ_SAVECORE_VMCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct kz_regs;
struct kz_fpu;
struct kz_target;
struct vmm_mem;

#define VMCORE_NOTE_NAME	"KZONES"
#define KZ_NT_ZONE		0x4b5a0001	/* zone note, text */
#define KZ_NT_CPU		0x4b5a0002	/* struct vmcore_cpu + XSAVE */
#define KZ_NT_RAM		0x4b5a0003	/* RAM map: {u64 gpa, u64 size}[] */
#define VMCORE_GAP_PAGES	16
#define VMCORE_CPU_VERSION	1

/* On-disk system state of one vCPU (little-endian, packed by layout). */
struct vmcore_seg {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint16_t attr;
};

struct vmcore_cpu {
	uint32_t version;		/* VMCORE_CPU_VERSION */
	uint32_t cpu;
	/* rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip rflags */
	uint64_t gpr[18];
	/* cs ds es fs gs ss tr ldtr */
	struct vmcore_seg seg[8];
	uint64_t gdt_base, idt_base;
	uint16_t gdt_limit, idt_limit;
	uint32_t xsave_size;		/* bytes of XSAVE area after this */
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer, apic_base;
	uint64_t fs_base, gs_base, kernel_gs_base;
	uint64_t dr[8];
};

/* What the writer is given: a consistent, unchanging machine. */
struct vmcore_src {
	const struct vmm_mem *mem;
	unsigned ncpus;
	const struct kz_regs *regs;	/* [ncpus] */
	const struct kz_fpu *fpu;	/* [ncpus], or NULL */
	const char *kernel_path;	/* symbols and build id; may be NULL */
	const char *symbols_path;	/* ELF or System.map; NULL: kernel_path */
	/* The zone note. */
	const char *zone;
	const char *uuid;
	const char *reason;		/* "requested" or "panic" */
	const char *panic_msg;		/* NULL: look in the guest's msgbuf */
	time_t when;
	/* Called before the notes are written, for the stop time; may be NULL. */
	uint64_t (*stop_us)(void *arg);
	void *stop_arg;
	/* Progress, bytes of RAM looked at so far; may be NULL. */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
};

struct vmcore_stats {
	uint64_t file_size;
	uint64_t ram_bytes;		/* configured */
	uint64_t saved_bytes;		/* memory written to the file */
	unsigned loads;			/* PT_LOAD segments */
	unsigned aliases;		/* linear higher-half mappings found */
	bool vmcoreinfo;		/* the guest's VMCOREINFO was found */
	char panic_msg[256];		/* the panic string, "" if unknown */
};

/*
 * Write the core file to fd (from offset 0, regular file).  Returns 0 or
 * -errno with one line in err; the file is then garbage.
 */
int vmcore_write(int fd, const struct vmcore_src *src, struct vmcore_stats *st,
		 char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Open a core file (ours, or any ELF64 x86-64 core with NT_PRSTATUS) as a
 * read-only target.  Run control and writes answer -ENOTSUP.  The file is
 * untrusted: everything is bounds-checked.  Close with t->ops->close(t).
 */
int vmcore_open(const char *path, struct kz_target *t, char *err,
		size_t errlen) __attribute__((warn_unused_result));
/* The same over a buffer the caller keeps alive until close (fuzzing). */
int vmcore_open_mem(const void *buf, size_t len, struct kz_target *t,
		    char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* True when t is a vmcore target. */
bool vmcore_is(const struct kz_target *t);
/* A field of the zone note ("zone", "uuid", "reason", "panic", ...), or NULL. */
const char *vmcore_field(struct kz_target *t, const char *key);
/* The guest's VMCOREINFO text (not NUL-terminated), or NULL. */
const char *vmcore_vmcoreinfo(struct kz_target *t, size_t *len);

#endif
