/*
 * The gdbstub packet layer with no VM: framing and checksums, acks,
 * interrupts, escapes, restarts, oversized and malformed packets, and
 * run-length encoded replies decoded the way gdb decodes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pkt.h"

static struct gdb_pkt rx;

/* Feed a string; return the event of its last byte, counting packets. */
static enum gdb_pkt_event feed(const char *s, size_t n, int *packets)
{
	enum gdb_pkt_event ev = GDB_PKT_NONE;
	for (size_t i = 0; i < n; i++) {
		ev = gdb_pkt_feed(&rx, (uint8_t)s[i]);
		if (ev == GDB_PKT_PACKET && packets)
			(*packets)++;
	}
	return ev;
}

#define FEED(s) feed((s), sizeof(s) - 1, NULL)

static void test_simple_packet(void **st)
{
	(void)st;
	gdb_pkt_init(&rx);
	assert_int_equal(FEED("$g#67"), GDB_PKT_PACKET);
	assert_int_equal(rx.len, 1);
	assert_string_equal((char *)rx.buf, "g");
	assert_int_equal(FEED("$qSupported:multiprocess+#c6"), GDB_PKT_PACKET);
	assert_string_equal((char *)rx.buf, "qSupported:multiprocess+");
	/* Upper-case checksum digits are fine too. */
	assert_int_equal(FEED("$?#3F"), GDB_PKT_PACKET);
	/* An empty packet is a packet. */
	assert_int_equal(FEED("$#00"), GDB_PKT_PACKET);
	assert_int_equal(rx.len, 0);
}

static void test_bad_checksum(void **st)
{
	(void)st;
	gdb_pkt_init(&rx);
	assert_int_equal(FEED("$g#68"), GDB_PKT_BAD);
	assert_int_equal(FEED("$g#6z"), GDB_PKT_BAD);
	assert_int_equal(FEED("$g#z"), GDB_PKT_BAD);
	/* And the next good packet still gets through. */
	assert_int_equal(FEED("$g#67"), GDB_PKT_PACKET);
}

static void test_acks_and_interrupt(void **st)
{
	(void)st;
	gdb_pkt_init(&rx);
	assert_int_equal(gdb_pkt_feed(&rx, '+'), GDB_PKT_ACK);
	assert_int_equal(gdb_pkt_feed(&rx, '-'), GDB_PKT_NAK);
	assert_int_equal(gdb_pkt_feed(&rx, 0x03), GDB_PKT_INTERRUPT);
	assert_int_equal(gdb_pkt_feed(&rx, 'x'), GDB_PKT_NONE);
	assert_int_equal(gdb_pkt_feed(&rx, '\n'), GDB_PKT_NONE);
	/* 0x03 inside a packet is data, not an interrupt. */
	char p[] = "$a\x03#00";
	p[4] = "0123456789abcdef"[(('a' + 3) & 0xff) >> 4];
	p[5] = "0123456789abcdef"[('a' + 3) & 15];
	assert_int_equal(feed(p, 6, NULL), GDB_PKT_PACKET);
	assert_int_equal(rx.len, 2);
	assert_int_equal(rx.buf[1], 3);
}

static void test_escapes(void **st)
{
	(void)st;
	uint8_t raw[] = { 'X', 0x23, 0x24, 0x7d, 0x2a, 0x00, 0xff };
	uint8_t esc[32], framed[64];
	size_t used;
	size_t n = gdb_bin_escape(raw, sizeof(raw), esc, sizeof(esc), &used);
	assert_int_equal(used, sizeof(raw));
	assert_int_equal(n, sizeof(raw) + 4);
	size_t f = gdb_pkt_frame(esc, n, false, framed, sizeof(framed));
	assert_true(f > 0);
	gdb_pkt_init(&rx);
	assert_int_equal(feed((char *)framed, f, NULL), GDB_PKT_PACKET);
	assert_int_equal(rx.len, sizeof(raw));
	assert_memory_equal(rx.buf, raw, sizeof(raw));
	/* Escape into a buffer too small: stops before a split pair. */
	n = gdb_bin_escape(raw, sizeof(raw), esc, 2, &used);
	assert_int_equal(n, 1);
	assert_int_equal(used, 1);
}

static void test_restart(void **st)
{
	(void)st;
	int packets = 0;
	gdb_pkt_init(&rx);
	/* A '$' mid-packet starts over; the half packet is forgotten. */
	assert_int_equal(feed("$mfoo$g#67", 10, &packets), GDB_PKT_PACKET);
	assert_int_equal(packets, 1);
	assert_string_equal((char *)rx.buf, "g");
}

