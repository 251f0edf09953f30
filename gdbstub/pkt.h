/*
 * The GDB remote serial protocol's packet layer: bytes in, packets out,
 * and packets back into bytes.  Knows nothing of commands or of the
 * machine; cmd.c is the only user and tests/unit/test_gdbpkt.c drives it
 * with no VM at all.
 */
#ifndef KZ_GDBSTUB_PKT_H
#define KZ_GDBSTUB_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest packet payload accepted and advertised (qSupported PacketSize). */
#define GDB_PKT_MAX	(64 * 1024)

enum gdb_pkt_event {
	GDB_PKT_NONE,		/* byte taken, nothing complete yet */
	GDB_PKT_PACKET,		/* a whole packet, unescaped, in buf/len */
	GDB_PKT_BAD,		/* checksum wrong or packet too long: NAK it */
	GDB_PKT_INTERRUPT,	/* 0x03 outside a packet */
	GDB_PKT_ACK,		/* '+' */
	GDB_PKT_NAK,		/* '-': resend the last reply */
};

struct gdb_pkt {
	enum { GDB_RX_IDLE, GDB_RX_DATA, GDB_RX_ESC, GDB_RX_SUM1,
	       GDB_RX_SUM2 } state;
	bool overflow;		/* the packet outgrew buf: answered with BAD */
	uint8_t sum;		/* running checksum of the raw bytes */
	uint8_t want;		/* checksum the sender wrote */
	size_t len;
	uint8_t buf[GDB_PKT_MAX + 1];	/* + NUL, so text commands can parse */
};

void gdb_pkt_init(struct gdb_pkt *p);

/*
 * Feed one received byte.  On GDB_PKT_PACKET the payload is p->buf[0..len)
 * (NUL-terminated after it), with '}' escapes undone; it stays valid until
 * the next call.  The caller acknowledges (unless in no-ack mode).
 * Noise between packets (anything but '$', '+', '-', 0x03) is ignored.
 */
enum gdb_pkt_event gdb_pkt_feed(struct gdb_pkt *p, uint8_t c);

/*
 * Frame payload as "$...#cs" into out (outlen bytes).  With rle, runs of
 * four or more equal bytes are shortened the way the protocol allows.
 * Returns the framed length, or 0 if out is too small.  The payload is
 * sent as is: binary payloads must be escaped first (gdb_bin_escape).
 */
size_t gdb_pkt_frame(const uint8_t *payload, size_t len, bool rle,
		     uint8_t *out, size_t outlen);
/* Room gdb_pkt_frame may need for a payload of len bytes. */
#define GDB_PKT_FRAMED(len) ((len) + 4)

/* Escape '#', '$', '}' and '*' for a binary reply; 0 if out is too small. */
size_t gdb_bin_escape(const uint8_t *in, size_t len, uint8_t *out,
		      size_t outlen, size_t *consumed);

/* Hex helpers.  gdb_hex_decode returns bytes decoded or -1 on a bad digit. */
int gdb_hex_digit(int c);
void gdb_hex_encode(const uint8_t *in, size_t len, char *out);
long gdb_hex_decode(const char *in, size_t hexlen, uint8_t *out, size_t outlen);
/*
 * Parse a hex number at *s (at most 16 digits), advancing *s past it.
 * -1 when there is no digit or too many.
 */
int gdb_hex_u64(const char **s, uint64_t *v);

#endif
