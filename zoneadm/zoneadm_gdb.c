/*
 * zoneadm gdb: attach gdb to a running zone.
 *
 * Without -p, this process is the pipe gdb talks through
 * (`target remote | zoneadm -z Z gdb`): stdin and stdout are bridged to
 * the zone's ROOT/run/ZONE/gdb.sock, which kzhost serves.  No port is
 * opened.  With -p, kzhost is asked (control verb gdb-listen) to listen
 * on 127.0.0.1:PORT, or ADDR:PORT, and this command returns at once.
 *
 * Either way the stub in kzhost decides who may attach (one debugger at a
 * time); asking kzhost first only makes the refusal a plain message here.
 */
#include "ctl.h"
#include "store.h"
#include "zoneadm_impl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const enum zone_state st_running[] = { ZS_RUNNING, ZS_READY };

/* Who holds the zone's debugger seat, from kzhost's status ("" if none). */
static int holder(struct za_ctx *c, char *who, size_t len)
{
	char reply[CTL_LINE_MAX], err[256];
	who[0] = 0;
	int rc = ctl_request(c->root, c->zone, "status", reply, sizeof(reply),
			     err, sizeof(err));
	if (rc) {
		za_err(c, "cannot reach the zone's kzhost: %s", err);
		return rc;
	}
	for (char *save = NULL, *l = strtok_r(reply, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save))
		if (strncmp(l, "debugger ", 9) == 0)
			snprintf(who, len, "%s", l + 9);
	return 0;
}

/* Copy stdin to the socket and the socket to stdout until either ends. */
static int bridge(struct za_ctx *c, int sock)
{
	static char buf[65536];
	struct pollfd p[2] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = sock, .events = POLLIN },
	};
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			za_err(c, "gdb: poll: %s", strerror(errno));
			return 1;
		}
		if (p[1].revents) {
			ssize_t n = read(sock, buf, sizeof(buf));
			if (n <= 0)
				return 0;	/* kzhost ended the session */
			if (zs_write_all(STDOUT_FILENO, buf, (size_t)n))
				return 0;	/* gdb is gone */
		}
		if (p[0].revents) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				/* gdb is gone: kzhost detaches when it sees EOF. */
				shutdown(sock, SHUT_WR);
				p[0].fd = -1;
				continue;
			}
			if (zs_write_all(sock, buf, (size_t)n)) {
				za_err(c, "gdb: the zone's stub went away");
				return 1;
			}
		}
	}
}

static int gdb_stdio(struct za_ctx *c)
{
	char who[64], path[ZS_PATH_MAX];
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	if (holder(c, who, sizeof(who)))
		return 1;
	if (who[0]) {
		za_err(c, "cannot attach gdb: %s already debugs the zone%s", who,
		       strcmp(who, "gdb") == 0 ? " (another gdb client)" : "");
		return 1;
	}
	if (zs_path(path, sizeof(path), c->root, "run/%s/gdb.sock", c->zone) ||
	    strlen(path) >= sizeof(a.sun_path)) {
		za_err(c, "gdb socket path too long");
		return 1;
	}
	strcpy(a.sun_path, path);
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&a, sizeof(a)) < 0) {
		za_err(c, "cannot attach gdb: %s: %s", path, strerror(errno));
		if (sock >= 0)
			close(sock);
		return 1;
	}
	int rc = bridge(c, sock);
	close(sock);
	return rc;
}

int za_gdb(struct za_ctx *c, int argc, char **argv)
{
	const char *addr = NULL;
	long port = 0;
	int opt;
	char *end;

	while ((opt = getopt(argc, argv, "p:a:")) != -1) {
		switch (opt) {
		case 'p':
			port = strtol(optarg, &end, 10);
			if (*end || port < 1 || port > 65535) {
				za_err(c, "gdb: -p %s: expected a port from 1 to "
				       "65535", optarg);
				return 2;
			}
			break;
		case 'a':
			addr = optarg;
			break;
		default:
			return za_usage(za_find("gdb"));
		}
	}
	if (optind < argc || (addr && !port))
		return za_usage(za_find("gdb"));
	if (!za_state_in(c, "attach gdb", 2, st_running))
		return 1;
	if (!port)
		return gdb_stdio(c);

	char line[128], reply[CTL_LINE_MAX], err[512];
	snprintf(line, sizeof(line), "gdb-listen %s %ld",
		 addr ? addr : "127.0.0.1", port);
	if (ctl_request(c->root, c->zone, line, reply, sizeof(reply), err,
			sizeof(err))) {
		za_err(c, "cannot listen for gdb: %s", err);
		return 1;
	}
	char *where = strstr(reply, "listening ");
	if (where) {
		where += 10;
		where[strcspn(where, "\n")] = 0;
	}
	printf("gdb listens on %s: target remote %s\n", where ? where : "?",
	       where ? where : "?");
	return 0;
}
