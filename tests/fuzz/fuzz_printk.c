/*
 * libFuzzer target for the Linux printk ringbuffer reader
 * (debug/printk.c): the bytes are guest memory at 0xffffffff82000000,
 * the ringbuffer at its start.  Every record the reader finds must fit
 * its line limit; errors must come with a message; the panic scan must
 * terminate its string.
 *
 *   make build/fuzz/fuzz_printk && build/fuzz/fuzz_printk tests/fuzz/corpus/printk
 *
 * The seed is a 6.1-layout ring with a few records (test_printk's shape).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "printk.h"

#define BASE 0xffffffff82000000ULL

struct mem {
	const uint8_t *p;
	size_t len;
};

static int vread(void *ctx, uint64_t va, void *buf, size_t len)
{
	const struct mem *m = ctx;
	if (va < BASE || va - BASE > m->len || len > m->len - (va - BASE))
		return -EFAULT;
	memcpy(buf, m->p + (va - BASE), len);
	return 0;
}

static void emit(void *ctx, uint64_t seq, uint64_t ts, const char *text,
		 size_t len)
{
	(void)ctx;
	(void)seq;
	(void)ts;
	if (len > KZ_PRINTK_LINE_MAX)
		abort();
	volatile char sink = 0;
	for (size_t i = 0; i < len; i++)
		sink ^= text[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	struct mem m = { copy, size };
	char err[192] = "", msg[64];
	int n = kz_printk_read(vread, &m, BASE, emit, NULL, err, sizeof(err));
	if (n < 0 && !err[0])
		abort();
	if (kz_printk_panic(vread, &m, BASE, msg, sizeof(msg)) == 0 &&
	    strlen(msg) >= sizeof(msg))
		abort();
	free(copy);
	return 0;
}
