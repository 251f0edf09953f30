/*
 * The subcommands that start and stop a zone's kzhost: ready, boot, halt,
 * shutdown, reboot.
 *
 * boot and ready start kzhost as a daemon (its own session, stdin from
 * /dev/null, stdout and stderr to ROOT/log/ZONE.log) and wait on a pipe
 * until it says the machine is up ("ok") or why it is not ("error ...").
 * The others send one request over the zone's control socket and, where
 * the zone is to stop, wait until its kzhost is gone.
 */
#include "ctl.h"
#include "zonecfg.h"
#include "zoneadm_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BOOT_TIMEOUT_MS 120000
#define HALT_TIMEOUT_MS 30000

static const enum zone_state st_bootable[] = { ZS_INSTALLED, ZS_READY };
static const enum zone_state st_readyable[] = { ZS_INSTALLED };
static const enum zone_state st_up[] = { ZS_RUNNING, ZS_READY,
					 ZS_SHUTTING_DOWN };
static const enum zone_state st_running[] = { ZS_RUNNING };

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until the zone's kzhost has gone and it reads installed again. */
static bool wait_gone(const struct za_ctx *c, int timeout_ms)
{
	long end = now_ms() + timeout_ms;
	char path[ZS_PATH_MAX];
	if (zs_path(path, sizeof(path), c->root, "run/%s", c->zone))
		return false;
	bool gone = false;
	while (!gone && now_ms() < end) {
		struct stat st;
		gone = stat(path, &st) < 0 && !za_kzhost_pid(c->root, c->zone);
		if (!gone)
			usleep(20000);
	}
	if (!gone)
		return false;
	/*
	 * The supervisor clears the run directory and then records the new
	 * state: wait (briefly: a supervisor that died records nothing) for
	 * that too, so that a command right after this one, a boot say,
	 * does not find the zone still "down".
	 */
	for (int i = 0; i < 50; i++) {
		char err[256];
		if (!zs_state_settling(zs_zone_state(c->root, c->zone, err,
						     sizeof(err))))
			break;
		usleep(20000);
	}
	return true;
}

