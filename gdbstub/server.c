/*
 * Where gdb clients come from: a Unix socket (the zone's gdb.sock, mode
 * 0600, for `target remote | zoneadm -z Z gdb`) and, on demand, a TCP
 * listener.  Each listener has a thread that accepts; one session thread
 * serves the one client allowed at a time.  A client arriving while the
 * machine is taken (by another gdb client, or by the built-in debugger)
 * is answered "E.<who holds it>" to each packet it sends and then closed,
 * so gdb prints the reason instead of hanging.
 *
 * The serving loop: while the machine runs on gdb's behalf, wait for its
 * next event in short slices and look at the socket between them (for
 * 0x03); while it is stopped, wait on the socket.  A client that goes
 * away is a detach.  Touches the machine only through cmd.c.
 */
#include "gdbstub.h"
#include "store.h"
#include "pkt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define EVENT_SLICE_MS	20	/* Ctrl-C latency while the guest runs */
#define IDLE_SLICE_MS	200	/* how soon a stopped session sees quit */
#define REFUSE_MS	3000

struct gdb_server {
	struct kz_target *t;
	const struct gdb_stub_hooks *h;
	void *hctx;
	volatile bool quit;

	pthread_mutex_t lock;
	bool busy;		/* a session is being served */
	bool session_started;	/* session_tid to join */
	pthread_t session_tid;
	int client_fd;		/* the served client, -1 */

	int unix_fd, tcp_fd;
	bool unix_started, tcp_started;
	pthread_t unix_tid, tcp_tid;
	char tcp_name[80];
};

struct session_arg {
	struct gdb_server *srv;
	int fd;
};

static int write_all(void *ctx, const void *buf, size_t len)
{
	return zs_write_all(*(int *)ctx, buf, len);
}

/* Answer every packet with "E.msg" for a few seconds, then hang up. */
static void refuse(int fd, const char *msg)
{
	struct gdb_pkt *rx = malloc(sizeof(*rx));
	uint8_t out[600], in[512];
	char payload[300];
	struct timespec t0, now;
	if (!rx)
		return;
	snprintf(payload, sizeof(payload), "E.%s", msg);
	/* '#', '$' and '*' would break the frame: a message has no need. */
	for (char *c = payload; *c; c++)
		if (*c == '#' || *c == '$' || *c == '*' || *c == '}')
			*c = ' ';
	size_t flen = gdb_pkt_frame((const uint8_t *)payload, strlen(payload),
				    false, out, sizeof(out));
	gdb_pkt_init(rx);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (now.tv_sec - t0.tv_sec) * 1000 +
			  (now.tv_nsec - t0.tv_nsec) / 1000000;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (ms >= REFUSE_MS || poll(&p, 1, (int)(REFUSE_MS - ms)) <= 0)
			break;
		ssize_t n = read(fd, in, sizeof(in));
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (gdb_pkt_feed(rx, in[i]) != GDB_PKT_PACKET)
				continue;
			if (write_all(&fd, "+", 1) || write_all(&fd, out, flen))
				goto out;
		}
	}
out:
	free(rx);
}

enum gdb_end gdb_serve_fd(struct kz_target *t, const struct gdb_stub_hooks *h,
			  void *hctx, int fd, const volatile bool *quit)
{
	struct gdb_stub *s;
	char msg[256] = "";
	static const uint8_t none[1];
	uint8_t *buf;
	enum gdb_end end = GDB_END_GONE;

	if (h && h->attach && h->attach(hctx, msg, sizeof(msg))) {
		refuse(fd, msg[0] ? msg : "the machine is not available");
		return GDB_END_GONE;
	}
	buf = malloc(GDB_PKT_MAX);
	if (!buf || gdb_stub_new(&s, t, h, hctx, write_all, &fd)) {
		free(buf);
		refuse(fd, "out of memory");
		goto release;
	}
	if (gdb_stub_attach(s) == 0) {
		while (!*quit && gdb_stub_ended(s) == GDB_END_NONE) {
			int wait = IDLE_SLICE_MS;
			if (gdb_stub_running(s)) {
				gdb_stub_poll(s, EVENT_SLICE_MS);
				wait = 0;
			}
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int r = poll(&p, 1, wait);
			if (r < 0 && errno != EINTR)
				break;
			if (r <= 0)
				continue;
			ssize_t n = read(fd, buf, GDB_PKT_MAX);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;	/* the client is gone */
			gdb_stub_input(s, n ? buf : none, (size_t)n);
		}
	}
	end = gdb_stub_ended(s);
	/* Vanished, told to quit, or a broken pipe: as good as a detach. */
	if (end == GDB_END_NONE || end == GDB_END_GONE)
		gdb_stub_drop(s);
	gdb_stub_free(s);
	free(buf);
release:
	if (h && h->release)
		h->release(hctx);
	return end == GDB_END_NONE ? GDB_END_GONE : end;
}

static void *session_thread(void *arg)
{
	struct session_arg *a = arg;
	struct gdb_server *srv = a->srv;
	(void)gdb_serve_fd(srv->t, srv->h, srv->hctx, a->fd, &srv->quit);
	pthread_mutex_lock(&srv->lock);
	srv->client_fd = -1;
	srv->busy = false;
	pthread_mutex_unlock(&srv->lock);
	close(a->fd);
	free(a);
	return NULL;
}

