/*
 * Unit tests for vmm/acpi.c: build the tables into a host buffer and read
 * them back the way a guest would -- RSDP, then XSDT/RSDT, then each table
 * -- using offsets taken from the ACPI 6.x specification here rather than
 * from acpi.c, so that a wrong offset there cannot hide itself.
 *
 * When iasl (Debian package acpica-tools) is installed, the DSDT, FADT and
 * MADT are also disassembled by it, and the DSDT is recompiled without
 * optimisations and compared byte for byte; otherwise that test is skipped.
 *
 * Depends on vmm/acpi.c only.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "acpi.h"
#include "layout.h"

#define HDR_LEN		36

/* FADT field offsets (ACPI 6.x table 5-34). */
#define FADT_FACS	36
#define FADT_DSDT	40
#define FADT_SCI_INT	46
#define FADT_SMI_CMD	48
#define FADT_PM1A_EVT	56
#define FADT_PM1A_CNT	64
#define FADT_PM_TMR	76
#define FADT_PM1_EVT_LEN 88
#define FADT_PM1_CNT_LEN 89
#define FADT_PM_TMR_LEN	91
#define FADT_CENTURY	108
#define FADT_BOOT_ARCH	109
#define FADT_FLAGS	112
#define FADT_RESET_REG	116
#define FADT_RESET_VAL	128
#define FADT_X_FACS	132
#define FADT_X_DSDT	140
#define FADT_X_PM1A_EVT	148
#define FADT_X_PM1A_CNT	172
#define FADT_LEN	276

struct built {
	uint8_t buf[KZ_ACPI_MAX];
	long n;
	uint64_t base;
	unsigned ncpus;
};

static unsigned one_cpu = 1, four_cpus = 4;

