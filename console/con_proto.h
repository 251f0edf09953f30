/*
 * The console protocol on ROOT/run/ZONE/console.sock (a Unix stream
 * socket, mode 0600), between kzhost's console server and zlogin.
 *
 * Everything travels in frames:
 *
 *	+------+-----------+----------------------------+
 *	| type | length    | payload (length bytes)     |
 *	| u8   | u16, BE   | at most CON_PAYLOAD_MAX    |
 *	+------+-----------+----------------------------+
 *
 * The reader checks the type against the direction it expects and the
 * length against the type before it looks at a payload; anything else
 * is a protocol error and the connection is closed.
 *
 * Client to server:
 *   HELLO   (first frame, exactly once)  "KZC1", u8 flags, u32 BE replay
 *           lines, then 0..CON_NAME_MAX bytes naming the client (printable
 *           ASCII, e.g. "zlogin[1234]").  Flags: FORCE takes the console
 *           from its holder; WATCH asks never to hold it.
 *   INPUT   bytes for the guest; ignored (and answered with a NOTICE once)
 *           unless this client holds the console.
 *   BREAK   empty: send a break to the guest (the holder only).
 *
 * Server to client:
 *   ROLE    u8 role (CON_ROLE_RW holds the console, CON_ROLE_RO watches),
 *           then a printable text saying why.  Sent after HELLO and
 *           whenever the client's role changes.
 *   STATE   "STATE[ AUX[,AUX]]" printable text: the zone's state, sent
 *           after HELLO and whenever it changes.
 *   DATA    console output, in order.  After HELLO the server first sends
 *           the last `replay` lines kept in its ring.
 *   SKIPPED u64 BE: this many bytes of output went by while the client
 *           was not reading; the DATA that follows comes after them.
 *   NOTICE  printable text from the server for this client only (e.g.
 *           the answer to a break).
 *
 * Host messages about the zone ("[kzhost: zone 'web' halted]") are in the
 * DATA stream itself, so they are in the log and the ring in order.
 */
#ifndef KZ_CONSOLE_PROTO_H
#define KZ_CONSOLE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CON_MAGIC "KZC1"
#define CON_HDR_LEN 3
#define CON_PAYLOAD_MAX 4096
#define CON_FRAME_MAX (CON_HDR_LEN + CON_PAYLOAD_MAX)
#define CON_NAME_MAX 64
#define CON_TEXT_MAX 512	/* ROLE, STATE and NOTICE texts */

enum con_frame_type {
	CON_HELLO = 0x01,
	CON_INPUT = 0x02,
	CON_BREAK = 0x03,

	CON_DATA = 0x10,
	CON_STATE = 0x11,
	CON_ROLE = 0x12,
	CON_SKIPPED = 0x13,
	CON_NOTICE = 0x14,
};

#define CON_HELLO_FORCE 0x01
#define CON_HELLO_WATCH 0x02
#define CON_HELLO_FLAGS (CON_HELLO_FORCE | CON_HELLO_WATCH)

enum con_role { CON_ROLE_RW = 0, CON_ROLE_RO = 1 };

/* Which side a parser reads for: the server reads client frames. */
enum con_side { CON_SIDE_SERVER, CON_SIDE_CLIENT };

struct con_hello {
	uint8_t flags;
	uint32_t replay;
	char name[CON_NAME_MAX + 1];
};

/* One frame as the parser hands it over; payload valid during the call. */
struct con_frame {
	uint8_t type;
	uint16_t len;
	const uint8_t *payload;
};

typedef int (*con_frame_fn)(void *ctx, const struct con_frame *f);

/* A byte-at-a-time frame reader: feed it whatever read() returned. */
struct con_parser {
	enum con_side side;
	uint8_t hdr[CON_HDR_LEN];
	size_t have;		/* bytes of the current frame so far */
	uint8_t type;
	uint16_t len;
	bool failed;
	char err[128];
	uint8_t payload[CON_PAYLOAD_MAX];
};

void con_parser_init(struct con_parser *p, enum con_side side);

/*
 * Parse n bytes, calling fn for each complete, checked frame.  Returns 0,
 * the first non-zero value fn returned, or -EPROTO (p->err says why; the
 * parser then refuses everything).  Frame payloads are checked here:
 * lengths for each type and text content, so fn can trust them.
 */
int con_parser_feed(struct con_parser *p, const uint8_t *buf, size_t n,
		    con_frame_fn fn, void *ctx);

/*
 * Encode one frame into out (at least CON_HDR_LEN + len bytes).  Returns
 * the frame's length, or 0 when len is over CON_PAYLOAD_MAX or out is
 * too small.
 */
size_t con_frame_put(uint8_t *out, size_t outlen, uint8_t type,
		     const void *payload, size_t len);

/* HELLO payload to and from struct con_hello. */
size_t con_hello_encode(uint8_t *out, size_t outlen, const struct con_hello *h);
int con_hello_decode(const uint8_t *p, size_t len, struct con_hello *h);

/* Printable ASCII only (what texts and names may hold). */
bool con_text_ok(const uint8_t *p, size_t len);

/* A frame type's name, for messages ("HELLO", "type 0x7f"). */
const char *con_frame_name(uint8_t type, char *buf, size_t len);

static inline void con_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline uint64_t con_get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

#endif
