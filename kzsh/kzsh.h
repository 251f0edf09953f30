/*
 * kzsh: the interactive admin shell, and zonestat.
 *
 * Library entry points (the binaries are thin mains), and the word
 * splitter that the shell and its completion share.
 */
#ifndef KZ_KZSH_H
#define KZ_KZSH_H

#include <stdbool.h>
#include <stddef.h>

int cmd_kzsh(int argc, char **argv);
int cmd_zonestat(int argc, char **argv);

/* One simple command: argv[argc] is NULL. */
struct kzsh_cmd {
	int argc;
	char **argv;
};

/* A line split into commands at unquoted ';'. */
struct kzsh_line {
	size_t ncmds;
	struct kzsh_cmd *cmds;
};

/*
 * Split text the way sh does for simple commands: blanks separate
 * words; '...' is literal; "..." is literal except that a backslash
 * before " \ $ ` or a newline quotes it; a backslash outside quotes
 * quotes the next character (and joins lines before a newline); an
 * unquoted ';' or newline ends a command; an unquoted '#' at the start
 * of a word starts a comment to the end of the line; an unquoted '~' at
 * the start of a word, alone or before '/', is $HOME.  Pipes and
 * redirections are not offered: an unquoted | & < > ( ) is refused.
 * Empty commands are dropped.
 *
 * Returns 0; -EAGAIN when the text ends inside quotes or after a
 * backslash (the caller may read another line and try again);
 * -EINVAL with a one-line reason in err; -ENOMEM.
 */
int kzsh_split(const char *text, struct kzsh_line *out, char *err,
	       size_t errlen) __attribute__((warn_unused_result));
void kzsh_line_free(struct kzsh_line *l);

/*
 * For completion: the command under the cursor of text[0..len).  words
 * are the finished words of that command (argv-like, NULL-terminated),
 * cur is the unquoted text of the word being typed ("" at a blank),
 * quote the quote it is open in (0, '\'' or '"'), and cur_start the
 * offset in text where that word starts.
 */
struct kzsh_partial {
	int nwords;
	char **words;
	char *cur;
	char quote;
	size_t cur_start;
};

int kzsh_split_partial(const char *text, size_t len, struct kzsh_partial *p)
	__attribute__((warn_unused_result));
void kzsh_partial_free(struct kzsh_partial *p);

/* Characters that must be quoted with a backslash outside quotes. */
bool kzsh_is_special(char c);

#endif
