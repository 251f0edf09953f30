/*
 * The zone configuration model of brand kz and the zonecfg language.
 *
 * A configuration is a struct zone_config.  On disk it is a zonecfg
 * command file (the output of `zonecfg export`) at ROOT/etc/ZONE.cfg,
 * mode 0600 because it may hold the suspend key.  Reading one runs the
 * file through the same interpreter as the zonecfg command, so the
 * grammar, the property tables and the validation exist once.
 *
 *   zcfg_model.c   allocation, copy, resource lists, boot order, load/write
 *   zcfg_lex.c     words, quotes, '=' and ';'
 *   zcfg_props.c   const tables of resources, properties, refusals;
 *                  value parsers (sizes, URIs, MAC addresses, ...)
 *   zcfg_exec.c    the subcommands, scopes, the command table
 *   zcfg_export.c  export and info
 *   zcfg_verify.c  whole-zone checks
 *   zcfg_brand.c   templates (SYSkz)
 *
 * Library code: returns 0 or -errno with a one-line reason in err,
 * never prints (except to the FILE a session was given for info/export
 * /help output) and never exits.  The zonecfg command (zonecfg_cmd.c)
 * owns the terminal, the store and the exit status.
 *
 * Fields marked "derived" are recomputed by zcfg_refresh() from the
 * resources (every zcfg_* that changes a configuration calls it); a
 * caller that wants to change them changes the resource fields instead.
 */
#ifndef KZ_ZONEADM_ZONECFG_H
#define KZ_ZONEADM_ZONECFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ZCFG_BRAND		"kz"
#define ZCFG_DEFAULT_TEMPLATE	"SYSkz"
#define ZCFG_DEFAULT_NCPUS	4		/* no cpu resource at all */
#define ZCFG_DEFAULT_MEMORY	(4ULL << 30)	/* no capped-memory physical */

struct zcfg_device {
	char storage[1024];	/* file:///path or dev:/path */
	int id;			/* -1 until assigned (end assigns one) */
	int bootpri;		/* -1 when unset: not a boot device */
	uint64_t create_size;	/* bytes; 0 when unset */
};

struct zcfg_anet {
	char linkname[32];
	char lower_link[32];		/* "auto" or a host link */
	char mac_address[32];		/* auto|random|xx:xx:xx:xx:xx:xx */
	char allowed_mac[256];		/* comma list: any or MAC prefixes */
	char link_protection[32];	/* comma list, or "" */
	uint64_t maxbw;			/* bits/s, 0 none */
	int id;				/* -1 until assigned */
};

struct zone_config {
	char zonename[64];
	char zonepath[1024];	/* ROOT/zones/NAME, never set by zonecfg */
	char brand[32];		/* always "kz" */
	bool autoboot;
	char auto_shutdown[16];	/* shutdown|halt|suspend */
	char hostid[16];	/* "" or up to 8 hex digits */
	char bootargs[1024];
	char cpu_arch[32];	/* "" (this host's) or migration-classN */
	char host_compatible[16]; /* "" (native) or native|level0|level1 */

	/* virtual-cpu */
	bool has_virtual_cpu;
	unsigned vcpu_ncpus;
	/* dedicated-cpu: ncpus is N or N-M */
	bool has_dedicated_cpu;
	char dcpu_ncpus[16];
	unsigned dcpu_min, dcpu_max;
	/* capped-memory */
	bool has_capped_memory;
	uint64_t physical;		/* bytes, 0 unset */
	char pagesize_policy[24];	/* "" unset (behaves as smallest-only),
					   largest-only|largest-available|
					   smallest-only */
	/* derived: vCPUs the guest gets (virtual-cpu, else the low end of
	   dedicated-cpu, else ZCFG_DEFAULT_NCPUS) */
	unsigned ncpus;
	bool dedicated_cpu;		/* derived: has_dedicated_cpu */
	uint64_t memory;		/* derived: physical or the default */

	struct zcfg_device *devices;	/* in boot order: bootpri, then id;
					   devices without bootpri last, by id */
	size_t ndevices;
	struct zcfg_anet *anets;	/* in id order */
	size_t nanets;

	bool has_suspend;
	char suspend_path[1024];
	char suspend_storage[1024];
	bool has_keysource;
	char keysource_raw[128];	/* hex, 32 or 64 digits */
};

/* ---- the model (zcfg_model.c) ---- */

/* A blank configuration of brand kz (no resources), or NULL. */
struct zone_config *zcfg_new(const char *zonename, const char *zonepath)
	__attribute__((warn_unused_result));
struct zone_config *zcfg_dup(const struct zone_config *c)
	__attribute__((warn_unused_result));
void zcfg_free(struct zone_config *c);
/* Recompute the derived fields and the device/anet order. */
void zcfg_refresh(struct zone_config *c);

/*
 * Parse a configuration in zonecfg command syntax (what zcfg_export
 * writes; typically "create -b" then set/add/end lines).  zonepath may
 * be NULL.  On error err says "line N: ..." and *out stays NULL.
 */
