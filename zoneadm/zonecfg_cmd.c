/*
 * zonecfg: the command.  Owns the terminal, the store and the exit
 * status; the language itself is zcfg_exec.c.
 *
 *   zonecfg [-R DIR] -z ZONE                      interactive (libedit)
 *   zonecfg [-R DIR] -z ZONE SUBCOMMAND [...]     ';' separates several
 *   zonecfg [-R DIR] -z ZONE -f FILE              a command file (- stdin)
 *   zonecfg help [COMMAND]
 *
 * With stdin not a terminal and no subcommand, commands are read from
 * stdin as from a file.  Outside the interactive mode the first error
 * stops the run and nothing is committed; at the end, changes are
 * committed (as `exit` does at the prompt).
 *
 * Store rules: the configuration is ROOT/etc/ZONE.cfg (0600); a commit of
 * a new zone adds it to the index as configured, zonepath ROOT/zones/ZONE,
 * a fresh uuid, brand kz.  Commit and delete hold the zone's lock and
 * change the index under the index lock.
 *
 * Exit status: 0 ok, 1 error, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <histedit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "zonecfg.h"

#define LOCK_WAIT_MS	3000

struct zc {
	const char *root;
	struct zcfg_session s;
	char state[32];
	/* interactive */
	EditLine *el;
	History *hist;
	char prompt[160];
};

static void usage_line(FILE *f)
{
	fprintf(f, "usage: zonecfg [-R DIR] -z ZONE [SUBCOMMAND [; ...]]\n"
		   "       zonecfg [-R DIR] -z ZONE -f FILE\n"
		   "       zonecfg help [COMMAND]\n");
}

/* ---- the store side (struct zcfg_store_ops) ---- */

static const char *op_state(void *arg, const char *zone)
{
	struct zc *z = arg;
	struct zone_index idx;
	char err[256];

	if (zs_index_read(z->root, &idx, err, sizeof(err)))
		return NULL;
	struct zone_entry *e = zs_index_find(&idx, zone);
	const char *st = NULL;
	if (e) {
		snprintf(z->state, sizeof(z->state), "%s",
			 zs_state_name(e->state));
		st = z->state;
	}
	zs_index_free(&idx);
	return st;
}

static int op_load(void *arg, const char *zone, struct zone_config **out,
		   char *err, size_t errlen)
{
	struct zc *z = arg;
	return zcfg_load(z->root, zone, out, err, errlen);
}

static int op_commit(void *arg, const char *zone, const struct zone_config *c,
		     char *err, size_t errlen)
{
	struct zc *z = arg;
	bool rename = strcmp(zone, c->zonename) != 0;
	struct zone_index idx = { 0 };
	char old[ZS_PATH_MAX];
	int lk2 = -1, ilk = -1, rc;

	int lk = zs_lock_zone(z->root, zone, "zonecfg", LOCK_WAIT_MS, err,
			      errlen);
	if (lk < 0)
		return lk;
	if (rename) {
		lk2 = zs_lock_zone(z->root, c->zonename, "zonecfg",
				   LOCK_WAIT_MS, err, errlen);
		if (lk2 < 0) {
			rc = lk2;
			goto out;
		}
	}
	ilk = zs_index_lock(z->root, err, errlen);
	if (ilk < 0) {
		rc = ilk;
		goto out;
	}
	rc = zs_index_read(z->root, &idx, err, errlen);
	if (rc)
		goto out;
	struct zone_entry *e = zs_index_find(&idx, zone);
	if (rename) {
		if (zs_index_find(&idx, c->zonename)) {
			snprintf(err, errlen, "cannot rename to '%s': a zone "
				 "of that name exists", c->zonename);
			rc = -EEXIST;
			goto out;
		}
		if (e && e->state != ZS_CONFIGURED) {
			snprintf(err, errlen, "cannot rename a zone that is "
				 "%s (only configured zones)",
				 zs_state_name(e->state));
			rc = -EBUSY;
			goto out;
		}
	}
	/* The file first: the index must never name a missing config. */
	rc = zcfg_write(z->root, c, err, errlen);
	if (rc)
		goto out;
	if (!e) {
		struct zone_entry ne;
		memset(&ne, 0, sizeof(ne));
		snprintf(ne.name, sizeof(ne.name), "%s", c->zonename);
		ne.state = ZS_CONFIGURED;
		snprintf(ne.zonepath, sizeof(ne.zonepath), "%s", c->zonepath);
		zs_uuid(ne.uuid);
		snprintf(ne.brand, sizeof(ne.brand), "%s", ZCFG_BRAND);
		rc = zs_index_add(&idx, &ne);
		if (rc) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	} else if (rename) {
		snprintf(e->name, sizeof(e->name), "%s", c->zonename);
		snprintf(e->zonepath, sizeof(e->zonepath), "%s", c->zonepath);
	}
	if (!e || rename) {
		rc = zs_index_write(z->root, &idx, err, errlen);
		if (rc)
			goto out;
	}
	if (rename && !zs_path(old, sizeof(old), z->root, "etc/%s.cfg", zone))
		unlink(old);
	if (rename && !zs_path(old, sizeof(old), z->root, "etc/%s.lock", zone))
		unlink(old);
out:
	zs_index_free(&idx);
	zs_unlock(ilk);
	zs_unlock(lk2);
	zs_unlock(lk);
	return rc;
}

