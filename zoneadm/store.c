/*
 * The zone store (see store.h): paths under the root, the index file,
 * atomic writes and the locks that serialise commands.
 *
 * The index is small (one line a zone) and always rewritten whole through
 * a temp file and rename, so a reader never sees half of it; writers
 * serialise on ROOT/etc/.index.lock.  Per-zone locks are flock()s on
 * ROOT/etc/ZONE.lock, whose content names the holder so a second command
 * can say who it is waiting for.
 */
#include "store.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const state_names[ZS_NSTATES] = {
	[ZS_CONFIGURED] = "configured",
	[ZS_INCOMPLETE] = "incomplete",
	[ZS_INSTALLED] = "installed",
	[ZS_READY] = "ready",
	[ZS_RUNNING] = "running",
	[ZS_SHUTTING_DOWN] = "shutting_down",
	[ZS_DOWN] = "down",
	[ZS_UNAVAILABLE] = "unavailable",
};

const char *zs_root(const char *opt)
{
	if (opt && *opt)
		return opt;
	const char *env = getenv("KZ_ROOT");
	return env && *env ? env : ZS_DEFAULT_ROOT;
}

const char *zs_state_name(enum zone_state s)
{
	return (unsigned)s < ZS_NSTATES ? state_names[s] : "unknown";
}

