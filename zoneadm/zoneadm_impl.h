/* Inside zoneadm: what its subcommand files share. */
#ifndef KZ_ZONEADM_IMPL_H
#define KZ_ZONEADM_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include "store.h"

struct za_ctx {
	const char *root;
	const char *zone;	/* -z, NULL when not given */
	struct zone_entry entry;	/* the zone's index line, when zone != NULL */
	int lock_fd;
	bool interactive;	/* stdin and stderr are terminals */
};

typedef int (*za_fn)(struct za_ctx *c, int argc, char **argv);

struct za_cmd {
	const char *name;
	const char *usage;
	const char *help;
	za_fn fn;
	bool needs_zone;	/* requires -z */
	bool locks;		/* takes the per-zone lock */
};

extern const struct za_cmd za_cmds[];
extern const size_t za_ncmds;

/* One line on stderr: "zoneadm: zone 'Z': ..." (or without the zone). */
void za_err(const struct za_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Usage of one subcommand on stderr; returns 2. */
int za_usage(const struct za_cmd *cmd);
const struct za_cmd *za_find(const char *name);

/*
 * Bring the index in line with reality: a zone recorded as ready or
 * running whose kzhost is gone reads installed again, with its run
 * directory emptied.  Returns true when it changed something.
 */
bool za_reconcile(const char *root, struct zone_entry *e);
/* pid of the zone's kzhost VM process, or 0 when none is alive. */
int za_kzhost_pid(const char *root, const char *zone);

/* Refuse with one line unless the zone is in one of the given states. */
bool za_state_in(const struct za_ctx *c, const char *what, unsigned nstates,
		 const enum zone_state *states);

/* Would this host run the configuration?  One line for the first problem. */
struct zone_config;
int za_check_host_fit(struct za_ctx *c, const struct zone_config *cfg);

/* The built-in guest kernel, as installed beside the programs. */
int za_default_kernel(char *buf, size_t len);
/* The kzhost program beside this one. */
int za_kzhost_path(char *buf, size_t len);

/* Subcommands. */
int za_list(struct za_ctx *c, int argc, char **argv);
int za_install(struct za_ctx *c, int argc, char **argv);
int za_uninstall(struct za_ctx *c, int argc, char **argv);
int za_verify(struct za_ctx *c, int argc, char **argv);
int za_ready(struct za_ctx *c, int argc, char **argv);
int za_boot(struct za_ctx *c, int argc, char **argv);
int za_halt(struct za_ctx *c, int argc, char **argv);
int za_shutdown(struct za_ctx *c, int argc, char **argv);
int za_reboot(struct za_ctx *c, int argc, char **argv);
int za_detach(struct za_ctx *c, int argc, char **argv);
int za_attach(struct za_ctx *c, int argc, char **argv);
int za_clone(struct za_ctx *c, int argc, char **argv);
int za_mark(struct za_ctx *c, int argc, char **argv);
int za_savecore(struct za_ctx *c, int argc, char **argv);
int za_help(struct za_ctx *c, int argc, char **argv);
int za_gdb(struct za_ctx *c, int argc, char **argv);

#endif
