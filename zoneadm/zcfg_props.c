/*
 * The resources and properties of brand kz, as const tables, and the
 * parsers of their values.  Help, completion, info, export and the
 * interpreter all read these tables; nothing else lists properties.
 *
 * Also the refusals: what solaris-kz(7) says the brand does not support,
 * and what exists in Solaris but cannot work on a Linux/KVM host, so that
 * each gets one line naming it instead of "unknown property".
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "zonecfg.h"

/* ---- values ---- */

int zcfg_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	unsigned shift = 0;
	switch (*p) {
	case 'k': case 'K': shift = 10; p++; break;
	case 'm': case 'M': shift = 20; p++; break;
	case 'g': case 'G': shift = 30; p++; break;
	case 't': case 'T': shift = 40; p++; break;
	}
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p)
		return -EINVAL;
	if (v == 0)
		return -ERANGE;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

void zcfg_format_size(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && v && (v & 1023) == 0) {
		v >>= 10;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)v, units[u]);
}

/* Bandwidth in bits/s: decimal units, as dladm(8) takes them. */
static int parse_bw(const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case 'k': case 'K': mul = 1000ULL; p++; break;
	case 'm': case 'M': mul = 1000000ULL; p++; break;
	case 'g': case 'G': mul = 1000000000ULL; p++; break;
	case 't': case 'T': mul = 1000000000000ULL; p++; break;
	}
	if (*p || v == 0)
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

static void format_bw(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && v && v % 1000 == 0) {
		v /= 1000;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)v, units[u]);
}

static bool path_ok(const char *p)
{
	if (p[0] != '/')
		return false;
	for (; *p; p++)
		if ((unsigned char)*p < 0x20)
			return false;
	return true;
}

