/*
 * ACPI tables for a kzones guest.
 *
 * What it owns: the byte layout of every table the guest firmware would
 * normally provide -- RSDP, XSDT (and an RSDT for ACPI 1.0 guests), FADT,
 * FACS, MADT and a DSDT whose AML is assembled here by a tiny emitter.  The
 * tables describe the board of vmm/layout.h and nothing else: when a device
 * moves, layout.h changes and this file follows without edits.
 *
 * Who calls it: machine setup, once, before the first vCPU runs; the caller
 * places the result at cfg->base_gpa (KZ_GPA_ACPI, where the legacy scan of
 * 0xE0000-0xFFFFF finds the RSDP) and reports that range as reserved.  The
 * unit test and fuzzers call it on plain host buffers.
 *
 * What it never does: touch a VM, guest memory, a file descriptor or global
 * state; allocate; print; write past buf + len.  It is a pure function of
 * (cfg, len), so the same config always gives the same bytes, which keeps
 * snapshots and migration streams comparable.
 *
 * Layout, in guest-physical order (tables 16-byte aligned, FACS 64):
 *
 *	RSDP | DSDT | FACS | FADT | MADT | XSDT | RSDT
 *
 * Tables are emitted bottom-up so that every pointer is known when it is
 * written; the RSDP sits at offset 0 and is filled last.
 *
 * Running out of room: every byte goes through struct acpi_out, which stops
 * storing but keeps counting once buf is full.  The emitters therefore have
 * no error paths; the build reports -ENOSPC once, at the end.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "acpi.h"
#include "layout.h"

#define ACPI_OEM_ID		"KZONES"	/* 6 bytes */
#define ACPI_OEM_TABLE_ID	"KZMACH  "	/* 8 bytes */
#define ACPI_OEM_REVISION	1
#define ACPI_CREATOR_ID		"KZON"
#define ACPI_CREATOR_REVISION	1

#define ACPI_HDR_LEN		36	/* common SDT header */
#define ACPI_RSDP_V1_LEN	20	/* covered by the first checksum */
#define ACPI_RSDP_LEN		36
#define ACPI_FADT_LEN		276	/* ACPI 6.x, with hypervisor id */
#define ACPI_FACS_LEN		64
#define ACPI_MAX_CPUS		254	/* IOAPIC id = ncpus stays < 0xFF */

/* Generic Address Structure: address space ids and access sizes. */
#define GAS_SYSTEM_IO		1
#define GAS_ACCESS_BYTE		1
#define GAS_ACCESS_WORD		2

/* FADT flags (ACPI 6.x table 5-35). */
#define FADT_F_WBINVD		(1u << 0)
#define FADT_F_PROC_C1		(1u << 2)	/* HLT works on all vCPUs */
#define FADT_F_SLP_BUTTON	(1u << 5)	/* no fixed sleep button */
#define FADT_F_RESET_REG_SUP	(1u << 10)

/* FADT IA-PC boot architecture flags (table 5-36). */
#define FADT_BOOT_8042		(1u << 1)
#define FADT_BOOT_NO_VGA	(1u << 2)

/* FADT latencies above these mean "C2/C3 not supported". */
#define FADT_NO_C2_LATENCY	101
#define FADT_NO_C3_LATENCY	1001

#define RTC_CENTURY_INDEX	0x32	/* CMOS byte holding the century */

/*
 * The keyboard line of the ISA PIC; a PC constant rather than a board
 * choice, and layout.h does not name it (yet).
 */
#define ISA_IRQ_KEYBOARD	1

/* MADT. */
#define MADT_PCAT_COMPAT	(1u << 0)	/* dual 8259s present too */
#define MADT_LAPIC		0
#define MADT_IOAPIC		1
#define MADT_ISO		2
#define MADT_LAPIC_NMI		4
#define MADT_LAPIC_ENABLED	(1u << 0)
#define MADT_ALL_CPUS		0xFF
/* MPS INTI flags: polarity in bits 0-1, trigger mode in bits 2-3. */
#define MPS_HIGH		0x1
#define MPS_EDGE		(0x1 << 2)
#define MPS_LEVEL		(0x3 << 2)

