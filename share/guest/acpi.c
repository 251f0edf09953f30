/*
 * ACPI: just enough to find the CPUs, the IOAPIC and the ISA overrides
 * (MADT), and to power off and reset the machine (FADT, DSDT \_S5).
 *
 * Tables come from start_info.rsdp_paddr, or from the legacy scan of
 * 0xE0000-0xFFFFF for "RSD PTR ".  Everything read from them is bounded by
 * their own lengths; a missing or broken table leaves defaults that match
 * a PC (one CPU, IOAPIC at 0xFEC00000, LAPIC at 0xFEE00000, identity ISA
 * routing).  Offsets are those of the ACPI 6.x specification.
 */
#include "kzguest.h"

#define FADT_FLAGS		112
#define FADT_F_RESET_REG_SUP	(1u << 10)
#define FADT_F_HW_REDUCED	(1u << 20)
#define FADT_DSDT		40
#define FADT_SCI_INT		46
#define FADT_PM1A_EVT		56
#define FADT_PM1_EVT_LEN	88
#define FADT_PM1A_CNT		64
#define FADT_PM1B_CNT		68
#define FADT_RESET_REG		116
#define FADT_RESET_VALUE	128
#define FADT_X_DSDT		140
#define FADT_X_PM1A_CNT		172
#define FADT_X_PM1B_CNT		184
#define FADT_SLEEP_CONTROL	244

#define GAS_MEMORY		0
#define GAS_IO			1

struct sdt {
	char sig[4];
	uint32_t len;
	uint8_t rev;
	uint8_t csum;
	char oem[6];
	char oem_table[8];
	uint32_t oem_rev;
	uint32_t creator;
	uint32_t creator_rev;
} __attribute__((packed));

struct kz_acpi kz_acpi = {
	.lapic_pa = 0xfee00000,
	.ioapic_pa = 0xfec00000,
	.s5_slp_typ = -1,
};
static uint8_t fadt_copy[512];

static const void *table_at(uint64_t pa, uint32_t minlen)
{
	const struct sdt *t;

	/* Only what the boot direct map certainly covers. */
	if (pa == 0 || pa >= 0xc0000000ULL)
		return NULL;
	t = phys_to_virt(pa);
	if (t->len < minlen || t->len > (1u << 20))
		return NULL;
	return t;
}

/*
 * The byte sum of a table, mod 256, eight bytes a step: where KVM
 * emulates guest code one instruction at a time, checksumming the
 * tables byte by byte was a fifth of the whole boot.  Each 16-bit lane
 * of acc gathers two bytes a step; folding every 64 steps keeps the
 * lanes from carrying into each other.
 */
static uint8_t sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	const uint64_t lanes = 0x00ff00ff00ff00ffULL;
	uint8_t s = 0;

	while (n >= 8) {
		uint64_t acc = 0;
		for (unsigned i = 0; i < 64 && n >= 8; i++, b += 8, n -= 8) {
			uint64_t v;
			__builtin_memcpy(&v, b, 8);	/* one load */
			acc += (v & lanes) + ((v >> 8) & lanes);
		}
		s += (uint8_t)(acc + (acc >> 16) + (acc >> 32) + (acc >> 48));
	}
	while (n--)
		s += *b++;
	return s;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static const uint8_t *find_rsdp(void)
{
	const uint8_t *p;
	uint64_t pa;

	if (kz_boot.rsdp_paddr && kz_boot.rsdp_paddr < 0xc0000000ULL) {
		p = phys_to_virt(kz_boot.rsdp_paddr);
		if (!memcmp(p, "RSD PTR ", 8) && !sum(p, 20))
			return p;
	}
	for (pa = 0xe0000; pa < 0x100000; pa += 16) {
		p = phys_to_virt(pa);
		if (!memcmp(p, "RSD PTR ", 8) && !sum(p, 20))
			return p;
	}
	return NULL;
}

/* Walk the XSDT (or the RSDT) for the table with this signature. */
static const struct sdt *find_table(const uint8_t *rsdp, const char *sig)
{
	const struct sdt *root = NULL;
	unsigned esize = 4, i, n;

	if (rsdp[15] >= 2 && get64(rsdp + 24)) {
		root = table_at(get64(rsdp + 24), sizeof(struct sdt));
		esize = 8;
	}
	if (!root) {
		root = table_at(get32(rsdp + 16), sizeof(struct sdt));
		esize = 4;
	}
	if (!root || sum(root, root->len))
		return NULL;
	n = (root->len - sizeof(*root)) / esize;
	for (i = 0; i < n; i++) {
		const uint8_t *e = (const uint8_t *)(root + 1) + i * esize;
		uint64_t pa = esize == 8 ? get64(e) : get32(e);
		const struct sdt *t = table_at(pa, sizeof(struct sdt));

		if (t && !memcmp(t->sig, sig, 4) && !sum(t, t->len))
			return t;
	}
	return NULL;
}

