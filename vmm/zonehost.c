/*
 * kzhost's zone mode: one VM for one zone, driven by zoneadm.
 *
 * Two processes.  The supervisor forks the VM process and waits for it;
 * when the VM process is gone, however it went (power-off, halt, a crash,
 * kill -9), the supervisor logs why, sets the zone back to installed and
 * empties ROOT/run/ZONE.  The VM process builds the machine from the
 * zone's configuration (the same vmm_vm_create/vmm_vm_run as standalone
 * kzhost), serves the control socket, and writes the console log.
 *
 * Never prints to a terminal: stderr is the zone's log file, opened by
 * zoneadm before exec.  Every line logged carries a timestamp.
 */
#include "zonehost.h"
#include "ctl.h"
#include "debugctl.h"
#include "memory.h"
#include "store.h"
#include "vm.h"
#include "devices.h"
#include "board.h"
#include "zonecfg.h"
#include "dumpconf.h"
#include "savecore.h"
#include "con_server.h"
#include "dbg.h"
#include "dbg_host.h"
#include "gdbstub.h"
#include "kaslr.h"
#include "target.h"
#include "target_live.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct zonehost {
	const struct zonehost_opts *o;
	struct vmm_vm vm;
	struct zone_config *cfg;
	char kernel[ZS_PATH_MAX];
	/*
	 * Where the debuggers take kernel symbols from: boot/System.map
	 * when the zone has one (a Linux bzImage carries no symbols), else
	 * the kernel itself when it is an ELF file; "" for none.
	 */
	char symbols[ZS_PATH_MAX];
	char initrd[ZS_PATH_MAX];
	char cmdline[4096];
	struct con_server *con;	/* console ring, log and console.sock */
	struct dbg_host *dbg;	/* the kernel debugger, kmdb.sock */
	struct kz_target kmdb_target;	/* the live machine, for it */
	bool kmdb_armed;	/* boot -k: a panic enters the debugger */
	char bootargs[4096];	/* o->bootargs less the -k */
	bool vm_made;		/* console input may reach the UART */
	uint64_t console_in_bytes;	/* keystrokes the guest took (atomic) */
	int ctl_fd;
	int notify_fd;
	/* Guarded by vm.lock. */
	bool ready_hold;	/* vCPUs held until "boot" */
	bool panicked;
	bool halt_requested;
	bool reboot_requested;
	bool kmdb_holds;	/* the built-in debugger has the machine */
	pthread_cond_t panic_cond;
	int pinned[VMM_MAX_CPUS];
	unsigned npinned;
	struct kz_target gdb_target;	/* the live machine, for gdb */
	struct gdb_server *gdb;		/* run/ZONE/gdb.sock, TCP on demand */
	struct dbg *gdb_mon;		/* the debugger behind gdb's monitor */
	struct kz_target gdb_mon_target;	/* inspection only */
	char *mon_out;			/* monitor output, while one runs */
	size_t mon_len, mon_cap;
};

