/*
 * The gdbstub's command table over a fake target (two vCPUs, 4 MiB of
 * "RAM" mapped at the guest's higher half, scripted stop events, a
 * four-slot debug-register budget): every packet the issue lists, the
 * replies gdb expects, and errors for malformed or unmapped requests.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gdbstub.h"
#include "pkt.h"
#include "regs.h"
#include "target.h"

#define RAM (4u << 20)
#define HH 0xFFFFFFFF80000000ULL

static uint8_t ram[RAM];
#include "fake_ram.h"
static struct kz_regs cpu_regs[2];
static struct kz_fpu cpu_fpu[2];
static struct kz_event pending;
static bool have_pending, stopped;
static int nstop, nresume, nstep, step_cpu;
static struct { bool used; enum kz_break_kind k; uint64_t a; unsigned l; } brk[80];

static unsigned f_ncpus(struct kz_target *t) { (void)t; return 2; }

static int f_get_regs(struct kz_target *t, unsigned c, struct kz_regs *r)
{
	(void)t;
	if (c >= 2)
		return -EINVAL;
	*r = cpu_regs[c];
	return 0;
}

static int f_set_regs(struct kz_target *t, unsigned c, const struct kz_regs *r)
{
	(void)t;
	if (c >= 2)
		return -EINVAL;
	cpu_regs[c] = *r;
	return 0;
}

static int f_get_fpu(struct kz_target *t, unsigned c, struct kz_fpu *f)
{
	(void)t;
	*f = cpu_fpu[c];
	return 0;
}

static int f_set_fpu(struct kz_target *t, unsigned c, const struct kz_fpu *f)
{
	(void)t;
	cpu_fpu[c] = *f;
	return 0;
}

static void post(enum kz_event_kind k, unsigned cpu, uint64_t addr)
{
	pending = (struct kz_event){ k, cpu, addr };
	have_pending = true;
}

static int f_stop(struct kz_target *t)
{
	(void)t;
	nstop++;
	if (!stopped)
		post(KZ_EVENT_STOPPED, 0, 0);
	stopped = true;
	return 0;
}

static int f_resume(struct kz_target *t)
{
	(void)t;
	nresume++;
	stopped = false;
	return 0;
}

static int f_step(struct kz_target *t, unsigned cpu)
{
	(void)t;
	nstep++;
	step_cpu = (int)cpu;
	cpu_regs[cpu].rip += 2;
	post(KZ_EVENT_STEP, cpu, cpu_regs[cpu].rip);
	return 0;
}

static int f_set_break(struct kz_target *t, enum kz_break_kind k,
		       uint64_t a, unsigned l)
{
	(void)t;
	unsigned hw = 0;
	for (unsigned i = 0; i < 80; i++)
		hw += brk[i].used && brk[i].k != KZ_BREAK_SW;
	if (k != KZ_BREAK_SW && hw >= 4)
		return -ENOSPC;
	if (k == KZ_BREAK_SW) {
		struct kz_xlate x;
		int rc = kz_target_translate(t, 0, a, &x);
		if (rc)
			return rc;
	}
	for (unsigned i = 0; i < 80; i++)
		if (!brk[i].used) {
			brk[i].used = true;
			brk[i].k = k;
			brk[i].a = a;
			brk[i].l = l;
			return 0;
		}
	return -ENOSPC;
}

static int f_clear_break(struct kz_target *t, enum kz_break_kind k,
			 uint64_t a, unsigned l)
{
	(void)t;
	for (unsigned i = 0; i < 80; i++)
		if (brk[i].used && brk[i].k == k && brk[i].a == a &&
		    brk[i].l == l) {
			brk[i].used = false;
			return 0;
		}
	return -ENOENT;
}

static int f_wait(struct kz_target *t, struct kz_event *ev, int ms)
{
	(void)t;
	(void)ms;
	if (!have_pending)
		return -ETIMEDOUT;
	*ev = pending;
	have_pending = false;
	stopped = true;
	return 0;
}

static const struct kz_target_ops fake_ops = {
	.name = "fake", .ncpus = f_ncpus, .get_regs = f_get_regs,
	.set_regs = f_set_regs, .get_fpu = f_get_fpu, .set_fpu = f_set_fpu,
	.read_phys = fake_ram_read, .write_phys = fake_ram_write, .stop = f_stop,
	.resume = f_resume, .step = f_step, .set_break = f_set_break,
	.clear_break = f_clear_break, .wait_event = f_wait,
};
static struct kz_target tgt = { .ops = &fake_ops };

/* ---- the client side ---- */