int zcfg_storage_path(const char *uri, char *path, size_t len)
{
	int n;

	if (strncmp(uri, "file://", 7) == 0) {
		if (!path_ok(uri + 7))
			return -EINVAL;
		n = snprintf(path, len, "%s", uri + 7);
	} else if (strncmp(uri, "dev:", 4) == 0) {
		const char *p = uri + 4;
		if (*p == 0 || strstr(p, "//"))
			return -EINVAL;
		if (*p == '/') {
			if (!path_ok(p))
				return -EINVAL;
			n = snprintf(path, len, "%s", p);
		} else {
			for (const char *q = p; *q; q++)
				if ((unsigned char)*q < 0x20)
					return -EINVAL;
			n = snprintf(path, len, "/dev/%s", p);
		}
	} else {
		static const char *const remote[] = { "iscsi:", "nfs:", "lu:",
						      NULL };
		for (unsigned i = 0; remote[i]; i++)
			if (strncmp(uri, remote[i], strlen(remote[i])) == 0)
				return -ENOTSUP;
		return -EINVAL;
	}
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int zcfg_storage_check(const char *uri, char *why, size_t whylen)
{
	char path[1024];
	int rc = zcfg_storage_path(uri, path, sizeof(path));

	if (rc == -ENOTSUP) {
		snprintf(why, whylen,
			 "this storage URI scheme is not supported on this "
			 "host (use file:///path or dev:/path)");
		return rc;
	}
	if (rc == -ENAMETOOLONG) {
		snprintf(why, whylen, "path too long");
		return rc;
	}
	if (rc) {
		snprintf(why, whylen,
			 "not a storage URI (use file:///path or dev:/path)");
		return rc;
	}
	size_t pl = strlen(path);
	if (strstr(path, "/../") ||
	    (pl >= 3 && strcmp(path + pl - 3, "/..") == 0)) {
		snprintf(why, whylen, "path must not contain '..'");
		return -EINVAL;
	}
	return 0;
}

/* 1 to 6 octets of 1-2 hex digits separated by ':'; count in *n. */
static int parse_mac(const char *s, unsigned char *b, int *n)
{
	int k = 0;
	const char *p = s;

	for (;;) {
		if (!isxdigit((unsigned char)p[0]))
			return -EINVAL;
		unsigned v = 0;
		int d = 0;
		while (isxdigit((unsigned char)*p) && d < 3) {
			v = v * 16 + (unsigned)(isdigit((unsigned char)*p) ?
				*p - '0' : (tolower((unsigned char)*p) - 'a' + 10));
			p++;
			d++;
		}
		if (d > 2 || k >= 6)
			return -EINVAL;
		b[k++] = (unsigned char)v;
		if (*p == 0)
			break;
		if (*p != ':')
			return -EINVAL;
		p++;
	}
	*n = k;
	return 0;
}

bool zcfg_mac_match(const char *mac, const char *allowed)
{
	unsigned char m[6], a[6];
	int nm, na;
	char item[64];

	if (parse_mac(mac, m, &nm) || nm != 6)
		return false;
	for (const char *p = allowed; *p;) {
		size_t l = strcspn(p, ",");
		if (l < sizeof(item)) {
			memcpy(item, p, l);
			item[l] = 0;
			if (strcmp(item, "any") == 0)
				return true;
			if (parse_mac(item, a, &na) == 0 &&
			    memcmp(m, a, (size_t)na) == 0)
				return true;
		}
		p += l;
		if (*p == ',')
			p++;
	}
	return false;
}

static int check_zonename(char *v, size_t cap, char *why, size_t whylen)
{
	char e[160];
	(void)cap;
	if (!zs_name_valid(v, e, sizeof(e))) {
		snprintf(why, whylen, "%s", e);
		return -EINVAL;
	}
	return 0;
}

static int check_hostid(char *v, size_t cap, char *why, size_t whylen)
{
	const char *p = v;
	(void)cap;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	size_t n = strlen(p);
	if (n == 0 || n > 8 || strspn(p, "0123456789abcdefABCDEF") != n) {
		snprintf(why, whylen, "not a host id (1 to 8 hex digits)");
		return -EINVAL;
	}
	return 0;
}

static int check_text(char *v, size_t cap, char *why, size_t whylen)
{
	(void)cap;
	for (const char *p = v; *p; p++) {
		if ((unsigned char)*p < 0x20) {
			snprintf(why, whylen, "control characters not allowed");
			return -EINVAL;
		}
	}
	return 0;
}

static int check_storage(char *v, size_t cap, char *why, size_t whylen)
{
	(void)cap;
	return zcfg_storage_check(v, why, whylen);
}

static int check_abspath(char *v, size_t cap, char *why, size_t whylen)
{
	(void)cap;
	if (!path_ok(v)) {
		snprintf(why, whylen, "not an absolute path");
		return -EINVAL;
	}
	return 0;
}

static int check_key(char *v, size_t cap, char *why, size_t whylen)
{
	size_t n = strlen(v);
	(void)cap;
	if ((n != 32 && n != 64) ||
	    strspn(v, "0123456789abcdefABCDEF") != n) {
		snprintf(why, whylen, "not a key (32 or 64 hex digits)");
		return -EINVAL;
	}
	for (char *p = v; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

static int check_cpurange(char *v, size_t cap, char *why, size_t whylen)
{
	unsigned lo, hi;
	int end = 0;
	(void)cap;
	if (sscanf(v, "%3u%n", &lo, &end) == 1 && v[end] == 0 &&
	    isdigit((unsigned char)v[0]))
		hi = lo;
	else if (sscanf(v, "%3u-%3u%n", &lo, &hi, &end) == 2 &&
		 v[end] == 0 && isdigit((unsigned char)v[0]))
		;
	else
		goto bad;
	if (lo < 1 || hi > 255 || lo > hi)
		goto bad;
	return 0;
bad:
	snprintf(why, whylen, "not a CPU count (N or N-M, 1 to 255)");
	return -EINVAL;
}

/* Data-link names: a letter first, a digit last, as dladm(8) wants. */
static int check_linkname(char *v, size_t cap, char *why, size_t whylen)
{
	size_t n = strlen(v);
	(void)cap;
	if (n == 0 || n > 15 || !isalpha((unsigned char)v[0]) ||
	    !isdigit((unsigned char)v[n - 1]))
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '_')
			goto bad;
	return 0;
bad:
	snprintf(why, whylen,
		 "not a link name (a letter, then letters, digits or '_', "
		 "ending in a digit, at most 15)");
	return -EINVAL;
}

static int check_lowerlink(char *v, size_t cap, char *why, size_t whylen)
{
	size_t n = strlen(v);
	(void)cap;
	if (n == 0 || n > 15 || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)v[i]) || v[i] == '/' ||
		    v[i] == ':')
			goto bad;
	return 0;
bad:
	snprintf(why, whylen, "not a host interface name (auto, or at most "
		 "15 characters without '/', ':' or blanks)");
	return -EINVAL;
}

