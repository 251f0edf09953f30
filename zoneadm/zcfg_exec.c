/*
 * The zonecfg interpreter: subcommands, the global and resource scopes,
 * and the command table that help and completion are printed from.
 *
 * A session edits s->cfg in memory.  add/select take a copy of the whole
 * configuration (s->undo) and edit in place; end checks the resource and
 * drops the copy, cancel puts it back.  Store work (commit, delete,
 * create -t ZONE) goes through s->ops, which the zonecfg command
 * supplies; configuration files are parsed with no ops at all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "zonecfg.h"

#define USAGE(...) \
	do { \
		snprintf(err, errlen, __VA_ARGS__); \
		return ZCFG_EUSAGE; \
	} while (0)
#define FAIL(rc, ...) \
	do { \
		snprintf(err, errlen, __VA_ARGS__); \
		return (rc); \
	} while (0)

void zcfg_session_init(struct zcfg_session *s, const char *zone,
		       const char *zonepath, FILE *out)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->zone, sizeof(s->zone), "%s", zone ? zone : "");
	snprintf(s->zonepath, sizeof(s->zonepath), "%s",
		 zonepath ? zonepath : "");
	s->scope = ZR_GLOBAL;
	s->out = out;
}

void zcfg_session_fini(struct zcfg_session *s)
{
	zcfg_free(s->cfg);
	zcfg_free(s->saved);
	zcfg_free(s->undo);
	s->cfg = s->saved = s->undo = NULL;
}

void zcfg_session_set(struct zcfg_session *s, struct zone_config *c)
{
	zcfg_free(s->cfg);
	zcfg_free(s->saved);
	zcfg_free(s->undo);
	s->undo = NULL;
	s->cfg = c;
	s->saved = c ? zcfg_dup(c) : NULL;
	s->exists = c != NULL;
	s->dirty = false;
	s->scope = ZR_GLOBAL;
}

static bool need_cfg(struct zcfg_session *s, char *err, size_t errlen)
{
	if (s->cfg)
		return true;
	snprintf(err, errlen, "zone '%s' is not configured: use create first",
		 s->zone);
	return false;
}

static bool need_global(struct zcfg_session *s, const char *cmd, char *err,
			size_t errlen)
{
	if (s->scope == ZR_GLOBAL)
		return true;
	snprintf(err, errlen, "%s: not allowed inside the %s resource (end or "
		 "cancel it first)", cmd, zcfg_scope_name(s->scope));
	return false;
}

static bool ask(struct zcfg_session *s, const char *q)
{
	return s->interactive && s->ask && s->ask(s->ops_arg, q);
}

/* Options of the form -X; returns the letters seen or -1 on a stranger. */
static int flags(struct zcfg_tok *a, size_t n, size_t *first,
		 const char *allowed)
{
	int seen = 0;
	size_t i = 1;

	for (; i < n && a[i].kind == ZT_WORD && a[i].s[0] == '-' &&
	       !a[i].quoted; i++) {
		for (const char *p = a[i].s + 1; *p; p++) {
			const char *q = strchr(allowed, *p);
			if (!q || *p == ':')
				return -1;
			seen |= 1 << (q - allowed);
		}
		if (a[i].s[1] == 0)
			return -1;
	}
	*first = i;
	return seen;
}

/*
 * For the commands whose only argument is an optional -F (delete, revert,
 * exit): 1 with it, 0 without, ZCFG_EUSAGE (and the usage) otherwise.
 */
static int force_flag(struct zcfg_tok *a, size_t n, const char *cmd,
		      char *err, size_t errlen)
{
	size_t i;
	int f = flags(a, n, &i, "F");

	if (f < 0 || i != n)
		USAGE("usage: %s [-F]", cmd);
	return f & 1;
}

/* ---- PROP=VALUE lists (select, remove, info) ---- */

struct filter {
	const struct zcfg_prop *p;
	const char *val;
};

/* Words from a[i] on as PROP=VALUE pairs; max 8.  May cut words. */
static int parse_filters(enum zcfg_scope r, struct zcfg_tok *a, size_t n,
			 size_t i, struct filter *f, size_t *nf, char *err,
			 size_t errlen)
{
	size_t k = 0;

	while (i < n) {
		const char *name, *val;
		if (k == 8)
			USAGE("too many PROP=VALUE filters");
		if (a[i].kind != ZT_WORD)
			USAGE("expected PROP=VALUE, found '%s'", a[i].s);
		if (i + 2 < n && a[i + 1].kind == ZT_EQ &&
		    a[i + 2].kind == ZT_WORD) {
			name = a[i].s;
			val = a[i + 2].s;
			i += 3;
		} else if (strchr(a[i].s, '=')) {
			/* "PROP=VALUE" quoted as one word: split in place */
			char *eq = strchr(a[i].s, '=');
			*eq = 0;
			name = a[i].s;
			val = eq + 1;
			i++;
		} else {
			USAGE("expected PROP=VALUE, found '%s'", a[i].s);
		}
		const struct zcfg_prop *p = zcfg_prop_find(r, name);
		if (!p) {
			char why[200];
			if (zcfg_refusal(r, NULL, name, why, sizeof(why)))
				FAIL(-ENOTSUP, "%s", why);
			FAIL(-EINVAL, "%s has no property '%s'",
			     zcfg_scope_name(r), name);
		}
		f[k].p = p;
		f[k].val = val;
		k++;
	}
	*nf = k;
	return 0;
}

