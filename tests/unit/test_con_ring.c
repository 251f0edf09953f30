/*
 * Unit tests for the console's pieces that need no socket: the ring
 * (positions, laps, last lines), the rotating log, and the protocol's
 * framing and checks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "con_log.h"
#include "con_proto.h"
#include "con_ring.h"

static void ring_basic(void **state)
{
	(void)state;
	struct con_ring r;
	char buf[64];
	assert_int_equal(con_ring_init(&r, 100), -EINVAL);
	assert_int_equal(con_ring_init(&r, 4096), 0);
	assert_int_equal(con_ring_tail(&r), 0);
	con_ring_write(&r, "hello\n", 6);
	assert_int_equal(r.head, 6);
	assert_int_equal(con_ring_read(&r, 0, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "hello\n", 6);
	assert_int_equal(con_ring_read(&r, 2, buf, 2), 2);
	assert_memory_equal(buf, "ll", 2);
	assert_int_equal(con_ring_read(&r, 7, buf, 2), 0);
	con_ring_free(&r);
}

static void ring_wraps(void **state)
{
	(void)state;
	struct con_ring r;
	uint8_t in[10000], out[4096];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7);
	assert_int_equal(con_ring_init(&r, 4096), 0);
	/* Odd-sized writes so the wrap falls mid-write. */
	size_t done = 0;
	while (done < sizeof(in)) {
		size_t n = sizeof(in) - done < 333 ? sizeof(in) - done : 333;
		con_ring_write(&r, in + done, n);
		done += n;
	}
	assert_int_equal(r.head, 10000);
	assert_int_equal(con_ring_tail(&r), 10000 - 4096);
	/* Lapped positions read nothing. */
	assert_int_equal(con_ring_read(&r, 100, out, 10), 0);
	assert_int_equal(con_ring_read(&r, con_ring_tail(&r), out, 4096), 4096);
	assert_memory_equal(out, in + 10000 - 4096, 4096);
	/* A write bigger than the ring keeps its end. */
	con_ring_write(&r, in, sizeof(in));
	assert_int_equal(r.head, 20000);
	assert_int_equal(con_ring_read(&r, con_ring_tail(&r), out, 4096), 4096);
	assert_memory_equal(out, in + 10000 - 4096, 4096);
	con_ring_free(&r);
}

static void ring_last_lines(void **state)
{
	(void)state;
	struct con_ring r;
	assert_int_equal(con_ring_init(&r, 4096), 0);
	const char *t = "one\r\ntwo\r\nthree\r\nkzguest# ";
	con_ring_write(&r, t, strlen(t));
	assert_int_equal(con_ring_last_lines(&r, 0), r.head);
	assert_int_equal(con_ring_last_lines(&r, 1), strlen(t) - 9);
	assert_int_equal(con_ring_last_lines(&r, 2), 10);
	assert_int_equal(con_ring_last_lines(&r, 4), 0);
	assert_int_equal(con_ring_last_lines(&r, 99), 0);
	/* A finished last line counts as the last line. */
	con_ring_write(&r, "x\n", 2);
	assert_int_equal(con_ring_last_lines(&r, 1), strlen(t) - 9);
	con_ring_write(&r, "y", 1);
	assert_int_equal(con_ring_last_lines(&r, 1), strlen(t) + 2);
	/* After a lap the answer never goes below the tail. */
	char big[5000];
	memset(big, 'a', sizeof(big));
	con_ring_write(&r, big, sizeof(big));
	assert_int_equal(con_ring_last_lines(&r, 3), con_ring_tail(&r));
	assert_int_equal(con_last_lines((const uint8_t *)"a\nb\nc", 5, 2), 2);
	assert_int_equal(con_last_lines((const uint8_t *)"a\nb\n", 4, 1), 2);
	con_ring_free(&r);
}

static char dir[] = "/tmp/kz-conlog.XXXXXX";

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	*len = fread(buf, 1, 1 << 20, f);
	buf[*len] = 0;
	fclose(f);
	return buf;
}