static int check_mac(char *v, size_t cap, char *why, size_t whylen)
{
	unsigned char b[6];
	int n;

	if (strcmp(v, "auto") == 0 || strcmp(v, "random") == 0)
		return 0;
	if (parse_mac(v, b, &n) || n != 6)
		goto bad;
	if (b[0] & 1) {
		snprintf(why, whylen, "a multicast address cannot name a link");
		return -EINVAL;
	}
	snprintf(v, cap, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2],
		 b[3], b[4], b[5]);
	return 0;
bad:
	snprintf(why, whylen,
		 "not a MAC address (auto, random or xx:xx:xx:xx:xx:xx)");
	return -EINVAL;
}

/* Strip [ ] around a list, and check each comma-separated item. */
static int list_items(char *v, size_t cap, bool (*ok)(const char *),
		      char *why, size_t whylen, const char *form)
{
	size_t n = strlen(v);
	char item[64];

	(void)cap;
	if (n >= 2 && v[0] == '[' && v[n - 1] == ']') {
		memmove(v, v + 1, n - 2);
		v[n - 2] = 0;
	}
	if (v[0] == 0)
		goto bad;
	for (const char *p = v; *p;) {
		size_t l = strcspn(p, ",");
		if (l == 0 || l >= sizeof(item))
			goto bad;
		memcpy(item, p, l);
		item[l] = 0;
		if (!ok(item))
			goto bad;
		p += l;
		if (*p == ',' && *++p == 0)
			goto bad;
	}
	return 0;
bad:
	snprintf(why, whylen, "%s", form);
	return -EINVAL;
}

static bool allowed_item(const char *s)
{
	unsigned char b[6];
	int n;
	return strcmp(s, "any") == 0 || parse_mac(s, b, &n) == 0;
}

static int check_allowed(char *v, size_t cap, char *why, size_t whylen)
{
	return list_items(v, cap, allowed_item, why, whylen,
			  "not a list of MAC prefixes (any, or 1 to 6 "
			  "octets like 2:8:20, separated by commas)");
}

static bool protection_item(const char *s)
{
	return strcmp(s, "mac-nospoof") == 0 || strcmp(s, "ip-nospoof") == 0 ||
	       strcmp(s, "dhcp-nospoof") == 0 || strcmp(s, "restricted") == 0;
}

static int check_protection(char *v, size_t cap, char *why, size_t whylen)
{
	return list_items(v, cap, protection_item, why, whylen,
			  "not a protection list (mac-nospoof, ip-nospoof, "
			  "dhcp-nospoof, restricted, separated by commas)");
}

/* ---- the tables ---- */

static const char *const v_bool[] = { "true", "false", NULL };
static const char *const v_shutdown[] = { "shutdown", "halt", "suspend",
					  NULL };
static const char *const v_brand[] = { ZCFG_BRAND, NULL };
static const char *const v_cpuarch[] = {
	"migration-class1", "migration-class2", "migration-class3",
	"migration-class4", "migration-class5", "migration-class6", NULL
};
static const char *const v_hostcompat[] = { "native", "level0", "level1",
					    NULL };
