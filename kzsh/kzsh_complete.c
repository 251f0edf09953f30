/*
 * kzsh's TAB completion.  The line up to the cursor goes through the
 * shell's own word splitter (kzsh_split_partial), so quoting is seen the
 * way the shell will run it; then the first word picks the completer:
 * command names for the first word, a builtin's completer (driven by the
 * same tables as the commands' help: za_cmds, zcfg_cmds,
 * zcfg_resource_names, zcfg_prop_names), else file names.
 *
 * A unique match is inserted (quoted as the word needs) with a blank
 * after it (none after a directory's '/' or a property's '='); several
 * are extended to their common prefix, or listed.
 */
#include "kzsh_impl.h"
#include "store.h"
#include "zoneadm_impl.h"
#include "zonecfg.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CANDS 4096

struct kzsh_cands {
	char *v[MAX_CANDS];
	size_t n;
	/* What candidates must start with: the word being typed, or (inside
	   a quoted zonecfg line) the last word of that line. */
	const char *prefix;
	bool inner;		/* words inside an open quote: keep it open */
};

static void add(struct kzsh_cands *c, const char *s)
{
	if (!s || strncmp(s, c->prefix, strlen(c->prefix)) != 0 ||
	    c->n >= MAX_CANDS)
		return;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i], s) == 0)
			return;
	char *d = strdup(s);
	if (d)
		c->v[c->n++] = d;
}

static void add_list(struct kzsh_cands *c, const char *const *list)
{
	for (; list && *list; list++)
		add(c, *list);
}

/* ---- sources ---- */

static void add_files(struct kzsh_cands *c, bool dirs_only)
{
	const char *word = c->prefix;
	const char *slash = strrchr(word, '/');
	char dir[4096];
	const char *base = slash ? slash + 1 : word;
	size_t dirlen = slash ? (size_t)(slash - word) + 1 : 0;

	if (dirlen >= sizeof(dir))
		return;
	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)dirlen, word);
	else
		snprintf(dir, sizeof(dir), ".");
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' && base[0] != '.')
			continue;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (strncmp(e->d_name, base, strlen(base)) != 0)
			continue;
		char path[8192];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		bool isdir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
		if (dirs_only && !isdir)
			continue;
		snprintf(path, sizeof(path), "%.*s%s%s", (int)dirlen, word,
			 e->d_name, isdir ? "/" : "");
		add(c, path);
	}
	closedir(d);
}

static void add_path_programs(struct kzsh_cands *c)
{
	const char *path = getenv("PATH");
	if (!path || !*c->prefix)
		return;
	char *copy = strdup(path);
	if (!copy)
		return;
	for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.' ||
			    strncmp(e->d_name, c->prefix, strlen(c->prefix)))
				continue;
			char p[8192];
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			struct stat st;
			if (stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
			    access(p, X_OK) == 0)
				add(c, e->d_name);
		}
		closedir(d);
	}
	free(copy);
}

static void add_zones(struct kzsh_cands *c, const char *root)
{
	struct zone_index idx;
	char err[256];
	if (zs_index_read(root, &idx, err, sizeof(err)))
		return;
	for (size_t i = 0; i < idx.n; i++)
		add(c, idx.zones[i].name);
	zs_index_free(&idx);
}

/* The root a command line acts on: its -R, else the shell's. */
static const char *root_of(struct kzsh *sh, const struct kzsh_partial *p)
{
	for (int i = 1; i + 1 < p->nwords; i++)
		if (strcmp(p->words[i], "-R") == 0)
			return p->words[i + 1];
	return sh->root;
}

static const char *prev_word(const struct kzsh_partial *p)
{
	return p->nwords > 0 ? p->words[p->nwords - 1] : "";
}

/*
 * Skip a command's leading options (those in with_arg take a value).
 * Returns the index of the first operand, or nwords when there is none
 * yet.
 */
static int skip_options(const struct kzsh_partial *p, const char *with_arg)
{
	int i = 1;
	while (i < p->nwords && p->words[i][0] == '-' && p->words[i][1]) {
		if (strcmp(p->words[i], "--") == 0)
			return i + 1;
		char o = p->words[i][1];
		if (!p->words[i][2] && strchr(with_arg, o))
			i++;
		i++;
	}
	return i;
}