static uint64_t get(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	while (bytes--)
		v = (v << 8) | p[bytes];
	return v;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static struct built *build(unsigned ncpus, uint64_t base)
{
	struct built *b = calloc(1, sizeof(*b));
	struct vmm_acpi_config cfg = { .ncpus = ncpus, .base_gpa = base };

	assert_non_null(b);
	b->ncpus = ncpus;
	b->base = base;
	b->n = vmm_acpi_build(&cfg, b->buf, sizeof(b->buf));
	assert_true(b->n > 0);
	assert_true((size_t)b->n <= sizeof(b->buf));
	return b;
}

static int setup(void **state)
{
	unsigned ncpus = *(unsigned *)*state;

	*state = build(ncpus, KZ_GPA_ACPI);
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* A table the guest reaches at gpa: inside the build, with a good checksum. */
static const uint8_t *table_at(const struct built *b, uint64_t gpa)
{
	uint64_t off, len;

	assert_true(gpa >= b->base);
	off = gpa - b->base;
	assert_true(off + HDR_LEN <= (uint64_t)b->n);
	len = get(b->buf + off + 4, 4);
	assert_true(len >= HDR_LEN);
	assert_true(off + len <= (uint64_t)b->n);
	assert_int_equal(sum(b->buf + off, len), 0);
	assert_memory_equal(b->buf + off + 10, "KZONES", 6);
	assert_memory_equal(b->buf + off + 16, "KZMACH  ", 8);
	assert_memory_equal(b->buf + off + 28, "KZON", 4);
	return b->buf + off;
}

/* Find a table through the XSDT, as a 64-bit guest does. */
static const uint8_t *find_table(const struct built *b, const char *sig)
{
	const uint8_t *xsdt = table_at(b, get(b->buf + 24, 8));
	uint32_t len = (uint32_t)get(xsdt + 4, 4);

	for (uint32_t off = HDR_LEN; off + 8 <= len; off += 8) {
		const uint8_t *t = table_at(b, get(xsdt + off, 8));

		if (!memcmp(t, sig, 4))
			return t;
	}
	fail_msg("table %s not in XSDT", sig);
	return NULL;
}

static void test_rsdp(void **state)
{
	const struct built *b = *state;
	const uint8_t *p = b->buf;

	assert_memory_equal(p, "RSD PTR ", 8);
	assert_int_equal(sum(p, 20), 0);
	assert_int_equal(p[15], 2);
	assert_int_equal(get(p + 20, 4), 36);
	assert_int_equal(sum(p, 36), 0);
	assert_memory_equal(p + 9, "KZONES", 6);
	/* The legacy scan only looks at 16-byte boundaries. */
	assert_int_equal(b->base & 15, 0);
}

static void test_xsdt(void **state)
{
	const struct built *b = *state;
	const uint8_t *xsdt = table_at(b, get(b->buf + 24, 8));
	uint32_t len = (uint32_t)get(xsdt + 4, 4);

	assert_memory_equal(xsdt, "XSDT", 4);
	assert_int_equal(len, HDR_LEN + 2 * 8);
	assert_memory_equal(table_at(b, get(xsdt + 36, 8)), "FACP", 4);
	assert_memory_equal(table_at(b, get(xsdt + 44, 8)), "APIC", 4);
}

/* ACPI 1.0 guests follow the RSDT; it must list the same tables. */
static void test_rsdt(void **state)
{
	const struct built *b = *state;
	const uint8_t *rsdt = table_at(b, get(b->buf + 16, 4));
	const uint8_t *xsdt = table_at(b, get(b->buf + 24, 8));

	assert_memory_equal(rsdt, "RSDT", 4);
	assert_int_equal(get(rsdt + 4, 4), HDR_LEN + 2 * 4);
	assert_int_equal(get(rsdt + 36, 4), get(xsdt + 36, 8));
	assert_int_equal(get(rsdt + 40, 4), get(xsdt + 44, 8));
}

static void test_madt(void **state)
{
	const struct built *b = *state;
	const uint8_t *m = find_table(b, "APIC");
	uint32_t len = (uint32_t)get(m + 4, 4);
	unsigned lapics = 0, ioapics = 0, nmis = 0;
	int iso0 = 0, iso9 = 0;

	assert_int_equal(get(m + 36, 4), KZ_GPA_LAPIC);
	assert_int_equal(get(m + 40, 4) & 1, 1);	/* PCAT_COMPAT */
	for (uint32_t off = 44; off < len; off += m[off + 1]) {
		const uint8_t *e = m + off;

		assert_true(e[1] >= 2);
		assert_true(off + e[1] <= len);
		switch (e[0]) {
		case 0:		/* processor local APIC */
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], lapics);	/* ACPI id */
			assert_int_equal(e[3], lapics);	/* APIC id */
			assert_int_equal(get(e + 4, 4) & 1, 1);
			lapics++;
			break;
		case 1:		/* IOAPIC */
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], b->ncpus);
			assert_int_equal(get(e + 4, 4), KZ_GPA_IOAPIC);
			assert_int_equal(get(e + 8, 4), 0);
			ioapics++;
			break;
		case 2:		/* interrupt source override */
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0);
			if (e[3] == 0) {
				assert_int_equal(get(e + 4, 4), 2);
				assert_int_equal(get(e + 8, 2), 0x5);
				iso0++;
			} else if (e[3] == KZ_IRQ_ACPI_SCI) {
				assert_int_equal(get(e + 4, 4),
						 KZ_IRQ_ACPI_SCI);
				/* level, active high */
				assert_int_equal(get(e + 8, 2), 0xD);
				iso9++;
			} else {
				fail_msg("unexpected override of IRQ %u", e[3]);
			}
			break;
		case 4:		/* local APIC NMI */
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xFF);
			assert_int_equal(e[5], 1);	/* LINT1 */
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
	}
	assert_int_equal(lapics, b->ncpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(iso0, 1);
	assert_int_equal(iso9, 1);
	assert_int_equal(nmis, 1);
}

static void assert_gas_io(const uint8_t *g, unsigned bits, uint64_t port)
{
	assert_int_equal(g[0], 1);		/* system I/O */
	assert_int_equal(g[1], bits);
	assert_int_equal(g[2], 0);		/* bit offset */
	assert_int_equal(get(g + 4, 8), port);
}