int zcfg_parse(const char *text, size_t len, const char *zonename,
	       const char *zonepath, struct zone_config **out, char *err,
	       size_t errlen) __attribute__((warn_unused_result));
/* Read ROOT/etc/ZONE.cfg (zonepath becomes ROOT/zones/ZONE).  -ENOENT when
   the zone has no configuration. */
int zcfg_load(const char *root, const char *zone, struct zone_config **out,
	      char *err, size_t errlen) __attribute__((warn_unused_result));
/* Write ROOT/etc/<c->zonename>.cfg atomically, mode 0600.  Does not verify
   and does not touch the index. */
int zcfg_write(const char *root, const struct zone_config *c, char *err,
	       size_t errlen) __attribute__((warn_unused_result));

/* Boot devices (bootpri set) in boot order: *idx[i] indexes c->devices. */
size_t zcfg_boot_devices(const struct zone_config *c, size_t *idx,
			 size_t max);

/* ---- whole-zone checks (zcfg_verify.c) ---- */
int zcfg_verify(const struct zone_config *c, char *err, size_t errlen);

/* ---- output (zcfg_export.c) ---- */
/* The zonecfg commands that rebuild c (malloc'd text, caller frees). */
int zcfg_export(const struct zone_config *c, char **text_out)
	__attribute__((warn_unused_result));

/* ---- values (zcfg_props.c) ---- */
/* "4G", "512m", "1536M", "4096": bytes.  0 and overflow are refused. */
int zcfg_parse_size(const char *s, uint64_t *out);
/* Bytes as the largest unit that is exact: 4G, 1536M, 4097K, 123. */
void zcfg_format_size(uint64_t v, char *buf, size_t len);
/* A storage URI: 0 for file:///abs and dev:/abs (or dev:rel, /dev/rel);
   -ENOTSUP for the suri(7) schemes this host cannot reach; -EINVAL. */
int zcfg_storage_check(const char *uri, char *why, size_t whylen);
/* The host path of a supported storage URI, or -EINVAL / -ENOTSUP. */
int zcfg_storage_path(const char *uri, char *path, size_t len);

/* ---- the interpreter (zcfg_exec.c) ---- */
struct zcfg_tok;

/*
 * The store side of a session: what commit, delete and "create -t ZONE"
 * need.  The library never touches the index or the locks itself; the
 * zonecfg command supplies these.  Any hook may be NULL (then the
 * subcommand is refused as not available here).
 */
struct zcfg_store_ops {
	/* Make c the committed configuration of zone s->zone. */
	int (*commit)(void *arg, const char *zone, const struct zone_config *c,
		      char *err, size_t errlen);
	/* Remove the zone's configuration. */
	int (*remove)(void *arg, const char *zone, char *err, size_t errlen);
	/* Load another zone's configuration, for create -t ZONE. */
	int (*load)(void *arg, const char *zone, struct zone_config **out,
		    char *err, size_t errlen);
	/* The zone's state name ("configured", ...), or NULL if unknown. */
	const char *(*state)(void *arg, const char *zone);
};

enum zcfg_scope {
	ZR_GLOBAL,
	ZR_CAPPED_MEMORY,
	ZR_VIRTUAL_CPU,
	ZR_DEDICATED_CPU,
	ZR_DEVICE,
	ZR_ANET,
	ZR_SUSPEND,
	ZR_KEYSOURCE,
	ZR_NSCOPES
};

struct zcfg_session {
	char zone[64];
	char zonepath[1024];
	struct zone_config *cfg;	/* NULL before create / after delete */
	struct zone_config *saved;	/* last committed/loaded, for revert */
	struct zone_config *undo;	/* the config before add/select */
	enum zcfg_scope scope;		/* ZR_GLOBAL outside a resource */
	size_t scope_index;		/* device/anet being edited */
	bool dirty;			/* changes since the last commit */
	bool exists;			/* a committed config exists */
	bool interactive;		/* delete/revert may ask; exit commits */
	bool done;			/* exit was given */
	bool discard;			/* exit -F */
	FILE *out;			/* info, export, help */
	const struct zcfg_store_ops *ops;
	void *ops_arg;
	/* Ask a yes/no question (interactive only); NULL: answer no. */
	bool (*ask)(void *arg, const char *question);
};

/* Results of zcfg_exec besides 0: */
#define ZCFG_EUSAGE	(-1000)	/* bad syntax: err holds the usage */

void zcfg_session_init(struct zcfg_session *s, const char *zone,
		       const char *zonepath, FILE *out);
void zcfg_session_fini(struct zcfg_session *s);
/* Take c (may be NULL) as the committed configuration of the session. */
void zcfg_session_set(struct zcfg_session *s, struct zone_config *c);
/*
 * Run one line: one or more subcommands separated by ';'.  Stops at the
 * first failing subcommand; returns 0, ZCFG_EUSAGE or -errno, with the
 * reason in err.
 */
int zcfg_exec(struct zcfg_session *s, const char *line, char *err,
	      size_t errlen);
