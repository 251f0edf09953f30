/*
 * What a zone has on disk and the states that follow from it: install,
 * uninstall, verify, detach, attach, clone, mark.
 *
 * An installed zone's zonepath holds boot/kernel (and boot/initrd): the
 * images kzhost boots.  Copies go through a temp file and a rename, so a
 * failed install leaves no half kernel behind, and the zone is marked
 * incomplete while one is under way.
 */
#include "vm.h"
#include "zonecfg.h"
#include "zoneadm_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const enum zone_state st_configured[] = { ZS_CONFIGURED };
static const enum zone_state st_installed[] = { ZS_INSTALLED };
static const enum zone_state st_uninstallable[] = { ZS_INSTALLED,
						    ZS_INCOMPLETE,
						    ZS_UNAVAILABLE };

static int zone_file(char *buf, size_t len, const struct za_ctx *c,
		     const char *rel)
{
	return zs_path(buf, len, c->root, "zones/%s/%s", c->zone, rel);
}

static int mkdirs(const char *path)
{
	char tmp[ZS_PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/*
 * Copy src to dst atomically, with a progress line on a terminal.
 * Returns 0 or -errno with err filled.
 */
static int copy_file(const struct za_ctx *c, const char *src, const char *dst,
		     char *err, size_t errlen)
{
	char tmp[ZS_PATH_MAX + 16];
	char buf[1 << 16];
	struct stat st;
	int in = -1, out = -1, rc = 0;
	off_t done = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", src, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file", src);
		goto out;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err, errlen, "reading %s: %s", src,
				 strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (write(out, buf, (size_t)n) != n) {
			rc = errno ? -errno : -EIO;
			snprintf(err, errlen, "writing %s: %s", dst,
				 strerror(-rc));
			goto out;
		}
		done += n;
		if (c->interactive && st.st_size > (4 << 20))
			fprintf(stderr, "\r  %s: %3d%%", dst,
				(int)(done * 100 / st.st_size));
	}
	if (c->interactive && st.st_size > (4 << 20))
		fputc('\n', stderr);
	if (fsync(out) < 0 || close(out) < 0) {
		out = -1;
		rc = -errno;
		snprintf(err, errlen, "writing %s: %s", dst, strerror(errno));
		goto out;
	}
	out = -1;
	if (rename(tmp, dst) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", dst, strerror(errno));
	}
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (rc)
		unlink(tmp);
	return rc;
}

/* A kernel we can boot: an ELF image or a bzImage, judged by its header. */
static int check_kernel(const char *path, char *err, size_t errlen)
{
	unsigned char h[0x210];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "kernel %s: %s", path, strerror(errno));
		return -errno;
	}
	ssize_t n = read(fd, h, sizeof(h));
	close(fd);
	bool elf = n >= 4 && memcmp(h, "\x7f" "ELF", 4) == 0;
	bool bz = n >= 0x206 && memcmp(h + 0x202, "HdrS", 4) == 0;
	if (!elf && !bz) {
		snprintf(err, errlen, "kernel %s: not an ELF or bzImage kernel",
			 path);
		return -ENOEXEC;
	}
	return 0;
}

static int remove_boot_files(const struct za_ctx *c)
{
	static const char *const files[] = { "boot/kernel", "boot/initrd",
					     "boot/kernel.tmp",
					     "boot/initrd.tmp", "detached.cfg" };
	char path[ZS_PATH_MAX];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!zone_file(path, sizeof(path), c, files[i]))
			unlink(path);
	if (!zone_file(path, sizeof(path), c, "boot"))
		rmdir(path);
	return 0;
}

static int set_state(struct za_ctx *c, enum zone_state s)
{
	char err[256];
	if (zs_set_state(c->root, c->zone, s, err, sizeof(err))) {
		za_err(c, "%s", err);
		return 1;
	}
	c->entry.state = s;
	return 0;
}

static int load_verified(struct za_ctx *c, struct zone_config **cfg)
{
	char err[512];
	if (zcfg_load(c->root, c->zone, cfg, err, sizeof(err))) {
		za_err(c, "%s", err);
		return 1;
	}
	if (zcfg_verify(*cfg, err, sizeof(err))) {
		za_err(c, "configuration does not verify: %s", err);
		zcfg_free(*cfg);
		*cfg = NULL;
		return 1;
	}
	return 0;
}

