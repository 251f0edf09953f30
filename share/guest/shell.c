/*
 * The serial console shell: read a line (with echo and backspace), split
 * it into words, look the first one up in a table.
 *
 * The shell runs on the BSP.  While it waits for a key the BSP halts with
 * interrupts on (the UART IRQ wakes it), and its kz_cpu state says idle;
 * while a command runs it says busy.  kz_shell_exec() is also what a
 * debugger would call to run a command line by hand.
 */
#include "kzguest.h"

#define LINE_MAX	256
#define ARGV_MAX	16

struct shell_cmd {
	const char *name;
	const char *usage;
	const char *help;
	int (*fn)(int argc, char **argv);
};

static const struct shell_cmd commands[];

/* Wait for a key without spinning: check, else HLT until an interrupt. */
static int wait_key(void)
{
	struct kz_cpu *c = this_cpu();
	int ch;

	for (;;) {
		cli();
		if (kz_power_button) {
			/* The host asked for a clean shutdown. */
			sti();
			kz_printf("\npower button pressed: shutting down\n");
			acpi_poweroff();
		}
		virtio_poll();
		ch = kz_hvc_console ? hvc_getc() : uart_getc();
		if (ch >= 0) {
			sti();
			return ch;
		}
		c->state = KZ_CPU_IDLE;
		sti_hlt();
	}
}

static void join_args(int argc, char **argv, char *buf, size_t len)
{
	size_t pos = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (pos + n + 2 > len)
			break;
		if (i)
			buf[pos++] = ' ';
		memcpy(buf + pos, argv[i], n);
		pos += n;
		buf[pos] = '\0';
	}
}

static int cmd_help(int argc __unused, char **argv __unused)
{
	const struct shell_cmd *c;

	for (c = commands; c->name; c++)
		kz_printf("  %-8s %-8s %s\n", c->name, c->usage, c->help);
	return 0;
}

static int cmd_echo(int argc, char **argv)
{
	char buf[LINE_MAX];

	join_args(argc - 1, argv + 1, buf, sizeof(buf));
	kz_printf("%s\n", buf);
	return 0;
}

static int cmd_uname(int argc __unused, char **argv __unused)
{
	kz_printf("kzguest %s x86_64\n", KZ_VERSION);
	return 0;
}

static int cmd_uptime(int argc __unused, char **argv __unused)
{
	uint64_t t = kz_ticks;

	kz_printf("up %lu.%02lu seconds (%lu ticks at %u Hz)\n",
		  t / KZ_HZ, (t % KZ_HZ) * 100 / KZ_HZ, t, KZ_HZ);
	return 0;
}

static int cmd_cpus(int argc __unused, char **argv __unused)
{
	static const char *const states[] = {
		[KZ_CPU_OFFLINE] = "offline",
		[KZ_CPU_IDLE] = "online idle",
		[KZ_CPU_BUSY] = "online busy",
		[KZ_CPU_STOPPED] = "stopped",
	};
	unsigned i;

	for (i = 0; i < kz_ncpus; i++)
		kz_printf("cpu%u apic %u %s\n", i, kz_cpus[i].apic_id,
			  states[kz_cpus[i].state & 3]);
	return 0;
}

static int cmd_mem(int argc __unused, char **argv __unused)
{
	kz_mem_print();
	return 0;
}

static int cmd_count(int argc, char **argv)
{
	uint64_t n, i;

	if (argc != 2 || !kz_parse_uint(argv[1], &n)) {
		kz_printf("usage: count N\n");
		return 1;
	}
	for (i = 1; i <= n; i++)
		kz_printf("count %lu\n", i);
	return 0;
}

static int cmd_spin(int argc __unused, char **argv __unused)
{
	uint64_t start = kz_ticks;

	kz_printf("spinning on cpu%u; type a key to stop\n",
		  this_cpu()->index);
	while (!uart_rx_pending())
		cpu_relax();
	(void)uart_getc();
	kz_printf("spun for %lu ticks\n", kz_ticks - start);
	return 0;
}

/*
 * Store a generation number at the start of every page of the region,
 * over and over, so that each pass dirties every page once (for the
 * host's dirty logging, migration and suspend tests).
 */