static int op_remove(void *arg, const char *zone, char *err, size_t errlen)
{
	struct zc *z = arg;
	struct zone_index idx = { 0 };
	char path[ZS_PATH_MAX];
	int ilk = -1, rc;

	int lk = zs_lock_zone(z->root, zone, "zonecfg delete", LOCK_WAIT_MS,
			      err, errlen);
	if (lk < 0)
		return lk;
	ilk = zs_index_lock(z->root, err, errlen);
	if (ilk < 0) {
		rc = ilk;
		goto out;
	}
	rc = zs_index_read(z->root, &idx, err, errlen);
	if (rc)
		goto out;
	struct zone_entry *e = zs_index_find(&idx, zone);
	if (e && e->state != ZS_CONFIGURED && e->state != ZS_INCOMPLETE) {
		snprintf(err, errlen, "zone is %s: uninstall it before "
			 "deleting its configuration", zs_state_name(e->state));
		rc = -EBUSY;
		goto out;
	}
	if (e) {
		zs_index_remove(&idx, zone);
		rc = zs_index_write(z->root, &idx, err, errlen);
		if (rc)
			goto out;
	}
	if (!zs_path(path, sizeof(path), z->root, "etc/%s.cfg", zone) &&
	    unlink(path) < 0 && errno != ENOENT) {
		rc = -errno;
		snprintf(err, errlen, "cannot remove %s: %s", path,
			 strerror(errno));
		goto out;
	}
	if (!zs_path(path, sizeof(path), z->root, "etc/%s.lock", zone))
		unlink(path);
out:
	zs_index_free(&idx);
	zs_unlock(ilk);
	zs_unlock(lk);
	return rc;
}

static const struct zcfg_store_ops store_ops = {
	.commit = op_commit,
	.remove = op_remove,
	.load = op_load,
	.state = op_state,
};

/* ---- running commands ---- */

static int status_of(int rc)
{
	return rc == ZCFG_EUSAGE ? 2 : rc ? 1 : 0;
}

static void say(struct zc *z, const char *where, const char *msg)
{
	fprintf(stderr, "zonecfg:%s: %s%s%s\n", z->s.zone, where ? where : "",
		where ? ": " : "", msg);
}

/* The end of a non-interactive run: commit what changed. */
static int finish(struct zc *z)
{
	char err[512];
	int rc = zcfg_session_commit(&z->s, err, sizeof(err));
	if (rc) {
		say(z, NULL, err);
		return 1;
	}
	return 0;
}

static int run_stream(struct zc *z, FILE *f, const char *name)
{
	char *line = NULL, err[512], where[1100];
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = 0;

	while (!z->s.done && getline(&line, &cap, f) >= 0) {
		lineno++;
		line[strcspn(line, "\n")] = 0;
		rc = zcfg_exec(&z->s, line, err, sizeof(err));
		if (rc) {
			snprintf(where, sizeof(where), "%s line %u", name,
				 lineno);
			say(z, where, err);
			break;
		}
	}
	free(line);
	if (rc)
		return status_of(rc);
	return finish(z);
}

