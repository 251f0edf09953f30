/*
 * kzsh: the admin shell.  What an administrator sits in when managing
 * zones all day: zoneadm, zonecfg, zlogin, zonestat and zonesvc as
 * builtins (the same code as the standalone programs, linked in), sh
 * quoting, libedit line editing with history and completion, and any
 * other word run as a host program.
 *
 *   kzsh [-R DIR]              interactive when stdin is a terminal,
 *                              else commands from stdin, as a script
 *   kzsh [-R DIR] -c LINE      one line
 *   kzsh [-R DIR] SCRIPT       a file of commands
 *
 * -R DIR becomes $KZ_ROOT, so builtins and host programs alike act on
 * that root.  Outside the interactive mode the first command that fails
 * stops the run (unless `set -e off`), naming the line; the exit status
 * is the last command's.
 *
 * Signals: the shell itself ignores Ctrl-C (at the prompt it throws the
 * line away) and Ctrl-Z; a command runs in a child process with the
 * default actions back, so Ctrl-C ends that command and only it.  Only
 * cd, exit, set, history and help run inside the shell.
 *
 * cmd_kzsh prints its own messages and returns the exit status (0 ok,
 * 1 error, 2 usage); it never exits.
 */
#include "kzsh_impl.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wchar.h>

static volatile sig_atomic_t got_sigint;

static void on_sigint(int sig)
{
	(void)sig;
	got_sigint = 1;
}

void kzsh_err(const char *fmt, ...)
{
	va_list ap;
	fputs("kzsh: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: kzsh [-R DIR] [-c LINE | SCRIPT]\n");
}

/* ---- running commands ---- */

/* Restore what a child should start with: default signal actions. */
static void child_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
}

/* Wait for a child; the status a shell reports for it. */
static int wait_child(pid_t pid, const char *name)
{
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			kzsh_err("%s: wait: %s", name, strerror(errno));
			return 1;
		}
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st)) {
		int sig = WTERMSIG(st);
		if (sig == SIGINT)
			fputc('\n', stderr);
		else if (sig != SIGPIPE)
			kzsh_err("%s: ended by signal %d (%s)%s", name, sig,
				 strsignal(sig),
				 WCOREDUMP(st) ? ", core dumped" : "");
		return 128 + sig;
	}
	return 1;
}

