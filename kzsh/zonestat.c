/*
 * zonestat: what running zones use.
 *
 *   zonestat [-R DIR] [-z ZONE,...] [-p] [INTERVAL [COUNT]]
 *
 * Per zone and interval: the CPU time of its vCPU threads (the threads
 * of its kzhost named vcpuN, from /proc/PID/task/TID/schedstat, else
 * utime + stime from .../stat) as vCPUs'
 * worth and as a share of the zone's vCPUs; the host memory behind guest
 * RAM, resident and locked (the largest mapping of kzhost in
 * /proc/PID/smaps, which is guest RAM; the whole process from
 * /proc/PID/status when smaps cannot be read); and kzhost's counters
 * since boot (the "stats" control verb): console bytes, disk operations,
 * network bytes and packets.  A counter kzhost does not keep is shown as
 * "-", never as a made-up 0.
 *
 * Without INTERVAL, one report over one second; with INTERVAL and no
 * COUNT, reports until interrupted.  A table, or with -p one line per
 * zone and report, fields separated by ':' (see zonestat(1)).
 *
 * Reads only: never changes a zone.  cmd_zonestat prints its own
 * messages and returns the exit status (0 ok, 1 error, 2 usage).
 */
#include "kzsh.h"
#include "ctl.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG "zonestat"
#define MAX_VCPUS 64
#define NONE UINT64_MAX		/* a counter that is not kept */

struct zsample {
	char name[ZS_NAME_MAX + 1];
	int pid;
	unsigned vcpus;
	unsigned nthr;
	struct {
		int tid;
		uint64_t ns;
	} thr[MAX_VCPUS];
	double when;
	bool have;		/* pid and threads read */
};

struct zcounters {
	uint64_t memory, rss, locked;
	uint64_t con_out, con_in;
	uint64_t disk_r, disk_w;
	uint64_t net_rxb, net_txb, net_rxp, net_txp;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage_line(FILE *f)
{
	fprintf(f, "usage: zonestat [-R DIR] [-z ZONE,...] [-p] "
		   "[INTERVAL [COUNT]]\n");
}

static int usage(const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	usage_line(stderr);
	return 2;
}

/*
 * CPU time of one thread in nanoseconds; false when it is gone.  The
 * scheduler's own count (schedstat) is exact; utime + stime from stat,
 * in clock ticks, is the fallback where schedstat is not built in.
 */
static bool thread_ns(int pid, int tid, uint64_t *ns)
{
	char path[96], buf[1024];
	unsigned long long run;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid, tid);
	FILE *f = fopen(path, "re");
	if (f) {
		bool got = fscanf(f, "%llu", &run) == 1;
		fclose(f);
		if (got) {
			*ns = run;
			return true;
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* The name may hold anything; the fields follow its last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return false;
	unsigned long long ut = 0, st = 0;
	/* fields 3..: state ppid pgrp session tty tpgid flags minflt
	   cminflt majflt cmajflt utime stime */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			  "%llu %llu", &ut, &st) != 2)
		return false;
	long hz = sysconf(_SC_CLK_TCK);
	*ns = (ut + st) * (1000000000ULL / (uint64_t)(hz > 0 ? hz : 100));
	return true;
}

/* The zone's vCPU threads (named vcpuN) and their CPU time so far. */
static void read_threads(struct zsample *s)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", s->pid);
	s->nthr = 0;
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) && s->nthr < MAX_VCPUS) {
		int tid = atoi(e->d_name);
		if (tid <= 0)
			continue;
		char cpath[96], comm[32] = "";
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%d/comm", s->pid,
			 tid);
		FILE *f = fopen(cpath, "re");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		unsigned id;
		char tail;
		if (sscanf(comm, "vcpu%u%c", &id, &tail) != 2 || tail != '\n')
			continue;
		uint64_t t;
		if (!thread_ns(s->pid, tid, &t))
			continue;
		s->thr[s->nthr].tid = tid;
		s->thr[s->nthr].ns = t;
		s->nthr++;
	}
	closedir(d);
	s->when = now_s();
}

static uint64_t num(const char *s)
{
	return strtoull(s, NULL, 10);
}