/* Completion of a value after an option: true when prev took one. */
static bool option_value(struct kzsh *sh, const struct kzsh_partial *p,
			 struct kzsh_cands *c)
{
	const char *prev = prev_word(p);
	if (strcmp(prev, "-R") == 0) {
		add_files(c, true);
		return true;
	}
	if (strcmp(prev, "-z") == 0) {
		add_zones(c, root_of(sh, p));
		return true;
	}
	return false;
}

/* ---- zoneadm: from its command table ---- */

/*
 * Options of a subcommand from its usage string: "list [-cipsv]" gives
 * -c -i -p -s -v; "install [-k KERNEL [-i INITRD]]" gives -k and -i,
 * each taking a value.  arg_of, when the option named takes a value,
 * receives that value's name (KERNEL).
 */
static void usage_options(const char *usage, struct kzsh_cands *c,
			  const char *opt, char *arg_of, size_t arglen)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", usage);
	for (char *p = buf; *p; p++)
		if (*p == '[' || *p == ']' || *p == '|')
			*p = ' ';
	char *tok[32];
	int n = 0;
	for (char *save = NULL, *t = strtok_r(buf, " ", &save); t && n < 32;
	     t = strtok_r(NULL, " ", &save))
		tok[n++] = t;
	if (arg_of && arglen)
		arg_of[0] = 0;
	for (int i = 0; i < n; i++) {
		if (tok[i][0] != '-' || !tok[i][1] || tok[i][1] == '-')
			continue;
		bool takes = i + 1 < n && isupper((unsigned char)tok[i + 1][0]);
		if (takes || !tok[i][2]) {
			if (c)
				add(c, tok[i]);
			if (takes && opt && strcmp(opt, tok[i]) == 0 && arg_of)
				snprintf(arg_of, arglen, "%s", tok[i + 1]);
			continue;
		}
		for (char *l = tok[i] + 1; *l; l++) {
			char o[3] = { '-', *l, 0 };
			if (c)
				add(c, o);
		}
	}
}

void kzsh_complete_zoneadm(struct kzsh *sh, const struct kzsh_partial *p,
			   struct kzsh_cands *c)
{
	if (option_value(sh, p, c))
		return;
	int i = skip_options(p, "Rz");
	if (i >= p->nwords) {
		if (c->prefix[0] == '-') {
			add(c, "-R");
			add(c, "-z");
			add(c, "-h");
			return;
		}
		for (size_t k = 0; k < za_ncmds; k++)
			add(c, za_cmds[k].name);
		return;
	}
	const struct za_cmd *cmd = za_find(p->words[i]);
	if (!cmd)
		return;
	if (strcmp(cmd->name, "help") == 0) {
		if (p->nwords == i + 1)
			for (size_t k = 0; k < za_ncmds; k++)
				add(c, za_cmds[k].name);
		return;
	}
	char argname[32];
	usage_options(cmd->usage, NULL, prev_word(p), argname,
		      sizeof(argname));
	if (argname[0]) {
		if (!strcmp(argname, "KERNEL") || !strcmp(argname, "INITRD") ||
		    !strcmp(argname, "FILE"))
			add_files(c, false);
		return;
	}
	for (int k = i + 1; k < p->nwords; k++)
		if (strcmp(p->words[k], "--") == 0)
			return;	/* boot arguments: the guest's business */
	if (c->prefix[0] == '-') {
		usage_options(cmd->usage, c, NULL, NULL, 0);
		return;
	}
	if (strcmp(cmd->name, "clone") == 0)
		add_zones(c, root_of(sh, p));
	else if (strcmp(cmd->name, "mark") == 0)
		add(c, "incomplete");
}

/* ---- zonecfg: its subcommands, resources and properties ---- */

/*
 * Complete inside a zonecfg command line (several subcommands, ';'
 * between them), given as text.  The scope is followed through the
 * finished subcommands: add/select RESOURCE enter it, end and cancel
 * leave it.
 */
