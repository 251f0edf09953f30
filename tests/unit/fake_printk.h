/*
 * A Linux 6.1-layout printk ringbuffer holding one finalized record, built
 * into a test's fake guest memory: the ring at p (guest-virtual va), its
 * descriptors, infos and 256-byte text ring in the same 4 KiB
 * (debug/printk.c has the layout).
 */
#ifndef KZ_TESTS_FAKE_PRINTK_H
#define KZ_TESTS_FAKE_PRINTK_H

#include <stdint.h>
#include <string.h>

static void fake_printk_put(uint8_t *p, uint64_t off, uint64_t v)
{
	memcpy(p + off, &v, 8);
}

static void fake_printk_ring(uint8_t *p, uint64_t va, const char *text,
			     uint64_t ts_nsec)
{
	uint16_t len = (uint16_t)strlen(text);
	memset(p, 0, 0x1000);
	fake_printk_put(p, 0, 1);		/* count_bits */
	fake_printk_put(p, 8, va + 0x100);	/* descs */
	fake_printk_put(p, 16, va + 0x200);	/* infos */
	fake_printk_put(p, 48, 8);		/* text ring: 256 bytes */
	fake_printk_put(p, 56, va + 0x400);
	fake_printk_put(p, 0x100, 2ULL << 62);	/* id 0, finalized */
	fake_printk_put(p, 0x110, 0x80);	/* text block [0, 0x80) */
	fake_printk_put(p, 0x208, ts_nsec);
	memcpy(p + 0x210, &len, 2);
	memcpy(p + 0x408, text, len);		/* after the block's id */
}

#endif