/* AML opcodes (ACPI 6.x section 20). */
#define AML_ZERO		0x00
#define AML_ONE			0x01
#define AML_NAME		0x08
#define AML_BYTE		0x0A
#define AML_WORD		0x0B
#define AML_DWORD		0x0C
#define AML_STRING		0x0D
#define AML_QWORD		0x0E
#define AML_SCOPE		0x10
#define AML_BUFFER		0x11
#define AML_PACKAGE		0x12
#define AML_EXT_PREFIX		0x5B
#define AML_EXT_DEVICE		0x82
#define AML_ROOT_CHAR		'\\'
#define AML_ONES		0xFF

/* Small resource descriptors for _CRS. */
#define RES_IRQ_NOFLAGS		0x22	/* type 4, 2 bytes: mask */
#define RES_IO			0x47	/* type 8, 7 bytes */
#define RES_IO_DECODE16		0x01
#define RES_END			0x79	/* type 15, 1 byte: sum */
#define RES_MEM32_FIXED		0x86	/* large item, 9 bytes */
#define RES_EXT_IRQ		0x89	/* large item: flags, count, GSIs */
#define RES_MEM_RW		0x01
#define RES_IRQ_CONSUMER_EDGE	0x03	/* consumer, edge, high, exclusive */

/* _STA: present, enabled, shown in UI, functioning. */
#define ACPI_STA_ALL		0x0F

struct acpi_out {
	uint8_t *buf;
	size_t len;
	size_t pos;		/* next byte; may run past len */
	uint64_t base;		/* guest-physical address of buf[0] */
	bool full;
};

/* --- byte output ---------------------------------------------------------- */

static void out_u8(struct acpi_out *o, uint8_t v)
{
	if (o->pos < o->len)
		o->buf[o->pos] = v;
	else
		o->full = true;
	o->pos++;
}

static void out_le(struct acpi_out *o, uint64_t v, unsigned bytes)
{
	while (bytes--) {
		out_u8(o, v & 0xFF);
		v >>= 8;
	}
}

static void out_u16(struct acpi_out *o, uint16_t v) { out_le(o, v, 2); }
static void out_u32(struct acpi_out *o, uint32_t v) { out_le(o, v, 4); }
static void out_u64(struct acpi_out *o, uint64_t v) { out_le(o, v, 8); }

static void out_zero(struct acpi_out *o, size_t n)
{
	while (n--)
		out_u8(o, 0);
}

/* Fixed-width text fields: exactly n bytes, no terminator. */
static void out_chars(struct acpi_out *o, const char *s, size_t n)
{
	while (n--)
		out_u8(o, (uint8_t)*s++);
}

static uint64_t out_gpa(const struct acpi_out *o)
{
	return o->base + o->pos;
}

/* Pad so that the next byte lands on an align-byte guest-physical boundary. */
static void out_align(struct acpi_out *o, uint64_t align)
{
	while (out_gpa(o) & (align - 1))
		out_u8(o, 0);
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
	while (bytes--) {
		*p++ = v & 0xFF;
		v >>= 8;
	}
}

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	while (n--)
		sum += *p++;
	return (uint8_t)-sum;
}

static bool fits32(uint64_t gpa)
{
	return gpa <= UINT32_MAX;
}

/* --- common table header -------------------------------------------------- */

/* Start a table; returns its offset in buf, for sdt_end(). */
static size_t sdt_begin(struct acpi_out *o, const char *sig, uint8_t rev)
{
	size_t start;

	out_align(o, 16);
	start = o->pos;
	out_chars(o, sig, 4);
	out_u32(o, 0);			/* length, patched by sdt_end() */
	out_u8(o, rev);
	out_u8(o, 0);			/* checksum, by sdt_end() */
	out_chars(o, ACPI_OEM_ID, 6);
	out_chars(o, ACPI_OEM_TABLE_ID, 8);
	out_u32(o, ACPI_OEM_REVISION);
	out_chars(o, ACPI_CREATOR_ID, 4);
	out_u32(o, ACPI_CREATOR_REVISION);
	return start;
}

