/*
 * The target API: the one narrow interface through which the debugger,
 * the gdbstub and savecore see a machine.
 *
 * Two backends implement struct kz_target_ops: the live VM inside kzhost
 * (vmm/target_live.c) and a vmcore file (savecore/).  A backend answers
 * what it cannot do with -ENOTSUP (a vmcore has no run control).  Nothing
 * that includes this header includes <linux/kvm.h>: register state is
 * described here in plain structures.
 *
 * Virtual memory access is not a backend operation: kz_target_translate()
 * walks the guest's page tables through read_phys, so every backend gets
 * 4- and 5-level paging and large pages the same way.
 */
#ifndef KZ_DEBUG_TARGET_H
#define KZ_DEBUG_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kz_seg {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint16_t attr;		/* VMX-style access rights: type, S, DPL, P, AVL, L, D/B, G */
};

struct kz_dtable {
	uint64_t base;
	uint16_t limit;
};

/* Everything a debugger or a dump wants of one vCPU, FPU aside. */
struct kz_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	struct kz_seg cs, ds, es, fs, gs, ss, tr, ldtr;
	struct kz_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer, apic_base;
	uint64_t fs_base, gs_base, kernel_gs_base;	/* MSR values */
	uint64_t dr[8];		/* dr4, dr5 unused */
};

/*
 * x87/SSE/AVX state as the XSAVE instruction lays it out, with XCR0 in
 * bytes 464..471 (software-available; XRSTOR ignores them), as Linux's
 * NT_X86_XSTATE core note and ptrace carry it, so gdb knows which parts
 * are enabled.  0 there: unknown.
 */
#define KZ_XSAVE_MAX 4096
#define KZ_XSAVE_XCR0_OFF 464
struct kz_fpu {
	uint32_t size;		/* bytes valid in xsave */
	uint8_t xsave[KZ_XSAVE_MAX];
};

enum kz_break_kind {
	KZ_BREAK_SW,		/* int3 planted in guest memory */
	KZ_BREAK_HW_EXEC,	/* debug register, execute */
	KZ_BREAK_HW_WRITE,	/* debug register, data write */
	KZ_BREAK_HW_ACCESS,	/* debug register, read or write */
};

enum kz_event_kind {
	KZ_EVENT_NONE,
	KZ_EVENT_BREAK,
	KZ_EVENT_STEP,
	KZ_EVENT_WATCH,
	KZ_EVENT_STOPPED,	/* stop requested by the host */
	KZ_EVENT_PANIC,
	KZ_EVENT_POWEROFF,
};

struct kz_event {
	enum kz_event_kind kind;
	unsigned cpu;
	uint64_t addr;		/* breakpoint or watched address */
};

struct kz_target;

struct kz_target_ops {
	const char *name;
	unsigned (*ncpus)(struct kz_target *t);
	int (*get_regs)(struct kz_target *t, unsigned cpu, struct kz_regs *r);
	int (*set_regs)(struct kz_target *t, unsigned cpu,
			const struct kz_regs *r);
	int (*get_fpu)(struct kz_target *t, unsigned cpu, struct kz_fpu *f);
	int (*set_fpu)(struct kz_target *t, unsigned cpu,
		       const struct kz_fpu *f);
	/* Guest-physical access; -EFAULT for any byte outside RAM. */
	int (*read_phys)(struct kz_target *t, uint64_t pa, void *buf,
			 size_t len);
	int (*write_phys)(struct kz_target *t, uint64_t pa, const void *buf,
			  size_t len);
	/* Run control: all vCPUs stop together and resume together. */
	int (*stop)(struct kz_target *t);
	int (*resume)(struct kz_target *t);
	int (*step)(struct kz_target *t, unsigned cpu);
	int (*set_break)(struct kz_target *t, enum kz_break_kind kind,
			 uint64_t addr, unsigned len);
	int (*clear_break)(struct kz_target *t, enum kz_break_kind kind,
			   uint64_t addr, unsigned len);
	/* Wait up to timeout_ms (-1 forever) for the next event. */
	int (*wait_event)(struct kz_target *t, struct kz_event *ev,
			  int timeout_ms);
	void (*close)(struct kz_target *t);
};

struct kz_target {
	const struct kz_target_ops *ops;
	void *priv;
};

/* Result of a page-table walk. */
struct kz_xlate {
	uint64_t pa;		/* physical address of vaddr */
	uint64_t page_size;	/* 4K, 2M or 1G */
	unsigned levels;	/* 4 or 5; 0 with paging off */
	bool writable;
	bool user;
	bool nx;
};

/*
 * Translate vaddr through cpu's page tables (CR3, CR4.LA57, CR0.PG,
 * EFER.LMA; PAE and 32-bit paging too).  -ENOENT when a level is not
 * present, -EFAULT when a table lies outside RAM.
 */
int kz_target_translate(struct kz_target *t, unsigned cpu, uint64_t vaddr,
			struct kz_xlate *out);
/* Same walk with registers already at hand (savecore and tests). */
int kz_target_translate_regs(struct kz_target *t, const struct kz_regs *r,
			     uint64_t vaddr, struct kz_xlate *out);

/* Virtual access through cpu's page tables, page by page. */
int kz_target_read_virt(struct kz_target *t, unsigned cpu, uint64_t vaddr,
			void *buf, size_t len);
int kz_target_write_virt(struct kz_target *t, unsigned cpu, uint64_t vaddr,
			 const void *buf, size_t len);

#endif
