/*
 * kz_msgbuf: a copy of everything the kernel printed, for the host.
 *
 * The host debugger (and a vmcore reader) finds the symbol kz_msgbuf and
 * reads it without the guest's help, so the layout is fixed:
 *
 *	offset 0   uint32_t magic   0x626d7a6b ("kzmb" as bytes)
 *	offset 4   uint32_t size    bytes in buf[] (a power of two)
 *	offset 8   uint64_t windex  total bytes ever written; the next byte goes
 *	                            to buf[windex % size]
 *	offset 16  char buf[size]   the ring
 *
 * When windex <= size the text is buf[0 .. windex); otherwise the oldest
 * byte is buf[windex % size] and the ring is full.  Lines end in '\n' (no
 * '\r': the UART adds those).  Writers hold the console lock (printf.c).
 */
#include "kzguest.h"

#define KZ_MSGBUF_MAGIC	0x626d7a6bU	/* "kzmb" */
#define KZ_MSGBUF_SIZE	16384

struct kz_msgbuf {
	uint32_t magic;
	uint32_t size;
	volatile uint64_t windex;
	char buf[KZ_MSGBUF_SIZE];
};

/* In .data (initialised) so the header is valid before any code runs. */
struct kz_msgbuf kz_msgbuf = {
	.magic = KZ_MSGBUF_MAGIC,
	.size = KZ_MSGBUF_SIZE,
};

void kz_msgbuf_putc(char c)
{
	kz_msgbuf.buf[kz_msgbuf.windex & (KZ_MSGBUF_SIZE - 1)] = c;
	kz_msgbuf.windex++;
}
