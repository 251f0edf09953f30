/*
 * kzguest: the built-in guest kernel of kzones.
 *
 * What it is for: a guest that boots in well under a second even where KVM
 * emulates ring-0 code one instruction at a time, and that exercises what
 * the host side must get right: PVH boot, ACPI tables, every vCPU, IOAPIC
 * and LAPIC interrupts, the serial console, halting when idle, dirty pages,
 * panics (pvpanic), reset and power off.  It owns all of guest memory and
 * every device it touches; there is no user mode and no scheduler.
 *
 * How it boots:
 *  1. entry.S: the PVH note names pvh_start32; the loader enters it in
 *     32-bit protected mode with %ebx = hvm_start_info.  Prebuilt page
 *     tables in .data go into CR3, long mode goes on, and we jump to the
 *     higher half (KZ_KERNBASE + physical), zero .bss and call kz_main().
 *  2. kz_main() copies start_info, the command line and the memory map
 *     into kernel memory before anything can overwrite them, sets up the
 *     UART, the IDT, the ACPI view (MADT, FADT, \_S5), the LAPIC and its
 *     timer, the IOAPIC route of COM1's IRQ; the APs (smp.c) are sent
 *     INIT/SIPI through a trampoline at KZ_TRAMPOLINE as soon as the MADT
 *     and the LAPIC are known, and come up while the BSP does the rest.
 *  3. The banner, then the shell (shell.c) on the BSP; APs and the BSP
 *     halt whenever they have nothing to do.
 *
 * Symbols the host tools know by name: kz_panic, kz_shell_exec, kz_ticks,
 * kz_msgbuf (layout in msgbuf.c).
 */
#include "kzguest.h"

void kz_main(uint64_t start_info_pa);

void kz_main(uint64_t start_info_pa)
{
	struct kz_cpu *bsp = &kz_cpus[0];

	kz_cpu_set_gs(bsp);
	bsp->state = KZ_CPU_BUSY;
	pvh_copy_start_info(start_info_pa);
	uart_init();
	trap_init();
	kz_mem_init();
	acpi_init();
	lapic_init();
	bsp->apic_id = lapic_id();
	kz_ncpus_online = 1;
	smp_start_aps();	/* they come up while the BSP sets up the rest */
	ioapic_route_isa(4, KZ_VEC_UART, bsp->apic_id);
	acpi_sci_init(bsp->apic_id);
	lapic_timer_start();
	sti();
	uart_enable_rx_irq();
	virtio_init();
	smp_wait_aps();

	kz_printf("kzguest %s: %u cpus, %lu MiB\n", KZ_VERSION,
		  kz_ncpus_online, (kz_boot.usable_bytes + (1 << 19)) >> 20);
	if (!kz_boot.nmem)
		kz_printf("kzguest: no PVH memory map (start_info at %lx)\n",
			  start_info_pa);
	if (kz_ncpus_online < kz_ncpus)
		kz_printf("kzguest: only %u of %u cpus came up\n",
			  kz_ncpus_online, kz_ncpus);
	if (kz_cmdline_has("autopoweroff"))
		acpi_poweroff();
	kz_shell_run();
}
