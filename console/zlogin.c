/*
 * zlogin -C ZONE: one zone's console on this terminal (or pipe).
 *
 * Owns the terminal while attached: raw mode when stdin is a terminal,
 * put back on every way out (return, error, fatal signal).  Talks to
 * kzhost's console server only through console.sock; when there is no
 * kzhost (the zone is installed, or halts while we watch) it shows the
 * end of the console log and waits for the zone to boot, unless -d.
 *
 * Escapes, at the start of a line (after CR or LF, or first of all):
 *   ~.  leave    ~#  break    ~?  list escapes    ~~  a literal ~
 * (or with the character given by -e).
 */
#include "zlogin.h"
#include "con_client.h"
#include "con_log.h"
#include "con_proto.h"
#include "store.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PROG "zlogin"
#define LINGER_QUIET_MS 1000	/* stdin ended: leave after this quiet */
#define LINGER_MAX_MS 10000
#define RETRY_MS 250		/* looking for a kzhost to appear */
#define STATE_SETTLE_MS 10000	/* console gone: wait this for the new state */

static struct termios saved_tio;
static bool tio_saved;

static void tty_restore(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	tio_saved = false;
}

static void fatal_signal(int sig)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	static const char m[] = "\r\n[zlogin: ended by a signal]\r\n";
	(void)!write(STDOUT_FILENO, m, sizeof(m) - 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void tty_raw(void)
{
	struct termios t;
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio))
		return;
	tio_saved = true;
	t = saved_tio;
	cfmakeraw(&t);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
}

/* Every signal that would end us puts the terminal back first. */
static void catch_fatal_signals(void)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM,
				    SIGABRT, SIGSEGV, SIGBUS };
	struct sigaction sa = { .sa_handler = fatal_signal };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	atexit(tty_restore);
}

static void usage_line(FILE *f)
{
	fprintf(f,
		"usage: zlogin [-R ROOT] -C [-dfW] [-e C] [-r LINES] ZONE\n"
		"       zlogin [-R ROOT] -C [-fW] [-e C] ZONE ZONE...\n"
		"       zlogin [-R ROOT] -M [-fW] [-e C] [ZONE...]\n");
}

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage_line(stderr);
	return 2;
}

static bool out_at_line_start = true;