/* ---- interactive ---- */

static struct zc *zc_of(EditLine *el)
{
	void *p = NULL;
	el_get(el, EL_CLIENTDATA, &p);
	return p;
}

static char *prompt_fn(EditLine *el)
{
	struct zc *z = zc_of(el);
	if (z->s.scope == ZR_GLOBAL)
		snprintf(z->prompt, sizeof(z->prompt), "zonecfg:%s> ",
			 z->s.zone);
	else
		snprintf(z->prompt, sizeof(z->prompt), "zonecfg:%s:%s> ",
			 z->s.zone, zcfg_scope_name(z->s.scope));
	return z->prompt;
}

static bool ask_fn(void *arg, const char *question)
{
	char c = 0, first = 0;
	(void)arg;
	fputs(question, stdout);
	fflush(stdout);
	/* libedit has the terminal back in cooked mode between lines. */
	while (read(0, &c, 1) == 1 && c != '\n')
		if (!first)
			first = c;
	return first == 'y' || first == 'Y';
}

/* Candidates for the word being typed, given the words before it. */
static size_t candidates(struct zc *z, char **w, size_t nw, bool after_eq,
			 const char **out, size_t max, bool *add_eq)
{
	size_t n = 0;
	const char *const *list = NULL;
	static const char *const help_topics[] = { "resources", "properties",
						   "usage", NULL };

	*add_eq = false;
#define PUT(s) do { if (n < max) out[n++] = (s); } while (0)
	if (nw == 0) {
		for (size_t i = 0; i < zcfg_ncmds; i++)
			PUT(zcfg_cmds[i].name);
		return n;
	}
	const char *c = w[0];
	if (strcmp(c, "set") == 0 || strcmp(c, "clear") == 0) {
		if (nw == 1 && !after_eq) {
			list = zcfg_prop_names(z->s.scope);
			*add_eq = strcmp(c, "set") == 0;
		} else if (nw == 2 && after_eq && strcmp(c, "set") == 0) {
			list = zcfg_prop_values(z->s.scope, w[1]);
		}
	} else if (strcmp(c, "add") == 0 || strcmp(c, "select") == 0 ||
		   strcmp(c, "remove") == 0 || strcmp(c, "info") == 0) {
		size_t k = 1;
		if (strcmp(c, "remove") == 0 && nw > 1 &&
		    strcmp(w[1], "-F") == 0)
			k = 2;
		if (nw == k && !after_eq) {
			list = zcfg_resource_names;
			if (strcmp(c, "info") == 0 && z->s.scope == ZR_GLOBAL) {
				const char *const *g =
					zcfg_prop_names(ZR_GLOBAL);
				for (; *g; g++)
					PUT(*g);
			}
		} else if (nw > k && strcmp(c, "add") && !after_eq) {
			enum zcfg_scope r = zcfg_scope_find(w[k]);
			if (r != ZR_GLOBAL) {
				list = zcfg_prop_names(r);
				*add_eq = true;
			}
		}
	} else if (strcmp(c, "create") == 0) {
		if (nw >= 2 && strcmp(w[nw - 1], "-t") == 0)
			list = zcfg_template_names;
	} else if (strcmp(c, "help") == 0 && nw == 1) {
		for (size_t i = 0; i < zcfg_ncmds; i++)
			PUT(zcfg_cmds[i].name);
		list = help_topics;
	}
	for (; list && *list; list++)
		PUT(*list);
#undef PUT
	return n;
}

