/*
 * The host's crash-dump settings for zones (kzdumpadm(8)):
 * ROOT/etc/dumpadm.conf, one "KEY VALUE" a line, host-wide, and
 * "zone NAME KEY VALUE" lines that override them for one zone:
 *
 *   enabled   yes|no       write a dump when a zone's kernel panics
 *   directory PATH         where dumps go; %z is the zone name
 *                          (default ROOT/crash/%z)
 *   on-panic  stay|reboot  after the dump: keep the panicked zone for
 *                          inspection until halt or reboot, or reboot it
 *
 * Read at every use, so a change applies to running zones.  Library
 * code: returns -errno with one line in err.
 */
#ifndef KZ_SAVECORE_DUMPCONF_H
#define KZ_SAVECORE_DUMPCONF_H

#include <stdbool.h>
#include <stddef.h>

#define DUMPCONF_PATH_MAX 1024

struct dumpconf {
	bool enabled;
	char directory[DUMPCONF_PATH_MAX];	/* pattern, with %z */
	bool reboot;				/* on-panic reboot */
};

/* Which keys a zone overrides (for display and for clearing). */
struct dumpconf_set {
	bool enabled, directory, on_panic;
};

/*
 * The settings that apply to zone (NULL: the host-wide ones), and in
 * zset which of them that zone overrides (may be NULL).
 */
int dumpconf_load(const char *root, const char *zone, struct dumpconf *c,
		  struct dumpconf_set *zset, char *err, size_t errlen);

/*
 * Change settings: the keys marked in what take their values from c, for
 * zone (NULL: host-wide).  clear drops the zone's overrides of those keys
 * instead.  Written atomically.
 */
int dumpconf_update(const char *root, const char *zone,
		    const struct dumpconf *c, const struct dumpconf_set *what,
		    bool clear, char *err, size_t errlen);

/* The directory for zone's dumps: the pattern with %z expanded. */
int dumpconf_dir(const char *root, const struct dumpconf *c, const char *zone,
		 char *out, size_t outlen);

#endif
