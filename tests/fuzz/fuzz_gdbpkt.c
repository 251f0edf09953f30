/*
 * libFuzzer target for the gdbstub: the input is what a hostile client
 * sends -- any bytes, framed or not -- fed through the packet layer and
 * the command table of a session over a small fake machine (two vCPUs,
 * 64 KiB of RAM with a page table, a stop event ready whenever the
 * machine is resumed).  The input is also re-framed as one valid packet
 * so the command parsers see arbitrary payloads, not just bad checksums.
 *
 * Beyond the sanitizers it checks the contract: everything the stub
 * writes is '+', '-' or a well-framed packet with a correct checksum.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gdbstub.h"
#include "pkt.h"
#include "target.h"

#define RAM 0x10000
static uint8_t ram[RAM];
static struct kz_regs regs[2];
static struct kz_fpu fpu;
static bool resumed;

static unsigned f_ncpus(struct kz_target *t) { (void)t; return 2; }
static int f_get_regs(struct kz_target *t, unsigned c, struct kz_regs *r)
{ (void)t; if (c >= 2) return -EINVAL; *r = regs[c]; return 0; }
static int f_set_regs(struct kz_target *t, unsigned c, const struct kz_regs *r)
{ (void)t; if (c >= 2) return -EINVAL; regs[c] = *r; return 0; }
static int f_get_fpu(struct kz_target *t, unsigned c, struct kz_fpu *f)
{ (void)t; (void)c; *f = fpu; return 0; }
static int f_set_fpu(struct kz_target *t, unsigned c, const struct kz_fpu *f)
{ (void)t; (void)c; fpu = *f; return 0; }

static int f_read(struct kz_target *t, uint64_t pa, void *b, size_t n)
{
	(void)t;
	if (pa > RAM || n > RAM - pa)
		return -EFAULT;
	memcpy(b, ram + pa, n);
	return 0;
}

static int f_write(struct kz_target *t, uint64_t pa, const void *b, size_t n)
{
	(void)t;
	if (pa > RAM || n > RAM - pa)
		return -EFAULT;
	memcpy(ram + pa, b, n);
	return 0;
}

static int f_stop(struct kz_target *t) { (void)t; resumed = true; return 0; }
static int f_resume(struct kz_target *t) { (void)t; resumed = true; return 0; }
static int f_step(struct kz_target *t, unsigned c)
{ (void)t; if (c >= 2) return -EINVAL; resumed = true; return 0; }

static unsigned nbrk;
static int f_set_break(struct kz_target *t, enum kz_break_kind k, uint64_t a,
		       unsigned l)
{
	(void)t; (void)k; (void)a; (void)l;
	return nbrk < 8 ? (nbrk++, 0) : -ENOSPC;
}

static int f_clear_break(struct kz_target *t, enum kz_break_kind k,
			 uint64_t a, unsigned l)
{
	(void)t; (void)k; (void)a; (void)l;
	if (!nbrk)
		return -ENOENT;
	nbrk--;
	return 0;
}

static int f_wait(struct kz_target *t, struct kz_event *ev, int ms)
{
	(void)t; (void)ms;
	if (!resumed)
		return -ETIMEDOUT;
	resumed = false;
	*ev = (struct kz_event){ KZ_EVENT_BREAK, 1, regs[1].rip };
	return 0;
}

static const struct kz_target_ops ops = {
	.name = "fuzz", .ncpus = f_ncpus, .get_regs = f_get_regs,
	.set_regs = f_set_regs, .get_fpu = f_get_fpu, .set_fpu = f_set_fpu,
	.read_phys = f_read, .write_phys = f_write, .stop = f_stop,
	.resume = f_resume, .step = f_step, .set_break = f_set_break,
	.clear_break = f_clear_break, .wait_event = f_wait,
};

/* Check the stub's output as it comes: acks and well-formed packets. */
static struct { int state; uint8_t sum; int digits; uint8_t want; } chk;

static int check_out(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	const uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		switch (chk.state) {
		case 0:
			if (c == '$') {
				chk.state = 1;
				chk.sum = 0;
			} else if (c != '+' && c != '-') {
				abort();	/* stray byte between packets */
			}
			break;
		case 1:
			if (c == '#') {
				chk.state = 2;
				chk.digits = 0;
				chk.want = 0;
			} else if (c == '$') {
				abort();	/* unescaped '$' in a reply */
			} else {
				chk.sum += c;
			}
			break;
		case 2: {
			int d = gdb_hex_digit(c);
			if (d < 0)
				abort();
			chk.want = (uint8_t)(chk.want << 4 | d);
			if (++chk.digits == 2) {
				if (chk.want != chk.sum)
					abort();
				chk.state = 0;
			}
			break;
		}
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kz_target t = { .ops = &ops };
	struct gdb_stub *s;
	static uint8_t framed[GDB_PKT_FRAMED(GDB_PKT_MAX)];

	memset(ram, 0, sizeof(ram));
	memset(regs, 0, sizeof(regs));
	/* 2M page at virtual 0 -> physical 0 under long-mode paging. */
	uint64_t e;
	e = 0x2000 | 3; memcpy(ram + 0x1000, &e, 8);
	e = 0x3000 | 3; memcpy(ram + 0x2000, &e, 8);
	e = 0x0 | 3 | 0x80; memcpy(ram + 0x3000, &e, 8);
	for (int c = 0; c < 2; c++) {
		regs[c].cr0 = 0x80000011;
		regs[c].cr3 = 0x1000;
		regs[c].cr4 = 0x20;
		regs[c].efer = 0x500;
		regs[c].rip = 0x4000 + (uint64_t)c;
	}
	fpu.size = size & 1 ? 4096 : 512;
	resumed = false;
	nbrk = 0;
	memset(&chk, 0, sizeof(chk));
	if (gdb_stub_new(&s, &t, NULL, NULL, check_out, NULL))
		return 0;
	gdb_stub_attach(s);
	/* The raw stream, with polls in between as the server would. */
	for (size_t off = 0; off < size; off += 97) {
		size_t n = size - off < 97 ? size - off : 97;
		gdb_stub_input(s, data + off, n);
		gdb_stub_poll(s, 0);
	}
	/* Then the same bytes as one valid packet's payload. */
	if (gdb_stub_ended(s) == GDB_END_NONE && size <= GDB_PKT_MAX) {
		size_t used;
		static uint8_t esc[2 * GDB_PKT_MAX];
		size_t el = gdb_bin_escape(data, size, esc, sizeof(esc), &used);
		if (used == size && el <= GDB_PKT_MAX + GDB_PKT_MAX / 2) {
			size_t fl = gdb_pkt_frame(esc, el, false, framed,
						  sizeof(framed));
			if (fl) {
				gdb_stub_input(s, framed, fl);
				gdb_stub_poll(s, 0);
			}
		}
	}
	if (gdb_stub_ended(s) == GDB_END_NONE)
		gdb_stub_drop(s);
	gdb_stub_free(s);
	return 0;
}
