/*
 * Unit tests for the console server over a real Unix socket in a temp
 * directory, with no VM: the test plays the guest (con_server_output)
 * and the clients (con_client_connect and a con_parser).
 *
 * Checks: every client sees the output; only the holder's input reaches
 * the guest; -f takes the console and the holder's leaving promotes the
 * next; break answers; states and host messages; replay of the last
 * lines; a client that never reads costs the writer nothing and is told
 * what it skipped; the log holds everything, rotated; output that
 * streams fast enough to be batched arrives whole, and its last byte
 * arrives without another write behind it; a state change reaches a
 * client that is behind at its place in the stream.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "con_client.h"
#include "con_proto.h"
#include "con_server.h"

static char dir[] = "/tmp/kz-consrv.XXXXXX";
static char sock[256], logp[256];

/* What the "guest" got. */
static pthread_mutex_t in_lock = PTHREAD_MUTEX_INITIALIZER;
static char guest_in[4096];
static size_t guest_in_len;
static int breaks;

static size_t on_input(void *ctx, const uint8_t *buf, size_t len)
{
	(void)ctx;
	pthread_mutex_lock(&in_lock);
	if (len > sizeof(guest_in) - 1 - guest_in_len)
		len = sizeof(guest_in) - 1 - guest_in_len;
	memcpy(guest_in + guest_in_len, buf, len);
	guest_in_len += len;
	guest_in[guest_in_len] = 0;
	pthread_mutex_unlock(&in_lock);
	return len;
}

static void on_break(void *ctx, char *msg, size_t len)
{
	(void)ctx;
	breaks++;
	snprintf(msg, len, "no debugger here yet");
}

static const struct con_server_ops ops = { on_input, on_break };

/* A test client: everything it received, by kind. */
struct tc {
	int fd;
	struct con_parser p;
	char data[1 << 20];
	size_t data_len;
	uint64_t skipped;
	int role;		/* -1 until told */
	char role_why[CON_TEXT_MAX + 1];
	char state[CON_TEXT_MAX + 1];
	char notice[CON_TEXT_MAX + 1];
	size_t state_at;	/* data_len when the last state came */
	int frames;
};

static int tc_frame(void *ctx, const struct con_frame *f)
{
	struct tc *c = ctx;
	c->frames++;
	switch (f->type) {
	case CON_DATA:
		if (c->data_len + f->len < sizeof(c->data)) {
			memcpy(c->data + c->data_len, f->payload, f->len);
			c->data_len += f->len;
			c->data[c->data_len] = 0;
		}
		break;
	case CON_SKIPPED:
		c->skipped += con_get_be64(f->payload);
		break;
	case CON_ROLE:
		c->role = f->payload[0];
		memcpy(c->role_why, f->payload + 1, f->len - 1u);
		c->role_why[f->len - 1] = 0;
		break;
	case CON_STATE:
		memcpy(c->state, f->payload, f->len);
		c->state[f->len] = 0;
		c->state_at = c->data_len;
		break;
	case CON_NOTICE:
		memcpy(c->notice, f->payload, f->len);
		c->notice[f->len] = 0;
		break;
	}
	return 0;
}

static struct tc *tc_open(uint8_t flags, uint32_t replay, const char *name)
{
	struct tc *c = calloc(1, sizeof(*c));
	struct con_hello h = { .flags = flags, .replay = replay };
	snprintf(h.name, sizeof(h.name), "%s", name);
	c->role = -1;
	con_parser_init(&c->p, CON_SIDE_CLIENT);
	c->fd = con_client_connect(sock, &h);
	assert_true(c->fd >= 0);
	return c;
}

static void tc_close(struct tc *c)
{
	close(c->fd);
	free(c);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read until cond holds or ms pass; returns whether it held. */
#define tc_until(c, ms, cond) ({					\
	bool ok_ = false;						\
	double end_ = now_s() + (ms) / 1000.0;				\
	while (now_s() < end_ && !(ok_ = (cond))) {			\
		struct pollfd pf_ = { .fd = (c)->fd, .events = POLLIN };	\
		if (poll(&pf_, 1, 5) > 0) {				\
			uint8_t b_[8192];				\
			ssize_t n_ = read((c)->fd, b_, sizeof(b_));	\
			if (n_ <= 0)					\
				break;					\
			assert_int_equal(con_parser_feed(&(c)->p, b_,	\
				(size_t)n_, tc_frame, (c)), 0);		\
		}							\
	}								\
	ok_ || (cond);							\
})

