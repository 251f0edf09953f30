/*
 * kzguest: shared declarations of the built-in guest kernel.
 *
 * One header for the whole kernel: it is small, and one place keeps the
 * fixed addresses (kernel base, direct map, vectors) from drifting apart
 * between C and the assembly files (which include the #ifndef __ASSEMBLER__
 * free part).
 */
#ifndef KZGUEST_H
#define KZGUEST_H

/* Virtual layout: kernel image at KZ_KERNBASE + physical (top 2 GiB). */
#define KZ_KERNBASE	0xffffffff80000000
/* Every physical address below 4 GiB (more with 1 GiB pages) lives here. */
#define KZ_DIRECTMAP	0xffff800000000000
/* The AP trampoline is copied to this low page (usable RAM in every e820). */
#define KZ_TRAMPOLINE	0x8000

#define KZ_MAXCPUS	64

/* Interrupt vectors; 0-31 are exceptions. */
#define KZ_VEC_TIMER	0x30
#define KZ_VEC_UART	0x31
#define KZ_VEC_SCI	0x32
#define KZ_VEC_VIRTIO	0x33	/* every virtio-mmio device */
#define KZ_VEC_SPURIOUS	0xff

/* GDT selectors (entry.S). */
#define KZ_SEL_CODE64	0x08
#define KZ_SEL_DATA	0x10
#define KZ_SEL_CODE32	0x18

#ifndef __ASSEMBLER__

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifndef KZ_VERSION
#define KZ_VERSION	"0.1"
#endif

#define KZ_HZ		100

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define __noreturn	__attribute__((noreturn))
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#define __unused	__attribute__((unused))

/* Port I/O and a few privileged instructions. */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline void cli(void)
{
	__asm__ volatile("cli" ::: "memory");
}

static inline void sti(void)
{
	__asm__ volatile("sti" ::: "memory");
}

/* Enable interrupts and halt with no window for a lost wakeup (sti shadow). */
static inline void sti_hlt(void)
{
	__asm__ volatile("sti; hlt" ::: "memory");
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
			 "d"((uint32_t)(v >> 32)));
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static inline uint64_t read_rflags(void)
{
	uint64_t f;

	__asm__ volatile("pushfq; popq %0" : "=r"(f));
	return f;
}

/* Physical to virtual through the direct map, and back for kernel symbols. */
static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)(KZ_DIRECTMAP + pa);
}

/* Direct-map address back to physical. */
static inline uint64_t kz_virt_to_phys(const void *p)
{
	return (uint64_t)p - KZ_DIRECTMAP;
}

static inline uint64_t kva_to_phys(const void *p)
{
	return (uint64_t)p - KZ_KERNBASE;
}

/* string.c */
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
bool kz_parse_uint(const char *s, uint64_t *out);

/* msgbuf.c */
void kz_msgbuf_putc(char c);

/* uart.c */
void uart_init(void);
void uart_putc(char c);
void uart_flush(void);
void uart_enable_rx_irq(void);
void uart_irq(void);
int uart_getc(void);		/* -1 when nothing received */
bool uart_rx_pending(void);

/* printf.c: output goes to the UART and kz_msgbuf, serialized by a lock. */
int kz_printf(const char *fmt, ...) __printf(1, 2);
int kz_vprintf(const char *fmt, va_list ap);
int kz_vsnprintf(char *buf, size_t len, const char *fmt, va_list ap);
int kz_snprintf(char *buf, size_t len, const char *fmt, ...) __printf(3, 4);
void kz_puts(const char *s);
void kz_console_break_lock(void);

/* pvh.c: what the boot loader told us, copied at entry. */
#define KZ_MEMMAP_MAX	64
struct kz_memrange {
	uint64_t addr, size;
	uint32_t type;		/* e820 numbering: 1 = usable RAM */
};
struct kz_bootinfo {
	uint64_t rsdp_paddr;
	char cmdline[1024];	/* kzhost appends virtio_mmio.device= */
	unsigned nmem;
	struct kz_memrange mem[KZ_MEMMAP_MAX];
	uint64_t usable_bytes;	/* sum of usable ranges */
	uint64_t ram_top;	/* end of the highest usable range */
};
extern struct kz_bootinfo kz_boot;
void pvh_copy_start_info(uint64_t start_info_pa);
bool kz_cmdline_has(const char *word);
bool kz_mem_usable(uint64_t pa, uint64_t len);
void *kz_alloc_pages(size_t npages);	/* boot-time bump allocator */
bool kz_free_range(uint64_t bytes, uint64_t *pa);
void kz_mem_init(void);
void kz_mem_print(void);

