/*
 * zoneadm: administer zones.  This file is the command table, option
 * parsing and the bits every subcommand shares; the subcommands live in
 * zoneadm_list.c (list), zoneadm_life.c (install and the other changes of
 * what is on disk) and zoneadm_run.c (ready, boot, halt, shutdown,
 * reboot: the ones that talk to kzhost).
 *
 * cmd_zoneadm() is a library entry point so that kzsh runs the same code
 * in-process; it prints its own messages and returns the exit status
 * (0 ok, 1 error, 2 usage), never exits.
 */
#include "zoneadm.h"
#include "zoneadm_impl.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const struct za_cmd za_cmds[] = {
	{ "help", "help [SUBCOMMAND]", "describe the subcommands", za_help,
	  false, false },
	{ "list", "list [-cipsv]",
	  "list zones: -c configured too, -i installed too, -v verbose, "
	  "-p parsable, -s auxiliary states", za_list, false, false },
	{ "verify", "verify", "check that the zone can be installed and booted",
	  za_verify, true, false },
	{ "install", "install [-k KERNEL [-i INITRD]]",
	  "install the zone (the built-in guest unless a kernel is given)",
	  za_install, true, true },
	{ "uninstall", "uninstall [-F]",
	  "remove what install put in the zone", za_uninstall, true, true },
	{ "ready", "ready", "build the zone's machine without running it",
	  za_ready, true, true },
	{ "boot", "boot [-- BOOTARGS]", "boot the zone", za_boot, true, true },
	{ "halt", "halt", "stop the zone at once", za_halt, true, true },
	{ "shutdown", "shutdown [-r] [-t SECONDS]",
	  "ask the guest to shut down cleanly (then halt); -r boots it again",
	  za_shutdown, true, true },
	{ "reboot", "reboot", "restart the zone's machine", za_reboot, true,
	  true },
	{ "detach", "detach", "make the installed zone movable to another host",
	  za_detach, true, true },
	{ "attach", "attach [-F]", "take a detached zone back into use",
	  za_attach, true, true },
	{ "clone", "clone SOURCE",
	  "install the zone as a copy of installed zone SOURCE", za_clone,
	  true, true },
	{ "mark", "mark incomplete", "mark an installed zone incomplete",
	  za_mark, true, true },
	{ "savecore", "savecore [-d DIR]",
	  "write a crash dump of the running zone to DIR/vmcore.N (default: "
	  "see kzdumpadm)", za_savecore, true, true },
	{ "gdb", "gdb [-p PORT [-a ADDR]]",
	  "attach gdb: bridge stdio to the zone's stub (target remote | "
	  "zoneadm -z ZONE gdb), or -p: listen on TCP", za_gdb, true, false },
};
const size_t za_ncmds = sizeof(za_cmds) / sizeof(za_cmds[0]);

static struct za_ctx *err_ctx;	/* for za_err's zone name */