static int start_kzhost(struct za_ctx *c, bool ready, const char *bootargs)
{
	char kzhost[ZS_PATH_MAX], logpath[ZS_PATH_MAX], err[512];
	int pipefd[2];

	if (za_kzhost_path(kzhost, sizeof(kzhost))) {
		za_err(c, "cannot find the kzhost program beside zoneadm");
		return 1;
	}
	if (zs_root_init(c->root, err, sizeof(err)) ||
	    zs_path(logpath, sizeof(logpath), c->root, "log/%s.log", c->zone)) {
		za_err(c, "%s", err);
		return 1;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		za_err(c, "pipe: %s", strerror(errno));
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		za_err(c, "fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		/*
		 * Daemon: own session, no terminal, output to the zone's log,
		 * the notify pipe as fd 3 and nothing else.  Whatever else we
		 * inherited (our lock; a pipe that make, expect or ssh hand
		 * down and read to its end) must not live on in the daemon,
		 * or whoever waits for that end waits as long as the zone runs.
		 */
		setsid();
		int devnull = open("/dev/null", O_RDWR);
		int log = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0640);
		int notify = fcntl(pipefd[1], F_DUPFD_CLOEXEC, 10);
		if (devnull < 0 || log < 0 || notify < 0)
			_exit(127);
		dup2(devnull, STDIN_FILENO);
		dup2(log, STDOUT_FILENO);
		dup2(log, STDERR_FILENO);
		if (dup2(notify, 3) != 3)	/* the copy is without O_CLOEXEC */
			_exit(127);
		close_range(4, ~0U, 0);
		char *args[16];
		int n = 0;
		args[n++] = kzhost;
		args[n++] = "-R";
		args[n++] = (char *)c->root;
		args[n++] = "-z";
		args[n++] = (char *)c->zone;
		args[n++] = "--notify-fd";
		args[n++] = "3";
		if (ready)
			args[n++] = "--ready";
		if (bootargs) {
			args[n++] = "--bootargs";
			args[n++] = (char *)bootargs;
		}
		args[n] = NULL;
		/* A second fork: the daemon is not our child to reap. */
		pid_t d = fork();
		if (d != 0)
			_exit(d < 0 ? 127 : 0);
		execv(kzhost, args);
		dprintf(STDERR_FILENO, "zoneadm: exec %s: %s\n", kzhost,
			strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	waitpid(pid, NULL, 0);

	char line[600];
	size_t got = 0;
	long end = now_ms() + BOOT_TIMEOUT_MS;
	while (got + 1 < sizeof(line)) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		long left = end - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			close(pipefd[0]);
			za_err(c, "kzhost did not report within %d s; see %s",
			       BOOT_TIMEOUT_MS / 1000, logpath);
			return 1;
		}
		ssize_t r = read(pipefd[0], line + got, sizeof(line) - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (memchr(line, '\n', got))
			break;
	}
	close(pipefd[0]);
	line[got] = 0;
	line[strcspn(line, "\n")] = 0;
	if (strcmp(line, "ok") == 0)
		return 0;
	if (strncmp(line, "error ", 6) == 0)
		za_err(c, "%s failed: %s", ready ? "ready" : "boot", line + 6);
	else
		za_err(c, "kzhost ended before the zone came up; see %s",
		       logpath);
	return 1;
}

/* Join argv[first..] with spaces: boot arguments after "--". */
static char *join_args(int argc, char **argv, int first)
{
	size_t len = 1;
	for (int i = first; i < argc; i++)
		len += strlen(argv[i]) + 1;
	char *s = calloc(1, len);
	if (!s)
		return NULL;
	for (int i = first; i < argc; i++) {
		if (i > first)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

static int verify_for_boot(struct za_ctx *c)
{
	struct zone_config *cfg;
	char err[512], path[ZS_PATH_MAX];
	struct stat st;
	if (zcfg_load(c->root, c->zone, &cfg, err, sizeof(err))) {
		za_err(c, "%s", err);
		return 1;
	}
	int rc = zcfg_verify(cfg, err, sizeof(err));
	if (rc) {
		zcfg_free(cfg);
		za_err(c, "configuration does not verify: %s", err);
		return 1;
	}
	rc = za_check_host_fit(c, cfg);
	zcfg_free(cfg);
	if (rc)
		return 1;
	if (zs_path(path, sizeof(path), c->root, "zones/%s/boot/kernel",
		    c->zone) || stat(path, &st) < 0) {
		za_err(c, "no kernel installed (%s); reinstall the zone", path);
		return 1;
	}
	return 0;
}

int za_boot(struct za_ctx *c, int argc, char **argv)
{
	int opt;
	/* -R belongs to suspend/resume (resume from the suspend image). */
	while ((opt = getopt(argc, argv, "+")) != -1)
		return za_usage(za_find("boot"));
	if (!za_state_in(c, "boot", 2, st_bootable))
		return 1;
	if (c->entry.state == ZS_READY) {
		char err[256];
		if (optind < argc) {
			za_err(c, "boot arguments cannot be given to a zone "
				  "that is already ready; halt it first");
			return 1;
		}
		if (ctl_request(c->root, c->zone, "boot", NULL, 0, err,
				sizeof(err))) {
			za_err(c, "boot failed: %s", err);
			return 1;
		}
		return 0;
	}
	if (verify_for_boot(c))
		return 1;
	char *bootargs = NULL;
	if (optind < argc) {
		bootargs = join_args(argc, argv, optind);
		if (!bootargs) {
			za_err(c, "out of memory");
			return 1;
		}
	}
	int status = start_kzhost(c, false, bootargs);
	free(bootargs);
	return status;
}

int za_ready(struct za_ctx *c, int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return za_usage(za_find("ready"));
	if (!za_state_in(c, "ready", 1, st_readyable))
		return 1;
	if (verify_for_boot(c))
		return 1;
	return start_kzhost(c, true, NULL);
}

static int halt_zone(struct za_ctx *c)
{
	char err[256];
	/* down: on its way out; kzhost's supervisor makes it installed. */
	(void)zs_set_state(c->root, c->zone, ZS_DOWN, err, sizeof(err));
	int rc = ctl_request(c->root, c->zone, "halt", NULL, 0, err, sizeof(err));
	if (rc && rc != -EREMOTEIO) {
		/* No control socket: stop the VM process itself. */
		int pid = za_kzhost_pid(c->root, c->zone);
		if (pid)
			kill(pid, SIGTERM);
	} else if (rc) {
		za_err(c, "halt failed: %s", err);
		return 1;
	}
	if (!wait_gone(c, HALT_TIMEOUT_MS)) {
		int pid = za_kzhost_pid(c->root, c->zone);
		if (pid)
			kill(pid, SIGKILL);
		if (!wait_gone(c, 5000)) {
			za_err(c, "kzhost did not stop within %d s",
			       HALT_TIMEOUT_MS / 1000);
			return 1;
		}
	}
	return 0;
}

int za_halt(struct za_ctx *c, int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return za_usage(za_find("halt"));
	if (!za_state_in(c, "halt", 3, st_up))
		return 1;
	return halt_zone(c);
}

int za_reboot(struct za_ctx *c, int argc, char **argv)
{
	char err[256];
	(void)argv;
	if (argc > 1)
		return za_usage(za_find("reboot"));
	if (!za_state_in(c, "reboot", 3, st_up))
		return 1;
	if (ctl_request(c->root, c->zone, "reboot", NULL, 0, err, sizeof(err))) {
		za_err(c, "reboot failed: %s", err);
		return 1;
	}
	return 0;
}

int za_shutdown(struct za_ctx *c, int argc, char **argv)
{
	bool reboot = false;
	long timeout_s = 60;
	char err[256], *end;
	int opt;
	while ((opt = getopt(argc, argv, "rt:")) != -1) {
		switch (opt) {
		case 'r': reboot = true; break;
		case 't':
			timeout_s = strtol(optarg, &end, 10);
			if (*end || timeout_s < 0 || timeout_s > 86400) {
				za_err(c, "-t %s: need seconds (0 to 86400)",
				       optarg);
				return 2;
			}
			break;
		default: return za_usage(za_find("shutdown"));
		}
	}
	if (optind < argc)
		return za_usage(za_find("shutdown"));
	if (!za_state_in(c, "shut down", 1, st_running))
		return 1;
	if (zs_set_state(c->root, c->zone, ZS_SHUTTING_DOWN, err, sizeof(err))) {
		za_err(c, "%s", err);
		return 1;
	}
	if (ctl_request(c->root, c->zone, "shutdown", NULL, 0, err,
			sizeof(err))) {
		za_err(c, "shutdown failed: %s", err);
		(void)zs_set_state(c->root, c->zone, ZS_RUNNING, err, sizeof(err));
		return 1;
	}
	if (!wait_gone(c, (int)timeout_s * 1000)) {
		za_err(c, "guest did not shut down within %ld s; halting",
		       timeout_s);
		if (halt_zone(c))
			return 1;
	}
	c->entry.state = ZS_INSTALLED;
	if (!reboot)
		return 0;
	if (verify_for_boot(c))
		return 1;
	return start_kzhost(c, false, NULL);
}