static struct con_server *srv;

static void start(size_t ring, uint64_t log_max)
{
	char err[256];
	struct con_server_opts o = { .sock_path = sock, .log_path = logp,
				     .ring_size = ring, .log_max = log_max,
				     .log_keep = 2, .sndbuf = 8192 };
	char p[300];
	guest_in_len = 0;
	breaks = 0;
	unlink(logp);	/* what a failed test before may have left */
	for (int i = 1; i <= 2; i++) {
		snprintf(p, sizeof(p), "%s.%d", logp, i);
		unlink(p);
	}
	assert_int_equal(con_server_create(&srv, &o, &ops, NULL, err,
					   sizeof(err)), 0);
}

static void stop(void)
{
	con_server_destroy(srv);
	srv = NULL;
	char p[300];
	unlink(logp);
	for (int i = 1; i <= 2; i++) {
		snprintf(p, sizeof(p), "%s.%d", logp, i);
		unlink(p);
	}
}

static void roles_and_input(void **state)
{
	(void)state;
	start(0, 0);
	con_server_state(srv, "running", NULL);
	struct tc *a = tc_open(0, 0, "alpha");
	assert_true(tc_until(a, 2000, a->role == CON_ROLE_RW));
	struct tc *b = tc_open(0, 0, "beta");
	assert_true(tc_until(b, 2000, b->role == CON_ROLE_RO && b->state[0]));
	assert_non_null(strstr(b->role_why, "alpha"));
	assert_string_equal(b->state, "running");

	/* Everyone sees the output. */
	con_server_output(srv, "hello\r\n", 7);
	assert_true(tc_until(a, 2000, strstr(a->data, "hello\r\n")));
	assert_true(tc_until(b, 2000, strstr(b->data, "hello\r\n")));

	/* Only the holder types. */
	assert_int_equal(con_client_send(b->fd, CON_INPUT, "zzz", 3), 0);
	assert_true(tc_until(b, 2000, strstr(b->notice, "read-only")));
	assert_int_equal(con_client_send(a->fd, CON_INPUT, "abc", 3), 0);
	for (int i = 0; i < 200 && guest_in_len < 3; i++)
		usleep(5000);
	assert_string_equal(guest_in, "abc");

	/* Break: the holder gets the answer; a watcher is refused. */
	assert_int_equal(con_client_send(a->fd, CON_BREAK, NULL, 0), 0);
	assert_true(tc_until(a, 2000, strstr(a->notice, "no debugger")));
	assert_int_equal(breaks, 1);
	assert_int_equal(con_client_send(b->fd, CON_BREAK, NULL, 0), 0);
	assert_true(tc_until(b, 2000, strstr(b->notice, "break not sent")));
	assert_int_equal(breaks, 1);

	/* State and host messages reach everyone, the message on its own
	 * line. */
	con_server_output(srv, "partial", 7);
	con_server_host_msg(srv, "zone '%s' halted", "t");
	con_server_state(srv, "down", "panicked");
	assert_true(tc_until(a, 2000, !strcmp(a->state, "down panicked")));
	assert_non_null(strstr(a->data, "partial\r\n[kzhost: zone 't' "
			       "halted]\r\n"));
	assert_true(tc_until(b, 2000, !strcmp(b->state, "down panicked")));

	/* -f takes over; when the taker leaves, the earliest gets it. */
	struct tc *c = tc_open(CON_HELLO_FORCE, 0, "gamma");
	assert_true(tc_until(c, 2000, c->role == CON_ROLE_RW));
	assert_true(tc_until(a, 2000, a->role == CON_ROLE_RO));
	assert_non_null(strstr(a->role_why, "gamma"));
	tc_close(c);
	assert_true(tc_until(a, 2000, a->role == CON_ROLE_RW));
	assert_int_equal(b->role, CON_ROLE_RO);

	/* A watcher never gets the console. */
	struct tc *w = tc_open(CON_HELLO_WATCH, 0, "watch");
	assert_true(tc_until(w, 2000, w->role == CON_ROLE_RO));
	tc_close(a);
	assert_true(tc_until(b, 2000, b->role == CON_ROLE_RW));
	tc_until(w, 200, false);
	assert_int_equal(w->role, CON_ROLE_RO);
	tc_close(b);
	tc_close(w);
	stop();
}