static unsigned char complete_fn(EditLine *el, int ch)
{
	struct zc *z = zc_of(el);
	const LineInfo *li = el_line(el);
	size_t len = (size_t)(li->cursor - li->buffer);
	char *text = strndup(li->buffer, len);
	char *w[64];
	size_t nw = 0;
	const char *cand[64], *m[64];
	bool add_eq, after_eq = false;

	(void)ch;
	if (!text)
		return CC_ERROR;
	/* Only the last command of the line counts. */
	char *seg = strrchr(text, ';');
	seg = seg ? seg + 1 : text;
	/* The word being typed starts after the last blank or '='. */
	char *cur = seg + strlen(seg);
	while (cur > seg && cur[-1] != ' ' && cur[-1] != '\t' &&
	       cur[-1] != '=')
		cur--;
	after_eq = cur > seg && cur[-1] == '=';
	char *head = strndup(seg, (size_t)(cur - seg));
	if (!head) {
		free(text);
		return CC_ERROR;
	}
	for (char *save = NULL, *t = strtok_r(head, " \t=", &save);
	     t && nw < 64; t = strtok_r(NULL, " \t=", &save))
		w[nw++] = t;

	size_t nc = candidates(z, w, nw, after_eq, cand, 64, &add_eq);
	size_t nm = 0, plen = strlen(cur);
	for (size_t i = 0; i < nc; i++)
		if (strncmp(cand[i], cur, plen) == 0)
			m[nm++] = cand[i];
	unsigned char ret = CC_ERROR;
	if (nm == 1) {
		char buf[128];
		snprintf(buf, sizeof(buf), "%s%s", m[0] + plen,
			 add_eq ? "=" : " ");
		el_insertstr(el, buf);
		ret = CC_REFRESH;
	} else if (nm > 1) {
		/* Extend to the longest common prefix, else list them. */
		size_t common = strlen(m[0]);
		for (size_t i = 1; i < nm; i++) {
			size_t k = 0;
			while (k < common && m[i][k] == m[0][k])
				k++;
			common = k;
		}
		if (common > plen) {
			char buf[128];
			snprintf(buf, sizeof(buf), "%.*s", (int)(common - plen),
				 m[0] + plen);
			el_insertstr(el, buf);
			ret = CC_REFRESH;
		} else {
			fputc('\n', stdout);
			for (size_t i = 0; i < nm; i++)
				fprintf(stdout, "%s%s", i ? "  " : "", m[i]);
			fputc('\n', stdout);
			ret = CC_REDISPLAY;
		}
	}
	free(head);
	free(text);
	return ret;
}

static int run_interactive(struct zc *z)
{
	HistEvent ev;
	char err[512];
	int count;

	z->el = el_init("zonecfg", stdin, stdout, stderr);
	z->hist = history_init();
	if (!z->el || !z->hist) {
		fprintf(stderr, "zonecfg: cannot start line editing\n");
		return 1;
	}
	history(z->hist, &ev, H_SETSIZE, 500);
	el_set(z->el, EL_CLIENTDATA, z);
	el_set(z->el, EL_EDITOR, "emacs");
	el_set(z->el, EL_PROMPT, prompt_fn);
	el_set(z->el, EL_HIST, history, z->hist);
	/* The wide call: the narrow one leaks copies of the two strings. */
	el_wset(z->el, EL_ADDFN, L"zc-complete", L"complete a zonecfg word",
		complete_fn);
	el_set(z->el, EL_BIND, "^I", "zc-complete", NULL);
	el_source(z->el, NULL);	/* ~/.editrc, if any */

	z->s.interactive = true;
	z->s.ask = ask_fn;
	if (!z->s.cfg)
		printf("%s: no such zone configured; use 'create' to begin "
		       "configuring it.\n", z->s.zone);
	for (;;) {
		const char *line = el_gets(z->el, &count);
		if (!line) {
			/* End of input: as exit. */
			fputc('\n', stdout);
			z->s.done = true;
		} else {
			if (strspn(line, " \t\n") != strlen(line))
				history(z->hist, &ev, H_ENTER, line);
			char *l = strdup(line);
			if (!l)
				break;
			l[strcspn(l, "\n")] = 0;
			int rc = zcfg_exec(&z->s, l, err, sizeof(err));
			free(l);
			if (rc)
				say(z, NULL, err);
		}
		if (!z->s.done)
			continue;
		int rc = zcfg_session_commit(&z->s, err, sizeof(err));
		if (!rc || !line)
			break;
		say(z, NULL, err);
		fprintf(stderr, "zonecfg:%s: not saved; fix it, or use "
			"exit -F to leave without saving\n", z->s.zone);
		z->s.done = false;
	}
	int status = z->s.dirty && !z->s.discard ? 1 : 0;
	history_end(z->hist);
	el_end(z->el);
	return status;
}

/* ---- main ---- */