/* Patch length and checksum once the body is complete. */
static void sdt_end(struct acpi_out *o, size_t start)
{
	size_t n = o->pos - start;
	uint8_t *t = o->buf + start;

	if (o->full)
		return;
	put_le(t + 4, n, 4);
	t[9] = checksum(t, n);
}

/* --- AML emitter ---------------------------------------------------------- */

/*
 * PkgLength counts itself, so its size depends on the length it encodes:
 * the body is written first and then shifted up to make room.  One byte
 * holds up to 63; longer forms put the byte count in bits 6-7 of the lead
 * byte, the low nibble in bits 0-3 and the rest in the following bytes.
 */
static size_t aml_pkg_begin(const struct acpi_out *o)
{
	return o->pos;
}

static void aml_pkg_end(struct acpi_out *o, size_t start)
{
	size_t body = o->pos - start;
	size_t total;
	unsigned n;
	uint8_t *p;

	if (body + 1 <= 0x3F)
		n = 1;
	else if (body + 2 <= 0xFFF)
		n = 2;
	else if (body + 3 <= 0xFFFFF)
		n = 3;
	else
		n = 4;		/* up to 2^28 - 1, beyond KZ_ACPI_MAX */
	total = body + n;

	if (o->full || o->pos + n > o->len) {
		o->full = true;
		o->pos += n;
		return;
	}
	p = o->buf + start;
	memmove(p + n, p, body);
	o->pos += n;
	if (n == 1) {
		p[0] = (uint8_t)total;
		return;
	}
	p[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0F));
	put_le(p + 1, total >> 4, n - 1);
}

static void aml_nameseg(struct acpi_out *o, const char *seg)
{
	out_chars(o, seg, 4);
}

/* Smallest encoding, as iasl would choose it. */
static void aml_int(struct acpi_out *o, uint64_t v)
{
	if (v == 0) {
		out_u8(o, AML_ZERO);
	} else if (v == 1) {
		out_u8(o, AML_ONE);
	} else if (v <= 0xFF) {
		out_u8(o, AML_BYTE);
		out_u8(o, (uint8_t)v);
	} else if (v <= 0xFFFF) {
		out_u8(o, AML_WORD);
		out_u16(o, (uint16_t)v);
	} else if (v <= UINT32_MAX) {
		out_u8(o, AML_DWORD);
		out_u32(o, (uint32_t)v);
	} else {
		out_u8(o, AML_QWORD);
		out_u64(o, v);
	}
}

static void aml_string(struct acpi_out *o, const char *s)
{
	out_u8(o, AML_STRING);
	out_chars(o, s, strlen(s) + 1);
}

static unsigned hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	return (unsigned)((c | 0x20) - 'a' + 10);
}

/*
 * EisaId("PNPxxxx"): three letters of five bits each (A = 1) followed by
 * four hex digits, stored big-endian inside a DWord -- always a DWordConst,
 * as iasl emits it, even where a shorter integer would do.
 */
static void aml_eisaid(struct acpi_out *o, const char *id)
{
	unsigned c0 = id[0] & 0x1F, c1 = id[1] & 0x1F, c2 = id[2] & 0x1F;

	out_u8(o, AML_DWORD);
	out_u8(o, (uint8_t)((c0 << 2) | (c1 >> 3)));
	out_u8(o, (uint8_t)(((c1 & 0x7) << 5) | c2));
	out_u8(o, (uint8_t)((hexval(id[3]) << 4) | hexval(id[4])));
	out_u8(o, (uint8_t)((hexval(id[5]) << 4) | hexval(id[6])));
}

/* Name(seg, ...): the caller emits the data object. */
static void aml_name(struct acpi_out *o, const char *seg)
{
	out_u8(o, AML_NAME);
	aml_nameseg(o, seg);
}

static void aml_name_int(struct acpi_out *o, const char *seg, uint64_t v)
{
	aml_name(o, seg);
	aml_int(o, v);
}

/* Scope(\seg) { ... }: returns the token for aml_pkg_end(). */
static size_t aml_scope_begin(struct acpi_out *o, const char *root_seg)
{
	size_t pkg;

	out_u8(o, AML_SCOPE);
	pkg = aml_pkg_begin(o);
	out_u8(o, AML_ROOT_CHAR);
	aml_nameseg(o, root_seg);
	return pkg;
}