/* kzhost's "stats" reply into c (and the pid and vCPU count into s). */
static int read_stats(const char *root, struct zsample *s,
		      struct zcounters *c)
{
	char reply[CTL_LINE_MAX * 4], err[256];
	int rc = ctl_request(root, s->name, "stats", reply, sizeof(reply), err,
			     sizeof(err));
	if (rc == -EREMOTEIO) {
		/* A kzhost from before "stats": at least the pid. */
		rc = ctl_request(root, s->name, "status", reply, sizeof(reply),
				 err, sizeof(err));
	}
	if (rc)
		return rc;
	bool disk = false, net = false;
	for (char *save = NULL, *l = strtok_r(reply, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(l, ' ');
		if (!v)
			continue;
		*v++ = 0;
		if (!strcmp(l, "pid"))
			s->pid = atoi(v);
		else if (!strcmp(l, "vcpus"))
			s->vcpus = (unsigned)atoi(v);
		else if (!strcmp(l, "memory"))
			c->memory = num(v);
		else if (!strcmp(l, "console-out"))
			c->con_out = num(v);
		else if (!strcmp(l, "console-in"))
			c->con_in = num(v);
		else if (!strcmp(l, "device")) {
			unsigned long long a, b, d, e;
			unsigned id;
			const char *paren;
			if (sscanf(v, "disk%u: reads %llu writes %llu", &id, &a,
				   &b) == 3) {
				if (!disk)
					c->disk_r = c->disk_w = 0;
				disk = true;
				c->disk_r += a;
				c->disk_w += b;
			} else if (!strncmp(v, "net", 3) &&
				   (paren = strstr(v, "): ")) &&
				   sscanf(paren, "): rx %llu packets %llu bytes, "
						 "tx %llu packets %llu bytes",
					  &a, &b, &d, &e) == 4) {
				if (!net)
					c->net_rxp = c->net_rxb = c->net_txp =
						c->net_txb = 0;
				net = true;
				c->net_rxp += a;
				c->net_rxb += b;
				c->net_txp += d;
				c->net_txb += e;
			}
		}
	}
	return s->pid > 0 ? 0 : -ESRCH;
}

/*
 * Resident and locked bytes of guest RAM: kzhost's largest mapping.
 * Falls back to the whole process when smaps cannot be read.
 */
static void read_memory(int pid, struct zcounters *c)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	FILE *f = fopen(path, "re");
	if (f) {
		uint64_t size = 0, best = 0, rss = 0, lck = 0;
		uint64_t brss = 0, blck = 0;
		bool any = false;
		while (fgets(line, sizeof(line), f)) {
			unsigned long long kb;
			if (strchr(line, '-') && strchr(line, ' ') &&
			    line[0] != ' ' &&
			    strchr(line, '-') < strchr(line, ' ')) {
				/* A new mapping: settle the last one. */
				if (any && size > best) {
					best = size;
					brss = rss;
					blck = lck;
				}
				any = true;
				size = rss = lck = 0;
			} else if (sscanf(line, "Size: %llu kB", &kb) == 1) {
				size = kb * 1024;
			} else if (sscanf(line, "Rss: %llu kB", &kb) == 1 ||
				   sscanf(line, "Shared_Hugetlb: %llu kB", &kb) == 1 ||
				   sscanf(line, "Private_Hugetlb: %llu kB", &kb) == 1) {
				rss += kb * 1024;
			} else if (sscanf(line, "Locked: %llu kB", &kb) == 1) {
				lck = kb * 1024;
			}
		}
		fclose(f);
		if (any && size > best) {
			best = size;
			brss = rss;
			blck = lck;
		}
		if (best) {
			c->rss = brss;
			c->locked = blck;
			return;
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			c->rss = kb * 1024;
		else if (sscanf(line, "VmLck: %llu kB", &kb) == 1)
			c->locked = kb * 1024;
	}
	fclose(f);
}

/* vCPUs' worth of CPU used between a and b; negative when unknown. */
static double cpu_used(const struct zsample *a, const struct zsample *b)
{
	if (!a->have || !b->have || a->pid != b->pid || !b->nthr ||
	    b->when <= a->when)
		return -1;
	uint64_t ns = 0;
	for (unsigned i = 0; i < b->nthr; i++) {
		uint64_t before = 0;
		/* A thread born in the interval (a reboot) counts whole. */
		for (unsigned j = 0; j < a->nthr; j++)
			if (a->thr[j].tid == b->thr[i].tid)
				before = a->thr[j].ns;
		if (b->thr[i].ns > before)
			ns += b->thr[i].ns - before;
	}
	return (double)ns / 1e9 / (b->when - a->when);
}

/* 1536 -> "1.5K"; NONE -> "-". */
static const char *human(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "BKMGTP";
	if (v == NONE)
		return "-";
	double d = (double)v;
	unsigned u = 0;
	while (d >= 1024 && u + 1 < sizeof(units) - 1) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64, v);
	else if (d < 10 && d != (double)(uint64_t)d)
		snprintf(buf, len, "%.1f%c", d, units[u]);
	else
		snprintf(buf, len, "%.0f%c", d, units[u]);
	return buf;
}