static void take_client(struct gdb_server *srv, int fd)
{
	pthread_mutex_lock(&srv->lock);
	if (srv->busy || srv->quit) {
		pthread_mutex_unlock(&srv->lock);
		refuse(fd, srv->quit ? "the zone is going down"
				     : "another gdb client is attached; one at "
				       "a time");
		close(fd);
		return;
	}
	if (srv->session_started) {
		/* The last session is over (busy is false): reap it. */
		pthread_join(srv->session_tid, NULL);
		srv->session_started = false;
	}
	struct session_arg *a = malloc(sizeof(*a));
	if (!a) {
		pthread_mutex_unlock(&srv->lock);
		close(fd);
		return;
	}
	a->srv = srv;
	a->fd = fd;
	srv->busy = true;
	srv->client_fd = fd;
	if (pthread_create(&srv->session_tid, NULL, session_thread, a)) {
		srv->busy = false;
		srv->client_fd = -1;
		pthread_mutex_unlock(&srv->lock);
		free(a);
		close(fd);
		return;
	}
	srv->session_started = true;
	pthread_mutex_unlock(&srv->lock);
}

struct listen_arg {
	struct gdb_server *srv;
	int fd;
	bool tcp;
};

static void *listen_thread(void *arg)
{
	struct gdb_server *srv = ((struct listen_arg *)arg)->srv;
	int lfd = ((struct listen_arg *)arg)->fd;
	bool tcp = ((struct listen_arg *)arg)->tcp;
	free(arg);
	while (!srv->quit) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;	/* shut down by gdb_server_free */
		}
		if (tcp) {
			int one = 1;	/* replies are small and wanted now */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
		}
		take_client(srv, fd);
	}
	return NULL;
}

static int start_listener(struct gdb_server *srv, int fd, bool tcp,
			  pthread_t *tid, char *err, size_t errlen)
{
	struct listen_arg *a = malloc(sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*a = (struct listen_arg){ srv, fd, tcp };
	int rc = pthread_create(tid, NULL, listen_thread, a);
	if (rc) {
		free(a);
		snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
		return -rc;
	}
	return 0;
}

int gdb_server_new(struct gdb_server **out, struct kz_target *t,
		   const struct gdb_stub_hooks *h, void *hctx)
{
	struct gdb_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->t = t;
	srv->h = h;
	srv->hctx = hctx;
	srv->unix_fd = srv->tcp_fd = srv->client_fd = -1;
	pthread_mutex_init(&srv->lock, NULL);
	*out = srv;
	return 0;
}

int gdb_server_listen_unix(struct gdb_server *srv, const char *path,
			   char *err, size_t errlen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int rc;
	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a socket", path);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	unlink(path);
	mode_t old = umask(0177);	/* root only: 0600 */
	rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (rc < 0 || listen(fd, 4) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	rc = start_listener(srv, fd, false, &srv->unix_tid, err, errlen);
	if (rc) {
		close(fd);
		return rc;
	}
	srv->unix_fd = fd;
	srv->unix_started = true;
	return 0;
}

int gdb_server_listen_tcp(struct gdb_server *srv, const char *addr,
			  unsigned port, char *err, size_t errlen)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int rc, one = 1;
	if (!addr || !*addr)
		addr = "127.0.0.1";
	if (port == 0 || port > 65535) {
		snprintf(err, errlen, "port %u: expected 1 to 65535", port);
		return -EINVAL;
	}
	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
		snprintf(err, errlen, "'%s' is not an IPv4 address", addr);
		return -EINVAL;
	}
	pthread_mutex_lock(&srv->lock);
	bool have = srv->tcp_started;
	pthread_mutex_unlock(&srv->lock);
	if (have) {
		snprintf(err, errlen, "gdb already listens on %s",
			 srv->tcp_name);
		return -EBUSY;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 4) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s:%u: %s", addr, port, strerror(errno));
		close(fd);
		return rc;
	}
	rc = start_listener(srv, fd, true, &srv->tcp_tid, err, errlen);
	if (rc) {
		close(fd);
		return rc;
	}
	pthread_mutex_lock(&srv->lock);
	srv->tcp_fd = fd;
	srv->tcp_started = true;
	snprintf(srv->tcp_name, sizeof(srv->tcp_name), "%s:%u", addr, port);
	pthread_mutex_unlock(&srv->lock);
	return 0;
}

void gdb_server_tcp_name(struct gdb_server *srv, char *buf, size_t len)
{
	pthread_mutex_lock(&srv->lock);
	snprintf(buf, len, "%s", srv->tcp_started ? srv->tcp_name : "");
	pthread_mutex_unlock(&srv->lock);
}

void gdb_server_free(struct gdb_server *srv)
{
	if (!srv)
		return;
	pthread_mutex_lock(&srv->lock);
	srv->quit = true;
	if (srv->client_fd >= 0)
		shutdown(srv->client_fd, SHUT_RDWR);
	pthread_mutex_unlock(&srv->lock);
	if (srv->unix_fd >= 0)
		shutdown(srv->unix_fd, SHUT_RDWR);
	if (srv->tcp_fd >= 0)
		shutdown(srv->tcp_fd, SHUT_RDWR);
	if (srv->unix_started)
		pthread_join(srv->unix_tid, NULL);
	if (srv->tcp_started)
		pthread_join(srv->tcp_tid, NULL);
	if (srv->session_started)
		pthread_join(srv->session_tid, NULL);
	if (srv->unix_fd >= 0)
		close(srv->unix_fd);
	if (srv->tcp_fd >= 0)
		close(srv->tcp_fd);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