static const char *const v_pagesize[] = { "largest-available",
					  "largest-only", "smallest-only",
					  NULL };
static const char *const v_protection[] = { "mac-nospoof", "ip-nospoof",
					    "dhcp-nospoof", "restricted",
					    NULL };
static const char *const v_mac[] = { "auto", "random", NULL };
static const char *const v_lower[] = { "auto", NULL };

#define G(f) offsetof(struct zone_config, f), \
	sizeof(((struct zone_config *)0)->f)
#define D(f) offsetof(struct zcfg_device, f), \
	sizeof(((struct zcfg_device *)0)->f)
#define A(f) offsetof(struct zcfg_anet, f), \
	sizeof(((struct zcfg_anet *)0)->f)

/*
 * In export and info order.  values without check: only those words;
 * values with check: suggestions for completion, the check decides.
 */
static const struct zcfg_prop props[] = {
	{ ZR_GLOBAL, "zonename", ZK_STR, G(zonename), 0, 0, NULL,
	  check_zonename, "a zone name", NULL, ZP_NOCLEAR },
	{ ZR_GLOBAL, "zonepath", ZK_STR, G(zonepath), 0, 0, NULL, NULL,
	  "fixed", NULL, ZP_NOSET | ZP_NOCLEAR },
	{ ZR_GLOBAL, "brand", ZK_STR, G(brand), 0, 0, v_brand, NULL,
	  ZCFG_BRAND, NULL, ZP_NOCLEAR },
	{ ZR_GLOBAL, "autoboot", ZK_BOOL, G(autoboot), 0, 0, v_bool, NULL,
	  "true or false", "false", 0 },
	{ ZR_GLOBAL, "auto-shutdown", ZK_STR, G(auto_shutdown), 0, 0,
	  v_shutdown, NULL, "shutdown, halt or suspend", "shutdown", 0 },
	{ ZR_GLOBAL, "hostid", ZK_STR, G(hostid), 0, 0, NULL, check_hostid,
	  "1 to 8 hex digits", NULL, 0 },
	{ ZR_GLOBAL, "bootargs", ZK_STR, G(bootargs), 0, 0, NULL, check_text,
	  "the kernel command line", NULL, 0 },
	{ ZR_GLOBAL, "cpu-arch", ZK_STR, G(cpu_arch), 0, 0, v_cpuarch, NULL,
	  "migration-class1 to migration-class6", NULL, 0 },
	{ ZR_GLOBAL, "host-compatible", ZK_STR, G(host_compatible), 0, 0,
	  v_hostcompat, NULL, "native, level0 or level1", NULL, 0 },

	{ ZR_CAPPED_MEMORY, "physical", ZK_SIZE, G(physical), 0, 0, NULL,
	  NULL, "a size such as 512M or 4G", NULL, 0 },
	{ ZR_CAPPED_MEMORY, "pagesize-policy", ZK_STR, G(pagesize_policy),
	  0, 0, v_pagesize, NULL,
	  "largest-available, largest-only or smallest-only", NULL, 0 },

	{ ZR_VIRTUAL_CPU, "ncpus", ZK_UINT, G(vcpu_ncpus), 1, 255, NULL, NULL,
	  "a number from 1 to 255", NULL, 0 },

	{ ZR_DEDICATED_CPU, "ncpus", ZK_STR, G(dcpu_ncpus), 0, 0, NULL,
	  check_cpurange, "N or N-M, 1 to 255", NULL, 0 },

	{ ZR_DEVICE, "storage", ZK_STR, D(storage), 0, 0, NULL, check_storage,
	  "file:///path or dev:/path", NULL, 0 },
	{ ZR_DEVICE, "create-size", ZK_SIZE, D(create_size), 0, 0, NULL,
	  NULL, "a size such as 512M or 16G", NULL, 0 },
	{ ZR_DEVICE, "id", ZK_INT, D(id), 0, 255, NULL, NULL,
	  "a number from 0 to 255", NULL, 0 },
	{ ZR_DEVICE, "bootpri", ZK_INT, D(bootpri), 0, 1000000, NULL, NULL,
	  "a number from 0 to 1000000", NULL, 0 },

	{ ZR_ANET, "linkname", ZK_STR, A(linkname), 0, 0, NULL,
	  check_linkname, "a link name such as net0", NULL, 0 },
	{ ZR_ANET, "lower-link", ZK_STR, A(lower_link), 0, 0, v_lower,
	  check_lowerlink, "auto or a host interface", "auto", 0 },
	{ ZR_ANET, "mac-address", ZK_STR, A(mac_address), 0, 0, v_mac,
	  check_mac, "auto, random or xx:xx:xx:xx:xx:xx", "auto", 0 },
	{ ZR_ANET, "allowed-mac-address", ZK_STR, A(allowed_mac), 0, 0, NULL,
	  check_allowed, "any, or MAC prefixes separated by commas", NULL,
	  0 },
	{ ZR_ANET, "link-protection", ZK_STR, A(link_protection), 0, 0,
	  v_protection, check_protection,
	  "mac-nospoof, ip-nospoof, dhcp-nospoof, restricted", NULL,
	  ZP_ADDSET },
	{ ZR_ANET, "maxbw", ZK_BW, A(maxbw), 0, 0, NULL, NULL,
	  "bits per second such as 100M or 1G", NULL, 0 },
	{ ZR_ANET, "id", ZK_INT, A(id), 0, 255, NULL, NULL,
	  "a number from 0 to 255", NULL, 0 },

	{ ZR_SUSPEND, "path", ZK_STR, G(suspend_path), 0, 0, NULL,
	  check_abspath, "an absolute path", NULL, 0 },
	{ ZR_SUSPEND, "storage", ZK_STR, G(suspend_storage), 0, 0, NULL,
	  check_storage, "file:///path or dev:/path", NULL, 0 },

	{ ZR_KEYSOURCE, "raw", ZK_STR, G(keysource_raw), 0, 0, NULL,
	  check_key, "32 or 64 hex digits", NULL, 0 },
};