static void zonecfg_line(const char *text, struct kzsh_cands *c)
{
	enum zcfg_scope scope = ZR_GLOBAL;
	char *copy = strdup(text);
	if (!copy)
		return;
	char *seg = copy, *semi;
	while ((semi = strchr(seg, ';'))) {
		*semi = 0;
		char *w[3] = { NULL, NULL, NULL };
		int n = 0;
		for (char *save = NULL, *t = strtok_r(seg, " \t=", &save);
		     t && n < 3; t = strtok_r(NULL, " \t=", &save))
			w[n++] = t;
		if (n >= 2 && (!strcmp(w[0], "add") || !strcmp(w[0], "select")))
			scope = zcfg_scope_find(w[1]);
		else if (n >= 1 && (!strcmp(w[0], "end") ||
				    !strcmp(w[0], "cancel")))
			scope = ZR_GLOBAL;
		seg = semi + 1;
	}
	/* The word being typed starts after the last blank or '='. */
	char *cur = seg + strlen(seg);
	while (cur > seg && cur[-1] != ' ' && cur[-1] != '\t' &&
	       cur[-1] != '=')
		cur--;
	bool after_eq = cur > seg && cur[-1] == '=';
	c->prefix = text + (cur - copy);
	*cur = 0;
	char *w[64];
	int nw = 0;
	for (char *save = NULL, *t = strtok_r(seg, " \t=", &save);
	     t && nw < 64; t = strtok_r(NULL, " \t=", &save))
		w[nw++] = t;

	if (nw == 0) {
		for (size_t k = 0; k < zcfg_ncmds; k++)
			add(c, zcfg_cmds[k].name);
	} else if (!strcmp(w[0], "set") || !strcmp(w[0], "clear")) {
		if (nw == 1 && !after_eq) {
			const char *const *props = zcfg_prop_names(scope);
			bool eq = !strcmp(w[0], "set");
			for (; props && *props; props++) {
				char buf[128];
				snprintf(buf, sizeof(buf), "%s%s", *props,
					 eq ? "=" : "");
				add(c, buf);
			}
		} else if (nw == 2 && after_eq) {
			add_list(c, zcfg_prop_values(scope, w[1]));
		}
	} else if (!strcmp(w[0], "add") || !strcmp(w[0], "select") ||
		   !strcmp(w[0], "remove") || !strcmp(w[0], "info")) {
		int k = nw > 1 && !strcmp(w[0], "remove") &&
			!strcmp(w[1], "-F") ? 2 : 1;
		if (nw == k && !after_eq) {
			add_list(c, zcfg_resource_names);
			if (!strcmp(w[0], "info") && scope == ZR_GLOBAL)
				add_list(c, zcfg_prop_names(ZR_GLOBAL));
		} else if (nw > k && strcmp(w[0], "add") && !after_eq) {
			enum zcfg_scope r = zcfg_scope_find(w[k]);
			const char *const *props =
				r != ZR_GLOBAL ? zcfg_prop_names(r) : NULL;
			for (; props && *props; props++) {
				char buf[128];
				snprintf(buf, sizeof(buf), "%s=", *props);
				add(c, buf);
			}
		}
	} else if (!strcmp(w[0], "create")) {
		if (!strcmp(w[nw - 1], "-t"))
			add_list(c, zcfg_template_names);
	} else if (!strcmp(w[0], "help") && nw == 1) {
		for (size_t k = 0; k < zcfg_ncmds; k++)
			add(c, zcfg_cmds[k].name);
		static const char *const topics[] = { "resources",
						      "properties", "usage",
						      NULL };
		add_list(c, topics);
	}
	/* c->prefix points into text, which the caller keeps. */
	free(copy);
}

void kzsh_complete_zonecfg(struct kzsh *sh, const struct kzsh_partial *p,
			   struct kzsh_cands *c)
{
	static char line[8192];	/* what c->prefix points into */
	if (option_value(sh, p, c))
		return;
	if (strcmp(prev_word(p), "-f") == 0) {
		add_files(c, false);
		return;
	}
	int i = skip_options(p, "Rzf");
	if (i >= p->nwords && c->prefix[0] == '-') {
		add(c, "-R");
		add(c, "-z");
		add(c, "-f");
		add(c, "-h");
		return;
	}
	/* The zonecfg line so far: the operands, then the word typed. */
	size_t len = 0;
	line[0] = 0;
	for (int k = i; k < p->nwords && len < sizeof(line); k++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s ",
					p->words[k]);
	if (len >= sizeof(line))
		return;
	snprintf(line + len, sizeof(line) - len, "%s", p->cur);
	zonecfg_line(line, c);
	/* Words inside an open quote stay in it. */
	c->inner = p->quote != 0;
}