static int run_child(struct kzsh *sh, const struct kzsh_builtin *b,
		     int argc, char **argv)
{
	(void)sh;
	fflush(NULL);	/* nothing buffered may be written twice */
	pid_t pid = fork();
	if (pid < 0) {
		kzsh_err("%s: fork: %s", argv[0], strerror(errno));
		return 1;
	}
	if (pid == 0) {
		child_signals();
		if (b) {
			optind = 0;	/* glibc: a full getopt reset */
			int st = b->cmd(argc, argv);
			fflush(NULL);
			_exit(st & 0xff);
		}
		execvp(argv[0], argv);
		int e = errno;
		if (e == ENOENT)
			fprintf(stderr, "kzsh: %s: command not found\n",
				argv[0]);
		else
			fprintf(stderr, "kzsh: %s: %s\n", argv[0],
				strerror(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	return wait_child(pid, argv[0]);
}

int kzsh_run(struct kzsh *sh, int argc, char **argv)
{
	if (argc == 0)
		return 0;
	const struct kzsh_builtin *b = kzsh_builtin_find(argv[0]);
	if (b && b->shell) {
		optind = 0;
		return b->shell(sh, argc, argv);
	}
	return run_child(sh, b, argc, argv);
}

/*
 * Run every command of a line.  Returns the last status; with errexit,
 * stops at the first failure and sets *failed.
 */
static int run_line(struct kzsh *sh, const char *text, bool *failed,
		    char *what, size_t whatlen, char *err, size_t errlen)
{
	struct kzsh_line l;
	int rc = kzsh_split(text, &l, err, errlen);
	*failed = false;
	if (rc)
		return rc;
	for (size_t i = 0; i < l.ncmds && !sh->exiting; i++) {
		sh->status = kzsh_run(sh, l.cmds[i].argc, l.cmds[i].argv);
		if (sh->status && sh->errexit && !sh->exiting) {
			*failed = true;
			snprintf(what, whatlen, "%s", l.cmds[i].argv[0]);
			break;
		}
	}
	kzsh_line_free(&l);
	return 0;
}

/* ---- scripts and -c ---- */

/*
 * Commands from f (or from the string line), one a line.  A line that
 * ends inside quotes continues on the next.  name is for messages.
 */
static int run_script(struct kzsh *sh, FILE *f, const char *line,
		      const char *name)
{
	char *text = NULL, *buf = NULL;
	size_t cap = 0, textlen = 0;
	unsigned lineno = 0, first = 0;
	char err[256], what[256];
	bool failed;

	sh->status = 0;
	for (;;) {
		const char *piece;
		ssize_t n;
		if (line) {
			if (lineno > 0)
				break;
			piece = line;
			n = (ssize_t)strlen(line);
		} else {
			n = getline(&buf, &cap, f);
			if (n < 0)
				break;
			piece = buf;
		}
		lineno++;
		if (!textlen)
			first = lineno;
		char *t = realloc(text, textlen + (size_t)n + 2);
		if (!t) {
			kzsh_err("%s: out of memory", name);
			sh->status = 1;
			goto out;
		}
		text = t;
		memcpy(text + textlen, piece, (size_t)n);
		textlen += (size_t)n;
		text[textlen] = 0;
		int rc = run_line(sh, text, &failed, what, sizeof(what), err,
				  sizeof(err));
		if (rc == -EAGAIN && !line) {
			continue;	/* the quote goes on */
		}
		textlen = 0;
		if (rc) {
			if (first == lineno)
				kzsh_err("%s: line %u: %s", name, lineno, err);
			else
				kzsh_err("%s: lines %u-%u: %s", name, first,
					 lineno, err);
			sh->status = 2;
			goto out;
		}
		if (failed) {
			/* With -c the command's own message is enough. */
			if (!line)
				kzsh_err("%s: line %u: %s failed (exit status "
					 "%d); stopping", name, first, what,
					 sh->status);
			goto out;
		}
		if (sh->exiting)
			goto out;
	}
	if (textlen) {
		kzsh_err("%s: line %u: unterminated quote at the end", name,
			 first);
		sh->status = 2;
	}
out:
	free(buf);
	free(text);
	return sh->status;
}

/* ---- interactive ---- */

static char *prompt_fn(EditLine *el)
{
	struct kzsh *sh = NULL;
	el_get(el, EL_CLIENTDATA, &sh);
	return sh->prompt;
}

static void set_prompt(struct kzsh *sh, bool continued)
{
	if (continued)
		snprintf(sh->prompt, sizeof(sh->prompt), "> ");
	else if (strcmp(sh->root, ZS_DEFAULT_ROOT) == 0)
		snprintf(sh->prompt, sizeof(sh->prompt), "kzsh> ");
	else
		snprintf(sh->prompt, sizeof(sh->prompt), "kzsh:%s> ", sh->root);
}

/*
 * Read one character for libedit.  Ctrl-C at the prompt interrupts the
 * read: the line typed so far is thrown away (the caller sees got_sigint)
 * and a fresh prompt follows, as in other shells.
 */
static int getc_fn(EditLine *el, wchar_t *wc)
{
	mbstate_t mbs;
	sigset_t intr, orig;
	char c;
	(void)el;
	memset(&mbs, 0, sizeof(mbs));
	sigemptyset(&intr);
	sigaddset(&intr, SIGINT);
	for (;;) {
		/*
		 * Wait with SIGINT let in only inside ppoll, so that one
		 * arriving just before the wait is not slept through.
		 */
		sigprocmask(SIG_BLOCK, &intr, &orig);
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		while (!got_sigint && ppoll(&p, 1, NULL, &orig) < 0 &&
		       errno == EINTR)
			;
		sigprocmask(SIG_SETMASK, &orig, NULL);
		if (got_sigint) {
			/* End the line here; the caller drops it. */
			(void)!write(STDOUT_FILENO, "^C", 2);
			*wc = L'\n';
			return 1;
		}
		ssize_t n = read(STDIN_FILENO, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;	/* 0: end of input, -1: error */
		size_t r = mbrtowc(wc, &c, 1, &mbs);
		if (r == (size_t)-2)
			continue;	/* more bytes of this character */
		if (r == (size_t)-1) {
			memset(&mbs, 0, sizeof(mbs));
			*wc = (unsigned char)c;
		}
		return 1;
	}
}

void kzsh_history_save(struct kzsh *sh)
{
	HistEvent ev;
	if (sh->hist && sh->histfile[0])
		history(sh->hist, &ev, H_SAVE, sh->histfile);
}

static int interactive(struct kzsh *sh)
{
	HistEvent ev;
	char err[256], what[256];
	char *text = NULL;
	size_t textlen = 0;
	bool failed;

	sh->el = el_init("kzsh", stdin, stdout, stderr);
	sh->hist = history_init();
	if (!sh->el || !sh->hist) {
		kzsh_err("cannot set up line editing");
		if (sh->el)
			el_end(sh->el);
		if (sh->hist)
			history_end(sh->hist);
		return 1;
	}
	history(sh->hist, &ev, H_SETSIZE, KZSH_HISTORY_SIZE);
	history(sh->hist, &ev, H_SETUNIQUE, 1);
	if (sh->histfile[0])
		history(sh->hist, &ev, H_LOAD, sh->histfile);
	el_set(sh->el, EL_CLIENTDATA, sh);
	el_set(sh->el, EL_EDITOR, "emacs");
	el_set(sh->el, EL_PROMPT, prompt_fn);
	el_set(sh->el, EL_HIST, history, sh->hist);
	el_set(sh->el, EL_GETCFN, getc_fn);
	if (kzsh_complete_init(sh))
		kzsh_err("completion is not available");
	el_source(sh->el, NULL);	/* ~/.editrc: "bind -v" for vi mode */

	set_prompt(sh, false);
	while (!sh->exiting) {
		int count;
		got_sigint = 0;
		const char *line = el_gets(sh->el, &count);
		if (got_sigint) {
			/* Ctrl-C: drop what was typed, start again. */
			textlen = 0;
			set_prompt(sh, false);
			continue;
		}
		if (!line || count <= 0) {
			if (textlen)
				kzsh_err("unterminated quote at the end");
			fputc('\n', stdout);
			break;
		}
		size_t n = strlen(line);
		char *t = realloc(text, textlen + n + 1);
		if (!t) {
			kzsh_err("out of memory");
			break;
		}
		text = t;
		memcpy(text + textlen, line, n + 1);
		textlen += n;
		int rc = run_line(sh, text, &failed, what, sizeof(what), err,
				  sizeof(err));
		if (rc == -EAGAIN) {
			set_prompt(sh, true);
			continue;
		}
		/* Into the history as typed, less the final newline. */
		if (textlen > 1 || (textlen == 1 && text[0] != '\n')) {
			char *h = strndup(text, text[textlen - 1] == '\n' ?
						textlen - 1 : textlen);
			if (h && strspn(h, " \t\n") != strlen(h)) {
				history(sh->hist, &ev, H_ENTER, h);
				kzsh_history_save(sh);
			}
			free(h);
		}
		textlen = 0;
		if (rc) {
			kzsh_err("%s", err);
			sh->status = 2;
		}
		set_prompt(sh, false);
	}
	free(text);
	kzsh_history_save(sh);
	history_end(sh->hist);
	el_end(sh->el);
	sh->el = NULL;
	sh->hist = NULL;
	return sh->status;
}

int cmd_kzsh(int argc, char **argv)
{
	struct kzsh sh = { .errexit = true };
	const char *line = NULL, *root_opt = NULL;
	int opt, rc;

	optind = 0;
	while ((opt = getopt(argc, argv, "+R:c:h")) != -1) {
		switch (opt) {
		case 'R': root_opt = optarg; break;
		case 'c': line = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (line && optind < argc) {
		kzsh_err("-c and a script file do not go together");
		usage(stderr);
		return 2;
	}
	if (optind + 1 < argc) {
		usage(stderr);
		return 2;
	}
	if (root_opt) {
		char abs[PATH_MAX];
		/* Relative to where we started, whatever cd does later. */
		if (root_opt[0] != '/' && realpath(root_opt, abs))
			root_opt = abs;
		setenv("KZ_ROOT", root_opt, 1);
	}
	sh.root = zs_root(NULL);
	const char *home = getenv("HOME");
	if (home && *home)
		snprintf(sh.histfile, sizeof(sh.histfile), "%s/%s", home,
			 KZSH_HISTORY_FILE);
	setlocale(LC_CTYPE, "");

	/* The shell outlives Ctrl-C and Ctrl-Z; its commands do not. */
	struct sigaction sa = { .sa_handler = on_sigint };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	struct sigaction old_int, old_quit, old_tstp, old_pipe;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	sigaction(SIGTSTP, &ign, &old_tstp);
	sigaction(SIGPIPE, &ign, &old_pipe);

	if (line) {
		rc = run_script(&sh, NULL, line, "-c");
	} else if (optind < argc) {
		FILE *f = fopen(argv[optind], "re");
		if (!f) {
			kzsh_err("%s: %s", argv[optind], strerror(errno));
			rc = 1;
		} else {
			rc = run_script(&sh, f, NULL, argv[optind]);
			fclose(f);
		}
	} else if (isatty(STDIN_FILENO)) {
		sh.interactive = true;
		sh.errexit = false;
		rc = interactive(&sh);
	} else {
		rc = run_script(&sh, stdin, NULL, "stdin");
	}

	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	sigaction(SIGTSTP, &old_tstp, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	return rc;
}
