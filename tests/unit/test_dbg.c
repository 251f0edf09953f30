/*
 * The debugger engine over a fake target: "physical memory" is a host
 * buffer holding the built-in guest's ELF segments and page tables that
 * map the kernel's higher half with 2 MiB pages, registers are a struct.
 * Covers the expression parser, formats (and writes), symbols, ::dis,
 * ::vtop, $c, ::msgbuf, pipelines, ::help, and the errors for what a
 * target without run control cannot do.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "dbg.h"
#include "dbg_sym.h"
#include "target.h"
#include "fake_printk.h"

#define RAM (8u << 20)
#define HH 0xFFFFFFFF80000000ULL
static uint8_t *ram;
#include "fake_ram.h"
static struct kz_regs regs;
static char outbuf[1 << 18];
static size_t outlen;
static struct dbg *d;
static uint64_t sym_panic, sym_shell, sym_msgbuf, sym_ticks;

static int fake_regs(struct kz_target *t, unsigned cpu, struct kz_regs *r)
{
	(void)t;
	if (cpu > 1)
		return -EINVAL;
	*r = regs;
	if (cpu == 1)
		r->rip = sym_shell;
	return 0;
}

static unsigned fake_ncpus(struct kz_target *t)
{
	(void)t;
	return 2;
}

static const struct kz_target_ops fake_ops = {
	.name = "fake", .ncpus = fake_ncpus, .get_regs = fake_regs,
	.read_phys = fake_ram_read, .write_phys = fake_ram_write,
};
static struct kz_target tgt = { .ops = &fake_ops };

static void out(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	if (outlen + len >= sizeof(outbuf))
		len = sizeof(outbuf) - 1 - outlen;
	memcpy(outbuf + outlen, buf, len);
	outlen += len;
	outbuf[outlen] = 0;
}

static const char *run(const char *line)
{
	outlen = 0;
	outbuf[0] = 0;
	(void)dbg_exec(d, line);
	return outbuf;
}

static const char *guest(void)
{
	const char *g = getenv("KZ_GUEST");
	return g ? g : "build/guest/kzguest.elf";
}

static void put64(uint64_t pa, uint64_t v) { memcpy(ram + pa, &v, 8); }

/* The guest's PT_LOAD segments at their physical addresses. */
static int load_guest(void)
{
	int fd = open(guest(), O_RDONLY);
	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	size_t n;
	if (!e || elf_getphdrnum(e, &n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (ph.p_paddr + ph.p_memsz > RAM / 2)
			return -1;
		if (pread(fd, ram + ph.p_paddr, ph.p_filesz,
			  (off_t)ph.p_offset) != (ssize_t)ph.p_filesz)
			return -1;
	}
	elf_end(e);
	close(fd);
	return 0;
}

static uint64_t nm(const char *name)
{
	char cmd[512], line[256];
	uint64_t a = 0;
	snprintf(cmd, sizeof(cmd), "nm %s", guest());
	FILE *p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		char s[128], ty;
		unsigned long long v;
		if (sscanf(line, "%llx %c %127s", &v, &ty, s) == 3 &&
		    !strcmp(s, name))
			a = v;
	}
	if (p)
		pclose(p);
	return a;
}

static int setup(void **state)
{
	(void)state;
	char err[256];
	ram = calloc(1, RAM);
	if (!ram || load_guest())
		return -1;
	/* PML4 at 0x600000: [511] -> PDPT 0x601000: [510] -> PD 0x602000. */
	put64(0x600000 + 511 * 8, 0x601000 | 3);
	put64(0x601000 + 510 * 8, 0x602000 | 3);
	put64(0x602000 + 0 * 8, 0x000000 | 0x83);
	put64(0x602000 + 1 * 8, 0x200000 | 0x83);
	put64(0x602000 + 2 * 8, 0x400000 | 0x83);
	regs.cr0 = 0x80000011;
	regs.cr4 = 0x20;
	regs.efer = 0x500;
	regs.cr3 = 0x600000;
	regs.cs.selector = 8;
	regs.cs.attr = 1u << 13;
	sym_panic = nm("kz_panic");
	sym_shell = nm("kz_shell_exec");
	sym_msgbuf = nm("kz_msgbuf");
	sym_ticks = nm("kz_ticks");
	if (!sym_panic || !sym_shell || !sym_msgbuf || !sym_ticks)
		return -1;
	const struct dbg_opts o = { .target = &tgt, .out = out,
				    .kernel = guest(), .name = "a fake machine",
				    .prog = "kzdb", .postmortem = true };
	return dbg_create(&d, &o, err, sizeof(err));
}