static void test_fadt(void **state)
{
	const struct built *b = *state;
	const uint8_t *f = find_table(b, "FACP");
	uint32_t flags = (uint32_t)get(f + FADT_FLAGS, 4);
	uint16_t boot = (uint16_t)get(f + FADT_BOOT_ARCH, 2);

	assert_int_equal(get(f + 4, 4), FADT_LEN);
	assert_int_equal(f[8], 6);
	assert_int_equal(get(f + FADT_SCI_INT, 2), KZ_IRQ_ACPI_SCI);
	assert_int_equal(get(f + FADT_SMI_CMD, 4), 0);

	assert_int_equal(get(f + FADT_PM1A_EVT, 4), KZ_PORT_ACPI_PM1A_EVT);
	assert_int_equal(f[FADT_PM1_EVT_LEN], 4);
	assert_gas_io(f + FADT_X_PM1A_EVT, 32, KZ_PORT_ACPI_PM1A_EVT);
	assert_int_equal(get(f + FADT_PM1A_CNT, 4), KZ_PORT_ACPI_PM1A_CNT);
	assert_int_equal(f[FADT_PM1_CNT_LEN], 2);
	assert_gas_io(f + FADT_X_PM1A_CNT, 16, KZ_PORT_ACPI_PM1A_CNT);
	assert_int_equal(get(f + FADT_PM_TMR, 4), 0);
	assert_int_equal(f[FADT_PM_TMR_LEN], 0);

	/* Linux's acpi_reboot() wants 8 bits at offset 0. */
	assert_gas_io(f + FADT_RESET_REG, 8, KZ_PORT_ACPI_RESET);
	assert_int_equal(f[FADT_RESET_VAL], KZ_ACPI_RESET_VALUE);

	assert_true(flags & (1u << 0));			/* WBINVD */
	assert_true(flags & (1u << 10));		/* RESET_REG_SUP */
	assert_false(flags & (1u << 20));		/* HW_REDUCED_ACPI */
	assert_true(boot & (1u << 1));			/* 8042 */
	assert_true(boot & (1u << 2));			/* no VGA */
	assert_false(boot & (1u << 5));		/* CMOS RTC present */
	assert_int_equal(f[FADT_CENTURY], 0x32);

	/* DSDT and X_DSDT agree and lead to a valid DSDT. */
	assert_int_equal(get(f + FADT_DSDT, 4), get(f + FADT_X_DSDT, 8));
	assert_memory_equal(table_at(b, get(f + FADT_X_DSDT, 8)), "DSDT", 4);
}

static void test_facs(void **state)
{
	const struct built *b = *state;
	const uint8_t *f = find_table(b, "FACP");
	uint64_t gpa = get(f + FADT_FACS, 4);
	const uint8_t *facs;

	assert_int_equal(get(f + FADT_X_FACS, 8), 0);	/* one FACS only */
	assert_int_equal(gpa & 63, 0);
	assert_true(gpa >= b->base && gpa - b->base + 64 <= (uint64_t)b->n);
	facs = b->buf + (gpa - b->base);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(get(facs + 4, 4), 64);
}

static const uint8_t *dsdt_of(const struct built *b)
{
	const uint8_t *f = find_table(b, "FACP");

	return table_at(b, get(f + FADT_X_DSDT, 8));
}

static const uint8_t *memfind(const uint8_t *hay, size_t n, const void *needle,
			      size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return hay + i;
	return NULL;
}

/* Decode a PkgLength; returns its value and stores its own size. */
static size_t pkglen(const uint8_t *p, size_t *size)
{
	unsigned follow = p[0] >> 6;
	size_t v;

	*size = 1 + follow;
	if (!follow)
		return p[0] & 0x3F;
	v = p[0] & 0x0F;
	for (unsigned i = 0; i < follow; i++)
		v |= (size_t)p[1 + i] << (4 + 8 * i);
	return v;
}

/* Read one AML integer the way a scanning guest would. */
static uint64_t aml_int(const uint8_t **pp)
{
	const uint8_t *p = *pp;

	switch (p[0]) {
	case 0x00:
		*pp = p + 1;
		return 0;
	case 0x01:
		*pp = p + 1;
		return 1;
	case 0x0A:
		*pp = p + 2;
		return p[1];
	case 0x0B:
		*pp = p + 3;
		return get(p + 1, 2);
	case 0x0C:
		*pp = p + 5;
		return get(p + 1, 4);
	}
	fail_msg("not an integer: opcode 0x%02x", p[0]);
	return 0;
}

static void test_dsdt_s5(void **state)
{
	const struct built *b = *state;
	const uint8_t *d = dsdt_of(b);
	size_t len = (size_t)get(d + 4, 4);
	const uint8_t name[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12 };
	const uint8_t *p = memfind(d + HDR_LEN, len - HDR_LEN, name,
				   sizeof(name));
	size_t plen, psize;

	assert_non_null(p);
	p += sizeof(name);
	plen = pkglen(p, &psize);
	assert_true(p + plen <= d + len);
	p += psize;
	assert_int_equal(*p++, 4);			/* NumElements */
	assert_int_equal(aml_int(&p), KZ_ACPI_S5_SLP_TYP);
	assert_int_equal(aml_int(&p), KZ_ACPI_S5_SLP_TYP);
	assert_int_equal(aml_int(&p), 0);
	assert_int_equal(aml_int(&p), 0);
}

