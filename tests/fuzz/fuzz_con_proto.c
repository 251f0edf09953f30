/*
 * libFuzzer target for the console protocol reader (console/con_proto.c):
 * arbitrary bytes as a stream from a client (first byte even) or from a
 * server (odd), fed in pieces whose sizes come from the input itself.
 *
 * Beyond the sanitizers it checks the reader's contract: every frame it
 * hands over has a known type for that side, a length within bounds and,
 * for texts, printable content; a HELLO decodes; once it refuses, it
 * refuses everything after.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "con_proto.h"

static enum con_side side;

static int check(void *ctx, const struct con_frame *f)
{
	(void)ctx;
	assert(f->len <= CON_PAYLOAD_MAX);
	if (side == CON_SIDE_SERVER) {
		assert(f->type == CON_HELLO || f->type == CON_INPUT ||
		       f->type == CON_BREAK);
		if (f->type == CON_HELLO) {
			struct con_hello h;
			assert(con_hello_decode(f->payload, f->len, &h) == 0);
			assert(strlen(h.name) <= CON_NAME_MAX);
			uint8_t back[9 + CON_NAME_MAX];
			size_t n = con_hello_encode(back, sizeof(back), &h);
			assert(n == f->len && !memcmp(back, f->payload, n));
		}
		if (f->type == CON_BREAK)
			assert(f->len == 0);
	} else {
		switch (f->type) {
		case CON_DATA:
			assert(f->len > 0);
			break;
		case CON_SKIPPED:
			assert(f->len == 8);
			(void)con_get_be64(f->payload);
			break;
		case CON_ROLE:
			assert(f->len >= 1 && f->payload[0] <= CON_ROLE_RO);
			assert(con_text_ok(f->payload + 1, f->len - 1u));
			break;
		case CON_STATE:
		case CON_NOTICE:
			assert(f->len <= CON_TEXT_MAX);
			assert(con_text_ok(f->payload, f->len));
			break;
		default:
			assert(!"frame of an unknown type handed over");
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct con_parser p;
	if (size < 1)
		return 0;
	side = (data[0] & 1) ? CON_SIDE_CLIENT : CON_SIDE_SERVER;
	size_t step = (size_t)(data[0] >> 1) + 1;
	data++;
	size--;
	con_parser_init(&p, side);
	bool failed = false;
	while (size) {
		size_t n = size < step ? size : step;
		int rc = con_parser_feed(&p, data, n, check, NULL);
		if (failed)
			assert(rc == -EPROTO);
		if (rc) {
			assert(rc == -EPROTO && p.err[0]);
			failed = true;
		}
		data += n;
		size -= n;
	}
	return 0;
}