/* Does the object match every filter?  Values compare in normal form. */
static bool matches(void *obj, const struct filter *f, size_t nf)
{
	for (size_t i = 0; i < nf; i++) {
		union {
			struct zone_config c;
			struct zcfg_device d;
			struct zcfg_anet a;
		} *tmp = calloc(1, sizeof(*tmp));
		char a[1100], b[1100], e[64];
		if (!tmp)
			return false;
		bool ok = zcfg_prop_set(tmp, f[i].p, f[i].val, e,
					sizeof(e)) == 0;
		if (ok) {
			zcfg_prop_format(tmp, f[i].p, a, sizeof(a));
			zcfg_prop_format(obj, f[i].p, b, sizeof(b));
			ok = zcfg_prop_isset(obj, f[i].p) && strcmp(a, b) == 0;
		}
		free(tmp);
		if (!ok)
			return false;
	}
	return true;
}

static size_t res_count(const struct zone_config *c, enum zcfg_scope r)
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

static void filter_text(const struct filter *f, size_t nf, char *buf,
			size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (size_t i = 0; i < nf && o < len; i++) {
		int m = snprintf(buf + o, len - o, "%s%s=%s", i ? " " : " with ",
				 f[i].p->name, f[i].val);
		if (m < 0)
			break;
		o += (size_t)m;
	}
}

/*
 * Resolve a resource word: a supported scope, or a refusal, or unknown.
 */
static int resource_arg(const char *word, enum zcfg_scope *r, char *err,
			size_t errlen)
{
	char why[200];

	*r = zcfg_scope_find(word);
	if (*r != ZR_GLOBAL)
		return 0;
	if (zcfg_refusal(ZR_GLOBAL, word, NULL, why, sizeof(why)))
		FAIL(-ENOTSUP, "%s", why);
	FAIL(-EINVAL, "unknown resource '%s' (help resources lists them)",
	     word);
}

/* Indexes of the resources of type r matching the filters. */
static size_t find_res(struct zone_config *c, enum zcfg_scope r,
		       const struct filter *f, size_t nf, size_t *idx,
		       size_t max)
{
	size_t k = 0, n = res_count(c, r);
	for (size_t i = 0; i < n && k < max; i++)
		if (matches(zcfg_prop_obj(c, r, i), f, nf))
			idx[k++] = i;
	return k;
}

/* ---- subcommands ---- */

static int run_text(struct zcfg_session *s, const char *text, char *err,
		    size_t errlen);

static int cmd_create(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		      char *err, size_t errlen)
{
	const char *tmpl = ZCFG_DEFAULT_TEMPLATE;
	bool blank = false, force = false;
	size_t i = 1;

	if (!need_global(s, "create", err, errlen))
		return -EINVAL;
	for (; i < n; i++) {
		if (a[i].kind != ZT_WORD)
			break;
		if (strcmp(a[i].s, "-b") == 0)
			blank = true;
		else if (strcmp(a[i].s, "-F") == 0)
			force = true;
		else if (strcmp(a[i].s, "-t") == 0 && i + 1 < n &&
			 a[i + 1].kind == ZT_WORD)
			tmpl = a[++i].s;
		else if (strncmp(a[i].s, "-t", 2) == 0 && a[i].s[2])
			tmpl = a[i].s + 2;
		else
			break;
	}
	if (i != n)
		USAGE("usage: create [-F] [-b | -t TEMPLATE]");
	if (s->ops && s->ops->state) {
		const char *st = s->ops->state(s->ops_arg, s->zone);
		if (st && strcmp(st, "configured") && strcmp(st, "incomplete"))
			FAIL(-EBUSY, "zone '%s' is %s: create is not allowed "
			     "(uninstall it first)", s->zone, st);
	}
	if (s->exists && !force) {
		char q[160];
		snprintf(q, sizeof(q), "Zone %s is already configured; "
			 "overwrite it (y/[n])? ", s->zone);
		if (!ask(s, q))
			FAIL(-EEXIST, "zone '%s' is already configured: use "
			     "create -F to replace its configuration", s->zone);
	}

	struct zone_config *c = NULL;
	const char *text = blank ? "" : zcfg_template(tmpl);
	if (text) {
		c = zcfg_new(s->zone, s->zonepath);
		if (!c)
			FAIL(-ENOMEM, "out of memory");
		/* Templates are command text, run in a scratch session. */
		struct zcfg_session t;
		zcfg_session_init(&t, s->zone, s->zonepath, NULL);
		t.cfg = c;
		int rc = run_text(&t, text, err, errlen);
		c = t.cfg;
		t.cfg = NULL;
		zcfg_session_fini(&t);
		if (rc) {
			zcfg_free(c);
			return rc;
		}
	} else {
		int rc = -ENOENT;
		if (s->ops && s->ops->load && strcmp(tmpl, s->zone) &&
		    zs_name_valid(tmpl, err, errlen))
			rc = s->ops->load(s->ops_arg, tmpl, &c, err, errlen);
		if (rc == -ENOENT)
			FAIL(-ENOENT, "template '%s' not found (use %s or the "
			     "name of a configured zone)", tmpl,
			     ZCFG_DEFAULT_TEMPLATE);
		if (rc)
			return rc;
		snprintf(c->zonename, sizeof(c->zonename), "%s", s->zone);
		snprintf(c->zonepath, sizeof(c->zonepath), "%s", s->zonepath);
	}
	zcfg_refresh(c);
	zcfg_free(s->cfg);
	s->cfg = c;
	s->dirty = true;
	return 0;
}

