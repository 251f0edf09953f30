/*
 * Linux's kernel log (the lockless printk ringbuffer of Linux 5.10 and
 * later), read from outside the guest: ::msgbuf for Linux zones, and the
 * panic string of a Linux crash dump.  debug/printk.c says how.
 */
#ifndef KZ_DEBUG_PRINTK_H
#define KZ_DEBUG_PRINTK_H

#include <stddef.h>
#include <stdint.h>

/* Guest-virtual read: 0, or -errno (unmapped, outside RAM). */
typedef int (*kz_vread_fn)(void *ctx, uint64_t va, void *buf, size_t len);

/* One record, oldest first; text without its newline, at most
 * KZ_PRINTK_LINE_MAX bytes of it. */
typedef void (*kz_printk_fn)(void *ctx, uint64_t seq, uint64_t ts_nsec,
			     const char *text, size_t len);

#define KZ_PRINTK_LINE_MAX 1024

/*
 * Every readable record of the ringbuffer at rb (the address of
 * printk_rb_static, or what the pointer `prb` holds), through rd.
 * Never allocates (savecore calls it in a forked child).  Returns the
 * number of records given to emit, or -EINVAL with err saying what does
 * not look like a ringbuffer, or -errno of a read.
 */
int kz_printk_read(kz_vread_fn rd, void *rctx, uint64_t rb, kz_printk_fn emit,
		   void *ectx, char *err, size_t errlen);

/*
 * The text after the last "Kernel panic - not syncing: " in the log,
 * into out (empty when there is none).  0, or what kz_printk_read says.
 */
int kz_printk_panic(kz_vread_fn rd, void *rctx, uint64_t rb, char *out,
		    size_t outlen);

#endif