static char out[1 << 20];
static size_t out_len;
static struct gdb_stub *stub;

static int capture(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	assert_true(out_len + len < sizeof(out));
	memcpy(out + out_len, buf, len);
	out_len += len;
	return 0;
}

static void put64(uint64_t pa, uint64_t v) { memcpy(ram + pa, &v, 8); }

static int setup(void **st)
{
	(void)st;
	memset(ram, 0, sizeof(ram));
	memset(cpu_regs, 0, sizeof(cpu_regs));
	memset(cpu_fpu, 0, sizeof(cpu_fpu));
	memset(brk, 0, sizeof(brk));
	have_pending = stopped = false;
	nstop = nresume = nstep = 0;
	step_cpu = -1;
	/* HH + 0..2M -> 2M page at phys 0x200000; HH + 2M..2M+4K -> 0x7000. */
	put64(0x1000 + 511 * 8, 0x3000 | 3);
	put64(0x3000 + 510 * 8, 0x4000 | 3);
	put64(0x4000, 0x200000 | 3 | 0x80);
	put64(0x4000 + 8, 0x5000 | 3);
	put64(0x5000, 0x7000 | 3);
	for (unsigned c = 0; c < 2; c++) {
		struct kz_regs *r = &cpu_regs[c];
		r->cr0 = 0x80000011;
		r->cr3 = 0x1000;
		r->cr4 = 0x20;
		r->efer = 0x500;
		r->rip = HH + 0x1000 + c * 0x100;
		r->rsp = HH + 0x8000;
		r->rax = 0x1111 * (c + 1);
		r->cs.selector = 0x10;
		r->fs_base = 0xf5;
		cpu_fpu[c].size = 4096;
		cpu_fpu[c].xsave[0] = 0x7f;	/* fcw 0x37f */
		cpu_fpu[c].xsave[1] = 0x03;
		cpu_fpu[c].xsave[24] = 0x80;	/* mxcsr 0x1f80 */
		cpu_fpu[c].xsave[25] = 0x1f;
		cpu_fpu[c].xsave[512] = 7;	/* x87, SSE, AVX present */
		cpu_fpu[c].xsave[160] = 0xaa;	/* xmm0 low byte */
		cpu_fpu[c].xsave[576] = 0xbb;	/* ymm0h low byte */
	}
	memcpy(ram + 0x200000, "hello, gdb", 11);
	assert_int_equal(gdb_stub_new(&stub, &tgt, NULL, NULL, capture, NULL),
			 0);
	assert_int_equal(gdb_stub_attach(stub), 0);
	assert_int_equal(nstop, 1);
	out_len = 0;
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	gdb_stub_free(stub);
	return 0;
}

/* Unframe the next reply in out (after an optional '+'), undoing RLE. */
static size_t next_reply(size_t *pos, char *buf, size_t cap)
{
	size_t i = *pos, o = 0;
	while (i < out_len && out[i] == '+')
		i++;
	assert_true(i < out_len);
	assert_int_equal(out[i], '$');
	uint8_t sum = 0;
	for (i++; i < out_len && out[i] != '#'; i++) {
		sum += (uint8_t)out[i];
		if (out[i] == '*') {
			int n = (uint8_t)out[++i] - 29;
			sum += (uint8_t)out[i];
			for (int k = 0; k < n; k++, o++)
				buf[o] = buf[o - 1];
		} else {
			buf[o++] = out[i];
		}
		assert_true(o < cap);
	}
	assert_true(i + 2 < out_len);
	char cs[3];
	snprintf(cs, sizeof(cs), "%02x", sum);
	assert_memory_equal(out + i + 1, cs, 2);
	buf[o] = 0;
	*pos = i + 3;
	return o;
}

