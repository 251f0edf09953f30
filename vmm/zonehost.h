#ifndef KZ_VMM_ZONEHOST_H
#define KZ_VMM_ZONEHOST_H

#include <stdbool.h>
#include <stddef.h>

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

/*
 * The zone's device and anet resources as disks and nets of vc (in boot
 * order, by id); zone_devs.c.  0, or -errno with err saying why.
 */
struct zone_config;
struct vmm_config;
int zonehost_devices(const struct zone_config *c, const char *zone,
		     struct vmm_config *vc, char *err, size_t errlen);

#endif
