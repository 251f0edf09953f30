/* Inside kzsh: what the shell, its builtins and its completion share. */
#ifndef KZ_KZSH_IMPL_H
#define KZ_KZSH_IMPL_H

#include <histedit.h>
#include <stdbool.h>
#include <stddef.h>

#include "kzsh.h"

#define KZSH_HISTORY_FILE ".kzsh_history"
#define KZSH_HISTORY_SIZE 1000

struct kzsh {
	const char *root;	/* the zone root in use (also $KZ_ROOT) */
	bool interactive;	/* reading a terminal with libedit */
	bool errexit;		/* a script stops at the first failure */
	bool exiting;		/* the exit builtin ran */
	int status;		/* of the last command */
	EditLine *el;
	History *hist;
	char histfile[4096];	/* "" when $HOME is not set */
	char prompt[4200];
};

struct kzsh_builtin;
typedef int (*kzsh_shell_fn)(struct kzsh *sh, int argc, char **argv);
typedef int (*kzsh_cmd_fn)(int argc, char **argv);
/* Candidates for the word being typed; see kzsh_complete.c. */
struct kzsh_cands;
struct kzsh_partial;
typedef void (*kzsh_complete_fn)(struct kzsh *sh,
				 const struct kzsh_partial *p,
				 struct kzsh_cands *out);

/*
 * A builtin is one of the admin commands (cmd: the same library entry
 * point as the standalone program, run in a child of the shell so that
 * Ctrl-C ends it as it would end the program, and whatever it leaves
 * behind -- getopt state, locks, descriptors, a terminal mode -- goes
 * with it) or one of the shell's own (shell: runs in the shell, since it
 * changes the shell).  Adding a command is one line here.
 */
struct kzsh_builtin {
	const char *name;
	const char *usage;
	const char *help;
	kzsh_cmd_fn cmd;
	kzsh_shell_fn shell;
	kzsh_complete_fn complete;
};

extern const struct kzsh_builtin kzsh_builtins[];
extern const size_t kzsh_nbuiltins;
const struct kzsh_builtin *kzsh_builtin_find(const char *name);

/* One line on stderr: "kzsh: ...". */
void kzsh_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run one split command; returns its exit status. */
int kzsh_run(struct kzsh *sh, int argc, char **argv);

/* Save the history file (after each line, so a killed shell keeps it). */
void kzsh_history_save(struct kzsh *sh);

/* Completion: bind TAB in sh->el. */
int kzsh_complete_init(struct kzsh *sh);

/* Completers of the builtins (kzsh_complete.c). */
void kzsh_complete_zoneadm(struct kzsh *, const struct kzsh_partial *,
			   struct kzsh_cands *);
void kzsh_complete_zonecfg(struct kzsh *, const struct kzsh_partial *,
			   struct kzsh_cands *);
void kzsh_complete_zlogin(struct kzsh *, const struct kzsh_partial *,
			  struct kzsh_cands *);
void kzsh_complete_zonestat(struct kzsh *, const struct kzsh_partial *,
			    struct kzsh_cands *);
void kzsh_complete_zonesvc(struct kzsh *, const struct kzsh_partial *,
			   struct kzsh_cands *);
void kzsh_complete_kzdb(struct kzsh *, const struct kzsh_partial *,
			struct kzsh_cands *);
void kzsh_complete_cd(struct kzsh *, const struct kzsh_partial *,
		      struct kzsh_cands *);
void kzsh_complete_help(struct kzsh *, const struct kzsh_partial *,
			struct kzsh_cands *);
void kzsh_complete_set(struct kzsh *, const struct kzsh_partial *,
		       struct kzsh_cands *);

#endif
