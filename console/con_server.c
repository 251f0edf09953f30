/*
 * The console server (see con_server.h for who calls what).
 *
 * Theory.  The ring is the only buffer between the guest and the world.
 * Writers (vCPU threads) append under `lock` and poke an eventfd; the
 * server thread is the only reader.  It copies new output to the log
 * first, then to each client from the client's own ring position, one
 * frame at a time, with non-blocking writes.  A client that stops
 * reading simply falls behind; when the ring laps it, its position jumps
 * to the oldest byte held and it is sent a SKIPPED frame with the count.
 * So no client, and no stuck log, can ever make a vCPU wait.
 *
 * State changes are stamped with the ring position at which they
 * happened and reach a client once it has been sent the output that came
 * before, so "[kzhost: zone halted]" and the STATE frame arrive in order.
 *
 * Roles: the first client that does not ask to watch holds the console
 * (its INPUT reaches the guest); a later one takes it with FORCE; when
 * the holder leaves, the longest-connected other client that wanted to
 * type gets it.  Everyone else is told they are read-only.
 */
#include "con_server.h"
#include "con_log.h"
#include "con_proto.h"
#include "con_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 64
#define NOTICE_QUEUE 4
#define STATE_TEXT 128
/*
 * While the guest streams output (BATCH_BYTES or more within BATCH_MS)
 * the server looks at the ring every BATCH_MS instead of being woken for
 * each write: the vCPU thread saves an eventfd write per UART byte and
 * the server a wakeup, a log write and a send per byte.  A keystroke's
 * echo is far below the rate and is still sent at once; the batching
 * ends after two quiet periods.
 */
#define BATCH_MS 1
#define BATCH_BYTES 8

struct client {
	int fd;
	struct con_parser parser;
	bool hello_done;
	bool wants_rw;		/* did not ask only to watch */
	bool told_ro_input;	/* told once that its input is ignored */
	bool dead;
	enum con_role role;
	unsigned role_ver, role_sent;
	char role_why[CON_TEXT_MAX];
	uint64_t seq;		/* connection order, for promotion */
	uint64_t pos;		/* next ring byte to send */
	unsigned state_sent;	/* state version last sent */
	char name[CON_NAME_MAX + 1];
	/* The frame being written. */
	uint8_t out[CON_FRAME_MAX];
	size_t out_len, out_off;
	/* Notices waiting to go. */
	char notice[NOTICE_QUEUE][CON_TEXT_MAX];
	unsigned nnotice;
	/* Holder's input the guest has not taken yet. */
	uint8_t pin[CON_PAYLOAD_MAX];
	size_t pin_len;
};

struct con_server {
	struct con_server_opts o;
	char sock_path[108];
	const struct con_server_ops *ops;
	void *ctx;
	int listen_fd;
	int wake_fd;
	atomic_bool wake_pending;
	atomic_bool batching;	/* the server polls the ring: no wakes */
	pthread_t thread;

	pthread_mutex_t lock;	/* guards the fields down to the blank line */
	struct con_ring ring;
	bool at_line_start;
	char state[STATE_TEXT];
	unsigned state_ver;
	uint64_t state_pos;	/* ring position when the state changed */
	bool stopping;
	struct con_server_stats stats;

	/* Server thread only. */
	struct con_log log;
	bool have_log;
	uint64_t log_pos;
	struct client *clients[MAX_CLIENTS];
	unsigned nclients;
	uint64_t next_seq;
	struct client *holder;
};