static size_t aml_device_begin(struct acpi_out *o, const char *seg)
{
	size_t pkg;

	out_u8(o, AML_EXT_PREFIX);
	out_u8(o, AML_EXT_DEVICE);
	pkg = aml_pkg_begin(o);
	aml_nameseg(o, seg);
	return pkg;
}

/* Buffer() holding bytes verbatim, e.g. a resource template. */
static void aml_buffer(struct acpi_out *o, const uint8_t *bytes, size_t n)
{
	size_t pkg;

	out_u8(o, AML_BUFFER);
	pkg = aml_pkg_begin(o);
	aml_int(o, n);
	for (size_t i = 0; i < n; i++)
		out_u8(o, bytes[i]);
	aml_pkg_end(o, pkg);
}

/* --- _CRS resource templates ---------------------------------------------- */

struct acpi_isa_io {
	uint16_t port;
	uint8_t len;		/* 0: unused slot */
};

/*
 * One ISA device of the board, described in the DSDT.  A 7-character _HID
 * is a PNP id and goes out as EisaId(); an 8-character one is an ACPI id
 * and goes out as a string, which is how the ACPI spec tells them apart.
 */
struct acpi_isa_dev {
	const char *name;	/* NameSeg under \_SB */
	const char *hid;
	int uid;		/* < 0: no _UID */
	struct acpi_isa_io io[2];
	int irq;		/* < 0: none */
};

/*
 * Linux binds its serial, i8042, rtc-cmos and pvpanic drivers from these;
 * the i8042 has no mouse entry on purpose, so that Linux does not probe an
 * AUX port the board does not have.
 */
static const struct acpi_isa_dev acpi_isa_devs[] = {
	{ "COM1", "PNP0501", 1, { { KZ_PORT_COM1, 8 } }, KZ_IRQ_COM1 },
	{ "KBD_", "PNP0303", -1,
	  { { KZ_PORT_I8042_DATA, 1 }, { KZ_PORT_I8042_CMD, 1 } },
	  ISA_IRQ_KEYBOARD },
	{ "RTC_", "PNP0B00", -1, { { KZ_PORT_RTC, 2 } }, KZ_IRQ_RTC },
	{ "PEVT", "QEMU0001", -1, { { KZ_PORT_PVPANIC, 1 } }, -1 },
};

/* Large enough for two IO descriptors, an IRQ and the end tag. */
#define RES_MAX	32

struct acpi_res {
	uint8_t b[RES_MAX];
	size_t n;
};

static void res_u8(struct acpi_res *r, uint8_t v)
{
	if (r->n < RES_MAX)
		r->b[r->n++] = v;
}

/* IO(Decode16, port, port, 1, len): a fixed range. */
static void res_io(struct acpi_res *r, uint16_t port, uint8_t len)
{
	res_u8(r, RES_IO);
	res_u8(r, RES_IO_DECODE16);
	res_u8(r, port & 0xFF);
	res_u8(r, port >> 8);
	res_u8(r, port & 0xFF);
	res_u8(r, port >> 8);
	res_u8(r, 1);			/* alignment */
	res_u8(r, len);
}

/* IRQNoFlags() {irq}: edge, active high, exclusive -- ISA semantics. */
static void res_irq(struct acpi_res *r, unsigned irq)
{
	uint16_t mask = (uint16_t)(1u << irq);

	res_u8(r, RES_IRQ_NOFLAGS);
	res_u8(r, mask & 0xFF);
	res_u8(r, mask >> 8);
}

/* A zero checksum byte tells the OS to treat the template as valid. */
static void res_end(struct acpi_res *r)
{
	res_u8(r, RES_END);
	res_u8(r, 0);
}

static void aml_isa_crs(struct acpi_out *o, const struct acpi_isa_dev *d)
{
	struct acpi_res r = { .n = 0 };

	for (size_t i = 0; i < sizeof(d->io) / sizeof(d->io[0]); i++)
		if (d->io[i].len)
			res_io(&r, d->io[i].port, d->io[i].len);
	if (d->irq >= 0)
		res_irq(&r, (unsigned)d->irq);
	res_end(&r);

	aml_name(o, "_CRS");
	aml_buffer(o, r.b, r.n);
}

