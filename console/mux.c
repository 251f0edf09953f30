/*
 * The console multiplexer: zlogin -C ZONE ZONE... and zlogin -M.
 *
 * Theory.  Each zone has one connection to its console.sock and one
 * libvterm terminal that all its output goes through, so a zone's screen
 * is right (colours, cursor motion, full-screen programs) whichever tab
 * shows it.  Lines that scroll off the top are kept as scrollback; on
 * connecting we ask for the whole ring, so the scrollback starts with
 * what the zone printed before we came.
 *
 * Tabs hold a binary tree of panes (a pane shows one zone; a split node
 * divides its area side by side or stacked), like tmux.  Each pane has a
 * status line: zone, state, auxiliary state, read-write or read-only,
 * and the last notice.  Everything is redrawn from the vterm screens
 * after each batch of events; ncurses sends only what changed.
 *
 * Keys go to the zone of the active pane, except after the prefix key
 * (^A unless -e): see help_text.  Input never blocks on a zone: a zone
 * whose kzhost is gone is retried every half second, and -M re-reads
 * the zone index every second to follow zones as they boot.
 */
#include "zlogin.h"
#include "con_client.h"
#include "con_proto.h"
#include "store.h"

#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <ncursesw/curses.h>
#include <vterm.h>

#define MAX_ZONES 64
#define MAX_TABS 32
#define SB_LINES 2000
#define RETRY_MS 500
#define INDEX_MS 1000

struct sbline {
	int cols;
	VTermScreenCell *cells;
};

struct mzone {
	char name[ZS_NAME_MAX + 1];
	char sock[ZS_PATH_MAX];
	int fd;
	struct con_parser parser;
	VTerm *vt;
	VTermScreen *vts;
	int rows, cols;
	struct sbline sb[SB_LINES];
	int sb_n, sb_head;	/* ring of scrollback lines */
	char state[CON_TEXT_MAX + 1];
	bool rw;
	bool force_next;	/* connect with FORCE next time */
	char note[CON_TEXT_MAX + 1];
	uint64_t next_try;
};

enum { LEAF, SPLIT_H /* side by side */, SPLIT_V /* stacked */ };

struct node {
	int kind;
	int zone;		/* LEAF */
	struct node *a, *b, *parent;
	int y, x, h, w;
};

struct tab {
	struct node *root;
	struct node *active;
	bool zoom;
};

enum mode { M_NORMAL, M_PREFIX, M_SCROLL, M_HELP };

struct mux {
	const struct mux_opts *o;
	struct mzone *zones[MAX_ZONES];
	int nzones;
	struct tab tabs[MAX_TABS];
	int ntabs, cur;
	enum mode mode;
	int scroll;		/* lines back into the active zone's history */
	bool quit;
	uint64_t next_index;
	char msg[200];		/* one-line message on the tab bar */
};

static volatile sig_atomic_t got_winch, got_quit;
static struct termios saved_tio;
static bool tio_saved;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_winch(int sig)
{
	(void)sig;
	got_winch = 1;
}

static void on_quit(int sig)
{
	(void)sig;
	got_quit = 1;
}

