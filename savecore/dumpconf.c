/*
 * ROOT/etc/dumpadm.conf: read by kzhost when a zone panics and by zoneadm
 * savecore for the default directory; changed by kzdumpadm.  Unknown
 * lines are kept as they are and otherwise ignored, so an older kzhost
 * reads a newer file.
 */
#include "dumpconf.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONF_MAX (256 * 1024)

static void defaults(struct dumpconf *c)
{
	c->enabled = true;
	c->directory[0] = 0;
	c->reboot = false;
}

static int conf_path(const char *root, char *buf, size_t len)
{
	return zs_path(buf, len, root, "etc/dumpadm.conf");
}

/* The whole file, NUL-terminated; an absent file is empty. */
static int read_conf(const char *root, char **out, char *err, size_t errlen)
{
	char path[ZS_PATH_MAX];
	*out = NULL;
	if (conf_path(root, path, sizeof(path))) {
		snprintf(err, errlen, "root path too long");
		return -ENAMETOOLONG;
	}
	char *buf = calloc(1, CONF_MAX + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT) {
			*out = buf;
			return 0;
		}
		int rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(buf);
		return rc;
	}
	size_t n = fread(buf, 1, CONF_MAX, f);
	bool more = fgetc(f) != EOF;
	fclose(f);
	if (more) {
		snprintf(err, errlen, "%s: longer than %d bytes", path, CONF_MAX);
		free(buf);
		return -EFBIG;
	}
	buf[n] = 0;
	*out = buf;
	return 0;
}

/*
 * Split "zone NAME KEY VALUE" or "KEY VALUE" (line is modified).  zone
 * gets NULL for a host-wide line.  False for comments and blank lines.
 */
static bool split(char *line, char **zone, char **key, char **val)
{
	char *save = NULL;
	char *w = strtok_r(line, " \t", &save);
	*zone = NULL;
	if (!w || *w == '#')
		return false;
	if (strcmp(w, "zone") == 0) {
		*zone = strtok_r(NULL, " \t", &save);
		w = strtok_r(NULL, " \t", &save);
		if (!*zone || !w)
			return false;
	}
	*key = w;
	*val = strtok_r(NULL, "", &save);
	if (!*val)
		*val = "";
	while (**val == ' ' || **val == '\t')
		(*val)++;
	return true;
}

static void apply(struct dumpconf *c, struct dumpconf_set *set,
		  const char *key, const char *val)
{
	if (strcmp(key, "enabled") == 0 &&
	    (strcmp(val, "yes") == 0 || strcmp(val, "no") == 0)) {
		c->enabled = val[0] == 'y';
		if (set)
			set->enabled = true;
	} else if (strcmp(key, "directory") == 0) {
		snprintf(c->directory, sizeof(c->directory), "%s", val);
		if (set)
			set->directory = true;
	} else if (strcmp(key, "on-panic") == 0 &&
		   (strcmp(val, "stay") == 0 || strcmp(val, "reboot") == 0)) {
		c->reboot = val[0] == 'r';
		if (set)
			set->on_panic = true;
	}
}

int dumpconf_load(const char *root, const char *zone, struct dumpconf *c,
		  struct dumpconf_set *zset, char *err, size_t errlen)
{
	char *text;
	defaults(c);
	if (zset)
		*zset = (struct dumpconf_set){ 0 };
	int rc = read_conf(root, &text, err, errlen);
	if (rc)
		return rc;
	/* Host-wide lines first, then the zone's, whatever the file order. */
	for (int pass = 0; pass < (zone ? 2 : 1); pass++) {
		char *copy = strdup(text), *save = NULL;
		if (!copy) {
			free(text);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		for (char *l = strtok_r(copy, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			char *z, *k, *v;
			if (!split(l, &z, &k, &v))
				continue;
			if (pass == 0 && !z)
				apply(c, NULL, k, v);
			else if (pass == 1 && z && strcmp(z, zone) == 0)
				apply(c, zset, k, v);
		}
		free(copy);
	}
	free(text);
	return 0;
}

static bool key_chosen(const struct dumpconf_set *w, const char *key)
{
	return (w->enabled && strcmp(key, "enabled") == 0) ||
	       (w->directory && strcmp(key, "directory") == 0) ||
	       (w->on_panic && strcmp(key, "on-panic") == 0);
}

int dumpconf_update(const char *root, const char *zone,
		    const struct dumpconf *c, const struct dumpconf_set *what,
		    bool clear, char *err, size_t errlen)
{
	char path[ZS_PATH_MAX], *text;
	int rc = read_conf(root, &text, err, errlen);
	if (rc)
		return rc;
	size_t cap = strlen(text) + 4096 + 3 * DUMPCONF_PATH_MAX;
	char *out = malloc(cap);
	if (!out) {
		free(text);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size_t used = 0;
	if (strncmp(text, "#", 1) != 0)
		used += (size_t)snprintf(out, cap, "# crash dump settings for "
					 "zones: see kzdumpadm(8)\n");
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char copy[4096], *z, *k, *v;
		snprintf(copy, sizeof(copy), "%s", l);
		if (split(copy, &z, &k, &v) && key_chosen(what, k) &&
		    ((!zone && !z) || (zone && z && strcmp(z, zone) == 0)))
			continue;	/* replaced below */
		if (used + strlen(l) + 2 > cap)
			break;
		used += (size_t)snprintf(out + used, cap - used, "%s\n", l);
	}
	if (!clear) {
		char pre[128] = "";
		if (zone)
			snprintf(pre, sizeof(pre), "zone %s ", zone);
		if (what->enabled)
			used += (size_t)snprintf(out + used, cap - used,
						 "%senabled %s\n", pre,
						 c->enabled ? "yes" : "no");
		if (what->directory)
			used += (size_t)snprintf(out + used, cap - used,
						 "%sdirectory %s\n", pre,
						 c->directory);
		if (what->on_panic)
			used += (size_t)snprintf(out + used, cap - used,
						 "%son-panic %s\n", pre,
						 c->reboot ? "reboot" : "stay");
	}
	free(text);
	if (conf_path(root, path, sizeof(path))) {
		free(out);
		snprintf(err, errlen, "root path too long");
		return -ENAMETOOLONG;
	}
	rc = zs_write_atomic(path, out, used, 0644);
	free(out);
	if (rc)
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	return rc;
}

int dumpconf_dir(const char *root, const struct dumpconf *c, const char *zone,
		 char *out, size_t outlen)
{
	char pat[DUMPCONF_PATH_MAX + 64];
	if (c->directory[0])
		snprintf(pat, sizeof(pat), "%s", c->directory);
	else if (zs_path(pat, sizeof(pat), root, "crash/%%z"))
		return -ENAMETOOLONG;
	size_t used = 0;
	for (const char *p = pat; *p; p++) {
		const char *add = NULL;
		char one[2] = { *p, 0 };
		if (p[0] == '%' && p[1] == 'z') {
			add = zone;
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			add = "%";
			p++;
		} else {
			add = one;
		}
		size_t n = strlen(add);
		if (used + n + 1 > outlen)
			return -ENAMETOOLONG;
		memcpy(out + used, add, n);
		used += n;
	}
	out[used] = 0;
	return 0;
}