static int teardown(void **state)
{
	(void)state;
	dbg_destroy(d);
	free(ram);
	return 0;
}

static uint64_t eval(const char *s)
{
	uint64_t v = 0xdead;
	char err[256];
	int rc = dbg_expr_eval(d, s, &v, err, sizeof(err));
	if (rc)
		fail_msg("'%s': %s", s, err);
	return v;
}

static bool eval_fails(const char *s, const char *want)
{
	uint64_t v;
	char err[256] = "";
	if (dbg_expr_eval(d, s, &v, err, sizeof(err)) == 0)
		return false;
	return strstr(err, want) != NULL && !strchr(err, '\n');
}

static void test_numbers(void **s)
{
	(void)s;
	assert_int_equal(eval("10"), 0x10);
	assert_int_equal(eval("0x10"), 0x10);
	assert_int_equal(eval("0t10"), 10);
	assert_int_equal(eval("0o17"), 15);
	assert_int_equal(eval("0i101"), 5);
	assert_int_equal(eval("ffffffffffffffff"), UINT64_MAX);
	assert_true(eval_fails("10000000000000000", "bad number"));
	assert_true(eval_fails("0t9a", "bad number"));
}

static void test_operators(void **s)
{
	(void)s;
	assert_int_equal(eval("1+2*3"), 7);
	assert_int_equal(eval("(1+2)*3"), 9);
	assert_int_equal(eval("10%2"), 8);
	assert_int_equal(eval("(10/4)"), 4);
	assert_int_equal(eval("f0&3c|1"), 0x31);
	assert_int_equal(eval("1<<4 + 1"), 0x20);
	assert_int_equal(eval("100>>4"), 0x10);
	assert_int_equal(eval("-1"), UINT64_MAX);
	assert_int_equal(eval("~0"), UINT64_MAX);
	assert_int_equal(eval("#0"), 1);
	assert_int_equal(eval("5 - 7 + 2"), 0);
	assert_int_equal(eval("ff^f"), 0xf0);
	assert_true(eval_fails("(1", "missing ')'"));
	assert_true(eval_fails("(1/0)", "division by zero"));
	assert_true(eval_fails("1 +", "expected"));
	assert_true(eval_fails("1 2", "unexpected"));
	/* Nesting is bounded. */
	char deep[200];
	memset(deep, '(', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = 0;
	assert_true(eval_fails(deep, "nested too deeply"));
	memset(deep, '-', sizeof(deep) - 1);
	assert_true(eval_fails(deep, "nested too deeply"));
}

static void test_symbols_regs_dot(void **s)
{
	(void)s;
	assert_int_equal(eval("kz_panic"), sym_panic);
	assert_int_equal(eval("kz_panic+4"), sym_panic + 4);
	assert_int_equal(eval("`kz_panic"), sym_panic);
	assert_true(eval_fails("no_such_symbol_here", "no symbol"));
	/* A name that is not a symbol but is hex is a number. */
	assert_int_equal(eval("beef"), 0xbeef);
	regs.rip = sym_panic + 8;
	regs.rsp = 0x1234;
	assert_int_equal(eval("<rip"), sym_panic + 8);
	assert_int_equal(eval("<sp+1"), 0x1235);
	assert_true(eval_fails("<nosuchreg", "no register"));
	run("1234");
	assert_int_equal(eval("."), 0x1234);
	assert_int_equal(eval(".+1"), 0x1235);
	/* Dereference: *addr reads 8 bytes. */
	put64(0x500000, 0x1122334455667788ULL);
	assert_int_equal(eval("*(ffffffff80500000)"), 0x1122334455667788ULL);
	assert_true(eval_fails("*0", "cannot read"));
}

static void test_formats(void **s)
{
	(void)s;
	memcpy(ram + 0x500000, "\x78\x56\x34\x12\xef\xcd\xab\x90hello\0", 14);
	assert_non_null(strstr(run("ffffffff80500000/X"), "12345678"));
	assert_non_null(strstr(run("ffffffff80500000/J"), "90abcdef12345678"));
	const char *o = run("ffffffff80500000,2/X");
	assert_non_null(strstr(o, "12345678"));
	assert_non_null(strstr(o, "90abcdef"));
	assert_non_null(strstr(run("ffffffff80500000/4B"), "78   56   34   12"));
	assert_non_null(strstr(run("ffffffff80500008/s"), "hello"));
	assert_non_null(strstr(run("ffffffff80500000/D"), "305419896"));
	assert_non_null(strstr(run("ffffffff80500000/c"), "x"));
	/* A blank line goes on where the last format stopped. */
	run("ffffffff80500000/X");
	assert_non_null(strstr(run(""), "90abcdef"));
	/* = formats the value itself. */
	assert_string_equal(run("0t10=X"), "a         \n");
	assert_non_null(strstr(run("10=D"), "16"));
	assert_non_null(strstr(run("kz_panic+2=a"), "kz_panic+0x2"));
	/* Symbolic labels. */
	assert_non_null(strstr(run("kz_ticks/J"), "kz_ticks:"));
	assert_non_null(strstr(run("kz_ticks/p"), "kz_ticks:"));
	/* Errors: one line, prefixed. */
	assert_string_equal(run("0/X"), "kzdb: failed to read 4 bytes at 0\n");
	assert_non_null(strstr(run("ffffffff80500000/y"), "'y' is not a format"));
}

static void test_write(void **s)
{
	(void)s;
	const char *o = run("ffffffff80500010/W 0t42");
	assert_non_null(strstr(o, "= 2a"));
	uint32_t v;
	memcpy(&v, ram + 0x500010, 4);
	assert_int_equal(v, 42);
	run("ffffffff80500010/Z 1122334455667788");
	assert_int_equal(eval("*ffffffff80500010"), 0x1122334455667788ULL);
	assert_non_null(strstr(run("ffffffff80500010/v"), "wants values"));
}

static void test_dis(void **s)
{
	(void)s;
	const char *o = run("kz_panic::dis");
	assert_non_null(strstr(o, "kz_panic:"));
	assert_non_null(strstr(o, "kz_panic+0x1:"));
	assert_non_null(strstr(o, "panic.c:"));	/* DWARF line */
	assert_non_null(strstr(o, "<kz_stop_self>"));
	o = run("kz_shell_exec,3::dis");
	assert_non_null(strstr(o, "kz_shell_exec:"));
	assert_null(strstr(o, "kz_shell_exec+0x40:"));
	assert_non_null(strstr(run("kz_panic/i"), "kz_panic:"));
	/* Calls name their target. */
	o = run("kz_panic::dis");
	assert_non_null(strstr(o, "call"));
	assert_non_null(strstr(o, "<"));
}

static void test_vtop_whatis(void **s)
{
	(void)s;
	const char *o = run("ffffffff80100000::vtop");
	assert_non_null(strstr(o, "virtual ffffffff80100000 mapped to "
				  "physical 100000"));
	assert_non_null(strstr(o, "2M page, 4-level"));
	assert_non_null(strstr(run("ffff800000000000::vtop"),
			       "kzdb: no mapping for ffff800000000000"));
	o = run("kz_panic+3::whatis");
	assert_non_null(strstr(o, "is kz_panic+0x3, in function kz_panic"));
	assert_non_null(strstr(o, "panic.c:"));
	assert_string_equal(run("kz_panic+3::lookup"), "kz_panic+0x3\n");
	o = run("::cpuinfo");
	assert_non_null(strstr(o, "kz_shell_exec"));
	char pa[32];
	snprintf(pa, sizeof(pa), " %llx ",
		 (unsigned long long)(sym_shell - HH));
	assert_non_null(strstr(o, pa));
}

static void test_regs_stack(void **s)
{
	(void)s;
	/* Two frames on a fake stack: kz_panic called by kz_shell_exec. */
	regs.rip = sym_panic + 0x20;
	regs.rbp = HH + 0x510000;
	regs.rsp = HH + 0x50fff0;
	put64(0x510000, HH + 0x510040);
	put64(0x510008, sym_shell + 0x10);
	put64(0x510040, 0);
	put64(0x510048, sym_shell + 0x30);
	const char *o = run("$c");
	assert_string_equal(o, "kz_panic+0x20()\nkz_shell_exec+0x10()\n"
			       "kz_shell_exec+0x30()\n");
	/* On a function's first instruction the return address is at rsp. */
	regs.rip = sym_panic;
	put64(0x50fff0, sym_shell + 0x44);
	o = run("::stack");
	assert_non_null(strstr(o, "kz_panic()\nkz_shell_exec+0x44()\n"));
	o = run("::regs");
	assert_non_null(strstr(o, "%rip = 0x"));
	assert_non_null(strstr(o, "kz_panic"));
	assert_non_null(strstr(o, "%cr3 = 0x0000000000600000"));
	char want[64];
	snprintf(want, sizeof(want), "%-18llx\n", (unsigned long long)sym_shell);
	assert_string_equal(run("::switch 1; <rip=K"), want);
	outlen = 0;
	(void)dbg_exec(d, "<rip=p");
	assert_non_null(strstr(outbuf, "kz_shell_exec"));
	char p[16];
	dbg_prompt(d, p, sizeof(p));
	assert_string_equal(p, "[1]> ");
	assert_non_null(strstr(run("::switch 7"), "no cpu 7"));
	run("::switch 0");
}

static void test_msgbuf(void **s)
{
	(void)s;
	uint64_t pa = sym_msgbuf - HH;
	uint32_t hdr[2] = { 0x626d7a6b, 8 };
	uint64_t widx = 12;	/* wrapped: the oldest byte is at 12 % 8 */
	memcpy(ram + pa, hdr, 8);
	memcpy(ram + pa + 8, &widx, 8);
	memcpy(ram + pa + 16, "ijklefgh", 8);
	assert_string_equal(run("::msgbuf"), "efghijkl\n");
}

/*
 * A Linux guest's log: symbols from a System.map, one finalized record
 * in a printk ringbuffer at 0x500000 (debug/printk.c has the layout).
 */
static void test_msgbuf_linux(void **s)
{
	(void)s;
	char path[] = "/tmp/kz-map.XXXXXX", err[256];
	static const char map[] = "ffffffff80500000 D printk_rb_static\n";
	static const char text[] = "Linux version 6.1 (test)";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, map, sizeof(map) - 1), sizeof(map) - 1);
	close(fd);
	struct dbg *linux_dbg, *fake = d;
	const struct dbg_opts o = { .target = &tgt, .out = out, .kernel = path,
				    .name = "a fake Linux", .prog = "kzdb",
				    .postmortem = true };
	assert_int_equal(dbg_create(&linux_dbg, &o, err, sizeof(err)), 0);
	unlink(path);

	const uint64_t rb = 0x500000;
	fake_printk_ring(ram + rb, HH + rb, text, 1234567000);

	d = linux_dbg;
	assert_string_equal(run("::msgbuf"),
			    "[    1.234567] Linux version 6.1 (test)\n");
	put64(rb, 0);				/* not a ringbuffer */
	assert_non_null(strstr(run("::msgbuf"), "no printk ringbuffer"));
	d = fake;
	dbg_destroy(linux_dbg);
}