static void aml_isa_dev(struct acpi_out *o, const struct acpi_isa_dev *d)
{
	size_t dev = aml_device_begin(o, d->name);

	aml_name(o, "_HID");
	if (strlen(d->hid) == 7)
		aml_eisaid(o, d->hid);
	else
		aml_string(o, d->hid);
	if (d->uid >= 0)
		aml_name_int(o, "_UID", (uint64_t)d->uid);
	/* A Name rather than a Method: nothing here is ever switched off. */
	aml_name_int(o, "_STA", ACPI_STA_ALL);
	aml_isa_crs(o, d);
	aml_pkg_end(o, dev);
}

/*
 * Name(\_S5_, Package(4) {typ, typ, 0, 0}): SLP_TYPa, SLP_TYPb and two
 * reserved.  Kept at the root, with the root prefix, because simple guests
 * (ours included) find it by scanning the DSDT for "_S5_" rather than by
 * running an AML interpreter.
 */
static void aml_s5(struct acpi_out *o)
{
	size_t pkg;

	out_u8(o, AML_NAME);
	out_u8(o, AML_ROOT_CHAR);
	aml_nameseg(o, "_S5_");
	out_u8(o, AML_PACKAGE);
	pkg = aml_pkg_begin(o);
	out_u8(o, 4);			/* NumElements */
	aml_int(o, KZ_ACPI_S5_SLP_TYP);
	aml_int(o, KZ_ACPI_S5_SLP_TYP);
	aml_int(o, 0);
	aml_int(o, 0);
	aml_pkg_end(o, pkg);
}

/*
 * A virtio-mmio device as QEMU's microvm and Firecracker describe it:
 * _HID "LNRO0005", Memory32Fixed over its registers and an Extended
 * Interrupt with its GSI.  Edge-triggered, since KVM's irqfd pulses the
 * line.  Names VR00..VR31 follow the order of cfg->mmio.
 */
static void aml_virtio_dev(struct acpi_out *o, unsigned i,
			   const struct vmm_acpi_mmio *m)
{
	static const char hex[] = "0123456789ABCDEF";
	char name[5] = { 'V', 'R', hex[(i >> 4) & 15], hex[i & 15], 0 };
	struct acpi_res r = { .n = 0 };
	size_t dev = aml_device_begin(o, name);

	aml_name(o, "_HID");
	aml_string(o, "LNRO0005");
	aml_name_int(o, "_UID", i);
	aml_name_int(o, "_STA", ACPI_STA_ALL);

	res_u8(&r, RES_MEM32_FIXED);
	res_u8(&r, 9);
	res_u8(&r, 0);
	res_u8(&r, RES_MEM_RW);
	for (unsigned b = 0; b < 4; b++)
		res_u8(&r, (uint8_t)(m->base >> (8 * b)));
	for (unsigned b = 0; b < 4; b++)
		res_u8(&r, (uint8_t)(m->size >> (8 * b)));
	res_u8(&r, RES_EXT_IRQ);
	res_u8(&r, 6);
	res_u8(&r, 0);
	res_u8(&r, RES_IRQ_CONSUMER_EDGE);
	res_u8(&r, 1);
	for (unsigned b = 0; b < 4; b++)
		res_u8(&r, (uint8_t)(m->irq >> (8 * b)));
	res_end(&r);
	aml_name(o, "_CRS");
	aml_buffer(o, r.b, r.n);
	aml_pkg_end(o, dev);
}

/* --- the tables ----------------------------------------------------------- */

/* Revision 2: integers are 64 bits wide. */
static size_t build_dsdt(struct acpi_out *o,
			 const struct vmm_acpi_config *cfg)
{
	size_t start = sdt_begin(o, "DSDT", 2);
	size_t sb;

	aml_s5(o);
	sb = aml_scope_begin(o, "_SB_");
	for (size_t i = 0; i < sizeof(acpi_isa_devs) / sizeof(acpi_isa_devs[0]);
	     i++)
		aml_isa_dev(o, &acpi_isa_devs[i]);
	for (unsigned i = 0; i < cfg->nmmio && i < VMM_ACPI_MAX_MMIO; i++)
		aml_virtio_dev(o, i, &cfg->mmio[i]);
	aml_pkg_end(o, sb);
	sdt_end(o, start);
	return start;
}

