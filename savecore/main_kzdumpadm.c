/*
 * kzdumpadm: the host's crash-dump settings for kernel zones, in the
 * spirit of dumpadm(8) and coreadm(8): whether kzhost writes a dump
 * when a zone's kernel panics, where dumps go, and what the zone does
 * after the dump.  Host-wide, or for one zone with -z.  The settings
 * live in ROOT/etc/dumpadm.conf (savecore/dumpconf.h).
 */
#include "dumpconf.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "kzdumpadm"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [-R ROOT] [-z ZONE] [-y | -n] [-s DIR] "
		"[-p stay|reboot]\n"
		"       " PROG " [-R ROOT] -z ZONE -u\n"
		"  -y        write a dump when a zone's kernel panics\n"
		"  -n        do not\n"
		"  -s DIR    put dumps in DIR (absolute; %%z is the zone name)\n"
		"  -p POLICY after a panic: stay (hold the zone until halt or "
		"reboot) or reboot\n"
		"  -u        drop ZONE's own settings (the host's apply)\n"
		"With no change, show the settings in effect.\n");
}

static void show(const char *root, const char *zone)
{
	struct dumpconf c;
	struct dumpconf_set set;
	char err[512], dir[DUMPCONF_PATH_MAX * 2];
	if (dumpconf_load(root, zone, &c, &set, err, sizeof(err))) {
		fprintf(stderr, PROG ": %s\n", err);
		exit(1);
	}
	const char *from = zone ? " (zone)" : "";
	if (zone)
		printf("zone %s\n", zone);
	printf("  dumps on panic: %s%s\n", c.enabled ? "yes" : "no",
	       set.enabled ? from : "");
	if (c.directory[0])
		printf("  dump directory: %s%s\n", c.directory,
		       set.directory ? from : "");
	else if (!zs_path(dir, sizeof(dir), root, "crash/%%z"))
		printf("  dump directory: %s (default)\n", dir);
	if (zone && !dumpconf_dir(root, &c, zone, dir, sizeof(dir)))
		printf("        for zone: %s\n", dir);
	printf("        on panic: %s%s\n", c.reboot ? "reboot" : "stay",
	       set.on_panic ? from : "");
}

int main(int argc, char **argv)
{
	const char *root_opt = NULL, *zone = NULL;
	struct dumpconf c = { 0 };
	struct dumpconf_set what = { 0 };
	bool clear = false;
	char err[512];
	int opt;

	while ((opt = getopt(argc, argv, "R:z:yns:p:uh")) != -1) {
		switch (opt) {
		case 'R': root_opt = optarg; break;
		case 'z': zone = optarg; break;
		case 'y':
		case 'n':
			if (what.enabled) {
				fprintf(stderr, PROG ": -y and -n: choose one\n");
				return 2;
			}
			what.enabled = true;
			c.enabled = opt == 'y';
			break;
		case 's':
			if (optarg[0] != '/' || strchr(optarg, '\n') ||
			    strlen(optarg) >= sizeof(c.directory)) {
				fprintf(stderr, PROG ": -s %s: expected an "
					"absolute directory path\n", optarg);
				return 2;
			}
			what.directory = true;
			snprintf(c.directory, sizeof(c.directory), "%s", optarg);
			break;
		case 'p':
			if (strcmp(optarg, "stay") && strcmp(optarg, "reboot")) {
				fprintf(stderr, PROG ": -p %s: expected stay or "
					"reboot\n", optarg);
				return 2;
			}
			what.on_panic = true;
			c.reboot = optarg[0] == 'r';
			break;
		case 'u': clear = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (zone && !zs_name_valid(zone, err, sizeof(err))) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	if (clear && (!zone || what.enabled || what.directory ||
		      what.on_panic)) {
		fprintf(stderr, PROG ": -u takes -z ZONE and nothing else\n");
		return 2;
	}
	const char *root = zs_root(root_opt);
	if (clear)
		what = (struct dumpconf_set){ true, true, true };
	if (what.enabled || what.directory || what.on_panic) {
		if (zs_root_init(root, err, sizeof(err)) ||
		    dumpconf_update(root, zone, &c, &what, clear, err,
				    sizeof(err))) {
			fprintf(stderr, PROG ": %s\n", err);
			return 1;
		}
	}
	show(root, zone);
	return 0;
}
