/*
 * The debugger inside kzhost: one engine session per zone, entered from
 * the console (~# on zlogin -C), by a panic when the zone was booted with
 * -k, or by kzdb -z over ROOT/run/ZONE/kmdb.sock.  One thread of its own
 * runs every command, so the console server, the control socket and the
 * vCPU threads never wait on the debugger.
 *
 * kzhost supplies what this file must not do itself (vmm/zonehost.c):
 * claiming the machine for one debugger at a time, releasing it (which
 * removes breakpoints and resumes), and writing to the console.
 */
#ifndef KZ_DEBUG_DBG_HOST_H
#define KZ_DEBUG_DBG_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kz_target;
struct dbg_host;

struct dbg_host_ops {
	/* Take the machine for "kmdb"; -EBUSY with the holder's name. */
	int (*claim)(void *ctx, char *holder, size_t len);
	void (*release)(void *ctx);
	/* Bytes for every console client (and the log). */
	void (*console_out)(void *ctx, const char *buf, size_t len);
	/* Log a line to kzhost's log. */
	void (*log)(void *ctx, const char *msg);
	/*
	 * Console keys that reached the debugger as it let the console go:
	 * for the guest's console (NULL: they are dropped).
	 */
	void (*console_in)(void *ctx, const uint8_t *buf, size_t len);
	/* Whether this boot of the guest has panicked (NULL: never). */
	bool (*panicked)(void *ctx);
};

struct dbg_host_opts {
	struct kz_target *target;
	const char *kernel;	/* for symbols; may be NULL or missing */
	const char *zone;
	const char *sock_path;	/* kmdb.sock; NULL: no kzdb -z */
	const struct dbg_host_ops *ops;
	void *ctx;
};

/* Protocol on kmdb.sock (kzdb.c is the other end). */
#define DBG_SOCK_END	'\0'	/* ends a reply; a status line follows */
#define DBG_SOCK_INTR	'\003'	/* client to server: stop the guest */

int dbg_host_create(struct dbg_host **out, const struct dbg_host_opts *o,
		    char *err, size_t errlen) __attribute__((warn_unused_result));
void dbg_host_destroy(struct dbg_host *h);

/* ~# from the console holder; what to tell them goes into msg. */
void dbg_host_break(struct dbg_host *h, char *msg, size_t len);
/* Console keystrokes: true when the debugger holds the console and took them. */
bool dbg_host_console_input(struct dbg_host *h, const uint8_t *buf,
			    size_t len);
/*
 * The guest panicked and the debugger is armed (boot -k).  Returns once
 * the debugger holds the machine, or has said on the console why it
 * cannot (another debugger holds it).
 */
void dbg_host_panic(struct dbg_host *h);

/*
 * The machine was reset (a reboot), before its vCPUs start: a debugger
 * holding it lets it go, before the new boot can hit a breakpoint of its.
 */
void dbg_host_rebooted(struct dbg_host *h);
#endif