static const char *raw(uint64_t v, char *buf, size_t len)
{
	if (v == NONE)
		return "-";
	snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

static void print_header(void)
{
	printf("%-16s %5s %5s %6s %7s %7s %7s %7s %7s %7s %7s %7s %7s\n",
	       "ZONE", "VCPUS", "USED", "%VCPU", "MEMORY", "RSS", "LOCKED",
	       "CON-OUT", "CON-IN", "DISK-R", "DISK-W", "NET-RX", "NET-TX");
}

static void print_row(bool parsable, unsigned report, const struct zsample *s,
		      double used, const struct zcounters *c)
{
	char b[13][32];
	if (parsable) {
		char u[32] = "-", pct[32] = "-";
		if (used >= 0) {
			snprintf(u, sizeof(u), "%.2f", used);
			snprintf(pct, sizeof(pct), "%.1f",
				 s->vcpus ? 100.0 * used / s->vcpus : 0.0);
		}
		printf("%u:%s:%u:%s:%s:%s:%s:%s:%s:%s:%s:%s:%s:%s:%s:%s\n",
		       report, s->name, s->vcpus, u, pct,
		       raw(c->memory, b[0], 32), raw(c->rss, b[1], 32),
		       raw(c->locked, b[2], 32), raw(c->con_out, b[3], 32),
		       raw(c->con_in, b[4], 32), raw(c->disk_r, b[5], 32),
		       raw(c->disk_w, b[6], 32), raw(c->net_rxb, b[7], 32),
		       raw(c->net_txb, b[8], 32), raw(c->net_rxp, b[9], 32),
		       raw(c->net_txp, b[10], 32));
		return;
	}
	char u[32] = "-", pct[32] = "-";
	if (used >= 0) {
		snprintf(u, sizeof(u), "%.2f", used);
		snprintf(pct, sizeof(pct), "%.1f%%",
			 s->vcpus ? 100.0 * used / s->vcpus : 0.0);
	}
	printf("%-16s %5u %5s %6s %7s %7s %7s %7s %7s %7s %7s %7s %7s\n",
	       s->name, s->vcpus, u, pct, human(c->memory, b[0], 32),
	       human(c->rss, b[1], 32), human(c->locked, b[2], 32),
	       human(c->con_out, b[3], 32), human(c->con_in, b[4], 32),
	       raw(c->disk_r, b[5], 32), raw(c->disk_w, b[6], 32),
	       human(c->net_rxb, b[7], 32), human(c->net_txb, b[8], 32));
}

static void counters_none(struct zcounters *c)
{
	c->memory = c->rss = c->locked = NONE;
	c->con_out = c->con_in = NONE;
	c->disk_r = c->disk_w = NONE;
	c->net_rxb = c->net_txb = c->net_rxp = c->net_txp = NONE;
}

/* The zones to report on: the named ones, else every zone in the index. */
static int pick_zones(const char *root, const char *list, char ***out,
		      size_t *n)
{
	struct zone_index idx;
	char err[256];
	*out = NULL;
	*n = 0;
	if (zs_index_read(root, &idx, err, sizeof(err))) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	char **v = calloc(idx.n + 64, sizeof(*v));
	size_t k = 0;
	int rc = 0;
	if (!v) {
		zs_index_free(&idx);
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	if (list) {
		char *copy = strdup(list);
		for (char *save = NULL, *z = copy ? strtok_r(copy, ",", &save) :
						     NULL;
		     z; z = strtok_r(NULL, ",", &save)) {
			if (!zs_index_find(&idx, z)) {
				fprintf(stderr, PROG ": zone '%s': no such "
					"zone configured\n", z);
				rc = 1;
				continue;
			}
			if (k < idx.n + 64)
				v[k++] = strdup(z);
		}
		free(copy);
	} else {
		for (size_t i = 0; i < idx.n; i++)
			v[k++] = strdup(idx.zones[i].name);
	}
	zs_index_free(&idx);
	*out = v;
	*n = k;
	return rc;
}

static bool sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) < 0)
		if (errno != EINTR)
			return false;
	return true;
}

