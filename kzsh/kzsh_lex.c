/*
 * kzsh's word splitter: sh quoting for simple commands, nothing more
 * (no variables, globs, pipes or redirections).  One scanner serves the
 * shell (kzsh_split: whole lines into commands) and completion
 * (kzsh_split_partial: where the cursor is, and inside which quote).
 *
 * Input is untrusted text of any length; every buffer grows as needed
 * and nothing is written past what was allocated.
 */
#include "kzsh.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sbuf {
	char *s;
	size_t len, cap;
};

static int sb_put(struct sbuf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *s = realloc(b->s, cap);
		if (!s)
			return -ENOMEM;
		b->s = s;
		b->cap = cap;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = 0;
	return 0;
}

/* A growing NULL-terminated word list. */
struct wlist {
	char **v;
	int n, cap;
};

static int wl_push(struct wlist *w, char *s)
{
	if (w->n + 2 > w->cap) {
		int cap = w->cap ? w->cap * 2 : 8;
		char **v = realloc(w->v, (size_t)cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n++] = s;
	w->v[w->n] = NULL;
	return 0;
}

static void wl_free(struct wlist *w)
{
	for (int i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	w->v = NULL;
	w->n = w->cap = 0;
}

bool kzsh_is_special(char c)
{
	return strchr(" \t\n'\"\\;#|&<>()$`*?[]{}!~", c) != NULL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_operator(char c)
{
	return strchr("|&<>()", c) != NULL;
}

/* The scanner's state; the callers read what they need from it. */
struct scan {
	const char *s;
	size_t len, i;
	struct sbuf word;
	bool in_word;		/* a word has started (even an empty "") */
	size_t word_start;
	char quote;		/* open quote at the end, when stopped there */
	bool backslash;		/* text ended right after a backslash */
	struct wlist words;	/* finished words of the current command */
	/* whole-line mode */
	struct kzsh_cmd *cmds;
	size_t ncmds;
	char *err;
	size_t errlen;
};

static int end_word(struct scan *sc)
{
	if (!sc->in_word)
		return 0;
	char *w = sc->word.s ? sc->word.s : strdup("");
	if (!w)
		return -ENOMEM;
	sc->word.s = NULL;
	sc->word.len = sc->word.cap = 0;
	sc->in_word = false;
	int rc = wl_push(&sc->words, w);
	if (rc)
		free(w);
	return rc;
}

static int end_cmd(struct scan *sc)
{
	int rc = end_word(sc);
	if (rc)
		return rc;
	if (sc->words.n == 0)
		return 0;
	struct kzsh_cmd *c = realloc(sc->cmds, (sc->ncmds + 1) * sizeof(*c));
	if (!c)
		return -ENOMEM;
	sc->cmds = c;
	c[sc->ncmds].argc = sc->words.n;
	c[sc->ncmds].argv = sc->words.v;
	sc->ncmds++;
	sc->words.v = NULL;
	sc->words.n = sc->words.cap = 0;
	return 0;
}

static int start_word(struct scan *sc)
{
	if (!sc->in_word) {
		sc->in_word = true;
		sc->word_start = sc->i;
		/* An empty word ("") still needs a string. */
		return sb_put(&sc->word, "", 0);
	}
	return 0;
}

/*
 * Scan s[0..len).  partial: stop at the end without complaint (open
 * quotes are recorded); else an open quote is -EAGAIN and each ';' or
 * newline ends a command.
 */
static int scan(struct scan *sc, bool partial)
{
	int rc = 0;
	const char *s = sc->s;

	while (sc->i < sc->len) {
		char c = s[sc->i];
		if (is_blank(c)) {
			if ((rc = end_word(sc)))
				return rc;
			sc->i++;
			continue;
		}
		if (c == ';' || c == '\n') {
			if (partial) {
				/* Completion looks at the last command only. */
				end_word(sc);
				wl_free(&sc->words);
			} else if ((rc = end_cmd(sc))) {
				return rc;
			}
			sc->i++;
			continue;
		}
		if (c == '#' && !sc->in_word) {
			while (sc->i < sc->len && s[sc->i] != '\n')
				sc->i++;
			continue;
		}
		if (is_operator(c) && !partial) {
			snprintf(sc->err, sc->errlen,
				 "'%c': pipes and redirections are not offered "
				 "(quote it, or use sh -c '...')", c);
			return -EINVAL;
		}
		if (c == '~' && !sc->in_word &&
		    (sc->i + 1 >= sc->len || is_blank(s[sc->i + 1]) ||
		     s[sc->i + 1] == '/' || s[sc->i + 1] == ';' ||
		     s[sc->i + 1] == '\n') && !(partial && sc->i + 1 >= sc->len)) {
			const char *home = getenv("HOME");
			if ((rc = start_word(sc)) ||
			    (rc = sb_put(&sc->word, home ? home : "~",
					 strlen(home ? home : "~"))))
				return rc;
			sc->i++;
			continue;
		}
		if ((rc = start_word(sc)))
			return rc;
		if (c == '\\') {
			if (sc->i + 1 >= sc->len) {
				sc->backslash = true;
				sc->i++;
				break;
			}
			sc->i++;
			if (s[sc->i] != '\n' &&
			    (rc = sb_put(&sc->word, &s[sc->i], 1)))
				return rc;
			sc->i++;
			continue;
		}
		if (c == '\'') {
			size_t j = sc->i + 1;
			while (j < sc->len && s[j] != '\'')
				j++;
			if ((rc = sb_put(&sc->word, s + sc->i + 1,
					 j - sc->i - 1)))
				return rc;
			if (j >= sc->len) {
				sc->quote = '\'';
				sc->i = j;
				break;
			}
			sc->i = j + 1;
			continue;
		}
		if (c == '"') {
			size_t j = sc->i + 1;
			bool closed = false;
			while (j < sc->len) {
				if (s[j] == '"') {
					closed = true;
					break;
				}
				if (s[j] == '\\' && j + 1 < sc->len &&
				    strchr("\"\\$`\n", s[j + 1])) {
					if (s[j + 1] != '\n' &&
					    (rc = sb_put(&sc->word, &s[j + 1], 1)))
						return rc;
					j += 2;
					continue;
				}
				if ((rc = sb_put(&sc->word, &s[j], 1)))
					return rc;
				j++;
			}
			if (!closed) {
				sc->quote = '"';
				sc->i = j;
				break;
			}
			sc->i = j + 1;
			continue;
		}
		if ((rc = sb_put(&sc->word, &c, 1)))
			return rc;
		sc->i++;
	}
	return 0;
}

static void scan_free(struct scan *sc)
{
	free(sc->word.s);
	wl_free(&sc->words);
	for (size_t i = 0; i < sc->ncmds; i++) {
		struct wlist w = { sc->cmds[i].argv, sc->cmds[i].argc, 0 };
		wl_free(&w);
	}
	free(sc->cmds);
}

int kzsh_split(const char *text, struct kzsh_line *out, char *err,
	       size_t errlen)
{
	struct scan sc = { .s = text, .len = strlen(text), .err = err,
			   .errlen = errlen };
	int rc;

	out->ncmds = 0;
	out->cmds = NULL;
	if (errlen)
		err[0] = 0;
	rc = scan(&sc, false);
	if (!rc && (sc.quote || sc.backslash)) {
		snprintf(err, errlen, sc.quote ? "unterminated %c quote" :
			 "backslash at the end of the input", sc.quote);
		rc = -EAGAIN;
	}
	if (!rc)
		rc = end_cmd(&sc);
	if (rc) {
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		scan_free(&sc);
		return rc;
	}
	out->ncmds = sc.ncmds;
	out->cmds = sc.cmds;
	sc.cmds = NULL;
	sc.ncmds = 0;
	scan_free(&sc);
	return 0;
}

void kzsh_line_free(struct kzsh_line *l)
{
	for (size_t i = 0; i < l->ncmds; i++) {
		struct wlist w = { l->cmds[i].argv, l->cmds[i].argc, 0 };
		wl_free(&w);
	}
	free(l->cmds);
	l->cmds = NULL;
	l->ncmds = 0;
}

int kzsh_split_partial(const char *text, size_t len, struct kzsh_partial *p)
{
	struct scan sc = { .s = text, .len = len };
	char nothing[1];
	int rc;

	sc.err = nothing;
	sc.errlen = sizeof(nothing);
	memset(p, 0, sizeof(*p));
	rc = scan(&sc, true);
	if (rc)
		goto fail;
	if (sc.in_word) {
		p->cur = sc.word.s;
		p->cur_start = sc.word_start;
		sc.word.s = NULL;
	} else {
		p->cur = strdup("");
		p->cur_start = len;
	}
	if (!p->cur) {
		rc = -ENOMEM;
		goto fail;
	}
	p->quote = sc.quote;
	if (!sc.words.v && (rc = wl_push(&sc.words, NULL)) == 0)
		sc.words.n = 0;	/* an empty, NULL-terminated list */
	if (rc)
		goto fail;
	p->words = sc.words.v;
	p->nwords = sc.words.n;
	sc.words.v = NULL;
	sc.words.n = 0;
	scan_free(&sc);
	return 0;
fail:
	free(p->cur);
	p->cur = NULL;
	scan_free(&sc);
	return rc;
}

void kzsh_partial_free(struct kzsh_partial *p)
{
	struct wlist w = { p->words, p->nwords, 0 };
	wl_free(&w);
	free(p->cur);
	memset(p, 0, sizeof(*p));
}