/*
 * Source lines come from a child process (dbg_sym_dwarf.c): the guest's
 * own DWARF gives kz_panic's file; a file without DWARF, or garbage
 * where the child's answer should be, gives no lines and no crash.
 */
static void test_lines_child(void **s)
{
	(void)s;
	struct dbg_symtab st;
	char err[256];
	const char *file = NULL;
	unsigned line = 0;
	assert_int_equal(dbg_sym_load(&st, guest(), err, sizeof(err)), 0);
	assert_true(st.nlines > 100);
	assert_true(dbg_sym_line(&st, sym_panic, &file, &line));
	assert_string_equal(file, "panic.c");
	assert_true(line > 0);
	dbg_sym_free(&st);

	memset(&st, 0, sizeof(st));
	int fd = memfd_create("not-elf", 0);
	assert_int_equal(write(fd, "garbage", 7), 7);
	dbg_sym_dwarf(&st, fd);
	close(fd);
	assert_int_equal(st.nlines, 0);
	assert_int_equal(st.nfiles, 0);

	static const uint8_t bad[] = "KZDL\1\0\0\0\3\0\0\0abc\1\0\0\0\0\0\0\0"
				     "\0\0\0\0\0\0\0\0\7\0\0\0\1\0\0\0";
	assert_int_equal(dbg_sym_dwarf_parse(bad, sizeof(bad) - 1, &st),
			 -EINVAL);	/* file 7 of 1 */
	assert_null(st.lines);
	assert_null(st.files);
}