static void zlog(const char *zone, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void zlog(const char *zone, const char *fmt, ...)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", localtime_r(&now, &tm));
	fprintf(stderr, "%s kzhost[%d]: zone '%s': ", when, (int)getpid(), zone);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

static void notify(struct zonehost *z, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void notify(struct zonehost *z, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	if (z->notify_fd < 0)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)!write(z->notify_fd, buf, (size_t)n);
	close(z->notify_fd);
	z->notify_fd = -1;
}

/* Guest output, from vCPU threads: into the ring, never waiting. */
static void console_out(void *ctx, const uint8_t *buf, size_t len)
{
	struct zonehost *z = ctx;
	con_server_output(z->con, buf, len);
}

/* The console holder's keystrokes, from the console server's thread. */
static size_t console_in(void *ctx, const uint8_t *buf, size_t len)
{
	struct zonehost *z = ctx;
	if (!__atomic_load_n(&z->vm_made, __ATOMIC_ACQUIRE))
		return 0;
	if (z->dbg && dbg_host_console_input(z->dbg, buf, len))
		return len;	/* the debugger holds the console */
	size_t took = vmm_vm_console_input(&z->vm, buf, len);
	__atomic_add_fetch(&z->console_in_bytes, took, __ATOMIC_RELAXED);
	return took;
}

static void console_break(void *ctx, char *msg, size_t len)
{
	struct zonehost *z = ctx;
	if (!__atomic_load_n(&z->vm_made, __ATOMIC_ACQUIRE) || !z->dbg) {
		snprintf(msg, len, "break: no kernel debugger in this zone's "
			 "kzhost (see its log)");
		return;
	}
	dbg_host_break(z->dbg, msg, len);
}

/* ---- kmdb: the built-in debugger's hooks (debug/dbg_host.h) ---- */

static int kmdb_claim(void *ctx, char *holder, size_t len)
{
	struct zonehost *z = ctx;
	int rc = vmm_dbg_claim(&z->vm, "kmdb", holder, len);
	if (!rc) {
		pthread_mutex_lock(&z->vm.lock);
		z->kmdb_holds = true;
		pthread_mutex_unlock(&z->vm.lock);
	}
	return rc;
}

/* Leaving lets a panic's reboot policy go on (after_stop waits). */
static void kmdb_release(void *ctx)
{
	struct zonehost *z = ctx;
	vmm_dbg_release(&z->vm, "kmdb");
	pthread_mutex_lock(&z->vm.lock);
	z->kmdb_holds = false;
	pthread_cond_broadcast(&z->panic_cond);
	pthread_mutex_unlock(&z->vm.lock);
}

static void kmdb_console_out(void *ctx, const char *buf, size_t len)
{
	struct zonehost *z = ctx;
	con_server_output(z->con, buf, len);
}

static bool kmdb_panicked(void *ctx)
{
	struct zonehost *z = ctx;
	pthread_mutex_lock(&z->vm.lock);
	bool p = z->panicked;
	pthread_mutex_unlock(&z->vm.lock);
	return p;
}

static void kmdb_log(void *ctx, const char *msg)
{
	struct zonehost *z = ctx;
	zlog(z->o->zone, "%s", msg);
}

static void kmdb_console_in(void *ctx, const uint8_t *buf, size_t len)
{
	struct zonehost *z = ctx;
	size_t took = vmm_vm_console_input(&z->vm, buf, len);
	__atomic_add_fetch(&z->console_in_bytes, took, __ATOMIC_RELAXED);
}

static const struct dbg_host_ops kmdb_ops = {
	.claim = kmdb_claim, .release = kmdb_release,
	.console_out = kmdb_console_out, .log = kmdb_log,
	.console_in = kmdb_console_in, .panicked = kmdb_panicked,
};

static void kmdb_start(struct zonehost *z)
{
	char path[ZS_PATH_MAX], err[512];
	vmm_target_live_init(&z->kmdb_target, &z->vm);
	if (zs_path(path, sizeof(path), z->o->root, "run/%s/kmdb.sock",
		    z->o->zone)) {
		zlog(z->o->zone, "no kernel debugger: socket path too long");
		return;
	}
	const struct dbg_host_opts o = {
		.target = &z->kmdb_target,
		.kernel = z->symbols[0] ? z->symbols : NULL,
		.zone = z->o->zone, .sock_path = path, .ops = &kmdb_ops,
		.ctx = z,
	};
	if (dbg_host_create(&z->dbg, &o, err, sizeof(err)))
		zlog(z->o->zone, "no kernel debugger: %s", err);
	else if (z->kmdb_armed)
		zlog(z->o->zone, "kernel debugger armed: a panic enters it");
}

/*
 * "-k" among the boot arguments arms the debugger for panics (kmdb's
 * boot flag) and is not passed on to the guest.
 */
static void take_kmdb_flag(struct zonehost *z)
{
	const char *a = z->o->bootargs ? z->o->bootargs : "";
	size_t n = 0;
	z->bootargs[0] = 0;
	while (*a) {
		size_t w = strcspn(a, " \t");
		if (w == 2 && a[0] == '-' && a[1] == 'k') {
			z->kmdb_armed = true;
		} else if (w && n + w + 2 < sizeof(z->bootargs)) {
			if (n)
				z->bootargs[n++] = ' ';
			memcpy(z->bootargs + n, a, w);
			n += w;
			z->bootargs[n] = 0;
		}
		a += w;
		a += strspn(a, " \t");
	}
}

static void console_host_msg(struct zonehost *z, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Host messages in the console stream, marked so nobody takes them for the guest's. */
static void console_host_msg(struct zonehost *z, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	con_server_host_msg(z->con, "%s", msg);
}

/*
 * Dedicated CPUs: pick host CPUs no other running zone holds (each zone
 * records its own in run/ZONE/dedicated-cpus), under the index lock so
 * two zones booting at once cannot pick the same ones.
 */
static int claim_cpus(struct zonehost *z, unsigned n, char *err, size_t errlen)
{
	const char *root = z->o->root;
	long nhost = sysconf(_SC_NPROCESSORS_ONLN);
	bool taken[1024] = { false };
	struct zone_index idx;
	char path[ZS_PATH_MAX];
	int rc;

	int lk = zs_index_lock(root, err, errlen);
	if (lk < 0)
		return lk;
	rc = zs_index_read(root, &idx, err, errlen);
	if (rc)
		goto out;
	for (size_t i = 0; i < idx.n; i++) {
		if (strcmp(idx.zones[i].name, z->o->zone) == 0)
			continue;
		if (zs_path(path, sizeof(path), root, "run/%s/dedicated-cpus",
			    idx.zones[i].name))
			continue;
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		int c;
		while (fscanf(f, "%d", &c) == 1)
			if (c >= 0 && c < 1024)
				taken[c] = true;
		fclose(f);
	}
	zs_index_free(&idx);
	z->npinned = 0;
	for (long c = 0; c < nhost && c < 1024 && z->npinned < n; c++)
		if (!taken[c])
			z->pinned[z->npinned++] = (int)c;
	if (z->npinned < n) {
		snprintf(err, errlen,
			 "dedicated-cpu ncpus=%u: only %u of this host's %ld "
			 "CPUs are not dedicated to other zones",
			 n, z->npinned, nhost);
		rc = -EBUSY;
		goto out;
	}
	char list[4096];
	size_t used = 0;
	for (unsigned i = 0; i < z->npinned; i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used,
					 "%d\n", z->pinned[i]);
	rc = zs_path(path, sizeof(path), root, "run/%s/dedicated-cpus",
		     z->o->zone);
	if (!rc)
		rc = zs_write_atomic(path, list, used, 0644);
	if (rc)
		snprintf(err, errlen, "recording dedicated CPUs: %s",
			 strerror(-rc));
out:
	zs_unlock(lk);
	return rc;
}

static void pin_vcpus(struct zonehost *z)
{
	for (unsigned i = 0; z->npinned && i < z->vm.ncpus; i++) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(z->pinned[i % z->npinned], &set);
		pthread_setaffinity_np(z->vm.vcpus[i].thread, sizeof(set), &set);
	}
}

static void on_booted(void *ctx, unsigned boots)
{
	struct zonehost *z = ctx;
	(void)boots;	/* on_starting told of a reboot */
	char err[256];
	/* A reboot asked for by zoneadm is done once the machine is back. */
	pthread_mutex_lock(&z->vm.lock);
	z->reboot_requested = false;
	pthread_mutex_unlock(&z->vm.lock);
	pin_vcpus(z);
	enum zone_state s = z->ready_hold ? ZS_READY : ZS_RUNNING;
	if (zs_set_state(z->o->root, z->o->zone, s, err, sizeof(err)))
		zlog(z->o->zone, "cannot record state %s: %s",
		     zs_state_name(s), err);
	notify(z, "ok");
}

/* The console's state and a reboot's message go out before the new
 * boot's first output, not in the middle of it. */
static void on_starting(void *ctx, unsigned boots)
{
	struct zonehost *z = ctx;
	pthread_mutex_lock(&z->vm.lock);
	enum zone_state s = z->ready_hold ? ZS_READY : ZS_RUNNING;
	pthread_mutex_unlock(&z->vm.lock);
	con_server_state(z->con, zs_state_name(s), NULL);
	if (boots < 2)
		return;
	zlog(z->o->zone, "rebooted (boot %u)", boots);
	console_host_msg(z, "zone '%s' rebooted (boot %u)", z->o->zone, boots);
	if (z->dbg)
		dbg_host_rebooted(z->dbg);
}

static void reply(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reply(int fd, const char *fmt, ...)
{
	char buf[CTL_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)!write(fd, buf, (size_t)n);
}

typedef void (*ctl_verb_fn)(struct zonehost *z, int fd, const char *args);

static void verb_status(struct zonehost *z, int fd, const char *args)
{
	(void)args;
	pthread_mutex_lock(&z->vm.lock);
	bool ready = z->ready_hold, panicked = z->panicked;
	unsigned boots = z->vm.boots;
	pthread_mutex_unlock(&z->vm.lock);
	char holder[32];
	vmm_dbg_holder(&z->vm, holder, sizeof(holder));
	reply(fd, "state %s", ready ? "ready" : "running");
	/* Auxiliary states, comma-separated, as zoneadm list -s shows them. */
	reply(fd, "aux %s%s%s", panicked ? "panicked" : "",
	      panicked && holder[0] ? "," : "", holder[0] ? "debugging" : "");
	if (holder[0])
		reply(fd, "debugger %s", holder);
	reply(fd, "pid %d", (int)getpid());
	reply(fd, "boots %u", boots);
	reply(fd, "vcpus %u", z->vm.ncpus);
	reply(fd, "ok");
}

/*
 * kzhost's counters, for zonestat: one "KEY VALUE" line each.  vCPU
 * threads are named vcpuN (see vmm/vcpu.c), so their CPU time is read
 * from /proc by the caller, not here.  Device lines are the devices' own
 * counter lines, as "device LINE"; a counter a device does not keep is
 * absent, never a made-up 0.
 */
static void verb_stats(struct zonehost *z, int fd, const char *args)
{
	(void)args;
	struct con_server_stats cs;
	char dev[CTL_LINE_MAX];
	bool made = __atomic_load_n(&z->vm_made, __ATOMIC_ACQUIRE);

	con_server_get_stats(z->con, &cs);
	reply(fd, "pid %d", (int)getpid());
	reply(fd, "vcpus %u", z->vm.ncpus);
	reply(fd, "memory %llu", (unsigned long long)z->vm.mem.ram_size);
	reply(fd, "memory-locked %s", made && z->vm.mem.locked ? "yes" : "no");
	reply(fd, "page-backing %s",
	      made ? vmm_page_backing_name(z->vm.mem.backing) : "none");
	reply(fd, "console-out %llu", (unsigned long long)cs.output);
	reply(fd, "console-in %llu", (unsigned long long)__atomic_load_n(
		      &z->console_in_bytes, __ATOMIC_RELAXED));
	if (made) {
		vmm_vm_device_stats(&z->vm, dev, sizeof(dev));
		for (char *save = NULL, *l = strtok_r(dev, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save))
			reply(fd, "device %s", l);
	}
	reply(fd, "ok");
}

static void verb_boot(struct zonehost *z, int fd, const char *args)
{
	(void)args;
	char err[256];
	pthread_mutex_lock(&z->vm.lock);
	bool held = z->ready_hold;
	z->ready_hold = false;
	pthread_mutex_unlock(&z->vm.lock);
	if (!held) {
		reply(fd, "error zone is already running");
		return;
	}
	if (zs_set_state(z->o->root, z->o->zone, ZS_RUNNING, err, sizeof(err)))
		zlog(z->o->zone, "cannot record state running: %s", err);
	vmm_vm_resume(&z->vm);
	con_server_state(z->con, "running", NULL);
	zlog(z->o->zone, "booted from ready");
	reply(fd, "ok");
}

static void verb_halt(struct zonehost *z, int fd, const char *args)
{
	(void)args;
	pthread_mutex_lock(&z->vm.lock);
	z->halt_requested = true;
	pthread_cond_broadcast(&z->panic_cond);
	pthread_mutex_unlock(&z->vm.lock);
	vmm_vm_request_stop(&z->vm, VMM_STOP_HOST, "halted by zoneadm");
	reply(fd, "ok");
}

static void verb_reboot(struct zonehost *z, int fd, const char *args)
{
	(void)args;
	pthread_mutex_lock(&z->vm.lock);
	z->reboot_requested = true;
	bool was_ready = z->ready_hold;
	z->ready_hold = false;
	pthread_cond_broadcast(&z->panic_cond);
	pthread_mutex_unlock(&z->vm.lock);
	pthread_mutex_lock(&z->vm.lock);
	unsigned boots = z->vm.boots;
	pthread_mutex_unlock(&z->vm.lock);
	if (was_ready)
		vmm_vm_resume(&z->vm);
	vmm_vm_guest_reset(&z->vm, "reboot requested by zoneadm");
	/*
	 * Answer once the machine is up again, so that what the caller does
	 * next (a shutdown, say) reaches the new boot and not the old one.
	 */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&z->vm.lock);
	while (z->vm.boots == boots &&
	       pthread_cond_timedwait(&z->vm.cond, &z->vm.lock, &until) == 0)
		;
	bool rebooted = z->vm.boots != boots;
	pthread_mutex_unlock(&z->vm.lock);
	if (rebooted)
		reply(fd, "ok");
	else
		reply(fd, "error the zone did not come back within 30 s");
}

static void verb_shutdown(struct zonehost *z, int fd, const char *args)
{
	(void)args;
	struct vmm_dev *pm = vmm_board_dev(&z->vm, &vmm_acpi_pm_ops);
	if (!pm) {
		reply(fd, "error this machine has no ACPI power button");
		return;
	}
	vmm_acpi_pm_power_button(pm);
	con_server_state(z->con, "shutting_down", NULL);
	zlog(z->o->zone, "power button pressed for a clean shutdown");
	reply(fd, "ok");
}

static void verb_console_log(struct zonehost *z, int fd, const char *args)
{
	(void)args;
	char path[ZS_PATH_MAX];
	if (zs_path(path, sizeof(path), z->o->root, "log/%s.console",
		    z->o->zone))
		reply(fd, "error path too long");
	else
		reply(fd, "ok %s", path);
}

/* ---- gdb: the stub's hooks and its listeners ---- */

static int gdb_attach(void *ctx, char *msg, size_t len)
{
	struct zonehost *z = ctx;
	char holder[32];
	if (vmm_dbg_claim(&z->vm, "gdb", holder, sizeof(holder))) {
		snprintf(msg, len, "zone '%s' is being debugged by %s; only one "
			 "debugger at a time", z->o->zone, holder);
		zlog(z->o->zone, "gdb client refused: %s holds the zone", holder);
		return -EBUSY;
	}
	zlog(z->o->zone, "gdb attached; zone stopped");
	return 0;
}

/*
 * gdb's `monitor LINE`: the built-in debugger's commands, on a view of the
 * machine without run control (gdb keeps that), one engine per client.
 */
static void gdb_mon_out(void *ctx, const char *buf, size_t len)
{
	struct zonehost *z = ctx;
	if (!z->mon_out || z->mon_len + 1 >= z->mon_cap)
		return;
	if (len > z->mon_cap - 1 - z->mon_len)
		len = z->mon_cap - 1 - z->mon_len;
	memcpy(z->mon_out + z->mon_len, buf, len);
	z->mon_len += len;
	z->mon_out[z->mon_len] = 0;
}

static int gdb_monitor(void *ctx, const char *line, char *out, size_t outlen)
{
	struct zonehost *z = ctx;
	char err[256];
	if (!z->gdb_mon) {
		gdb_inspect_target(&z->gdb_mon_target, &z->gdb_target);
		const struct dbg_opts o = {
			.target = &z->gdb_mon_target, .out = gdb_mon_out,
			.out_ctx = z, .name = z->o->zone,
			.kernel = z->symbols[0] ? z->symbols : NULL,
			.prog = "kmdb",
		};
		if (dbg_create(&z->gdb_mon, &o, err, sizeof(err))) {
			z->gdb_mon = NULL;
			snprintf(out, outlen, "monitor: %s\n", err);
			return -EIO;
		}
	}
	z->mon_out = out;
	z->mon_cap = outlen;
	z->mon_len = 0;
	out[0] = 0;
	enum dbg_result r = dbg_exec(z->gdb_mon, line);
	z->mon_out = NULL;
	return r == DBG_ERR ? -EINVAL : 0;
}

static void gdb_release(void *ctx)
{
	struct zonehost *z = ctx;
	if (z->gdb_mon) {
		dbg_destroy(z->gdb_mon);
		z->gdb_mon = NULL;
	}
	vmm_dbg_release(&z->vm, "gdb");
	zlog(z->o->zone, "gdb detached; breakpoints removed, zone resumed");
}

static void gdb_kill(void *ctx)
{
	struct zonehost *z = ctx;
	zlog(z->o->zone, "gdb asked to kill the zone: halting");
	pthread_mutex_lock(&z->vm.lock);
	z->halt_requested = true;
	pthread_cond_broadcast(&z->panic_cond);
	pthread_mutex_unlock(&z->vm.lock);
	vmm_vm_request_stop(&z->vm, VMM_STOP_HOST, "killed from gdb");
}

/* qOffsets: the KASLR slide of a Linux guest (debug/kaslr.c), else 0. */
static int gdb_text_offset(void *ctx, uint64_t *offset)
{
	struct zonehost *z = ctx;
	uint64_t text;
	int64_t slide;
	if (!z->kernel[0] || kz_kernel_file_text(z->kernel, &text) ||
	    kz_kernel_slide(&z->gdb_target, 0, text, &slide))
		return -ENOENT;
	*offset = (uint64_t)slide;
	if (slide)
		zlog(z->o->zone, "gdb: kernel slid by 0x%llx (KASLR)",
		     (unsigned long long)slide);
	return 0;
}

static const struct gdb_stub_hooks gdb_hooks = {
	.attach = gdb_attach, .release = gdb_release, .kill = gdb_kill,
	.monitor = gdb_monitor, .text_offset = gdb_text_offset,
};

static void gdb_start(struct zonehost *z)
{
	char path[ZS_PATH_MAX], err[256];
	vmm_target_live_init(&z->gdb_target, &z->vm);
	if (gdb_server_new(&z->gdb, &z->gdb_target, &gdb_hooks, z)) {
		zlog(z->o->zone, "no gdb listener: out of memory");
		z->gdb = NULL;
		return;
	}
	if (zs_path(path, sizeof(path), z->o->root, "run/%s/gdb.sock",
		    z->o->zone) ||
	    gdb_server_listen_unix(z->gdb, path, err, sizeof(err)))
		zlog(z->o->zone, "no gdb socket: %s", err);
}

/* "gdb-listen ADDR PORT": a TCP listener for gdb, one client at a time. */
static void verb_gdb_listen(struct zonehost *z, int fd, const char *args)
{
	char addr[64], err[256], name[80];
	unsigned port;
	if (sscanf(args, "%63s %u", addr, &port) != 2) {
		reply(fd, "error usage: gdb-listen ADDR PORT");
		return;
	}
	if (!z->gdb) {
		reply(fd, "error this zone has no gdb stub");
		return;
	}
	if (gdb_server_listen_tcp(z->gdb, addr, port, err, sizeof(err))) {
		reply(fd, "error %s", err);
		return;
	}
	gdb_server_tcp_name(z->gdb, name, sizeof(name));
	zlog(z->o->zone, "gdb listens on %s", name);
	reply(fd, "listening %s", name);
	reply(fd, "ok");
}

/*
 * A crash dump of this zone into dir (savecore/savecore.c): the vCPUs
 * stop only for the copy.  The reason is "panic" once the guest panicked.
 */
static int dump_zone(struct zonehost *z, const char *dir,
		     struct savecore_result *res, char *err, size_t errlen)
{
	char uuid[37] = "", e[256];
	struct zone_index idx;
	if (zs_index_read(z->o->root, &idx, e, sizeof(e)) == 0) {
		struct zone_entry *ze = zs_index_find(&idx, z->o->zone);
		if (ze)
			snprintf(uuid, sizeof(uuid), "%s", ze->uuid);
		zs_index_free(&idx);
	}
	pthread_mutex_lock(&z->vm.lock);
	bool panicked = z->panicked;
	pthread_mutex_unlock(&z->vm.lock);
	const struct savecore_req q = {
		.dir = dir, .zone = z->o->zone, .uuid = uuid,
		.kernel_path = z->kernel,
		.symbols_path = z->symbols[0] ? z->symbols : NULL,
		.reason = panicked ? "panic" : "requested",
	};
	return savecore_vm(&z->vm, &q, res, err, errlen);
}

/* savecore [DIR]: DIR absolute; none means the configured place. */
static void verb_savecore(struct zonehost *z, int fd, const char *args)
{
	char dir[ZS_PATH_MAX], err[512];
	struct savecore_result res;
	if (!__atomic_load_n(&z->vm_made, __ATOMIC_ACQUIRE)) {
		reply(fd, "error the zone's machine is not built yet");
		return;
	}
	if (args[0]) {
		if (args[0] != '/') {
			reply(fd, "error dump directory '%.200s' is not an "
			      "absolute path", args);
			return;
		}
		snprintf(dir, sizeof(dir), "%s", args);
	} else {
		struct dumpconf dc;
		if (dumpconf_load(z->o->root, z->o->zone, &dc, NULL, err,
				  sizeof(err))) {
			reply(fd, "error dump settings: %s", err);
			return;
		}
		if (dumpconf_dir(z->o->root, &dc, z->o->zone, dir,
				 sizeof(dir))) {
			reply(fd, "error dump directory: path too long");
			return;
		}
	}
	if (dump_zone(z, dir, &res, err, sizeof(err))) {
		zlog(z->o->zone, "savecore: %s", err);
		reply(fd, "error %s", err);
		return;
	}
	zlog(z->o->zone, "savecore: %s, %llu bytes, zone stopped %llu us",
	     res.path, (unsigned long long)res.file_size,
	     (unsigned long long)res.stop_us);
	reply(fd, "file %s", res.path);
	reply(fd, "size %llu", (unsigned long long)res.file_size);
	reply(fd, "memory %llu", (unsigned long long)res.ram_bytes);
	reply(fd, "saved %llu", (unsigned long long)res.saved_bytes);
	reply(fd, "stopped-us %llu", (unsigned long long)res.stop_us);
	reply(fd, "time-us %llu", (unsigned long long)res.total_us);
	if (res.panic_msg[0])
		reply(fd, "panic %s", res.panic_msg);
	reply(fd, "ok");
}

static const struct ctl_verb {
	const char *name;
	ctl_verb_fn fn;
} ctl_verbs[] = {
	{ "status", verb_status },
	{ "boot", verb_boot },
	{ "halt", verb_halt },
	{ "reboot", verb_reboot },
	{ "shutdown", verb_shutdown },
	{ "console-log", verb_console_log },
	{ "stats", verb_stats },
	{ "gdb-listen", verb_gdb_listen },
	{ "savecore", verb_savecore },
};

static void ctl_serve_one(struct zonehost *z, int fd)
{
	char line[CTL_LINE_MAX];
	int n = ctl_read_line(fd, line, sizeof(line), 5000);
	if (n < 0) {
		if (n == -EMSGSIZE)
			reply(fd, "error request line too long");
		return;
	}
	char *args = strchr(line, ' ');
	if (args)
		*args++ = 0;
	for (size_t i = 0; i < sizeof(ctl_verbs) / sizeof(ctl_verbs[0]); i++) {
		if (strcmp(line, ctl_verbs[i].name) == 0) {
			ctl_verbs[i].fn(z, fd, args ? args : "");
			return;
		}
	}
	reply(fd, "error unknown request '%.64s'", line);
}

static void *ctl_thread(void *arg)
{
	struct zonehost *z = arg;
	for (;;) {
		int fd = accept4(z->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;	/* listener closed at exit */
		}
		ctl_serve_one(z, fd);
		close(fd);
	}
	return NULL;
}

static void find_symbols(struct zonehost *z)
{
	char map[ZS_PATH_MAX], magic[4] = { 0 };
	struct stat st;
	z->symbols[0] = 0;
	if (zs_path(map, sizeof(map), z->o->root, "zones/%s/boot/System.map",
		    z->o->zone) == 0 && stat(map, &st) == 0) {
		snprintf(z->symbols, sizeof(z->symbols), "%s", map);
		return;
	}
	int fd = open(z->kernel, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && pread(fd, magic, 4, 0) == 4 &&
	    memcmp(magic, "\177ELF", 4) == 0)
		snprintf(z->symbols, sizeof(z->symbols), "%s", z->kernel);
	else
		zlog(z->o->zone, "no kernel symbols: %s is not an ELF file and "
		     "boot/System.map is missing", z->kernel);
	if (fd >= 0)
		close(fd);
}

static int build_config(struct zonehost *z, struct vmm_config *vc, char *err,
			size_t errlen)
{
	const struct zone_config *c = z->cfg;
	struct stat st;

	if (zs_path(z->kernel, sizeof(z->kernel), z->o->root,
		    "zones/%s/boot/kernel", z->o->zone) ||
	    zs_path(z->initrd, sizeof(z->initrd), z->o->root,
		    "zones/%s/boot/initrd", z->o->zone)) {
		snprintf(err, errlen, "zone path too long");
		return -ENAMETOOLONG;
	}
	find_symbols(z);
	take_kmdb_flag(z);
	int n = snprintf(z->cmdline, sizeof(z->cmdline), "%s%s%s", c->bootargs,
			 c->bootargs[0] && z->bootargs[0] ? " " : "",
			 z->bootargs);
	if (n < 0 || (size_t)n >= sizeof(z->cmdline)) {
		snprintf(err, errlen, "boot arguments too long");
		return -E2BIG;
	}
	/* Unset means the smallest pages, as solaris-kz(7) has it. */
	enum vmm_pagesize_policy pol = VMM_PAGESIZE_SMALLEST_ONLY;
	if (c->pagesize_policy[0] &&
	    vmm_pagesize_policy_parse(c->pagesize_policy, &pol)) {
		snprintf(err, errlen, "pagesize-policy '%s' is not known",
			 c->pagesize_policy);
		return -EINVAL;
	}
	*vc = (struct vmm_config){
		.kernel_path = z->kernel,
		.initrd_path = stat(z->initrd, &st) == 0 ? z->initrd : NULL,
		.cmdline = z->cmdline,
		.ncpus = c->ncpus ? c->ncpus : 1,
		.mem_size = c->memory,
		.pagesize_policy = pol,
	};
	return zonehost_devices(c, z->o->zone, vc, err, errlen);
}

/* A console size from the environment (KZ_CONSOLE_*), or 0 for default. */
static int console_env_size(const char *name, uint64_t *v, char *err,
			    size_t errlen)
{
	const char *s = getenv(name);
	*v = 0;
	if (s && *s && con_size_parse(s, v)) {
		snprintf(err, errlen, "%s=%s: expected a size such as 64K or "
			 "1M", name, s);
		return -EINVAL;
	}
	return 0;
}

/*
 * The console server: ring, log/ZONE.console and run/ZONE/console.sock.
 * Sizes from KZ_CONSOLE_RING (ring, default 1M), KZ_CONSOLE_LOG_SIZE
 * (rotate the log past this, default 8M), KZ_CONSOLE_LOG_KEEP (rotated
 * logs kept, default 3).
 */
static int open_console_log(struct zonehost *z, char *err, size_t errlen)
{
	static const struct con_server_ops ops = { console_in, console_break };
	char log[ZS_PATH_MAX], sock[ZS_PATH_MAX];
	uint64_t ring, lmax, keep;
	int rc;
	if (zs_path(log, sizeof(log), z->o->root, "log/%s.console",
		    z->o->zone) ||
	    zs_path(sock, sizeof(sock), z->o->root, "run/%s/console.sock",
		    z->o->zone)) {
		snprintf(err, errlen, "console path too long");
		return -ENAMETOOLONG;
	}
	if ((rc = console_env_size("KZ_CONSOLE_RING", &ring, err, errlen)) ||
	    (rc = console_env_size("KZ_CONSOLE_LOG_SIZE", &lmax, err,
				   errlen)) ||
	    (rc = console_env_size("KZ_CONSOLE_LOG_KEEP", &keep, err, errlen)))
		return rc;
	const struct con_server_opts o = {
		.sock_path = sock, .log_path = log, .ring_size = (size_t)ring,
		.log_max = lmax, .log_keep = keep > 99 ? 100 : (unsigned)keep,
	};
	return con_server_create(&z->con, &o, &ops, z, err, errlen);
}

/*
 * After a guest panic: the automatic dump, when kzdumpadm(8) has it on.
 * Returns true when the zone's on-panic policy is to reboot.
 */
static bool panic_dump(struct zonehost *z)
{
	const char *zone = z->o->zone;
	char dir[ZS_PATH_MAX], err[512], size[32];
	struct dumpconf dc;
	struct savecore_result res;
	if (dumpconf_load(z->o->root, zone, &dc, NULL, err, sizeof(err))) {
		zlog(zone, "panic: no dump: settings: %s", err);
		console_host_msg(z, "panic: no dump saved: %s", err);
		return false;
	}
	if (!dc.enabled) {
		zlog(zone, "panic: dumps are off (kzdumpadm)");
	} else if (dumpconf_dir(z->o->root, &dc, zone, dir, sizeof(dir))) {
		zlog(zone, "panic: no dump: directory pattern too long");
		console_host_msg(z, "panic: no dump saved: directory too long");
	} else if (dump_zone(z, dir, &res, err, sizeof(err))) {
		zlog(zone, "panic: no dump saved: %s", err);
		console_host_msg(z, "panic: no dump saved: %s", err);
	} else {
		savecore_size_str(res.file_size, size, sizeof(size));
		zlog(zone, "panic: dump saved to %s (%s)", res.path, size);
		console_host_msg(z, "panic: dump saved to %s (%s)", res.path,
				 size);
	}
	return dc.reboot;
}

/*
 * A guest panic, as on a kernel zone: an armed debugger (boot -k) takes
 * it first and holds the machine until it is left ($q), so nothing the
 * host prints lands under its prompt; then the dump, if dumps are on;
 * then the on-panic policy: stay (until halt or reboot) or reboot.
 * Returns true to run the machine again.
 */
static bool after_panic(struct zonehost *z)
{
	const char *zone = z->o->zone;
	zlog(zone, "guest panicked; vCPUs held until halt or reboot");
	con_server_state(z->con, "running", "panicked");
	console_host_msg(z, "zone panicked");
	pthread_mutex_lock(&z->vm.lock);
	z->panicked = true;
	pthread_mutex_unlock(&z->vm.lock);
	if (z->kmdb_armed && z->dbg) {
		dbg_host_panic(z->dbg);
		pthread_mutex_lock(&z->vm.lock);
		if (z->kmdb_holds)
			zlog(zone, "the debugger took the panic; the dump and "
			     "the on-panic policy wait until it is left");
		while (z->kmdb_holds && !z->halt_requested &&
		       !z->reboot_requested)
			pthread_cond_wait(&z->panic_cond, &z->vm.lock);
		pthread_mutex_unlock(&z->vm.lock);
	}
	bool policy_reboot = panic_dump(z);
	pthread_mutex_lock(&z->vm.lock);
	if (policy_reboot)
		zlog(zone, "on-panic policy: reboot");
	while (!policy_reboot && !z->halt_requested && !z->reboot_requested)
		pthread_cond_wait(&z->panic_cond, &z->vm.lock);
	bool by_policy = policy_reboot && !z->halt_requested &&
			 !z->reboot_requested;
	bool reboot = (policy_reboot || z->reboot_requested) &&
		      !z->halt_requested;
	z->panicked = false;
	z->reboot_requested = false;
	pthread_mutex_unlock(&z->vm.lock);
	if (by_policy)
		console_host_msg(z, "rebooting after the panic");
	return reboot;
}

/* What to do after vmm_vm_run returns; true to run the machine again. */
static bool after_stop(struct zonehost *z, enum vmm_stop_reason why)
{
	const char *zone = z->o->zone;
	switch (why) {
	case VMM_STOP_POWEROFF:
		zlog(zone, "guest powered off");
		con_server_state(z->con, "down", NULL);
		console_host_msg(z, "zone powered off");
		return false;
	case VMM_STOP_HOST:
		pthread_mutex_lock(&z->vm.lock);
		bool again = z->reboot_requested && !z->halt_requested;
		z->reboot_requested = false;
		pthread_mutex_unlock(&z->vm.lock);
		zlog(zone, "%s", again ? "rebooting" : "halted");
		con_server_state(z->con, "down", NULL);
		console_host_msg(z, "zone %s", again ? "rebooting" : "halted");
		return again;
	case VMM_STOP_PANIC:
		return after_panic(z);
	default:
		zlog(zone, "machine stopped: %s", z->vm.stop_msg);
		con_server_state(z->con, "down", NULL);
		console_host_msg(z, "zone stopped: %s", z->vm.stop_msg);
		return false;
	}
}

/* SIGTERM or SIGINT to the VM process halts the zone, as zoneadm halt does. */
static void *signal_thread(void *arg)
{
	struct zonehost *z = arg;
	sigset_t set;
	int sig;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigwait(&set, &sig) == 0) {
		zlog(z->o->zone, "%s: halting", strsignal(sig));
		pthread_mutex_lock(&z->vm.lock);
		z->halt_requested = true;
		pthread_cond_broadcast(&z->panic_cond);
		pthread_mutex_unlock(&z->vm.lock);
		vmm_vm_request_stop(&z->vm, VMM_STOP_HOST, strsignal(sig));
	}
	return NULL;
}