static void send_raw(const void *b, size_t n)
{
	gdb_stub_input(stub, b, n);
}

static void send_pkt_n(const char *p, size_t n)
{
	static uint8_t f[GDB_PKT_FRAMED(GDB_PKT_MAX)];
	size_t fl = gdb_pkt_frame((const uint8_t *)p, n, false, f, sizeof(f));
	assert_true(fl > 0);
	send_raw(f, fl);
}

static char rep[1 << 18];

/* Send a packet and return its (single) reply. */
static const char *ask(const char *p)
{
	size_t pos = 0;
	out_len = 0;
	send_pkt_n(p, strlen(p));
	next_reply(&pos, rep, sizeof(rep));
	assert_int_equal(pos, out_len);	/* exactly one reply */
	return rep;
}

static uint64_t reg_from_g(const char *g, unsigned n)
{
	size_t off = 0;
	uint8_t b[8] = { 0 };
	for (unsigned i = 0; i < n; i++)
		off += gdb_reg_size(i);
	assert_int_equal(gdb_hex_decode(g + off * 2, 16, b, 8), 8);
	uint64_t v;
	memcpy(&v, b, 8);
	return v;
}

static void test_supported_and_noack(void **st)
{
	(void)st;
	const char *r = ask("qSupported:multiprocess+;swbreak+;hwbreak+;"
			    "vContSupported+");
	assert_non_null(strstr(r, "PacketSize=10000"));
	assert_non_null(strstr(r, "QStartNoAckMode+"));
	assert_non_null(strstr(r, "qXfer:features:read+"));
	assert_non_null(strstr(r, "qXfer:threads:read+"));
	assert_non_null(strstr(r, "swbreak+"));
	assert_non_null(strstr(r, "hwbreak+"));
	assert_non_null(strstr(r, "vContSupported+"));
	assert_int_equal(out[0], '+');
	assert_string_equal(ask("QStartNoAckMode"), "OK");
	assert_int_equal(out[0], '+');	/* still acked: the old mode */
	ask("qC");
	assert_int_equal(out[0], '$');	/* no ack from now on */
}

static void test_stop_reason_and_threads(void **st)
{
	(void)st;
	const char *r = ask("?");
	assert_memory_equal(r, "T05thread:1;", 12);
	assert_string_equal(ask("qfThreadInfo"), "m1,2");
	assert_string_equal(ask("qsThreadInfo"), "l");
	assert_string_equal(ask("qC"), "QC1");
	assert_string_equal(ask("T2"), "OK");
	assert_memory_equal(ask("T3"), "E", 1);
	assert_string_equal(ask("qAttached"), "1");
	assert_string_equal(ask("qOffsets"), "Text=0;Data=0;Bss=0");
	r = ask("qXfer:threads:read::0,fff");
	assert_int_equal(r[0], 'l');
	assert_non_null(strstr(r, "name=\"CPU 0\""));
	assert_non_null(strstr(r, "id=\"2\" core=\"1\" name=\"CPU 1\""));
	assert_string_equal(ask("vCont?"), "vCont;c;C;s;S;t");
	assert_string_equal(ask("vMustReplyEmpty"), "");
	assert_string_equal(ask("qTStatus"), "");
}

