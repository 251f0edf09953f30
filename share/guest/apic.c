/*
 * Local APIC (xAPIC, MMIO through the direct map): enable, EOI, IPIs, and
 * the periodic timer that drives kz_ticks.
 *
 * The timer runs on the BSP only, at KZ_HZ.  Its rate is measured once
 * against PIT channel 0 over 10 ms: a few hundred port accesses, cheap
 * even where every exit costs ~10 us, and right on any host.  If the PIT does
 * not answer (no PIT, or an implausible count) we assume the 1 GHz APIC bus
 * that KVM emulates by default.
 */
#include "kzguest.h"

#define LAPIC_ID	0x020
#define LAPIC_TPR	0x080
#define LAPIC_EOI	0x0b0
#define LAPIC_SVR	0x0f0
#define LAPIC_ESR	0x280
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define LAPIC_LVT_TIMER	0x320
#define LAPIC_LVT_LINT0	0x350
#define LAPIC_LVT_LINT1	0x360
#define LAPIC_LVT_ERR	0x370
#define LAPIC_TIMER_ICR	0x380
#define LAPIC_TIMER_CCR	0x390
#define LAPIC_TIMER_DCR	0x3e0

#define LVT_MASKED	(1u << 16)
#define LVT_PERIODIC	(1u << 17)
#define ICR_BUSY	(1u << 12)

volatile uint64_t kz_ticks;
bool kz_timer_running;
static uint32_t timer_count;	/* initial count for one tick, divide by 16 */

static volatile uint32_t *lapic_reg(unsigned off)
{
	return phys_to_virt(kz_acpi.lapic_pa + off);
}

static uint32_t lapic_read(unsigned off)
{
	return *lapic_reg(off);
}

static void lapic_write(unsigned off, uint32_t v)
{
	*lapic_reg(off) = v;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

unsigned lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

/*
 * Software-enable the APIC with our spurious vector, let every priority
 * through, mask LINT0 (KVM wires it to the 8259 as ExtINT on the BSP; we
 * use the IOAPIC) and keep LINT1 as NMI.
 */
void lapic_init(void)
{
	lapic_write(LAPIC_SVR, 0x100 | KZ_VEC_SPURIOUS);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, 0x400);		/* NMI */
	lapic_write(LAPIC_LVT_ERR, LVT_MASKED);
}

static uint16_t pit0_read(void)
{
	uint8_t lo, hi;

	outb(0x43, 0x00);			/* latch channel 0 */
	lo = inb(0x40);
	hi = inb(0x40);
	return (uint16_t)(lo | hi << 8);
}

/*
 * LAPIC timer counts (divide by 16) in 10 ms of PIT time.  Channel 0 is
 * read back rather than channel 2's gate watched through port 0x61,
 * because some machines (QEMU microvm) have a PIT but no port 0x61.  If
 * the counter does not move (no PIT), give up quickly and return 0.
 */
static uint32_t calibrate_10ms(void)
{
	const uint32_t want = 11932;		/* 1193182 Hz / 100 */
	uint32_t start, end, elapsed = 0;
	uint16_t prev, cur;
	unsigned i;

	outb(0x43, 0x34);			/* ch0, lo/hi, mode 2 */
	outb(0x40, 0xff);
	outb(0x40, 0xff);
	lapic_write(LAPIC_TIMER_DCR, 0x3);	/* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	prev = pit0_read();
	lapic_write(LAPIC_TIMER_ICR, 0xffffffff);
	start = lapic_read(LAPIC_TIMER_CCR);
	for (i = 0; elapsed < want; i++) {
		if (i == 1000 && elapsed == 0)
			break;
		cur = pit0_read();
		elapsed += (uint16_t)(prev - cur);
		prev = cur;
	}
	end = lapic_read(LAPIC_TIMER_CCR);
	lapic_write(LAPIC_TIMER_ICR, 0);
	/* Mode 0 without a count: channel 0 stops, IRQ0 stays quiet. */
	outb(0x43, 0x30);
	if (elapsed < want)
		return 0;
	return (uint32_t)((uint64_t)(start - end) * want / elapsed);
}

/*
 * KVM's local APIC timer always counts at 1 GHz (its APIC bus cycle is
 * 1 ns), so under KVM there is nothing to measure; elsewhere the PIT
 * tells.  Skipping the 10 ms calibration is most of our boot time.
 */
static bool on_kvm(void)
{
	uint32_t r[4];

	cpuid(0x40000000, 0, r);
	return r[1] == 0x4b4d564b && r[2] == 0x564b4d56 && r[3] == 0x4d;
}

void lapic_timer_start(void)
{
	uint32_t c = on_kvm() ? 1000000000 / 16 / KZ_HZ : calibrate_10ms();

	/* Anything under a 10 MHz bus or over 10 GHz is not a measurement. */
	if (c < 10000000 / 16 / KZ_HZ || c > 10000000000ULL / 16 / KZ_HZ)
		c = 1000000000 / 16 / KZ_HZ;
	timer_count = c * 100 / KZ_HZ;
	lapic_write(LAPIC_TIMER_DCR, 0x3);
	lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | KZ_VEC_TIMER);
	lapic_write(LAPIC_TIMER_ICR, timer_count);
	kz_timer_running = true;
}

void lapic_timer_irq(void)
{
	kz_ticks++;
}

static void icr_send(unsigned apic_id, uint32_t lo)
{
	unsigned i;

	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, lo);
	/* KVM delivers at once; real hardware may take a moment. */
	for (i = 0; i < 1000 && (lapic_read(LAPIC_ICR_LO) & ICR_BUSY); i++)
		cpu_relax();
}

void lapic_send_init(unsigned apic_id)
{
	icr_send(apic_id, 0x4500);		/* INIT, assert, edge */
}

void lapic_send_sipi(unsigned apic_id, unsigned vector)
{
	icr_send(apic_id, 0x4600 | (vector & 0xff));
}

void lapic_nmi_others(void)
{
	icr_send(0, 0xc4400);			/* all but self, NMI */
}