int zs_state_parse(const char *s, enum zone_state *out)
{
	for (unsigned i = 0; i < ZS_NSTATES; i++) {
		if (strcmp(s, state_names[i]) == 0) {
			*out = (enum zone_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool zs_name_valid(const char *name, char *err, size_t errlen)
{
	size_t len = strlen(name);
	if (len == 0 || len > ZS_NAME_MAX) {
		snprintf(err, errlen, "zone name '%s' must be 1 to %d characters",
			 name, ZS_NAME_MAX);
		return false;
	}
	if (!isalnum((unsigned char)name[0])) {
		snprintf(err, errlen,
			 "zone name '%s' must begin with a letter or digit",
			 name);
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.') {
			snprintf(err, errlen,
				 "zone name '%s' has '%c': only letters, "
				 "digits, '-', '_' and '.' are allowed",
				 name, c);
			return false;
		}
	}
	if (strcmp(name, "global") == 0) {
		snprintf(err, errlen, "zone name 'global' is reserved");
		return false;
	}
	return true;
}

int zs_path(char *buf, size_t len, const char *root, const char *fmt, ...)
{
	int n = snprintf(buf, len, "%s/", root);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, len - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= len - (size_t)n)
		return -ENAMETOOLONG;
	return 0;
}

int zs_root_init(const char *root, char *err, size_t errlen)
{
	static const char *const dirs[] = { "", "etc", "zones", "run", "log",
					    "crash" };
	char path[ZS_PATH_MAX];
	for (unsigned i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (zs_path(path, sizeof(path), root, "%s", dirs[i]))
			goto toolong;
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			int e = errno;
			snprintf(err, errlen, "cannot create %s: %s", path,
				 strerror(e));
			return -e;
		}
	}
	return 0;
toolong:
	snprintf(err, errlen, "root path %s is too long", root);
	return -ENAMETOOLONG;
}

static int fsync_dir_of(const char *path)
{
	char dir[ZS_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof(dir), ".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int zs_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int zs_write_atomic(const char *path, const void *data, size_t len,
		    unsigned mode)
{
	char tmp[ZS_PATH_MAX + 32];
	const char *p = data;
	int rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	/* The mode must hold even when the umask is loose or the file existed. */
	if (fchmod(fd, mode) < 0)
		goto fail_errno;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail_errno;
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail_errno;
	if (close(fd) < 0) {
		fd = -1;
		goto fail_errno;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail_errno;
	return fsync_dir_of(path);
fail_errno:
	rc = -errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

void zs_index_free(struct zone_index *idx)
{
	free(idx->zones);
	idx->zones = NULL;
	idx->n = 0;
}

/* Split one index line "name:state:zonepath:uuid:brand" in place. */
static int parse_line(char *line, struct zone_entry *e)
{
	char *f[5];
	unsigned n = 0;
	char *p = line;
	while (n < 5) {
		f[n++] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = 0;
	}
	if (n != 5 || p)
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	if (strlen(f[0]) > ZS_NAME_MAX || strlen(f[2]) >= sizeof(e->zonepath) ||
	    strlen(f[3]) >= sizeof(e->uuid) || strlen(f[4]) >= sizeof(e->brand))
		return -EINVAL;
	if (zs_state_parse(f[1], &e->state))
		return -EINVAL;
	strcpy(e->name, f[0]);
	strcpy(e->zonepath, f[2]);
	strcpy(e->uuid, f[3]);
	strcpy(e->brand, f[4]);
	return 0;
}

int zs_index_read(const char *root, struct zone_index *idx, char *err,
		  size_t errlen)
{
	char path[ZS_PATH_MAX];
	char line[ZS_PATH_MAX + 256];
	unsigned lineno = 0;

	idx->zones = NULL;
	idx->n = 0;
	if (zs_path(path, sizeof(path), root, "etc/index")) {
		snprintf(err, errlen, "root path %s is too long", root);
		return -ENAMETOOLONG;
	}
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;	/* no zones yet */
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\n")] = 0;
		if (line[0] == '#' || line[0] == 0)
			continue;
		struct zone_entry e;
		if (parse_line(line, &e) || zs_index_add(idx, &e)) {
			snprintf(err, errlen, "%s: line %u is damaged", path,
				 lineno);
			fclose(f);
			zs_index_free(idx);
			return -EINVAL;
		}
	}
	fclose(f);
	return 0;
}

int zs_index_write(const char *root, const struct zone_index *idx, char *err,
		   size_t errlen)
{
	char path[ZS_PATH_MAX];
	size_t cap = 64 + idx->n * (sizeof(struct zone_entry) + 8);
	char *buf = malloc(cap);
	size_t len = 0;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	len += (size_t)snprintf(buf, cap,
				"# name:state:zonepath:uuid:brand\n");
	for (size_t i = 0; i < idx->n; i++) {
		const struct zone_entry *e = &idx->zones[i];
		len += (size_t)snprintf(buf + len, cap - len, "%s:%s:%s:%s:%s\n",
					e->name, zs_state_name(e->state),
					e->zonepath, e->uuid, e->brand);
	}
	int rc = zs_path(path, sizeof(path), root, "etc/index");
	if (!rc)
		rc = zs_write_atomic(path, buf, len, 0644);
	free(buf);
	if (rc)
		snprintf(err, errlen, "writing %s/etc/index: %s", root,
			 strerror(-rc));
	return rc;
}

struct zone_entry *zs_index_find(struct zone_index *idx, const char *name)
{
	for (size_t i = 0; i < idx->n; i++)
		if (strcmp(idx->zones[i].name, name) == 0)
			return &idx->zones[i];
	return NULL;
}

int zs_index_add(struct zone_index *idx, const struct zone_entry *e)
{
	if (zs_index_find(idx, e->name))
		return -EEXIST;
	struct zone_entry *z = realloc(idx->zones, (idx->n + 1) * sizeof(*z));
	if (!z)
		return -ENOMEM;
	idx->zones = z;
	idx->zones[idx->n++] = *e;
	return 0;
}

int zs_index_remove(struct zone_index *idx, const char *name)
{
	struct zone_entry *e = zs_index_find(idx, name);
	if (!e)
		return -ENOENT;
	size_t i = (size_t)(e - idx->zones);
	memmove(&idx->zones[i], &idx->zones[i + 1],
		(idx->n - i - 1) * sizeof(*e));
	idx->n--;
	return 0;
}

static int lock_file(const char *path, int wait_ms, int *fd_out)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (int waited = 0;; waited += 50) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			*fd_out = fd;
			return 0;
		}
		if (errno != EWOULDBLOCK) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (waited >= wait_ms) {
			*fd_out = fd;	/* still open: the caller reads the holder */
			return -EWOULDBLOCK;
		}
		usleep(50000);
	}
}