static void test_registers(void **st)
{
	(void)st;
	const char *g = ask("g");
	assert_int_equal(strlen(g), gdb_regs_size() * 2);
	assert_true(reg_from_g(g, 0) == 0x1111);		/* rax */
	assert_true(reg_from_g(g, 16) == HH + 0x1000);		/* rip */
	assert_string_equal(ask("Hg2"), "OK");
	g = ask("g");
	assert_true(reg_from_g(g, 0) == 0x2222);
	assert_true(reg_from_g(g, 16) == HH + 0x1100);
	/* p/P by number, found by name so the test follows the table. */
	unsigned n_rip = 16, n_cr3 = 0, n_xmm0 = 0, n_ymm0h = 0, n_fs = 0,
		 n_fctrl = 0, n_ftag = 0;
	for (unsigned i = 0; i < gdb_reg_count(); i++) {
		const char *nm = gdb_reg_name(i);
		if (!strcmp(nm, "cr3")) n_cr3 = i;
		if (!strcmp(nm, "xmm0")) n_xmm0 = i;
		if (!strcmp(nm, "ymm0h")) n_ymm0h = i;
		if (!strcmp(nm, "fs_base")) n_fs = i;
		if (!strcmp(nm, "fctrl")) n_fctrl = i;
		if (!strcmp(nm, "ftag")) n_ftag = i;
	}
	assert_true(n_cr3 && n_xmm0 && n_ymm0h && n_fs && n_fctrl);
	char q[80];
	snprintf(q, sizeof(q), "p%x", n_cr3);
	assert_string_equal(ask(q), "0010000000000000");
	snprintf(q, sizeof(q), "p%x", n_fs);
	assert_string_equal(ask(q), "f500000000000000");
	snprintf(q, sizeof(q), "p%x", n_fctrl);
	assert_string_equal(ask(q), "7f030000");
	snprintf(q, sizeof(q), "p%x", n_ftag);
	assert_string_equal(ask(q), "ffff0000");	/* all empty */
	snprintf(q, sizeof(q), "p%x", n_xmm0);
	assert_string_equal(ask(q), "aa000000000000000000000000000000");
	snprintf(q, sizeof(q), "p%x", n_ymm0h);
	assert_string_equal(ask(q), "bb000000000000000000000000000000");
	snprintf(q, sizeof(q), "P%x=0100000000000000000000000000000f", n_ymm0h);
	assert_string_equal(ask(q), "OK");
	assert_int_equal(cpu_fpu[1].xsave[576], 1);
	assert_int_equal(cpu_fpu[1].xsave[591], 0x0f);
	snprintf(q, sizeof(q), "P%x=efbeadde00000000", n_rip);
	assert_string_equal(ask(q), "OK");
	assert_true(cpu_regs[1].rip == 0xdeadbeef);
	/* Wrong length, bad register, bad digits. */
	snprintf(q, sizeof(q), "P%x=efbe", n_rip);
	assert_memory_equal(ask(q), "E", 1);
	assert_memory_equal(ask("p999"), "E", 1);
	assert_memory_equal(ask("pzz"), "E", 1);
	/* G writes back what g read. */
	g = ask("g");
	static char gbuf[8192];
	snprintf(gbuf, sizeof(gbuf), "G%s", g);
	gbuf[1] = '9';		/* rax low nibble */
	assert_string_equal(ask(gbuf), "OK");
	assert_true(cpu_regs[1].rax == 0x2292);
	assert_memory_equal(ask("G00"), "E", 1);
	/* A selector wider than 16 bits is refused. */
	snprintf(q, sizeof(q), "P%x=00000100", 18);
	assert_memory_equal(ask(q), "E", 1);
}

