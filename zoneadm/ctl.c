/*
 * Both ends of the control protocol (see ctl.h): framing and the socket
 * plumbing.  What a verb does is kzhost's business, not this file's.
 */
#include "ctl.h"
#include "store.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int ctl_socket_path(char *buf, size_t len, const char *root, const char *zone)
{
	return zs_path(buf, len, root, "run/%s/ctl.sock", zone);
}

static int fill_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	strcpy(a->sun_path, path);
	return 0;
}

int ctl_listen(const char *path)
{
	struct sockaddr_un a;
	int rc = fill_addr(&a, path);
	if (rc)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	/* Only root (the owner) may talk to kzhost. */
	mode_t old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (rc < 0 || listen(fd, 16) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int ctl_read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	size_t got = 0;
	while (got + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, timeout_ms);
		if (n == 0)
			return -ETIMEDOUT;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ssize_t r = read(fd, buf + got, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return got ? -EPROTO : -ECONNRESET;
		if (buf[got] == '\n') {
			buf[got] = 0;
			return (int)got;
		}
		got++;
	}
	return -EMSGSIZE;
}

int ctl_request(const char *root, const char *zone, const char *line,
		char *reply, size_t replylen, char *err, size_t errlen)
{
	char path[ZS_PATH_MAX];
	struct sockaddr_un a;
	char buf[CTL_LINE_MAX];
	size_t used = 0;
	int rc;

	if (reply && replylen)
		reply[0] = 0;
	if (ctl_socket_path(path, sizeof(path), root, zone) ||
	    fill_addr(&a, path)) {
		snprintf(err, errlen, "control socket path too long");
		return -ENAMETOOLONG;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "no kzhost answers on %s: %s", path,
			 strerror(errno));
		close(fd);
		return rc;
	}
	size_t n = strlen(line);
	if (write(fd, line, n) != (ssize_t)n || write(fd, "\n", 1) != 1) {
		rc = -errno;
		snprintf(err, errlen, "writing to kzhost: %s", strerror(errno));
		close(fd);
		return rc;
	}
	for (;;) {
		int len = ctl_read_line(fd, buf, sizeof(buf), 30000);
		if (len < 0) {
			snprintf(err, errlen, "reading from kzhost: %s",
				 strerror(-len));
			close(fd);
			return len;
		}
		if (strncmp(buf, "ok", 2) == 0 && (buf[2] == 0 || buf[2] == ' ')) {
			rc = 0;
			break;
		}
		if (strncmp(buf, "error ", 6) == 0) {
			snprintf(err, errlen, "%s", buf + 6);
			rc = -EREMOTEIO;
			break;
		}
		if (reply && used + (size_t)len + 2 <= replylen) {
			memcpy(reply + used, buf, (size_t)len);
			used += (size_t)len;
			reply[used++] = '\n';
			reply[used] = 0;
		}
	}
	close(fd);
	return rc;
}