/*
 * The FACS has no checksum.  A non-hardware-reduced FADT needs one: it
 * holds the global lock and the waking vector, both unused by a machine
 * with no S1-S4, but OSes expect it to be there.
 */
static size_t build_facs(struct acpi_out *o)
{
	size_t start;

	out_align(o, 64);
	start = o->pos;
	out_chars(o, "FACS", 4);
	out_u32(o, ACPI_FACS_LEN);
	out_u32(o, 0);			/* hardware signature */
	out_u32(o, 0);			/* firmware waking vector */
	out_u32(o, 0);			/* global lock */
	out_u32(o, 0);			/* flags: no S4BIOS, 64-bit wake */
	out_u64(o, 0);			/* X firmware waking vector */
	out_u8(o, 2);			/* version */
	out_zero(o, 3);
	out_u32(o, 0);			/* OSPM flags */
	out_zero(o, 24);
	return start;
}

static void out_gas(struct acpi_out *o, uint8_t space, uint8_t bits,
		    uint8_t access, uint64_t addr)
{
	out_u8(o, space);
	out_u8(o, bits);
	out_u8(o, 0);			/* bit offset */
	out_u8(o, access);
	out_u64(o, addr);
}

static void out_gas_none(struct acpi_out *o)
{
	out_zero(o, 12);
}

/*
 * FADT revision 6, full length, not hardware-reduced: the guest powers off
 * through PM1a_CNT and resets through the reset register.  SMI_CMD is 0,
 * so OSPM treats the machine as always being in ACPI mode and never tries
 * the SMI handshake.  There is no PM timer (optional since ACPI 5.0A;
 * Linux then uses the TSC and kvm-clock) and there are no GPE blocks.
 */
