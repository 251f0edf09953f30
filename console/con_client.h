/*
 * The client end of console.sock, shared by zlogin -C and the
 * multiplexer: connect and say hello, send frames, and find a zone's
 * socket.  Reading goes through con_parser (con_proto.h).
 */
#ifndef KZ_CONSOLE_CON_CLIENT_H
#define KZ_CONSOLE_CON_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "con_proto.h"

/* ROOT/run/ZONE/console.sock and ROOT/log/ZONE.console. */
int con_socket_path(char *buf, size_t len, const char *root,
		    const char *zone);
int con_log_path(char *buf, size_t len, const char *root, const char *zone);

/*
 * Connect to the console socket at path and send HELLO.  Returns a
 * connected fd (blocking, close-on-exec) or -errno; -ENOENT or
 * -ECONNREFUSED mean nobody serves the console.
 */
int con_client_connect(const char *path, const struct con_hello *h);

/*
 * Send a frame, all of it (INPUT longer than a frame goes as several).
 * Returns 0 or -errno.
 */
int con_client_send(int fd, uint8_t type, const void *buf, size_t len);

#endif
