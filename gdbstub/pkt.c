/*
 * GDB remote protocol framing: a receive state machine that turns a byte
 * stream into packets, and the framing of replies.
 *
 * Owns: "$payload#cs" framing, checksums, '}' escapes (undone for every
 * received packet: gdb escapes only binary data, and text packets never
 * hold a raw '}'), run-length shortening of replies, the 0x03 interrupt
 * byte and '+'/'-' acknowledgements as events.  Never does I/O, never
 * allocates, never sees the machine: every byte is untrusted, so each one
 * either advances the state machine or is dropped, and a packet longer
 * than GDB_PKT_MAX is reported as bad (NAKed) instead of being cut.
 *
 * Called by: cmd.c.  Fuzzed by tests/fuzz/fuzz_gdbpkt.c.
 */
#include "pkt.h"

#include <string.h>

void gdb_pkt_init(struct gdb_pkt *p)
{
	p->state = GDB_RX_IDLE;
	p->overflow = false;
	p->sum = 0;
	p->want = 0;
	p->len = 0;
	p->buf[0] = 0;
}

int gdb_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put_byte(struct gdb_pkt *p, uint8_t c)
{
	if (p->len < GDB_PKT_MAX)
		p->buf[p->len++] = c;
	else
		p->overflow = true;
}

static void start(struct gdb_pkt *p)
{
	p->state = GDB_RX_DATA;
	p->overflow = false;
	p->sum = 0;
	p->len = 0;
}

enum gdb_pkt_event gdb_pkt_feed(struct gdb_pkt *p, uint8_t c)
{
	int d;

	switch (p->state) {
	case GDB_RX_IDLE:
		switch (c) {
		case '$': start(p); return GDB_PKT_NONE;
		case '+': return GDB_PKT_ACK;
		case '-': return GDB_PKT_NAK;
		case 0x03: return GDB_PKT_INTERRUPT;
		default: return GDB_PKT_NONE;	/* line noise */
		}
	case GDB_RX_DATA:
		if (c == '$') {		/* the sender gave up and began again */
			start(p);
			return GDB_PKT_NONE;
		}
		if (c == '#') {
			p->state = GDB_RX_SUM1;
			return GDB_PKT_NONE;
		}
		p->sum += c;
		if (c == '}')
			p->state = GDB_RX_ESC;
		else
			put_byte(p, c);
		return GDB_PKT_NONE;
	case GDB_RX_ESC:
		/* Any byte, even '#' or '$', is data after an escape. */
		p->sum += c;
		put_byte(p, c ^ 0x20);
		p->state = GDB_RX_DATA;
		return GDB_PKT_NONE;
	case GDB_RX_SUM1:
		d = gdb_hex_digit(c);
		p->want = (uint8_t)((d < 0 ? 0 : d) << 4);
		p->state = d < 0 ? GDB_RX_IDLE : GDB_RX_SUM2;
		return d < 0 ? GDB_PKT_BAD : GDB_PKT_NONE;
	case GDB_RX_SUM2:
		d = gdb_hex_digit(c);
		p->state = GDB_RX_IDLE;
		if (d < 0 || (uint8_t)(p->want | d) != p->sum || p->overflow) {
			p->len = 0;
			p->buf[0] = 0;
			return GDB_PKT_BAD;
		}
		p->buf[p->len] = 0;
		return GDB_PKT_PACKET;
	}
	p->state = GDB_RX_IDLE;
	return GDB_PKT_NONE;
}

static const char hexdigits[] = "0123456789abcdef";

size_t gdb_pkt_frame(const uint8_t *payload, size_t len, bool rle,
		     uint8_t *out, size_t outlen)
{
	size_t o = 0;
	uint8_t sum = 0;

	if (outlen < 4)
		return 0;
	out[o++] = '$';
	for (size_t i = 0; i < len;) {
		uint8_t c = payload[i];
		size_t run = 1;
		while (rle && i + run < len && payload[i + run] == c && run < 98)
			run++;
		/*
		 * "c*N" stands for c and N-29 more copies.  Runs of 7 and 8
		 * would need '#' or '$' as the count: send one byte fewer.
		 */
		if (run >= 4) {
			if (run == 7 || run == 8)
				run = 6;
			if (o + 3 > outlen - 3)
				return 0;
			uint8_t n = (uint8_t)(run - 1 + 29);
			out[o++] = c;
			out[o++] = '*';
			out[o++] = n;
			sum += c + '*' + n;
			i += run;
			continue;
		}
		if (o + 1 > outlen - 3)
			return 0;
		out[o++] = c;
		sum += c;
		i++;
	}
	out[o++] = '#';
	out[o++] = hexdigits[sum >> 4];
	out[o++] = hexdigits[sum & 15];
	return o;
}

size_t gdb_bin_escape(const uint8_t *in, size_t len, uint8_t *out,
		      size_t outlen, size_t *consumed)
{
	size_t o = 0, i;
	for (i = 0; i < len; i++) {
		uint8_t c = in[i];
		bool esc = c == '#' || c == '$' || c == '}' || c == '*';
		if (o + 1 + esc > outlen)
			break;
		if (esc) {
			out[o++] = '}';
			c ^= 0x20;
		}
		out[o++] = c;
	}
	if (consumed)
		*consumed = i;
	return o;
}

void gdb_hex_encode(const uint8_t *in, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hexdigits[in[i] >> 4];
		out[2 * i + 1] = hexdigits[in[i] & 15];
	}
	out[2 * len] = 0;
}

long gdb_hex_decode(const char *in, size_t hexlen, uint8_t *out, size_t outlen)
{
	if (hexlen % 2 || hexlen / 2 > outlen)
		return -1;
	for (size_t i = 0; i < hexlen / 2; i++) {
		int hi = gdb_hex_digit((unsigned char)in[2 * i]);
		int lo = gdb_hex_digit((unsigned char)in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(hexlen / 2);
}

int gdb_hex_u64(const char **s, uint64_t *v)
{
	const char *p = *s;
	uint64_t x = 0;
	int n = 0, d;
	while ((d = gdb_hex_digit((unsigned char)*p)) >= 0) {
		if (++n > 16)
			return -1;
		x = x << 4 | (uint64_t)d;
		p++;
	}
	if (n == 0)
		return -1;
	*s = p;
	*v = x;
	return 0;
}
