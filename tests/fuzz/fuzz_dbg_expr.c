/*
 * libFuzzer target for the debugger's command language: arbitrary bytes
 * as one input line to dbg_exec over a small fake target (64 KiB of
 * "physical memory", identity paging off, no run control), so the
 * expression parser, formats, writes, pipelines and dcmd argument
 * parsing all see them.  Also checks dbg_expr_eval's contract: an error
 * is one line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dbg.h"
#include "target.h"

#define RAM (64u << 10)
static uint8_t ram[RAM];
#include "../unit/fake_ram.h"

static int f_regs(struct kz_target *t, unsigned cpu, struct kz_regs *r)
{
	(void)t;
	if (cpu)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->rip = 0x100;
	r->rbp = 0x800;
	return 0;
}

static unsigned f_ncpus(struct kz_target *t)
{
	(void)t;
	return 1;
}

static const struct kz_target_ops ops = {
	.name = "fuzz", .ncpus = f_ncpus, .get_regs = f_regs,
	.read_phys = fake_ram_read, .write_phys = fake_ram_write,
};
static struct kz_target tgt = { .ops = &ops };

static void sink(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dbg *d;
	char err[256], line[512];
	if (!d) {
		const struct dbg_opts o = { .target = &tgt, .out = sink,
					    .name = "fuzz", .postmortem = true };
		if (dbg_create(&d, &o, err, sizeof(err)))
			abort();
	}
	if (size >= sizeof(line))
		size = sizeof(line) - 1;
	memcpy(line, data, size);
	line[size] = 0;
	uint64_t v;
	err[0] = 0;
	if (dbg_expr_eval(d, line, &v, err, sizeof(err)) &&
	    (!err[0] || strchr(err, '\n')))
		abort();
	(void)dbg_exec(d, line);
	return 0;
}