static void test_memory(void **st)
{
	(void)st;
	char q[128];
	snprintf(q, sizeof(q), "m%llx,a", (unsigned long long)HH);
	assert_string_equal(ask(q), "68656c6c6f2c20676462");	/* hello, gdb */
	/* Unmapped: an error, never a crash. */
	assert_memory_equal(ask("m1000,10"), "E", 1);
	assert_memory_equal(ask("mffff800000000000,10"), "E", 1);
	/* Across the end of the mapping: a short read. */
	snprintf(q, sizeof(q), "m%llx,2000", (unsigned long long)HH + 0x200000);
	assert_int_equal(strlen(ask(q)), 0x1000 * 2);
	snprintf(q, sizeof(q), "M%llx,3:414243", (unsigned long long)HH + 16);
	assert_string_equal(ask(q), "OK");
	assert_memory_equal(ram + 0x200010, "ABC", 3);
	/* X: binary, with the four escaped bytes. */
	uint8_t xp[64];
	int n = snprintf((char *)xp, sizeof(xp), "X%llx,5:",
			 (unsigned long long)HH + 32);
	uint8_t data[5] = { '#', '$', '}', '*', 0 };
	size_t used;
	n += (int)gdb_bin_escape(data, 5, xp + n, sizeof(xp) - (size_t)n, &used);
	out_len = 0;
	send_pkt_n((char *)xp, (size_t)n);
	size_t pos = 0;
	next_reply(&pos, rep, sizeof(rep));
	assert_string_equal(rep, "OK");
	assert_memory_equal(ram + 0x200020, data, 5);
	/* X with a length that does not match the data. */
	snprintf(q, sizeof(q), "X%llx,9:ab", (unsigned long long)HH);
	assert_memory_equal(ask(q), "E", 1);
	assert_memory_equal(ask("M0,1:zz"), "E", 1);
	assert_memory_equal(ask("m"), "E", 1);
	assert_memory_equal(ask("m1,"), "E", 1);
	assert_memory_equal(ask("m11111111111111111,1"), "E", 1);
	/* Writing where nothing is mapped. */
	assert_memory_equal(ask("M1000,1:00"), "E", 1);
	/* A huge length is capped to what fits a packet. */
	snprintf(q, sizeof(q), "m%llx,ffffffff", (unsigned long long)HH);
	assert_int_equal(strlen(ask(q)), GDB_PKT_MAX);
}

static void test_breakpoint_and_continue(void **st)
{
	(void)st;
	char q[128];
	ask("qSupported:swbreak+;hwbreak+");
	snprintf(q, sizeof(q), "Z0,%llx,1", (unsigned long long)HH + 0x40);
	assert_string_equal(ask(q), "OK");
	assert_string_equal(ask(q), "OK");	/* again: still one */
	assert_true(brk[0].used && brk[0].k == KZ_BREAK_SW && !brk[1].used);
	/* A breakpoint where nothing is mapped is an error. */
	assert_memory_equal(ask("Z0,1000,1"), "E", 1);
	out_len = 0;
	send_pkt_n("vCont;c", 7);
	assert_true(gdb_stub_running(stub));
	assert_int_equal(nresume, 1);
	assert_int_equal(out_len, 1);	/* just the ack */
	gdb_stub_poll(stub, 10);	/* nothing yet */
	assert_int_equal(out_len, 1);
	cpu_regs[1].rip = HH + 0x40;
	post(KZ_EVENT_BREAK, 1, HH + 0x40);
	gdb_stub_poll(stub, 10);
	size_t pos = 0;
	next_reply(&pos, rep, sizeof(rep));
	assert_memory_equal(rep, "T05thread:2;swbreak:;", 21);
	assert_non_null(strstr(rep, ";10:4000008"));	/* rip expedited */
	assert_false(gdb_stub_running(stub));
	assert_string_equal(ask("qC"), "QC2");	/* the stopped vCPU */
	snprintf(q, sizeof(q), "z0,%llx,1", (unsigned long long)HH + 0x40);
	assert_string_equal(ask(q), "OK");
	assert_false(brk[0].used);
	/* Hardware: four debug registers, then an error. */
	for (int i = 0; i < 4; i++) {
		snprintf(q, sizeof(q), "Z1,%llx,1",
			 (unsigned long long)HH + 0x100 * (unsigned)i);
		assert_string_equal(ask(q), "OK");
	}
	snprintf(q, sizeof(q), "Z2,%llx,8", (unsigned long long)HH + 0x800);
	assert_string_equal(ask(q), "E1c");	/* ENOSPC */
	snprintf(q, sizeof(q), "z1,%llx,1", (unsigned long long)HH);
	assert_string_equal(ask(q), "OK");
	snprintf(q, sizeof(q), "Z2,%llx,8", (unsigned long long)HH + 0x800);
	assert_string_equal(ask(q), "OK");
	out_len = 0;
	send_pkt_n("c", 1);
	post(KZ_EVENT_WATCH, 0, HH + 0x800);
	gdb_stub_poll(stub, 10);
	pos = 0;
	next_reply(&pos, rep, sizeof(rep));
	char want[80];
	snprintf(want, sizeof(want), "T05thread:1;watch:%llx;",
		 (unsigned long long)HH + 0x800);
	assert_memory_equal(rep, want, strlen(want));
	/* hwbreak */
	out_len = 0;
	send_pkt_n("c", 1);
	post(KZ_EVENT_BREAK, 0, HH + 0x100);
	gdb_stub_poll(stub, 10);
	pos = 0;
	next_reply(&pos, rep, sizeof(rep));
	assert_memory_equal(rep, "T05thread:1;hwbreak:;", 21);
	assert_memory_equal(ask("Z5,0,1"), "E", 1);
	assert_memory_equal(ask("Z2,0,3"), "E", 1);
	snprintf(q, sizeof(q), "Z2,%llx,10", (unsigned long long)HH);
	assert_memory_equal(ask(q), "E", 1);
}

