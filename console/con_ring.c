/*
 * Console ring buffer (see con_ring.h).  Positions are 64-bit stream
 * offsets; the byte at position p lives at buf[p % size].
 */
#include "con_ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int con_ring_init(struct con_ring *r, size_t size)
{
	if (size < CON_RING_MIN)
		return -EINVAL;
	r->buf = malloc(size);
	if (!r->buf)
		return -ENOMEM;
	r->size = size;
	r->head = 0;
	return 0;
}

void con_ring_free(struct con_ring *r)
{
	free(r->buf);
	r->buf = NULL;
}

uint64_t con_ring_tail(const struct con_ring *r)
{
	return r->head > r->size ? r->head - r->size : 0;
}

void con_ring_write(struct con_ring *r, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	if (len > r->size) {	/* only the end of it can be kept */
		r->head += len - r->size;
		p += len - r->size;
		len = r->size;
	}
	while (len) {
		size_t off = (size_t)(r->head % r->size);
		size_t n = r->size - off;
		if (n > len)
			n = len;
		memcpy(r->buf + off, p, n);
		r->head += n;
		p += n;
		len -= n;
	}
}

size_t con_ring_read(const struct con_ring *r, uint64_t pos, void *buf,
		     size_t len)
{
	uint8_t *out = buf;
	size_t done = 0;
	if (pos < con_ring_tail(r) || pos > r->head)
		return 0;
	if (len > r->head - pos)
		len = (size_t)(r->head - pos);
	while (done < len) {
		size_t off = (size_t)((pos + done) % r->size);
		size_t n = r->size - off;
		if (n > len - done)
			n = len - done;
		memcpy(out + done, r->buf + off, n);
		done += n;
	}
	return done;
}

uint64_t con_ring_last_lines(const struct con_ring *r, unsigned n)
{
	uint64_t tail = con_ring_tail(r);
	unsigned seen = 0;
	if (n == 0)
		return r->head;
	for (uint64_t p = r->head; p > tail; p--) {
		/* A newline ends the line before it; the last byte's does not
		 * start a new one. */
		if (r->buf[(p - 1) % r->size] == '\n' && p != r->head &&
		    ++seen == n)
			return p;
	}
	return tail;
}

size_t con_last_lines(const uint8_t *buf, size_t len, unsigned n)
{
	unsigned seen = 0;
	if (n == 0)
		return len;
	for (size_t p = len; p > 0; p--)
		if (buf[p - 1] == '\n' && p != len && ++seen == n)
			return p;
	return 0;
}