/*
 * The top level of the DSDT is exactly Name(\_S5_) followed by
 * Scope(\_SB_), and their PkgLengths add up to the table length; the
 * devices are inside the scope.
 */
static void test_dsdt_shape(void **state)
{
	const struct built *b = *state;
	const uint8_t *d = dsdt_of(b);
	size_t len = (size_t)get(d + 4, 4);
	const uint8_t *p = d + HDR_LEN, *end = d + len, *scope;
	size_t plen, psize;

	assert_memory_equal(d, "DSDT", 4);
	assert_int_equal(d[8], 2);		/* 64-bit integers */

	assert_memory_equal(p, "\x08\\_S5_\x12", 7);
	p += 7;
	p += pkglen(p, &psize);

	assert_int_equal(*p++, 0x10);		/* ScopeOp */
	plen = pkglen(p, &psize);
	assert_memory_equal(p + psize, "\\_SB_", 5);
	assert_ptr_equal(p + plen, end);
	scope = p;

	assert_non_null(memfind(scope, plen, "\x5b\x82", 2));
	assert_non_null(memfind(scope, plen, "COM1", 4));
	assert_non_null(memfind(scope, plen, "PEVT", 4));
	assert_non_null(memfind(scope, plen, "KBD_", 4));
	assert_non_null(memfind(scope, plen, "RTC_", 4));
	assert_non_null(memfind(scope, plen, "QEMU0001", 9));
	/* EisaId("PNP0501") */
	assert_non_null(memfind(scope, plen, "\x0c\x41\xd0\x05\x01", 5));
	/* IO(Decode16, 0x3F8, 0x3F8, 1, 8) then IRQNoFlags() {4} */
	assert_non_null(memfind(scope, plen,
				"\x47\x01\xf8\x03\xf8\x03\x01\x08"
				"\x22\x10\x00", 11));
	/* IO(Decode16, 0x505, 0x505, 1, 1) then the end tag */
	assert_non_null(memfind(scope, plen,
				"\x47\x01\x05\x05\x05\x05\x01\x01\x79", 9));
}

/* Same input, same bytes: whatever was in the buffer before. */
static void test_deterministic(void **state)
{
	const struct built *b = *state;
	struct built *c = malloc(sizeof(*c));
	struct vmm_acpi_config cfg = { .ncpus = b->ncpus,
				       .base_gpa = b->base };

	assert_non_null(c);
	memset(c->buf, 0xA5, sizeof(c->buf));
	c->n = vmm_acpi_build(&cfg, c->buf, sizeof(c->buf));
	assert_int_equal(c->n, b->n);
	assert_memory_equal(c->buf, b->buf, (size_t)b->n);
	free(c);
}

/* Every length short of the need fails, and nothing past it is touched. */
static void test_enospc(void **state)
{
	const struct built *b = *state;
	struct vmm_acpi_config cfg = { .ncpus = b->ncpus,
				       .base_gpa = b->base };
	size_t need = (size_t)b->n;
	uint8_t *buf = malloc(need + 64);

	assert_non_null(buf);
	for (size_t len = 0; len < need; len++) {
		memset(buf, 0xA5, need + 64);
		assert_int_equal(vmm_acpi_build(&cfg, buf, len), -ENOSPC);
		for (size_t i = len; i < need + 64; i++)
			assert_int_equal(buf[i], 0xA5);
	}
	assert_int_equal(vmm_acpi_build(&cfg, buf, need), (long)need);
	free(buf);
}

static void test_einval(void **state)
{
	struct vmm_acpi_config cfg = { .base_gpa = KZ_GPA_ACPI };
	uint8_t *buf = malloc(KZ_ACPI_MAX);

	(void)state;
	assert_non_null(buf);
	cfg.ncpus = 0;
	assert_int_equal(vmm_acpi_build(&cfg, buf, KZ_ACPI_MAX), -EINVAL);
	cfg.ncpus = 255;
	assert_int_equal(vmm_acpi_build(&cfg, buf, KZ_ACPI_MAX), -EINVAL);
	cfg.ncpus = 254;
	assert_true(vmm_acpi_build(&cfg, buf, KZ_ACPI_MAX) > 0);
	cfg.ncpus = 1;
	cfg.base_gpa = KZ_GPA_ACPI + 8;	/* RSDP must be aligned */
	assert_int_equal(vmm_acpi_build(&cfg, buf, KZ_ACPI_MAX), -EINVAL);
	assert_int_equal(vmm_acpi_build(NULL, buf, KZ_ACPI_MAX), -EINVAL);
	free(buf);
}