static int cmd_delete(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		      char *err, size_t errlen)
{
	int f = force_flag(a, n, "delete", err, errlen);

	if (f < 0)
		return f;
	if (!need_global(s, "delete", err, errlen))
		return -EINVAL;
	if (!s->ops || !s->ops->remove)
		FAIL(-ENOTSUP, "delete is not available here");
	if (!s->exists) {
		if (!s->cfg)
			FAIL(-ENOENT, "zone '%s' is not configured", s->zone);
		/* Created in this session, never committed: just drop it. */
		zcfg_session_set(s, NULL);
		return 0;
	}
	if (s->ops->state) {
		const char *st = s->ops->state(s->ops_arg, s->zone);
		if (st && strcmp(st, "configured") && strcmp(st, "incomplete"))
			FAIL(-EBUSY, "zone '%s' is %s: uninstall it before "
			     "deleting its configuration", s->zone, st);
	}
	if (!(f & 1)) {
		char q[160];
		if (!s->interactive || !s->ask)
			FAIL(-EPERM, "delete: give -F to delete zone '%s' "
			     "without being asked", s->zone);
		snprintf(q, sizeof(q), "Delete the configuration of zone %s "
			 "(y/[n])? ", s->zone);
		if (!ask(s, q))
			return 0;
	}
	int rc = s->ops->remove(s->ops_arg, s->zone, err, errlen);
	if (rc)
		return rc;
	zcfg_session_set(s, NULL);
	return 0;
}

/* PROP=VALUE in any of its spellings; one value word. */
static int prop_value(struct zcfg_tok *a, size_t n, const char *usage,
		      char *name, size_t nlen, const char **val, char *err,
		      size_t errlen)
{
	if (n == 4 && a[1].kind == ZT_WORD && a[2].kind == ZT_EQ &&
	    a[3].kind == ZT_WORD) {
		snprintf(name, nlen, "%s", a[1].s);
		*val = a[3].s;
		return 0;
	}
	if (n == 3 && a[1].kind == ZT_WORD && a[2].kind == ZT_EQ) {
		snprintf(name, nlen, "%s", a[1].s);
		*val = "";
		return 0;
	}
	if (n == 2 && a[1].kind == ZT_WORD && strchr(a[1].s, '=')) {
		char *eq = strchr(a[1].s, '=');
		if ((size_t)(eq - a[1].s) >= nlen)
			USAGE("%s", usage);
		memcpy(name, a[1].s, (size_t)(eq - a[1].s));
		name[eq - a[1].s] = 0;
		*val = eq + 1;
		return 0;
	}
	USAGE("%s", usage);
}

/* Unknown property in scope r: a refusal, a hint, or plain unknown. */
static int no_such_prop(enum zcfg_scope r, const char *name, char *err,
			size_t errlen)
{
	char why[200];

	if (zcfg_refusal(r, NULL, name, why, sizeof(why)))
		FAIL(-ENOTSUP, "%s", why);
	for (unsigned o = 0; o < ZR_NSCOPES; o++) {
		if (o != r && zcfg_prop_find((enum zcfg_scope)o, name)) {
			if (o == ZR_GLOBAL)
				FAIL(-EINVAL, "property '%s' is global: end "
				     "the %s resource first", name,
				     zcfg_scope_name(r));
			FAIL(-EINVAL, "property '%s' belongs to the %s "
			     "resource (add or select it first)", name,
			     zcfg_scope_name((enum zcfg_scope)o));
		}
	}
	if (r == ZR_GLOBAL)
		FAIL(-EINVAL, "unknown property '%s' (help properties lists "
		     "them)", name);
	FAIL(-EINVAL, "%s has no property '%s' (help properties lists them)",
	     zcfg_scope_name(r), name);
}

static int cmd_set(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		   char *err, size_t errlen)
{
	char name[64];
	const char *val;
	int rc = prop_value(a, n, "usage: set PROPERTY=VALUE", name,
			    sizeof(name), &val, err, errlen);

	if (rc)
		return rc;
	if (!need_cfg(s, err, errlen))
		return -ENOENT;
	if (s->scope == ZR_GLOBAL && strcmp(name, "ip-type") == 0) {
		if (strcmp(val, "exclusive") == 0)
			return 0;
		FAIL(-ENOTSUP, "ip-type '%s' is not supported by brand %s: a "
		     "kernel zone always has its own IP stack (exclusive)",
		     val, ZCFG_BRAND);
	}
	const struct zcfg_prop *p = zcfg_prop_find(s->scope, name);
	if (!p)
		return no_such_prop(s->scope, name, err, errlen);
	if (p->flags & ZP_NOSET)
		FAIL(-EPERM, "%s cannot be set for brand %s: it is always %s",
		     p->name, ZCFG_BRAND, s->cfg->zonepath);
	if (s->scope == ZR_GLOBAL && strcmp(p->name, "brand") == 0 &&
	    strcmp(val, ZCFG_BRAND))
		FAIL(-ENOTSUP, "brand '%s' is not available: this host has "
		     "only brand %s", val, ZCFG_BRAND);
	void *obj = zcfg_prop_obj(s->cfg, s->scope, s->scope_index);
	rc = zcfg_prop_set(obj, p, val, err, errlen);
	if (rc)
		return rc;
	if (s->scope == ZR_GLOBAL && strcmp(p->name, "zonename") == 0) {
		/* The zone path follows the name: ROOT/zones/NAME. */
		char *slash = strrchr(s->cfg->zonepath, '/');
		if (slash) {
			size_t keep = (size_t)(slash + 1 - s->cfg->zonepath);
			if (keep + strlen(val) < sizeof(s->cfg->zonepath))
				strcpy(slash + 1, val);
		}
	}
	s->dirty = true;
	return 0;
}

