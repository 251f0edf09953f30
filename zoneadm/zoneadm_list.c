/*
 * zoneadm list: the zones of a root, in the Solaris formats.
 *
 *   (no option)  names of running zones, one a line
 *   -c / -i      configured and up / installed and up, instead of running
 *   -v           ID NAME STATUS PATH BRAND IP
 *   -p           id:name:state:path:uuid:brand:ip  (id '-' when not running)
 *   -s           NAME STATUS AUXILIARY STATE
 *
 * The host itself is listed first as zone 0, 'global', as Solaris does.
 * Auxiliary states of running zones come from their kzhost.
 */
#include "ctl.h"
#include "zoneadm_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct list_opts {
	bool all, installed, verbose, parsable, aux;
};

static int zone_id(const char *root, const char *zone)
{
	char path[ZS_PATH_MAX];
	int id = 0;
	if (zs_path(path, sizeof(path), root, "run/%s/zoneid", zone))
		return 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%d", &id) != 1)
		id = 0;
	fclose(f);
	return id;
}

/* Auxiliary states, comma-separated, or "-" when none. */
static void aux_states(const char *root, const struct zone_entry *e,
		       char *out, size_t len)
{
	char reply[1024], err[256];
	snprintf(out, len, "-");
	if (e->state != ZS_RUNNING && e->state != ZS_READY &&
	    e->state != ZS_SHUTTING_DOWN)
		return;
	if (ctl_request(root, e->name, "status", reply, sizeof(reply), err,
			sizeof(err)))
		return;
	char *aux = strstr(reply, "aux ");
	if (!aux)
		return;
	aux += 4;
	size_t n = strcspn(aux, "\n");
	if (n)
		snprintf(out, len, "%.*s", (int)n, aux);
}

static bool wanted(const struct list_opts *o, enum zone_state s)
{
	if (o->all)
		return true;
	if (o->installed)
		return s != ZS_CONFIGURED;
	return s == ZS_RUNNING || s == ZS_SHUTTING_DOWN || s == ZS_READY;
}

static void print_zone(const struct list_opts *o, int id, const char *name,
		       const char *state, const char *path, const char *uuid,
		       const char *brand, const char *ip, const char *aux)
{
	char idbuf[16];
	if (id >= 0)
		snprintf(idbuf, sizeof(idbuf), "%d", id);
	else
		snprintf(idbuf, sizeof(idbuf), "-");
	if (o->parsable)
		printf("%s:%s:%s:%s:%s:%s:%s\n", idbuf, name, state, path, uuid,
		       brand, ip);
	else if (o->verbose)
		printf("%4s %-16s %-14s %-30s %-8s %s\n", idbuf, name, state,
		       path, brand, ip);
	else if (o->aux)
		printf("%-16s %-14s %s\n", name, state, aux);
	else
		printf("%s\n", name);
}

int za_list(struct za_ctx *c, int argc, char **argv)
{
	struct list_opts o = { false };
	struct zone_index idx;
	char err[256];
	int opt;

	while ((opt = getopt(argc, argv, "cipsv")) != -1) {
		switch (opt) {
		case 'c': o.all = true; break;
		case 'i': o.installed = true; break;
		case 'p': o.parsable = true; break;
		case 's': o.aux = true; break;
		case 'v': o.verbose = true; break;
		default: return za_usage(za_find("list"));
		}
	}
	if (optind < argc)
		return za_usage(za_find("list"));
	if (zs_index_read(c->root, &idx, err, sizeof(err))) {
		za_err(NULL, "%s", err);
		return 1;
	}
	if (o.verbose && !o.parsable)
		printf("%4s %-16s %-14s %-30s %-8s %s\n", "ID", "NAME", "STATUS",
		       "PATH", "BRAND", "IP");
	else if (o.aux && !o.parsable)
		printf("%-16s %-14s %s\n", "NAME", "STATUS", "AUXILIARY STATE");
	if (!c->zone || strcmp(c->zone, "global") == 0)
		print_zone(&o, 0, "global", "running", "/", "", "linux",
			   "shared", "-");
	for (size_t i = 0; i < idx.n; i++) {
		struct zone_entry *e = &idx.zones[i];
		if (c->zone && strcmp(c->zone, e->name) != 0)
			continue;
		za_reconcile(c->root, e);
		/* -z names one zone: show it whatever its state. */
		if (!c->zone && !wanted(&o, e->state))
			continue;
		bool up = e->state == ZS_RUNNING || e->state == ZS_READY ||
			  e->state == ZS_SHUTTING_DOWN;
		char aux[128];
		if (o.aux)
			aux_states(c->root, e, aux, sizeof(aux));
		else
			aux[0] = 0;
		print_zone(&o, up ? zone_id(c->root, e->name) : -1, e->name,
			   zs_state_name(e->state), e->zonepath, e->uuid,
			   e->brand, "excl", aux);
	}
	int status = 0;
	if (c->zone && strcmp(c->zone, "global") != 0 &&
	    !zs_index_find(&idx, c->zone)) {
		za_err(c, "no such zone configured");
		status = 1;
	}
	zs_index_free(&idx);
	return status;
}