static void log_rotates(void **state)
{
	(void)state;
	char path[256], p1[280], p2[280], p3[280];
	struct con_log l;
	struct stat st;
	snprintf(path, sizeof(path), "%s/z.console", dir);
	snprintf(p1, sizeof(p1), "%s.1", path);
	snprintf(p2, sizeof(p2), "%s.2", path);
	snprintf(p3, sizeof(p3), "%s.3", path);
	assert_int_equal(con_log_open(&l, path, 10, 2), -EINVAL);
	assert_int_equal(con_log_open(&l, path, 1024, 2), 0);
	/* 400 numbered lines of 10 bytes: 4000 bytes, four files' worth. */
	for (int i = 0; i < 400; i++) {
		char line[16];
		snprintf(line, sizeof(line), "line %04d\n", i);
		assert_int_equal(con_log_write(&l, line, 10), 0);
	}
	con_log_close(&l);
	assert_int_equal(l.rotations, 3);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size <= 1024);
	assert_int_equal(stat(p1, &st), 0);
	assert_true(st.st_size <= 1024);
	assert_int_equal(stat(p2, &st), 0);
	assert_int_not_equal(stat(p3, &st), 0);	/* keep 2 */
	/* Files end on line boundaries and continue one another. */
	size_t l1, l0;
	char *old = slurp(p1, &l1), *cur = slurp(path, &l0);
	assert_non_null(old);
	assert_non_null(cur);
	assert_int_equal(old[l1 - 1], '\n');
	int last_old = atoi(old + l1 - 5), first_cur = atoi(cur + 5);
	assert_int_equal(first_cur, last_old + 1);
	assert_int_equal(atoi(cur + l0 - 5), 399);

	/* The tail reader reaches into .1 when the current file is short. */
	uint8_t *tail;
	size_t tlen;
	unsigned in_cur = (unsigned)(l0 / 10);
	assert_int_equal(con_log_tail(path, in_cur + 2, 1 << 20, &tail, &tlen),
			 0);
	assert_int_equal(tlen, (in_cur + 2) * 10);
	assert_memory_equal(tail + tlen - 10, "line 0399\n", 10);
	free(tail);
	assert_int_equal(con_log_tail("/nonexistent/x", 5, 100, &tail, &tlen),
			 0);
	assert_int_equal(tlen, 0);
	free(old);
	free(cur);
	unlink(path);
	unlink(p1);
	unlink(p2);
}

static void log_long_line(void **state)
{
	(void)state;
	char path[256];
	struct con_log l;
	snprintf(path, sizeof(path), "%s/long.console", dir);
	assert_int_equal(con_log_open(&l, path, 1024, 1), 0);
	char big[3000];
	memset(big, 'x', sizeof(big));
	assert_int_equal(con_log_write(&l, big, sizeof(big)), 0);
	con_log_close(&l);
	assert_int_equal(l.rotations, 2);
	char p1[280];
	snprintf(p1, sizeof(p1), "%s.1", path);
	unlink(path);
	unlink(p1);
}

struct got {
	int n;
	uint8_t types[16];
	uint16_t lens[16];
	uint8_t last[CON_PAYLOAD_MAX];
};

static int collect(void *ctx, const struct con_frame *f)
{
	struct got *g = ctx;
	if (g->n < 16) {
		g->types[g->n] = f->type;
		g->lens[g->n] = f->len;
	}
	g->n++;
	memcpy(g->last, f->payload, f->len);
	return 0;
}

static void proto_roundtrip(void **state)
{
	(void)state;
	uint8_t wire[4 * CON_FRAME_MAX];
	size_t n = 0;
	struct con_hello h = { .flags = CON_HELLO_FORCE, .replay = 30 };
	strcpy(h.name, "zlogin[42]");
	uint8_t pl[128];
	size_t pn = con_hello_encode(pl, sizeof(pl), &h);
	n += con_frame_put(wire + n, sizeof(wire) - n, CON_HELLO, pl, pn);
	n += con_frame_put(wire + n, sizeof(wire) - n, CON_INPUT, "ls\r", 3);
	n += con_frame_put(wire + n, sizeof(wire) - n, CON_BREAK, NULL, 0);
	assert_int_equal(con_frame_put(wire, sizeof(wire), CON_DATA, wire,
				       CON_PAYLOAD_MAX + 1), 0);

	/* One byte at a time gives the same frames as all at once. */
	struct con_parser p;
	struct got g = { 0 };
	con_parser_init(&p, CON_SIDE_SERVER);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(con_parser_feed(&p, wire + i, 1, collect, &g),
				 0);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.types[0], CON_HELLO);
	assert_int_equal(g.types[1], CON_INPUT);
	assert_int_equal(g.lens[1], 3);
	assert_int_equal(g.types[2], CON_BREAK);

	struct con_hello back;
	assert_int_equal(con_hello_decode(pl, pn, &back), 0);
	assert_int_equal(back.flags, CON_HELLO_FORCE);
	assert_int_equal(back.replay, 30);
	assert_string_equal(back.name, "zlogin[42]");

	/* The client side refuses client frames. */
	con_parser_init(&p, CON_SIDE_CLIENT);
	assert_int_equal(con_parser_feed(&p, wire, n, collect, &g), -EPROTO);
	assert_non_null(strstr(p.err, "HELLO"));
	/* and stays failed */
	uint8_t ok[8];
	size_t on = con_frame_put(ok, sizeof(ok), CON_DATA, "x", 1);
	assert_int_equal(con_parser_feed(&p, ok, on, collect, &g), -EPROTO);
}