static int cmd_clear(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		     char *err, size_t errlen)
{
	if (n != 2 || a[1].kind != ZT_WORD)
		USAGE("usage: clear PROPERTY");
	if (!need_cfg(s, err, errlen))
		return -ENOENT;
	const char *name = a[1].s;
	if (s->scope == ZR_GLOBAL && strcmp(name, "ip-type") == 0)
		FAIL(-EPERM, "ip-type cannot be cleared: it is always "
		     "exclusive");
	const struct zcfg_prop *p = zcfg_prop_find(s->scope, name);
	if (!p)
		return no_such_prop(s->scope, name, err, errlen);
	if (p->flags & ZP_NOCLEAR)
		FAIL(-EPERM, "%s cannot be cleared", p->name);
	zcfg_prop_clear(zcfg_prop_obj(s->cfg, s->scope, s->scope_index), p);
	s->dirty = true;
	return 0;
}

static int begin_scope(struct zcfg_session *s, enum zcfg_scope r, size_t idx,
		       char *err, size_t errlen)
{
	zcfg_free(s->undo);
	s->undo = zcfg_dup(s->cfg);
	if (!s->undo)
		FAIL(-ENOMEM, "out of memory");
	s->scope = r;
	s->scope_index = idx;
	return 0;
}

/*
 * A single-instance resource (capped-memory, virtual-cpu, dedicated-cpu,
 * suspend, keysource) made present and empty (add) or absent (remove).
 */
static void set_single(struct zone_config *c, enum zcfg_scope r, bool present)
{
	switch (r) {
	case ZR_CAPPED_MEMORY:
		c->has_capped_memory = present;
		c->physical = 0;
		c->pagesize_policy[0] = 0;
		break;
	case ZR_VIRTUAL_CPU:
		c->has_virtual_cpu = present;
		c->vcpu_ncpus = 0;
		break;
	case ZR_DEDICATED_CPU:
		c->has_dedicated_cpu = present;
		c->dcpu_ncpus[0] = 0;
		break;
	case ZR_SUSPEND:
		c->has_suspend = present;
		c->suspend_path[0] = c->suspend_storage[0] = 0;
		break;
	case ZR_KEYSOURCE:
		c->has_keysource = present;
		c->keysource_raw[0] = 0;
		break;
	default:
		break;
	}
}

static int cmd_add(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		   char *err, size_t errlen)
{
	enum zcfg_scope r;
	int rc;

	if (n != 2 || a[1].kind != ZT_WORD)
		USAGE("usage: add RESOURCE");
	if (!need_cfg(s, err, errlen))
		return -ENOENT;
	if (s->scope != ZR_GLOBAL)
		FAIL(-EINVAL, "add: already inside the %s resource (end or "
		     "cancel it first)", zcfg_scope_name(s->scope));
	rc = resource_arg(a[1].s, &r, err, errlen);
	if (rc)
		return rc;
	struct zone_config *c = s->cfg;
	if (!zcfg_scope_multi(r) && res_count(c, r))
		FAIL(-EEXIST, "zone already has a %s resource: use select %s",
		     a[1].s, a[1].s);
	if (r == ZR_DEVICE && c->ndevices >= 256)
		FAIL(-ENOSPC, "too many device resources (at most 256)");
	if (r == ZR_ANET && c->nanets >= 256)
		FAIL(-ENOSPC, "too many anet resources (at most 256)");
	rc = begin_scope(s, r, 0, err, errlen);
	if (rc)
		return rc;
	switch (r) {
	case ZR_DEVICE: {
		struct zcfg_device *d = realloc(c->devices,
			(c->ndevices + 1) * sizeof(*d));
		if (!d)
			goto nomem;
		c->devices = d;
		d = &c->devices[c->ndevices];
		memset(d, 0, sizeof(*d));
		d->id = d->bootpri = -1;
		s->scope_index = c->ndevices++;
		break;
	}
	case ZR_ANET: {
		struct zcfg_anet *an = realloc(c->anets,
			(c->nanets + 1) * sizeof(*an));
		if (!an)
			goto nomem;
		c->anets = an;
		an = &c->anets[c->nanets];
		memset(an, 0, sizeof(*an));
		an->id = -1;
		/* solaris-kz(7) defaults */
		strcpy(an->lower_link, "auto");
		strcpy(an->mac_address, "auto");
		strcpy(an->link_protection, "mac-nospoof");
		s->scope_index = c->nanets++;
		break;
	}
	default:
		set_single(c, r, true);
		break;
	}
	s->dirty = true;
	return 0;
nomem:
	s->scope = ZR_GLOBAL;
	FAIL(-ENOMEM, "out of memory");
}

