/*
 * IOAPIC routing for ISA interrupts, and silencing the 8259s.
 *
 * An ISA IRQ reaches the IOAPIC pin named by the MADT's interrupt source
 * override for it (e.g. IRQ0 -> GSI2), or the pin with its own number when
 * there is none; polarity and trigger default to ISA's active-high edge
 * unless the override says otherwise.  The 8259 pair is initialised (so a
 * stray IRQ could not land on an exception vector) and then fully masked.
 */
#include "kzguest.h"

#define IOREGSEL	0x00
#define IOWIN		0x10

static void ioapic_write(unsigned reg, uint32_t v)
{
	volatile uint32_t *base = phys_to_virt(kz_acpi.ioapic_pa);

	base[IOREGSEL / 4] = reg;
	base[IOWIN / 4] = v;
}

static void pic_disable(void)
{
	outb(0x20, 0x11);	/* ICW1: init, ICW4 follows */
	outb(0xa0, 0x11);
	outb(0x21, 0xe0);	/* ICW2: vectors 0xe0.. (never used) */
	outb(0xa1, 0xe8);
	outb(0x21, 0x04);	/* ICW3: slave on IRQ2 */
	outb(0xa1, 0x02);
	outb(0x21, 0x01);	/* ICW4: 8086 mode */
	outb(0xa1, 0x01);
	outb(0x21, 0xff);	/* mask everything */
	outb(0xa1, 0xff);
}

void ioapic_route_isa(unsigned irq, unsigned vector, unsigned dest_apic)
{
	static bool pic_done;
	unsigned gsi = kz_acpi.isa_gsi[irq & 15];
	uint16_t flags = kz_acpi.isa_flags[irq & 15];
	uint32_t lo = vector;	/* fixed delivery, physical destination */
	unsigned pin;

	if (!pic_done) {
		pic_disable();
		pic_done = true;
	}
	if ((flags & 3) == 3)
		lo |= 1u << 13;		/* active low */
	if (((flags >> 2) & 3) == 3)
		lo |= 1u << 15;		/* level triggered */
	if (gsi < kz_acpi.ioapic_gsi_base)
		return;
	pin = gsi - kz_acpi.ioapic_gsi_base;
	ioapic_write(0x10 + 2 * pin + 1, dest_apic << 24);
	ioapic_write(0x10 + 2 * pin, lo);
}