static const char *const scope_names[ZR_NSCOPES] = {
	[ZR_GLOBAL] = "global",
	[ZR_CAPPED_MEMORY] = "capped-memory",
	[ZR_VIRTUAL_CPU] = "virtual-cpu",
	[ZR_DEDICATED_CPU] = "dedicated-cpu",
	[ZR_DEVICE] = "device",
	[ZR_ANET] = "anet",
	[ZR_SUSPEND] = "suspend",
	[ZR_KEYSOURCE] = "keysource",
};

const char *const zcfg_resource_names[] = {
	"anet", "capped-memory", "dedicated-cpu", "device", "keysource",
	"suspend", "virtual-cpu", NULL
};

const char *zcfg_scope_name(enum zcfg_scope r)
{
	return (unsigned)r < ZR_NSCOPES ? scope_names[r] : "?";
}

enum zcfg_scope zcfg_scope_find(const char *name)
{
	for (unsigned r = ZR_GLOBAL + 1; r < ZR_NSCOPES; r++)
		if (strcmp(name, scope_names[r]) == 0)
			return (enum zcfg_scope)r;
	return ZR_GLOBAL;
}

bool zcfg_scope_multi(enum zcfg_scope r)
{
	return r == ZR_DEVICE || r == ZR_ANET;
}

const struct zcfg_prop *zcfg_props_of(enum zcfg_scope r, size_t *n)
{
	const struct zcfg_prop *first = NULL;
	size_t k = 0;

	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
		if (props[i].scope != r)
			continue;
		if (!first)
			first = &props[i];
		k++;
	}
	*n = k;
	return first;
}