/* Commit now if there are changes (what exit and the end of a file do). */
int zcfg_session_commit(struct zcfg_session *s, char *err, size_t errlen);

/* ---- tables, for help and completion ---- */
struct zcfg_cmd_desc {
	const char *name;
	const char *usage;
	const char *help;
	int (*fn)(struct zcfg_session *s, struct zcfg_tok *a, size_t n,
		  char *err, size_t errlen);
};
extern const struct zcfg_cmd_desc zcfg_cmds[];
extern const size_t zcfg_ncmds;

const char *zcfg_scope_name(enum zcfg_scope r);
/* Supported resource names (NULL-terminated, for completion). */
extern const char *const zcfg_resource_names[];
/* Property names settable in scope r; NULL-terminated static array. */
const char *const *zcfg_prop_names(enum zcfg_scope r);
/* The enumerated values of a property, NULL-terminated, or NULL. */
const char *const *zcfg_prop_values(enum zcfg_scope r, const char *prop);
/* Template names (NULL-terminated). */
extern const char *const zcfg_template_names[];

/* ---- tokens (zcfg_lex.c) ---- */
enum zcfg_tok_kind { ZT_WORD, ZT_EQ, ZT_SEMI };
struct zcfg_tok {
	enum zcfg_tok_kind kind;
	bool quoted;
	char *s;	/* NUL-terminated; "=" or ";" for those kinds */
};
struct zcfg_toks {
	struct zcfg_tok *t;
	size_t n;
	char *buf;
};
/*
 * Split a line into words, '=' and ';'.  Double quotes group (\" and \\
 * inside them); '#' at the start of a word comments out the rest.
 */
int zcfg_lex(const char *line, size_t len, struct zcfg_toks *out, char *err,
	     size_t errlen) __attribute__((warn_unused_result));
void zcfg_toks_free(struct zcfg_toks *t);

/* The zonecfg command (zonecfg_cmd.c); kzsh and main_zonecfg.c call it. */
int cmd_zonecfg(int argc, char **argv);

/* ---- inside libzone (zcfg_*.c); not for other callers ---- */
enum zcfg_kind { ZK_STR, ZK_BOOL, ZK_SIZE, ZK_INT, ZK_UINT, ZK_BW };

struct zcfg_prop {
	enum zcfg_scope scope;
	const char *name;
	enum zcfg_kind kind;
	size_t off;		/* into zone_config, zcfg_device or zcfg_anet */
	size_t len;		/* ZK_STR capacity */
	long min, max;		/* ZK_INT, ZK_UINT */
	const char *const *values;	/* the only accepted words, or NULL */
	/* Extra check of a ZK_STR value; may rewrite it (normal form). */
	int (*check)(char *val, size_t cap, char *why, size_t whylen);
	const char *form;	/* the accepted form, for messages and help */
	const char *dflt;	/* value after clear; NULL: unset */
	unsigned flags;		/* ZP_* */
};
#define ZP_NOSET	1	/* fixed (zonepath) */
#define ZP_NOCLEAR	2	/* always has a value */
#define ZP_ADDSET	4	/* add sets it: export says when it is clear */

const struct zcfg_prop *zcfg_prop_find(enum zcfg_scope r, const char *name);
/* The object a property of scope r lives in: c, or the element edited. */
void *zcfg_prop_obj(struct zone_config *c, enum zcfg_scope r, size_t idx);
/* Set from text; err names the property and the accepted form. */
int zcfg_prop_set(void *obj, const struct zcfg_prop *p, const char *val,
		  char *err, size_t errlen);
void zcfg_prop_clear(void *obj, const struct zcfg_prop *p);
bool zcfg_prop_isset(const void *obj, const struct zcfg_prop *p);
/* The value as text ("" when unset). */
void zcfg_prop_format(const void *obj, const struct zcfg_prop *p, char *buf,
		      size_t len);
/* All properties of a scope, in export order; *n set. */
const struct zcfg_prop *zcfg_props_of(enum zcfg_scope r, size_t *n);
/* Scope of a supported resource name, or ZR_GLOBAL when not one. */
enum zcfg_scope zcfg_scope_find(const char *name);
bool zcfg_scope_multi(enum zcfg_scope r);
/*
 * Why a resource (prop NULL) or property known to Solaris is refused
 * here: fills why and returns -ENOTSUP, or 0 when it is not a refused
 * one (then it is simply unknown, or supported).
 */
int zcfg_refusal(enum zcfg_scope r, const char *resource, const char *prop,
		 char *why, size_t whylen);
/* The commands of a template, or NULL. */
const char *zcfg_template(const char *name);
bool zcfg_mac_match(const char *mac, const char *allowed);
/* info output (zcfg_export.c) */
void zcfg_info_global(FILE *f, const struct zone_config *c, bool all);
void zcfg_info_prop(FILE *f, const struct zone_config *c,
		    const struct zcfg_prop *p);
void zcfg_info_res(FILE *f, const struct zone_config *c, enum zcfg_scope r,
		   size_t idx);

#endif
