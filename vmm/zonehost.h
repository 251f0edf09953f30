#ifndef KZ_VMM_ZONEHOST_H
#define KZ_VMM_ZONEHOST_H

#include <stdbool.h>

struct zonehost_opts {
	const char *root;
	const char *zone;
	const char *bootargs;	/* from zoneadm boot -- ARGS, may be NULL */
	bool ready;		/* make the machine but hold its vCPUs */
	int notify_fd;		/* told "ok" or "error TEXT" once booted; -1 */
};

/*
 * kzhost for a zone: a supervisor process that outlives the VM process it
 * forks, so that however the VM process ends, the zone is put back to
 * installed and its run directory removed.  Returns the exit status.
 */
int zonehost_main(const struct zonehost_opts *o);

#endif