const struct zcfg_prop *zcfg_prop_find(enum zcfg_scope r, const char *name)
{
	/* Solaris spells it autoshutdown; the issue auto-shutdown. */
	if (r == ZR_GLOBAL && strcmp(name, "autoshutdown") == 0)
		name = "auto-shutdown";
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
		if (props[i].scope == r && strcmp(props[i].name, name) == 0)
			return &props[i];
	return NULL;
}

const char *const *zcfg_prop_names(enum zcfg_scope r)
{
	/* Built once from the table; sized for the largest scope. */
	static const char *names[ZR_NSCOPES][16];
	static bool built;

	if (!built) {
		for (unsigned s = 0; s < ZR_NSCOPES; s++) {
			size_t n, k = 0;
			const struct zcfg_prop *p =
				zcfg_props_of((enum zcfg_scope)s, &n);
			for (size_t i = 0; i < n && k < 15; i++)
				if (!(p[i].flags & ZP_NOSET))
					names[s][k++] = p[i].name;
			if (s == ZR_GLOBAL && k < 15)
				names[s][k++] = "ip-type";
			names[s][k] = NULL;
		}
		built = true;
	}
	return (unsigned)r < ZR_NSCOPES ? names[r] : NULL;
}

const char *const *zcfg_prop_values(enum zcfg_scope r, const char *prop)
{
	static const char *const v_iptype[] = { "exclusive", NULL };
	if (r == ZR_GLOBAL && strcmp(prop, "ip-type") == 0)
		return v_iptype;
	const struct zcfg_prop *p = zcfg_prop_find(r, prop);
	return p ? p->values : NULL;
}

void *zcfg_prop_obj(struct zone_config *c, enum zcfg_scope r, size_t idx)
{
	if (r == ZR_DEVICE)
		return idx < c->ndevices ? (void *)&c->devices[idx] : NULL;
	if (r == ZR_ANET)
		return idx < c->nanets ? (void *)&c->anets[idx] : NULL;
	return c;
}

static const char *prop_label(const struct zcfg_prop *p, char *buf,
			      size_t len)
{
	if (p->scope == ZR_GLOBAL)
		snprintf(buf, len, "%s", p->name);
	else
		snprintf(buf, len, "%s %s", scope_names[p->scope], p->name);
	return buf;
}

int zcfg_prop_set(void *obj, const struct zcfg_prop *p, const char *val,
		  char *err, size_t errlen)
{
	char *f = (char *)obj + p->off;
	char label[64], why[200];
	uint64_t u;
	long l;
	char *end;

	prop_label(p, label, sizeof(label));
	switch (p->kind) {
	case ZK_BOOL:
		if (strcmp(val, "true") && strcmp(val, "false"))
			goto bad_form;
		*(bool *)f = strcmp(val, "true") == 0;
		return 0;
	case ZK_SIZE:
		if (zcfg_parse_size(val, &u)) {
			snprintf(err, errlen, "%s '%s': not a size (%s)", label,
				 val, p->form);
			return -EINVAL;
		}
		*(uint64_t *)f = u;
		return 0;
	case ZK_BW:
		if (parse_bw(val, &u))
			goto bad_form;
		*(uint64_t *)f = u;
		return 0;
	case ZK_INT:
	case ZK_UINT:
		errno = 0;
		l = strtol(val, &end, 10);
		if (!isdigit((unsigned char)val[0]) || *end || errno) {
			snprintf(err, errlen, "%s '%s': not a number (%s)",
				 label, val, p->form);
			return -EINVAL;
		}
		if (l < p->min || l > p->max) {
			snprintf(err, errlen, "%s '%s': out of range (%s)",
				 label, val, p->form);
			return -ERANGE;
		}
		if (p->kind == ZK_INT)
			*(int *)f = (int)l;
		else
			*(unsigned *)f = (unsigned)l;
		return 0;
	case ZK_STR: {
		char tmp[1024];
		if (strlen(val) >= p->len || strlen(val) >= sizeof(tmp)) {
			snprintf(err, errlen, "%s: value too long (at most %zu "
				 "characters)", label, p->len - 1);
			return -ENAMETOOLONG;
		}
		if (val[0] == 0) {
			snprintf(err, errlen, "%s: empty value (use clear %s)",
				 label, p->name);
			return -EINVAL;
		}
		strcpy(tmp, val);
		if (p->check) {
			why[0] = 0;
			int rc = p->check(tmp, p->len, why, sizeof(why));
			if (rc) {
				snprintf(err, errlen, "%s '%s': %s", label, val,
					 why);
				return rc;
			}
		} else if (p->values) {
			bool ok = false;
			for (unsigned i = 0; p->values[i]; i++)
				ok |= strcmp(val, p->values[i]) == 0;
			if (!ok)
				goto bad_form;
		}
		strcpy(f, tmp);
		return 0;
	}
	}
bad_form:
	snprintf(err, errlen, "%s '%s': not accepted (use %s)", label, val,
		 p->form);
	return -EINVAL;
}

