/*
 * zonecfg words: the lexer shared by the command line, command files and
 * configuration files.
 *
 *   set bootargs="-v console=ttyS0"; add device   ->
 *   [set] [bootargs] [=] [-v console=ttyS0] [;] [add] [device]
 *
 * Outside quotes a word ends at blanks, '=' or ';'.  "..." groups text
 * (with \" and \\ as escapes) and may touch other characters of the same
 * word.  '#' starting a word comments out the rest of the line.  Input
 * is untrusted: every length is bounded by the input's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zonecfg.h"

void zcfg_toks_free(struct zcfg_toks *t)
{
	free(t->t);
	free(t->buf);
	t->t = NULL;
	t->buf = NULL;
	t->n = 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

int zcfg_lex(const char *line, size_t len, struct zcfg_toks *out, char *err,
	     size_t errlen)
{
	/* Every token takes at most its input plus a NUL. */
	size_t cap = len + 1;
	char *buf = malloc(len * 2 + 2);
	struct zcfg_tok *t = malloc(cap * sizeof(*t));
	size_t n = 0, b = 0, i = 0;

	out->t = NULL;
	out->buf = NULL;
	out->n = 0;
	if (!buf || !t) {
		free(buf);
		free(t);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while (i < len) {
		char c = line[i];
		if (is_blank(c)) {
			i++;
			continue;
		}
		if (c == '#')
			break;
		if (c == 0) {
			snprintf(err, errlen, "NUL byte in input");
			goto fail;
		}
		if (c == '=' || c == ';') {
			t[n].kind = c == '=' ? ZT_EQ : ZT_SEMI;
			t[n].quoted = false;
			t[n].s = buf + b;
			buf[b++] = c;
			buf[b++] = 0;
			n++;
			i++;
			continue;
		}
		t[n].kind = ZT_WORD;
		t[n].quoted = false;
		t[n].s = buf + b;
		while (i < len && !is_blank(line[i]) && line[i] != '=' &&
		       line[i] != ';') {
			if (line[i] == 0) {
				snprintf(err, errlen, "NUL byte in input");
				goto fail;
			}
			if (line[i] != '"') {
				buf[b++] = line[i++];
				continue;
			}
			t[n].quoted = true;
			i++;
			while (i < len && line[i] != '"') {
				if (line[i] == 0) {
					snprintf(err, errlen,
						 "NUL byte in input");
					goto fail;
				}
				if (line[i] == '\\' && i + 1 < len &&
				    (line[i + 1] == '"' || line[i + 1] == '\\'))
					i++;
				buf[b++] = line[i++];
			}
			if (i >= len) {
				snprintf(err, errlen, "unterminated quote");
				goto fail;
			}
			i++;	/* closing quote */
		}
		buf[b++] = 0;
		n++;
	}
	out->t = t;
	out->n = n;
	out->buf = buf;
	return 0;
fail:
	free(buf);
	free(t);
	return -EINVAL;
}
