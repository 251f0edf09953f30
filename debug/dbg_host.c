/*
 * The debugger's life inside kzhost (see dbg_host.h for who calls what).
 *
 * States:
 *   IDLE     nobody debugs; console keystrokes go to the guest.
 *   STOPPED  claimed, every vCPU stopped, the engine reads lines from its
 *            frontend: the console (prompt "[N]> " on the console) or one
 *            kzdb client on kmdb.sock.
 *   RUNNING  claimed, the guest runs after :c with breakpoints set; the
 *            thread polls for the next event and goes back to STOPPED on
 *            that frontend.  ~# (console) or ^C (kzdb) stops the guest.
 * $q, a kzdb client going away, or :c from the console with no
 * breakpoints left releases the machine (breakpoints removed, vCPUs
 * resumed with the guest's clock told about the pause) and goes IDLE.
 *
 * Everything the engine does happens on this file's thread; other
 * threads only write single bytes or buffered keystrokes into a pipe.
 */
#include "dbg_host.h"
#include "dbg.h"
#include "ctl.h"
#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN	1024
#define POLL_MS		20

enum host_state { H_IDLE, H_STOPPED, H_RUNNING };
enum frontend { F_NONE, F_CONSOLE, F_SOCKET };

/* Messages through the wake pipe: one tag byte, then data for 'k'. */
#define MSG_BREAK	'b'
#define MSG_PANIC	'p'
#define MSG_KEYS	'k'
#define MSG_QUIT	'q'
#define MSG_REBOOTED	'r'

struct dbg_host {
	struct dbg_host_opts o;
	struct dbg *d;
	pthread_t thread;
	bool thread_started;
	int pipe[2];
	int listen_fd;
	int client_fd;
	enum host_state state;
	enum frontend fe;
	bool console_held;	/* read by the console server thread */
	bool panicked;
	/* Messages the thread has acted on, for post_and_wait. */
	pthread_mutex_t done_lock;
	pthread_cond_t done_cond;
	unsigned done;
	char line[LINE_MAX_LEN];
	size_t line_len;
	char cline[LINE_MAX_LEN];	/* socket input being assembled */
	size_t cline_len;
};

static void hlog(struct dbg_host *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void hlog(struct dbg_host *h, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (h->o.ops->log)
		h->o.ops->log(h->o.ctx, msg);
}

/* The console wants CR LF; the engine writes LF. */
static void console_write(struct dbg_host *h, const char *buf, size_t len)
{
	char tmp[512];
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n')
			tmp[n++] = '\r';
		tmp[n++] = buf[i];
		if (n >= sizeof(tmp) - 2) {
			h->o.ops->console_out(h->o.ctx, tmp, n);
			n = 0;
		}
	}
	if (n)
		h->o.ops->console_out(h->o.ctx, tmp, n);
}

