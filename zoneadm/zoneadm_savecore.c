/*
 * zoneadm savecore: a crash dump of a zone that runs, from the host.
 *
 * The zone's kzhost does the work (control verb "savecore", see
 * savecore/savecore.c): it stops the vCPUs only for a consistent copy
 * and files DIR/vmcore.N.  Here: the options, the directory made
 * absolute (kzhost does not share our working directory), and one line
 * naming the file and its size.
 */
#include "ctl.h"
#include "savecore.h"
#include "zoneadm_impl.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const enum zone_state st_has_kzhost[] = { ZS_READY, ZS_RUNNING,
						 ZS_SHUTTING_DOWN };

static const char *field(const char *reply, const char *key, char *out,
			 size_t outlen)
{
	size_t klen = strlen(key);
	for (const char *l = reply; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		if (n > klen && memcmp(l, key, klen) == 0 && l[klen] == ' ') {
			snprintf(out, outlen, "%.*s", (int)(n - klen - 1),
				 l + klen + 1);
			return out;
		}
		l = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static unsigned long long num(const char *reply, const char *key)
{
	char v[32];
	return field(reply, key, v, sizeof(v)) ? strtoull(v, NULL, 10) : 0;
}

int za_savecore(struct za_ctx *c, int argc, char **argv)
{
	const char *dir = NULL;
	char abs[PATH_MAX], line[PATH_MAX + 16], reply[CTL_LINE_MAX * 2];
	char err[CTL_LINE_MAX], file[PATH_MAX], size[32], ram[32], saved[32];
	int opt;

	while ((opt = getopt(argc, argv, "d:")) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		default: return za_usage(za_find("savecore"));
		}
	}
	if (optind != argc)
		return za_usage(za_find("savecore"));
	if (dir && !*dir) {
		za_err(c, "savecore: -d needs a directory");
		return 2;
	}
	if (!za_state_in(c, "save a crash dump", 3, st_has_kzhost))
		return 1;
	if (dir && dir[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)) ||
		    snprintf(abs, sizeof(abs), "%s/%s", cwd, dir) >=
			    (int)sizeof(abs)) {
			za_err(c, "savecore: %s: path too long", dir);
			return 1;
		}
		dir = abs;
	}
	snprintf(line, sizeof(line), "savecore%s%s", dir ? " " : "",
		 dir ? dir : "");
	if (c->interactive)
		fprintf(stderr, "zoneadm: zone '%s': writing a crash dump...",
			c->zone);
	int rc = ctl_request(c->root, c->zone, line, reply, sizeof(reply), err,
			     sizeof(err));
	if (c->interactive)
		fprintf(stderr, "\r\033[K");
	if (rc) {
		za_err(c, "savecore: %s", err);
		return 1;
	}
	if (!field(reply, "file", file, sizeof(file))) {
		za_err(c, "savecore: kzhost did not name the dump file");
		return 1;
	}
	savecore_size_str(num(reply, "size"), size, sizeof(size));
	savecore_size_str(num(reply, "memory"), ram, sizeof(ram));
	savecore_size_str(num(reply, "saved"), saved, sizeof(saved));
	printf("%s: %llu bytes (%s; %s of %s RAM saved), zone stopped "
	       "%.1f ms, written in %.1f ms\n",
	       file, num(reply, "size"), size, saved, ram,
	       num(reply, "stopped-us") / 1000.0, num(reply, "time-us") / 1000.0);
	return 0;
}
