/*
 * The IDT and the one C entry point for every interrupt and exception.
 *
 * Only the vectors we use get gates (exceptions, the LAPIC timer, the UART,
 * the spurious vector): any other vector arriving raises #NP, which panics
 * with a message, which is what an unexpected interrupt deserves.  NMI is
 * how a panicking vCPU stops the others (panic.c).
 */
#include "kzguest.h"

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;		/* 0x8e: present, DPL 0, 64-bit interrupt gate */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

struct vector_entry {
	uint64_t vector;
	uint64_t stub;
};

extern const struct vector_entry kz_vector_table[], kz_vector_table_end[];

static struct idt_gate idt[256] __attribute__((aligned(16)));

void trap_init(void)
{
	const struct vector_entry *v;

	for (v = kz_vector_table; v < kz_vector_table_end; v++) {
		struct idt_gate *g = &idt[v->vector & 0xff];

		g->off_lo = (uint16_t)v->stub;
		g->sel = KZ_SEL_CODE64;
		g->ist = 0;
		g->type = 0x8e;
		g->off_mid = (uint16_t)(v->stub >> 16);
		g->off_hi = (uint32_t)(v->stub >> 32);
	}
	trap_load_idt();
}

void trap_load_idt(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };

	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void kz_trap(struct kz_trapframe *tf)
{
	switch (tf->vector) {
	case KZ_VEC_TIMER:
		lapic_timer_irq();
		lapic_eoi();
		return;
	case KZ_VEC_UART:
		uart_irq();
		lapic_eoi();
		return;
	case KZ_VEC_SCI:
		acpi_sci_irq();
		lapic_eoi();
		return;
	case KZ_VEC_VIRTIO:
		virtio_irq();
		lapic_eoi();
		return;
	case KZ_VEC_SPURIOUS:
		return;		/* no EOI for spurious interrupts */
	case 2:			/* NMI */
		if (kz_panicking)
			kz_stop_self();
		return;
	default:
		kz_panic_trap(tf);
	}
}