static void on_fatal(int sig)
{
	static const char m[] = "\033[?1049l\r\n[zlogin: ended by a signal]\r\n";
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	(void)!write(STDOUT_FILENO, m, sizeof(m) - 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- zones ---- */

static int sb_pushline(int cols, const VTermScreenCell *cells, void *user)
{
	struct mzone *z = user;
	struct sbline *l;
	if (z->sb_n < SB_LINES) {
		l = &z->sb[(z->sb_head + z->sb_n++) % SB_LINES];
	} else {
		l = &z->sb[z->sb_head];
		z->sb_head = (z->sb_head + 1) % SB_LINES;
		free(l->cells);
	}
	l->cells = malloc(sizeof(*cells) * (size_t)cols);
	l->cols = l->cells ? cols : 0;
	if (l->cells)
		memcpy(l->cells, cells, sizeof(*cells) * (size_t)cols);
	return 1;
}

static const VTermScreenCallbacks screen_cbs = { .sb_pushline = sb_pushline };

/* What the terminal emulator answers (cursor reports...) goes back. */
static void vt_output(const char *s, size_t len, void *user)
{
	struct mzone *z = user;
	if (z->fd >= 0 && z->rw)
		(void)con_client_send(z->fd, CON_INPUT, s, len);
}

static struct mzone *zone_add(struct mux *m, const char *name)
{
	if (m->nzones == MAX_ZONES)
		return NULL;
	struct mzone *z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	snprintf(z->name, sizeof(z->name), "%s", name);
	if (con_socket_path(z->sock, sizeof(z->sock), m->o->root, name)) {
		free(z);
		return NULL;
	}
	z->fd = -1;
	z->rows = 24;
	z->cols = 80;
	z->vt = vterm_new(z->rows, z->cols);
	vterm_set_utf8(z->vt, 1);
	vterm_output_set_callback(z->vt, vt_output, z);
	z->vts = vterm_obtain_screen(z->vt);
	vterm_screen_set_callbacks(z->vts, &screen_cbs, z);
	vterm_screen_enable_altscreen(z->vts, 1);
	vterm_screen_reset(z->vts, 1);
	snprintf(z->state, sizeof(z->state), "?");
	m->zones[m->nzones++] = z;
	return z;
}

static void zone_free(struct mzone *z)
{
	if (z->fd >= 0)
		close(z->fd);
	for (int i = 0; i < SB_LINES; i++)
		free(z->sb[i].cells);
	vterm_free(z->vt);
	free(z);
}

static void zone_feed(struct mzone *z, const void *buf, size_t len)
{
	vterm_input_write(z->vt, buf, len);
}

static void zone_say(struct mzone *z, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void zone_say(struct mzone *z, const char *fmt, ...)
{
	char msg[300], line[330];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	int n = snprintf(line, sizeof(line), "\r\n[%s]\r\n", msg);
	zone_feed(z, line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static int zone_frame(void *arg, const struct con_frame *f)
{
	struct mzone *z = arg;
	switch (f->type) {
	case CON_DATA:
		zone_feed(z, f->payload, f->len);
		break;
	case CON_SKIPPED:
		zone_say(z, "%llu bytes skipped",
			 (unsigned long long)con_get_be64(f->payload));
		break;
	case CON_STATE:
		memcpy(z->state, f->payload, f->len);
		z->state[f->len] = 0;
		break;
	case CON_ROLE:
		z->rw = f->payload[0] == CON_ROLE_RW;
		memcpy(z->note, f->payload + 1, f->len - 1u);
		z->note[f->len - 1] = 0;
		break;
	case CON_NOTICE:
		memcpy(z->note, f->payload, f->len);
		z->note[f->len] = 0;
		break;
	}
	return 0;
}

static void zone_index_state(struct mux *m, struct mzone *z)
{
	char err[256];
	int st = zs_zone_state(m->o->root, z->name, err, sizeof(err));
	if (st >= 0)
		snprintf(z->state, sizeof(z->state), "%s",
			 zs_state_name((enum zone_state)st));
	else if (st == -ENOENT)
		snprintf(z->state, sizeof(z->state), "no such zone");
}

static void zone_disconnect(struct mux *m, struct mzone *z)
{
	close(z->fd);
	z->fd = -1;
	z->rw = false;
	z->note[0] = 0;
	/* The supervisor records the new state only once kzhost has torn
	 * the VM down, which can take seconds: the pane does not name a
	 * state that may be stale, and the status line follows the index. */
	snprintf(z->state, sizeof(z->state), "%s", "console closed");
	m->next_index = 0;
	zone_say(z, "zone '%s': console closed; waiting for it to boot",
		 z->name);
}

static void zone_try_connect(struct mux *m, struct mzone *z)
{
	uint64_t t = now_ms();
	if (z->fd >= 0 || t < z->next_try)
		return;
	z->next_try = t + RETRY_MS;
	struct con_hello h = { .replay = UINT32_MAX };
	h.flags = (m->o->watch ? CON_HELLO_WATCH : 0) |
		  (m->o->force || z->force_next ? CON_HELLO_FORCE : 0);
	snprintf(h.name, sizeof(h.name), "zlogin[%d] multiplexer",
		 (int)getpid());
	int fd = con_client_connect(z->sock, &h);
	if (fd < 0) {
		if (!strcmp(z->state, "?"))
			zone_index_state(m, z);
		return;
	}
	z->force_next = false;
	z->fd = fd;
	con_parser_init(&z->parser, CON_SIDE_CLIENT);
}

static void zone_read(struct mux *m, struct mzone *z)
{
	uint8_t buf[16384];
	ssize_t n = recv(z->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		zone_disconnect(m, z);
		return;
	}
	if (con_parser_feed(&z->parser, buf, (size_t)n, zone_frame, z)) {
		snprintf(z->note, sizeof(z->note), "protocol error: %s",
			 z->parser.err);
		zone_disconnect(m, z);
	}
}

/* ---- layout ---- */

static struct node *leaf(int zone)
{
	struct node *n = calloc(1, sizeof(*n));
	if (n) {
		n->kind = LEAF;
		n->zone = zone;
	}
	return n;
}

static void tree_free(struct node *n)
{
	if (!n)
		return;
	tree_free(n->a);
	tree_free(n->b);
	free(n);
}

static bool tree_has(const struct node *n, int zone)
{
	if (!n)
		return false;
	if (n->kind == LEAF)
		return n->zone == zone;
	return tree_has(n->a, zone) || tree_has(n->b, zone);
}

static struct node *first_leaf(struct node *n)
{
	while (n && n->kind != LEAF)
		n = n->a;
	return n;
}

/* The leaf after l in reading order, wrapping around. */
static struct node *next_leaf(struct node *root, struct node *l)
{
	struct node *n = l;
	while (n->parent && n->parent->b == n)
		n = n->parent;
	if (!n->parent)
		return first_leaf(root);
	return first_leaf(n->parent->b);
}

/* Replace leaf l by a split of l and a new leaf for zone. */
static struct node *split(struct node *l, int kind, int zone)
{
	struct node *a = leaf(l->zone), *b = leaf(zone);
	if (!a || !b) {
		free(a);
		free(b);
		return NULL;
	}
	l->kind = kind;
	l->a = a;
	l->b = b;
	a->parent = b->parent = l;
	return b;
}

/* Build a tab tiling zones[0..n), alternating the split direction. */
static struct node *tile(const int *zones, int n, int kind)
{
	if (n == 1)
		return leaf(zones[0]);
	struct node *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	int half = (n + 1) / 2;
	int next = kind == SPLIT_H ? SPLIT_V : SPLIT_H;
	s->kind = kind;
	s->a = tile(zones, half, next);
	s->b = tile(zones + half, n - half, next);
	if (!s->a || !s->b) {
		tree_free(s);
		return NULL;
	}
	s->a->parent = s->b->parent = s;
	return s;
}

static void layout(struct node *n, int y, int x, int h, int w)
{
	n->y = y;
	n->x = x;
	n->h = h;
	n->w = w;
	if (n->kind == SPLIT_H) {
		int wa = (w - 1) / 2;
		layout(n->a, y, x, h, wa);
		layout(n->b, y, x + wa + 1, h, w - wa - 1);
	} else if (n->kind == SPLIT_V) {
		int ha = h / 2;
		layout(n->a, y, x, ha, w);
		layout(n->b, y + ha, x, h - ha, w);
	}
}

static int tab_add(struct mux *m, struct node *root)
{
	if (!root || m->ntabs == MAX_TABS) {
		tree_free(root);
		return -1;
	}
	m->tabs[m->ntabs] = (struct tab){ root, first_leaf(root), false };
	return m->ntabs++;
}

static void tab_close(struct mux *m, int t)
{
	tree_free(m->tabs[t].root);
	memmove(&m->tabs[t], &m->tabs[t + 1],
		sizeof(m->tabs[0]) * (size_t)(m->ntabs - t - 1));
	m->ntabs--;
	if (m->cur >= m->ntabs)
		m->cur = m->ntabs - 1;
}

/* Remove the active pane; its sibling takes the space. */
static void pane_close(struct mux *m)
{
	struct tab *t = &m->tabs[m->cur];
	struct node *l = t->active, *p = l->parent;
	if (!p) {
		if (m->ntabs > 1)
			tab_close(m, m->cur);
		else
			snprintf(m->msg, sizeof(m->msg), "the last pane stays "
				 "(prefix d detaches)");
		return;
	}
	struct node *sib = p->a == l ? p->b : p->a;
	struct node *gp = p->parent;
	/* Move the sibling into the parent's place. */
	*p = *sib;
	p->parent = gp;
	if (p->kind != LEAF)
		p->a->parent = p->b->parent = p;
	free(sib);
	free(l);
	t->active = first_leaf(p);
	t->zoom = false;
}

/* The next zone (after from) that tab t does not show yet, or -1. */
static int zone_not_in(struct mux *m, struct tab *t, int from)
{
	for (int i = 1; i <= m->nzones; i++) {
		int z = (from + i) % m->nzones;
		if (!tree_has(t->root, z))
			return z;
	}
	return -1;
}

/* ---- drawing ---- */

static int color8(const VTermColor *c, bool *bright)
{
	*bright = false;
	if (VTERM_COLOR_IS_INDEXED(c)) {
		int i = c->indexed.idx;
		if (i < 8)
			return i;
		if (i < 16) {
			*bright = true;
			return i - 8;
		}
		if (i >= 232)	/* greys */
			return i >= 244 ? 7 : 0;
		i -= 16;	/* 6x6x6 cube */
		return (i / 36 >= 3 ? 1 : 0) | ((i / 6) % 6 >= 3 ? 2 : 0) |
			(i % 6 >= 3 ? 4 : 0);
	}
	return (c->rgb.red > 127 ? 1 : 0) | (c->rgb.green > 127 ? 2 : 0) |
		(c->rgb.blue > 127 ? 4 : 0);
}

/* Colour pair for fg, bg in -1..7, made on first use. */
static short pair_for(int fg, int bg)
{
	static bool made[81];
	if (!has_colors())
		return 0;
	int i = (fg + 1) * 9 + (bg + 1);
	if (i == 0)
		return 0;
	if (!made[i]) {
		init_pair((short)i, (short)fg, (short)bg);
		made[i] = true;
	}
	return (short)i;
}

static void draw_cell(int y, int x, const VTermScreenCell *c)
{
	wchar_t wc[VTERM_MAX_CHARS_PER_CELL + 1];
	int n = 0;
	for (; n < VTERM_MAX_CHARS_PER_CELL && c->chars[n]; n++)
		wc[n] = (wchar_t)c->chars[n];
	if (n == 0)
		wc[n++] = L' ';
	wc[n] = 0;
	attr_t a = A_NORMAL;
	bool fb, bb;
	int fg = VTERM_COLOR_IS_DEFAULT_FG(&c->fg) ? -1 : color8(&c->fg, &fb);
	int bg = VTERM_COLOR_IS_DEFAULT_BG(&c->bg) ? -1 : color8(&c->bg, &bb);
	if (fg >= 0 && fb)
		a |= A_BOLD;
	if (c->attrs.bold)
		a |= A_BOLD;
	if (c->attrs.underline)
		a |= A_UNDERLINE;
	if (c->attrs.reverse)
		a |= A_REVERSE;
	if (c->attrs.blink)
		a |= A_BLINK;
	cchar_t cc;
	if (setcchar(&cc, wc, a, pair_for(fg, bg), NULL) == OK)
		mvadd_wch(y, x, &cc);
}

static void draw_pane(struct mux *m, struct node *l, bool active)
{
	struct mzone *z = m->zones[l->zone];
	int rows = l->h - 1, cols = l->w;
	if (rows < 1 || cols < 1)
		return;
	if (z->rows != rows || z->cols != cols) {
		vterm_set_size(z->vt, rows, cols);
		z->rows = rows;
		z->cols = cols;
	}
	int back = active && m->mode == M_SCROLL ? m->scroll : 0;
	for (int r = 0; r < rows; r++) {
		int src = r - back;	/* <0: from the scrollback */
		const struct sbline *sl = NULL;
		if (src < 0) {
			int i = z->sb_n + src;
			if (i < 0) {
				move(l->y + r, l->x);
				for (int c = 0; c < cols; c++)
					addch(' ');
				continue;
			}
			sl = &z->sb[(z->sb_head + i) % SB_LINES];
		}
		for (int c = 0; c < cols; c++) {
			VTermScreenCell cell;
			if (sl) {
				if (c < sl->cols) {
					cell = sl->cells[c];
				} else {
					memset(&cell, 0, sizeof(cell));
					cell.fg.type = VTERM_COLOR_DEFAULT_FG;
					cell.bg.type = VTERM_COLOR_DEFAULT_BG;
				}
			} else {
				vterm_screen_get_cell(z->vts, (VTermPos){ src,
							  c }, &cell);
			}
			draw_cell(l->y + r, l->x + c, &cell);
			if (cell.width == 2)
				c++;
		}
	}
	/* The status line. */
	char st[512];
	const char *role = z->fd < 0 ? "--" : z->rw ? "rw" : "ro";
	int n = snprintf(st, sizeof(st), " %s  %s  %s", z->name, z->state,
			 role);
	if (active && m->mode == M_SCROLL)
		n += snprintf(st + n, sizeof(st) - (size_t)n,
			      "  [scroll -%d/%d: k/j u/d g/G, q leaves]",
			      m->scroll, z->sb_n);
	if (z->note[0] && n < (int)sizeof(st))
		snprintf(st + n, sizeof(st) - (size_t)n, "  | %s", z->note);
	attr_t a = active ? A_REVERSE | A_BOLD : A_REVERSE | A_DIM;
	attron(a);
	mvaddnstr(l->y + rows, l->x, st, cols);
	for (int c = (int)strlen(st); c < cols; c++)
		addch(' ');
	attroff(a);
}

static void draw_tree(struct mux *m, struct node *n, struct node *active)
{
	if (n->kind == LEAF) {
		draw_pane(m, n, n == active);
		return;
	}
	draw_tree(m, n->a, active);
	draw_tree(m, n->b, active);
	if (n->kind == SPLIT_H)
		for (int r = 0; r < n->h; r++)
			mvaddch(n->y + r, n->x + n->a->w, ACS_VLINE);
}

static const char *const help_text[] = {
	"zlogin multiplexer: press the prefix key, then",
	"",
	"  ?        this help            d        detach (leave zlogin)",
	"  n  p     next, previous tab   0-9      go to tab N",
	"  c        new tab, next zone   o  Tab   next pane",
	"  %        split side by side   \"        split top and bottom",
	"  x        close the pane       z        zoom the pane (again: back)",
	"  [        scroll back (k/j lines, u/d pages, g/G ends, q leaves)",
	"  b        send a break         f        take the console (force)",
	"  prefix   send the prefix key itself",
	"",
	"A split shows the next zone the tab does not show yet.",
	"Status lines: zone, state [aux], rw (you type) or ro (you watch).",
	"",
	"Any key closes this help.",
};

static void draw(struct mux *m)
{
	erase();
	/* Tab bar. */
	move(0, 0);
	for (int t = 0; t < m->ntabs; t++) {
		char name[80] = "";
		size_t used = 0;
		for (struct node *l = first_leaf(m->tabs[t].root); l;) {
			used += (size_t)snprintf(name + used, sizeof(name) - used,
						 "%s%s", used ? "+" : "",
						 m->zones[l->zone]->name);
			if (used >= sizeof(name) - 1)
				break;
			l = next_leaf(m->tabs[t].root, l);
			if (l == first_leaf(m->tabs[t].root))
				break;
		}
		if (t == m->cur)
			attron(A_REVERSE);
		printw(" %d:%s ", t, name);
		if (t == m->cur)
			attroff(A_REVERSE);
	}
	char right[240];
	const char *pfx = m->o->prefix < 0x20 ? "^" : "";
	char pk = m->o->prefix < 0x20 ? (char)(m->o->prefix + '@') :
		(char)m->o->prefix;
	snprintf(right, sizeof(right), "%s%s%s%c ? help ",
		 m->msg[0] ? m->msg : "", m->msg[0] ? "  " : "", pfx, pk);
	if (m->mode == M_PREFIX)
		snprintf(right, sizeof(right), "prefix: key? ");
	int rx = COLS - (int)strlen(right);
	if (rx > getcurx(stdscr))
		mvaddstr(0, rx, right);

	if (m->ntabs == 0) {
		mvaddstr(2, 1, m->o->follow ? "No zone is running yet; "
			 "waiting for one to boot." : "No zones.");
		refresh();
		return;
	}
	struct tab *t = &m->tabs[m->cur];
	struct node *active = t->active;
	int h = LINES - 1, w = COLS;
	if (t->zoom) {
		/* A zoomed leaf takes the whole area; the next unzoomed
		 * draw lays the tree out again. */
		layout(active, 1, 0, h, w);
		draw_pane(m, active, true);
	} else {
		layout(t->root, 1, 0, h, w);
		draw_tree(m, t->root, active);
	}
	if (m->mode == M_HELP) {
		int n = (int)(sizeof(help_text) / sizeof(help_text[0]));
		int bw = 72, y0 = 2;
		int x0 = COLS > bw ? (COLS - bw) / 2 : 0;
		for (int i = 0; i < n + 2 && y0 + i < LINES; i++) {
			attron(A_REVERSE);
			mvhline(y0 + i, x0, ' ', bw < COLS ? bw : COLS);
			if (i > 0 && i <= n)
				mvaddnstr(y0 + i, x0 + 2, help_text[i - 1],
					  (bw < COLS ? bw : COLS) - 3);
			attroff(A_REVERSE);
		}
		curs_set(0);
	} else if (m->mode == M_NORMAL) {
		struct mzone *z = m->zones[active->zone];
		VTermPos cp;
		vterm_state_get_cursorpos(vterm_obtain_state(z->vt), &cp);
		curs_set(1);
		move(active->y + cp.row, active->x + cp.col);
	} else {
		curs_set(0);
	}
	refresh();
}

/* ---- keys ---- */

static void send_active(struct mux *m, const uint8_t *buf, size_t len)
{
	if (!m->ntabs || !len)
		return;
	struct mzone *z = m->zones[m->tabs[m->cur].active->zone];
	if (z->fd < 0) {
		snprintf(z->note, sizeof(z->note), "not running: keys dropped");
		return;
	}
	if (!z->rw) {
		snprintf(z->note, sizeof(z->note), "read-only: prefix f takes "
			 "the console");
		return;
	}
	(void)con_client_send(z->fd, CON_INPUT, buf, len);
}

static void prefix_key(struct mux *m, uint8_t c)
{
	m->mode = M_NORMAL;
	m->msg[0] = 0;
	if (c == m->o->prefix) {
		send_active(m, &c, 1);
		return;
	}
	if (c == 'd') {
		m->quit = true;
		return;
	}
	if (c == '?') {
		m->mode = M_HELP;
		return;
	}
	if (!m->ntabs)
		return;
	struct tab *t = &m->tabs[m->cur];
	struct mzone *z = m->zones[t->active->zone];
	switch (c) {
	case 'n': m->cur = (m->cur + 1) % m->ntabs; break;
	case 'p': m->cur = (m->cur + m->ntabs - 1) % m->ntabs; break;
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		if (c - '0' < m->ntabs)
			m->cur = c - '0';
		break;
	case 'c': {
		int nz = (t->active->zone + 1) % m->nzones;
		int i = tab_add(m, leaf(nz));
		if (i >= 0)
			m->cur = i;
		break;
	}
	case 'o': case '\t':
		t->active = next_leaf(t->root, t->active);
		t->zoom = false;
		break;
	case '%': case '"': {
		int nz = zone_not_in(m, t, t->active->zone);
		if (nz < 0) {
			snprintf(m->msg, sizeof(m->msg),
				 "every zone is in this tab already");
			break;
		}
		struct node *n = split(t->active, c == '%' ? SPLIT_H : SPLIT_V,
				       nz);
		if (n)
			t->active = n;
		t->zoom = false;
		break;
	}
	case 'x': pane_close(m); break;
	case 'z': t->zoom = !t->zoom; break;
	case '[':
		m->mode = M_SCROLL;
		m->scroll = 0;
		break;
	case 'b':
		if (z->fd < 0)
			snprintf(z->note, sizeof(z->note), "not running: no "
				 "break sent");
		else if (!z->rw)
			snprintf(z->note, sizeof(z->note), "read-only: no "
				 "break sent");
		else
			(void)con_client_send(z->fd, CON_BREAK, NULL, 0);
		break;
	case 'f':
		if (z->fd >= 0 && !z->rw) {
			close(z->fd);
			z->fd = -1;
		}
		z->force_next = true;
		z->next_try = 0;
		/* The new connection replays the ring: start clean. */
		vterm_screen_reset(z->vts, 1);
		for (int i = 0; i < SB_LINES; i++) {
			free(z->sb[i].cells);
			z->sb[i].cells = NULL;
		}
		z->sb_n = z->sb_head = 0;
		break;
	default:
		snprintf(m->msg, sizeof(m->msg), "no such key after the prefix "
			 "(? lists them)");
		break;
	}
}

static void scroll_keys(struct mux *m, const uint8_t *buf, size_t len)
{
	struct mzone *z = m->zones[m->tabs[m->cur].active->zone];
	int page = m->tabs[m->cur].active->h - 1;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = buf[i];
		if (c == 0x1b && i + 2 < len + 0 && buf[i + 1] == '[') {
			uint8_t k = buf[i + 2];
			i += 2;
			if (k == 'A')
				c = 'k';
			else if (k == 'B')
				c = 'j';
			else if ((k == '5' || k == '6') && i + 1 < len &&
				 buf[i + 1] == '~') {
				i++;
				c = k == '5' ? 'u' : 'd';
			} else {
				continue;
			}
		}
		switch (c) {
		case 'k': m->scroll++; break;
		case 'j': m->scroll--; break;
		case 'u': m->scroll += page; break;
		case 'd': m->scroll -= page; break;
		case 'g': m->scroll = z->sb_n; break;
		case 'G': m->scroll = 0; break;
		case 'q': case 0x1b:
			m->mode = M_NORMAL;
			m->scroll = 0;
			return;
		}
		if (m->scroll < 0)
			m->scroll = 0;
		if (m->scroll > z->sb_n)
			m->scroll = z->sb_n;
	}
}

static void keys(struct mux *m, const uint8_t *buf, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i < len && !m->quit; i++) {
		if (m->mode == M_SCROLL) {
			scroll_keys(m, buf + i, len - i);
			return;
		}
		if (m->mode == M_HELP) {
			m->mode = M_NORMAL;
			start = i + 1;
			continue;
		}
		if (m->mode == M_PREFIX) {
			prefix_key(m, buf[i]);
			start = i + 1;
			continue;
		}
		if (buf[i] == m->o->prefix) {
			send_active(m, buf + start, i - start);
			m->mode = M_PREFIX;
			start = i + 1;
		}
	}
	if (m->mode == M_NORMAL && start < len && !m->quit)
		send_active(m, buf + start, len - start);
}

/* ---- following the index ---- */

static int zone_find(struct mux *m, const char *name)
{
	for (int i = 0; i < m->nzones; i++)
		if (!strcmp(m->zones[i]->name, name))
			return i;
	return -1;
}

static void follow_index(struct mux *m)
{
	struct zone_index idx;
	char err[256];
	uint64_t t = now_ms();
	if (t < m->next_index)
		return;
	m->next_index = t + INDEX_MS;
	if (zs_index_read(m->o->root, &idx, err, sizeof(err)))
		return;
	for (size_t i = 0; i < idx.n; i++) {
		struct zone_entry *e = &idx.zones[i];
		int zi = zone_find(m, e->name);
		if (zi >= 0) {
			if (m->zones[zi]->fd < 0)
				snprintf(m->zones[zi]->state,
					 sizeof(m->zones[zi]->state), "%s",
					 zs_state_name(e->state));
			continue;
		}
		if (!m->o->follow ||
		    (e->state != ZS_RUNNING && e->state != ZS_READY))
			continue;
		struct mzone *z = zone_add(m, e->name);
		if (z) {
			snprintf(z->state, sizeof(z->state), "%s",
				 zs_state_name(e->state));
			tab_add(m, leaf(m->nzones - 1));
		}
	}
	zs_index_free(&idx);
}

/* ---- main ---- */

int mux_main(const struct mux_opts *o)
{
	struct mux *m = calloc(1, sizeof(*m));
	int status = 0;
	if (!m)
		return 1;
	m->o = o;
	/* Every zone named must exist. */
	for (int i = 0; i < o->nzones; i++) {
		struct zone_index idx;
		char err[256];
		if (zs_index_read(o->root, &idx, err, sizeof(err))) {
			fprintf(stderr, "zlogin: cannot read the zone index: "
				"%s\n", err);
			free(m);
			return 1;
		}
		struct zone_entry *e = zs_index_find(&idx, o->zones[i]);
		int st = e ? (int)e->state : -1;
		zs_index_free(&idx);
		if (st < 0 || st < ZS_INSTALLED) {
			fprintf(stderr, "zlogin: zone '%s': %s\n", o->zones[i],
				st < 0 ? "no such zone configured" :
				"not installed, so it has no console yet");
			free(m);
			return 1;
		}
		if (zone_find(m, o->zones[i]) < 0 && !zone_add(m, o->zones[i])) {
			fprintf(stderr, "zlogin: too many zones\n");
			free(m);
			return 1;
		}
	}
	/* The first tab tiles up to four zones; the rest get a tab each. */
	int ids[4];
	int first = m->nzones < 4 ? m->nzones : 4;
	for (int i = 0; i < first; i++)
		ids[i] = i;
	if (first)
		tab_add(m, tile(ids, first, SPLIT_H));
	for (int i = first; i < m->nzones; i++)
		tab_add(m, leaf(i));

	setlocale(LC_ALL, "");
	if (tcgetattr(STDIN_FILENO, &saved_tio) == 0)
		tio_saved = true;
	struct sigaction sa = { .sa_handler = on_fatal };
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!initscr()) {
		fprintf(stderr, "zlogin: cannot start the full-screen "
			"display (TERM=%s)\n", getenv("TERM") ? getenv("TERM") :
			"");
		free(m);
		return 1;
	}
	raw();
	noecho();
	nonl();
	if (has_colors()) {
		start_color();
		use_default_colors();
	}
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	sa.sa_handler = on_quit;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	while (!m->quit && !got_quit) {
		follow_index(m);
		for (int i = 0; i < m->nzones; i++)
			zone_try_connect(m, m->zones[i]);
		if (got_winch) {
			struct winsize ws;
			got_winch = 0;
			if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
				resizeterm(ws.ws_row, ws.ws_col);
			clear();
		}
		draw(m);

		struct pollfd p[1 + MAX_ZONES];
		int who[1 + MAX_ZONES];
		int np = 0;
		p[np++] = (struct pollfd){ STDIN_FILENO, POLLIN, 0 };
		for (int i = 0; i < m->nzones; i++)
			if (m->zones[i]->fd >= 0) {
				who[np] = i;
				p[np++] = (struct pollfd){ m->zones[i]->fd,
							   POLLIN, 0 };
			}
		if (poll(p, (nfds_t)np, 250) < 0) {
			if (errno == EINTR)
				continue;
			status = 1;
			break;
		}
		if (p[0].revents) {
			uint8_t buf[1024];
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n > 0)
				keys(m, buf, (size_t)n);
			else if (n == 0 || errno != EINTR)
				break;
		}
		for (int i = 1; i < np; i++)
			if (p[i].revents && m->zones[who[i]]->fd >= 0)
				zone_read(m, m->zones[who[i]]);
	}
	endwin();
	printf("[zlogin: multiplexer %s]\n", m->quit ? "detached" : "ended");
	for (int t = 0; t < m->ntabs; t++)
		tree_free(m->tabs[t].root);
	for (int i = 0; i < m->nzones; i++)
		zone_free(m->zones[i]);
	free(m);
	return status;
}
