/*
 * Size-bounded console log with rotation (see con_log.h).  Keeps every
 * byte it is given: a rotation renames, it never truncates the current
 * file before the old one is safely renamed away.
 */
#include "con_log.h"
#include "con_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_current(struct con_log *l)
{
	struct stat st;
	l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (l->fd < 0)
		return -errno;
	l->size = fstat(l->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

int con_log_open(struct con_log *l, const char *path, uint64_t max,
		 unsigned keep)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	if (max < CON_LOG_MIN || keep < 1 || keep > CON_LOG_KEEP_MAX)
		return -EINVAL;
	/* Room for the ".NN" suffix of rotated files. */
	if (strlen(path) + 4 >= sizeof(l->path))
		return -ENAMETOOLONG;
	strcpy(l->path, path);
	l->max = max;
	l->keep = keep;
	return open_current(l);
}

static int rotate(struct con_log *l)
{
	char from[sizeof(l->path)], to[sizeof(l->path)];
	close(l->fd);
	l->fd = -1;
	for (unsigned i = l->keep; i > 1; i--) {
		snprintf(from, sizeof(from), "%s.%u", l->path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", l->path, i);
		if (rename(from, to) < 0 && errno != ENOENT)
			return -errno;
	}
	snprintf(to, sizeof(to), "%s.1", l->path);
	if (rename(l->path, to) < 0 && errno != ENOENT)
		return -errno;
	l->rotations++;
	return open_current(l);
}

static int write_all(struct con_log *l, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(l->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
		l->size += (uint64_t)n;
	}
	return 0;
}

int con_log_write(struct con_log *l, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int rc;
	while (len) {
		if (l->fd < 0 && (rc = open_current(l)))
			return rc;
		uint64_t room = l->size < l->max ? l->max - l->size : 0;
		if (len <= room)
			return write_all(l, p, len);
		/* Fill up to the last line end that fits, then rotate. */
		size_t part = 0;
		for (size_t i = (size_t)room; i > 0; i--)
			if (p[i - 1] == '\n') {
				part = i;
				break;
			}
		if (part == 0 && l->size == 0)
			part = (size_t)room;	/* a line longer than a file */
		if (part && (rc = write_all(l, p, part)))
			return rc;
		p += part;
		len -= part;
		if ((rc = rotate(l)))
			return rc;
	}
	return 0;
}

void con_log_close(struct con_log *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/* Append the last up to max bytes of path to *buf (grown). */
static int read_end(const char *path, size_t max, uint8_t **buf,
		    size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	size_t want = (size_t)st.st_size < max ? (size_t)st.st_size : max;
	uint8_t *nb = realloc(*buf, *len + want + 1);
	if (!nb) {
		close(fd);
		return -ENOMEM;
	}
	*buf = nb;
	ssize_t n = pread(fd, nb + *len, want, st.st_size - (off_t)want);
	close(fd);
	if (n < 0)
		return -errno;
	*len += (size_t)n;
	return 0;
}

static unsigned count_lines(const uint8_t *p, size_t len)
{
	unsigned n = 0;
	for (size_t i = 0; i < len; i++)
		n += p[i] == '\n';
	return n;
}

int con_log_tail(const char *path, unsigned n, size_t max, uint8_t **out,
		 size_t *outlen)
{
	uint8_t *cur = NULL, *all = NULL;
	size_t curlen = 0, alllen = 0;
	char old[1100];
	int rc;

	*out = NULL;
	*outlen = 0;
	if (n == 0 || max == 0)
		return 0;
	if ((rc = read_end(path, max, &cur, &curlen)))
		goto out;
	if (count_lines(cur, curlen) < n && curlen < max) {
		snprintf(old, sizeof(old), "%s.1", path);
		if ((rc = read_end(old, max - curlen, &all, &alllen)))
			goto out;
	}
	uint8_t *nb = realloc(all, alllen + curlen + 1);
	if (!nb) {
		rc = -ENOMEM;
		goto out;
	}
	all = nb;
	if (curlen)
		memcpy(all + alllen, cur, curlen);
	alllen += curlen;
	size_t off = con_last_lines(all, alllen, n);
	memmove(all, all + off, alllen - off);
	if (alllen > off) {
		*out = all;
		*outlen = alllen - off;
		all = NULL;
	}
out:
	free(cur);
	free(all);
	return rc;
}