static void print_help(void)
{
	usage_line(stdout);
	printf("\nSubcommands:\n");
	for (size_t i = 0; i < zcfg_ncmds; i++)
		printf("  %s\n\t%s\n", zcfg_cmds[i].usage, zcfg_cmds[i].help);
}

int cmd_zonecfg(int argc, char **argv)
{
	const char *ropt = NULL, *zone = NULL, *file = NULL;
	char err[512], zp[ZS_PATH_MAX];
	struct zc z;
	int opt, status;

	optind = 0;	/* kzsh may call us more than once */
	while ((opt = getopt(argc, argv, "+R:z:f:h")) != -1) {
		switch (opt) {
		case 'R': ropt = optarg; break;
		case 'z': zone = optarg; break;
		case 'f': file = optarg; break;
		case 'h': print_help(); return 0;
		default: usage_line(stderr); return 2;
		}
	}
	if (!zone) {
		if (optind < argc && strcmp(argv[optind], "help") == 0) {
			struct zcfg_session s;
			zcfg_session_init(&s, "", "", stdout);
			int rc = 0;
			if (optind + 1 < argc) {
				char line[256];
				snprintf(line, sizeof(line), "help %s",
					 argv[optind + 1]);
				rc = zcfg_exec(&s, line, err, sizeof(err));
			} else {
				print_help();
			}
			zcfg_session_fini(&s);
			if (rc)
				fprintf(stderr, "zonecfg: %s\n", err);
			return status_of(rc);
		}
		fprintf(stderr, "zonecfg: no zone given (-z ZONE)\n");
		usage_line(stderr);
		return 2;
	}
	if (file && optind < argc) {
		fprintf(stderr, "zonecfg: -f and subcommands cannot be mixed\n");
		usage_line(stderr);
		return 2;
	}
	if (!zs_name_valid(zone, err, sizeof(err))) {
		fprintf(stderr, "zonecfg: %s\n", err);
		return 2;
	}

	memset(&z, 0, sizeof(z));
	z.root = zs_root(ropt);
	if (zs_root_init(z.root, err, sizeof(err))) {
		fprintf(stderr, "zonecfg: zone '%s': %s\n", zone, err);
		return 1;
	}
	if (zs_path(zp, sizeof(zp), z.root, "zones/%s", zone)) {
		fprintf(stderr, "zonecfg: zone '%s': root path too long\n",
			zone);
		return 1;
	}
	zcfg_session_init(&z.s, zone, zp, stdout);
	z.s.ops = &store_ops;
	z.s.ops_arg = &z;

	struct zone_config *cfg = NULL;
	int rc = zcfg_load(z.root, zone, &cfg, err, sizeof(err));
	if (rc && rc != -ENOENT) {
		fprintf(stderr, "zonecfg: zone '%s': %s\n", zone, err);
		zcfg_session_fini(&z.s);
		return 1;
	}
	zcfg_session_set(&z.s, cfg);

	if (optind < argc) {
		/* As Solaris does: the words joined, then parsed as a line. */
		size_t len = 1;
		for (int i = optind; i < argc; i++)
			len += strlen(argv[i]) + 1;
		char *line = calloc(1, len);
		if (!line) {
			fprintf(stderr, "zonecfg: out of memory\n");
			zcfg_session_fini(&z.s);
			return 1;
		}
		for (int i = optind; i < argc; i++) {
			if (i > optind)
				strcat(line, " ");
			strcat(line, argv[i]);
		}
		rc = zcfg_exec(&z.s, line, err, sizeof(err));
		free(line);
		if (rc) {
			say(&z, NULL, err);
			status = status_of(rc);
		} else {
			status = finish(&z);
		}
	} else if (file) {
		FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "re");
		if (!f) {
			fprintf(stderr, "zonecfg: %s: %s\n", file,
				strerror(errno));
			zcfg_session_fini(&z.s);
			return 1;
		}
		status = run_stream(&z, f, file);
		if (f != stdin)
			fclose(f);
	} else if (isatty(0)) {
		status = run_interactive(&z);
	} else {
		status = run_stream(&z, stdin, "stdin");
	}
	fflush(stdout);
	zcfg_session_fini(&z.s);
	return status;
}
