/*
 * kzhost: runs one virtual machine.
 *
 * Standalone, like lkvm or firecracker: the kernel, memory and vCPUs come
 * from the command line and the console is this process's stdio (or a
 * file or terminal device).  Zone use (-z ZONE, started by zoneadm; see
 * zonehost.c) builds the same struct vmm_config from a zone's
 * configuration and runs the same vmm_vm_run().
 *
 * Exit status: 0 the guest powered off, 1 error, 2 usage, 3 the guest
 * panicked, 128+N stopped by signal N.
 */
#include "memory.h"
#include "store.h"
#include "tap.h"
#include "vcpu.h"
#include "vm.h"
#include "zonehost.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define PROG "kzhost"
#define EXIT_PANIC 3

struct console {
	int in_fd;		/* -1 when the console takes no input */
	int out_fd;
	bool raw;		/* in_fd is a terminal we put in raw mode */
	struct termios saved;
	struct vmm_vm *vm;
	int wake[2];		/* tells the input thread to end */
};

static void console_output(void *ctx, const uint8_t *buf, size_t len)
{
	struct console *c = ctx;
	while (len) {
		ssize_t n = write(c->out_fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* console gone: the guest runs on regardless */
		buf += n;
		len -= (size_t)n;
	}
}

/* Offer input to the guest, waiting while its receive buffer is full. */
static bool console_feed(struct console *c, const uint8_t *buf, size_t len)
{
	while (len) {
		size_t n = vmm_vm_console_input(c->vm, buf, len);
		buf += n;
		len -= n;
		if (len) {
			struct pollfd p = { .fd = c->wake[0], .events = POLLIN };
			if (poll(&p, 1, 10) > 0)
				return false;
		}
	}
	return true;
}

static const char escape_help[] =
	"\r\n[kzhost escapes: ~. quit  ~? help  ~~ send ~]\r\n";

/*
 * Terminal escapes at the start of a line, as ssh and zlogin have them,
 * so that a console in raw mode can still be left.  Returns false to quit.
 */
static bool console_escape(struct console *c, uint8_t ch, int *state)
{
	enum { LINE_START, MID_LINE, SAW_TILDE };
	if (*state == SAW_TILDE) {
		*state = MID_LINE;
		switch (ch) {
		case '.':
			vmm_vm_request_stop(c->vm, VMM_STOP_HOST,
					    "console escape");
			return false;
		case '?':
			console_output(c, (const uint8_t *)escape_help,
				       sizeof(escape_help) - 1);
			*state = LINE_START;
			return true;
		case '~':
			return console_feed(c, &ch, 1);
		default: {
			const uint8_t two[2] = { '~', ch };
			return console_feed(c, two, 2);
		}
		}
	}
	if (*state == LINE_START && ch == '~') {
		*state = SAW_TILDE;
		return true;
	}
	*state = (ch == '\r' || ch == '\n') ? LINE_START : MID_LINE;
	return console_feed(c, &ch, 1);
}

static void *console_input_thread(void *arg)
{
	struct console *c = arg;
	int state = 0;
	uint8_t buf[256];

	for (;;) {
		struct pollfd p[2] = { { .fd = c->in_fd, .events = POLLIN },
				       { .fd = c->wake[0], .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		ssize_t n = read(c->in_fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;	/* end of input: the guest keeps running */
		bool go_on = true;
		for (ssize_t i = 0; i < n && go_on; i++) {
			if (c->raw)
				go_on = console_escape(c, buf[i], &state);
			else
				go_on = console_feed(c, &buf[i], 1);
		}
		if (!go_on)
			break;
	}
	return NULL;
}

static int console_open(struct console *c, const char *spec, char *err,
			size_t errlen)
{
	c->in_fd = -1;
	c->out_fd = -1;
	c->raw = false;
	if (pipe(c->wake) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if (strcmp(spec, "stdio") == 0) {
		c->in_fd = STDIN_FILENO;
		c->out_fd = STDOUT_FILENO;
	} else {
		struct stat st;
		bool is_dev = stat(spec, &st) == 0 && S_ISCHR(st.st_mode);
		int fd = is_dev ? open(spec, O_RDWR | O_NOCTTY | O_CLOEXEC)
				: open(spec, O_WRONLY | O_CREAT | O_APPEND |
						     O_CLOEXEC, 0640);
		if (fd < 0) {
			snprintf(err, errlen, "console %s: %s", spec,
				 strerror(errno));
			return -1;
		}
		c->out_fd = fd;
		c->in_fd = is_dev ? fd : -1;
	}
	if (c->in_fd >= 0 && isatty(c->in_fd) &&
	    tcgetattr(c->in_fd, &c->saved) == 0) {
		struct termios t = c->saved;
		cfmakeraw(&t);
		/* Keep output post-processing off too: the guest sends CRLF. */
		if (tcsetattr(c->in_fd, TCSANOW, &t) == 0)
			c->raw = true;
	}
	return 0;
}

static void console_close(struct console *c)
{
	if (c->raw)
		tcsetattr(c->in_fd, TCSANOW, &c->saved);
	if (c->out_fd > STDERR_FILENO)
		close(c->out_fd);
	close(c->wake[0]);
	close(c->wake[1]);
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	unsigned shift = 20;	/* a bare number is MiB, as in QEMU's -m */
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 0: break;
	default: return -1;
	}
	if (*end || v == 0 || v > (~0ULL >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " --kernel FILE [--initrd FILE] [--cmdline STR]\n"
		"              [--cpus N] [--memory SIZE]\n"
		"              [--pagesize-policy largest-only|largest-available|"
		"smallest-only]\n"
		"              [--console stdio|PATH]\n"
		"              [--disk PATH[,ro][,id=N]]... "
		"[--net tap=NAME[,bridge=BR][,mac=MAC][,nospoof]\n"
		"              [,maxbw=BITS][,id=N]]... [--stats]\n"
		"       " PROG " [-R ROOT] -z ZONE [--ready] [--bootargs STR] "
		"[--notify-fd N]\n");
}

struct options {
	struct vmm_config cfg;
	const char *console;
	bool stats;		/* device counters on stderr at the end */
	struct zonehost_opts zone;
};

/* --disk PATH[,ro][,id=N]: ids default to the next free one. */
static int parse_disk(struct vmm_config *c, char *arg)
{
	if (c->ndisks == VMM_MAX_DISKS)
		return -1;
	struct vmm_disk_config *d = &c->disks[c->ndisks];
	char *save, *tok = strtok_r(arg, ",", &save);
	if (!tok || strlen(tok) >= sizeof(d->path))
		return -1;
	snprintf(d->path, sizeof(d->path), "%s", tok);
	d->id = c->ndisks;
	while ((tok = strtok_r(NULL, ",", &save))) {
		char *end;
		if (strcmp(tok, "ro") == 0)
			d->readonly = true;
		else if (strncmp(tok, "id=", 3) == 0) {
			unsigned long v = strtoul(tok + 3, &end, 10);
			if (*end || end == tok + 3 || v >= VMM_MAX_DISKS)
				return -1;
			d->id = (unsigned)v;
		} else
			return -1;
	}
	c->ndisks++;
	return 0;
}

/* --net tap=NAME[,bridge=BR][,mac=MAC|random][,nospoof][,maxbw=N][,id=N] */
static int parse_net(struct vmm_config *c, char *arg)
{
	if (c->nnets == VMM_MAX_NETS)
		return -1;
	struct vmm_net_config *n = &c->nets[c->nnets];
	char *save, *tok;
	bool have_mac = false;
	n->id = c->nnets;
	for (tok = strtok_r(arg, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *v = strchr(tok, '='), *end;
		if (v)
			*v++ = 0;
		if (strcmp(tok, "tap") == 0 && v && strlen(v) < sizeof(n->tap))
			snprintf(n->tap, sizeof(n->tap), "%s", v);
		else if (strcmp(tok, "bridge") == 0 && v &&
			 strlen(v) < sizeof(n->bridge))
			snprintf(n->bridge, sizeof(n->bridge), "%s", v);
		else if (strcmp(tok, "mac") == 0 && v &&
			 strcmp(v, "random") == 0)
			vmm_mac_random(n->mac), have_mac = true;
		else if (strcmp(tok, "mac") == 0 && v) {
			if (vmm_mac_parse(v, n->mac))
				return -1;
			have_mac = true;
		} else if (strcmp(tok, "nospoof") == 0 && !v)
			n->nospoof = true;
		else if (strcmp(tok, "maxbw") == 0 && v) {
			n->maxbw = strtoull(v, &end, 10);
			if (*end || end == v)
				return -1;
		} else if (strcmp(tok, "id") == 0 && v) {
			unsigned long id = strtoul(v, &end, 10);
			if (*end || end == v || id >= VMM_MAX_NETS)
				return -1;
			n->id = (unsigned)id;
		} else
			return -1;
	}
	if (!n->tap[0])
		return -1;
	if (!have_mac)
		vmm_mac_auto("kzhost", n->tap, n->mac);
	snprintf(n->link, sizeof(n->link), "net%u", n->id);
	c->nnets++;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "cpus", required_argument, NULL, 'n' },
		{ "memory", required_argument, NULL, 'm' },
		{ "pagesize-policy", required_argument, NULL, 'p' },
		{ "console", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "zone", required_argument, NULL, 'z' },
		{ "root", required_argument, NULL, 'R' },
		{ "ready", no_argument, NULL, 'r' },
		{ "bootargs", required_argument, NULL, 'b' },
		{ "notify-fd", required_argument, NULL, 'N' },
		{ "disk", required_argument, NULL, 'D' },
		{ "net", required_argument, NULL, 'T' },
		{ "stats", no_argument, NULL, 'S' },
		{ 0 }
	};
	char *end;
	int opt;

	*o = (struct options){
		.cfg = { .cmdline = "", .ncpus = 1, .mem_size = 256ULL << 20,
			 .pagesize_policy = VMM_PAGESIZE_LARGEST_AVAILABLE },
		.console = "stdio",
		.zone = { .notify_fd = -1 },
	};
	while ((opt = getopt_long(argc, argv, "R:z:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'z': o->zone.zone = optarg; break;
		case 'R': o->zone.root = optarg; break;
		case 'r': o->zone.ready = true; break;
		case 'b': o->zone.bootargs = optarg; break;
		case 'N':
			o->zone.notify_fd = atoi(optarg);
			break;
		case 'k': o->cfg.kernel_path = optarg; break;
		case 'i': o->cfg.initrd_path = optarg; break;
		case 'c': o->cfg.cmdline = optarg; break;
		case 'C': o->console = optarg; break;
		case 'S': o->stats = true; break;
		case 'D':
			if (parse_disk(&o->cfg, optarg)) {
				fprintf(stderr, PROG ": --disk: need PATH[,ro]"
					"[,id=N] with N below %u, at most %u "
					"disks\n", VMM_MAX_DISKS, VMM_MAX_DISKS);
				return 2;
			}
			break;
		case 'T':
			if (parse_net(&o->cfg, optarg)) {
				fprintf(stderr, PROG ": --net: need tap=NAME"
					"[,bridge=BR][,mac=MAC|random][,nospoof]"
					"[,maxbw=BITS][,id=N], at most %u "
					"links\n", VMM_MAX_NETS);
				return 2;
			}
			break;
		case 'n':
			errno = 0;
			unsigned long n = strtoul(optarg, &end, 10);
			if (errno || *end || n < 1 || n > VMM_MAX_CPUS) {
				fprintf(stderr,
					PROG ": --cpus %s: need a number from 1 "
					     "to %u\n", optarg, VMM_MAX_CPUS);
				return 2;
			}
			o->cfg.ncpus = (unsigned)n;
			break;
		case 'm':
			if (parse_size(optarg, &o->cfg.mem_size)) {
				fprintf(stderr,
					PROG ": --memory %s: need a size such "
					     "as 256M or 2G\n", optarg);
				return 2;
			}
			break;
		case 'p':
			if (vmm_pagesize_policy_parse(optarg,
						      &o->cfg.pagesize_policy)) {
				fprintf(stderr,
					PROG ": --pagesize-policy %s: need "
					     "largest-only, largest-available "
					     "or smallest-only\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	if (o->zone.zone) {
		o->zone.root = zs_root(o->zone.root);
		return 0;
	}
	if (!o->cfg.kernel_path) {
		fprintf(stderr, PROG ": no kernel given (--kernel FILE)\n");
		usage(stderr);
		return 2;
	}
	return 0;
}

struct signal_waiter {
	sigset_t set;
	struct vmm_vm *vm;
	volatile int signo;
};

/* Signals become a host stop request; the main thread does the rest. */
static void *signal_thread(void *arg)
{
	struct signal_waiter *w = arg;
	int sig;
	if (sigwait(&w->set, &sig) == 0 && sig != SIGUSR1) {
		w->signo = sig;
		vmm_vm_request_stop(w->vm, VMM_STOP_HOST, strsignal(sig));
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct options o;
	struct console con;
	struct vmm_vm *vm;
	char err[512];
	int status = 1;

	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	if (o.zone.zone)
		return zonehost_main(&o.zone);

	/* Block the signals we wait for before any thread exists. */
	struct signal_waiter sw = { .signo = 0 };
	sigemptyset(&sw.set);
	sigaddset(&sw.set, SIGINT);
	sigaddset(&sw.set, SIGTERM);
	sigaddset(&sw.set, SIGHUP);
	sigaddset(&sw.set, SIGUSR1);	/* "we are done": ends the thread */
	pthread_sigmask(SIG_BLOCK, &sw.set, NULL);
	signal(SIGPIPE, SIG_IGN);

	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	if (console_open(&con, o.console, err, sizeof(err))) {
		fprintf(stderr, PROG ": %s\n", err);
		free(vm);
		return 1;
	}
	const struct vmm_console_ops cops = { .output = console_output };
	if (vmm_vm_create(vm, &o.cfg, &cops, &con, err, sizeof(err))) {
		console_close(&con);
		fprintf(stderr, PROG ": %s\n", err);
		free(vm);
		return 1;
	}
	if (!vm->mem.locked)
		fprintf(stderr, PROG ": warning: guest memory could not be "
				"locked (RLIMIT_MEMLOCK); it may be paged\n");
	con.vm = vm;
	sw.vm = vm;

	pthread_t sig_tid, in_tid;
	bool in_started = false;
	pthread_create(&sig_tid, NULL, signal_thread, &sw);
	if (con.in_fd >= 0)
		in_started = pthread_create(&in_tid, NULL, console_input_thread,
					    &con) == 0;

	enum vmm_stop_reason why = vmm_vm_run(vm);
	if (o.stats) {
		char stats[4096];
		vmm_vm_device_stats(vm, stats, sizeof(stats));
		fprintf(stderr, "%s", stats);
		/* Exits as KVM counts them, and those that came out to us. */
		for (unsigned i = 0; i < vm->ncpus; i++) {
			uint64_t kx;
			if (vmm_vcpu_kvm_stat(&vm->vcpus[i], "exits", &kx))
				fprintf(stderr, "vcpu%u: exits - (no KVM stats) "
					"kvm-run-returns %llu\n", i,
					(unsigned long long)vm->vcpus[i].exits);
			else
				fprintf(stderr, "vcpu%u: exits %llu "
					"kvm-run-returns %llu\n", i,
					(unsigned long long)kx,
					(unsigned long long)vm->vcpus[i].exits);
		}
	}

	if (in_started) {
		(void)!write(con.wake[1], "", 1);
		pthread_join(in_tid, NULL);
	}
	console_close(&con);

	switch (why) {
	case VMM_STOP_POWEROFF:
		status = 0;
		break;
	case VMM_STOP_PANIC:
		fprintf(stderr, PROG ": guest panicked (pvpanic 0x%llx)\n",
			(unsigned long long)vm->panic_code);
		status = EXIT_PANIC;
		break;
	case VMM_STOP_HOST:
		status = sw.signo ? 128 + sw.signo : 0;
		break;
	default:
		fprintf(stderr, PROG ": %s\n", vm->stop_msg);
		status = 1;
		break;
	}
	vmm_vm_destroy(vm);
	free(vm);
	if (!sw.signo)
		pthread_kill(sig_tid, SIGUSR1);
	pthread_join(sig_tid, NULL);
	return status;
}