static void test_interrupt_and_step(void **st)
{
	(void)st;
	out_len = 0;
	send_pkt_n("c", 1);
	assert_true(gdb_stub_running(stub));
	uint8_t ctrl_c = 3;
	send_raw(&ctrl_c, 1);
	assert_int_equal(nstop, 2);
	gdb_stub_poll(stub, 10);
	size_t pos = 0;
	next_reply(&pos, rep, sizeof(rep));	/* after the ack */
	assert_memory_equal(rep, "T02thread:1;", 12);
	/* Ctrl-C while stopped does nothing. */
	send_raw(&ctrl_c, 1);
	assert_int_equal(nstop, 2);
	uint64_t rip = cpu_regs[0].rip;
	out_len = 0;
	send_pkt_n("s", 1);
	gdb_stub_poll(stub, 10);
	pos = 0;
	next_reply(&pos, rep, sizeof(rep));
	assert_memory_equal(rep, "T05thread:1;", 12);
	assert_true(cpu_regs[0].rip == rip + 2);
	/* vCont: step vCPU 1 (thread 2), continue the others. */
	out_len = 0;
	send_pkt_n("vCont;s:2;c", 11);
	assert_int_equal(step_cpu, 1);
	gdb_stub_poll(stub, 10);
	pos = 0;
	next_reply(&pos, rep, sizeof(rep));
	assert_memory_equal(rep, "T05thread:2;", 12);
	assert_memory_equal(ask("vCont;x"), "E", 1);
	assert_memory_equal(ask("vCont;s:9"), "E", 1);
	assert_memory_equal(ask("vCont;t:1"), "T00thread:1;", 12);
	/* Poweroff while running: W00 and the session ends. */
	out_len = 0;
	send_pkt_n("c", 1);
	post(KZ_EVENT_POWEROFF, 0, 0);
	gdb_stub_poll(stub, 10);
	pos = 0;
	next_reply(&pos, rep, sizeof(rep));
	assert_string_equal(rep, "W00");
	assert_int_equal(gdb_stub_ended(stub), GDB_END_EXITED);
}

static void test_target_xml(void **st)
{
	(void)st;
	size_t xlen;
	const char *x = gdb_target_xml(&xlen);
	assert_true(xlen > 1000 && xlen < 24 * 1024 - 1);
	assert_non_null(strstr(x, "<architecture>i386:x86-64</architecture>"));
	static const char *const want[] = {
		"org.gnu.gdb.i386.core", "org.gnu.gdb.i386.sse",
		"org.gnu.gdb.i386.segments", "org.gnu.gdb.i386.avx",
		"name=\"rip\"", "name=\"eflags\"", "name=\"st7\"",
		"name=\"fop\"", "name=\"xmm15\"", "name=\"mxcsr\"",
		"name=\"fs_base\"", "name=\"gs_base\"", "name=\"k_gs_base\"",
		"name=\"cr0\"", "name=\"cr3\"", "name=\"cr8\"", "name=\"efer\"",
		"name=\"ymm15h\"",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_non_null(strstr(x, want[i]));
	/* Read in small pieces, it comes back whole. */
	static char got[32 * 1024];
	size_t n = 0;
	for (;;) {
		char q[80];
		snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%zx,1f3",
			 n);
		const char *r = ask(q);
		size_t rl = strlen(r + 1);
		memcpy(got + n, r + 1, rl);
		n += rl;
		if (r[0] == 'l')
			break;
		assert_int_equal(r[0], 'm');
	}
	assert_int_equal(n, xlen);
	assert_memory_equal(got, x, xlen);
	assert_memory_equal(ask("qXfer:features:read:other.xml:0,10"), "E", 1);
	assert_memory_equal(ask("qXfer:features:read:target.xml:zz"), "E", 1);
	char q[80];
	snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%zx,10", xlen);
	assert_string_equal(ask(q), "l");
}