static void parse_madt(const struct sdt *madt)
{
	const uint8_t *p = (const uint8_t *)madt;
	uint32_t off = 44;

	kz_acpi.lapic_pa = get32(p + 36);
	while (off + 2 <= madt->len) {
		uint8_t type = p[off], len = p[off + 1];

		if (len < 2 || off + len > madt->len)
			break;
		switch (type) {
		case 0:		/* processor local APIC */
			/* Enabled, or online-capable (ACPI 6.3). */
			if (len >= 8 && (get32(p + off + 4) & 3) &&
			    kz_acpi.ncpu < KZ_MAXCPUS)
				kz_acpi.cpu_apic_id[kz_acpi.ncpu++] = p[off + 3];
			break;
		case 1:		/* IOAPIC: we use the first one */
			if (len >= 12 && !kz_acpi.ioapic_seen) {
				kz_acpi.ioapic_pa = get32(p + off + 4);
				kz_acpi.ioapic_gsi_base = get32(p + off + 8);
				kz_acpi.ioapic_seen = true;
			}
			break;
		case 2:		/* interrupt source override */
			if (len >= 10 && p[off + 2] == 0 && p[off + 3] < 16) {
				uint16_t fl;

				memcpy(&fl, p + off + 8, 2);
				kz_acpi.isa_gsi[p[off + 3]] = get32(p + off + 4);
				kz_acpi.isa_flags[p[off + 3]] = fl;
			}
			break;
		case 5:		/* 64-bit local APIC address */
			if (len >= 12)
				kz_acpi.lapic_pa = get64(p + off + 4);
			break;
		}
		off += len;
	}
}

/*
 * SLP_TYP for S5: find "_S5_" in the DSDT's AML followed by a PackageOp,
 * skip the PkgLength and NumElements, and decode the first element (a
 * BytePrefix constant or a ZeroOp/OneOp).
 */
static int find_s5(const struct sdt *dsdt)
{
	const uint8_t *p = (const uint8_t *)dsdt;
	uint32_t i;

	for (i = sizeof(*dsdt); i + 8 < dsdt->len; i++) {
		const uint8_t *q = p + i;

		if (q[0] != '_' || memcmp(q, "_S5_", 4) || q[4] != 0x12)
			continue;
		q += 5;
		q += 1 + (q[0] >> 6);	/* PkgLength */
		q += 1;			/* NumElements */
		if (q + 2 > p + dsdt->len)
			return -1;
		switch (q[0]) {
		case 0x0a:
			return q[1];
		case 0x00:
			return 0;
		case 0x01:
			return 1;
		default:
			return -1;
		}
	}
	return -1;
}

void acpi_init(void)
{
	const uint8_t *rsdp = find_rsdp();
	const struct sdt *madt, *fadt, *dsdt = NULL;
	unsigned i;

	for (i = 0; i < 16; i++)
		kz_acpi.isa_gsi[i] = i;
	if (!rsdp)
		goto out;
	madt = find_table(rsdp, "APIC");
	if (madt && madt->len >= 44)
		parse_madt(madt);
	fadt = find_table(rsdp, "FACP");
	if (fadt && fadt->len >= FADT_FLAGS + 4) {
		const uint8_t *f;

		kz_acpi.fadt_len = fadt->len < sizeof(fadt_copy) ?
			fadt->len : sizeof(fadt_copy);
		memcpy(fadt_copy, fadt, kz_acpi.fadt_len);
		kz_acpi.fadt = f = fadt_copy;
		kz_acpi.hw_reduced = get32(f + FADT_FLAGS) & FADT_F_HW_REDUCED;
		if (kz_acpi.fadt_len >= FADT_X_DSDT + 8)
			dsdt = table_at(get64(f + FADT_X_DSDT), sizeof(*dsdt));
		if (!dsdt)
			dsdt = table_at(get32(f + FADT_DSDT), sizeof(*dsdt));
		if (dsdt && !memcmp(dsdt->sig, "DSDT", 4))
			kz_acpi.s5_slp_typ = find_s5(dsdt);
	}
out:
	if (kz_acpi.ncpu == 0) {
		kz_acpi.ncpu = 1;
		kz_acpi.cpu_apic_id[0] = lapic_id();
	}
}

#define PM1_PWRBTN		(1u << 8)	/* in PM1 status and enable */

volatile bool kz_power_button;
static uint16_t pm1a_evt;	/* status port; enable is at + len/2 */
static uint16_t pm1a_en;

/*
 * Listen for the power button: enable its event in PM1a and route the SCI
 * through the IOAPIC (level-triggered, as the MADT override says).
 * Hardware-reduced machines (QEMU microvm) have no PM1 block: nothing to do.
 */
