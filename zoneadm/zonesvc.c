/*
 * The host service: what happens to zones when the host starts and stops.
 *
 *   zonesvc start   boot every installed zone whose autoboot is true
 *   zonesvc stop    apply each running zone's auto-shutdown: shutdown
 *                   (clean, through the guest), halt, or suspend
 *
 * Run by share/systemd/kzones.service.  Each zone is handled with the
 * same code as zoneadm (cmd_zoneadm), so the messages and the locking are
 * zoneadm's; one zone failing does not stop the others, and the exit
 * status says whether any failed.
 */
#include "store.h"
#include "zoneadm.h"
#include "zonecfg.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int run_zoneadm(const char *root, const char *zone, const char *verb,
		       const char *arg)
{
	char *argv[] = { "zoneadm", "-R", (char *)root, "-z", (char *)zone,
			 (char *)verb, (char *)arg, NULL };
	return cmd_zoneadm(arg ? 7 : 6, argv);
}

static int svc_start(const char *root, const struct zone_entry *e,
		     const struct zone_config *c)
{
	if (!c->autoboot || e->state != ZS_INSTALLED)
		return 0;
	printf("zonesvc: booting zone '%s'\n", e->name);
	return run_zoneadm(root, e->name, "boot", NULL);
}

static int svc_stop(const char *root, const struct zone_entry *e,
		    const struct zone_config *c)
{
	if (e->state != ZS_RUNNING && e->state != ZS_READY)
		return 0;
	const char *how = c->auto_shutdown[0] ? c->auto_shutdown : "shutdown";
	if (strcmp(how, "halt") == 0 || e->state == ZS_READY) {
		printf("zonesvc: halting zone '%s'\n", e->name);
		return run_zoneadm(root, e->name, "halt", NULL);
	}
	if (strcmp(how, "suspend") == 0)
		printf("zonesvc: zone '%s': suspend is not available on this "
		       "host yet; shutting it down instead\n", e->name);
	else
		printf("zonesvc: shutting down zone '%s'\n", e->name);
	return run_zoneadm(root, e->name, "shutdown", NULL);
}

int cmd_zonesvc(int argc, char **argv)
{
	const char *root_opt = NULL;
	int opt;
	optind = 1;
	while ((opt = getopt(argc, argv, "+R:")) != -1) {
		if (opt != 'R')
			goto usage;
		root_opt = optarg;
	}
	if (optind + 1 != argc)
		goto usage;
	int (*act)(const char *, const struct zone_entry *,
		   const struct zone_config *);
	if (strcmp(argv[optind], "start") == 0)
		act = svc_start;
	else if (strcmp(argv[optind], "stop") == 0)
		act = svc_stop;
	else
		goto usage;

	const char *root = zs_root(root_opt);
	struct zone_index idx;
	char err[512];
	if (zs_index_read(root, &idx, err, sizeof(err))) {
		fprintf(stderr, "zonesvc: %s\n", err);
		return 1;
	}
	int status = 0;
	for (size_t i = 0; i < idx.n; i++) {
		struct zone_config *c;
		if (zcfg_load(root, idx.zones[i].name, &c, err, sizeof(err))) {
			fprintf(stderr, "zonesvc: zone '%s': %s\n",
				idx.zones[i].name, err);
			status = 1;
			continue;
		}
		if (act(root, &idx.zones[i], c))
			status = 1;
		zcfg_free(c);
	}
	zs_index_free(&idx);
	return status;
usage:
	fprintf(stderr, "usage: zonesvc [-R ROOT] start|stop\n");
	return 2;
}