static void sock_write(struct dbg_host *h, const char *buf, size_t len)
{
	while (h->client_fd >= 0 && len) {
		ssize_t w = send(h->client_fd, buf, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;	/* the client is gone; noticed by poll */
		buf += w;
		len -= (size_t)w;
	}
}

static void engine_out(void *ctx, const char *buf, size_t len)
{
	struct dbg_host *h = ctx;
	if (h->fe == F_SOCKET)
		sock_write(h, buf, len);
	else
		console_write(h, buf, len);
}

static void show_prompt(struct dbg_host *h)
{
	char p[32];
	dbg_prompt(h->d, p, sizeof(p));
	if (h->fe == F_SOCKET) {
		char rec[64];
		int n = snprintf(rec, sizeof(rec), "%cOK %s\n", DBG_SOCK_END, p);
		sock_write(h, rec, (size_t)n);
	} else {
		console_write(h, p, strlen(p));
	}
}

static void set_console_held(struct dbg_host *h, bool v)
{
	__atomic_store_n(&h->console_held, v, __ATOMIC_RELEASE);
}

/* Claim and stop the machine for a frontend; false when someone else has it. */
static bool enter(struct dbg_host *h, enum frontend fe, const char *why)
{
	char holder[64] = "";
	struct kz_target *t = h->o.target;
	if (h->o.ops->claim(h->o.ctx, holder, sizeof(holder))) {
		char msg[160];
		int n = snprintf(msg, sizeof(msg), "kmdb: the zone is being "
				 "debugged by %s\n", holder);
		if (fe == F_SOCKET) {
			sock_write(h, msg, (size_t)n);
			char rec[] = { DBG_SOCK_END, 'B', 'U', 'S', 'Y', '\n' };
			sock_write(h, rec, sizeof(rec));
		} else {
			console_write(h, msg, (size_t)n);
		}
		return false;
	}
	(void)t->ops->stop(t);
	struct kz_event ev;
	unsigned cpu = 0;
	/* Take the stop event so that the next one is news. */
	if (t->ops->wait_event(t, &ev, 1000) == 0 &&
	    ev.kind != KZ_EVENT_PANIC && ev.kind != KZ_EVENT_POWEROFF)
		cpu = ev.cpu;
	h->fe = fe;
	h->state = H_STOPPED;
	h->line_len = 0;
	set_console_held(h, fe == F_CONSOLE);
	dbg_enter(h->d, why, cpu);
	hlog(h, "debugger entered: %s", why);
	show_prompt(h);
	return true;
}

static void leave(struct dbg_host *h, const char *why)
{
	if (h->state == H_IDLE)
		return;
	dbg_forget_breakpoints(h->d);
	/* Said before the guest runs again, so its output cannot cut in. */
	if (h->fe == F_CONSOLE) {
		char msg[128];
		int n = snprintf(msg, sizeof(msg), "kmdb: %s\n", why);
		console_write(h, msg, (size_t)n);
	}
	h->o.ops->release(h->o.ctx);
	hlog(h, "debugger left: %s", why);
	h->state = H_IDLE;
	h->fe = F_NONE;
	set_console_held(h, false);
}

/*
 * The machine was reset under the debugger: its breakpoints went with the
 * old memory and the new boot owes the old session nothing, so the
 * session ends and the zone runs.  kzdb gets the reason and its QUIT.
 */
static void leave_rebooted(struct dbg_host *h)
{
	static const char why[] = "the zone rebooted; leaving the debugger "
				  "(its breakpoints are gone)";
	bool by_socket = h->fe == F_SOCKET;
	if (by_socket) {
		char msg[128];
		int n = snprintf(msg, sizeof(msg), "kmdb: %s\n", why);
		sock_write(h, msg, (size_t)n);
		char rec[] = { DBG_SOCK_END, 'Q', 'U', 'I', 'T', '\n' };
		sock_write(h, rec, sizeof(rec));
	}
	leave(h, why);
	if (by_socket && h->client_fd >= 0) {
		close(h->client_fd);
		h->client_fd = -1;
		h->cline_len = 0;
	}
}

static void drop_client(struct dbg_host *h)
{
	if (h->client_fd < 0)
		return;
	if (h->fe == F_SOCKET)
		leave(h, "kzdb detached; the guest resumes");
	close(h->client_fd);
	h->client_fd = -1;
	h->cline_len = 0;
}

static void on_event(struct dbg_host *h, const struct kz_event *ev);

/* Run one line from the current frontend. */
static void run_line(struct dbg_host *h, const char *line)
{
	struct kz_target *t = h->o.target;
	enum dbg_result r = dbg_exec(h->d, line);
	switch (r) {
	case DBG_QUIT:
		if (h->fe == F_SOCKET) {
			char rec[] = { DBG_SOCK_END, 'Q', 'U', 'I', 'T', '\n' };
			sock_write(h, rec, sizeof(rec));
		}
		leave(h, h->o.ops->panicked && h->o.ops->panicked(h->o.ctx) ?
		      "leaving the debugger; the guest has panicked and runs "
		      "again only after a reboot" :
		      "leaving the debugger; the guest resumes");
		return;
	case DBG_RESUMED: {
		struct kz_event ev;
		if (t->ops->wait_event(t, &ev, 0) == 0) {
			/* A panicked machine cannot go on: say so and stay. */
			if (ev.kind == KZ_EVENT_PANIC ||
			    ev.kind == KZ_EVENT_POWEROFF) {
				dbg_printf(h->d, "kmdb: the guest has %s and "
					   "cannot continue; $q leaves the "
					   "debugger, zoneadm halt or reboot "
					   "ends this boot\n",
					   ev.kind == KZ_EVENT_PANIC ? "panicked"
								      : "stopped");
				show_prompt(h);
				return;
			}
			/*
			 * It stopped again already (a breakpoint just ahead,
			 * in a tight loop): this was that stop's event, taken
			 * here, so show it now or nobody will.
			 */
			on_event(h, &ev);
			return;
		}
		if (h->fe == F_CONSOLE && !dbg_has_breakpoints(h->d)) {
			leave(h, "continuing; the debugger is detached");
			return;
		}
		h->state = H_RUNNING;
		set_console_held(h, false);
		return;
	}
	default:
		show_prompt(h);
	}
}

/* Console keystrokes while the debugger holds the console. */
static void console_keys(struct dbg_host *h, const uint8_t *buf, size_t len)
{
	size_t i;
	for (i = 0; i < len && h->state == H_STOPPED && h->fe == F_CONSOLE;
	     i++) {
		uint8_t c = buf[i];
		if (c == '\r' || c == '\n') {
			console_write(h, "\n", 1);
			h->line[h->line_len] = 0;
			h->line_len = 0;
			run_line(h, h->line);
		} else if (c == 0x7f || c == 0x08) {
			if (h->line_len) {
				h->line_len--;
				console_write(h, "\b \b", 3);
			}
		} else if (c == 0x03 || c == 0x15) {
			h->line_len = 0;
			console_write(h, "^C\n", 3);
			show_prompt(h);
		} else if (c >= 0x20 && c < 0x7f &&
			   h->line_len < sizeof(h->line) - 1) {
			h->line[h->line_len++] = (char)c;
			console_write(h, (const char *)&c, 1);
		}
	}
	/*
	 * Keys typed after the line that let the guest go ($q, :c) were
	 * meant for the guest: they reached us only because the console
	 * was still ours when they were typed.
	 */
	if (i < len && h->o.ops->console_in)
		h->o.ops->console_in(h->o.ctx, buf + i, len - i);
}

static void on_break(struct dbg_host *h)
{
	struct kz_target *t = h->o.target;
	if (h->state == H_IDLE) {
		(void)enter(h, F_CONSOLE, "break from the console");
	} else if (h->state == H_RUNNING && h->fe == F_CONSOLE) {
		(void)t->ops->stop(t);	/* the event brings the prompt */
	}
}

static void on_event(struct dbg_host *h, const struct kz_event *ev)
{
	h->state = H_STOPPED;
	set_console_held(h, h->fe == F_CONSOLE);
	h->line_len = 0;
	dbg_stopped(h->d, ev);
	show_prompt(h);
}

static void accept_client(struct dbg_host *h)
{
	int fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (h->client_fd >= 0 || h->state != H_IDLE) {
		static const char busy[] = "kmdb: the debugger is in use (on "
					   "the console or by another kzdb)\n";
		char rec[] = { DBG_SOCK_END, 'B', 'U', 'S', 'Y', '\n' };
		(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
		(void)!send(fd, rec, sizeof(rec), MSG_NOSIGNAL);
		close(fd);
		return;
	}
	h->client_fd = fd;
	h->fe = F_SOCKET;
	if (!enter(h, F_SOCKET, "kzdb attached")) {
		h->fe = F_NONE;
		close(h->client_fd);
		h->client_fd = -1;
	}
}

static void client_input(struct dbg_host *h)
{
	char buf[512];
	ssize_t n = recv(h->client_fd, buf, sizeof(buf), 0);
	if (n <= 0) {
		if (n < 0 && errno == EINTR)
			return;
		drop_client(h);
		return;
	}
	for (ssize_t i = 0; i < n && h->client_fd >= 0; i++) {
		char c = buf[i];
		if (c == DBG_SOCK_INTR) {
			if (h->state == H_RUNNING)
				(void)h->o.target->ops->stop(h->o.target);
			continue;
		}
		if (h->state != H_STOPPED)
			continue;	/* typed ahead while running: dropped */
		if (c == '\n') {
			h->cline[h->cline_len] = 0;
			h->cline_len = 0;
			run_line(h, h->cline);
			if (h->state == H_IDLE) {
				/* $q: the client has its QUIT record. */
				close(h->client_fd);
				h->client_fd = -1;
			}
		} else if (h->cline_len < sizeof(h->cline) - 1) {
			h->cline[h->cline_len++] = c;
		}
	}
}

/* Reads the rest of a message the writer wrote whole (<= PIPE_BUF). */
static size_t read_more(struct dbg_host *h, uint8_t *buf, size_t want)
{
	size_t got = 0;
	while (got < want) {
		ssize_t r = read(h->pipe[0], buf + got, want - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* A message post_and_wait sent is dealt with. */
static void acted(struct dbg_host *h)
{
	pthread_mutex_lock(&h->done_lock);
	h->done++;
	pthread_cond_broadcast(&h->done_cond);
	pthread_mutex_unlock(&h->done_lock);
}

static void pipe_input(struct dbg_host *h, bool *quit)
{
	uint8_t tag, keys[255], k;
	if (read_more(h, &tag, 1) != 1)
		return;
	switch (tag) {
	case MSG_QUIT:
		*quit = true;
		break;
	case MSG_BREAK:
		on_break(h);
		break;
	case MSG_PANIC:
		h->panicked = true;
		if (h->state == H_IDLE)
			(void)enter(h, F_CONSOLE, "the guest panicked");
		acted(h);
		break;
	case MSG_REBOOTED:
		h->panicked = false;
		if (h->state != H_IDLE)
			leave_rebooted(h);
		acted(h);
		break;
	case MSG_KEYS:
		if (read_more(h, &k, 1) == 1 && read_more(h, keys, k) == k)
			console_keys(h, keys, k);
		break;
	}
}

static void *host_thread(void *arg)
{
	struct dbg_host *h = arg;
	bool quit = false;
	while (!quit) {
		struct pollfd p[3];
		nfds_t n = 0;
		p[n++] = (struct pollfd){ .fd = h->pipe[0], .events = POLLIN };
		int li = -1, ci = -1;
		if (h->listen_fd >= 0) {
			li = (int)n;
			p[n++] = (struct pollfd){ .fd = h->listen_fd,
						  .events = POLLIN };
		}
		if (h->client_fd >= 0) {
			ci = (int)n;
			p[n++] = (struct pollfd){ .fd = h->client_fd,
						  .events = POLLIN };
		}
		int rc = poll(p, n, h->state == H_RUNNING ? POLL_MS : -1);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc > 0 && (p[0].revents & POLLIN))
			pipe_input(h, &quit);
		if (quit)
			break;
		if (li >= 0 && rc > 0 && (p[li].revents & POLLIN))
			accept_client(h);
		if (ci >= 0 && rc > 0 && h->client_fd >= 0 &&
		    (p[ci].revents & (POLLIN | POLLHUP | POLLERR)))
			client_input(h);
		if (h->state == H_RUNNING) {
			struct kz_event ev;
			if (h->o.target->ops->wait_event(h->o.target, &ev, 0) == 0)
				on_event(h, &ev);
		}
	}
	return NULL;
}

static void post(struct dbg_host *h, const uint8_t *msg, size_t len)
{
	while (len) {
		ssize_t w = write(h->pipe[1], msg, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		msg += w;
		len -= (size_t)w;
	}
}

int dbg_host_create(struct dbg_host **out, const struct dbg_host_opts *o,
		    char *err, size_t errlen)
{
	struct dbg_host *h = calloc(1, sizeof(*h));
	char name[160], serr[256];
	int rc;
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	h->o = *o;
	h->listen_fd = h->client_fd = -1;
	pthread_mutex_init(&h->done_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->done_cond, &ca);
	pthread_condattr_destroy(&ca);
	h->pipe[0] = h->pipe[1] = -1;
	snprintf(name, sizeof(name), "zone '%s'", o->zone);
	struct dbg_opts dop = { .target = o->target, .out = engine_out,
				.out_ctx = h, .kernel = o->kernel,
				.name = name, .prog = "kmdb" };
	if (o->kernel && access(o->kernel, R_OK) != 0)
		dop.kernel = NULL;
	rc = dbg_create(&h->d, &dop, serr, sizeof(serr));
	if (rc && dop.kernel) {
		/* No symbols is a poorer debugger, not none at all. */
		hlog(h, "debugger: no symbols from %s: %s", o->kernel, serr);
		dop.kernel = NULL;
		rc = dbg_create(&h->d, &dop, serr, sizeof(serr));
	}
	if (rc) {
		snprintf(err, errlen, "debugger: %s", serr);
		goto fail;
	}
	if (pipe2(h->pipe, O_CLOEXEC) < 0) {
		rc = -errno;
		snprintf(err, errlen, "debugger: pipe: %s", strerror(errno));
		goto fail;
	}
	if (o->sock_path) {
		h->listen_fd = ctl_listen(o->sock_path);
		if (h->listen_fd < 0) {
			rc = h->listen_fd;
			h->listen_fd = -1;
			snprintf(err, errlen, "debugger socket %s: %s",
				 o->sock_path, strerror(-rc));
			goto fail;
		}
	}
	if ((rc = -pthread_create(&h->thread, NULL, host_thread, h))) {
		snprintf(err, errlen, "debugger thread: %s", strerror(-rc));
		goto fail;
	}
	h->thread_started = true;
	*out = h;
	return 0;
fail:
	dbg_host_destroy(h);
	return rc;
}

void dbg_host_destroy(struct dbg_host *h)
{
	if (!h)
		return;
	if (h->thread_started) {
		uint8_t q = MSG_QUIT;
		post(h, &q, 1);
		pthread_join(h->thread, NULL);
	}
	if (h->client_fd >= 0)
		close(h->client_fd);
	if (h->listen_fd >= 0) {
		close(h->listen_fd);
		if (h->o.sock_path)
			unlink(h->o.sock_path);
	}
	if (h->pipe[0] >= 0)
		close(h->pipe[0]);
	if (h->pipe[1] >= 0)
		close(h->pipe[1]);
	dbg_destroy(h->d);
	pthread_cond_destroy(&h->done_cond);
	pthread_mutex_destroy(&h->done_lock);
	free(h);
}

void dbg_host_break(struct dbg_host *h, char *msg, size_t len)
{
	uint8_t b = MSG_BREAK;
	post(h, &b, 1);
	snprintf(msg, len, "break: entering the kernel debugger");
}

bool dbg_host_console_input(struct dbg_host *h, const uint8_t *buf,
			    size_t len)
{
	if (!__atomic_load_n(&h->console_held, __ATOMIC_ACQUIRE))
		return false;
	while (len) {
		uint8_t msg[2 + 255];
		size_t k = len > 255 ? 255 : len;
		msg[0] = MSG_KEYS;
		msg[1] = (uint8_t)k;
		memcpy(msg + 2, buf, k);
		post(h, msg, k + 2);
		buf += k;
		len -= k;
	}
	return true;
}

/*
 * Post one message and wait until the thread has acted on it, for up to
 * 5 s (a command runs at most that long).
 */
static void post_and_wait(struct dbg_host *h, uint8_t msg)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&h->done_lock);
	unsigned seen = h->done;
	post(h, &msg, 1);
	while (h->done == seen &&
	       pthread_cond_timedwait(&h->done_cond, &h->done_lock,
				      &until) == 0)
		;
	pthread_mutex_unlock(&h->done_lock);
}

void dbg_host_rebooted(struct dbg_host *h)
{
	post_and_wait(h, MSG_REBOOTED);
}

void dbg_host_panic(struct dbg_host *h)
{
	post_and_wait(h, MSG_PANIC);
}