static void write_out(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	if (len)
		out_at_line_start = p[len - 1] == '\n';
	while (len) {
		ssize_t n = write(STDOUT_FILENO, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* A line of our own on the console stream, marked as zlogin's. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	char msg[600], line[640];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	int n = snprintf(line, sizeof(line), "%s[%s]\r\n",
			 out_at_line_start ? "" : "\r\n", msg);
	write_out(line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* "~", "^]", "^A": the escape character, or -1. */
static int parse_escape(const char *s)
{
	if (s[0] && !s[1] && (unsigned char)s[0] < 0x80)
		return (unsigned char)s[0];
	if (s[0] == '^' && s[1] && !s[2]) {
		int c = s[1] == '?' ? 0x7f : (s[1] & 0x1f);
		return s[1] == '?' || (s[1] >= '@' && s[1] <= '_') ||
			(s[1] >= 'a' && s[1] <= 'z') ? c : -1;
	}
	return -1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct session {
	const char *root;
	const char *zone;
	char sock[ZS_PATH_MAX];
	char logpath[ZS_PATH_MAX];
	int esc;
	unsigned replay;
	bool detach_on_halt;
	bool force, watch;

	int fd;			/* -1: no kzhost to talk to */
	struct con_parser parser;
	bool rw;		/* we hold the console */
	bool told_ro;
	char state[CON_TEXT_MAX + 1];
	bool ever_connected;

	int esc_state;		/* 0 line start, 1 mid-line, 2 saw escape */
	bool stdin_open;
	uint64_t last_output;	/* for lingering after stdin ends */
	uint64_t stdin_closed_at;
	bool quit;
	int status;
};

static void escape_help(struct session *s)
{
	char e = (char)s->esc;
	char line[400];
	snprintf(line, sizeof(line),
		 "zlogin escapes, at the start of a line: %c. leave, "
		 "%c# send a break, %c? this list, %c%c send %c itself", e, e,
		 e, e, e, e);
	say("%s", line);
}

static int send_input(struct session *s, const uint8_t *buf, size_t len)
{
	if (s->fd < 0 || !len)
		return 0;
	if (!s->rw) {
		if (!s->told_ro)
			say("zlogin: read-only here: input not sent "
			    "(zlogin -f takes the console)");
		s->told_ro = true;
		return 0;
	}
	return con_client_send(s->fd, CON_INPUT, buf, len);
}

/* Keyboard bytes through the escape machine, then to the zone. */
static void keyboard(struct session *s, const uint8_t *buf, size_t len)
{
	enum { LINE_START, MID_LINE, SAW_ESC };
	uint8_t out[1024];
	size_t n = 0;
	for (size_t i = 0; i < len && !s->quit; i++) {
		uint8_t c = buf[i];
		if (n + 2 > sizeof(out)) {
			send_input(s, out, n);
			n = 0;
		}
		if (s->esc_state == SAW_ESC) {
			s->esc_state = MID_LINE;
			if (c == '.') {
				s->quit = true;
				break;
			} else if (c == '#') {
				send_input(s, out, n);
				n = 0;
				if (s->fd < 0)
					say("zlogin: no break sent: zone '%s' "
					    "is not running", s->zone);
				else if (!s->rw)
					say("zlogin: read-only here: no break "
					    "sent");
				else
					con_client_send(s->fd, CON_BREAK, NULL,
							0);
				s->esc_state = LINE_START;
				continue;
			} else if (c == '?') {
				escape_help(s);
				s->esc_state = LINE_START;
				continue;
			} else if (c != s->esc) {
				out[n++] = (uint8_t)s->esc;
			}
			out[n++] = c;
			continue;
		}
		if (s->esc_state == LINE_START && c == s->esc) {
			s->esc_state = SAW_ESC;
			continue;
		}
		s->esc_state = (c == '\r' || c == '\n') ? LINE_START : MID_LINE;
		out[n++] = c;
	}
	send_input(s, out, n);
}

static int on_frame(void *arg, const struct con_frame *f)
{
	struct session *s = arg;
	char text[CON_TEXT_MAX + 1];
	switch (f->type) {
	case CON_DATA:
		write_out(f->payload, f->len);
		s->last_output = now_ms();
		break;
	case CON_SKIPPED:
		say("%llu bytes skipped",
		    (unsigned long long)con_get_be64(f->payload));
		break;
	case CON_STATE:
		memcpy(text, f->payload, f->len);
		text[f->len] = 0;
		if (strcmp(text, s->state))
			say("zone '%s': %s", s->zone, text);
		snprintf(s->state, sizeof(s->state), "%s", text);
		break;
	case CON_ROLE: {
		bool rw = f->payload[0] == CON_ROLE_RW;
		memcpy(text, f->payload + 1, f->len - 1u);
		text[f->len - 1] = 0;
		if ((rw != s->rw && s->ever_connected) || !rw)
			say("zlogin: %s: %s", rw ? "read-write" : "read-only",
			    text);
		s->rw = rw;
		s->told_ro = false;
		s->ever_connected = true;
		break;
	}
	case CON_NOTICE:
		memcpy(text, f->payload, f->len);
		text[f->len] = 0;
		say("kzhost: %s", text);
		break;
	}
	return 0;
}

static void show_log_tail(struct session *s)
{
	uint8_t *buf;
	size_t len;
	if (!s->replay ||
	    con_log_tail(s->logpath, s->replay, 256 << 10, &buf, &len) || !len)
		return;
	write_out(buf, len);
	free(buf);
}

/* Try to reach kzhost; true when connected. */
static bool try_connect(struct session *s, uint32_t replay)
{
	struct con_hello h = { .replay = replay };
	h.flags = (s->force ? CON_HELLO_FORCE : 0) |
		  (s->watch ? CON_HELLO_WATCH : 0);
	const char *tty = isatty(STDIN_FILENO) ? ttyname(STDIN_FILENO) : NULL;
	snprintf(h.name, sizeof(h.name), "zlogin[%d]%s%s", (int)getpid(),
		 tty ? " on " : "", tty ? tty + (strncmp(tty, "/dev/", 5) ?
					       0 : 5) : "");
	int fd = con_client_connect(s->sock, &h);
	if (fd < 0)
		return false;
	s->fd = fd;
	s->rw = true;	/* until told otherwise: no "now read-write" line */
	s->told_ro = false;
	con_parser_init(&s->parser, CON_SIDE_CLIENT);
	return true;
}

static void lost_connection(struct session *s, const char *why)
{
	char err[256];
	close(s->fd);
	s->fd = -1;
	s->rw = false;
	/* kzhost closes the console before it has torn the VM down, and its
	 * supervisor records the new state only after that: a zone still
	 * "running" here is a state about to change, so wait for it (on a
	 * loaded host teardown can take seconds). */
	uint64_t until = now_ms() + STATE_SETTLE_MS;
	int st;
	while (zs_state_settling(st = zs_zone_state(s->root, s->zone, err,
						     sizeof(err))) &&
	       now_ms() < until)
		usleep(20000);
	const char *name = st >= 0 ? zs_state_name((enum zone_state)st) :
		"gone";
	if (why)
		say("zlogin: console of zone '%s': %s", s->zone, why);
	if (s->detach_on_halt) {
		say("zone '%s' is %s: leaving (-d)", s->zone, name);
		s->quit = true;
		return;
	}
	if (st < 0) {
		say("zone '%s': %s: leaving", s->zone, err);
		s->quit = true;
		s->status = 1;
		return;
	}
	say("zone '%s' is %s; waiting for it to boot (%c. leaves)", s->zone,
	    name, s->esc);
	s->state[0] = 0;
}

static void sock_readable(struct session *s)
{
	uint8_t buf[CON_FRAME_MAX];
	ssize_t n = read(s->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		lost_connection(s, NULL);
		return;
	}
	if (con_parser_feed(&s->parser, buf, (size_t)n, on_frame, s)) {
		char why[200];
		snprintf(why, sizeof(why), "protocol error from kzhost: %s",
			 s->parser.err);
		lost_connection(s, why);
	}
}

static int session_run(struct session *s)
{
	char err[256];
	int st = zs_zone_state(s->root, s->zone, err, sizeof(err));
	if (st < 0) {
		fprintf(stderr, PROG ": zone '%s': %s\n", s->zone, err);
		return 1;
	}
	if (st < ZS_INSTALLED) {
		fprintf(stderr, PROG ": zone '%s': not installed (it is %s), so "
			"it has no console yet\n", s->zone,
			zs_state_name((enum zone_state)st));
		return 1;
	}
	s->fd = -1;
	bool up = try_connect(s, s->replay);
	if (!up && s->detach_on_halt) {
		fprintf(stderr, PROG ": zone '%s': not running (it is %s)\n",
			s->zone, zs_state_name((enum zone_state)st));
		return 1;
	}
	tty_raw();
	if (up) {
		say("zlogin: attached to the console of zone '%s'; %c? lists "
		    "escapes", s->zone, s->esc);
	} else {
		show_log_tail(s);
		say("zlogin: zone '%s' is %s; waiting for it to boot (%c. "
		    "leaves, %c? lists escapes)", s->zone,
		    zs_state_name((enum zone_state)st), s->esc, s->esc);
	}
	s->stdin_open = true;
	uint64_t next_try = 0;
	while (!s->quit) {
		struct pollfd p[2];
		int np = 0, timeout = -1;
		int in_ix = -1, fd_ix = -1;
		if (s->stdin_open) {
			in_ix = np;
			p[np++] = (struct pollfd){ STDIN_FILENO, POLLIN, 0 };
		}
		if (s->fd >= 0) {
			fd_ix = np;
			p[np++] = (struct pollfd){ s->fd, POLLIN, 0 };
		} else {
			timeout = RETRY_MS;
		}
		if (!s->stdin_open) {
			uint64_t t = now_ms();
			if (s->fd < 0 ||
			    t - s->last_output >= LINGER_QUIET_MS ||
			    t - s->stdin_closed_at >= LINGER_MAX_MS)
				break;
			timeout = 100;
		}
		if (poll(p, (nfds_t)np, timeout) < 0) {
			if (errno == EINTR)
				continue;
			s->status = 1;
			break;
		}
		if (fd_ix >= 0 && p[fd_ix].revents)
			sock_readable(s);
		if (in_ix >= 0 && p[in_ix].revents) {
			uint8_t buf[1024];
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n > 0) {
				keyboard(s, buf, (size_t)n);
			} else if (n == 0 || (errno != EINTR &&
					      errno != EAGAIN)) {
				s->stdin_open = false;
				s->stdin_closed_at = s->last_output = now_ms();
			}
		}
		if (s->fd < 0 && !s->quit && now_ms() >= next_try) {
			next_try = now_ms() + RETRY_MS;
			/* A new kzhost: all its ring is news to us. */
			if (try_connect(s, UINT32_MAX))
				say("zlogin: zone '%s' is up: attached to its "
				    "console", s->zone);
		}
	}
	if (s->fd >= 0)
		close(s->fd);
	say("zlogin: detached from zone '%s'", s->zone);
	tty_restore();
	return s->status;
}

/* Rows of the terminal we show the console on, for the default replay. */
static unsigned screen_rows(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 1)
		return ws.ws_row - 1u;
	return 24;
}

int cmd_zlogin(int argc, char **argv)
{
	const char *root_opt = NULL, *esc_opt = NULL;
	bool console = false, multi = false, detach = false, force = false,
	     watch = false;
	long replay = -1;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, "+CMR:e:r:dfWh")) != -1) {
		switch (c) {
		case 'C': console = true; break;
		case 'M': multi = true; break;
		case 'R': root_opt = optarg; break;
		case 'e': esc_opt = optarg; break;
		case 'd': detach = true; break;
		case 'f': force = true; break;
		case 'W': watch = true; break;
		case 'r': {
			char *end;
			errno = 0;
			replay = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || replay < 0 ||
			    replay > 1000000)
				return usage("-r %s: expected a number of lines "
					     "from 0 to 1000000", optarg);
			break;
		}
		case 'h':
			usage_line(stdout);
			return 0;
		default:
			if (optopt == 'R' || optopt == 'e' || optopt == 'r')
				return usage("-%c needs a value", optopt);
			return usage("unknown option -%c", optopt);
		}
	}
	if (!console && !multi)
		return usage("only console logins are offered: zones run their "
			     "own kernels and have no login service to "
			     "reach; use -C ZONE");
	if (force && watch)
		return usage("-f and -W ask for opposite things");
	int nzones = argc - optind;
	if (!multi && nzones == 0)
		return usage("-C needs a zone");
	const char *root = zs_root(root_opt);
	for (int i = optind; i < argc; i++) {
		char err[256];
		if (!zs_name_valid(argv[i], err, sizeof(err))) {
			fprintf(stderr, PROG ": %s\n", err);
			return 1;
		}
	}
	int esc = -1;
	if (esc_opt && (esc = parse_escape(esc_opt)) < 0)
		return usage("-e %s: expected one character, or ^X for a "
			     "control character", esc_opt);

	if (multi || nzones > 1) {
		if (detach || replay >= 0)
			return usage("-d and -r are for a single console");
		if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
			fprintf(stderr, PROG ": the multiplexer needs a "
				"terminal; use zlogin -C ZONE for one zone\n");
			return 1;
		}
		struct mux_opts mo = {
			.root = root, .zones = argv + optind,
			.nzones = nzones, .follow = multi, .force = force,
			.watch = watch, .prefix = esc >= 0 ? esc : 0x01,
		};
		return mux_main(&mo);
	}

	struct session s = {
		.root = root, .zone = argv[optind],
		.esc = esc >= 0 ? esc : '~',
		.replay = replay >= 0 ? (unsigned)replay : screen_rows(),
		.detach_on_halt = detach, .force = force, .watch = watch,
		.fd = -1,
	};
	if (con_socket_path(s.sock, sizeof(s.sock), root, s.zone) ||
	    con_log_path(s.logpath, sizeof(s.logpath), root, s.zone)) {
		fprintf(stderr, PROG ": zone '%s': root path too long\n",
			s.zone);
		return 1;
	}
	catch_fatal_signals();
	return session_run(&s);
}