void zcfg_prop_clear(void *obj, const struct zcfg_prop *p)
{
	char *f = (char *)obj + p->off;
	char err[16];

	switch (p->kind) {
	case ZK_BOOL: *(bool *)f = false; break;
	case ZK_SIZE:
	case ZK_BW: *(uint64_t *)f = 0; break;
	case ZK_INT: *(int *)f = -1; break;
	case ZK_UINT: *(unsigned *)f = 0; break;
	case ZK_STR: f[0] = 0; break;
	}
	if (p->dflt)
		(void)zcfg_prop_set(obj, p, p->dflt, err, sizeof(err));
}

bool zcfg_prop_isset(const void *obj, const struct zcfg_prop *p)
{
	const char *f = (const char *)obj + p->off;

	switch (p->kind) {
	case ZK_BOOL: return true;
	case ZK_SIZE:
	case ZK_BW: return *(const uint64_t *)f != 0;
	case ZK_INT: return *(const int *)f >= 0;
	case ZK_UINT: return *(const unsigned *)f != 0;
	case ZK_STR: return f[0] != 0;
	}
	return false;
}

void zcfg_prop_format(const void *obj, const struct zcfg_prop *p, char *buf,
		      size_t len)
{
	const char *f = (const char *)obj + p->off;

	buf[0] = 0;
	if (!zcfg_prop_isset(obj, p))
		return;
	switch (p->kind) {
	case ZK_BOOL:
		snprintf(buf, len, "%s", *(const bool *)f ? "true" : "false");
		break;
	case ZK_SIZE:
		zcfg_format_size(*(const uint64_t *)f, buf, len);
		break;
	case ZK_BW:
		format_bw(*(const uint64_t *)f, buf, len);
		break;
	case ZK_INT:
		snprintf(buf, len, "%d", *(const int *)f);
		break;
	case ZK_UINT:
		snprintf(buf, len, "%u", *(const unsigned *)f);
		break;
	case ZK_STR:
		snprintf(buf, len, "%s", f);
		break;
	}
}

/* ---- refusals ---- */

struct refusal {
	const char *res;	/* NULL: global property */
	const char *prop;	/* NULL: the whole resource */
	bool host;		/* true: this host; false: the brand */
	const char *why;	/* appended after ": ", or NULL */
};