static void replay_last_lines(void **state)
{
	(void)state;
	start(0, 0);
	const char *t = "l1\r\nl2\r\nl3\r\nl4\r\nkzguest# ";
	con_server_output(srv, t, strlen(t));
	struct tc *a = tc_open(0, 3, "r3");
	assert_true(tc_until(a, 2000, a->data_len >= 17));
	tc_until(a, 100, false);
	assert_string_equal(a->data, "l3\r\nl4\r\nkzguest# ");
	struct tc *n = tc_open(0, 0, "r0");
	assert_true(tc_until(n, 2000, n->role >= 0));
	tc_until(n, 100, false);
	assert_int_equal(n->data_len, 0);
	struct tc *all = tc_open(0, UINT32_MAX, "all");
	assert_true(tc_until(all, 2000, all->data_len == strlen(t)));
	tc_close(a);
	tc_close(n);
	tc_close(all);
	stop();
}


struct reader {
	struct tc *c;
	uint64_t want;
};

static void *reader_thread(void *arg)
{
	struct reader *r = arg;
	tc_until(r->c, 10000, r->c->data_len + r->c->skipped >= r->want);
	return NULL;
}

static void stalled_client(void **state)
{
	(void)state;
	/* A small ring so that the stalled client is lapped for sure. */
	start(16384, 1 << 20);
	struct tc *stall = tc_open(0, 0, "stalled");
	struct tc *live = tc_open(CON_HELLO_WATCH, 0, "live");
	usleep(50000);
	const uint64_t lines = 20000;
	uint64_t total = 0;
	char line[32];
	for (uint64_t i = 0; i < lines; i++)
		total += (uint64_t)snprintf(line, sizeof(line), "%06llu\r\n",
					    (unsigned long long)i);
	struct reader r = { live, total };
	pthread_t tid;
	pthread_create(&tid, NULL, reader_thread, &r);

	double worst = 0, t0 = now_s();
	for (uint64_t i = 0; i < lines; i++) {
		int n = snprintf(line, sizeof(line), "%06llu\r\n",
				 (unsigned long long)i);
		double t = now_s();
		con_server_output(srv, line, (size_t)n);
		if (now_s() - t > worst)
			worst = now_s() - t;
		/* 2 MB/s: twenty times what a UART guest manages here. */
		if (i % 256 == 255)
			usleep(1000);
	}
	double took = now_s() - t0;
	pthread_join(tid, NULL);
	print_message("%llu bytes written in %.3f s, slowest write %.1f us\n",
		      (unsigned long long)total, took, worst * 1e6);
	/* The writer was never held up by the client that does not read. */
	assert_true(worst < 0.05);

	/* The reader accounts for every byte, in order. */
	assert_int_equal(live->data_len + live->skipped, total);
	if (!live->skipped)
		assert_memory_equal(live->data + live->data_len - 8,
				    "019999\r\n", 8);

	/* The stalled one now reads: told what it skipped, then the end. */
	assert_true(tc_until(stall, 5000, stall->data_len + stall->skipped ==
			     total));
	assert_true(stall->skipped > 0);
	assert_memory_equal(stall->data + stall->data_len - 8, "019999\r\n",
			    8);
	struct con_server_stats st;
	con_server_get_stats(srv, &st);
	assert_int_equal(st.output, total);
	assert_true(st.skipped >= stall->skipped);
	assert_int_equal(st.log_lost, 0);
	assert_int_equal(st.clients, 2);
	tc_close(stall);
	tc_close(live);

	/* The log has every line once, in order. */
	con_server_destroy(srv);
	srv = NULL;
	FILE *f = fopen(logp, "r");
	assert_non_null(f);
	char buf[64];
	unsigned long long want = 0;
	while (fgets(buf, sizeof(buf), f)) {
		assert_int_equal(strtoull(buf, NULL, 10), want);
		want++;
	}
	fclose(f);
	assert_int_equal(want, lines);
	unlink(logp);
}

static void log_rotation(void **state)
{
	(void)state;
	start(0, 4096);
	char line[32];
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(line, sizeof(line), "%05d\r\n", i);
		con_server_output(srv, line, (size_t)n);
	}
	con_server_destroy(srv);
	srv = NULL;
	/* 7000 bytes in 4 KiB files: the current file and .1. */
	char p1[300], p2[300];
	snprintf(p1, sizeof(p1), "%s.1", logp);
	snprintf(p2, sizeof(p2), "%s.2", logp);
	struct stat a, b;
	assert_int_equal(stat(logp, &a), 0);
	assert_int_equal(stat(p1, &b), 0);
	assert_true(b.st_size <= 4096);
	assert_int_equal(a.st_size + b.st_size, 7000);
	assert_int_not_equal(stat(p2, &b), 0);
	unlink(logp);
	unlink(p1);
}