static int cmd_select(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		      char *err, size_t errlen)
{
	enum zcfg_scope r;
	struct filter f[8];
	size_t nf, idx[2];
	char ft[300];
	int rc;

	if (n < 2 || a[1].kind != ZT_WORD)
		USAGE("usage: select RESOURCE [PROP=VALUE]...");
	if (!need_cfg(s, err, errlen))
		return -ENOENT;
	if (s->scope != ZR_GLOBAL)
		FAIL(-EINVAL, "select: already inside the %s resource (end "
		     "or cancel it first)", zcfg_scope_name(s->scope));
	rc = resource_arg(a[1].s, &r, err, errlen);
	if (!rc)
		rc = parse_filters(r, a, n, 2, f, &nf, err, errlen);
	if (rc)
		return rc;
	size_t k = find_res(s->cfg, r, f, nf, idx, 2);
	filter_text(f, nf, ft, sizeof(ft));
	if (k == 0)
		FAIL(-ENOENT, "no %s resource%s", a[1].s, ft);
	if (k > 1)
		FAIL(-EINVAL, "more than one %s resource%s: add PROP=VALUE to "
		     "choose one", a[1].s, ft);
	return begin_scope(s, r, idx[0], err, errlen);
}


static int cmd_remove(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		      char *err, size_t errlen)
{
	enum zcfg_scope r;
	struct filter f[8];
	size_t nf, i;
	char ft[300];
	int fl = flags(a, n, &i, "F"), rc;

	if (fl < 0 || i >= n || a[i].kind != ZT_WORD)
		USAGE("usage: remove [-F] RESOURCE [PROP=VALUE]...");
	if (!need_cfg(s, err, errlen))
		return -ENOENT;
	if (s->scope != ZR_GLOBAL)
		FAIL(-EINVAL, "remove: not allowed inside the %s resource (end "
		     "or cancel it first)", zcfg_scope_name(s->scope));
	const char *word = a[i].s;
	rc = resource_arg(word, &r, err, errlen);
	if (!rc)
		rc = parse_filters(r, a, n, i + 1, f, &nf, err, errlen);
	if (rc)
		return rc;
	struct zone_config *c = s->cfg;
	size_t *idx = malloc(257 * sizeof(*idx));
	if (!idx)
		FAIL(-ENOMEM, "out of memory");
	size_t k = find_res(c, r, f, nf, idx, 257);
	filter_text(f, nf, ft, sizeof(ft));
	if (k == 0) {
		free(idx);
		FAIL(-ENOENT, "no %s resource%s", word, ft);
	}
	if (k > 1 && !(fl & 1)) {
		char q[400];
		snprintf(q, sizeof(q), "Remove all %zu %s resources%s "
			 "(y/[n])? ", k, word, ft);
		if (!s->interactive || !s->ask) {
			free(idx);
			FAIL(-EINVAL, "%zu %s resources%s: give PROP=VALUE to "
			     "choose one, or remove -F %s to remove them all",
			     k, word, ft, word);
		}
		if (!ask(s, q)) {
			free(idx);
			return 0;
		}
	}
	if (!zcfg_scope_multi(r)) {
		set_single(c, r, false);
	} else {
		/* Remove from the highest index down. */
		for (size_t j = k; j-- > 0;) {
			size_t x = idx[j];
			if (r == ZR_DEVICE) {
				memmove(&c->devices[x], &c->devices[x + 1],
					(c->ndevices - x - 1) *
						sizeof(*c->devices));
				c->ndevices--;
			} else {
				memmove(&c->anets[x], &c->anets[x + 1],
					(c->nanets - x - 1) *
						sizeof(*c->anets));
				c->nanets--;
			}
		}
	}
	free(idx);
	s->dirty = true;
	return 0;
}

/* Lowest id not used by another element. */
static int free_id(const struct zone_config *c, enum zcfg_scope r,
		   size_t self)
{
	size_t n = res_count(c, r);
	for (int id = 0;; id++) {
		bool used = false;
		for (size_t i = 0; i < n && !used; i++)
			used = i != self &&
			       (r == ZR_DEVICE ? c->devices[i].id
					       : c->anets[i].id) == id;
		if (!used)
			return id;
	}
}