static void test_oversize(void **st)
{
	(void)st;
	gdb_pkt_init(&rx);
	enum gdb_pkt_event ev = gdb_pkt_feed(&rx, '$');
	uint8_t sum = 0;
	for (size_t i = 0; i < GDB_PKT_MAX + 10; i++) {
		ev = gdb_pkt_feed(&rx, 'a');
		sum += 'a';
		assert_int_equal(ev, GDB_PKT_NONE);
	}
	gdb_pkt_feed(&rx, '#');
	gdb_pkt_feed(&rx, "0123456789abcdef"[sum >> 4]);
	ev = gdb_pkt_feed(&rx, "0123456789abcdef"[sum & 15]);
	assert_int_equal(ev, GDB_PKT_BAD);
	/* Exactly GDB_PKT_MAX is fine. */
	gdb_pkt_feed(&rx, '$');
	sum = 0;
	for (size_t i = 0; i < GDB_PKT_MAX; i++) {
		gdb_pkt_feed(&rx, 'b');
		sum += 'b';
	}
	gdb_pkt_feed(&rx, '#');
	gdb_pkt_feed(&rx, "0123456789abcdef"[sum >> 4]);
	ev = gdb_pkt_feed(&rx, "0123456789abcdef"[sum & 15]);
	assert_int_equal(ev, GDB_PKT_PACKET);
	assert_int_equal(rx.len, GDB_PKT_MAX);
}

/* Undo run-length encoding as gdb does (payload between $ and #). */
static size_t unrle(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '*') {
			assert_true(o > 0 && i + 1 < n);
			int cnt = in[++i] - 29;
			assert_true(cnt >= 3 && in[i] != '#' && in[i] != '$');
			for (int k = 0; k < cnt; k++, o++)
				out[o] = out[o - 1];
		} else {
			out[o++] = in[i];
		}
	}
	return o;
}

static void test_rle(void **st)
{
	(void)st;
	static uint8_t payload[4096], framed[8192], back[8192];
	/* Runs of every length 1..120, including the awkward 7 and 8. */
	size_t n = 0;
	for (int run = 1; run <= 120 && n + run < sizeof(payload); run++)
		for (int k = 0; k < run; k++)
			payload[n++] = (uint8_t)('0' + run % 10);
	size_t f = gdb_pkt_frame(payload, n, true, framed, sizeof(framed));
	assert_true(f > 0 && f < n);
	assert_int_equal(framed[0], '$');
	assert_int_equal(framed[f - 3], '#');
	uint8_t sum = 0;
	for (size_t i = 1; i < f - 3; i++) {
		sum += framed[i];
		assert_true(framed[i] != '#' && framed[i] != '$');
	}
	char cs[3];
	snprintf(cs, sizeof(cs), "%02x", sum);
	assert_memory_equal(framed + f - 2, cs, 2);
	size_t m = unrle(framed + 1, f - 4, back);
	assert_int_equal(m, n);
	assert_memory_equal(back, payload, n);
	/* Too small an output buffer: 0, never an overrun. */
	assert_int_equal(gdb_pkt_frame(payload, n, false, framed, 10), 0);
}

static void test_hex(void **st)
{
	(void)st;
	uint8_t b[4];
	char h[9];
	const char *s = "1f2e,rest";
	uint64_t v;
	assert_int_equal(gdb_hex_decode("00ff7A", 6, b, sizeof(b)), 3);
	assert_int_equal(b[2], 0x7a);
	assert_int_equal(gdb_hex_decode("0g", 2, b, sizeof(b)), -1);
	assert_int_equal(gdb_hex_decode("123", 3, b, sizeof(b)), -1);
	assert_int_equal(gdb_hex_decode("0011223344", 10, b, sizeof(b)), -1);
	gdb_hex_encode((const uint8_t *)"\x01\xab", 2, h);
	assert_string_equal(h, "01ab");
	assert_int_equal(gdb_hex_u64(&s, &v), 0);
	assert_int_equal(v, 0x1f2e);
	assert_int_equal(*s, ',');
	s = "ffffffffffffffff";
	assert_int_equal(gdb_hex_u64(&s, &v), 0);
	assert_true(v == UINT64_MAX);
	s = "10000000000000000";
	assert_int_equal(gdb_hex_u64(&s, &v), -1);
	s = ",";
	assert_int_equal(gdb_hex_u64(&s, &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_packet),
		cmocka_unit_test(test_bad_checksum),
		cmocka_unit_test(test_acks_and_interrupt),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_rle),
		cmocka_unit_test(test_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
