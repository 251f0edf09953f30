/*
 * kz_panic: say what happened and where, tell the host, stop every vCPU.
 *
 * Order matters: the other vCPUs are stopped first (NMI: it gets through
 * with interrupts off) so that they cannot print over the message or keep
 * changing memory the host is about to dump; then the message and a
 * frame-pointer backtrace; then pvpanic (port 0x505, bit 0 "panicked"),
 * after which the host may stop us at any instruction; then cli;hlt.
 *
 * Function names come from kz_symtab, a table of (address, name offset)
 * pairs sorted by address, generated from the first link's nm output and
 * linked into .kzsyms after everything else, so the second link does not
 * move any function (guest.mk checks that).
 */
#include "kzguest.h"

#define PVPANIC_PORT	0x505

struct kz_sym {
	uint64_t addr;
	uint64_t name;		/* offset in kz_symstr */
};

extern const struct kz_sym kz_symtab[];
extern const uint64_t kz_nsyms;
extern const char kz_symstr[];
extern const char _text[], _etext[];

volatile int kz_panicking;

static const char *const trap_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow",
	"bound range", "invalid opcode", "device not available",
	"double fault", "coprocessor overrun", "invalid TSS",
	"segment not present", "stack fault", "general protection",
	"page fault", "reserved", "x87 error", "alignment check",
	"machine check", "SIMD error", "virtualization", "control protection",
};

/* The function containing pc, or NULL when it is outside the kernel text. */
static const char *sym_lookup(uint64_t pc, uint64_t *off)
{
	uint64_t lo = 0, hi = kz_nsyms;

	if (pc < (uint64_t)_text || pc >= (uint64_t)_etext || !kz_nsyms ||
	    pc < kz_symtab[0].addr)
		return NULL;
	while (hi - lo > 1) {		/* last entry with addr <= pc */
		uint64_t mid = (lo + hi) / 2;

		if (kz_symtab[mid].addr <= pc)
			lo = mid;
		else
			hi = mid;
	}
	*off = pc - kz_symtab[lo].addr;
	return kz_symstr + kz_symtab[lo].name;
}

/*
 * A return address belongs to the call before it, which may be the last
 * instruction of a function that never returns: look up pc - 1 for those.
 */
static void print_pc(uint64_t pc, bool is_return)
{
	uint64_t off;
	const char *name = sym_lookup(pc - is_return, &off);

	if (name)
		kz_printf("  %016lx %s+0x%lx\n", pc, name, off + is_return);
	else
		kz_printf("  %016lx ?\n", pc);
}

/*
 * Walk saved %rbp links: [rbp] is the caller's rbp, [rbp+8] the return
 * address.  Frames must be aligned, inside the kernel's address space and
 * move up the stack, which also stops at the 0 pushed at the stack's base.
 */
void kz_backtrace(uint64_t rbp)
{
	unsigned n;

	for (n = 0; n < 32; n++) {
		const uint64_t *fp = (const uint64_t *)rbp;
		uint64_t next;

		if (!rbp || (rbp & 7) || rbp < KZ_DIRECTMAP)
			break;
		if (!fp[1])
			break;
		print_pc(fp[1], true);
		next = fp[0];
		if (next <= rbp)
			break;
		rbp = next;
	}
}

void kz_stop_self(void)
{
	this_cpu()->state = KZ_CPU_STOPPED;
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* First panicking CPU wins; any other one just stops. */
static void panic_begin(void)
{
	unsigned i;

	cli();
	if (__atomic_exchange_n(&kz_panicking, 1, __ATOMIC_ACQ_REL))
		kz_stop_self();
	if (kz_ncpus_online > 1)
		lapic_nmi_others();
	/* Give them a moment to leave the console; then take it regardless. */
	for (i = 0; i < 1000; i++)
		cpu_relax();
	kz_console_break_lock();
}

static __noreturn void panic_end(void)
{
	outb(PVPANIC_PORT, 1);
	kz_stop_self();
}

void kz_panic(const char *fmt, ...)
{
	va_list ap;
	char msg[200];
	uint64_t pc;

	panic_begin();
	va_start(ap, fmt);
	kz_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kz_printf("panic[cpu%u]: %s\nbacktrace:\n", this_cpu()->index, msg);
	__asm__ volatile("leaq 0(%%rip), %0" : "=r"(pc));
	print_pc(pc, false);		/* kz_panic itself, then its callers */
	kz_backtrace((uint64_t)__builtin_frame_address(0));
	panic_end();
}

void kz_panic_trap(struct kz_trapframe *tf)
{
	uint64_t cr2;

	panic_begin();
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	kz_printf("panic[cpu%u]: %s (vector %lu, error 0x%lx) at %016lx",
		  this_cpu()->index,
		  tf->vector < 32 && trap_names[tf->vector] ?
		  trap_names[tf->vector] : "unexpected interrupt",
		  tf->vector, tf->error, tf->rip);
	if (tf->vector == 14)
		kz_printf(", address %016lx", cr2);
	kz_printf("\nrax %016lx rbx %016lx rcx %016lx rdx %016lx\n"
		  "rsi %016lx rdi %016lx rbp %016lx rsp %016lx\n",
		  tf->rax, tf->rbx, tf->rcx, tf->rdx, tf->rsi, tf->rdi,
		  tf->rbp, tf->rsp);
	kz_printf("backtrace:\n");
	print_pc(tf->rip, false);
	kz_backtrace(tf->rbp);
	panic_end();
}