int zs_index_lock(const char *root, char *err, size_t errlen)
{
	char path[ZS_PATH_MAX];
	int fd = -1;
	if (zs_path(path, sizeof(path), root, "etc/.index.lock")) {
		snprintf(err, errlen, "root path %s is too long", root);
		return -ENAMETOOLONG;
	}
	/* Index updates are short: waiting a long time means something is wrong. */
	int rc = lock_file(path, 30000, &fd);
	if (rc) {
		if (rc == -EWOULDBLOCK)
			close(fd);
		snprintf(err, errlen, "cannot lock %s: %s", path,
			 strerror(-rc));
		return rc;
	}
	return fd;
}

int zs_index_update(const char *root, const char *name, zs_update_fn fn,
		    void *arg, char *err, size_t errlen)
{
	struct zone_index idx;
	int lk = zs_index_lock(root, err, errlen);
	if (lk < 0)
		return lk;
	int rc = zs_index_read(root, &idx, err, errlen);
	if (rc)
		goto out;
	struct zone_entry *e = zs_index_find(&idx, name);
	if (!e) {
		snprintf(err, errlen, "no such zone configured");
		rc = -ENOENT;
		goto out_free;
	}
	rc = fn(e, arg);
	if (!rc)
		rc = zs_index_write(root, &idx, err, errlen);
out_free:
	zs_index_free(&idx);
out:
	zs_unlock(lk);
	return rc;
}

static int set_state_fn(struct zone_entry *e, void *arg)
{
	e->state = *(enum zone_state *)arg;
	return 0;
}

int zs_zone_state(const char *root, const char *name, char *err,
		  size_t errlen)
{
	struct zone_index idx;
	char e[256];
	if (zs_index_read(root, &idx, e, sizeof(e))) {
		snprintf(err, errlen, "cannot read the zone index: %s", e);
		return -EIO;
	}
	struct zone_entry *z = zs_index_find(&idx, name);
	int s = z ? (int)z->state : -ENOENT;
	zs_index_free(&idx);
	if (s < 0)
		snprintf(err, errlen, "no such zone configured");
	return s;
}

bool zs_state_settling(int st)
{
	return st == ZS_RUNNING || st == ZS_SHUTTING_DOWN || st == ZS_DOWN;
}

int zs_set_state(const char *root, const char *name, enum zone_state s,
		 char *err, size_t errlen)
{
	return zs_index_update(root, name, set_state_fn, &s, err, errlen);
}

int zs_lock_zone(const char *root, const char *zone, const char *what,
		 int wait_ms, char *err, size_t errlen)
{
	char path[ZS_PATH_MAX];
	int fd = -1;
	if (zs_path(path, sizeof(path), root, "etc/%s.lock", zone)) {
		snprintf(err, errlen, "root path %s is too long", root);
		return -ENAMETOOLONG;
	}
	int rc = lock_file(path, wait_ms, &fd);
	if (rc == -EWOULDBLOCK) {
		char holder[128] = "";
		ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
		holder[n > 0 ? n : 0] = 0;
		holder[strcspn(holder, "\n")] = 0;
		close(fd);
		snprintf(err, errlen, "zone is busy: %s",
			 holder[0] ? holder : "another command holds its lock");
		return rc;
	}
	if (rc) {
		snprintf(err, errlen, "cannot lock %s: %s", path, strerror(-rc));
		return rc;
	}
	/* Say who we are, for the next command that finds the lock held. */
	char me[128];
	int n = snprintf(me, sizeof(me), "%s (pid %d)\n", what, (int)getpid());
	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, me, (size_t)n, 0);
	return fd;
}

void zs_unlock(int fd)
{
	if (fd >= 0)
		close(fd);	/* closing drops the flock */
}

void zs_uuid(char out[37])
{
	unsigned char b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		/* No entropy source: time and pid still make it unique here. */
		uint64_t t = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
		for (unsigned i = 0; i < 16; i++)
			b[i] = (unsigned char)(t >> ((i % 8) * 8)) ^ (unsigned char)i;
	}
	b[6] = (b[6] & 0x0F) | 0x40;
	b[8] = (b[8] & 0x3F) | 0x80;
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

void zs_run_dir_clear(const char *root, const char *zone)
{
	char dir[ZS_PATH_MAX], path[ZS_PATH_MAX + 256];
	if (zs_path(dir, sizeof(dir), root, "run/%s", zone))
		return;
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' &&
			    (de->d_name[1] == 0 ||
			     (de->d_name[1] == '.' && de->d_name[2] == 0)))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}
