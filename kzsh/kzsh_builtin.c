/*
 * kzsh's builtins: the admin commands (the same entry points as the
 * standalone programs) and the shell's own few.  help and completion are
 * generated from this table.
 */
#include "kzsh_impl.h"
#include "dbg.h"
#include "zlogin.h"
#include "zoneadm.h"
#include "zonecfg.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int sh_help(struct kzsh *sh, int argc, char **argv);
static int sh_history(struct kzsh *sh, int argc, char **argv);
static int sh_cd(struct kzsh *sh, int argc, char **argv);
static int sh_exit(struct kzsh *sh, int argc, char **argv);
static int sh_set(struct kzsh *sh, int argc, char **argv);

const struct kzsh_builtin kzsh_builtins[] = {
	{ "zoneadm", "zoneadm [-z ZONE] SUBCOMMAND ...",
	  "administer zones: install, boot, halt, list, ...", cmd_zoneadm,
	  NULL, kzsh_complete_zoneadm },
	{ "zonecfg", "zonecfg -z ZONE [SUBCOMMAND [; ...]]",
	  "configure a zone (its own prompt when given no subcommand)",
	  cmd_zonecfg, NULL, kzsh_complete_zonecfg },
	{ "zlogin", "zlogin -C ZONE",
	  "the console of a zone (~. leaves it)", cmd_zlogin, NULL,
	  kzsh_complete_zlogin },
	{ "zonestat", "zonestat [-z ZONE,...] [-p] [INTERVAL [COUNT]]",
	  "vCPU, memory, console, disk and network use of running zones",
	  cmd_zonestat, NULL, kzsh_complete_zonestat },
	{ "zonesvc", "zonesvc start|stop",
	  "what the host service does at host start and stop", cmd_zonesvc,
	  NULL, kzsh_complete_zonesvc },
	{ "kzdb", "kzdb -z ZONE [-e CMDS] | kzdb [-k KERNEL] VMCORE",
	  "the kernel debugger: a running zone, or a crash dump", cmd_kzdb,
	  NULL, kzsh_complete_kzdb },
	{ "help", "help [COMMAND]", "list the builtins, or describe one",
	  NULL, sh_help, kzsh_complete_help },
	{ "history", "history [N]", "the last N lines typed (all by default)",
	  NULL, sh_history, NULL },
	{ "cd", "cd [DIR]", "change the working directory ($HOME by default)",
	  NULL, sh_cd, kzsh_complete_cd },
	{ "set", "set [-e on|off]",
	  "whether a script stops at the first command that fails",
	  NULL, sh_set, kzsh_complete_set },
	{ "exit", "exit [STATUS]", "leave the shell (Ctrl-D does too)", NULL,
	  sh_exit, NULL },
};
const size_t kzsh_nbuiltins = sizeof(kzsh_builtins) / sizeof(kzsh_builtins[0]);

const struct kzsh_builtin *kzsh_builtin_find(const char *name)
{
	for (size_t i = 0; i < kzsh_nbuiltins; i++)
		if (strcmp(kzsh_builtins[i].name, name) == 0)
			return &kzsh_builtins[i];
	return NULL;
}

static int sh_help(struct kzsh *sh, int argc, char **argv)
{
	(void)sh;
	if (argc > 2) {
		fprintf(stderr, "usage: help [COMMAND]\n");
		return 2;
	}
	if (argc == 2) {
		const struct kzsh_builtin *b = kzsh_builtin_find(argv[1]);
		if (!b) {
			kzsh_err("help: '%s' is not a builtin; anything else "
				 "runs as a host program", argv[1]);
			return 1;
		}
		printf("%s\n    %s\n", b->usage, b->help);
		if (b->cmd)
			printf("    (%s -h for its options)\n", b->name);
		return 0;
	}
	printf("Builtins (anything else runs as a host program):\n");
	for (size_t i = 0; i < kzsh_nbuiltins; i++)
		printf("  %-48s %s\n", kzsh_builtins[i].usage,
		       kzsh_builtins[i].help);
	printf("Quoting as in sh ('...', \"...\", \\); ';' separates "
	       "commands; # starts a comment.\n");
	return 0;
}

static int sh_history(struct kzsh *sh, int argc, char **argv)
{
	HistEvent ev;
	long want = -1;
	if (argc > 2) {
		fprintf(stderr, "usage: history [N]\n");
		return 2;
	}
	if (argc == 2) {
		char *end;
		errno = 0;
		want = strtol(argv[1], &end, 10);
		if (errno || *end || end == argv[1] || want < 0) {
			kzsh_err("history: '%s' is not a count of lines",
				 argv[1]);
			return 2;
		}
	}
	if (!sh->hist)
		return 0;	/* not interactive: nothing is kept */
	/* Oldest first; number them from 1. */
	long total = 0;
	for (int r = history(sh->hist, &ev, H_LAST); r != -1;
	     r = history(sh->hist, &ev, H_PREV))
		total++;
	long n = 0;
	for (int r = history(sh->hist, &ev, H_LAST); r != -1;
	     r = history(sh->hist, &ev, H_PREV)) {
		n++;
		if (want >= 0 && n <= total - want)
			continue;
		printf("%5ld  %s", n, ev.str);
		if (!*ev.str || ev.str[strlen(ev.str) - 1] != '\n')
			putchar('\n');
	}
	return 0;
}

static int sh_cd(struct kzsh *sh, int argc, char **argv)
{
	(void)sh;
	const char *dir = argc > 1 ? argv[1] : getenv("HOME");
	if (argc > 2) {
		fprintf(stderr, "usage: cd [DIR]\n");
		return 2;
	}
	if (!dir || !*dir) {
		kzsh_err("cd: HOME is not set");
		return 1;
	}
	if (chdir(dir) < 0) {
		kzsh_err("cd: %s: %s", dir, strerror(errno));
		return 1;
	}
	char cwd[4096];
	if (getcwd(cwd, sizeof(cwd)))
		setenv("PWD", cwd, 1);
	return 0;
}

static int sh_exit(struct kzsh *sh, int argc, char **argv)
{
	if (argc > 2) {
		fprintf(stderr, "usage: exit [STATUS]\n");
		return 2;
	}
	sh->exiting = true;
	if (argc == 2) {
		char *end;
		long st = strtol(argv[1], &end, 10);
		if (*end || end == argv[1] || st < 0 || st > 255) {
			kzsh_err("exit: '%s' is not a status from 0 to 255",
				 argv[1]);
			return 2;
		}
		return (int)st;
	}
	return sh->status;
}

static int sh_set(struct kzsh *sh, int argc, char **argv)
{
	if (argc == 1) {
		printf("-e %s\n", sh->errexit ? "on" : "off");
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "-e") == 0) {
		if (strcmp(argv[2], "on") == 0) {
			sh->errexit = true;
			return 0;
		}
		if (strcmp(argv[2], "off") == 0) {
			sh->errexit = false;
			return 0;
		}
	}
	fprintf(stderr, "usage: set [-e on|off]\n");
	return 2;
}