static int feed_one(enum con_side side, const uint8_t *b, size_t n)
{
	struct con_parser p;
	con_parser_init(&p, side);
	return con_parser_feed(&p, b, n, NULL, NULL);
}

static void proto_refuses(void **state)
{
	(void)state;
	/* Over-long DATA header. */
	const uint8_t big[] = { CON_DATA, 0x10, 0x01 };
	assert_int_equal(feed_one(CON_SIDE_CLIENT, big, 3), -EPROTO);
	/* Empty DATA, SKIPPED of the wrong size, BREAK with a payload. */
	const uint8_t empty[] = { CON_DATA, 0, 0 };
	assert_int_equal(feed_one(CON_SIDE_CLIENT, empty, 3), -EPROTO);
	const uint8_t sk[] = { CON_SKIPPED, 0, 4, 0, 0, 0, 1 };
	assert_int_equal(feed_one(CON_SIDE_CLIENT, sk, 7), -EPROTO);
	const uint8_t brk[] = { CON_BREAK, 0, 1, 'x' };
	assert_int_equal(feed_one(CON_SIDE_SERVER, brk, 4), -EPROTO);
	/* Unknown type, bad magic, unknown flag, control bytes in text. */
	const uint8_t unk[] = { 0x7f, 0, 0 };
	assert_int_equal(feed_one(CON_SIDE_SERVER, unk, 3), -EPROTO);
	const uint8_t magic[] = { CON_HELLO, 0, 9, 'K', 'Z', 'C', '9',
				  0, 0, 0, 0, 0 };
	assert_int_equal(feed_one(CON_SIDE_SERVER, magic, 12), -EPROTO);
	const uint8_t flag[] = { CON_HELLO, 0, 9, 'K', 'Z', 'C', '1',
				 0x80, 0, 0, 0, 0 };
	assert_int_equal(feed_one(CON_SIDE_SERVER, flag, 12), -EPROTO);
	const uint8_t st[] = { CON_STATE, 0, 2, 'a', 0x1b };
	assert_int_equal(feed_one(CON_SIDE_CLIENT, st, 5), -EPROTO);
	const uint8_t role[] = { CON_ROLE, 0, 1, 2 };
	assert_int_equal(feed_one(CON_SIDE_CLIENT, role, 4), -EPROTO);
	/* A partial frame is not an error: it waits for the rest. */
	const uint8_t part[] = { CON_DATA, 0, 5, 'a' };
	assert_int_equal(feed_one(CON_SIDE_CLIENT, part, 4), 0);
	uint8_t sk8[11];
	uint8_t v[8];
	con_put_be64(v, 0x0102030405060708ull);
	assert_int_equal(con_get_be64(v), 0x0102030405060708ull);
	size_t n = con_frame_put(sk8, sizeof(sk8), CON_SKIPPED, v, 8);
	assert_int_equal(feed_one(CON_SIDE_CLIENT, sk8, n), 0);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ring_basic),
		cmocka_unit_test(ring_wraps),
		cmocka_unit_test(ring_last_lines),
		cmocka_unit_test(log_rotates),
		cmocka_unit_test(log_long_line),
		cmocka_unit_test(proto_roundtrip),
		cmocka_unit_test(proto_refuses),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