/*
 * $c stopped in a leaf that keeps no frame (uart_rx_pending, called from
 * the `spin` loop): frame pointers alone skip its caller, as %rbp still
 * holds the caller's frame; the CFI walk names every frame.
 */
static void test_stack_cfi(void **s)
{
	(void)s;
	uint64_t leaf = nm("uart_rx_pending"), spin = nm("cmd_spin"), ret = 0;
	assert_true(leaf && spin);
	/* The return address of cmd_spin's call to uart_rx_pending. */
	for (uint64_t a = spin; a < spin + 0x80 && !ret; a++) {
		int32_t rel;
		memcpy(&rel, ram + (a - HH) + 1, 4);
		if (ram[a - HH] == 0xe8 && a + 5 + (uint64_t)(int64_t)rel == leaf)
			ret = a + 5;
	}
	assert_true(ret);
	const uint64_t sp = HH + 0x580000, fp = HH + 0x580100;
	memset(ram + 0x580000, 0, 0x1000);
	put64(0x580000, ret);			/* [rsp]: back into cmd_spin */
	put64(0x580100, fp + 0x100);		/* cmd_spin's frame */
	put64(0x580108, sym_shell + 0x40);
	struct kz_regs saved = regs;
	regs.rip = leaf + 6;
	regs.rsp = sp;
	regs.rbp = fp;
	char want[256];
	snprintf(want, sizeof(want), "uart_rx_pending+0x6()\ncmd_spin+0x%llx()\n"
		 "kz_shell_exec+0x40()\n", (unsigned long long)(ret - spin));
	const char *got = run("$c");
	regs = saved;
	assert_string_equal(got, want);
}

