/*
 * kzdb: the kernel debugger from a host shell.
 *
 *   kzdb [-R root] -z ZONE [-e CMDS]   a client of the debugger inside the
 *                                      zone's kzhost (run/ZONE/kmdb.sock)
 *   kzdb [-k KERNEL] [-e CMDS] VMCORE [KERNEL]
 *                                      the same engine in this process, on
 *                                      a crash dump (no run control)
 *
 * Interactive use has libedit line editing and history; -e runs the
 * commands, prints only their output and leaves (a live zone resumes).
 * Library entry cmd_kzdb() so kzsh can run it as a builtin.
 */
#include "dbg.h"
#include "dbg_host.h"
#include "store.h"
#include "target.h"
#include "vmcore.h"

#include <editline/readline.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t got_int;

static void on_int(int sig)
{
	(void)sig;
	got_int = 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: kzdb [-R root] -z zone [-e commands]\n"
		"       kzdb [-k kernel] [-e commands] vmcore [kernel]\n");
}

/* ---- live: a client of kmdb.sock ---- */

static int connect_zone(const char *root, const char *zone)
{
	char path[ZS_PATH_MAX];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (zs_path(path, sizeof(path), root, "run/%s/kmdb.sock", zone) ||
	    strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "kzdb: zone '%s': socket path too long\n", zone);
		return -1;
	}
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		fprintf(stderr, "kzdb: zone '%s': %s\n", zone,
			e == ENOENT || e == ECONNREFUSED
				? "not running (no debugger socket)"
				: strerror(e));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * Copy a reply to stdout (when show) up to its end record; the status
 * line ("OK [0]> ", "QUIT", "BUSY") goes into status.  ^C while waiting
 * asks the server to stop the guest.  -1 when the server went away.
 */
static int read_reply(int fd, bool show, char *status, size_t len)
{
	char buf[4096];
	bool in_status = false;
	size_t sl = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (got_int) {
			char intr = DBG_SOCK_INTR;
			got_int = 0;
			(void)!send(fd, &intr, 1, MSG_NOSIGNAL);
		}
		int rc = poll(&p, 1, -1);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		for (ssize_t i = 0; i < n; i++) {
			if (in_status) {
				if (buf[i] == '\n') {
					status[sl] = 0;
					fflush(stdout);
					return 0;
				}
				if (sl < len - 1)
					status[sl++] = buf[i];
			} else if (buf[i] == DBG_SOCK_END) {
				in_status = true;
			} else if (show) {
				putchar(buf[i]);
			}
		}
		fflush(stdout);
	}
}

static int send_line(int fd, const char *line)
{
	size_t n = strlen(line);
	char *b = malloc(n + 2);
	if (!b)
		return -1;
	memcpy(b, line, n);
	b[n] = '\n';
	ssize_t w = send(fd, b, n + 1, MSG_NOSIGNAL);
	free(b);
	return w == (ssize_t)n + 1 ? 0 : -1;
}

static int live(const char *root, const char *zone, const char *cmds)
{
	char status[128];
	int fd = connect_zone(root, zone);
	if (fd < 0)
		return 1;
	struct sigaction sa = { .sa_handler = on_int };
	sigaction(SIGINT, &sa, NULL);
	if (read_reply(fd, !cmds, status, sizeof(status))) {
		fprintf(stderr, "kzdb: zone '%s': the debugger closed the "
			"connection\n", zone);
		close(fd);
		return 1;
	}
	if (strncmp(status, "OK", 2) != 0) {
		if (cmds)	/* the reason was not shown: show it now */
			fprintf(stderr, "kzdb: zone '%s': the debugger is "
				"busy\n", zone);
		close(fd);
		return 1;
	}
	int rc = 0;
	if (cmds) {
		/* A send the server no longer takes still reads what it
		 * left for us: why it let go, and its QUIT. */
		(void)send_line(fd, cmds);
		if (read_reply(fd, true, status, sizeof(status))) {
			fprintf(stderr, "kzdb: zone '%s': connection lost\n",
				zone);
			close(fd);
			return 1;
		}
		if (strcmp(status, "QUIT") != 0 &&
		    (send_line(fd, "$q") ||
		     read_reply(fd, true, status, sizeof(status))))
			rc = 1;
		close(fd);
		return rc;
	}
	using_history();
	for (;;) {
		char *line = readline(status + 3);
		if (!line) {
			line = strdup("$q");
			putchar('\n');
			if (!line)
				break;
		}
		if (*line)
			add_history(line);
		got_int = 0;
		(void)send_line(fd, line);	/* as above */
		int r = read_reply(fd, true, status, sizeof(status));
		free(line);
		if (r) {
			fprintf(stderr, "kzdb: zone '%s': connection lost\n",
				zone);
			rc = 1;
			break;
		}
		if (strcmp(status, "QUIT") == 0)
			break;
		if (strncmp(status, "OK", 2) != 0)
			break;
	}
	close(fd);
	return rc;
}

/* ---- postmortem: the engine in this process ---- */

static void out_stdout(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	fwrite(buf, 1, len, stdout);
}

static int postmortem(const char *core, const char *kernel, const char *cmds)
{
	struct kz_target t = { 0 };
	struct dbg *d;
	char err[512], name[600];
	if (vmcore_open(core, &t, err, sizeof(err))) {
		fprintf(stderr, "kzdb: %s: %s\n", core, err);
		return 1;
	}
	if (!kernel) {
		const char *k = vmcore_field(&t, "kernel");
		if (k && access(k, R_OK) == 0)
			kernel = k;
	}
	snprintf(name, sizeof(name), "crash dump %s", core);
	const struct dbg_opts o = { .target = &t, .out = out_stdout,
				    .kernel = kernel, .name = name,
				    .prog = "kzdb", .postmortem = true };
	if (dbg_create(&d, &o, err, sizeof(err))) {
		fprintf(stderr, "kzdb: %s: %s\n", kernel ? kernel : core, err);
		if (t.ops->close)
			t.ops->close(&t);
		return 1;
	}
	int rc = 0;
	if (cmds) {
		rc = dbg_exec(d, cmds) == DBG_ERR;
	} else {
		const char *why = vmcore_field(&t, "panic");
		dbg_enter(d, why && *why ? why : "crash dump", 0);
		using_history();
		for (;;) {
			char p[32];
			dbg_prompt(d, p, sizeof(p));
			char *line = readline(p);
			if (!line)
				break;
			if (*line)
				add_history(line);
			enum dbg_result r = dbg_exec(d, line);
			free(line);
			fflush(stdout);
			if (r == DBG_QUIT)
				break;
		}
	}
	fflush(stdout);
	dbg_destroy(d);
	if (t.ops->close)
		t.ops->close(&t);
	return rc;
}

int cmd_kzdb(int argc, char **argv)
{
	const char *root = NULL, *zone = NULL, *kernel = NULL, *cmds = NULL;
	int c;
	optind = 1;
	while ((c = getopt(argc, argv, "+R:z:k:e:h")) != -1) {
		switch (c) {
		case 'R': root = optarg; break;
		case 'z': zone = optarg; break;
		case 'k': kernel = optarg; break;
		case 'e': cmds = optarg; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (zone) {
		if (optind != argc || kernel) {
			usage();
			return 2;
		}
		return live(zs_root(root), zone, cmds);
	}
	if (argc - optind < 1 || argc - optind > 2) {
		usage();
		return 2;
	}
	if (argc - optind == 2) {
		if (kernel) {
			usage();
			return 2;
		}
		kernel = argv[optind + 1];
	}
	return postmortem(argv[optind], kernel, cmds);
}