/* Would the host run this configuration?  One line for the first problem. */
int za_check_host_fit(struct za_ctx *c, const struct zone_config *cfg)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	unsigned dedicated = cfg->dcpu_min ? cfg->dcpu_min : cfg->ncpus;
	if (cfg->dedicated_cpu && ncpu > 0 && dedicated > (unsigned)ncpu) {
		za_err(c, "dedicated-cpu ncpus=%u: this host has %ld CPUs",
		       dedicated, ncpu);
		return 1;
	}
	if (cfg->ncpus > VMM_MAX_CPUS) {
		za_err(c, "%u vCPUs: a zone can have at most %u", cfg->ncpus,
		       VMM_MAX_CPUS);
		return 1;
	}
	if (pages > 0 && cfg->memory > (uint64_t)pages * (uint64_t)psize) {
		za_err(c, "capped-memory physical=%lluM: this host has %lluM",
		       (unsigned long long)(cfg->memory >> 20),
		       (unsigned long long)(((uint64_t)pages * psize) >> 20));
		return 1;
	}
	return 0;
}

int za_verify(struct za_ctx *c, int argc, char **argv)
{
	struct zone_config *cfg;
	char path[ZS_PATH_MAX], err[512];
	(void)argv;
	if (argc > 1)
		return za_usage(za_find("verify"));
	if (load_verified(c, &cfg))
		return 1;
	int status = za_check_host_fit(c, cfg);
	zcfg_free(cfg);
	if (status)
		return status;
	if (c->entry.state != ZS_CONFIGURED && c->entry.state != ZS_INCOMPLETE) {
		if (zone_file(path, sizeof(path), c, "boot/kernel") ||
		    check_kernel(path, err, sizeof(err))) {
			za_err(c, "installed, but %s", err);
			return 1;
		}
	}
	return 0;
}

int za_install(struct za_ctx *c, int argc, char **argv)
{
	const char *kernel = NULL, *initrd = NULL;
	char dflt[ZS_PATH_MAX], dir[ZS_PATH_MAX], dst[ZS_PATH_MAX], err[512];
	struct zone_config *cfg;
	int opt;

	while ((opt = getopt(argc, argv, "k:i:")) != -1) {
		switch (opt) {
		case 'k': kernel = optarg; break;
		case 'i': initrd = optarg; break;
		default: return za_usage(za_find("install"));
		}
	}
	if (optind < argc || (initrd && !kernel))
		return za_usage(za_find("install"));
	if (!za_state_in(c, "install", 1, st_configured))
		return 1;
	if (load_verified(c, &cfg))
		return 1;
	zcfg_free(cfg);
	if (!kernel) {
		if (za_default_kernel(dflt, sizeof(dflt))) {
			za_err(c, "cannot find the built-in guest kernel "
				  "(kzguest.elf); give one with -k");
			return 1;
		}
		kernel = dflt;
	}
	if (check_kernel(kernel, err, sizeof(err))) {
		za_err(c, "%s", err);
		return 1;
	}
	if (zone_file(dir, sizeof(dir), c, "boot") || mkdirs(dir)) {
		za_err(c, "cannot create %s: %s", dir, strerror(errno));
		return 1;
	}
	/* Incomplete until every image is in place. */
	if (set_state(c, ZS_INCOMPLETE))
		return 1;
	if (zone_file(dst, sizeof(dst), c, "boot/kernel") ||
	    copy_file(c, kernel, dst, err, sizeof(err)))
		goto fail;
	if (initrd && (zone_file(dst, sizeof(dst), c, "boot/initrd") ||
		       copy_file(c, initrd, dst, err, sizeof(err))))
		goto fail;
	if (c->interactive)
		fprintf(stderr, "zone '%s' installed from %s\n", c->zone, kernel);
	return set_state(c, ZS_INSTALLED);
fail:
	za_err(c, "install failed: %s", err);
	remove_boot_files(c);
	(void)set_state(c, ZS_CONFIGURED);
	return 1;
}

static bool confirm(const struct za_ctx *c, const char *question)
{
	if (!c->interactive)
		return true;
	fprintf(stderr, "%s (y/[n])? ", question);
	char line[16];
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

int za_uninstall(struct za_ctx *c, int argc, char **argv)
{
	bool force = false;
	int opt;
	while ((opt = getopt(argc, argv, "F")) != -1) {
		if (opt != 'F')
			return za_usage(za_find("uninstall"));
		force = true;
	}
	if (optind < argc)
		return za_usage(za_find("uninstall"));
	if (!za_state_in(c, "uninstall", 3, st_uninstallable))
		return 1;
	char q[128];
	snprintf(q, sizeof(q), "Are you sure you want to uninstall zone %s",
		 c->zone);
	if (!force && !confirm(c, q))
		return 1;
	remove_boot_files(c);
	return set_state(c, ZS_CONFIGURED);
}

int za_mark(struct za_ctx *c, int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "incomplete") != 0)
		return za_usage(za_find("mark"));
	if (!za_state_in(c, "mark incomplete", 1, st_installed))
		return 1;
	return set_state(c, ZS_INCOMPLETE);
}

/*
 * detach: the zone stays on disk, its configuration exported beside it
 * (zonepath/detached.cfg), and it reads configured, so that its zonepath
 * can be moved and attached elsewhere.
 */