int con_size_parse(const char *s, uint64_t *out)
{
	char *end;
	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end || (shift && v > (~0ull >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* After the ring write (and its unlock): see server_thread on batching. */
static void wake(struct con_server *s)
{
	if (atomic_load(&s->batching))
		return;
	if (!atomic_exchange(&s->wake_pending, true)) {
		uint64_t one = 1;
		(void)!write(s->wake_fd, &one, sizeof(one));
	}
}

void con_server_output(struct con_server *s, const void *buf, size_t len)
{
	if (!len)
		return;
	pthread_mutex_lock(&s->lock);
	con_ring_write(&s->ring, buf, len);
	s->at_line_start = ((const uint8_t *)buf)[len - 1] == '\n';
	s->stats.output += len;
	pthread_mutex_unlock(&s->lock);
	wake(s);
}

void con_server_host_msg(struct con_server *s, const char *fmt, ...)
{
	char msg[256], line[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&s->lock);
	int n = snprintf(line, sizeof(line), "%s[kzhost: %s]\r\n",
			 s->at_line_start ? "" : "\r\n", msg);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	con_ring_write(&s->ring, line, (size_t)n);
	s->at_line_start = true;
	pthread_mutex_unlock(&s->lock);
	wake(s);
}

void con_server_state(struct con_server *s, const char *state,
		      const char *aux)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->state, sizeof(s->state), "%s%s%s", state,
		 aux && *aux ? " " : "", aux ? aux : "");
	for (char *p = s->state; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	s->state_ver++;
	s->state_pos = s->ring.head;
	pthread_mutex_unlock(&s->lock);
	wake(s);
}

void con_server_get_stats(struct con_server *s, struct con_server_stats *st)
{
	pthread_mutex_lock(&s->lock);
	*st = s->stats;
	pthread_mutex_unlock(&s->lock);
}

/* ---- clients ---- */

static void set_role(struct client *c, enum con_role r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_role(struct client *c, enum con_role r, const char *fmt, ...)
{
	va_list ap;
	c->role = r;
	va_start(ap, fmt);
	vsnprintf(c->role_why, sizeof(c->role_why), fmt, ap);
	va_end(ap);
	c->role_ver++;
}

static void notice(struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void notice(struct client *c, const char *fmt, ...)
{
	va_list ap;
	if (c->nnotice == NOTICE_QUEUE)
		return;
	va_start(ap, fmt);
	vsnprintf(c->notice[c->nnotice++], CON_TEXT_MAX, fmt, ap);
	va_end(ap);
}

static void promote(struct con_server *s, const char *left)
{
	struct client *best = NULL;
	for (unsigned i = 0; i < s->nclients; i++) {
		struct client *c = s->clients[i];
		if (!c->dead && c->hello_done && c->wants_rw &&
		    (!best || c->seq < best->seq))
			best = c;
	}
	s->holder = best;
	if (best)
		set_role(best, CON_ROLE_RW,
			 "%s let go of the console; you hold it now", left);
}

static void drop_client(struct con_server *s, unsigned i)
{
	struct client *c = s->clients[i];
	close(c->fd);
	s->clients[i] = s->clients[--s->nclients];
	pthread_mutex_lock(&s->lock);
	s->stats.clients = s->nclients;
	pthread_mutex_unlock(&s->lock);
	if (s->holder == c) {
		c->dead = true;
		promote(s, c->name);
	}
	free(c);
}

static void on_hello(struct con_server *s, struct client *c,
		     const struct con_hello *h)
{
	snprintf(c->name, sizeof(c->name), "%s", h->name[0] ? h->name :
		 "a client");
	c->hello_done = true;
	c->wants_rw = !(h->flags & CON_HELLO_WATCH);
	pthread_mutex_lock(&s->lock);
	if (h->replay == UINT32_MAX)
		c->pos = con_ring_tail(&s->ring);
	else
		c->pos = con_ring_last_lines(&s->ring, h->replay);
	c->state_sent = 0;	/* send the current state first */
	pthread_mutex_unlock(&s->lock);

	if (!c->wants_rw) {
		set_role(c, CON_ROLE_RO, "watching only, as asked");
	} else if (!s->holder) {
		s->holder = c;
		set_role(c, CON_ROLE_RW, "you hold the console");
	} else if (h->flags & CON_HELLO_FORCE) {
		struct client *old = s->holder;
		set_role(old, CON_ROLE_RO,
			 "%s took the console over; you are read-only now",
			 c->name);
		s->holder = c;
		set_role(c, CON_ROLE_RW, "taken over from %s", old->name);
	} else {
		set_role(c, CON_ROLE_RO,
			 "%s holds the console; you are read-only (-f takes "
			 "it over)", s->holder->name);
	}
}

/* Offer the holder's pending input to the guest. */
static void push_input(struct con_server *s, struct client *c)
{
	if (!c->pin_len)
		return;
	size_t n = s->ops && s->ops->input ?
		s->ops->input(s->ctx, c->pin, c->pin_len) : c->pin_len;
	if (n > c->pin_len)
		n = c->pin_len;
	memmove(c->pin, c->pin + n, c->pin_len - n);
	c->pin_len -= n;
}

struct frame_ctx {
	struct con_server *s;
	struct client *c;
};

static int on_frame(void *arg, const struct con_frame *f)
{
	struct frame_ctx *fc = arg;
	struct con_server *s = fc->s;
	struct client *c = fc->c;

	if (!c->hello_done && f->type != CON_HELLO)
		return -EPROTO;
	switch (f->type) {
	case CON_HELLO: {
		struct con_hello h;
		if (c->hello_done || con_hello_decode(f->payload, f->len, &h))
			return -EPROTO;
		on_hello(s, c, &h);
		break;
	}
	case CON_INPUT:
		if (s->holder != c) {
			if (!c->told_ro_input)
				notice(c, "input ignored: this console is "
				       "read-only here");
			c->told_ro_input = true;
			break;
		}
		/* We stop reading while input is pending, so it fits. */
		if (f->len > sizeof(c->pin) - c->pin_len)
			return -ENOBUFS;
		memcpy(c->pin + c->pin_len, f->payload, f->len);
		c->pin_len += f->len;
		push_input(s, c);
		break;
	case CON_BREAK:
		if (s->holder != c) {
			notice(c, "break not sent: this console is read-only "
			       "here");
			break;
		}
		char msg[CON_TEXT_MAX] = "break sent";
		if (s->ops && s->ops->brk)
			s->ops->brk(s->ctx, msg, sizeof(msg));
		for (char *p = msg; *p; p++)
			if (*p < 0x20 || *p > 0x7e)
				*p = ' ';
		if (msg[0])
			notice(c, "%s", msg);
		break;
	}
	return 0;
}

/* Returns false when the client is to be dropped. */
static bool client_read(struct con_server *s, struct client *c)
{
	uint8_t buf[CON_FRAME_MAX];
	/* One frame's worth: input waits while the guest is slow. */
	size_t want = c->pin_len ? 0 : sizeof(buf);
	if (!want)
		return true;
	ssize_t n = read(c->fd, buf, want);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;
	struct frame_ctx fc = { s, c };
	return con_parser_feed(&c->parser, buf, (size_t)n, on_frame, &fc) == 0;
}

/* Build the next frame for c into c->out; false when nothing to send. */
static bool next_frame(struct con_server *s, struct client *c)
{
	uint8_t pl[CON_PAYLOAD_MAX];
	size_t n;
	if (!c->hello_done)
		return false;
	if (c->role_sent != c->role_ver) {
		size_t wl = strlen(c->role_why);
		pl[0] = (uint8_t)c->role;
		memcpy(pl + 1, c->role_why, wl);
		c->out_len = con_frame_put(c->out, sizeof(c->out), CON_ROLE,
					   pl, wl + 1);
		c->role_sent = c->role_ver;
		return true;
	}
	if (c->nnotice) {
		c->out_len = con_frame_put(c->out, sizeof(c->out), CON_NOTICE,
					   c->notice[0], strlen(c->notice[0]));
		memmove(c->notice[0], c->notice[1],
			sizeof(c->notice[0]) * --c->nnotice);
		return true;
	}
	pthread_mutex_lock(&s->lock);
	uint64_t tail = con_ring_tail(&s->ring);
	if (c->state_sent != s->state_ver &&
	    (c->state_sent == 0 || c->pos >= s->state_pos || c->pos < tail)) {
		size_t l = strlen(s->state);
		c->state_sent = s->state_ver;
		pthread_mutex_unlock(&s->lock);
		if (!l)
			return next_frame(s, c);
		c->out_len = con_frame_put(c->out, sizeof(c->out), CON_STATE,
					   s->state, l);
		return true;
	}
	if (c->pos < tail) {
		uint64_t skipped = tail - c->pos;
		s->stats.skipped += skipped;
		c->pos = tail;
		pthread_mutex_unlock(&s->lock);
		con_put_be64(pl, skipped);
		c->out_len = con_frame_put(c->out, sizeof(c->out), CON_SKIPPED,
					   pl, 8);
		return true;
	}
	/* A state change waiting to be told stops the data at its place in
	 * the stream, so the notice comes between the bytes around it. */
	size_t most = CON_PAYLOAD_MAX;
	if (c->state_sent != s->state_ver && s->state_pos - c->pos < most)
		most = (size_t)(s->state_pos - c->pos);
	n = con_ring_read(&s->ring, c->pos, c->out + CON_HDR_LEN, most);
	pthread_mutex_unlock(&s->lock);
	if (!n)
		return false;
	c->pos += n;
	c->out[0] = CON_DATA;
	c->out[1] = (uint8_t)(n >> 8);
	c->out[2] = (uint8_t)n;
	c->out_len = CON_HDR_LEN + n;
	return true;
}

/* Write what we can without blocking; false when the client is gone. */
static bool client_flush(struct con_server *s, struct client *c)
{
	for (;;) {
		if (c->out_off == c->out_len) {
			c->out_off = c->out_len = 0;
			if (!next_frame(s, c))
				return true;
		}
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		c->out_off += (size_t)n;
	}
}

static bool client_has_output(struct con_server *s, struct client *c)
{
	if (!c->hello_done)
		return false;
	if (c->out_off < c->out_len || c->role_sent != c->role_ver ||
	    c->nnotice)
		return true;
	pthread_mutex_lock(&s->lock);
	bool more = c->pos < s->ring.head || c->state_sent != s->state_ver;
	pthread_mutex_unlock(&s->lock);
	return more;
}

static void accept_clients(struct con_server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		if (s->nclients == MAX_CLIENTS) {
			close(fd);
			continue;
		}
		int sb = s->o.sndbuf ? s->o.sndbuf : 32 << 10;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
		struct client *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->seq = s->next_seq++;
		con_parser_init(&c->parser, CON_SIDE_SERVER);
		s->clients[s->nclients++] = c;
		pthread_mutex_lock(&s->lock);
		s->stats.clients = s->nclients;
		pthread_mutex_unlock(&s->lock);
	}
}

/* Copy new output to the log. */
static void log_catch_up(struct con_server *s)
{
	uint8_t buf[16384];
	for (;;) {
		pthread_mutex_lock(&s->lock);
		uint64_t tail = con_ring_tail(&s->ring);
		uint64_t lost = 0;
		if (s->log_pos < tail) {
			lost = tail - s->log_pos;
			s->stats.log_lost += lost;
			s->log_pos = tail;
		}
		size_t n = con_ring_read(&s->ring, s->log_pos, buf,
					 sizeof(buf));
		pthread_mutex_unlock(&s->lock);
		if (lost && s->have_log) {
			char m[80];
			int l = snprintf(m, sizeof(m),
					 "\r\n[kzhost: console log: %llu bytes "
					 "lost]\r\n", (unsigned long long)lost);
			(void)con_log_write(&s->log, m, (size_t)l);
		}
		if (!n)
			break;
		s->log_pos += n;
		if (s->have_log)
			(void)con_log_write(&s->log, buf, n);
	}
	if (s->have_log) {
		pthread_mutex_lock(&s->lock);
		s->stats.log_rotations = s->log.rotations;
		pthread_mutex_unlock(&s->lock);
	}
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void *server_thread(void *arg)
{
	struct con_server *s = arg;
	struct pollfd pfd[2 + MAX_CLIENTS];
	uint64_t deadline = 0;
	uint64_t win_start = now_us(), win_pos = 0;
	bool batching = false, recheck = false;
	unsigned quiet = 0;

	for (;;) {
		unsigned np = 0;
		int timeout = -1;
		pfd[np++] = (struct pollfd){ .fd = s->wake_fd, .events = POLLIN };
		pfd[np++] = (struct pollfd){ .fd = s->listen_fd,
					     .events = POLLIN };
		for (unsigned i = 0; i < s->nclients; i++) {
			struct client *c = s->clients[i];
			short ev = c->pin_len ? 0 : POLLIN;
			if (client_has_output(s, c))
				ev |= POLLOUT;
			if (c->pin_len)
				timeout = 10;	/* retry the guest's UART */
			pfd[np++] = (struct pollfd){ .fd = c->fd, .events = ev };
		}
		if (deadline)
			timeout = 20;
		if (batching && (timeout < 0 || timeout > BATCH_MS))
			timeout = BATCH_MS;
		if (recheck)
			timeout = 0;
		recheck = false;
		if (poll(pfd, np, timeout) < 0 && errno != EINTR)
			break;

		if (pfd[0].revents & POLLIN) {
			/* Consume, then re-arm: a writer that finds the flag
			 * still set has its bytes in the ring already, and we
			 * read the ring below. */
			uint64_t v;
			(void)!read(s->wake_fd, &v, sizeof(v));
			atomic_store(&s->wake_pending, false);
		}
		pthread_mutex_lock(&s->lock);
		bool stopping = s->stopping;
		pthread_mutex_unlock(&s->lock);

		log_catch_up(s);
		/*
		 * Batching on and off.  A writer that saw batching set left
		 * its bytes in the ring unannounced; once it is cleared, the
		 * next pass looks at the ring without waiting (recheck), and
		 * any later writer reads the cleared flag after its unlock, so
		 * it wakes us: no byte waits for the next one.
		 */
		uint64_t t = now_us();
		if (t - win_start > 4000 * BATCH_MS) {
			win_start = t;	/* an idle stretch says nothing */
			win_pos = s->log_pos;
		} else if (t - win_start >= 1000 * BATCH_MS) {
			uint64_t moved = s->log_pos - win_pos;
			if (moved >= BATCH_BYTES) {
				batching = true;
				quiet = 0;
			} else if (batching && !moved && ++quiet >= 2) {
				batching = false;
				recheck = true;
			}
			atomic_store(&s->batching, batching);
			win_start = t;
			win_pos = s->log_pos;
		}
		if (pfd[1].revents & POLLIN)
			accept_clients(s);
		/* pfd[2 + i] matches clients[i] as they were at poll time;
		 * clients accepted since have no entry yet. */
		for (unsigned i = np - 2; i-- > 0;) {
			struct client *c = s->clients[i];
			bool ok = true;
			if (pfd[2 + i].revents & (POLLIN | POLLHUP | POLLERR))
				ok = client_read(s, c);
			if (c->pin_len && s->holder != c)
				c->pin_len = 0;	/* lost the console */
			if (ok && c->pin_len)
				push_input(s, c);
			if (ok)
				ok = client_flush(s, c);
			if (!ok)
				drop_client(s, i);
		}
		if (stopping) {
			uint64_t t = now_us() / 1000;
			if (!deadline)
				deadline = t + 1000;
			bool done = true;
			for (unsigned i = 0; i < s->nclients; i++)
				if (client_has_output(s, s->clients[i]))
					done = false;
			if (done || t >= deadline)
				break;
		}
	}
	log_catch_up(s);
	while (s->nclients)
		drop_client(s, s->nclients - 1);
	return NULL;
}

static int listen_at(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "console socket path %s is too long",
			 path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);
	if (fd < 0)
		goto fail;
	unlink(path);	/* a stale one from a kzhost that died */
	mode_t old = umask(077);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, 16) < 0)
		goto fail;
	return fd;
fail:;
	int e = errno;
	snprintf(err, errlen, "console socket %s: %s", path, strerror(e));
	if (fd >= 0)
		close(fd);
	return -e;
}

int con_server_create(struct con_server **out,
		      const struct con_server_opts *o,
		      const struct con_server_ops *ops, void *ctx, char *err,
		      size_t errlen)
{
	struct con_server *s = calloc(1, sizeof(*s));
	int rc;
	*out = NULL;
	if (!s) {
		snprintf(err, errlen, "console server: out of memory");
		return -ENOMEM;
	}
	s->o = *o;
	s->ops = ops;
	s->ctx = ctx;
	s->listen_fd = s->wake_fd = -1;
	s->at_line_start = true;
	s->log.fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->sock_path, sizeof(s->sock_path), "%s", o->sock_path);
	size_t rs = o->ring_size ? o->ring_size : CON_RING_DEFAULT;
	if ((rc = con_ring_init(&s->ring, rs))) {
		snprintf(err, errlen, "console ring of %zu bytes: %s", rs,
			 rc == -EINVAL ? "too small (4K at least)" :
			 strerror(-rc));
		goto fail;
	}
	if (o->log_path) {
		rc = con_log_open(&s->log, o->log_path,
				  o->log_max ? o->log_max : CON_LOG_MAX_DEFAULT,
				  o->log_keep ? o->log_keep :
				  CON_LOG_KEEP_DEFAULT);
		if (rc) {
			snprintf(err, errlen, "console log %s: %s", o->log_path,
				 rc == -EINVAL ? "size under 1K or more than "
				 "99 rotated files kept" : strerror(-rc));
			goto fail;
		}
		s->have_log = true;
	}
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "console server: eventfd: %s",
			 strerror(errno));
		goto fail;
	}
	if ((rc = s->listen_fd = listen_at(o->sock_path, err, errlen)) < 0)
		goto fail;
	if ((rc = -pthread_create(&s->thread, NULL, server_thread, s))) {
		snprintf(err, errlen, "console server thread: %s",
			 strerror(-rc));
		unlink(s->sock_path);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	if (s->have_log)
		con_log_close(&s->log);
	con_ring_free(&s->ring);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return rc;
}

void con_server_destroy(struct con_server *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_mutex_unlock(&s->lock);
	uint64_t one = 1;
	(void)!write(s->wake_fd, &one, sizeof(one));
	pthread_join(s->thread, NULL);
	unlink(s->sock_path);
	close(s->listen_fd);
	close(s->wake_fd);
	if (s->have_log)
		con_log_close(&s->log);
	con_ring_free(&s->ring);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