void acpi_sci_init(unsigned dest_apic)
{
	const uint8_t *f = kz_acpi.fadt;

	if (!f || kz_acpi.hw_reduced || kz_acpi.fadt_len <= FADT_PM1_EVT_LEN)
		return;
	pm1a_evt = (uint16_t)get32(f + FADT_PM1A_EVT);
	unsigned len = f[FADT_PM1_EVT_LEN];
	unsigned sci = f[FADT_SCI_INT] | (f[FADT_SCI_INT + 1] << 8);
	if (!pm1a_evt || len < 4 || sci > 15)
		return;
	pm1a_en = (uint16_t)(pm1a_evt + len / 2);
	/*
	 * A press latched before we got here still counts: enabling the
	 * event raises the SCI for it at once.
	 */
	outw(pm1a_en, PM1_PWRBTN);
	ioapic_route_isa(sci, KZ_VEC_SCI, dest_apic);
}

void acpi_sci_irq(void)
{
	uint16_t sts;

	if (!pm1a_evt)
		return;
	__asm__ volatile("inw %1, %0" : "=a"(sts) : "Nd"(pm1a_evt));
	if (sts & PM1_PWRBTN) {
		outw(pm1a_evt, PM1_PWRBTN);	/* write 1 to clear */
		kz_power_button = true;
	}
}

/* Write a byte-wide value through a Generic Address Structure. */
static bool gas_write8(const uint8_t *gas, uint8_t v)
{
	uint64_t addr = get64(gas + 4);

	if (!addr)
		return false;
	if (gas[0] == GAS_IO && addr < 0x10000) {
		outb((uint16_t)addr, v);
		return true;
	}
	if (gas[0] == GAS_MEMORY && addr < 0x100000000ULL) {
		*(volatile uint8_t *)phys_to_virt(addr) = v;
		return true;
	}
	return false;
}

/* A PM1 control block: the X_ GAS when it names I/O space, else the port. */
static uint16_t pm1_cnt_port(unsigned xoff, unsigned off)
{
	const uint8_t *f = kz_acpi.fadt;

	if (kz_acpi.fadt_len >= xoff + 12 && f[xoff] == GAS_IO &&
	    get64(f + xoff + 4) && get64(f + xoff + 4) < 0x10000)
		return (uint16_t)get64(f + xoff + 4);
	return (uint16_t)get32(f + off);
}

/*
 * Give a request the machine handles asynchronously (QEMU queues power
 * off and reset for its main loop) time to act before the next fallback:
 * up to half a second of timer ticks, halting in between.  Without a
 * running timer, a short spin is all we can do.
 */
static void settle(void)
{
	uint64_t end = kz_ticks + KZ_HZ / 2;
	unsigned i;

	if (!kz_timer_running) {
		for (i = 0; i < 100000; i++)
			cpu_relax();
		return;
	}
	while (kz_ticks < end)
		sti_hlt();
	cli();
}

static __noreturn void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void acpi_poweroff(void)
{
	const uint8_t *f = kz_acpi.fadt;
	int typ = kz_acpi.s5_slp_typ;
	uint16_t port;

	cli();
	uart_flush();
	if (f && !kz_acpi.hw_reduced && typ >= 0) {
		uint16_t v = (uint16_t)(((typ & 7) << 10) | (1 << 13));

		port = pm1_cnt_port(FADT_X_PM1B_CNT, FADT_PM1B_CNT);
		if (port)
			outw(port, v);
		port = pm1_cnt_port(FADT_X_PM1A_CNT, FADT_PM1A_CNT);
		if (port) {
			outw(port, v);
			settle();
		}
	}
	if (f && kz_acpi.hw_reduced &&
	    kz_acpi.fadt_len >= FADT_SLEEP_CONTROL + 12 &&
	    gas_write8(f + FADT_SLEEP_CONTROL,
		       (uint8_t)((((typ >= 0 ? typ : 5) & 7) << 2) | (1 << 5))))
		settle();
	/* QEMU's isa-debug-exit, which the benchmarks configure. */
	outl(0xf4, 0);
	halt_forever();
}

void acpi_reboot(void)
{
	const uint8_t *f = kz_acpi.fadt;
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) noidt = { 0, 0 };

	cli();
	uart_flush();
	if (f && kz_acpi.fadt_len > FADT_RESET_VALUE &&
	    (get32(f + FADT_FLAGS) & FADT_F_RESET_REG_SUP) &&
	    gas_write8(f + FADT_RESET_REG, f[FADT_RESET_VALUE]))
		settle();
	outb(0x64, 0xfe);			/* i8042: pulse reset line */
	settle();
	/* Triple fault: no IDT, then an exception. */
	__asm__ volatile("lidt %0; ud2" : : "m"(noidt));
	halt_forever();
}
