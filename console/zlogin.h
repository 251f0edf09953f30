/*
 * zlogin: the console of a zone (-C ZONE), or of several at once in the
 * full-screen multiplexer (-C ZONE ZONE..., -M).  cmd_zlogin is the
 * library entry point the zlogin binary and kzsh share.
 */
#ifndef KZ_CONSOLE_ZLOGIN_H
#define KZ_CONSOLE_ZLOGIN_H

#include <stdbool.h>

int cmd_zlogin(int argc, char **argv);

/* What the multiplexer needs from the command line. */
struct mux_opts {
	const char *root;
	char **zones;		/* NULL-terminated; empty with follow */
	int nzones;
	bool follow;		/* -M: every running zone, as they come */
	bool force;		/* -f: take each console */
	bool watch;		/* -W: never take a console */
	int prefix;		/* prefix key, a byte (default ^A) */
};

/* The ncurses multiplexer (mux.c).  Returns the exit status. */
int mux_main(const struct mux_opts *o);

#endif
