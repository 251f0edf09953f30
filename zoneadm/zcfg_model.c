/*
 * The configuration model: allocation, deep copy, the derived fields and
 * the boot order, and reading/writing ROOT/etc/ZONE.cfg.
 *
 * A configuration file is a zonecfg command file; zcfg_parse runs it
 * through the interpreter (zcfg_exec.c) with no store attached, so a
 * file can only do what a person at the prompt could.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "zonecfg.h"

#define ZCFG_FILE_MAX	(1 << 20)	/* far above any real configuration */

struct zone_config *zcfg_new(const char *zonename, const char *zonepath)
{
	struct zone_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	snprintf(c->zonename, sizeof(c->zonename), "%s",
		 zonename ? zonename : "");
	snprintf(c->zonepath, sizeof(c->zonepath), "%s",
		 zonepath ? zonepath : "");
	strcpy(c->brand, ZCFG_BRAND);
	c->autoboot = false;
	strcpy(c->auto_shutdown, "shutdown");
	zcfg_refresh(c);
	return c;
}

void zcfg_free(struct zone_config *c)
{
	if (!c)
		return;
	free(c->devices);
	free(c->anets);
	free(c);
}

struct zone_config *zcfg_dup(const struct zone_config *c)
{
	struct zone_config *d = malloc(sizeof(*d));

	if (!d)
		return NULL;
	*d = *c;
	d->devices = NULL;
	d->anets = NULL;
	if (c->ndevices) {
		d->devices = malloc(c->ndevices * sizeof(*d->devices));
		if (!d->devices)
			goto fail;
		memcpy(d->devices, c->devices,
		       c->ndevices * sizeof(*d->devices));
	}
	if (c->nanets) {
		d->anets = malloc(c->nanets * sizeof(*d->anets));
		if (!d->anets)
			goto fail;
		memcpy(d->anets, c->anets, c->nanets * sizeof(*d->anets));
	}
	return d;
fail:
	zcfg_free(d);
	return NULL;
}

/* Unset (-1) sorts after every set value. */
static long key(int v)
{
	return v < 0 ? 0x7fffffffL + 1 : v;
}

static bool dev_before(const struct zcfg_device *a,
		       const struct zcfg_device *b)
{
	if (key(a->bootpri) != key(b->bootpri))
		return key(a->bootpri) < key(b->bootpri);
	return key(a->id) < key(b->id);
}

void zcfg_refresh(struct zone_config *c)
{
	/* Insertion sorts: stable, and the lists are short. */
	for (size_t i = 1; i < c->ndevices; i++) {
		struct zcfg_device d = c->devices[i];
		size_t j = i;
		for (; j > 0 && dev_before(&d, &c->devices[j - 1]); j--)
			c->devices[j] = c->devices[j - 1];
		c->devices[j] = d;
	}
	for (size_t i = 1; i < c->nanets; i++) {
		struct zcfg_anet a = c->anets[i];
		size_t j = i;
		for (; j > 0 && key(a.id) < key(c->anets[j - 1].id); j--)
			c->anets[j] = c->anets[j - 1];
		c->anets[j] = a;
	}

	c->dcpu_min = c->dcpu_max = 0;
	if (c->has_dedicated_cpu && c->dcpu_ncpus[0]) {
		unsigned lo = 0, hi = 0;
		int n = sscanf(c->dcpu_ncpus, "%u-%u", &lo, &hi);
		c->dcpu_min = lo;
		c->dcpu_max = n == 2 ? hi : lo;
	}
	c->dedicated_cpu = c->has_dedicated_cpu;
	if (c->has_virtual_cpu && c->vcpu_ncpus)
		c->ncpus = c->vcpu_ncpus;
	else if (c->dcpu_min)
		c->ncpus = c->dcpu_min;
	else
		c->ncpus = ZCFG_DEFAULT_NCPUS;
	c->memory = c->has_capped_memory && c->physical ? c->physical
							: ZCFG_DEFAULT_MEMORY;
}

size_t zcfg_boot_devices(const struct zone_config *c, size_t *idx, size_t max)
{
	size_t n = 0;

	/* devices[] is kept in boot order, bootable ones first. */
	for (size_t i = 0; i < c->ndevices && n < max; i++)
		if (c->devices[i].bootpri >= 0)
			idx[n++] = i;
	return n;
}