void za_err(const struct za_ctx *c, const char *fmt, ...)
{
	va_list ap;
	if (c && c->zone)
		fprintf(stderr, "zoneadm: zone '%s': ", c->zone);
	else
		fprintf(stderr, "zoneadm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const struct za_cmd *za_find(const char *name)
{
	for (size_t i = 0; i < za_ncmds; i++)
		if (strcmp(za_cmds[i].name, name) == 0)
			return &za_cmds[i];
	return NULL;
}

int za_usage(const struct za_cmd *cmd)
{
	fprintf(stderr, "usage: zoneadm [-R ROOT] %s%s\n",
		cmd->needs_zone ? "-z ZONE " : "", cmd->usage);
	return 2;
}

static void usage_all(FILE *f)
{
	fprintf(f, "usage: zoneadm [-R ROOT] [-z ZONE] SUBCOMMAND [ARGS]\n\n");
	for (size_t i = 0; i < za_ncmds; i++)
		fprintf(f, "  %s%-32s %s\n", za_cmds[i].needs_zone ? "-z ZONE " : "        ",
			za_cmds[i].usage, za_cmds[i].help);
}

int za_help(struct za_ctx *c, int argc, char **argv)
{
	(void)c;
	if (argc > 1) {
		const struct za_cmd *cmd = za_find(argv[1]);
		if (!cmd) {
			za_err(NULL, "no subcommand '%s'", argv[1]);
			return 2;
		}
		printf("zoneadm [-R ROOT] %s%s\n    %s\n",
		       cmd->needs_zone ? "-z ZONE " : "", cmd->usage, cmd->help);
		return 0;
	}
	usage_all(stdout);
	return 0;
}

bool za_state_in(const struct za_ctx *c, const char *what, unsigned nstates,
		 const enum zone_state *states)
{
	for (unsigned i = 0; i < nstates; i++)
		if (c->entry.state == states[i])
			return true;
	char want[256] = "";
	size_t used = 0;
	for (unsigned i = 0; i < nstates; i++)
		used += (size_t)snprintf(want + used, sizeof(want) - used, "%s%s",
					 i ? (i + 1 == nstates ? " or " : ", ") : "",
					 zs_state_name(states[i]));
	za_err(c, "cannot %s: zone is %s (must be %s)", what,
	       zs_state_name(c->entry.state), want);
	return false;
}

/* Directory of this program (from /proc/self/exe). */
static int self_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	if (n <= 0)
		return -errno;
	buf[n] = 0;
	char *slash = strrchr(buf, '/');
	if (slash)
		*slash = 0;
	return 0;
}

int za_kzhost_path(char *buf, size_t len)
{
	const char *env = getenv("KZ_KZHOST");
	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	char dir[ZS_PATH_MAX];
	int rc = self_dir(dir, sizeof(dir));
	if (rc)
		return rc;
	if (snprintf(buf, len, "%s/kzhost", dir) >= (int)len)
		return -ENAMETOOLONG;
	return access(buf, X_OK) == 0 ? 0 : -ENOENT;
}

int za_default_kernel(char *buf, size_t len)
{
	const char *env = getenv("KZ_GUEST");
	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return access(buf, R_OK) == 0 ? 0 : -errno;
	}
	/* The build tree (build/bin -> build/guest) or an installed tree. */
	static const char *const rel[] = { "../guest/kzguest.elf",
					   "../share/kzones/kzguest.elf" };
	char dir[ZS_PATH_MAX];
	int rc = self_dir(dir, sizeof(dir));
	if (rc)
		return rc;
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		if (snprintf(buf, len, "%s/%s", dir, rel[i]) >= (int)len)
			continue;
		if (access(buf, R_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/*
 * A live kzhost: the process exists, is not a zombie (a VM process whose
 * supervisor died lingers as one until init reaps it), and is kzhost
 * rather than whatever later reused the pid.
 */
static bool pid_is_live_kzhost(int pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *rp = strrchr(buf, ')');
	if (!rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X')
		return false;
	char *lp = strchr(buf, '(');
	return lp && strncmp(lp + 1, "kzhost", 6) == 0;
}

static int read_pid(const char *root, const char *zone, const char *file)
{
	char path[ZS_PATH_MAX];
	if (zs_path(path, sizeof(path), root, "run/%s/%s", zone, file))
		return 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	int pid = 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid > 0 && pid_is_live_kzhost(pid) ? pid : 0;
}

int za_kzhost_pid(const char *root, const char *zone)
{
	return read_pid(root, zone, "kzhost.pid");
}

static bool state_has_kzhost(enum zone_state s)
{
	return s == ZS_READY || s == ZS_RUNNING || s == ZS_SHUTTING_DOWN ||
	       s == ZS_DOWN;
}

/*
 * An installed zone whose boot image has gone (zonepath removed, storage
 * not mounted) is unavailable until it comes back.
 */
static bool check_available(const char *root, struct zone_entry *e)
{
	char path[ZS_PATH_MAX], err[256];
	enum zone_state want;
	if (e->state != ZS_INSTALLED && e->state != ZS_UNAVAILABLE)
		return false;
	if (zs_path(path, sizeof(path), root, "zones/%s/boot/kernel", e->name))
		return false;
	want = access(path, R_OK) == 0 ? ZS_INSTALLED : ZS_UNAVAILABLE;
	if (want == e->state)
		return false;
	e->state = want;
	(void)zs_set_state(root, e->name, want, err, sizeof(err));
	return true;
}

bool za_reconcile(const char *root, struct zone_entry *e)
{
	char err[256], path[ZS_PATH_MAX];
	if (check_available(root, e))
		return true;
	if (!state_has_kzhost(e->state) || za_kzhost_pid(root, e->name))
		return false;
	/* A live supervisor is about to clean up itself: give it a moment. */
	for (int i = 0; i < 100 && read_pid(root, e->name, "supervisor.pid"); i++)
		usleep(20000);
	if (!read_pid(root, e->name, "supervisor.pid")) {
		struct zone_index idx;
		char e2[256];
		if (zs_index_read(root, &idx, e2, sizeof(e2)) == 0) {
			struct zone_entry *now = zs_index_find(&idx, e->name);
			if (now)
				e->state = now->state;
			zs_index_free(&idx);
		}
		if (!state_has_kzhost(e->state))
			return true;
	}
	/*
	 * The supervisor normally does this itself; only when it was killed
	 * too is the zone left claiming to run.  Say so in the zone's log.
	 */
	if (!zs_path(path, sizeof(path), root, "log/%s.log", e->name)) {
		FILE *f = fopen(path, "ae");
		if (f) {
			fprintf(f, "zoneadm: zone '%s': kzhost is gone; zone "
				   "was %s, now installed\n",
				e->name, zs_state_name(e->state));
			fclose(f);
		}
	}
	zs_run_dir_clear(root, e->name);
	e->state = ZS_INSTALLED;
	(void)zs_set_state(root, e->name, ZS_INSTALLED, err, sizeof(err));
	return true;
}

static int load_entry(struct za_ctx *c)
{
	struct zone_index idx;
	char err[256];
	if (zs_index_read(c->root, &idx, err, sizeof(err))) {
		za_err(c, "%s", err);
		return 1;
	}
	struct zone_entry *e = zs_index_find(&idx, c->zone);
	if (!e) {
		zs_index_free(&idx);
		za_err(c, "no such zone configured");
		return 1;
	}
	c->entry = *e;
	zs_index_free(&idx);
	za_reconcile(c->root, &c->entry);
	return 0;
}

int cmd_zoneadm(int argc, char **argv)
{
	struct za_ctx c = { .lock_fd = -1 };
	const char *root_opt = NULL;
	int opt;
	char err[512];

	err_ctx = &c;
	optind = 1;
	/* "+": options stop at the subcommand, whose own options follow. */
	while ((opt = getopt(argc, argv, "+R:z:h")) != -1) {
		switch (opt) {
		case 'R': root_opt = optarg; break;
		case 'z': c.zone = optarg; break;
		case 'h': usage_all(stdout); return 0;
		default: usage_all(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage_all(stderr);
		return 2;
	}
	c.root = zs_root(root_opt);
	c.interactive = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
	const struct za_cmd *cmd = za_find(argv[optind]);
	if (!cmd) {
		za_err(NULL, "no subcommand '%s' (see zoneadm help)",
		       argv[optind]);
		return 2;
	}
	if (cmd->needs_zone && !c.zone) {
		za_err(NULL, "%s needs a zone: -z ZONE", cmd->name);
		return za_usage(cmd);
	}
	/* 'global' names the host: only list may be asked about it. */
	bool global = c.zone && strcmp(c.zone, "global") == 0 &&
		      !cmd->needs_zone;
	if (c.zone && !global && !zs_name_valid(c.zone, err, sizeof(err))) {
		za_err(NULL, "%s", err);
		return 1;
	}
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;
	optind = 1;
	if (c.zone && cmd->locks) {
		char what[128];
		snprintf(what, sizeof(what), "zoneadm %s", cmd->name);
		c.lock_fd = zs_lock_zone(c.root, c.zone, what, 10000, err,
					 sizeof(err));
		if (c.lock_fd < 0) {
			za_err(&c, "%s", err);
			return 1;
		}
	}
	int status;
	if (c.zone && cmd->needs_zone && load_entry(&c))
		status = 1;
	else
		status = cmd->fn(&c, sub_argc, sub_argv);
	zs_unlock(c.lock_fd);
	return status;
}
