/*
 * gdbstub: the GDB remote serial protocol over the target API.
 *
 *   pkt.c     bytes <-> packets (no machine, no I/O)
 *   regs.c    the register table: target description XML and g/G layout
 *   cmd.c     the command table; the only file that calls the target
 *   server.c  sockets: a Unix listener (gdb.sock), an on-demand TCP
 *             listener, one client at a time, the serving loop
 *
 * A session belongs to one client.  vCPU N is thread N+1 named "CPU N";
 * memory addresses are guest-virtual, through the selected vCPU's page
 * tables.  All vCPUs stop and resume together (all-stop mode).
 */
#ifndef KZ_GDBSTUB_H
#define KZ_GDBSTUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kz_target;
struct gdb_stub;
struct gdb_server;

/* What the embedding program (kzhost) adds; any member may be NULL. */
struct gdb_stub_hooks {
	/*
	 * A client connects: take the machine for gdb.  0, or -EBUSY with
	 * msg naming who holds it (the client is refused with that text).
	 */
	int (*attach)(void *ctx, char *msg, size_t msglen);
	/* The client is gone (detached, killed, vanished): let go. */
	void (*release)(void *ctx);
	/* 'k': the client asked to kill the machine. */
	void (*kill)(void *ctx);
	/*
	 * 'monitor LINE': run it and put its output (text) in out.  NULL:
	 * the stub's own few commands answer (monitor help).
	 */
	int (*monitor)(void *ctx, const char *line, char *out, size_t outlen);
	/* qOffsets: how far the running kernel sits from its link address. */
	int (*text_offset)(void *ctx, uint64_t *offset);
};

enum gdb_end {
	GDB_END_NONE,
	GDB_END_DETACH,		/* 'D' */
	GDB_END_KILL,		/* 'k' */
	GDB_END_GONE,		/* the client went away or wrote garbage forever */
	GDB_END_EXITED,		/* the machine powered off */
};

typedef int (*gdb_write_fn)(void *ctx, const void *buf, size_t len);

/* ---- cmd.c: one session ---- */

int gdb_stub_new(struct gdb_stub **out, struct kz_target *t,
		 const struct gdb_stub_hooks *h, void *hctx, gdb_write_fn w,
		 void *wctx) __attribute__((warn_unused_result));
void gdb_stub_free(struct gdb_stub *s);
/* Stop the machine for the new client and note where it stopped. */
int gdb_stub_attach(struct gdb_stub *s);
/* Bytes from the client; replies go out through the write function. */
void gdb_stub_input(struct gdb_stub *s, const uint8_t *buf, size_t len);
/* Resumed and waiting for the machine to stop? */
bool gdb_stub_running(const struct gdb_stub *s);
/* While running: wait up to timeout_ms for a stop and report it. */
void gdb_stub_poll(struct gdb_stub *s, int timeout_ms);
/* Has the session ended, and why. */
enum gdb_end gdb_stub_ended(const struct gdb_stub *s);
/* The client vanished: remove our breakpoints and let the machine run. */
void gdb_stub_drop(struct gdb_stub *s);

/*
 * A view of real for monitor commands: registers and memory read through,
 * writes and run control answer -ENOTSUP (they stay gdb's business, so
 * the debugger behind `monitor` cannot resume a machine gdb holds).
 */
void gdb_inspect_target(struct kz_target *view, struct kz_target *real);

/* ---- server.c: listeners ---- */

int gdb_server_new(struct gdb_server **out, struct kz_target *t,
		   const struct gdb_stub_hooks *h, void *hctx)
	__attribute__((warn_unused_result));
/* Listen on a Unix socket (mode 0600), served by a thread. */
int gdb_server_listen_unix(struct gdb_server *srv, const char *path,
			   char *err, size_t errlen);
/* Listen on TCP addr:port (addr NULL: 127.0.0.1), served by a thread. */
int gdb_server_listen_tcp(struct gdb_server *srv, const char *addr,
			  unsigned port, char *err, size_t errlen);
/* Where the TCP listener is, "" when there is none. */
void gdb_server_tcp_name(struct gdb_server *srv, char *buf, size_t len);
/* Close the listeners, end the session (as a detach), join the threads. */
void gdb_server_free(struct gdb_server *srv);
/* Serve one connected client on fd until the session ends. */
enum gdb_end gdb_serve_fd(struct kz_target *t, const struct gdb_stub_hooks *h,
			  void *hctx, int fd, const volatile bool *quit);

#endif