int zcfg_parse(const char *text, size_t len, const char *zonename,
	       const char *zonepath, struct zone_config **out, char *err,
	       size_t errlen)
{
	struct zcfg_session s;
	char e[512];
	unsigned lineno = 0;
	int rc = 0;

	*out = NULL;
	zcfg_session_init(&s, zonename, zonepath, NULL);
	struct zone_config *c = zcfg_new(zonename, zonepath);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	zcfg_session_set(&s, c);
	s.exists = false;	/* a file may start with create -b */
	for (size_t i = 0; i < len && !s.done;) {
		size_t l = 0;
		while (i + l < len && text[i + l] != '\n')
			l++;
		lineno++;
		char *line = strndup(text + i, l);
		if (!line) {
			rc = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (memchr(text + i, 0, l)) {
			free(line);
			rc = -EINVAL;
			snprintf(err, errlen, "line %u: NUL byte", lineno);
			goto out;
		}
		rc = zcfg_exec(&s, line, e, sizeof(e));
		free(line);
		if (rc) {
			snprintf(err, errlen, "line %u: %s", lineno, e);
			if (rc == ZCFG_EUSAGE)
				rc = -EINVAL;
			goto out;
		}
		i += l + 1;
	}
	if (s.scope != ZR_GLOBAL) {
		snprintf(err, errlen, "%s resource not ended at end of input",
			 zcfg_scope_name(s.scope));
		rc = -EINVAL;
		goto out;
	}
	if (!s.cfg) {
		snprintf(err, errlen, "no configuration (deleted)");
		rc = -EINVAL;
		goto out;
	}
	/* The name and the path come from the caller, not from the file. */
	snprintf(s.cfg->zonename, sizeof(s.cfg->zonename), "%s",
		 zonename ? zonename : "");
	snprintf(s.cfg->zonepath, sizeof(s.cfg->zonepath), "%s",
		 zonepath ? zonepath : "");
	zcfg_refresh(s.cfg);
	*out = s.cfg;
	s.cfg = NULL;
out:
	zcfg_session_fini(&s);
	return rc;
}

int zcfg_load(const char *root, const char *zone, struct zone_config **out,
	      char *err, size_t errlen)
{
	char path[ZS_PATH_MAX], zp[ZS_PATH_MAX], e[512];
	int rc;

	*out = NULL;
	if (!zs_name_valid(zone, err, errlen))
		return -EINVAL;
	if (zs_path(path, sizeof(path), root, "etc/%s.cfg", zone) ||
	    zs_path(zp, sizeof(zp), root, "zones/%s", zone)) {
		snprintf(err, errlen, "root path %s is too long", root);
		return -ENAMETOOLONG;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			snprintf(err, errlen, "zone '%s' is not configured "
				 "(no %s)", zone, path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	char *buf = malloc(ZCFG_FILE_MAX);
	size_t len = 0;
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, ZCFG_FILE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == ZCFG_FILE_MAX) {
			rc = -EFBIG;
			snprintf(err, errlen, "%s: larger than %d bytes", path,
				 ZCFG_FILE_MAX);
			goto out;
		}
	}
	rc = zcfg_parse(buf, len, zone, zp, out, e, sizeof(e));
	if (rc)
		snprintf(err, errlen, "%s: %s", path, e);
out:
	free(buf);
	close(fd);
	return rc;
}

int zcfg_write(const char *root, const struct zone_config *c, char *err,
	       size_t errlen)
{
	char path[ZS_PATH_MAX];
	char *text = NULL, *all = NULL;
	int rc;

	if (!zs_name_valid(c->zonename, err, errlen))
		return -EINVAL;
	if (zs_path(path, sizeof(path), root, "etc/%s.cfg", c->zonename)) {
		snprintf(err, errlen, "root path %s is too long", root);
		return -ENAMETOOLONG;
	}
	rc = zcfg_export(c, &text);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	int n = asprintf(&all,
			 "# zone %s, brand %s: written by zonecfg; change it "
			 "with zonecfg -z %s.\n# Mode 0600: it may hold the "
			 "suspend key.\n%s",
			 c->zonename, c->brand, c->zonename, text);
	free(text);
	if (n < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = zs_write_atomic(path, all, (size_t)n, 0600);
	free(all);
	if (rc)
		snprintf(err, errlen, "writing %s: %s", path, strerror(-rc));
	return rc;
}
