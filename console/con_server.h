/*
 * The console server inside kzhost: owns the zone's console ring and log
 * and serves ROOT/run/ZONE/console.sock (protocol in con_proto.h) from a
 * thread of its own.
 *
 * Who calls what:
 *   - vCPU threads call con_server_output() with what the guest printed.
 *     It copies into the ring and wakes the server thread; it never
 *     waits for a client, the log or a socket.
 *   - kzhost calls con_server_host_msg() and con_server_state() when the
 *     zone changes (booting, halted, panicked, ...).
 *   - The server thread calls ops->input() with the holder's keystrokes
 *     and ops->brk() when the holder asks for a break.
 */
#ifndef KZ_CONSOLE_CON_SERVER_H
#define KZ_CONSOLE_CON_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct con_server;

struct con_server_ops {
	/* Offer bytes to the guest; returns how many it took. */
	size_t (*input)(void *ctx, const uint8_t *buf, size_t len);
	/* Break from the holder; write what to tell them into msg. */
	void (*brk)(void *ctx, char *msg, size_t len);
};

struct con_server_opts {
	const char *sock_path;	/* required */
	const char *log_path;	/* NULL: no log */
	size_t ring_size;	/* 0: CON_RING_DEFAULT */
	uint64_t log_max;	/* 0: CON_LOG_MAX_DEFAULT */
	unsigned log_keep;	/* 0: CON_LOG_KEEP_DEFAULT */
	int sndbuf;		/* socket send buffer per client; 0: 32 KiB */
};

struct con_server_stats {
	uint64_t output;	/* bytes the guest printed */
	uint64_t skipped;	/* bytes skipped for slow clients, in all */
	uint64_t log_lost;	/* bytes the log writer was lapped by */
	unsigned clients;
	unsigned log_rotations;
};

int con_server_create(struct con_server **out,
		      const struct con_server_opts *o,
		      const struct con_server_ops *ops, void *ctx, char *err,
		      size_t errlen) __attribute__((warn_unused_result));

/* Guest output (any thread; never blocks beyond a memcpy under a lock). */
void con_server_output(struct con_server *s, const void *buf, size_t len);

/* "[kzhost: MSG]" on a line of its own, in the stream and the log. */
void con_server_host_msg(struct con_server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The zone's state and auxiliary state (aux may be NULL or ""). */
void con_server_state(struct con_server *s, const char *state,
		      const char *aux);

void con_server_get_stats(struct con_server *s, struct con_server_stats *st);

/*
 * Stop: the log gets everything written so far, clients get up to a
 * second to take what is left, then the socket is closed and removed.
 */
void con_server_destroy(struct con_server *s);

/* "64K", "1M", "1048576" into bytes; 0 or -EINVAL. */
int con_size_parse(const char *s, uint64_t *out);

#endif