/* trap.c */
struct kz_trapframe {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
void trap_init(void);
void trap_load_idt(void);
void kz_trap(struct kz_trapframe *tf);

/* Per-CPU state; GS base points at the owning CPU's entry. */
enum kz_cpu_state {
	KZ_CPU_OFFLINE,
	KZ_CPU_IDLE,
	KZ_CPU_BUSY,
	KZ_CPU_STOPPED,
};
struct kz_cpu {
	struct kz_cpu *self;	/* %gs:0 */
	unsigned index;
	unsigned apic_id;
	volatile int state;
	uint64_t stack_top;
};
extern struct kz_cpu kz_cpus[KZ_MAXCPUS];
extern unsigned kz_ncpus;		/* from the MADT (at least 1) */
extern volatile unsigned kz_ncpus_online;

static inline struct kz_cpu *this_cpu(void)
{
	struct kz_cpu *c;

	__asm__ volatile("movq %%gs:0, %0" : "=r"(c));
	return c;
}

void kz_cpu_set_gs(struct kz_cpu *c);

/* apic.c */
void lapic_init(void);
void lapic_timer_start(void);
void lapic_eoi(void);
unsigned lapic_id(void);
void lapic_send_init(unsigned apic_id);
void lapic_send_sipi(unsigned apic_id, unsigned vector);
void lapic_nmi_others(void);
void lapic_timer_irq(void);
extern volatile uint64_t kz_ticks;
extern bool kz_timer_running;

/* ioapic.c */
void ioapic_route_isa(unsigned irq, unsigned vector, unsigned dest_apic);

/* acpi.c */
struct kz_acpi {
	uint64_t lapic_pa;
	uint64_t ioapic_pa;
	unsigned ioapic_gsi_base;
	unsigned ncpu;
	uint8_t cpu_apic_id[KZ_MAXCPUS];
	/* ISA IRQ -> GSI and flags (MADT interrupt source overrides). */
	bool ioapic_seen;
	uint32_t isa_gsi[16];
	uint16_t isa_flags[16];
	const uint8_t *fadt;
	uint32_t fadt_len;
	bool hw_reduced;
	int s5_slp_typ;		/* -1 when the DSDT has no \_S5 */
};
extern struct kz_acpi kz_acpi;
void acpi_init(void);
void acpi_poweroff(void) __noreturn;
/* The ACPI power button: the host's request for a clean shutdown. */
void acpi_sci_init(unsigned dest_apic);
void acpi_sci_irq(void);
extern volatile bool kz_power_button;
void acpi_reboot(void) __noreturn;

/* smp.c */
void smp_start_aps(void);	/* INIT/SIPI to every AP */
void smp_wait_aps(void);	/* until they are online */
void ap_main(void) __noreturn;

/* shell.c */
int kz_shell_exec(const char *line);
void kz_shell_run(void) __noreturn;

/* virtio.c, blk.c, net.c, hvc.c: virtio-mmio devices and their drivers */
void virtio_init(void);
void virtio_irq(void);
void virtio_poll(void);
void net_poll(void);
void hvc_poll(void);
void hvc_putc(char c);
void hvc_flush(void);
int hvc_getc(void);
extern bool kz_hvc_console;	/* console=hvc0 and the device is up */
int cmd_disks(int argc, char **argv);
int cmd_dread(int argc, char **argv);
int cmd_dwrite(int argc, char **argv);
int cmd_dbench(int argc, char **argv);
int cmd_ifconfig(int argc, char **argv);
int cmd_spoof(int argc, char **argv);
int cmd_tty(int argc, char **argv);

/* panic.c */
void kz_panic(const char *fmt, ...) __printf(1, 2) __noreturn;
void kz_panic_trap(struct kz_trapframe *tf) __noreturn;
void kz_backtrace(uint64_t rbp);
void kz_stop_self(void) __noreturn;
extern volatile int kz_panicking;

#endif /* __ASSEMBLER__ */
#endif /* KZGUEST_H */