/* ---- the others ---- */

void kzsh_complete_zlogin(struct kzsh *sh, const struct kzsh_partial *p,
			  struct kzsh_cands *c)
{
	if (option_value(sh, p, c))
		return;
	const char *prev = prev_word(p);
	if (!strcmp(prev, "-e") || !strcmp(prev, "-r"))
		return;
	if (c->prefix[0] == '-') {
		static const char *const opts[] = { "-C", "-M", "-R", "-e",
						    "-r", "-d", "-f", "-W",
						    "-h", NULL };
		add_list(c, opts);
		return;
	}
	add_zones(c, root_of(sh, p));
}

void kzsh_complete_zonestat(struct kzsh *sh, const struct kzsh_partial *p,
			    struct kzsh_cands *c)
{
	if (!strcmp(prev_word(p), "-R")) {
		add_files(c, true);
		return;
	}
	if (!strcmp(prev_word(p), "-z")) {
		/* A comma list: complete its last name. */
		const char *comma = strrchr(p->cur, ',');
		if (!comma) {
			add_zones(c, root_of(sh, p));
			return;
		}
		struct kzsh_cands zones = { .prefix = comma + 1 };
		add_zones(&zones, root_of(sh, p));
		size_t head = (size_t)(comma + 1 - p->cur);
		for (size_t k = 0; k < zones.n; k++) {
			char buf[512];
			snprintf(buf, sizeof(buf), "%.*s%s", (int)head, p->cur,
				 zones.v[k]);
			add(c, buf);
			free(zones.v[k]);
		}
		return;
	}
	if (c->prefix[0] == '-') {
		static const char *const opts[] = { "-R", "-z", "-p", "-h",
						    NULL };
		add_list(c, opts);
	}
}

void kzsh_complete_kzdb(struct kzsh *sh, const struct kzsh_partial *p,
			struct kzsh_cands *c)
{
	if (option_value(sh, p, c))
		return;
	if (!strcmp(prev_word(p), "-k")) {
		add_files(c, false);
		return;
	}
	if (!strcmp(prev_word(p), "-e"))
		return;
	if (c->prefix[0] == '-') {
		static const char *const opts[] = { "-R", "-z", "-e", "-k",
						    "-h", NULL };
		add_list(c, opts);
		return;
	}
	add_files(c, false);	/* a vmcore, then its kernel */
}

void kzsh_complete_zonesvc(struct kzsh *sh, const struct kzsh_partial *p,
			   struct kzsh_cands *c)
{
	if (option_value(sh, p, c))
		return;
	static const char *const words[] = { "start", "stop", NULL };
	add_list(c, words);
}

void kzsh_complete_cd(struct kzsh *sh, const struct kzsh_partial *p,
		      struct kzsh_cands *c)
{
	(void)sh;
	if (p->nwords == 1)
		add_files(c, true);
}

void kzsh_complete_help(struct kzsh *sh, const struct kzsh_partial *p,
			struct kzsh_cands *c)
{
	(void)sh;
	if (p->nwords == 1)
		for (size_t k = 0; k < kzsh_nbuiltins; k++)
			add(c, kzsh_builtins[k].name);
}

void kzsh_complete_set(struct kzsh *sh, const struct kzsh_partial *p,
		       struct kzsh_cands *c)
{
	(void)sh;
	if (p->nwords == 1)
		add(c, "-e");
	else if (p->nwords == 2 && !strcmp(p->words[1], "-e")) {
		add(c, "on");
		add(c, "off");
	}
}

/* ---- libedit glue ---- */

