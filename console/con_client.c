/*
 * Console client connection (see con_client.h).  Library code: returns
 * -errno, never prints.
 */
#include "con_client.h"
#include "store.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int con_socket_path(char *buf, size_t len, const char *root,
		    const char *zone)
{
	return zs_path(buf, len, root, "run/%s/console.sock", zone);
}

int con_log_path(char *buf, size_t len, const char *root, const char *zone)
{
	return zs_path(buf, len, root, "log/%s.console", zone);
}

int con_client_send(int fd, uint8_t type, const void *buf, size_t len)
{
	uint8_t frame[CON_FRAME_MAX];
	const uint8_t *p = buf;
	do {
		size_t n = len > CON_PAYLOAD_MAX ? CON_PAYLOAD_MAX : len;
		size_t fl = con_frame_put(frame, sizeof(frame), type, p, n);
		int rc = zs_write_all(fd, frame, fl);
		if (rc)
			return rc;
		p += n;
		len -= n;
	} while (len);
	return 0;
}

int con_client_connect(const char *path, const struct con_hello *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t pl[9 + CON_NAME_MAX];
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	size_t n = con_hello_encode(pl, sizeof(pl), h);
	int rc = con_client_send(fd, CON_HELLO, pl, n);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}