int cmd_zonestat(int argc, char **argv)
{
	const char *root_opt = NULL, *zlist = NULL;
	bool parsable = false;
	double interval = 1;
	long count = 1;
	int opt;

	optind = 0;
	opterr = 0;
	while ((opt = getopt(argc, argv, "+R:z:ph")) != -1) {
		switch (opt) {
		case 'R': root_opt = optarg; break;
		case 'z': zlist = optarg; break;
		case 'p': parsable = true; break;
		case 'h': usage_line(stdout); return 0;
		default: {
			char o[2] = { (char)optopt, 0 };
			if (optopt == 'R' || optopt == 'z')
				return usage("-%s needs a value", o);
			return usage("unknown option -%s", o);
		}
		}
	}
	if (argc - optind > 2)
		return usage("%s", "too many operands");
	if (optind < argc) {
		char *end;
		interval = strtod(argv[optind], &end);
		if (*end || end == argv[optind] || !(interval >= 0.1) ||
		    interval > 86400)
			return usage("interval '%s': expected seconds from 0.1 "
				     "to 86400", argv[optind]);
		count = -1;	/* until interrupted */
		if (optind + 1 < argc) {
			errno = 0;
			count = strtol(argv[optind + 1], &end, 10);
			if (errno || *end || end == argv[optind + 1] ||
			    count < 1)
				return usage("count '%s': expected a number of "
					     "reports from 1", argv[optind + 1]);
		}
	}
	const char *root = zs_root(root_opt);
	char **names;
	size_t nz;
	int status = pick_zones(root, zlist, &names, &nz);
	if (status) {
		for (size_t i = 0; i < nz; i++)
			free(names[i]);
		free(names);
		return status;
	}
	struct zsample *prev = calloc(nz ? nz : 1, sizeof(*prev));
	struct zsample *cur = calloc(nz ? nz : 1, sizeof(*cur));
	if (!prev || !cur) {
		fprintf(stderr, PROG ": out of memory\n");
		status = 1;
		goto out;
	}
	bool told_none = false;
	for (size_t i = 0; i < nz; i++) {
		struct zcounters c;
		snprintf(prev[i].name, sizeof(prev[i].name), "%s", names[i]);
		snprintf(cur[i].name, sizeof(cur[i].name), "%s", names[i]);
		counters_none(&c);
		if (read_stats(root, &prev[i], &c) == 0) {
			read_threads(&prev[i]);
			prev[i].have = true;
		}
	}
	for (unsigned report = 1; count < 0 || report <= (unsigned long)count;
	     report++) {
		if (!sleep_s(interval))
			break;
		if (!parsable) {
			if (report > 1)
				putchar('\n');
			print_header();
		}
		unsigned shown = 0;
		for (size_t i = 0; i < nz; i++) {
			struct zcounters c;
			counters_none(&c);
			memset(&cur[i], 0, sizeof(cur[i]));
			snprintf(cur[i].name, sizeof(cur[i].name), "%s",
				 names[i]);
			if (read_stats(root, &cur[i], &c)) {
				prev[i] = cur[i];	/* not running */
				continue;
			}
			read_threads(&cur[i]);
			cur[i].have = true;
			read_memory(cur[i].pid, &c);
			print_row(parsable, report, &cur[i],
				  cpu_used(&prev[i], &cur[i]), &c);
			prev[i] = cur[i];
			shown++;
		}
		fflush(stdout);
		if (!shown && !told_none) {
			fprintf(stderr, PROG ": %s\n", zlist ?
				"none of these zones is running" :
				"no zone is running");
			told_none = true;
		}
	}
out:
	for (size_t i = 0; i < nz; i++)
		free(names[i]);
	free(names);
	free(prev);
	free(cur);
	return status;
}