static int cmd_dirty(int argc, char **argv)
{
	uint64_t mib, pa, gen = 0, pages, p;

	if (argc != 2 || !kz_parse_uint(argv[1], &mib) || !mib ||
	    mib > (1ULL << 20)) {
		kz_printf("usage: dirty MIB\n");
		return 1;
	}
	if (!kz_free_range(mib << 20, &pa)) {
		kz_printf("dirty: no free range of %lu MiB\n", mib);
		return 1;
	}
	pages = mib << 8;
	kz_printf("dirtying %lu MiB at %lx; type a key to stop\n", mib, pa);
	while (!uart_rx_pending()) {
		volatile uint64_t *base = phys_to_virt(pa);

		gen++;
		for (p = 0; p < pages; p++) {
			base[p * 512] = gen;
			if ((p & 255) == 255 && uart_rx_pending())
				break;
		}
	}
	(void)uart_getc();
	kz_printf("dirty: %lu generations\n", gen);
	return 0;
}

static int cmd_panic(int argc, char **argv)
{
	char msg[LINE_MAX];

	join_args(argc - 1, argv + 1, msg, sizeof(msg));
	kz_panic("%s", msg[0] ? msg : "requested from the shell");
}

static int cmd_reboot(int argc __unused, char **argv __unused)
{
	kz_printf("rebooting\n");
	acpi_reboot();
}

static int cmd_poweroff(int argc __unused, char **argv __unused)
{
	kz_printf("powering off\n");
	acpi_poweroff();
}

static const struct shell_cmd commands[] = {
	{ "help",	"",	"list the commands",		cmd_help },
	{ "echo",	"ARGS",	"print the arguments",		cmd_echo },
	{ "uname",	"",	"name, version and machine",	cmd_uname },
	{ "uptime",	"",	"seconds since boot",		cmd_uptime },
	{ "cpus",	"",	"vCPUs, APIC ids and states",	cmd_cpus },
	{ "mem",	"",	"memory map and totals",	cmd_mem },
	{ "count",	"N",	"print count 1 .. count N",	cmd_count },
	{ "spin",	"",	"busy loop until a key",	cmd_spin },
	{ "dirty",	"MIB",	"rewrite MIB MiB until a key",	cmd_dirty },
	{ "panic",	"[MSG]", "panic the kernel",		cmd_panic },
	{ "disks",	"",	"virtio disks: ids and sizes",	cmd_disks },
	{ "dread",	"ID LBA", "show a sector's first bytes", cmd_dread },
	{ "dwrite",	"ID LBA TEXT", "write a sector and flush", cmd_dwrite },
	{ "dbench",	"ID N",	"read sector 0 N times (bench)", cmd_dbench },
	{ "ifconfig",	"",	"network link: MAC, address, counters", cmd_ifconfig },
	{ "spoof",	"N",	"send N frames from a forged MAC", cmd_spoof },
	{ "tty",	"",	"the console the shell is on",	cmd_tty },
	{ "reboot",	"",	"reset the machine",		cmd_reboot },
	{ "poweroff",	"",	"power the machine off",	cmd_poweroff },
	{ NULL, NULL, NULL, NULL },
};

int kz_shell_exec(const char *line)
{
	char buf[LINE_MAX], *argv[ARGV_MAX], *p = buf;
	const struct shell_cmd *c;
	int argc = 0, ret;

	if (strlen(line) >= sizeof(buf)) {
		kz_printf("kzguest: line too long\n");
		return -1;
	}
	memcpy(buf, line, strlen(line) + 1);
	while (*p && argc < ARGV_MAX) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	if (!argc)
		return 0;
	for (c = commands; c->name; c++) {
		if (strcmp(c->name, argv[0]))
			continue;
		this_cpu()->state = KZ_CPU_BUSY;
		ret = c->fn(argc, argv);
		return ret;
	}
	kz_printf("kzguest: %s: unknown command\n", argv[0]);
	return -1;
}

/* Read one line with echo; CR, LF or CR LF end it. */
static void read_line(char *buf, size_t len)
{
	static bool after_cr;
	size_t n = 0;
	int c;

	for (;;) {
		c = wait_key();
		if (c == '\n' && after_cr) {
			after_cr = false;
			continue;
		}
		after_cr = c == '\r';
		if (c == '\r' || c == '\n') {
			kz_printf("\n");
			break;
		}
		if (c == 0x08 || c == 0x7f) {
			if (n) {
				n--;
				kz_printf("\b \b");
			}
		} else if (c == 0x15) {		/* ^U: erase the line */
			for (; n; n--)
				kz_printf("\b \b");
		} else if (c == 0x03) {		/* ^C: abandon it */
			kz_printf("^C\n");
			n = 0;
			break;
		} else if (c >= 0x20 && c < 0x7f && n + 1 < len) {
			buf[n++] = (char)c;
			kz_printf("%c", c);
		}
	}
	buf[n] = '\0';
}

void kz_shell_run(void)
{
	char line[LINE_MAX];

	for (;;) {
		kz_printf("kzguest# ");
		read_line(line, sizeof(line));
		kz_shell_exec(line);
	}
}