/* Check the resource being edited; fill what end fills in. */
static int finish_resource(struct zcfg_session *s, char *err, size_t errlen)
{
	struct zone_config *c = s->cfg;
	size_t x = s->scope_index;

	switch (s->scope) {
	case ZR_DEVICE: {
		struct zcfg_device *d = &c->devices[x];
		if (!d->storage[0])
			FAIL(-EINVAL, "device: storage not specified");
		if (d->id < 0)
			d->id = free_id(c, ZR_DEVICE, x);
		for (size_t i = 0; i < c->ndevices; i++)
			if (i != x && c->devices[i].id == d->id)
				FAIL(-EEXIST, "device id %d is already used "
				     "by another device", d->id);
		break;
	}
	case ZR_ANET: {
		struct zcfg_anet *an = &c->anets[x];
		if (an->id < 0)
			an->id = free_id(c, ZR_ANET, x);
		for (size_t i = 0; i < c->nanets; i++)
			if (i != x && c->anets[i].id == an->id)
				FAIL(-EEXIST, "anet id %d is already used by "
				     "another anet", an->id);
		if (!an->linkname[0]) {
			for (int k = 0;; k++) {
				char nm[32];
				bool used = false;
				snprintf(nm, sizeof(nm), "net%d", k);
				for (size_t i = 0; i < c->nanets; i++)
					used |= i != x &&
						strcmp(c->anets[i].linkname,
						       nm) == 0;
				if (!used) {
					strcpy(an->linkname, nm);
					break;
				}
			}
		}
		for (size_t i = 0; i < c->nanets; i++)
			if (i != x &&
			    strcmp(c->anets[i].linkname, an->linkname) == 0)
				FAIL(-EEXIST, "anet linkname %s is already "
				     "used by another anet", an->linkname);
		break;
	}
	case ZR_CAPPED_MEMORY:
		if (!c->physical)
			FAIL(-EINVAL, "capped-memory: physical not specified "
			     "(pagesize-policy needs it)");
		break;
	case ZR_VIRTUAL_CPU:
		if (!c->vcpu_ncpus)
			FAIL(-EINVAL, "virtual-cpu: ncpus not specified");
		break;
	case ZR_DEDICATED_CPU:
		if (!c->dcpu_ncpus[0])
			FAIL(-EINVAL, "dedicated-cpu: ncpus not specified");
		break;
	case ZR_SUSPEND:
		if (c->suspend_path[0] && c->suspend_storage[0])
			FAIL(-EINVAL, "suspend: set path or storage, not "
			     "both");
		if (!c->suspend_path[0] && !c->suspend_storage[0])
			FAIL(-EINVAL, "suspend: path or storage not "
			     "specified");
		break;
	case ZR_KEYSOURCE:
		if (!c->keysource_raw[0])
			FAIL(-EINVAL, "keysource: raw not specified");
		break;
	default:
		break;
	}
	return 0;
}

static int cmd_end(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		   char *err, size_t errlen)
{
	(void)a;
	if (n != 1)
		USAGE("usage: end");
	if (s->scope == ZR_GLOBAL)
		FAIL(-EINVAL, "end: not inside a resource");
	int rc = finish_resource(s, err, errlen);
	if (rc)
		return rc;
	zcfg_free(s->undo);
	s->undo = NULL;
	s->scope = ZR_GLOBAL;
	zcfg_refresh(s->cfg);
	s->dirty = true;
	return 0;
}

static int cmd_cancel(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		      char *err, size_t errlen)
{
	(void)a;
	if (n != 1)
		USAGE("usage: cancel");
	if (s->scope == ZR_GLOBAL)
		FAIL(-EINVAL, "cancel: not inside a resource");
	zcfg_free(s->cfg);
	s->cfg = s->undo;
	s->undo = NULL;
	s->scope = ZR_GLOBAL;
	return 0;
}

static int cmd_info(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		    char *err, size_t errlen)
{
	enum zcfg_scope r;
	struct filter f[8];
	size_t nf;
	int rc;

	if (!need_cfg(s, err, errlen))
		return -ENOENT;
	if (s->scope != ZR_GLOBAL) {
		if (n == 1) {
			if (s->out)
				zcfg_info_res(s->out, s->cfg, s->scope,
					      s->scope_index);
			return 0;
		}
		const struct zcfg_prop *p = zcfg_prop_find(s->scope, a[1].s);
		if (n != 2 || !p)
			USAGE("usage: info [PROPERTY] (inside a resource)");
		char v[1100];
		zcfg_prop_format(zcfg_prop_obj(s->cfg, s->scope,
					       s->scope_index), p, v,
				 sizeof(v));
		if (s->out)
			fprintf(s->out, "%s: %s\n", p->name, v);
		return 0;
	}
	if (n == 1) {
		if (s->out)
			zcfg_info_global(s->out, s->cfg, true);
		return 0;
	}
	if (a[1].kind != ZT_WORD)
		USAGE("usage: info [RESOURCE [PROP=VALUE]... | PROPERTY]");
	if (n == 2 && (zcfg_prop_find(ZR_GLOBAL, a[1].s) ||
		       strcmp(a[1].s, "ip-type") == 0)) {
		if (!s->out)
			return 0;
		if (strcmp(a[1].s, "ip-type") == 0)
			fprintf(s->out, "ip-type: exclusive\n");
		else
			zcfg_info_prop(s->out, s->cfg,
				       zcfg_prop_find(ZR_GLOBAL, a[1].s));
		return 0;
	}
	rc = resource_arg(a[1].s, &r, err, errlen);
	if (!rc)
		rc = parse_filters(r, a, n, 2, f, &nf, err, errlen);
	if (rc)
		return rc;
	size_t cnt = res_count(s->cfg, r);
	for (size_t i = 0; i < cnt; i++)
		if (matches(zcfg_prop_obj(s->cfg, r, i), f, nf) && s->out)
			zcfg_info_res(s->out, s->cfg, r, i);
	return 0;
}