/* text as it must be typed: quoted for where the cursor is. */
static void quote_into(char *out, size_t len, const char *text, char quote)
{
	size_t o = 0;
	for (const char *s = text; *s && o + 5 < len; s++) {
		if (quote == '\'' && *s == '\'') {
			memcpy(out + o, "'\\''", 4);
			o += 4;
			continue;
		}
		if ((quote == '"' && strchr("\"\\$`", *s)) ||
		    (!quote && kzsh_is_special(*s)))
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o] = 0;
}

static void list_cands(const struct kzsh_cands *c)
{
	size_t width = 0;
	struct winsize ws;
	unsigned cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
		cols = ws.ws_col;
	for (size_t i = 0; i < c->n; i++)
		if (strlen(c->v[i]) > width)
			width = strlen(c->v[i]);
	width += 2;
	size_t per = cols / width ? cols / width : 1;
	fputc('\n', stdout);
	for (size_t i = 0; i < c->n; i++) {
		bool last = (i + 1) % per == 0 || i + 1 == c->n;
		if (last)
			fprintf(stdout, "%s\n", c->v[i]);
		else
			fprintf(stdout, "%-*s", (int)width, c->v[i]);
	}
	fflush(stdout);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void gather(struct kzsh *sh, const struct kzsh_partial *p,
		   struct kzsh_cands *c)
{
	c->prefix = p->cur;
	if (p->nwords == 0) {
		if (strchr(p->cur, '/')) {
			add_files(c, false);
			return;
		}
		for (size_t k = 0; k < kzsh_nbuiltins; k++)
			add(c, kzsh_builtins[k].name);
		add_path_programs(c);
		return;
	}
	const struct kzsh_builtin *b = kzsh_builtin_find(p->words[0]);
	if (b && b->complete)
		b->complete(sh, p, c);
	else if (!b)
		add_files(c, false);
}

static unsigned char complete_fn(EditLine *el, int ch)
{
	struct kzsh *sh = NULL;
	const LineInfo *li = el_line(el);
	struct kzsh_partial p;
	static struct kzsh_cands c;
	unsigned char ret = CC_ERROR;

	(void)ch;
	el_get(el, EL_CLIENTDATA, &sh);
	if (kzsh_split_partial(li->buffer, (size_t)(li->cursor - li->buffer),
			       &p))
		return CC_ERROR;
	memset(&c, 0, sizeof(c));
	gather(sh, &p, &c);
	size_t plen = strlen(c.prefix);
	if (c.n == 1) {
		const char *m = c.v[0];
		size_t mlen = strlen(m);
		bool open_end = mlen && (m[mlen - 1] == '/' || m[mlen - 1] == '=');
		char q[8192];
		quote_into(q, sizeof(q), m + plen, p.quote);
		size_t qlen = strlen(q);
		if (!open_end && qlen + 3 < sizeof(q)) {
			if (p.quote && !c.inner)
				q[qlen++] = p.quote;
			q[qlen++] = ' ';
			q[qlen] = 0;
		}
		el_insertstr(el, q);
		ret = CC_REFRESH;
	} else if (c.n > 1) {
		qsort(c.v, c.n, sizeof(c.v[0]), cmp_str);
		size_t common = strlen(c.v[0]);
		for (size_t i = 1; i < c.n; i++) {
			size_t k = 0;
			while (k < common && c.v[i][k] == c.v[0][k])
				k++;
			common = k;
		}
		if (common > plen) {
			char part[4096], q[8192];
			snprintf(part, sizeof(part), "%.*s", (int)(common - plen),
				 c.v[0] + plen);
			quote_into(q, sizeof(q), part, p.quote);
			el_insertstr(el, q);
			ret = CC_REFRESH;
		} else {
			list_cands(&c);
			ret = CC_REDISPLAY;
		}
	}
	for (size_t i = 0; i < c.n; i++)
		free(c.v[i]);
	c.n = 0;
	kzsh_partial_free(&p);
	return ret;
}

int kzsh_complete_init(struct kzsh *sh)
{
	/* The wide call: the narrow one leaks its copies of the strings. */
	if (el_wset(sh->el, EL_ADDFN, L"kzsh-complete",
		    L"complete a command, option, zone or file",
		    complete_fn) != 0)
		return -1;
	return el_set(sh->el, EL_BIND, "^I", "kzsh-complete", NULL);
}
