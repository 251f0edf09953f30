/*
 * The gdbstub's commands: a table of packet prefixes and handlers, and the
 * only code in gdbstub/ that calls the target API.
 *
 * Owns one client's session: the packet receiver (pkt.c), acks and no-ack
 * mode, the selected threads (Hg for registers and memory, Hc for
 * resuming), the breakpoints this client planted (so a stop can say
 * swbreak/hwbreak/watch and a detach can take them all out), and whether
 * the machine is running on the client's behalf.
 *
 * Run control is all-stop: c/vCont;c resume every vCPU, s/vCont;s steps
 * one vCPU with the others held (the target cannot run some vCPUs while
 * stepping another), vCont;t is answered as a stop.  A resumed session is
 * polled by the server (gdb_stub_poll) for the machine's next event;
 * meanwhile 0x03 from the client stops the machine.
 *
 * Every byte from the client is untrusted: numbers are bounded, lengths
 * are capped to the packet size, anything unparsable is "E16" (EINVAL),
 * unknown packets get the empty reply, and a guest address that does not
 * translate is an error, never a fault.  Must never block without a
 * timeout except in the client's write function.
 */
#include "gdbstub.h"
#include "pkt.h"
#include "regs.h"
#include "target.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GDB_MAX_BP	(64 + 4)	/* software slots + debug registers */
#define ATTACH_WAIT_MS	2000
#define MON_OUT_MAX	16384
#define PAGE		4096ULL

enum bp_type { BP_SW, BP_HW, BP_WRITE, BP_READ, BP_ACCESS };

struct gdb_bp {
	bool used;
	enum bp_type type;
	uint64_t addr;
	unsigned len;
};

struct gdb_stub {
	struct kz_target *t;
	const struct gdb_stub_hooks *hooks;
	void *hctx;
	gdb_write_fn write;
	void *wctx;

	struct gdb_pkt rx;
	bool noack;
	bool gdb_swbreak, gdb_hwbreak;	/* the client understands these */
	bool running;
	enum gdb_end end;
	unsigned g_cpu, c_cpu;		/* vCPU indexes */
	char last_stop[256];		/* for '?' */
	struct gdb_bp bps[GDB_MAX_BP];

	size_t rlen;			/* reply being built */
	uint8_t reply[GDB_PKT_MAX + 1];
	size_t flen;			/* last framed reply, for a NAK */
	uint8_t framed[GDB_PKT_FRAMED(GDB_PKT_MAX)];
	uint8_t mem[GDB_PKT_MAX];	/* m/M/X scratch */
	struct kz_regs regs;
	struct kz_fpu fpu;
	char mon_out[MON_OUT_MAX];	/* monitor output */
	char threads_xml[64 * 128];	/* ~70 bytes a vCPU */
};

typedef void (*gdb_cmd_fn)(struct gdb_stub *s, const char *args, size_t len);

/* ---- replies ---- */

static void out_raw(struct gdb_stub *s, const void *buf, size_t len)
{
	if (s->end == GDB_END_GONE)
		return;
	if (s->write(s->wctx, buf, len) < 0)
		s->end = GDB_END_GONE;
}

static void send_payload(struct gdb_stub *s, const uint8_t *p, size_t len)
{
	s->flen = gdb_pkt_frame(p, len, true, s->framed, sizeof(s->framed));
	if (s->flen)
		out_raw(s, s->framed, s->flen);
}

static void reply_str(struct gdb_stub *s, const char *str)
{
	size_t n = strlen(str);
	if (n > GDB_PKT_MAX)
		n = GDB_PKT_MAX;
	memcpy(s->reply, str, n);
	s->rlen = n;
}