static int cmd_export(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		      char *err, size_t errlen)
{
	const char *file = NULL;
	char *text;

	if (n == 3 && strcmp(a[1].s, "-f") == 0 && a[2].kind == ZT_WORD)
		file = a[2].s;
	else if (n != 1)
		USAGE("usage: export [-f FILE]");
	if (!need_cfg(s, err, errlen))
		return -ENOENT;
	if (!need_global(s, "export", err, errlen))
		return -EINVAL;
	int rc = zcfg_export(s->cfg, &text);
	if (rc)
		FAIL(rc, "export: %s", strerror(-rc));
	if (file && strcmp(file, "-")) {
		/* 0600: the export holds the suspend key, if any. */
		rc = zs_write_atomic(file, text, strlen(text), 0600);
		if (rc) {
			free(text);
			FAIL(rc, "export: %s: %s", file, strerror(-rc));
		}
	} else if (s->out) {
		fputs(text, s->out);
	}
	free(text);
	return 0;
}

static int cmd_verify(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		      char *err, size_t errlen)
{
	(void)a;
	if (n != 1)
		USAGE("usage: verify");
	if (!need_cfg(s, err, errlen))
		return -ENOENT;
	if (!need_global(s, "verify", err, errlen))
		return -EINVAL;
	return zcfg_verify(s->cfg, err, errlen);
}

static int do_commit(struct zcfg_session *s, char *err, size_t errlen)
{
	if (!s->ops || !s->ops->commit)
		FAIL(-ENOTSUP, "commit is not available here");
	int rc = zcfg_verify(s->cfg, err, errlen);
	if (rc)
		return rc;
	rc = s->ops->commit(s->ops_arg, s->zone, s->cfg, err, errlen);
	if (rc)
		return rc;
	/* A rename takes effect here. */
	snprintf(s->zone, sizeof(s->zone), "%s", s->cfg->zonename);
	snprintf(s->zonepath, sizeof(s->zonepath), "%s", s->cfg->zonepath);
	zcfg_free(s->saved);
	s->saved = zcfg_dup(s->cfg);
	s->exists = true;
	s->dirty = false;
	return 0;
}

static int cmd_commit(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		      char *err, size_t errlen)
{
	(void)a;
	if (n != 1)
		USAGE("usage: commit");
	if (!need_cfg(s, err, errlen))
		return -ENOENT;
	if (!need_global(s, "commit", err, errlen))
		return -EINVAL;
	return do_commit(s, err, errlen);
}

int zcfg_session_commit(struct zcfg_session *s, char *err, size_t errlen)
{
	if (s->discard || !s->dirty || !s->cfg)
		return 0;
	if (s->scope != ZR_GLOBAL)
		FAIL(-EINVAL, "the %s resource was not ended: nothing "
		     "committed", zcfg_scope_name(s->scope));
	return do_commit(s, err, errlen);
}

static int cmd_revert(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		      char *err, size_t errlen)
{
	int f = force_flag(a, n, "revert", err, errlen);

	if (f < 0)
		return f;
	if (!need_global(s, "revert", err, errlen))
		return -EINVAL;
	if (!(f & 1) && s->interactive && s->ask &&
	    !ask(s, "Drop all changes since the last commit (y/[n])? "))
		return 0;
	struct zone_config *c = NULL;
	if (s->saved) {
		c = zcfg_dup(s->saved);
		if (!c)
			FAIL(-ENOMEM, "out of memory");
	}
	zcfg_free(s->cfg);
	s->cfg = c;
	s->dirty = false;
	return 0;
}

static int cmd_exit(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		    char *err, size_t errlen)
{
	int f = force_flag(a, n, "exit", err, errlen);

	if (f < 0)
		return f;
	if (f & 1) {
		s->discard = true;
	} else if (s->scope != ZR_GLOBAL) {
		/* As at the prompt: exit inside a resource ends it first. */
		int rc = finish_resource(s, err, errlen);
		if (rc)
			return rc;
		zcfg_free(s->undo);
		s->undo = NULL;
		s->scope = ZR_GLOBAL;
		zcfg_refresh(s->cfg);
	}
	s->done = true;
	return 0;
}

static int cmd_help(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		    char *err, size_t errlen);

const struct zcfg_cmd_desc zcfg_cmds[] = {
	{ "add", "add RESOURCE",
	  "start a new resource and enter its scope", cmd_add },
	{ "cancel", "cancel",
	  "leave the resource scope, dropping its changes", cmd_cancel },
	{ "clear", "clear PROPERTY",
	  "unset a property (or give it back its default)", cmd_clear },
	{ "commit", "commit",
	  "verify the configuration and save it", cmd_commit },
	{ "create", "create [-F] [-b | -t TEMPLATE]",
	  "begin a configuration: from SYSkz (the default), blank (-b), or "
	  "a copy of another zone (-t ZONE); -F replaces an existing one",
	  cmd_create },
	{ "delete", "delete [-F]",
	  "delete the zone's configuration (-F: without asking)",
	  cmd_delete },
	{ "end", "end",
	  "check the resource and return to the global scope", cmd_end },
	{ "exit", "exit [-F]",
	  "leave zonecfg, committing changes first (-F: drop them)",
	  cmd_exit },
	{ "export", "export [-f FILE]",
	  "print the commands that rebuild this configuration", cmd_export },
	{ "help", "help [COMMAND | resources | properties | usage]",
	  "describe the commands, resources and properties", cmd_help },
	{ "info", "info [RESOURCE [PROP=VALUE]... | PROPERTY]",
	  "show the configuration, a resource or a property", cmd_info },
	{ "remove", "remove [-F] RESOURCE [PROP=VALUE]...",
	  "remove resources (-F: all that match, without asking)",
	  cmd_remove },
	{ "revert", "revert [-F]",
	  "drop the changes made since the last commit", cmd_revert },
	{ "select", "select RESOURCE [PROP=VALUE]...",
	  "enter the scope of an existing resource", cmd_select },
	{ "set", "set PROPERTY=VALUE",
	  "set a property of the current scope", cmd_set },
	{ "verify", "verify",
	  "check the whole configuration without saving it", cmd_verify },
};
const size_t zcfg_ncmds = sizeof(zcfg_cmds) / sizeof(zcfg_cmds[0]);