/* The VM process.  Returns its exit status. */
static int vm_process(struct zonehost *z)
{
	const char *zone = z->o->zone;
	const char *root = z->o->root;
	struct vmm_config vc;
	char err[512], path[ZS_PATH_MAX];
	int status = 1;

	pthread_cond_init(&z->panic_cond, NULL);
	z->ctl_fd = -1;
	if (zcfg_load(root, zone, &z->cfg, err, sizeof(err)))
		goto fail;
	if (build_config(z, &vc, err, sizeof(err)) ||
	    open_console_log(z, err, sizeof(err)))
		goto fail;
	if (z->cfg->dedicated_cpu &&
	    claim_cpus(z, z->cfg->dcpu_min ? z->cfg->dcpu_min : z->cfg->ncpus,
		       err, sizeof(err)))
		goto fail;
	const struct vmm_console_ops cops = { .output = console_out,
					      .starting = on_starting,
					      .booted = on_booted };
	if (vmm_vm_create(&z->vm, &vc, &cops, z, err, sizeof(err)))
		goto fail;
	__atomic_store_n(&z->vm_made, true, __ATOMIC_RELEASE);
	if (!z->vm.mem.locked)
		zlog(zone, "warning: guest memory is not locked");

	if (ctl_socket_path(path, sizeof(path), root, zone) ||
	    (z->ctl_fd = ctl_listen(path)) < 0) {
		snprintf(err, sizeof(err), "control socket %s: %s", path,
			 strerror(z->ctl_fd < 0 ? -z->ctl_fd : ENAMETOOLONG));
		z->ctl_fd = -1;
		goto fail_vm;
	}
	gdb_start(z);
	kmdb_start(z);
	pthread_t ctl_tid, sig_tid;
	pthread_create(&ctl_tid, NULL, ctl_thread, z);
	pthread_create(&sig_tid, NULL, signal_thread, z);
	pthread_detach(sig_tid);

	if (z->o->ready) {
		z->ready_hold = true;
		vmm_vm_pause(&z->vm);	/* the vCPUs start parked */
	}
	zlog(zone, "%s: %u vCPUs, %llu MiB (%s), kernel %s",
	     z->o->ready ? "ready" : "booting", vc.ncpus,
	     (unsigned long long)(vc.mem_size >> 20),
	     vmm_page_backing_name(z->vm.mem.backing), vc.kernel_path);
	console_host_msg(z, "zone '%s' %s", zone,
			 z->o->ready ? "ready" : "booting");
	for (;;) {
		enum vmm_stop_reason why = vmm_vm_run(&z->vm);
		if (why == VMM_STOP_ERROR && z->notify_fd >= 0) {
			snprintf(err, sizeof(err), "%s", z->vm.stop_msg);
			notify(z, "error %s", err);
		}
		if (!after_stop(z, why))
			break;
	}
	status = 0;
	shutdown(z->ctl_fd, SHUT_RDWR);
	close(z->ctl_fd);
	pthread_join(ctl_tid, NULL);
	gdb_server_free(z->gdb);	/* a client still attached is detached */
	z->gdb = NULL;
	dbg_host_destroy(z->dbg);
	z->dbg = NULL;
fail_vm:
	if (status) {
		zlog(zone, "%s", err);
		notify(z, "error %s", err);
	}
	__atomic_store_n(&z->vm_made, false, __ATOMIC_RELEASE);
	con_server_destroy(z->con);	/* after the last host message */
	vmm_vm_destroy(&z->vm);
	zcfg_free(z->cfg);
	return status;
fail:
	zlog(zone, "%s", err);
	notify(z, "error %s", err);
	con_server_destroy(z->con);
	zcfg_free(z->cfg);
	return 1;
}


