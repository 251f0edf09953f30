/*
 * The console ring: the last `size` bytes the guest printed, addressed by
 * absolute stream position (bytes written since the ring was made), so
 * each reader keeps its own position and learns exactly how much it
 * missed when the writer laps it.  Not locked: the console server holds
 * its own lock around it.
 */
#ifndef KZ_CONSOLE_CON_RING_H
#define KZ_CONSOLE_CON_RING_H

#include <stddef.h>
#include <stdint.h>

#define CON_RING_MIN 4096
#define CON_RING_DEFAULT (1u << 20)

struct con_ring {
	uint8_t *buf;
	size_t size;
	uint64_t head;		/* position of the next byte written */
};

int con_ring_init(struct con_ring *r, size_t size)
	__attribute__((warn_unused_result));
void con_ring_free(struct con_ring *r);

/* Append; the oldest bytes go when the ring is full.  Never fails. */
void con_ring_write(struct con_ring *r, const void *buf, size_t len);

/* Position of the oldest byte still held. */
uint64_t con_ring_tail(const struct con_ring *r);

/*
 * Copy up to len bytes starting at position pos (tail <= pos <= head)
 * into buf; returns how many.  A pos outside that range copies nothing.
 */
size_t con_ring_read(const struct con_ring *r, uint64_t pos, void *buf,
		     size_t len);

/*
 * Position where the last n lines held begin (an unfinished last line
 * counts as one); head for n == 0, tail when fewer lines are held.
 */
uint64_t con_ring_last_lines(const struct con_ring *r, unsigned n);

/* The same over a plain buffer: offset where its last n lines begin. */
size_t con_last_lines(const uint8_t *buf, size_t len, unsigned n);

#endif
