/*
 * savecore for a live machine: the consistent copy and the filing.
 *
 * Theory: the vCPUs are paused (vmm_vm_pause), every vCPU's registers
 * and XSAVE area are read through the live target, and the process
 * forks; the child's copy-on-write view of guest memory is the snapshot.
 * The vCPUs resume at once, so the zone is stopped for the register
 * reads and the fork (page-table copy) only, whatever the dump's size.
 * The child writes the ELF file (vmcore_write) into an unnamed temp file
 * in the target directory (O_TMPFILE), fsyncs it and reports; only then
 * does the parent give it its name, vmcore.N, and advance bounds.  A
 * child that dies, or a write that fails (a full disk), leaves no
 * vmcore.N behind and nothing to clean up.
 *
 * Called from kzhost's control thread (zoneadm savecore) and after a
 * guest panic; never prints.  The child only writes the file: it never
 * touches KVM, locks or the parent's threads' state.
 */
#include "savecore.h"
#include "store.h"
#include "target.h"
#include "target_live.h"
#include "vm.h"
#include "vmcore.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct child_report {
	int rc;
	struct vmcore_stats st;
	char err[384];
};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void savecore_size_str(uint64_t b, char *out, size_t outlen)
{
	if (b >= (1ULL << 30))
		snprintf(out, outlen, "%.1f GiB", (double)b / (1ULL << 30));
	else if (b >= (1ULL << 20))
		snprintf(out, outlen, "%.1f MiB", (double)b / (1ULL << 20));
	else if (b >= 1024)
		snprintf(out, outlen, "%.1f KiB", (double)b / 1024);
	else
		snprintf(out, outlen, "%llu bytes", (unsigned long long)b);
}

static int mkdirs(const char *path)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

/* The next free N: bounds, then past any vmcore.N already there. */
static unsigned next_n(int dfd)
{
	unsigned n = 0;
	int fd = openat(dfd, "bounds", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char buf[32] = "";
		ssize_t r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r > 0) {
			buf[r] = 0;
			char *end;
			unsigned long v = strtoul(buf, &end, 10);
			if (end != buf && v < 1000000)
				n = (unsigned)v;
		}
	}
	for (;; n++) {
		char name[32];
		struct stat st;
		snprintf(name, sizeof(name), "vmcore.%u", n);
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno == ENOENT)
			return n;
	}
}

static uint64_t read_stop_us(void *arg)
{
	int fd = *(int *)arg;
	uint64_t v = 0;
	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		v = 0;
	return v;
}

/* In the child: write, fsync, report; never returns. */
static __attribute__((noreturn)) void child_write(
	int fd, int report_fd, int stop_fd, const struct savecore_req *q,
	struct vmm_vm *vm, const struct kz_regs *regs, const struct kz_fpu *fpu)
{
	struct child_report rep = { 0 };
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	const struct vmcore_src src = {
		.mem = &vm->mem, .ncpus = vm->ncpus, .regs = regs, .fpu = fpu,
		.kernel_path = q->kernel_path, .symbols_path = q->symbols_path,
		.zone = q->zone,
		.uuid = q->uuid, .reason = q->reason,
		.panic_msg = q->panic_msg, .when = time(NULL),
		.stop_us = read_stop_us, .stop_arg = &stop_fd,
	};
	rep.rc = vmcore_write(fd, &src, &rep.st, rep.err, sizeof(rep.err));
	if (!rep.rc && fsync(fd) < 0) {
		rep.rc = -errno;
		snprintf(rep.err, sizeof(rep.err), "fsync: %s", strerror(errno));
	}
	(void)!write(report_fd, &rep, sizeof(rep));
	_exit(rep.rc ? 1 : 0);
}

int savecore_vm(struct vmm_vm *vm, const struct savecore_req *q,
		struct savecore_result *res, char *err, size_t errlen)
{
	uint64_t t0 = now_us();
	struct kz_target live;
	struct kz_regs *regs = NULL;
	struct kz_fpu *fpu = NULL;
	int dfd = -1, fd = -1, rep_p[2] = { -1, -1 }, stop_p[2] = { -1, -1 };
	char tmpname[64] = "";
	int rc;

	memset(res, 0, sizeof(*res));
	rc = mkdirs(q->dir);
	if (rc) {
		snprintf(err, errlen, "cannot create %s: %s", q->dir,
			 strerror(-rc));
		return rc;
	}
	dfd = open(q->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || flock(dfd, LOCK_EX) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", q->dir, strerror(errno));
		goto out;
	}
	res->n = next_n(dfd);
	snprintf(res->path, sizeof(res->path), "%s/vmcore.%u", q->dir, res->n);

	fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR ||
		       errno == EINVAL)) {
		/* No O_TMPFILE here: a named temp file, removed on failure. */
		snprintf(tmpname, sizeof(tmpname), ".vmcore.%u.tmp", res->n);
		fd = openat(dfd, tmpname, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC,
			    0600);
	}
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot create a file in %s: %s", q->dir,
			 strerror(errno));
		tmpname[0] = 0;
		goto out;
	}
	regs = calloc(vm->ncpus ? vm->ncpus : 1, sizeof(*regs));
	fpu = calloc(vm->ncpus ? vm->ncpus : 1, sizeof(*fpu));
	if (!regs || !fpu || pipe2(rep_p, O_CLOEXEC) < 0 ||
	    pipe2(stop_p, O_CLOEXEC) < 0) {
		rc = regs && fpu ? -errno : -ENOMEM;
		snprintf(err, errlen, "%s", strerror(-rc));
		goto out;
	}

	/* The stop: registers and the fork, nothing else. */
	vmm_target_live_init(&live, vm);
	uint64_t s0 = now_us();
	vmm_vm_pause(vm);
	for (unsigned i = 0; i < vm->ncpus && !rc; i++) {
		rc = live.ops->get_regs(&live, i, &regs[i]);
		if (!rc && live.ops->get_fpu(&live, i, &fpu[i]))
			fpu[i].size = 0;
	}
	pid_t pid = rc ? -1 : fork();
	if (pid == 0)
		child_write(fd, rep_p[1], stop_p[0], q, vm, regs, fpu);
	int fork_errno = errno;
	vmm_vm_resume(vm);
	res->stop_us = now_us() - s0;
	if (rc) {
		snprintf(err, errlen, "reading vCPU registers: %s",
			 strerror(-rc));
		goto out;
	}
	if (pid < 0) {
		rc = -fork_errno;
		snprintf(err, errlen, "fork for the dump writer: %s",
			 strerror(fork_errno));
		goto out;
	}
	(void)!write(stop_p[1], &res->stop_us, sizeof(res->stop_us));
	close(rep_p[1]);
	rep_p[1] = -1;

	struct child_report rep;
	ssize_t got;
	do
		got = read(rep_p[0], &rep, sizeof(rep));
	while (got < 0 && errno == EINTR);
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (got != (ssize_t)sizeof(rep)) {
		rc = -EPIPE;
		if (WIFSIGNALED(ws))
			snprintf(err, errlen, "the dump writer (pid %d) was "
				 "killed by signal %d (%s); no vmcore.%u was "
				 "written", (int)pid, WTERMSIG(ws),
				 strsignal(WTERMSIG(ws)), res->n);
		else
			snprintf(err, errlen, "the dump writer (pid %d) ended "
				 "without a report; no vmcore.%u was written",
				 (int)pid, res->n);
		goto out;
	}
	if (rep.rc) {
		rc = rep.rc;
		snprintf(err, errlen, "%s: %s; no vmcore.%u was kept", q->dir,
			 rep.err, res->n);
		goto out;
	}

	/* Give the finished file its name. */
	char name[32], proc[64];
	snprintf(name, sizeof(name), "vmcore.%u", res->n);
	if (tmpname[0]) {
		if (renameat(dfd, tmpname, dfd, name) < 0)
			rc = -errno;
		else
			tmpname[0] = 0;
	} else {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, proc, dfd, name, AT_SYMLINK_FOLLOW) < 0)
			rc = -errno;
	}
	if (rc) {
		snprintf(err, errlen, "naming %s: %s", res->path, strerror(-rc));
		goto out;
	}
	char bounds[32], bpath[PATH_MAX];
	int bn = snprintf(bounds, sizeof(bounds), "%u\n", res->n + 1);
	snprintf(bpath, sizeof(bpath), "%s/bounds", q->dir);
	(void)zs_write_atomic(bpath, bounds, (size_t)bn, 0644);
	fsync(dfd);
	res->file_size = rep.st.file_size;
	res->ram_bytes = rep.st.ram_bytes;
	res->saved_bytes = rep.st.saved_bytes;
	snprintf(res->panic_msg, sizeof(res->panic_msg), "%s", rep.st.panic_msg);
	res->total_us = now_us() - t0;
out:
	if (tmpname[0])
		unlinkat(dfd, tmpname, 0);
	for (int i = 0; i < 2; i++) {
		if (rep_p[i] >= 0)
			close(rep_p[i]);
		if (stop_p[i] >= 0)
			close(stop_p[i]);
	}
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);	/* drops the lock */
	free(regs);
	free(fpu);
	return rc;
}