static size_t build_fadt(struct acpi_out *o, uint64_t facs, uint64_t dsdt)
{
	size_t start = sdt_begin(o, "FACP", 6);
	uint32_t facs32 = fits32(facs) ? (uint32_t)facs : 0;
	uint32_t dsdt32 = fits32(dsdt) ? (uint32_t)dsdt : 0;

	out_u32(o, facs32);			/* FIRMWARE_CTRL */
	out_u32(o, dsdt32);			/* DSDT */
	out_u8(o, 0);				/* reserved (INT_MODEL) */
	out_u8(o, 0);				/* Preferred_PM_Profile */
	out_u16(o, KZ_IRQ_ACPI_SCI);		/* SCI_INT */
	out_u32(o, 0);				/* SMI_CMD */
	out_u8(o, 0);				/* ACPI_ENABLE */
	out_u8(o, 0);				/* ACPI_DISABLE */
	out_u8(o, 0);				/* S4BIOS_REQ */
	out_u8(o, 0);				/* PSTATE_CNT */
	out_u32(o, KZ_PORT_ACPI_PM1A_EVT);	/* PM1a_EVT_BLK */
	out_u32(o, 0);				/* PM1b_EVT_BLK */
	out_u32(o, KZ_PORT_ACPI_PM1A_CNT);	/* PM1a_CNT_BLK */
	out_u32(o, 0);				/* PM1b_CNT_BLK */
	out_u32(o, 0);				/* PM2_CNT_BLK */
	out_u32(o, 0);				/* PM_TMR_BLK */
	out_u32(o, 0);				/* GPE0_BLK */
	out_u32(o, 0);				/* GPE1_BLK */
	out_u8(o, 4);				/* PM1_EVT_LEN */
	out_u8(o, 2);				/* PM1_CNT_LEN */
	out_u8(o, 0);				/* PM2_CNT_LEN */
	out_u8(o, 0);				/* PM_TMR_LEN */
	out_u8(o, 0);				/* GPE0_BLK_LEN */
	out_u8(o, 0);				/* GPE1_BLK_LEN */
	out_u8(o, 0);				/* GPE1_BASE */
	out_u8(o, 0);				/* CST_CNT */
	out_u16(o, FADT_NO_C2_LATENCY);		/* P_LVL2_LAT */
	out_u16(o, FADT_NO_C3_LATENCY);		/* P_LVL3_LAT */
	out_u16(o, 0);				/* FLUSH_SIZE */
	out_u16(o, 0);				/* FLUSH_STRIDE */
	out_u8(o, 0);				/* DUTY_OFFSET */
	out_u8(o, 0);				/* DUTY_WIDTH */
	out_u8(o, 0);				/* DAY_ALRM: none */
	out_u8(o, 0);				/* MON_ALRM */
	out_u8(o, RTC_CENTURY_INDEX);		/* CENTURY */
	/*
	 * An i8042 exists; VGA does not, so Linux must not poke at 0x3C0.
	 * LEGACY_DEVICES stays clear: every ISA device is in the DSDT.  MSI
	 * is left allowed and the CMOS RTC is present.
	 */
	out_u16(o, FADT_BOOT_8042 | FADT_BOOT_NO_VGA); /* IAPC_BOOT_ARCH */
	out_u8(o, 0);				/* reserved */
	/*
	 * PWR_BUTTON stays clear: a fixed-feature power button in PM1 lets
	 * the host ask for an orderly shutdown.
	 */
	out_u32(o, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON |
		   FADT_F_RESET_REG_SUP);	/* Flags */
	/* Linux insists on an 8-bit wide register at bit offset 0. */
	out_gas(o, GAS_SYSTEM_IO, 8, GAS_ACCESS_BYTE,
		KZ_PORT_ACPI_RESET);		/* RESET_REG */
	out_u8(o, KZ_ACPI_RESET_VALUE);		/* RESET_VALUE */
	out_u16(o, 0);				/* ARM_BOOT_ARCH */
	out_u8(o, 0);				/* minor version: 6.0 */
	out_u64(o, fits32(facs) ? 0 : facs);	/* X_FIRMWARE_CTRL */
	out_u64(o, dsdt);			/* X_DSDT */
	/* Bit widths must match the legacy lengths, or ACPICA warns. */
	out_gas(o, GAS_SYSTEM_IO, 32, GAS_ACCESS_WORD,
		KZ_PORT_ACPI_PM1A_EVT);		/* X_PM1a_EVT_BLK */
	out_gas_none(o);			/* X_PM1b_EVT_BLK */
	out_gas(o, GAS_SYSTEM_IO, 16, GAS_ACCESS_WORD,
		KZ_PORT_ACPI_PM1A_CNT);		/* X_PM1a_CNT_BLK */
	out_gas_none(o);			/* X_PM1b_CNT_BLK */
	out_gas_none(o);			/* X_PM2_CNT_BLK */
	out_gas_none(o);			/* X_PM_TMR_BLK */
	out_gas_none(o);			/* X_GPE0_BLK */
	out_gas_none(o);			/* X_GPE1_BLK */
	out_gas_none(o);			/* SLEEP_CONTROL_REG */
	out_gas_none(o);			/* SLEEP_STATUS_REG */
	out_u64(o, 0);				/* hypervisor vendor id */
	sdt_end(o, start);
	return start;
}

static void madt_lapic(struct acpi_out *o, uint8_t uid, uint8_t apic_id)
{
	out_u8(o, MADT_LAPIC);
	out_u8(o, 8);
	out_u8(o, uid);
	out_u8(o, apic_id);
	out_u32(o, MADT_LAPIC_ENABLED);
}

static void madt_ioapic(struct acpi_out *o, uint8_t id, uint32_t addr,
			uint32_t gsi_base)
{
	out_u8(o, MADT_IOAPIC);
	out_u8(o, 12);
	out_u8(o, id);
	out_u8(o, 0);
	out_u32(o, addr);
	out_u32(o, gsi_base);
}

static void madt_iso(struct acpi_out *o, uint8_t irq, uint32_t gsi,
		     uint16_t flags)
{
	out_u8(o, MADT_ISO);
	out_u8(o, 10);
	out_u8(o, 0);			/* bus: ISA */
	out_u8(o, irq);
	out_u32(o, gsi);
	out_u16(o, flags);
}

