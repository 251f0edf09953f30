/* kzsh's word splitter: sh quoting, commands, comments, refusals, and the
   partial split that completion uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kzsh.h"

/* Split text and compare with the expected words; NULL ends a command,
   and a second NULL ends the list. */
static void want_split(const char *text, ...)
{
	struct kzsh_line l;
	char err[256];
	va_list ap;
	assert_int_equal(kzsh_split(text, &l, err, sizeof(err)), 0);
	va_start(ap, text);
	size_t c = 0;
	for (;;) {
		const char *w = va_arg(ap, const char *);
		if (!w)
			break;
		assert_true(c < l.ncmds);
		int i = 0;
		for (; w; w = va_arg(ap, const char *), i++) {
			assert_true(i < l.cmds[c].argc);
			assert_string_equal(l.cmds[c].argv[i], w);
		}
		assert_int_equal(i, l.cmds[c].argc);
		assert_null(l.cmds[c].argv[i]);
		c++;
	}
	va_end(ap);
	assert_int_equal(c, l.ncmds);
	kzsh_line_free(&l);
}

static void want_error(const char *text, int rc, const char *msg)
{
	struct kzsh_line l;
	char err[256];
	assert_int_equal(kzsh_split(text, &l, err, sizeof(err)), rc);
	assert_non_null(strstr(err, msg));
	assert_int_equal(l.ncmds, 0);
}

static void test_words(void **state)
{
	(void)state;
	want_split("zoneadm -z web boot", "zoneadm", "-z", "web", "boot",
		   NULL, NULL);
	want_split("  a \t b  ", "a", "b", NULL, NULL);
	want_split("", NULL);
	want_split("   ", NULL);
}

static void test_quotes(void **state)
{
	(void)state;
	want_split("echo 'a b' \"c d\" e\\ f", "echo", "a b", "c d", "e f",
		   NULL, NULL);
	/* Single quotes keep everything; double quotes keep all but \\" \\\\
	   \\$ \\` and a backslash-newline. */
	want_split("'a\\b\"c'", "a\\b\"c", NULL, NULL);
	want_split("\"a\\\"b\\\\c\\d\\$\"", "a\"b\\c\\d$", NULL, NULL);
	/* Adjacent pieces make one word; empty quotes are a word. */
	want_split("a'b'\"c\"d", "abcd", NULL, NULL);
	want_split("x '' \"\"", "x", "", "", NULL, NULL);
	/* A quoted ; # | is a character. */
	want_split("zonecfg -z w 'create; set autoboot=true' '#' \"|\"",
		   "zonecfg", "-z", "w", "create; set autoboot=true", "#",
		   "|", NULL, NULL);
	/* A backslash-newline joins lines. */
	want_split("ab\\\ncd", "abcd", NULL, NULL);
	/* A newline inside quotes stays. */
	want_split("'a\nb'", "a\nb", NULL, NULL);
}

static void test_commands(void **state)
{
	(void)state;
	want_split("a 1; b 2;c", "a", "1", NULL, "b", "2", NULL, "c", NULL,
		   NULL);
	want_split(";; a ;;", "a", NULL, NULL);
	want_split("a\nb", "a", NULL, "b", NULL, NULL);
}

static void test_comments(void **state)
{
	(void)state;
	want_split("# all of it", NULL);
	want_split("a b # c d", "a", "b", NULL, NULL);
	want_split("a#b", "a#b", NULL, NULL);
	want_split("a # c\nb", "a", NULL, "b", NULL, NULL);
}

static void test_tilde(void **state)
{
	(void)state;
	setenv("HOME", "/home/x", 1);
	want_split("cd ~", "cd", "/home/x", NULL, NULL);
	want_split("ls ~/d a~ '~' ~b", "ls", "/home/x/d", "a~", "~", "~b",
		   NULL, NULL);
}

static void test_refusals(void **state)
{
	(void)state;
	want_error("echo 'open", -EAGAIN, "unterminated ' quote");
	want_error("echo \"open", -EAGAIN, "unterminated \" quote");
	want_error("echo end\\", -EAGAIN, "backslash");
	want_error("ls | wc", -EINVAL, "'|': pipes and redirections");
	want_error("a > f", -EINVAL, "'>'");
	want_error("a & ", -EINVAL, "'&'");
	want_error("(a)", -EINVAL, "'('");
}

static void test_partial(void **state)
{
	struct kzsh_partial p;
	(void)state;
	const char *t = "zoneadm list; zoneadm -z we";
	assert_int_equal(kzsh_split_partial(t, strlen(t), &p), 0);
	assert_int_equal(p.nwords, 2);
	assert_string_equal(p.words[0], "zoneadm");
	assert_string_equal(p.words[1], "-z");
	assert_null(p.words[2]);
	assert_string_equal(p.cur, "we");
	assert_int_equal(p.quote, 0);
	assert_int_equal(p.cur_start, strlen(t) - 2);
	kzsh_partial_free(&p);

	/* At a blank: an empty word. */
	t = "zoneadm ";
	assert_int_equal(kzsh_split_partial(t, strlen(t), &p), 0);
	assert_int_equal(p.nwords, 1);
	assert_string_equal(p.cur, "");
	kzsh_partial_free(&p);

	/* Nothing at all. */
	assert_int_equal(kzsh_split_partial("", 0, &p), 0);
	assert_int_equal(p.nwords, 0);
	assert_non_null(p.words);
	assert_null(p.words[0]);
	assert_string_equal(p.cur, "");
	kzsh_partial_free(&p);

	/* Inside an open quote, with the cursor before the end. */
	t = "zonecfg -z w 'add capped-memory; set phy|rest";
	size_t len = strchr(t, '|') - t;
	assert_int_equal(kzsh_split_partial(t, len, &p), 0);
	assert_int_equal(p.nwords, 3);
	assert_string_equal(p.cur, "add capped-memory; set phy");
	assert_int_equal(p.quote, '\'');
	assert_int_equal(p.cur_start, strlen("zonecfg -z w "));
	kzsh_partial_free(&p);

	/* Escapes are undone in the word being typed. */
	t = "ls my\\ di";
	assert_int_equal(kzsh_split_partial(t, strlen(t), &p), 0);
	assert_string_equal(p.cur, "my di");
	kzsh_partial_free(&p);

	/* Operators do not stop completion. */
	t = "ls | gr";
	assert_int_equal(kzsh_split_partial(t, strlen(t), &p), 0);
	assert_string_equal(p.cur, "gr");
	kzsh_partial_free(&p);
}

/* Whatever the bytes, the splitter ends, and frees what it made. */
static void test_garbage(void **state)
{
	(void)state;
	unsigned seed = 12345;
	char buf[64];
	for (int n = 0; n < 20000; n++) {
		size_t len = (size_t)(rand_r(&seed) % (sizeof(buf) - 1));
		for (size_t i = 0; i < len; i++) {
			static const char pick[] = "ab '\"\\;#~\n\t|";
			buf[i] = pick[rand_r(&seed) % (sizeof(pick) - 1)];
		}
		buf[len] = 0;
		struct kzsh_line l;
		char err[128];
		if (kzsh_split(buf, &l, err, sizeof(err)) == 0)
			kzsh_line_free(&l);
		struct kzsh_partial p;
		if (kzsh_split_partial(buf, len, &p) == 0)
			kzsh_partial_free(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_tilde),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