int za_detach(struct za_ctx *c, int argc, char **argv)
{
	struct zone_config *cfg;
	char path[ZS_PATH_MAX], err[512];
	char *text = NULL;
	(void)argv;
	if (argc > 1)
		return za_usage(za_find("detach"));
	if (!za_state_in(c, "detach", 1, st_installed))
		return 1;
	if (zcfg_load(c->root, c->zone, &cfg, err, sizeof(err))) {
		za_err(c, "%s", err);
		return 1;
	}
	int rc = zcfg_export(cfg, &text);
	zcfg_free(cfg);
	if (rc || zone_file(path, sizeof(path), c, "detached.cfg") ||
	    zs_write_atomic(path, text, strlen(text), 0600)) {
		za_err(c, "cannot write the detached configuration: %s",
		       strerror(rc ? -rc : errno));
		free(text);
		return 1;
	}
	free(text);
	return set_state(c, ZS_CONFIGURED);
}

int za_attach(struct za_ctx *c, int argc, char **argv)
{
	bool force = false;
	char path[ZS_PATH_MAX], err[512];
	int opt;
	while ((opt = getopt(argc, argv, "F")) != -1) {
		if (opt != 'F')
			return za_usage(za_find("attach"));
		force = true;
	}
	if (optind < argc)
		return za_usage(za_find("attach"));
	if (!za_state_in(c, "attach", 1, st_configured))
		return 1;
	if (zone_file(path, sizeof(path), c, "boot/kernel") ||
	    check_kernel(path, err, sizeof(err))) {
		za_err(c, "nothing to attach: %s", err);
		return 1;
	}
	struct stat st;
	if (!force) {
		if (zone_file(path, sizeof(path), c, "detached.cfg") ||
		    stat(path, &st) < 0) {
			za_err(c, "zonepath was not detached (no detached.cfg); "
				  "use attach -F to take it anyway");
			return 1;
		}
		struct zone_config *cfg;
		if (load_verified(c, &cfg))
			return 1;
		int fit = za_check_host_fit(c, cfg);
		zcfg_free(cfg);
		if (fit)
			return 1;
	}
	if (!zone_file(path, sizeof(path), c, "detached.cfg"))
		unlink(path);
	return set_state(c, ZS_INSTALLED);
}

int za_clone(struct za_ctx *c, int argc, char **argv)
{
	struct zone_index idx;
	char err[512], src[ZS_PATH_MAX], dst[ZS_PATH_MAX], dir[ZS_PATH_MAX];
	if (argc != 2)
		return za_usage(za_find("clone"));
	const char *source = argv[1];
	if (!za_state_in(c, "clone into it", 1, st_configured))
		return 1;
	struct zone_config *cfg;
	if (load_verified(c, &cfg))
		return 1;
	int fit = za_check_host_fit(c, cfg);
	zcfg_free(cfg);
	if (fit)
		return 1;
	if (strcmp(source, c->zone) == 0) {
		za_err(c, "cannot clone a zone from itself");
		return 1;
	}
	/* The source must hold still while we copy it. */
	int src_lock = zs_lock_zone(c->root, source, "zoneadm clone (source)",
				    10000, err, sizeof(err));
	if (src_lock < 0) {
		za_err(c, "source zone '%s': %s", source, err);
		return 1;
	}
	int status = 1;
	if (zs_index_read(c->root, &idx, err, sizeof(err))) {
		za_err(c, "%s", err);
		goto out;
	}
	struct zone_entry *s = zs_index_find(&idx, source);
	if (s)
		za_reconcile(c->root, s);
	if (!s || s->state != ZS_INSTALLED) {
		za_err(c, "source zone '%s' %s", source,
		       s ? "must be installed and not running"
			 : "does not exist");
		goto out_idx;
	}
	if (zone_file(dir, sizeof(dir), c, "boot") || mkdirs(dir)) {
		za_err(c, "cannot create %s", dir);
		goto out_idx;
	}
	if (set_state(c, ZS_INCOMPLETE))
		goto out_idx;
	static const char *const files[] = { "boot/kernel", "boot/initrd" };
	for (size_t i = 0; i < 2; i++) {
		struct stat st;
		if (zs_path(src, sizeof(src), c->root, "zones/%s/%s", source,
			    files[i]) ||
		    zone_file(dst, sizeof(dst), c, files[i]))
			goto fail;
		if (i == 1 && stat(src, &st) < 0)
			continue;	/* no initrd */
		if (copy_file(c, src, dst, err, sizeof(err)))
			goto fail;
	}
	status = set_state(c, ZS_INSTALLED);
	goto out_idx;
fail:
	za_err(c, "clone failed: %s", err);
	remove_boot_files(c);
	(void)set_state(c, ZS_CONFIGURED);
out_idx:
	zs_index_free(&idx);
out:
	zs_unlock(src_lock);
	return status;
}