static int write_pid(const char *root, const char *zone, const char *file,
		     pid_t pid)
{
	char path[ZS_PATH_MAX], buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	int rc = zs_path(path, sizeof(path), root, "run/%s/%s", zone, file);
	return rc ? rc : zs_write_atomic(path, buf, (size_t)n, 0644);
}

/*
 * A running zone's numeric id, as zoneadm list shows it: the lowest id
 * from 1 up that no other running zone has, chosen under the index lock.
 */
static void claim_zoneid(const char *root, const char *zone)
{
	char err[256], path[ZS_PATH_MAX], buf[16];
	struct zone_index idx;
	bool used[4096] = { false };
	int lk = zs_index_lock(root, err, sizeof(err));
	if (lk < 0)
		return;
	if (zs_index_read(root, &idx, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < idx.n; i++) {
			int id = 0;
			if (strcmp(idx.zones[i].name, zone) == 0 ||
			    zs_path(path, sizeof(path), root, "run/%s/zoneid",
				    idx.zones[i].name))
				continue;
			FILE *f = fopen(path, "re");
			if (f && fscanf(f, "%d", &id) == 1 && id > 0 && id < 4096)
				used[id] = true;
			if (f)
				fclose(f);
		}
		zs_index_free(&idx);
	}
	int id = 1;
	while (id < 4095 && used[id])
		id++;
	int n = snprintf(buf, sizeof(buf), "%d\n", id);
	if (!zs_path(path, sizeof(path), root, "run/%s/zoneid", zone))
		(void)zs_write_atomic(path, buf, (size_t)n, 0644);
	zs_unlock(lk);
}

