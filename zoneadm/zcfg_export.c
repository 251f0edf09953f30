/*
 * Output of a configuration: `export` (commands that rebuild it, also the
 * on-disk format) and `info` (for people).  Both walk the property
 * tables of zcfg_props.c, so a new property appears in both at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zonecfg.h"

/* Quote a value unless it is made only of characters the lexer keeps. */
static void put_value(FILE *f, const char *v)
{
	bool plain = v[0] != 0 && v[0] != '#';

	for (const char *p = v; *p && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || strchr("-_./:,+@%[]", *p);
	if (plain) {
		fputs(v, f);
		return;
	}
	fputc('"', f);
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

static size_t count(const struct zone_config *c, enum zcfg_scope r)
{
	switch (r) {
	case ZR_DEVICE: return c->ndevices;
	case ZR_ANET: return c->nanets;
	case ZR_CAPPED_MEMORY: return c->has_capped_memory;
	case ZR_VIRTUAL_CPU: return c->has_virtual_cpu;
	case ZR_DEDICATED_CPU: return c->has_dedicated_cpu;
	case ZR_SUSPEND: return c->has_suspend;
	case ZR_KEYSOURCE: return c->has_keysource;
	default: return 0;
	}
}

static void put_sets(FILE *f, const void *obj, enum zcfg_scope r)
{
	size_t np;
	const struct zcfg_prop *p = zcfg_props_of(r, &np);
	char v[1100];

	for (size_t i = 0; i < np; i++) {
		if (p[i].flags & ZP_NOSET)
			continue;
		if (r == ZR_GLOBAL && strcmp(p[i].name, "zonename") == 0)
			continue;	/* the file belongs to -z ZONE */
		if (!zcfg_prop_isset(obj, &p[i])) {
			if (p[i].flags & ZP_ADDSET)
				fprintf(f, "\tclear %s\n", p[i].name);
			continue;
		}
		zcfg_prop_format(obj, &p[i], v, sizeof(v));
		fprintf(f, "%sset %s=", r == ZR_GLOBAL ? "" : "\t", p[i].name);
		put_value(f, v);
		fputc('\n', f);
	}
}

int zcfg_export(const struct zone_config *c, char **text_out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	*text_out = NULL;
	if (!f)
		return -ENOMEM;
	fputs("create -b\n", f);
	put_sets(f, c, ZR_GLOBAL);
	for (unsigned r = ZR_GLOBAL + 1; r < ZR_NSCOPES; r++) {
		size_t n = count(c, (enum zcfg_scope)r);
		for (size_t i = 0; i < n; i++) {
			const void *obj =
				r == ZR_DEVICE ? (const void *)&c->devices[i] :
				r == ZR_ANET ? (const void *)&c->anets[i] :
				(const void *)c;
			fprintf(f, "add %s\n",
				zcfg_scope_name((enum zcfg_scope)r));
			put_sets(f, obj, (enum zcfg_scope)r);
			fputs("end\n", f);
		}
	}
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return -ENOMEM;
	}
	*text_out = buf;
	return 0;
}

void zcfg_info_prop(FILE *f, const struct zone_config *c,
		    const struct zcfg_prop *p)
{
	char v[1100];

	zcfg_prop_format(c, p, v, sizeof(v));
	fprintf(f, "%s: %s\n", p->name, v);
}

void zcfg_info_global(FILE *f, const struct zone_config *c, bool all)
{
	size_t np;
	const struct zcfg_prop *p = zcfg_props_of(ZR_GLOBAL, &np);

	for (size_t i = 0; i < np; i++)
		zcfg_info_prop(f, c, &p[i]);
	fprintf(f, "ip-type: exclusive\n");
	if (!all)
		return;
	for (unsigned r = ZR_GLOBAL + 1; r < ZR_NSCOPES; r++) {
		size_t n = count(c, (enum zcfg_scope)r);
		for (size_t i = 0; i < n; i++)
			zcfg_info_res(f, c, (enum zcfg_scope)r, i);
	}
}

void zcfg_info_res(FILE *f, const struct zone_config *c, enum zcfg_scope r,
		   size_t idx)
{
	size_t np;
	const struct zcfg_prop *p = zcfg_props_of(r, &np);
	const void *obj = r == ZR_DEVICE ? (const void *)&c->devices[idx] :
			  r == ZR_ANET ? (const void *)&c->anets[idx] :
			  (const void *)c;
	char v[1100];

	if ((r == ZR_DEVICE && idx >= c->ndevices) ||
	    (r == ZR_ANET && idx >= c->nanets))
		return;
	fprintf(f, "%s:\n", zcfg_scope_name(r));
	for (size_t i = 0; i < np; i++) {
		if (!zcfg_prop_isset(obj, &p[i])) {
			fprintf(f, "\t%s not specified\n", p[i].name);
			continue;
		}
		zcfg_prop_format(obj, &p[i], v, sizeof(v));
		fprintf(f, "\t%s: %s\n", p[i].name, v);
	}
}