static void reply_fmt(struct gdb_stub *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reply_fmt(struct gdb_stub *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf((char *)s->reply, sizeof(s->reply), fmt, ap);
	va_end(ap);
	s->rlen = n < 0 ? 0 : (size_t)n >= sizeof(s->reply) ?
				       sizeof(s->reply) - 1 : (size_t)n;
}

static void reply_err(struct gdb_stub *s, int rc)
{
	int e = rc < 0 ? -rc : rc;
	reply_fmt(s, "E%02x", (e ? e : EIO) & 0xff);
}

static void reply_hex(struct gdb_stub *s, const uint8_t *b, size_t n)
{
	if (n * 2 > GDB_PKT_MAX)
		n = GDB_PKT_MAX / 2;
	gdb_hex_encode(b, n, (char *)s->reply);
	s->rlen = n * 2;
}

/* A console line for gdb to print (an 'O' packet), sent at once. */
static void send_console(struct gdb_stub *s, const char *text, size_t n)
{
	while (n > 0) {
		size_t chunk = n > (GDB_PKT_MAX - 1) / 2 ? (GDB_PKT_MAX - 1) / 2 : n;
		s->reply[0] = 'O';
		gdb_hex_encode((const uint8_t *)text, chunk, (char *)s->reply + 1);
		send_payload(s, s->reply, 1 + chunk * 2);
		text += chunk;
		n -= chunk;
	}
}

/* ---- parsing ---- */

/* "ADDR,LEN" then the rest; -EINVAL when malformed. */
static int parse_addr_len(const char **p, uint64_t *addr, uint64_t *len)
{
	if (gdb_hex_u64(p, addr) || **p != ',')
		return -EINVAL;
	(*p)++;
	return gdb_hex_u64(p, len) ? -EINVAL : 0;
}

/*
 * A thread id: -1 (all), 0 (any) or N (vCPU N-1).  Returns 0 and sets
 * *cpu (-1 for all/any) or -EINVAL.
 */
static int parse_thread(struct gdb_stub *s, const char **p, int *cpu)
{
	uint64_t id;
	if ((*p)[0] == '-' && (*p)[1] == '1') {
		*p += 2;
		*cpu = -1;
		return 0;
	}
	if (gdb_hex_u64(p, &id))
		return -EINVAL;
	if (id == 0) {
		*cpu = -1;
		return 0;
	}
	if (id > s->t->ops->ncpus(s->t))
		return -EINVAL;
	*cpu = (int)(id - 1);
	return 0;
}

/* ---- registers ---- */

static int load_regs(struct gdb_stub *s, unsigned cpu, bool fpu)
{
	int rc = s->t->ops->get_regs(s->t, cpu, &s->regs);
	if (rc)
		return rc;
	if (!fpu)
		return 0;
	memset(&s->fpu, 0, sizeof(s->fpu));
	if (!s->t->ops->get_fpu)
		return 0;
	rc = s->t->ops->get_fpu(s->t, cpu, &s->fpu);
	if (rc == -ENOTSUP) {
		s->fpu.size = 0;	/* shown as zeros */
		rc = 0;
	}
	return rc;
}

static void cmd_g(struct gdb_stub *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	uint8_t buf[2048];
	size_t off = 0;
	int rc = load_regs(s, s->g_cpu, true);
	if (rc) {
		reply_err(s, rc);
		return;
	}
	for (unsigned i = 0; i < gdb_reg_count(); i++) {
		gdb_reg_get(i, &s->regs, &s->fpu, buf + off);
		off += gdb_reg_size(i);
	}
	reply_hex(s, buf, off);
}

static int store_regs(struct gdb_stub *s, unsigned cpu, bool fpu)
{
	int rc = s->t->ops->set_regs ? s->t->ops->set_regs(s->t, cpu, &s->regs)
				     : -ENOTSUP;
	if (!rc && fpu)
		rc = s->t->ops->set_fpu ? s->t->ops->set_fpu(s->t, cpu, &s->fpu)
					: -ENOTSUP;
	return rc;
}

static void cmd_G(struct gdb_stub *s, const char *args, size_t len)
{
	uint8_t buf[2048];
	size_t need = gdb_regs_size();
	bool fpu_loaded;
	int rc;
	if (len != need * 2 ||
	    gdb_hex_decode(args, len, buf, sizeof(buf)) != (long)need) {
		reply_err(s, EINVAL);
		return;
	}
	rc = load_regs(s, s->g_cpu, true);
	fpu_loaded = s->fpu.size > 0;
	size_t off = 0;
	for (unsigned i = 0; !rc && i < gdb_reg_count(); i++) {
		if (!gdb_reg_is_fpu(i) || fpu_loaded)
			rc = gdb_reg_set(i, &s->regs, &s->fpu, buf + off);
		off += gdb_reg_size(i);
	}
	if (!rc)
		rc = store_regs(s, s->g_cpu, fpu_loaded);
	if (rc)
		reply_err(s, rc);
	else
		reply_str(s, "OK");
}

static void cmd_p(struct gdb_stub *s, const char *args, size_t len)
{
	(void)len;
	uint64_t n;
	uint8_t buf[64];
	if (gdb_hex_u64(&args, &n) || *args) {
		reply_err(s, EINVAL);
		return;
	}
	if (n >= gdb_reg_count()) {
		reply_err(s, EINVAL);
		return;
	}
	int rc = load_regs(s, s->g_cpu, gdb_reg_is_fpu((unsigned)n));
	if (rc) {
		reply_err(s, rc);
		return;
	}
	gdb_reg_get((unsigned)n, &s->regs, &s->fpu, buf);
	reply_hex(s, buf, gdb_reg_size((unsigned)n));
}

static void cmd_P(struct gdb_stub *s, const char *args, size_t len)
{
	const char *end = args + len;
	uint64_t n;
	uint8_t buf[64];
	if (gdb_hex_u64(&args, &n) || *args != '=' || n >= gdb_reg_count()) {
		reply_err(s, EINVAL);
		return;
	}
	args++;
	unsigned size = gdb_reg_size((unsigned)n);
	if ((size_t)(end - args) != size * 2 ||
	    gdb_hex_decode(args, size * 2, buf, sizeof(buf)) != (long)size) {
		reply_err(s, EINVAL);
		return;
	}
	bool fpu = gdb_reg_is_fpu((unsigned)n);
	int rc = load_regs(s, s->g_cpu, fpu);
	if (!rc && fpu && s->fpu.size == 0)
		rc = -ENOTSUP;
	if (!rc)
		rc = gdb_reg_set((unsigned)n, &s->regs, &s->fpu, buf);
	if (!rc)
		rc = store_regs(s, s->g_cpu, fpu);
	if (rc)
		reply_err(s, rc);
	else
		reply_str(s, "OK");
}

/* ---- memory ---- */

/* Read up to len bytes at vaddr, page by page; how many were readable. */
static size_t read_mem(struct gdb_stub *s, uint64_t vaddr, uint8_t *buf,
		       size_t len, int *rc)
{
	size_t done = 0;
	*rc = 0;
	while (done < len) {
		uint64_t a = vaddr + done;
		size_t chunk = (size_t)(PAGE - (a & (PAGE - 1)));
		if (chunk > len - done)
			chunk = len - done;
		*rc = kz_target_read_virt(s->t, s->g_cpu, a, buf + done, chunk);
		if (*rc)
			break;
		done += chunk;
	}
	return done;
}

static void cmd_m(struct gdb_stub *s, const char *args, size_t len)
{
	(void)len;
	uint64_t addr, n;
	int rc;
	if (parse_addr_len(&args, &addr, &n) || *args) {
		reply_err(s, EINVAL);
		return;
	}
	if (n > GDB_PKT_MAX / 2)
		n = GDB_PKT_MAX / 2;
	size_t got = read_mem(s, addr, s->mem, (size_t)n, &rc);
	/* A short read is a good answer; nothing at all is an error. */
	if (got == 0 && n > 0)
		reply_err(s, rc ? rc : -EFAULT);
	else
		reply_hex(s, s->mem, got);
}

static void write_mem(struct gdb_stub *s, uint64_t addr, size_t n)
{
	int rc = n ? kz_target_write_virt(s->t, s->g_cpu, addr, s->mem, n) : 0;
	if (rc)
		reply_err(s, rc);
	else
		reply_str(s, "OK");
}

static void cmd_M(struct gdb_stub *s, const char *args, size_t len)
{
	const char *end = args + len;
	uint64_t addr, n;
	if (parse_addr_len(&args, &addr, &n) || *args != ':' ||
	    n > sizeof(s->mem) || (size_t)(end - args - 1) != n * 2 ||
	    gdb_hex_decode(args + 1, (size_t)n * 2, s->mem, sizeof(s->mem)) !=
		    (long)n) {
		reply_err(s, EINVAL);
		return;
	}
	write_mem(s, addr, (size_t)n);
}

static void cmd_X(struct gdb_stub *s, const char *args, size_t len)
{
	const char *start = args, *end = args + len;
	uint64_t addr, n;
	if (parse_addr_len(&args, &addr, &n) || args >= end || *args != ':') {
		reply_err(s, EINVAL);
		return;
	}
	args++;
	/* The packet layer has undone the escapes: what is left is data. */
	if (n > sizeof(s->mem) || (size_t)(end - args) != n) {
		reply_err(s, EINVAL);
		return;
	}
	(void)start;
	memcpy(s->mem, args, (size_t)n);
	write_mem(s, addr, (size_t)n);
}

/* ---- breakpoints ---- */

static enum kz_break_kind break_kind(enum bp_type t)
{
	switch (t) {
	case BP_SW: return KZ_BREAK_SW;
	case BP_HW: return KZ_BREAK_HW_EXEC;
	case BP_WRITE: return KZ_BREAK_HW_WRITE;
	default: return KZ_BREAK_HW_ACCESS;	/* x86 has no read-only watch */
	}
}

static struct gdb_bp *find_bp(struct gdb_stub *s, enum bp_type t,
			      uint64_t addr, unsigned len)
{
	for (unsigned i = 0; i < GDB_MAX_BP; i++)
		if (s->bps[i].used && s->bps[i].type == t &&
		    s->bps[i].addr == addr && s->bps[i].len == len)
			return &s->bps[i];
	return NULL;
}

static void cmd_Z(struct gdb_stub *s, const char *args, size_t len, bool set)
{
	(void)len;
	uint64_t type, addr, kind;
	if (gdb_hex_u64(&args, &type) || type > 4 || *args++ != ',' ||
	    parse_addr_len(&args, &addr, &kind) || (*args && *args != ';')) {
		reply_err(s, EINVAL);
		return;
	}
	enum bp_type t = (enum bp_type)type;
	/* Execute breakpoints are one byte to the target whatever the kind. */
	unsigned blen = t <= BP_HW ? 1 : (unsigned)(kind > 8 ? 0 : kind);
	if (blen == 0) {
		reply_err(s, EINVAL);
		return;
	}
	struct gdb_bp *b = find_bp(s, t, addr, blen);
	int rc;
	if (set) {
		if (b) {
			reply_str(s, "OK");	/* already in */
			return;
		}
		for (unsigned i = 0; i < GDB_MAX_BP && !b; i++)
			if (!s->bps[i].used)
				b = &s->bps[i];
		if (!b) {
			reply_err(s, ENOSPC);
			return;
		}
		rc = s->t->ops->set_break(s->t, break_kind(t), addr, blen);
		if (!rc)
			*b = (struct gdb_bp){ true, t, addr, blen };
	} else {
		rc = s->t->ops->clear_break(s->t, break_kind(t), addr, blen);
		if (b)
			b->used = false;
		if (rc == -ENOENT)
			rc = 0;		/* not there is what was asked */
	}
	if (rc == -ENOTSUP)
		reply_str(s, "");	/* gdb then says it cannot */
	else if (rc)
		reply_err(s, rc);
	else
		reply_str(s, "OK");
}

static void cmd_Zset(struct gdb_stub *s, const char *a, size_t n)
{
	cmd_Z(s, a, n, true);
}

static void cmd_zclear(struct gdb_stub *s, const char *a, size_t n)
{
	cmd_Z(s, a, n, false);
}

static void clear_all_bps(struct gdb_stub *s)
{
	for (unsigned i = 0; i < GDB_MAX_BP; i++) {
		struct gdb_bp *b = &s->bps[i];
		if (!b->used)
			continue;
		(void)s->t->ops->clear_break(s->t, break_kind(b->type), b->addr,
					     b->len);
		b->used = false;
	}
}

/* ---- stops ---- */

static unsigned ncpus(struct gdb_stub *s)
{
	return s->t->ops->ncpus(s->t);
}

/* A stop reply for ev, remembered for '?'; selects the vCPU that stopped. */
static void stop_reply(struct gdb_stub *s, const struct kz_event *ev)
{
	char *r = s->last_stop;
	size_t cap = sizeof(s->last_stop), n;
	unsigned cpu = ev->cpu < ncpus(s) ? ev->cpu : 0;
	int sig = 5;		/* SIGTRAP */
	const char *why = "";
	char watch[64] = "";

	if (ev->kind == KZ_EVENT_POWEROFF) {
		snprintf(r, cap, "W00");
		reply_str(s, r);
		s->end = GDB_END_EXITED;
		return;
	}
	s->g_cpu = s->c_cpu = cpu;
	if (ev->kind == KZ_EVENT_STOPPED)
		sig = 2;	/* SIGINT: gdb says the program was interrupted */
	else if (ev->kind == KZ_EVENT_PANIC)
		sig = 6;	/* SIGABRT */
	for (unsigned i = 0; i < GDB_MAX_BP; i++) {
		struct gdb_bp *b = &s->bps[i];
		if (!b->used)
			continue;
		if (ev->kind == KZ_EVENT_BREAK && b->addr == ev->addr) {
			if (b->type == BP_SW && s->gdb_swbreak)
				why = "swbreak:;";
			else if (b->type == BP_HW && s->gdb_hwbreak)
				why = "hwbreak:;";
		} else if (ev->kind == KZ_EVENT_WATCH && b->type >= BP_WRITE &&
			   ev->addr >= b->addr && ev->addr < b->addr + b->len) {
			snprintf(watch, sizeof(watch), "%s:%" PRIx64 ";",
				 b->type == BP_WRITE ? "watch" :
				 b->type == BP_READ ? "rwatch" : "awatch",
				 b->addr);
		}
	}
	n = (size_t)snprintf(r, cap, "T%02xthread:%x;%s%s", sig, cpu + 1, why,
			     watch);
	/* rbp, rsp and rip ride along: a step needs no 'g' round trip. */
	if (n < cap && load_regs(s, cpu, false) == 0) {
		static const unsigned expedite[] = { 6, 7, 16 };
		for (unsigned i = 0; i < 3 && n + 24 < cap; i++) {
			uint8_t v[8];
			char hex[17];
			gdb_reg_get(expedite[i], &s->regs, NULL, v);
			gdb_hex_encode(v, 8, hex);
			n += (size_t)snprintf(r + n, cap - n, "%02x:%s;",
					      expedite[i], hex);
		}
	}
	reply_str(s, r);
}

static void finish_reply(struct gdb_stub *s)
{
	send_payload(s, s->reply, s->rlen);
	s->rlen = 0;
}

void gdb_stub_poll(struct gdb_stub *s, int timeout_ms)
{
	struct kz_event ev;
	if (!s->running || s->end != GDB_END_NONE)
		return;
	int rc = s->t->ops->wait_event(s->t, &ev, timeout_ms);
	if (rc == -ETIMEDOUT)
		return;
	s->running = false;
	if (rc) {
		/* The target cannot tell: say the machine ended. */
		ev.kind = KZ_EVENT_POWEROFF;
	}
	stop_reply(s, &ev);
	finish_reply(s);
}

/* Resume every vCPU; the stop is reported by gdb_stub_poll. */
static void do_continue(struct gdb_stub *s)
{
	int rc = s->t->ops->resume(s->t);
	if (rc) {
		reply_err(s, rc);
		return;
	}
	s->running = true;
	s->rlen = 0;
}

static void do_step(struct gdb_stub *s, unsigned cpu)
{
	int rc = s->t->ops->step(s->t, cpu);
	if (rc == 0) {
		s->running = true;	/* the STEP event is waiting */
		s->rlen = 0;
		return;
	}
	/*
	 * Nothing ran (a halted vCPU with interrupts held off for the step):
	 * report a stop where it is, so gdb is not left waiting.
	 */
	struct kz_event ev = { .kind = KZ_EVENT_STEP, .cpu = cpu };
	stop_reply(s, &ev);
}

/* Optional "ADDR" after c or s: resume from there. */
static int set_pc(struct gdb_stub *s, const char *args, unsigned cpu)
{
	uint64_t pc;
	if (!*args)
		return 0;
	if (gdb_hex_u64(&args, &pc) || *args)
		return -EINVAL;
	int rc = load_regs(s, cpu, false);
	if (rc)
		return rc;
	s->regs.rip = pc;
	return store_regs(s, cpu, false);
}

static void cmd_c(struct gdb_stub *s, const char *args, size_t len)
{
	(void)len;
	int rc = set_pc(s, args, s->c_cpu);
	if (rc)
		reply_err(s, rc);
	else
		do_continue(s);
}

static void cmd_s(struct gdb_stub *s, const char *args, size_t len)
{
	(void)len;
	int rc = set_pc(s, args, s->c_cpu);
	if (rc)
		reply_err(s, rc);
	else
		do_step(s, s->c_cpu);
}

/* C/S carry a signal first: a machine has no signals to deliver. */
static void cmd_C(struct gdb_stub *s, const char *args, size_t len)
{
	const char *semi = memchr(args, ';', len);
	cmd_c(s, semi ? semi + 1 : "", 0);
}

static void cmd_S(struct gdb_stub *s, const char *args, size_t len)
{
	const char *semi = memchr(args, ';', len);
	cmd_s(s, semi ? semi + 1 : "", 0);
}

static void cmd_vcont_query(struct gdb_stub *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	reply_str(s, "vCont;c;C;s;S;t");
}

/*
 * vCont;ACTION[:TID]...: the first action naming a vCPU wins for it, a
 * default action (no TID) covers the rest.  A step of one vCPU runs that
 * one alone; any continue resumes all; only stops: a stop right here.
 */
static void cmd_vcont(struct gdb_stub *s, const char *args, size_t len)
{
	const char *p = args, *end = args + len;
	int step_cpu = -1, stop_cpu = -1;
	bool cont = false, any = false;

	while (p < end) {
		if (*p != ';') {
			reply_err(s, EINVAL);
			return;
		}
		p++;
		char act = p < end ? *p++ : 0;
		if (act == 'C' || act == 'S') {	/* signal number: ignored */
			uint64_t sig;
			if (gdb_hex_u64(&p, &sig)) {
				reply_err(s, EINVAL);
				return;
			}
			act = (char)(act - 'A' + 'a');
		}
		if (act != 'c' && act != 's' && act != 't') {
			reply_err(s, EINVAL);
			return;
		}
		int cpu = -1;
		if (p < end && *p == ':') {
			p++;
			if (parse_thread(s, &p, &cpu)) {
				reply_err(s, EINVAL);
				return;
			}
		}
		any = true;
		if (act == 's' && step_cpu < 0)
			step_cpu = cpu < 0 ? (int)s->c_cpu : cpu;
		else if (act == 'c')
			cont = true;
		else if (act == 't' && stop_cpu < 0)
			stop_cpu = cpu;
	}
	if (!any) {
		reply_err(s, EINVAL);
		return;
	}
	if (step_cpu >= 0)
		do_step(s, (unsigned)step_cpu);
	else if (cont)
		do_continue(s);
	else {
		struct kz_event ev = {
			.kind = KZ_EVENT_STOPPED,
			.cpu = stop_cpu >= 0 ? (unsigned)stop_cpu : s->c_cpu,
		};
		stop_reply(s, &ev);
		/* gdb expects signal 0 for a vCont;t stop. */
		memcpy(s->reply, "T00", 3);
	}
}

static void cmd_question(struct gdb_stub *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	reply_str(s, s->last_stop[0] ? s->last_stop : "S05");
}

/* ---- threads ---- */

static void cmd_H(struct gdb_stub *s, const char *args, size_t len)
{
	(void)len;
	char op = *args++;
	int cpu;
	if ((op != 'g' && op != 'c') || parse_thread(s, &args, &cpu) || *args) {
		reply_err(s, EINVAL);
		return;
	}
	if (cpu >= 0) {
		if (op == 'g')
			s->g_cpu = (unsigned)cpu;
		else
			s->c_cpu = (unsigned)cpu;
	}
	reply_str(s, "OK");
}

static void cmd_T(struct gdb_stub *s, const char *args, size_t len)
{
	(void)len;
	int cpu;
	if (parse_thread(s, &args, &cpu) || *args || cpu < 0)
		reply_err(s, ENOENT);
	else
		reply_str(s, "OK");
}

static void cmd_fthreadinfo(struct gdb_stub *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	size_t n = 0;
	s->reply[n++] = 'm';
	for (unsigned i = 0; i < ncpus(s) && n + 20 < sizeof(s->reply); i++)
		n += (size_t)snprintf((char *)s->reply + n, sizeof(s->reply) - n,
				      "%s%x", i ? "," : "", i + 1);
	s->rlen = n;
}

static void cmd_sthreadinfo(struct gdb_stub *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	reply_str(s, "l");
}

static void cmd_qC(struct gdb_stub *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	reply_fmt(s, "QC%x", s->g_cpu + 1);
}

/* ---- queries ---- */

static void cmd_supported(struct gdb_stub *s, const char *args, size_t len)
{
	(void)len;
	s->gdb_swbreak = strstr(args, "swbreak+") != NULL;
	s->gdb_hwbreak = strstr(args, "hwbreak+") != NULL;
	reply_fmt(s, "PacketSize=%x;QStartNoAckMode+;qXfer:features:read+;"
		  "qXfer:threads:read+;swbreak+;hwbreak+;vContSupported+",
		  GDB_PKT_MAX);
}

static void cmd_noack(struct gdb_stub *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	reply_str(s, "OK");
	finish_reply(s);	/* acknowledged in the old mode... */
	s->noack = true;	/* ...and none from now on */
}

/* A qXfer read: "ANNEX:OFF,LEN" of text; 'm' more follows, 'l' last. */
static void xfer(struct gdb_stub *s, const char *args, const char *annex,
		 const char *text, size_t tlen)
{
	size_t alen = strlen(annex);
	uint64_t off, n;
	if (strncmp(args, annex, alen) != 0 || args[alen] != ':') {
		reply_err(s, ENOENT);
		return;
	}
	args += alen + 1;
	if (parse_addr_len(&args, &off, &n) || *args) {
		reply_err(s, EINVAL);
		return;
	}
	if (off >= tlen) {
		reply_str(s, "l");
		return;
	}
	if (n > tlen - off)
		n = tlen - off;
	size_t used;
	size_t w = gdb_bin_escape((const uint8_t *)text + off, (size_t)n,
				  s->reply + 1, GDB_PKT_MAX - 1, &used);
	s->reply[0] = off + used >= tlen ? 'l' : 'm';
	s->rlen = 1 + w;
}

static void cmd_xfer_features(struct gdb_stub *s, const char *args, size_t len)
{
	(void)len;
	size_t xlen;
	const char *x = gdb_target_xml(&xlen);
	xfer(s, args, "target.xml", x, xlen);
}

static void cmd_xfer_threads(struct gdb_stub *s, const char *args, size_t len)
{
	(void)len;
	char *x = s->threads_xml;
	const size_t cap = sizeof(s->threads_xml);
	size_t n = (size_t)snprintf(x, cap, "<?xml version=\"1.0\"?>\n"
				    "<threads>\n");
	for (unsigned i = 0; i < ncpus(s) && n + 80 < cap; i++)
		n += (size_t)snprintf(x + n, cap - n,
				      "<thread id=\"%x\" core=\"%u\" name=\"CPU %u\"/>\n",
				      i + 1, i, i);
	n += (size_t)snprintf(x + n, cap - n, "</threads>\n");
	xfer(s, args, "", x, n);
}

static void cmd_attached(struct gdb_stub *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	reply_str(s, "1");	/* gdb detaches, never kills, when it quits */
}

static void cmd_offsets(struct gdb_stub *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	uint64_t off = 0;
	if (s->hooks && s->hooks->text_offset &&
	    s->hooks->text_offset(s->hctx, &off))
		off = 0;
	reply_fmt(s, "Text=%" PRIx64 ";Data=%" PRIx64 ";Bss=%" PRIx64, off,
		  off, off);
}

static void cmd_symbol(struct gdb_stub *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	reply_str(s, "OK");	/* no symbols wanted */
}

/* ---- monitor: the stub's own few commands ---- */

static size_t outf(char *out, size_t cap, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static size_t outf(char *out, size_t cap, size_t n, const char *fmt, ...)
{
	if (n >= cap)
		return n;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(out + n, cap - n, fmt, ap);
	va_end(ap);
	if (w < 0)
		return n;
	return n + (size_t)w >= cap ? cap - 1 : n + (size_t)w;
}

static size_t mon_regs(struct gdb_stub *s, const char *arg, char *out,
		       size_t cap)
{
	(void)arg;
	int rc = load_regs(s, s->g_cpu, false);
	if (rc)
		return outf(out, cap, 0, "cannot read CPU %u's registers: %s\n",
			    s->g_cpu, strerror(-rc));
	const struct kz_regs *r = &s->regs;
	const struct { const char *n; uint64_t v; } g[] = {
		{ "rax", r->rax }, { "rbx", r->rbx }, { "rcx", r->rcx },
		{ "rdx", r->rdx }, { "rsi", r->rsi }, { "rdi", r->rdi },
		{ "rbp", r->rbp }, { "rsp", r->rsp }, { "r8", r->r8 },
		{ "r9", r->r9 }, { "r10", r->r10 }, { "r11", r->r11 },
		{ "r12", r->r12 }, { "r13", r->r13 }, { "r14", r->r14 },
		{ "r15", r->r15 }, { "rip", r->rip }, { "rflags", r->rflags },
		{ "cr0", r->cr0 }, { "cr2", r->cr2 }, { "cr3", r->cr3 },
		{ "cr4", r->cr4 }, { "efer", r->efer },
		{ "fsbase", r->fs_base }, { "gsbase", r->gs_base },
		{ "kgsbase", r->kernel_gs_base },
	};
	size_t n = outf(out, cap, 0, "CPU %u\n", s->g_cpu);
	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++)
		n = outf(out, cap, n, "%%%-8s = 0x%016" PRIx64 "%s", g[i].n,
			 g[i].v, i % 2 ? "\n" : "    ");
	n = outf(out, cap, n, "\n%%cs = 0x%04x %%ds = 0x%04x %%ss = 0x%04x "
		 "%%es = 0x%04x %%fs = 0x%04x %%gs = 0x%04x\n", r->cs.selector,
		 r->ds.selector, r->ss.selector, r->es.selector,
		 r->fs.selector, r->gs.selector);
	return n;
}

static size_t mon_cpus(struct gdb_stub *s, const char *arg, char *out,
		       size_t cap)
{
	(void)arg;
	size_t n = outf(out, cap, 0, "CPU  THREAD  RIP\n");
	for (unsigned i = 0; i < ncpus(s); i++) {
		struct kz_regs r;
		if (s->t->ops->get_regs(s->t, i, &r))
			n = outf(out, cap, n, "%3u  %6u  (unreadable)\n", i, i + 1);
		else
			n = outf(out, cap, n, "%3u  %6u  0x%016" PRIx64 "%s\n",
				 i, i + 1, r.rip, i == s->g_cpu ? "  <-" : "");
	}
	return n;
}

static size_t mon_vtop(struct gdb_stub *s, const char *arg, char *out,
		       size_t cap)
{
	uint64_t va;
	struct kz_xlate x;
	while (*arg == ' ')
		arg++;
	if (arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X'))
		arg += 2;
	if (gdb_hex_u64(&arg, &va) || (*arg && *arg != ' '))
		return outf(out, cap, 0, "usage: vtop VADDR (hex)\n");
	int rc = kz_target_translate(s->t, s->g_cpu, va, &x);
	if (rc)
		return outf(out, cap, 0, "0x%" PRIx64 " does not translate "
			    "through CPU %u's page tables: %s\n", va, s->g_cpu,
			    rc == -ENOENT ? "not mapped" : strerror(-rc));
	return outf(out, cap, 0, "virtual 0x%" PRIx64 " -> physical 0x%" PRIx64
		    " (%" PRIu64 "K page%s%s%s)\n", va, x.pa,
		    x.page_size >> 10, x.writable ? ", writable" : "",
		    x.user ? ", user" : "", x.nx ? ", no-execute" : "");
}

static size_t mon_help(struct gdb_stub *s, const char *arg, char *out,
		       size_t cap);

static const struct mon_cmd {
	const char *name;
	const char *usage;
	size_t (*fn)(struct gdb_stub *s, const char *arg, char *out, size_t cap);
} mon_cmds[] = {
	{ "regs", "registers of the selected vCPU (also ::regs)", mon_regs },
	{ "cpus", "each vCPU and where it stopped (also ::cpus)", mon_cpus },
	{ "vtop", "VADDR: translate through the selected vCPU's page "
		  "tables (also VADDR::vtop)", mon_vtop },
	{ "help", "this list", mon_help },
};

static size_t mon_help(struct gdb_stub *s, const char *arg, char *out,
		       size_t cap)
{
	(void)s;
	(void)arg;
	size_t n = outf(out, cap, 0, "kzhost gdbstub monitor commands:\n");
	for (size_t i = 0; i < sizeof(mon_cmds) / sizeof(mon_cmds[0]); i++)
		n = outf(out, cap, n, "  %-5s %s\n", mon_cmds[i].name,
			 mon_cmds[i].usage);
	return n;
}

/* "NAME ARG", "::NAME ARG" or "ARG::NAME" (mdb order). */
static size_t monitor_builtin(struct gdb_stub *s, char *line, char *out,
			      size_t cap)
{
	char *name = line, *arg = "";
	char *dc = strstr(line, "::");
	while (*name == ' ')
		name++;
	if (dc && dc != name) {
		*dc = 0;
		arg = name;
		name = dc + 2;
	} else if (dc) {
		name += 2;
	}
	char *sp = strchr(name, ' ');
	if (sp) {
		*sp = 0;
		if (!*arg)
			arg = sp + 1;
	}
	if (!*name)
		name = "help";
	for (size_t i = 0; i < sizeof(mon_cmds) / sizeof(mon_cmds[0]); i++)
		if (strcmp(name, mon_cmds[i].name) == 0)
			return mon_cmds[i].fn(s, arg, out, cap);
	return outf(out, cap, 0, "no monitor command '%.40s' (monitor help "
		    "lists them)\n", name);
}

static void cmd_rcmd(struct gdb_stub *s, const char *args, size_t len)
{
	char *out = s->mon_out;
	char line[1024];
	long n = gdb_hex_decode(args, len, (uint8_t *)line, sizeof(line) - 1);
	if (n < 0) {
		reply_err(s, EINVAL);
		return;
	}
	line[n] = 0;
	if (memchr(line, 0, (size_t)n)) {
		reply_err(s, EINVAL);
		return;
	}
	size_t olen;
	out[0] = 0;
	if (s->hooks && s->hooks->monitor) {
		int rc = s->hooks->monitor(s->hctx, line, out, MON_OUT_MAX);
		olen = strnlen(out, MON_OUT_MAX - 1);
		if (rc && olen == 0)
			olen = (size_t)snprintf(out, MON_OUT_MAX, "monitor: %s\n",
						strerror(rc < 0 ? -rc : rc));
	} else {
		olen = monitor_builtin(s, line, out, MON_OUT_MAX);
	}
	send_console(s, out, olen);
	reply_str(s, "OK");
}

/* ---- an inspection-only view of the target, for monitor commands ---- */

static struct kz_target *real_of(struct kz_target *v)
{
	return v->priv;
}

static unsigned insp_ncpus(struct kz_target *v)
{
	return real_of(v)->ops->ncpus(real_of(v));
}

static int insp_get_regs(struct kz_target *v, unsigned c, struct kz_regs *r)
{
	return real_of(v)->ops->get_regs(real_of(v), c, r);
}

static int insp_get_fpu(struct kz_target *v, unsigned c, struct kz_fpu *f)
{
	struct kz_target *t = real_of(v);
	return t->ops->get_fpu ? t->ops->get_fpu(t, c, f) : -ENOTSUP;
}

static int insp_read_phys(struct kz_target *v, uint64_t pa, void *buf,
			  size_t len)
{
	return real_of(v)->ops->read_phys(real_of(v), pa, buf, len);
}

static int insp_no_run(struct kz_target *v)
{
	(void)v;
	return -ENOTSUP;
}

static int insp_no_step(struct kz_target *v, unsigned cpu)
{
	(void)v;
	(void)cpu;
	return -ENOTSUP;
}

static int insp_no_break(struct kz_target *v, enum kz_break_kind k,
			 uint64_t a, unsigned l)
{
	(void)v;
	(void)k;
	(void)a;
	(void)l;
	return -ENOTSUP;
}

static int insp_no_wait(struct kz_target *v, struct kz_event *ev, int ms)
{
	(void)v;
	(void)ev;
	(void)ms;
	return -ENOTSUP;
}

static const struct kz_target_ops inspect_ops = {
	.name = "gdb-monitor",
	.ncpus = insp_ncpus,
	.get_regs = insp_get_regs,
	.get_fpu = insp_get_fpu,
	.read_phys = insp_read_phys,
	.stop = insp_no_run,
	.resume = insp_no_run,
	.step = insp_no_step,
	.set_break = insp_no_break,
	.clear_break = insp_no_break,
	.wait_event = insp_no_wait,
};

void gdb_inspect_target(struct kz_target *view, struct kz_target *real)
{
	view->ops = &inspect_ops;
	view->priv = real;
}

/* ---- leaving ---- */

static void cmd_D(struct gdb_stub *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	clear_all_bps(s);
	(void)s->t->ops->resume(s->t);
	reply_str(s, "OK");
	s->end = GDB_END_DETACH;
}

static void cmd_k(struct gdb_stub *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	clear_all_bps(s);
	if (s->hooks && s->hooks->kill)
		s->hooks->kill(s->hctx);
	else
		(void)s->t->ops->resume(s->t);
	s->end = GDB_END_KILL;
	s->rlen = 0;
	s->flen = 0;	/* no reply to 'k' */
}

static void cmd_vkill(struct gdb_stub *s, const char *args, size_t len)
{
	cmd_k(s, args, len);
	reply_str(s, "OK");
}

/* ---- the table ---- */

static const struct gdb_cmd {
	const char *prefix;
	bool exact;		/* the whole packet, not a prefix */
	gdb_cmd_fn fn;
} gdb_cmds[] = {
	{ "qSupported", false, cmd_supported },
	{ "QStartNoAckMode", true, cmd_noack },
	{ "qXfer:features:read:", false, cmd_xfer_features },
	{ "qXfer:threads:read:", false, cmd_xfer_threads },
	{ "qfThreadInfo", true, cmd_fthreadinfo },
	{ "qsThreadInfo", true, cmd_sthreadinfo },
	{ "qC", true, cmd_qC },
	{ "qAttached", false, cmd_attached },
	{ "qOffsets", true, cmd_offsets },
	{ "qRcmd,", false, cmd_rcmd },
	{ "qSymbol:", false, cmd_symbol },
	{ "vCont?", true, cmd_vcont_query },
	{ "vCont", false, cmd_vcont },
	{ "vKill", false, cmd_vkill },
	{ "?", true, cmd_question },
	{ "g", true, cmd_g },
	{ "G", false, cmd_G },
	{ "p", false, cmd_p },
	{ "P", false, cmd_P },
	{ "m", false, cmd_m },
	{ "M", false, cmd_M },
	{ "X", false, cmd_X },
	{ "Z", false, cmd_Zset },
	{ "z", false, cmd_zclear },
	{ "c", false, cmd_c },
	{ "C", false, cmd_C },
	{ "s", false, cmd_s },
	{ "S", false, cmd_S },
	{ "H", false, cmd_H },
	{ "T", false, cmd_T },
	{ "D", false, cmd_D },
	{ "k", true, cmd_k },
};

static void dispatch(struct gdb_stub *s, const char *pkt, size_t len)
{
	s->rlen = 0;
	for (size_t i = 0; i < sizeof(gdb_cmds) / sizeof(gdb_cmds[0]); i++) {
		const struct gdb_cmd *c = &gdb_cmds[i];
		size_t pl = strlen(c->prefix);
		if (len < pl || memcmp(pkt, c->prefix, pl) != 0)
			continue;
		if (c->exact && len != pl)
			continue;
		c->fn(s, pkt + pl, len - pl);
		if (!s->running && c->fn != cmd_noack && c->fn != cmd_k)
			finish_reply(s);
		return;
	}
	finish_reply(s);	/* empty: not supported */
}

void gdb_stub_input(struct gdb_stub *s, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len && s->end == GDB_END_NONE; i++) {
		switch (gdb_pkt_feed(&s->rx, buf[i])) {
		case GDB_PKT_PACKET:
			if (!s->noack)
				out_raw(s, "+", 1);
			if (s->running) {
				/* All-stop: nothing is asked while running. */
				break;
			}
			dispatch(s, (const char *)s->rx.buf, s->rx.len);
			break;
		case GDB_PKT_BAD:
			if (!s->noack)
				out_raw(s, "-", 1);
			break;
		case GDB_PKT_NAK:
			if (!s->noack && s->flen)
				out_raw(s, s->framed, s->flen);
			break;
		case GDB_PKT_INTERRUPT:
			if (s->running)
				(void)s->t->ops->stop(s->t);
			break;
		default:
			break;
		}
	}
}

int gdb_stub_attach(struct gdb_stub *s)
{
	struct kz_event ev = { .kind = KZ_EVENT_STOPPED };
	int rc = s->t->ops->stop ? s->t->ops->stop(s->t) : -ENOTSUP;
	if (rc && rc != -ENOTSUP)
		return rc;
	if (rc == 0 && s->t->ops->wait_event(s->t, &ev, ATTACH_WAIT_MS) != 0)
		ev = (struct kz_event){ .kind = KZ_EVENT_STOPPED };
	if (ev.kind == KZ_EVENT_STOPPED)
		ev.kind = KZ_EVENT_STEP;	/* reported as SIGTRAP, quietly */
	stop_reply(s, &ev);
	s->rlen = 0;
	if (s->end == GDB_END_EXITED)
		return -EPIPE;
	return 0;
}

bool gdb_stub_running(const struct gdb_stub *s)
{
	return s->running;
}

enum gdb_end gdb_stub_ended(const struct gdb_stub *s)
{
	return s->end;
}

void gdb_stub_drop(struct gdb_stub *s)
{
	if (s->running) {
		(void)s->t->ops->stop(s->t);
		struct kz_event ev;
		(void)s->t->ops->wait_event(s->t, &ev, ATTACH_WAIT_MS);
		s->running = false;
	}
	clear_all_bps(s);
	(void)s->t->ops->resume(s->t);
}

int gdb_stub_new(struct gdb_stub **out, struct kz_target *t,
		 const struct gdb_stub_hooks *h, void *hctx, gdb_write_fn w,
		 void *wctx)
{
	struct gdb_stub *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->t = t;
	s->hooks = h;
	s->hctx = hctx;
	s->write = w;
	s->wctx = wctx;
	gdb_pkt_init(&s->rx);
	*out = s;
	return 0;
}

void gdb_stub_free(struct gdb_stub *s)
{
	free(s);
}