static const struct refusal refusals[] = {
	/* What solaris-kz(7) lists as unsupported for kernel zones. */
	{ "anet", "address", false, "configure addresses inside the zone" },
	{ "capped-memory", "locked", false, "all of a zone's memory is "
	  "locked" },
	{ "capped-memory", "swap", false, "a zone's memory is not swapped" },
	{ "dataset", NULL, false, "use a device" },
	{ "device", "allow-partition", false, NULL },
	{ "device", "allow-raw-io", false, NULL },
	{ "device", "match", false, "use storage" },
	{ "fs", NULL, false, "use a device" },
	{ NULL, "file-mac-profile", false, NULL },
	{ NULL, "fs-allowed", false, NULL },
	{ NULL, "limitpriv", false, "the zone has its own kernel" },
	{ NULL, "global-time", false, NULL },
	{ NULL, "max-lwps", false, "the zone has its own kernel" },
	{ NULL, "max-msg-ids", false, "the zone has its own kernel" },
	{ NULL, "max-processes", false, "the zone has its own kernel" },
	{ NULL, "max-sem-ids", false, "the zone has its own kernel" },
	{ NULL, "max-shm-ids", false, "the zone has its own kernel" },
	{ NULL, "max-shm-memory", false, "the zone has its own kernel" },
	{ "rctl", NULL, false, "use capped-memory and virtual-cpu" },
	{ "rootzpool", NULL, false, "use a device with bootpri" },
	{ "zpool", NULL, false, "use a device" },
	/* Solaris has these; a Linux/KVM host here cannot provide them. */
	{ "net", NULL, true, "use anet" },
	{ "capped-cpu", NULL, true, NULL },
	{ "ib-vhca", NULL, true, NULL },
	{ "attr", NULL, true, NULL },
	{ "admin", NULL, true, NULL },
	{ "security-flags", NULL, true, NULL },
	{ "verified-boot", NULL, true, NULL },
	{ NULL, "pool", true, NULL },
	{ NULL, "scheduling-class", true, NULL },
	{ NULL, "cpu-shares", true, NULL },
	{ NULL, "tenant", true, NULL },
	{ NULL, "boot-priority", true, NULL },
	{ "dedicated-cpu", "importance", true, NULL },
	{ "dedicated-cpu", "cpus", true, "use ncpus" },
	{ "dedicated-cpu", "cores", true, "use ncpus" },
	{ "dedicated-cpu", "sockets", true, "use ncpus" },
	{ "device", "allow-mhd", true, NULL },
	{ "anet", "allowed-address", true, NULL },
	{ "anet", "configure-allowed-address", true, NULL },
	{ "anet", "defrouter", true, NULL },
	{ "anet", "allowed-dhcp-cids", true, NULL },
	{ "anet", "mac-prefix", true, NULL },
	{ "anet", "mac-slot", true, NULL },
	{ "anet", "vlan-id", true, NULL },
	{ "anet", "priority", true, NULL },
	{ "anet", "rxrings", true, NULL },
	{ "anet", "txrings", true, NULL },
	{ "anet", "mtu", true, NULL },
	{ "anet", "rxfanout", true, NULL },
	{ "anet", "linkmode", true, NULL },
	{ "anet", "evs", true, NULL },
	{ "anet", "vport", true, NULL },
	{ "anet", "iov", true, NULL },
	{ "anet", "lro", true, NULL },
	{ "anet", "cos", true, NULL },
	{ "anet", "pkey", true, NULL },
};

int zcfg_refusal(enum zcfg_scope r, const char *resource, const char *prop,
		 char *why, size_t whylen)
{
	const char *res = prop && r != ZR_GLOBAL ? scope_names[r] : resource;

	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const struct refusal *f = &refusals[i];
		if (prop) {
			if (!f->prop || strcmp(f->prop, prop))
				continue;
			if (r == ZR_GLOBAL ? f->res != NULL
					   : !f->res || strcmp(f->res, res))
				continue;
		} else {
			if (f->prop || !f->res || strcmp(f->res, resource))
				continue;
		}
		char what[96];
		if (!prop)
			snprintf(what, sizeof(what), "resource '%s'", resource);
		else if (r == ZR_GLOBAL)
			snprintf(what, sizeof(what), "property '%s'", prop);
		else
			snprintf(what, sizeof(what), "%s property '%s'", res,
				 prop);
		snprintf(why, whylen, "%s is not supported %s%s%s", what,
			 f->host ? "on this host" : "by brand " ZCFG_BRAND,
			 f->why ? ": " : "", f->why ? f->why : "");
		return -ENOTSUP;
	}
	return 0;
}