/* The biggest machine still fits the ACPI window with room to spare. */
static void test_max_cpus(void **state)
{
	struct built *b = build(254, KZ_GPA_ACPI);
	void *madt_state = b;

	(void)state;
	assert_true((uint64_t)b->n < KZ_ACPI_MAX / 4);
	test_madt(&madt_state);
	free(b);
}

/* Above 4 GiB there is no RSDT and the 32-bit pointers stay zero. */
static void test_high_base(void **state)
{
	struct built *b = build(2, 0x100000000ULL);
	const uint8_t *f;

	(void)state;
	assert_int_equal(get(b->buf + 16, 4), 0);
	f = find_table(b, "FACP");
	assert_int_equal(get(f + FADT_DSDT, 4), 0);
	assert_int_equal(get(f + FADT_FACS, 4), 0);
	assert_memory_equal(table_at(b, get(f + FADT_X_DSDT, 8)), "DSDT", 4);
	assert_true(get(f + FADT_X_FACS, 8) >= b->base);
	free(b);
}

/* --- optional: iasl ------------------------------------------------------- */

static int have_iasl(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static uint8_t *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = malloc(KZ_ACPI_MAX);

	assert_non_null(f);
	assert_non_null(p);
	*n = fread(p, 1, KZ_ACPI_MAX, f);
	fclose(f);
	return p;
}

/* iasl -d must succeed and neither its log nor its output may complain. */
static void iasl_disassemble(const char *dir, const char *name,
			     const uint8_t *t)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s/%s.dat", dir, name);
	write_file(cmd, t, (size_t)get(t + 4, 4));
	snprintf(cmd, sizeof(cmd),
		 "cd %s && iasl -d %s.dat >%s.log 2>&1 && "
		 "! grep -Eiq 'error|warning|incorrect|invalid' %s.log %s.dsl",
		 dir, name, name, name, name);
	if (system(cmd) != 0)
		fail_msg("iasl did not like %s: see %s/%s.log and .dsl", name,
			 dir, name);
}

/*
 * Recompiled with optimisations off, the disassembled DSDT must give our
 * AML back byte for byte: only the checksum and the compiler id/revision
 * in the header may differ.
 */
static void iasl_roundtrip_dsdt(const char *dir, const uint8_t *d)
{
	size_t len = (size_t)get(d + 4, 4), n;
	char cmd[512];
	uint8_t *aml;

	snprintf(cmd, sizeof(cmd),
		 "cd %s && iasl -oa -p rt dsdt.dsl >rt.log 2>&1", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/rt.aml", dir);
	aml = read_file(cmd, &n);
	assert_int_equal(n, len);
	assert_memory_equal(aml, d, 9);
	assert_memory_equal(aml + 10, d + 10, 18);
	assert_memory_equal(aml + HDR_LEN, d + HDR_LEN, len - HDR_LEN);
	free(aml);
}

static void test_iasl(void **state)
{
	const struct built *b = *state;
	char dir[] = "/tmp/test_acpi.XXXXXX";
	char cmd[600];

	if (!have_iasl()) {
		skip();
		return;
	}
	assert_non_null(mkdtemp(dir));
	iasl_disassemble(dir, "dsdt", dsdt_of(b));
	iasl_disassemble(dir, "facp", find_table(b, "FACP"));
	iasl_disassemble(dir, "apic", find_table(b, "APIC"));
	iasl_roundtrip_dsdt(dir, dsdt_of(b));
	/* Only reached on success: on failure the files stay for a look. */
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

#define FOR_CPUS(t) \
	cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, \
						 &one_cpu), \
	cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, \
						 &four_cpus)

int main(void)
{
	const struct CMUnitTest tests[] = {
		FOR_CPUS(test_rsdp),
		FOR_CPUS(test_xsdt),
		FOR_CPUS(test_rsdt),
		FOR_CPUS(test_madt),
		FOR_CPUS(test_fadt),
		FOR_CPUS(test_facs),
		FOR_CPUS(test_dsdt_s5),
		FOR_CPUS(test_dsdt_shape),
		FOR_CPUS(test_deterministic),
		FOR_CPUS(test_enospc),
		cmocka_unit_test(test_einval),
		cmocka_unit_test(test_max_cpus),
		cmocka_unit_test(test_high_base),
		FOR_CPUS(test_iasl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
