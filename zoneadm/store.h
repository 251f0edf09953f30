/*
 * The zone store: where zones live on the host and the index of them.
 *
 *   ROOT/etc/index        name:state:zonepath:uuid:brand, one line a zone
 *   ROOT/etc/ZONE.cfg     configuration (zonecfg export syntax), mode 0600
 *   ROOT/etc/ZONE.lock    held (flock) by the command working on ZONE
 *   ROOT/zones/ZONE/      zonepath
 *   ROOT/run/ZONE/        ctl.sock, console.sock, gdb.sock, kzhost.pid
 *   ROOT/log/ZONE.console console log
 *   ROOT/crash/ZONE/      crash dumps
 *
 * ROOT is -R DIR, else $KZ_ROOT, else /var/lib/kzones.  Every write that
 * must not be half done goes through zs_write_atomic (temp, fsync,
 * rename, fsync of the directory).  Library code: returns -errno and
 * fills err, never prints or exits.
 */
#ifndef KZ_ZONEADM_STORE_H
#define KZ_ZONEADM_STORE_H

#include <stdbool.h>
#include <stddef.h>

#define ZS_DEFAULT_ROOT "/var/lib/kzones"
#define ZS_NAME_MAX 63
#define ZS_PATH_MAX 1024

enum zone_state {
	ZS_CONFIGURED,
	ZS_INCOMPLETE,
	ZS_INSTALLED,
	ZS_READY,
	ZS_RUNNING,
	ZS_SHUTTING_DOWN,
	ZS_DOWN,
	ZS_UNAVAILABLE,
	ZS_NSTATES
};

struct zone_entry {
	char name[ZS_NAME_MAX + 1];
	enum zone_state state;
	char zonepath[ZS_PATH_MAX];
	char uuid[37];
	char brand[32];
};

struct zone_index {
	struct zone_entry *zones;
	size_t n;
};

/* The root in use: opt (from -R) if given, else $KZ_ROOT, else the default. */
const char *zs_root(const char *opt);
/* Create ROOT/{etc,zones,run,log,crash} as needed. */
int zs_root_init(const char *root, char *err, size_t errlen);

const char *zs_state_name(enum zone_state s);
int zs_state_parse(const char *s, enum zone_state *out);

/*
 * A zone name: 1-63 characters, starting with a letter or digit, then
 * letters, digits, '-', '_', '.'; "global" is reserved.
 */
bool zs_name_valid(const char *name, char *err, size_t errlen);

/* snprintf of ROOT/<rel>; -ENAMETOOLONG when it does not fit. */
int zs_path(char *buf, size_t len, const char *root, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * All of buf to fd (a socket, pipe or file), through EINTR and short
 * writes; a socket whose peer is gone gives -EPIPE, not SIGPIPE.
 * 0 or -errno.
 */
int zs_write_all(int fd, const void *buf, size_t len);

/* Write data to path via temp file, fsync, rename; mode for the new file. */
int zs_write_atomic(const char *path, const void *data, size_t len,
		    unsigned mode);

int zs_index_read(const char *root, struct zone_index *idx, char *err,
		  size_t errlen) __attribute__((warn_unused_result));
int zs_index_write(const char *root, const struct zone_index *idx, char *err,
		   size_t errlen) __attribute__((warn_unused_result));
void zs_index_free(struct zone_index *idx);
struct zone_entry *zs_index_find(struct zone_index *idx, const char *name);
int zs_index_add(struct zone_index *idx, const struct zone_entry *e);
int zs_index_remove(struct zone_index *idx, const char *name);

/*
 * Exclusive lock on the index for a read-modify-write (zs_index_read,
 * change, zs_index_write); release with zs_unlock.
 */
int zs_index_lock(const char *root, char *err, size_t errlen);

/*
 * Update one zone's index line under the index lock (read, modify,
 * write).  fn may change *e; returning non-zero aborts without writing.
 */
typedef int (*zs_update_fn)(struct zone_entry *e, void *arg);
int zs_index_update(const char *root, const char *name, zs_update_fn fn,
		    void *arg, char *err, size_t errlen);
/* A zone's state in the index; with err filled, -ENOENT for no such zone
 * and -EIO when the index cannot be read. */
int zs_zone_state(const char *root, const char *name, char *err,
		  size_t errlen);
/*
 * Is st (a zs_zone_state result) one a zone leaves by itself once its
 * kzhost has gone?  The supervisor records the end only after the VM is
 * torn down, so a caller that saw the console or run directory go waits
 * while this holds.
 */
bool zs_state_settling(int st);
/* Set a zone's state in the index (read-modify-write under the lock). */
int zs_set_state(const char *root, const char *name, enum zone_state s,
		 char *err, size_t errlen);

/*
 * The per-zone lock that serialises commands on one zone.  Waits up to
 * wait_ms (0: not at all) and on failure says in err who holds it.
 * Returns an fd to pass to zs_unlock, or -errno.
 */
int zs_lock_zone(const char *root, const char *zone, const char *what,
		 int wait_ms, char *err, size_t errlen);
void zs_unlock(int fd);

/*
 * Remove ROOT/run/ZONE and everything in it (sockets, pid files): what a
 * zone's kzhost leaves when it ends, however it ends.
 */
void zs_run_dir_clear(const char *root, const char *zone);

/* A fresh random UUID string (version 4). */
void zs_uuid(char out[37]);

#endif