static void help_props(FILE *o, enum zcfg_scope r)
{
	size_t np;
	const struct zcfg_prop *p = zcfg_props_of(r, &np);

	fprintf(o, "%s:\n", r == ZR_GLOBAL ? "global properties"
					   : zcfg_scope_name(r));
	for (size_t i = 0; i < np; i++)
		fprintf(o, "\t%-20s %s\n", p[i].name, p[i].form);
	if (r == ZR_GLOBAL)
		fprintf(o, "\t%-20s %s\n", "ip-type", "exclusive (always)");
}

static int cmd_help(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		    char *err, size_t errlen)
{
	FILE *o = s->out;

	if (n > 2)
		USAGE("usage: help [COMMAND | resources | properties | usage]");
	if (!o)
		return 0;
	if (n == 1) {
		if (s->scope != ZR_GLOBAL) {
			fprintf(o, "Inside the %s resource: set, clear, info, "
				"end, cancel.\n", zcfg_scope_name(s->scope));
			help_props(o, s->scope);
			return 0;
		}
		fprintf(o, "Commands (help COMMAND for one; help resources, "
			"help properties):\n");
		for (size_t i = 0; i < zcfg_ncmds; i++)
			fprintf(o, "  %s\n\t%s\n", zcfg_cmds[i].usage,
				zcfg_cmds[i].help);
		return 0;
	}
	const char *t = a[1].s;
	if (strcmp(t, "usage") == 0 || strcmp(t, "commands") == 0) {
		for (size_t i = 0; i < zcfg_ncmds; i++)
			fprintf(o, "usage: %s\n", zcfg_cmds[i].usage);
		return 0;
	}
	if (strcmp(t, "resources") == 0) {
		for (unsigned r = ZR_GLOBAL + 1; r < ZR_NSCOPES; r++) {
			const char *const *pn =
				zcfg_prop_names((enum zcfg_scope)r);
			fprintf(o, "%-14s %s", zcfg_scope_name(
				(enum zcfg_scope)r),
				zcfg_scope_multi((enum zcfg_scope)r) ?
				"(several)" : "(one)    ");
			for (; *pn; pn++)
				fprintf(o, " %s", *pn);
			fputc('\n', o);
		}
		return 0;
	}
	if (strcmp(t, "properties") == 0) {
		for (unsigned r = 0; r < ZR_NSCOPES; r++)
			help_props(o, (enum zcfg_scope)r);
		return 0;
	}
	for (size_t i = 0; i < zcfg_ncmds; i++) {
		if (strcmp(t, zcfg_cmds[i].name) == 0) {
			fprintf(o, "usage: %s\n\t%s\n", zcfg_cmds[i].usage,
				zcfg_cmds[i].help);
			return 0;
		}
	}
	enum zcfg_scope r = zcfg_scope_find(t);
	if (r != ZR_GLOBAL) {
		help_props(o, r);
		return 0;
	}
	FAIL(-EINVAL, "help: no command or resource named '%s'", t);
}

/* ---- dispatch ---- */

static int run_one(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		   char *err, size_t errlen)
{
	if (a[0].kind != ZT_WORD)
		USAGE("syntax error at '%s'", a[0].s);
	for (size_t i = 0; i < zcfg_ncmds; i++) {
		if (strcmp(a[0].s, zcfg_cmds[i].name) == 0) {
			int rc = zcfg_cmds[i].fn(s, a, n, err, errlen);
			if (!rc && s->cfg && s->scope == ZR_GLOBAL)
				zcfg_refresh(s->cfg);
			return rc;
		}
	}
	USAGE("unknown command '%s' (help lists the commands)", a[0].s);
}

int zcfg_exec(struct zcfg_session *s, const char *line, char *err,
	      size_t errlen)
{
	struct zcfg_toks t;
	int rc = zcfg_lex(line, strlen(line), &t, err, errlen);

	if (rc)
		return rc;
	size_t start = 0;
	for (size_t i = 0; i <= t.n && !s->done; i++) {
		if (i < t.n && t.t[i].kind != ZT_SEMI)
			continue;
		if (i > start) {
			rc = run_one(s, &t.t[start], i - start, err, errlen);
			if (rc)
				break;
		}
		start = i + 1;
	}
	zcfg_toks_free(&t);
	return rc;
}

static int run_text(struct zcfg_session *s, const char *text, char *err,
		    size_t errlen)
{
	const char *p = text;
	char line[1200];

	while (*p) {
		size_t l = strcspn(p, "\n");
		if (l >= sizeof(line))
			FAIL(-EINVAL, "template line too long");
		memcpy(line, p, l);
		line[l] = 0;
		int rc = zcfg_exec(s, line, err, errlen);
		if (rc)
			return rc;
		p += l;
		if (*p)
			p++;
	}
	return 0;
}