static void madt_lapic_nmi(struct acpi_out *o, uint8_t uid, uint16_t flags,
			   uint8_t lint)
{
	out_u8(o, MADT_LAPIC_NMI);
	out_u8(o, 6);
	out_u8(o, uid);
	out_u16(o, flags);
	out_u8(o, lint);
}

/*
 * MADT revision 4 (ACPI 6.0).  The IOAPIC takes the first id after the
 * vCPUs so it cannot clash with a local APIC id.  KVM's in-kernel IOAPIC
 * routes the PIT to pin 2, hence the IRQ0 override; the SCI override says
 * level/active-high because that is how the board raises it, where ISA
 * would otherwise imply edge.
 */
static size_t build_madt(struct acpi_out *o, unsigned ncpus)
{
	size_t start = sdt_begin(o, "APIC", 4);

	out_u32(o, (uint32_t)KZ_GPA_LAPIC);
	out_u32(o, MADT_PCAT_COMPAT);
	for (unsigned i = 0; i < ncpus; i++)
		madt_lapic(o, (uint8_t)i, (uint8_t)i);
	madt_ioapic(o, (uint8_t)ncpus, (uint32_t)KZ_GPA_IOAPIC, 0);
	madt_iso(o, 0, 2, MPS_EDGE | MPS_HIGH);
	madt_iso(o, KZ_IRQ_ACPI_SCI, KZ_IRQ_ACPI_SCI, MPS_LEVEL | MPS_HIGH);
	madt_lapic_nmi(o, MADT_ALL_CPUS, MPS_EDGE | MPS_HIGH, 1);
	sdt_end(o, start);
	return start;
}

static size_t build_xsdt(struct acpi_out *o, const uint64_t *tables,
			 size_t n)
{
	size_t start = sdt_begin(o, "XSDT", 1);

	for (size_t i = 0; i < n; i++)
		out_u64(o, tables[i]);
	sdt_end(o, start);
	return start;
}

/* Only built when every table sits below 4 GiB; ACPI 1.0 guests need it. */
static size_t build_rsdt(struct acpi_out *o, const uint64_t *tables,
			 size_t n)
{
	size_t start = sdt_begin(o, "RSDT", 1);

	for (size_t i = 0; i < n; i++)
		out_u32(o, (uint32_t)tables[i]);
	sdt_end(o, start);
	return start;
}

/* RSDP at offset 0: it must be 16-byte aligned, which base_gpa already is. */
static void fill_rsdp(struct acpi_out *o, uint64_t rsdt, uint64_t xsdt)
{
	uint8_t *p = o->buf;

	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, ACPI_OEM_ID, 6);
	p[15] = 2;			/* revision: ACPI 2.0+ */
	put_le(p + 16, rsdt, 4);
	put_le(p + 20, ACPI_RSDP_LEN, 4);
	put_le(p + 24, xsdt, 8);
	p[8] = checksum(p, ACPI_RSDP_V1_LEN);
	p[32] = checksum(p, ACPI_RSDP_LEN);
}

long vmm_acpi_build(const struct vmm_acpi_config *cfg, uint8_t *buf,
		    size_t len)
{
	struct acpi_out o = { .buf = buf, .len = len };
	uint64_t tables[2];
	size_t facs, dsdt, fadt, madt, xsdt, rsdt = 0;

	if (!cfg || cfg->ncpus == 0 || cfg->ncpus > ACPI_MAX_CPUS)
		return -EINVAL;
	if (cfg->base_gpa & 15)
		return -EINVAL;
	o.base = cfg->base_gpa;

	out_zero(&o, ACPI_RSDP_LEN);	/* filled last */
	dsdt = build_dsdt(&o, cfg);
	facs = build_facs(&o);
	fadt = build_fadt(&o, o.base + facs, o.base + dsdt);
	madt = build_madt(&o, cfg->ncpus);
	tables[0] = o.base + fadt;
	tables[1] = o.base + madt;
	xsdt = build_xsdt(&o, tables, 2);
	if (fits32(out_gpa(&o) + ACPI_HDR_LEN + 2 * 4))
		rsdt = build_rsdt(&o, tables, 2);
	if (o.full)
		return -ENOSPC;
	fill_rsdp(&o, rsdt ? o.base + rsdt : 0, o.base + xsdt);
	return (long)o.pos;
}
