/*
 * Bringing up the application processors.
 *
 * The MADT lists the CPUs by APIC id.  The BSP copies the real-mode
 * trampoline to KZ_TRAMPOLINE (start_info and the command line were copied
 * out long before), gives every AP a stack in kz_ap_stacks[] indexed by
 * APIC id, sends INIT to each and then a SIPI to each, all back to back:
 * virtual CPUs need none of the 10 ms / 200 us waits of real hardware, and
 * starting them together overlaps their (slow, emulated) boot paths.  The
 * BSP goes on with its own setup meanwhile (smp_start_aps, then
 * smp_wait_aps before the banner) and then waits, bounded by a second,
 * until they have all checked in.
 * An AP that checks in only idles: HLT with interrupts on, forever, until
 * a panic's NMI stops it for good.
 */
#include "kzguest.h"

#define AP_STACK_PAGES	4
#define AP_WAIT_TICKS	KZ_HZ

extern uint64_t kz_ap_stacks[256];
extern const char kz_trampoline[], kz_trampoline_end[];

struct kz_cpu kz_cpus[KZ_MAXCPUS];
unsigned kz_ncpus = 1;
volatile unsigned kz_ncpus_online;

void kz_cpu_set_gs(struct kz_cpu *c)
{
	c->self = c;
	wrmsr(0xc0000101, (uint64_t)c);		/* IA32_GS_BASE */
}

void smp_start_aps(void)
{
	unsigned bsp = lapic_id(), i, n = 1;

	/* cpu0 is the BSP; the others keep their MADT order. */
	kz_cpus[0].apic_id = bsp;
	for (i = 0; i < kz_acpi.ncpu && n < KZ_MAXCPUS; i++) {
		unsigned id = kz_acpi.cpu_apic_id[i];
		char *stack;

		if (id == bsp)
			continue;
		stack = kz_alloc_pages(AP_STACK_PAGES);
		if (!stack)
			break;
		kz_cpus[n].index = n;
		kz_cpus[n].apic_id = id;
		kz_cpus[n].stack_top = (uint64_t)stack + AP_STACK_PAGES * 4096;
		kz_ap_stacks[id] = kz_cpus[n].stack_top;
		n++;
	}
	kz_ncpus = n;
	if (n == 1)
		return;
	if (!kz_mem_usable(KZ_TRAMPOLINE, 4096)) {
		kz_printf("kzguest: page %x is not usable RAM: "
			  "not starting the other cpus\n", KZ_TRAMPOLINE);
		return;
	}
	memcpy(phys_to_virt(KZ_TRAMPOLINE), kz_trampoline,
	       kz_trampoline_end - kz_trampoline);
	__asm__ volatile("" ::: "memory");
	for (i = 1; i < n; i++)
		lapic_send_init(kz_cpus[i].apic_id);
	for (i = 1; i < n; i++)
		lapic_send_sipi(kz_cpus[i].apic_id, KZ_TRAMPOLINE >> 12);
}

void smp_wait_aps(void)
{
	/*
	 * The other vCPUs check in within microseconds of a VM's time;
	 * halting until the next tick would cost a whole tick, so spin
	 * (bounded by the deadline) for this one wait at boot.  The BSP
	 * did the rest of its setup since the SIPIs: less to wait for.
	 */
	uint64_t deadline = kz_ticks + AP_WAIT_TICKS;
	while (__atomic_load_n(&kz_ncpus_online, __ATOMIC_ACQUIRE) < kz_ncpus &&
	       kz_ticks < deadline)
		cpu_relax();
}

void ap_main(void)
{
	unsigned id = lapic_id(), i;
	struct kz_cpu *c = NULL;

	for (i = 1; i < kz_ncpus; i++)
		if (kz_cpus[i].apic_id == id)
			c = &kz_cpus[i];
	if (!c)
		for (;;)
			__asm__ volatile("cli; hlt");
	kz_cpu_set_gs(c);
	trap_load_idt();
	lapic_init();
	c->state = KZ_CPU_IDLE;
	__atomic_add_fetch(&kz_ncpus_online, 1, __ATOMIC_RELEASE);
	for (;;)
		sti_hlt();
}