static void bad_client(void **state)
{
	(void)state;
	start(0, 0);
	struct tc *a = tc_open(0, 0, "ok");
	assert_true(tc_until(a, 2000, a->role == CON_ROLE_RW));
	/* INPUT before HELLO, garbage: the server drops such clients. */
	struct con_hello h = { 0 };
	int fd = con_client_connect(sock, &h);
	assert_true(fd >= 0);
	(void)!write(fd, "\x7f\xff\xff garbage", 12);
	char b[16];
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&pf, 1, 2000), 1);
	ssize_t n;
	while ((n = read(fd, b, sizeof(b))) > 0)
		;
	assert_int_equal(n, 0);
	close(fd);
	/* The good client is unharmed. */
	con_server_output(srv, "still\r\n", 7);
	assert_true(tc_until(a, 2000, strstr(a->data, "still")));
	tc_close(a);
	stop();
}

static void bad_opts(void **state)
{
	(void)state;
	char err[256];
	struct con_server *s;
	struct con_server_opts o = { .sock_path = sock, .ring_size = 100 };
	assert_int_equal(con_server_create(&s, &o, &ops, NULL, err,
					   sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ring"));
	uint64_t v;
	assert_int_equal(con_size_parse("64K", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(con_size_parse("2m", &v), 0);
	assert_int_equal(v, 2 << 20);
	assert_int_equal(con_size_parse("12", &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(con_size_parse("-1", &v), -EINVAL);
	assert_int_equal(con_size_parse("1X", &v), -EINVAL);
	assert_int_equal(con_size_parse("", &v), -EINVAL);
}

/*
 * Bursts of one-byte writes 100 us apart (the server batches those), each
 * ending in a marker with nothing after it: every marker must arrive on
 * its own, within far less than the wait allowed, and in order.
 */
static void stream_then_last_byte(void **state)
{
	(void)state;
	start(0, 0);
	struct tc *c = tc_open(0, 0, "streamer");
	assert_true(tc_until(c, 2000, c->role == CON_ROLE_RW));
	char want[8192] = "";
	size_t wl = 0;
	for (int round = 0; round < 10; round++) {
		for (int i = 0; i < 100; i++) {
			char b = (char)('a' + (round + i) % 26);
			con_server_output(srv, &b, 1);
			want[wl++] = b;
			usleep(100);
		}
		char m = (char)('0' + round);
		con_server_output(srv, &m, 1);
		want[wl++] = m;
		want[wl] = 0;
		/* Nothing else is written until it shows up. */
		assert_true(tc_until(c, 2000, c->data_len == wl));
		assert_string_equal(c->data, want);
	}
	tc_close(c);
	stop();
}

/*
 * A state change is told at its place in the stream: a client that is
 * behind (its socket full) gets the bytes written before the change, then
 * the state, then the bytes after, never one data frame across it.
 */
static void state_in_its_place(void **state)
{
	(void)state;
	start(0, 0);
	con_server_state(srv, "running", NULL);
	struct tc *c = tc_open(0, 0, "late");
	assert_true(tc_until(c, 2000, !strcmp(c->state, "running")));
	static char fill[65536];
	memset(fill, 'x', sizeof(fill));
	con_server_output(srv, fill, sizeof(fill));
	con_server_output(srv, "before", 6);
	con_server_state(srv, "running", "panicked");
	con_server_output(srv, "after", 5);
	assert_true(tc_until(c, 5000, c->data_len == sizeof(fill) + 11));
	assert_string_equal(c->state, "running panicked");
	assert_int_equal(c->state_at, sizeof(fill) + 6);
	assert_string_equal(c->data + sizeof(fill), "beforeafter");
	tc_close(c);
	stop();
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock, sizeof(sock), "%s/console.sock", dir);
	snprintf(logp, sizeof(logp), "%s/z.console", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roles_and_input),
		cmocka_unit_test(replay_last_lines),
		cmocka_unit_test(stalled_client),
		cmocka_unit_test(log_rotation),
		cmocka_unit_test(bad_client),
		cmocka_unit_test(bad_opts),
		cmocka_unit_test(stream_then_last_byte),
		cmocka_unit_test(state_in_its_place),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