static volatile sig_atomic_t forward_sig;

static void supervisor_sig(int sig)
{
	forward_sig = sig;
}

int zonehost_main(const struct zonehost_opts *o)
{
	char err[256], path[ZS_PATH_MAX];

	if (zs_root_init(o->root, err, sizeof(err)) ||
	    zs_path(path, sizeof(path), o->root, "run/%s", o->zone)) {
		zlog(o->zone, "%s", err);
		return 1;
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		zlog(o->zone, "cannot create %s: %s", path, strerror(errno));
		return 1;
	}
	claim_zoneid(o->root, o->zone);
	pid_t child = fork();
	if (child < 0) {
		zlog(o->zone, "fork: %s", strerror(errno));
		return 1;
	}
	if (child == 0) {
		struct zonehost *z = calloc(1, sizeof(*z));
		if (!z)
			_exit(1);
		z->o = o;
		z->notify_fd = o->notify_fd;
		/* Blocked in every thread; the signal thread takes them. */
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		signal(SIGHUP, SIG_IGN);
		/*
		 * The zoneadm waiting on the notify pipe may be gone (Ctrl-C)
		 * before we report: that must not kill the zone.
		 */
		signal(SIGPIPE, SIG_IGN);
		_exit(vm_process(z));
	}
	/* The supervisor does not need the notify pipe: the VM process owns it. */
	if (o->notify_fd >= 0)
		close(o->notify_fd);
	/* zoneadm leaves the clean-up to a live supervisor. */
	if (write_pid(o->root, o->zone, "kzhost.pid", child) ||
	    write_pid(o->root, o->zone, "supervisor.pid", getpid()))
		zlog(o->zone, "cannot write pid files: %s", strerror(errno));

	struct sigaction sa = { .sa_handler = supervisor_sig };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	int wstatus;
	for (;;) {
		pid_t r = waitpid(child, &wstatus, 0);
		if (r == child)
			break;
		if (r < 0 && errno == EINTR && forward_sig) {
			/* A signal to the supervisor halts the zone cleanly. */
			kill(child, SIGTERM);
			forward_sig = 0;
		}
	}
	if (WIFSIGNALED(wstatus))
		zlog(o->zone, "VM process %d died: killed by signal %d (%s)",
		     (int)child, WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));
	else if (WEXITSTATUS(wstatus))
		zlog(o->zone, "VM process %d ended with status %d", (int)child,
		     WEXITSTATUS(wstatus));
	zs_run_dir_clear(o->root, o->zone);
	if (zs_set_state(o->root, o->zone, ZS_INSTALLED, err, sizeof(err)))
		zlog(o->zone, "cannot set state installed: %s", err);
	else
		zlog(o->zone, "state installed");
	return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 1;
}