static void test_pipeline_and_help(void **s)
{
	(void)s;
	const char *o = run("::nm -f | ::lookup");
	assert_non_null(strstr(o, "kz_panic\n"));
	assert_non_null(strstr(o, "kz_shell_exec\n"));
	assert_null(strstr(o, "kz_ticks"));
	o = run("::nm");
	assert_non_null(strstr(o, " B kz_ticks\n"));
	o = run("::help");
	assert_non_null(strstr(o, "dis"));
	assert_non_null(strstr(o, "vtop"));
	assert_non_null(strstr(run("::help bp"), "SYNOPSIS\n  ::bp"));
	assert_string_equal(run("::nosuch"),
			    "kzdb: 'nosuch' is not a dcmd (::help lists them)\n");
	assert_string_equal(run("$x"),
			    "kzdb: '$x' is not a command (try ::help)\n");
	assert_non_null(strstr(run("::nm -q"), "Usage:"));
	assert_non_null(strstr(run("!ls"), "shell escapes"));
	/* Commands separated by ';'; the first error stops the line. */
	o = run("1=X;2=X");
	assert_string_equal(o, "1         \n2         \n");
}

static void test_no_run_control(void **s)
{
	(void)s;
	assert_non_null(strstr(run(":c"), "run control is not available"));
	assert_non_null(strstr(run("kz_panic::bp"),
			       "run control is not available"));
	assert_non_null(strstr(run(":s"), "run control is not available"));
	assert_int_equal(dbg_exec(d, "$q"), DBG_QUIT);
	assert_non_null(strstr(run("::status"), "a fake machine"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_operators),
		cmocka_unit_test(test_symbols_regs_dot),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_dis),
		cmocka_unit_test(test_vtop_whatis),
		cmocka_unit_test(test_regs_stack),
		cmocka_unit_test(test_msgbuf),
		cmocka_unit_test(test_msgbuf_linux),
		cmocka_unit_test(test_lines_child),
		cmocka_unit_test(test_stack_cfi),
		cmocka_unit_test(test_pipeline_and_help),
		cmocka_unit_test(test_no_run_control),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
