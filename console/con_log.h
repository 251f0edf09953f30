/*
 * The console log, ROOT/log/ZONE.console, bounded in size: when the next
 * write would take it past max bytes it is renamed ZONE.console.1 (the
 * older ones shift up to .keep, the oldest goes) and a new one begun.
 * Rotation falls on a line boundary where a line fits.  Written only by
 * the console server's thread.
 */
#ifndef KZ_CONSOLE_CON_LOG_H
#define KZ_CONSOLE_CON_LOG_H

#include <stddef.h>
#include <stdint.h>

#define CON_LOG_MAX_DEFAULT (8ull << 20)
#define CON_LOG_KEEP_DEFAULT 3
#define CON_LOG_MIN 1024
#define CON_LOG_KEEP_MAX 99

struct con_log {
	int fd;
	char path[1024];
	uint64_t size;		/* of the current file */
	uint64_t max;
	unsigned keep;		/* rotated files kept */
	unsigned rotations;	/* since open, for tests and stats */
};

/* Open (append) path; max >= CON_LOG_MIN, keep 1..CON_LOG_KEEP_MAX. */
int con_log_open(struct con_log *l, const char *path, uint64_t max,
		 unsigned keep) __attribute__((warn_unused_result));

/* Append all of buf, rotating as needed.  Returns 0 or -errno. */
int con_log_write(struct con_log *l, const void *buf, size_t len);

void con_log_close(struct con_log *l);

/*
 * The last n lines of the log at path (and of its newest rotated file
 * when path alone holds fewer), at most max bytes, malloc'ed into *out.
 * Returns 0 (with *outlen possibly 0 when there is no log) or -errno.
 */
int con_log_tail(const char *path, unsigned n, size_t max, uint8_t **out,
		 size_t *outlen);

#endif
