/*
 * Console protocol framing (see con_proto.h for the wire format).  Knows
 * bytes and frames only: no sockets, no zone, no VM.  Both ends read
 * untrusted bytes through con_parser_feed, which is fuzzed
 * (tests/fuzz/fuzz_con_proto.c).
 */
#include "con_proto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void con_parser_init(struct con_parser *p, enum con_side side)
{
	memset(p, 0, offsetof(struct con_parser, payload));
	p->side = side;
}

bool con_text_ok(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return false;
	return true;
}

const char *con_frame_name(uint8_t type, char *buf, size_t len)
{
	switch (type) {
	case CON_HELLO: return "HELLO";
	case CON_INPUT: return "INPUT";
	case CON_BREAK: return "BREAK";
	case CON_DATA: return "DATA";
	case CON_STATE: return "STATE";
	case CON_ROLE: return "ROLE";
	case CON_SKIPPED: return "SKIPPED";
	case CON_NOTICE: return "NOTICE";
	}
	snprintf(buf, len, "type 0x%02x", type);
	return buf;
}

int con_hello_decode(const uint8_t *p, size_t len, struct con_hello *h)
{
	if (len < 9 || len > 9 + CON_NAME_MAX || memcmp(p, CON_MAGIC, 4))
		return -EPROTO;
	if (p[4] & ~CON_HELLO_FLAGS)
		return -EPROTO;
	if (!con_text_ok(p + 9, len - 9))
		return -EPROTO;
	h->flags = p[4];
	h->replay = (uint32_t)p[5] << 24 | (uint32_t)p[6] << 16 |
		    (uint32_t)p[7] << 8 | p[8];
	memcpy(h->name, p + 9, len - 9);
	h->name[len - 9] = 0;
	return 0;
}

size_t con_hello_encode(uint8_t *out, size_t outlen, const struct con_hello *h)
{
	size_t nlen = strnlen(h->name, CON_NAME_MAX);
	if (outlen < 9 + nlen)
		return 0;
	memcpy(out, CON_MAGIC, 4);
	out[4] = h->flags & CON_HELLO_FLAGS;
	out[5] = (uint8_t)(h->replay >> 24);
	out[6] = (uint8_t)(h->replay >> 16);
	out[7] = (uint8_t)(h->replay >> 8);
	out[8] = (uint8_t)h->replay;
	memcpy(out + 9, h->name, nlen);
	for (size_t i = 0; i < nlen; i++)
		if (out[9 + i] < 0x20 || out[9 + i] > 0x7e)
			out[9 + i] = '?';
	return 9 + nlen;
}

size_t con_frame_put(uint8_t *out, size_t outlen, uint8_t type,
		     const void *payload, size_t len)
{
	if (len > CON_PAYLOAD_MAX || outlen < CON_HDR_LEN + len)
		return 0;
	out[0] = type;
	out[1] = (uint8_t)(len >> 8);
	out[2] = (uint8_t)len;
	if (len)
		memcpy(out + CON_HDR_LEN, payload, len);
	return CON_HDR_LEN + len;
}

/* Length limits of each type this side may receive; false if not ours. */
static bool type_limits(enum con_side side, uint8_t type, size_t *min,
			size_t *max)
{
	*min = 0;
	*max = CON_PAYLOAD_MAX;
	if (side == CON_SIDE_SERVER) {
		switch (type) {
		case CON_HELLO: *min = 9; *max = 9 + CON_NAME_MAX; return true;
		case CON_INPUT: *min = 1; return true;
		case CON_BREAK: *max = 0; return true;
		}
		return false;
	}
	switch (type) {
	case CON_DATA: *min = 1; return true;
	case CON_STATE: *min = 1; *max = CON_TEXT_MAX; return true;
	case CON_ROLE: *min = 1; *max = 1 + CON_TEXT_MAX; return true;
	case CON_SKIPPED: *min = *max = 8; return true;
	case CON_NOTICE: *min = 1; *max = CON_TEXT_MAX; return true;
	}
	return false;
}

static int fail(struct con_parser *p, const char *fmt, unsigned a,
		unsigned b)
{
	char name[16];
	p->failed = true;
	snprintf(p->err, sizeof(p->err), fmt,
		 con_frame_name((uint8_t)a, name, sizeof(name)), b);
	return -EPROTO;
}

/* The whole frame is in; check its content before anyone sees it. */
static int check_payload(struct con_parser *p)
{
	const uint8_t *pl = p->payload;
	struct con_hello h;
	switch (p->type) {
	case CON_HELLO:
		if (con_hello_decode(pl, p->len, &h))
			return fail(p, "%s frame is malformed (%u bytes)",
				    p->type, p->len);
		break;
	case CON_STATE:
	case CON_NOTICE:
		if (!con_text_ok(pl, p->len))
			return fail(p, "%s text is not printable (%u bytes)",
				    p->type, p->len);
		break;
	case CON_ROLE:
		if (pl[0] > CON_ROLE_RO || !con_text_ok(pl + 1, p->len - 1u))
			return fail(p, "%s frame is malformed (%u bytes)",
				    p->type, p->len);
		break;
	}
	return 0;
}

int con_parser_feed(struct con_parser *p, const uint8_t *buf, size_t n,
		    con_frame_fn fn, void *ctx)
{
	if (p->failed)
		return -EPROTO;
	while (n) {
		if (p->have < CON_HDR_LEN) {
			p->hdr[p->have++] = *buf++;
			n--;
			if (p->have < CON_HDR_LEN)
				continue;
			size_t min, max;
			p->type = p->hdr[0];
			p->len = (uint16_t)(p->hdr[1] << 8 | p->hdr[2]);
			if (!type_limits(p->side, p->type, &min, &max))
				return fail(p, "unexpected %s frame (%u bytes)",
					    p->type, p->len);
			if (p->len < min || p->len > max)
				return fail(p, "%s frame of %u bytes is out of "
					    "bounds", p->type, p->len);
		} else {
			size_t got = p->have - CON_HDR_LEN;
			size_t take = p->len - got;
			if (take > n)
				take = n;
			memcpy(p->payload + got, buf, take);
			p->have += take;
			buf += take;
			n -= take;
		}
		if (p->have == CON_HDR_LEN + (size_t)p->len) {
			p->have = 0;
			int rc = check_payload(p);
			if (rc)
				return rc;
			struct con_frame f = { p->type, p->len, p->payload };
			rc = fn ? fn(ctx, &f) : 0;
			if (rc)
				return rc;
		}
	}
	return 0;
}