static void test_monitor(void **st)
{
	(void)st;
	char q[256], hex[200];
	const char *line = "::regs";
	gdb_hex_encode((const uint8_t *)line, strlen(line), hex);
	snprintf(q, sizeof(q), "qRcmd,%s", hex);
	out_len = 0;
	send_pkt_n(q, strlen(q));
	size_t pos = 0;
	static char text[1 << 16];
	size_t tl = 0;
	for (;;) {
		next_reply(&pos, rep, sizeof(rep));
		if (rep[0] != 'O' || strcmp(rep, "OK") == 0)
			break;
		long n = gdb_hex_decode(rep + 1, strlen(rep + 1),
					(uint8_t *)text + tl, sizeof(text) - tl);
		if (n <= 0)
			fprintf(stderr, "bad O packet: %s\n", rep);
		assert_true(n > 0);
		tl += (size_t)n;
	}
	assert_string_equal(rep, "OK");
	text[tl] = 0;
	assert_non_null(strstr(text, "%rip"));
	assert_non_null(strstr(text, "ffffffff80001000"));
	assert_non_null(strstr(text, "%cr3"));
	/* mdb order: ADDR::vtop */
	line = "ffffffff80000010::vtop";
	gdb_hex_encode((const uint8_t *)line, strlen(line), hex);
	snprintf(q, sizeof(q), "qRcmd,%s", hex);
	out_len = 0;
	send_pkt_n(q, strlen(q));
	pos = 0;
	next_reply(&pos, rep, sizeof(rep));
	tl = (size_t)gdb_hex_decode(rep + 1, strlen(rep + 1), (uint8_t *)text,
				    sizeof(text));
	text[tl] = 0;
	assert_non_null(strstr(text, "physical 0x200010"));
	assert_memory_equal(ask("qRcmd,zz"), "E", 1);
}

static void test_acks_and_garbage(void **st)
{
	(void)st;
	out_len = 0;
	send_raw("$g#00", 5);
	assert_int_equal(out_len, 1);
	assert_int_equal(out[0], '-');
	/* A NAK has the last reply sent again. */
	ask("qC");
	size_t first = out_len;
	send_raw("-", 1);
	assert_int_equal(out_len, first * 2 - 1);	/* again, minus the + */
	/* Packets that mean nothing get the empty reply. */
	assert_string_equal(ask("Q"), "");
	assert_string_equal(ask("vFile:open:2f,0,0"), "");
	assert_string_equal(ask(""), "");
	assert_memory_equal(ask("Hx1"), "E", 1);
	assert_memory_equal(ask("Hg99"), "E", 1);
}

static void test_detach(void **st)
{
	(void)st;
	char q[64];
	snprintf(q, sizeof(q), "Z0,%llx,1", (unsigned long long)HH);
	ask(q);
	snprintf(q, sizeof(q), "Z1,%llx,1", (unsigned long long)HH + 4);
	ask(q);
	assert_string_equal(ask("D"), "OK");
	for (unsigned i = 0; i < 80; i++)
		assert_false(brk[i].used);
	assert_int_equal(nresume, 1);
	assert_int_equal(gdb_stub_ended(stub), GDB_END_DETACH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_supported_and_noack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_reason_and_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_breakpoint_and_continue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_and_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_xml, setup, teardown),
		cmocka_unit_test_setup_teardown(test_monitor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acks_and_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detach, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
