/*
 * Unit tests for the zonecfg language and the configuration model
 * (zoneadm/zcfg_*.c): the lexer, ';' separation and quoting, property
 * validation, the SYSkz defaults, boot order, export/parse round trips,
 * the refusals of solaris-kz(7), verify, and load/write of a store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "zonecfg.h"

static char err[512];

/* A session on a fresh blank configuration, output discarded. */
static void open_session(struct zcfg_session *s)
{
	zcfg_session_init(s, "web", "/r/zones/web", NULL);
	struct zone_config *c = zcfg_new("web", "/r/zones/web");
	assert_non_null(c);
	zcfg_session_set(s, c);
	s->exists = false;
}

static int run(struct zcfg_session *s, const char *line)
{
	err[0] = 0;
	return zcfg_exec(s, line, err, sizeof(err));
}

static void ok(struct zcfg_session *s, const char *line)
{
	int rc = run(s, line);
	if (rc)
		fail_msg("'%s' failed: %s", line, err);
}

static void refused(struct zcfg_session *s, const char *line,
		    const char *want)
{
	int rc = run(s, line);
	if (rc == 0)
		fail_msg("'%s' was accepted", line);
	if (!strstr(err, want))
		fail_msg("'%s': message '%s' lacks '%s'", line, err, want);
	if (strchr(err, '\n'))
		fail_msg("'%s': message is more than one line", line);
}

/* ---- lexer ---- */

static void test_lex_words(void **state)
{
	struct zcfg_toks t;
	const char *l = "set bootargs=\"-v console=ttyS0;x\" ; add  device";
	(void)state;
	assert_int_equal(zcfg_lex(l, strlen(l), &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 7);
	assert_string_equal(t.t[0].s, "set");
	assert_string_equal(t.t[1].s, "bootargs");
	assert_int_equal(t.t[2].kind, ZT_EQ);
	assert_string_equal(t.t[3].s, "-v console=ttyS0;x");
	assert_true(t.t[3].quoted);
	assert_int_equal(t.t[4].kind, ZT_SEMI);
	assert_string_equal(t.t[5].s, "add");
	assert_string_equal(t.t[6].s, "device");
	zcfg_toks_free(&t);
}

static void test_lex_quotes_comments(void **state)
{
	struct zcfg_toks t;
	const char *l = "a\"b c\"d \"q\\\"x\\\\\" \"\" # set x=y";
	(void)state;
	assert_int_equal(zcfg_lex(l, strlen(l), &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 3);
	assert_string_equal(t.t[0].s, "ab cd");
	assert_string_equal(t.t[1].s, "q\"x\\");
	assert_string_equal(t.t[2].s, "");
	zcfg_toks_free(&t);
	l = "set x=\"open";
	assert_int_equal(zcfg_lex(l, strlen(l), &t, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "unterminated quote"));
	assert_int_equal(zcfg_lex("", 0, &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 0);
	zcfg_toks_free(&t);
}

static void test_semicolons(void **state)
{
	struct zcfg_session s;
	(void)state;
	open_session(&s);
	ok(&s, "set autoboot=true;set hostid=0x1234abcd ; "
	       "set bootargs=\"a;b c\";;");
	assert_true(s.cfg->autoboot);
	assert_string_equal(s.cfg->hostid, "0x1234abcd");
	assert_string_equal(s.cfg->bootargs, "a;b c");
	/* The forms of set: P=V, P = V, and "P=V" as one word. */
	ok(&s, "set auto-shutdown = halt");
	assert_string_equal(s.cfg->auto_shutdown, "halt");
	ok(&s, "set \"bootargs=x y\"");
	assert_string_equal(s.cfg->bootargs, "x y");
	ok(&s, "set autoshutdown=suspend");	/* the Solaris spelling */
	assert_string_equal(s.cfg->auto_shutdown, "suspend");
	/* The first failure stops the line. */
	assert_int_equal(run(&s, "set autoboot=false; frob; set hostid=1"),
			 ZCFG_EUSAGE);
	assert_false(s.cfg->autoboot);
	assert_string_equal(s.cfg->hostid, "0x1234abcd");
	assert_int_equal(run(&s, "set autoboot"), ZCFG_EUSAGE);
	assert_non_null(strstr(err, "usage: set PROPERTY=VALUE"));
	zcfg_session_fini(&s);
}

/* ---- values ---- */

static void test_sizes(void **state)
{
	uint64_t v;
	char buf[32];
	(void)state;
	assert_int_equal(zcfg_parse_size("4G", &v), 0);
	assert_true(v == 4ULL << 30);
	assert_int_equal(zcfg_parse_size("512m", &v), 0);
	assert_true(v == 512ULL << 20);
	assert_int_equal(zcfg_parse_size("1536MB", &v), 0);
	assert_true(v == 1536ULL << 20);
	assert_int_equal(zcfg_parse_size("4096", &v), 0);
	assert_true(v == 4096);
	assert_int_not_equal(zcfg_parse_size("12Q", &v), 0);
	assert_int_not_equal(zcfg_parse_size("0", &v), 0);
	assert_int_not_equal(zcfg_parse_size("", &v), 0);
	assert_int_not_equal(zcfg_parse_size("-1G", &v), 0);
	assert_int_not_equal(zcfg_parse_size("99999999999T", &v), 0);
	assert_int_not_equal(zcfg_parse_size("999999999999999999999", &v),
			     0);
	zcfg_format_size(4ULL << 30, buf, sizeof(buf));
	assert_string_equal(buf, "4G");
	zcfg_format_size(1536ULL << 20, buf, sizeof(buf));
	assert_string_equal(buf, "1536M");
	zcfg_format_size(4097, buf, sizeof(buf));
	assert_string_equal(buf, "4097");
}

static void test_validation(void **state)
{
	struct zcfg_session s;
	(void)state;
	open_session(&s);
	ok(&s, "add capped-memory");
	refused(&s, "set physical=12Q",
		"capped-memory physical '12Q': not a size");
	refused(&s, "set pagesize-policy=huge",
		"capped-memory pagesize-policy 'huge'");
	ok(&s, "set physical=64M; set pagesize-policy=largest-only; end");
	refused(&s, "set autoboot=yes", "autoboot 'yes'");
	refused(&s, "set auto-shutdown=sleep", "auto-shutdown 'sleep'");
	refused(&s, "set hostid=xyz", "hostid 'xyz': not a host id");
	refused(&s, "set hostid=123456789", "not a host id");
	refused(&s, "set cpu-arch=pentium", "cpu-arch 'pentium'");
	refused(&s, "set brand=solaris", "brand 'solaris'");
	refused(&s, "set zonename=bad/name", "zonename 'bad/name'");
	refused(&s, "set bootargs=", "empty value");
	ok(&s, "add virtual-cpu");
	refused(&s, "set ncpus=0", "virtual-cpu ncpus '0': out of range");
	refused(&s, "set ncpus=two", "not a number");
	ok(&s, "set ncpus=2; end");
	ok(&s, "add dedicated-cpu");
	refused(&s, "set ncpus=4-2", "dedicated-cpu ncpus '4-2'");
	ok(&s, "set ncpus=2-4; end");
	assert_int_equal(s.cfg->dcpu_min, 2);
	assert_int_equal(s.cfg->dcpu_max, 4);
	ok(&s, "add device");
	refused(&s, "set storage=/dev/sda", "not a storage URI");
	refused(&s, "set storage=file://host/x", "not a storage URI");
	refused(&s, "set storage=iscsi://h/lun",
		"not supported on this host");
	refused(&s, "set storage=nfs://u:g@h/f", "not supported on this host");
	refused(&s, "set storage=file:///a/../etc/x", "'..'");
	refused(&s, "set id=-1", "device id '-1'");
	refused(&s, "set id=256", "out of range");
	refused(&s, "set create-size=big", "device create-size 'big'");
	refused(&s, "end", "device: storage not specified");
	ok(&s, "set storage=dev:/dev/vdb; set create-size=16g; end");
	assert_true(s.cfg->devices[0].create_size == 16ULL << 30);
	assert_int_equal(s.cfg->devices[0].id, 0);	/* assigned by end */
	ok(&s, "add anet");
	refused(&s, "set mac-address=01:00:5e:00:00:01", "multicast");
	refused(&s, "set mac-address=0:1:2:3:4", "not a MAC address");
	refused(&s, "set allowed-mac-address=zz", "not a list of MAC");
	refused(&s, "set link-protection=all", "not a protection list");
	refused(&s, "set linkname=0net", "not a link name");
	refused(&s, "set lower-link=a/b", "not a host interface");
	refused(&s, "set maxbw=fast", "anet maxbw 'fast'");
	ok(&s, "set mac-address=2:8:20:A:b:C; set maxbw=100M");
	ok(&s, "set allowed-mac-address=[2:8:20,any]; end");
	assert_string_equal(s.cfg->anets[0].mac_address, "02:08:20:0a:0b:0c");
	assert_string_equal(s.cfg->anets[0].allowed_mac, "2:8:20,any");
	assert_string_equal(s.cfg->anets[0].linkname, "net0");
	assert_true(s.cfg->anets[0].maxbw == 100000000ULL);
	ok(&s, "add suspend");
	refused(&s, "set path=relative/x", "not an absolute path");
	ok(&s, "set path=/var/tmp/web.img; set storage=dev:/dev/vdc");
	refused(&s, "end", "not both");
	ok(&s, "clear storage; end");
	ok(&s, "add keysource");
	refused(&s, "set raw=abc", "not a key");
	ok(&s, "set raw=00112233445566778899AABBCCDDEEFF; end");
	assert_string_equal(s.cfg->keysource_raw,
			    "00112233445566778899aabbccddeeff");
	/* Properties in the wrong scope say where they belong. */
	refused(&s, "set physical=1G", "belongs to the capped-memory");
	refused(&s, "set nosuch=1", "unknown property 'nosuch'");
	refused(&s, "add nosuch", "unknown resource 'nosuch'");
	refused(&s, "set zonepath=/x", "zonepath cannot be set");
	refused(&s, "clear zonepath", "cannot be cleared");
	refused(&s, "add virtual-cpu", "use select virtual-cpu");
	zcfg_session_fini(&s);
}

/* Everything solaris-kz(7) refuses for the brand, and the host's own. */
static void test_refusals(void **state)
{
	static const char *const brand[] = {
		"add fs", "add dataset", "add rctl", "add rootzpool",
		"add zpool", "set ip-type=shared", "set limitpriv=default",
		"set max-lwps=1000", "set max-processes=100",
		"set max-msg-ids=1", "set max-sem-ids=1", "set max-shm-ids=1",
		"set max-shm-memory=1G", "set file-mac-profile=none",
		"set fs-allowed=ufs", "set global-time=true",
		"select capped-memory; set swap=1G",
		"select capped-memory; set locked=1G",
		"add device; set allow-partition=true",
		"add device; set allow-raw-io=true",
		"add device; set match=/dev/sd*",
		"add anet; set address=10.0.0.1",
	};
	static const char *const host[] = {
		"add net", "add capped-cpu", "add ib-vhca", "add attr",
		"set pool=p", "set scheduling-class=FSS", "set cpu-shares=4",
		"add dedicated-cpu; set importance=2",
		"add device; set allow-mhd=true",
		"add anet; set vlan-id=3", "add anet; set defrouter=10.0.0.1",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(brand) / sizeof(brand[0]); i++) {
		struct zcfg_session s;
		open_session(&s);
		ok(&s, "add capped-memory; set physical=1G; end");
		int rc = run(&s, brand[i]);
		if (rc != -ENOTSUP || !strstr(err, "by brand kz"))
			fail_msg("'%s': rc %d, '%s'", brand[i], rc, err);
		zcfg_session_fini(&s);
	}
	for (size_t i = 0; i < sizeof(host) / sizeof(host[0]); i++) {
		struct zcfg_session s;
		open_session(&s);
		int rc = run(&s, host[i]);
		if (rc != -ENOTSUP || !strstr(err, "on this host"))
			fail_msg("'%s': rc %d, '%s'", host[i], rc, err);
		zcfg_session_fini(&s);
	}
	/* ip-type exclusive is what a kernel zone is: accepted. */
	struct zcfg_session s;
	open_session(&s);
	ok(&s, "set ip-type=exclusive");
	zcfg_session_fini(&s);
}

/* ---- templates and defaults ---- */

static void test_defaults(void **state)
{
	struct zcfg_session s;
	(void)state;
	zcfg_session_init(&s, "web", "/r/zones/web", NULL);
	ok(&s, "create");
	struct zone_config *c = s.cfg;
	assert_string_equal(c->brand, "kz");
	assert_false(c->autoboot);
	assert_string_equal(c->auto_shutdown, "shutdown");
	assert_true(c->has_virtual_cpu);
	assert_int_equal(c->ncpus, 4);
	assert_false(c->dedicated_cpu);
	assert_true(c->memory == 4ULL << 30);
	assert_string_equal(c->pagesize_policy, "largest-available");
	assert_int_equal(c->ndevices, 0);
	assert_int_equal(c->nanets, 1);
	assert_string_equal(c->anets[0].linkname, "net0");
	assert_string_equal(c->anets[0].lower_link, "auto");
	assert_string_equal(c->anets[0].mac_address, "auto");
	assert_string_equal(c->anets[0].link_protection, "mac-nospoof");
	assert_int_equal(c->anets[0].id, 0);
	assert_string_equal(c->zonepath, "/r/zones/web");
	assert_int_equal(zcfg_verify(c, err, sizeof(err)), 0);
	/* The Solaris template name is the same template. */
	ok(&s, "create -t SYSsolaris-kz");
	assert_int_equal(s.cfg->nanets, 1);
	/* Blank: no resources; the derived values fall back. */
	ok(&s, "create -b");
	assert_int_equal(s.cfg->nanets, 0);
	assert_false(s.cfg->has_virtual_cpu);
	assert_int_equal(s.cfg->ncpus, ZCFG_DEFAULT_NCPUS);
	assert_true(s.cfg->memory == ZCFG_DEFAULT_MEMORY);
	refused(&s, "create -t SYSnone", "template 'SYSnone' not found");
	/* Small values for tests, and the derived fields follow. */
	ok(&s, "create; select virtual-cpu; set ncpus=1; end; "
	       "select capped-memory; set physical=64M; end");
	assert_int_equal(s.cfg->ncpus, 1);
	assert_true(s.cfg->memory == 64ULL << 20);
	ok(&s, "remove virtual-cpu; add dedicated-cpu; set ncpus=3; end");
	assert_int_equal(s.cfg->ncpus, 3);
	assert_true(s.cfg->dedicated_cpu);
	ok(&s, "clear autoboot; clear auto-shutdown");
	assert_string_equal(s.cfg->auto_shutdown, "shutdown");
	zcfg_session_fini(&s);
}

/* ---- boot order: the manual page's example ---- */

static void test_boot_order(void **state)
{
	struct zcfg_session s;
	size_t idx[8];
	(void)state;
	open_session(&s);
	/* A, B, C as in solaris-kz(7); plus a data disk and a late id. */
	ok(&s, "add device; set storage=dev:dsk/c0t0d0s0; set id=0; "
	       "set bootpri=2; end");
	ok(&s, "add device; set storage=dev:dsk/c0t1d0s0; set id=1; "
	       "set bootpri=2; end");
	ok(&s, "add device; set storage=dev:dsk/c0t2d0s0; set id=2; "
	       "set bootpri=1; end");
	ok(&s, "add device; set storage=file:///z/data.img; end");
	struct zone_config *c = s.cfg;
	assert_int_equal(c->ndevices, 4);
	size_t n = zcfg_boot_devices(c, idx, 8);
	assert_int_equal(n, 3);
	assert_string_equal(c->devices[idx[0]].storage, "dev:dsk/c0t2d0s0");
	assert_string_equal(c->devices[idx[1]].storage, "dev:dsk/c0t0d0s0");
	assert_string_equal(c->devices[idx[2]].storage, "dev:dsk/c0t1d0s0");
	/* The data disk got the next free id and sorts last. */
	assert_int_equal(c->devices[3].id, 3);
	assert_int_equal(c->devices[3].bootpri, -1);
	/* Changing a bootpri re-sorts on end. */
	ok(&s, "select device id=1; set bootpri=0; end");
	assert_string_equal(c->devices[0].storage, "dev:dsk/c0t1d0s0");
	/* select and remove need one match unless -F. */
	refused(&s, "select device bootpri=5", "no device resource");
	refused(&s, "select device", "more than one device resource");
	refused(&s, "remove device", "remove -F device");
	refused(&s, "select device id=9", "no device resource with id=9");
	refused(&s, "add device; set storage=dev:/x; set id=3; end",
		"device id 3 is already used");
	ok(&s, "cancel");
	assert_int_equal(s.cfg->ndevices, 4);
	ok(&s, "remove device storage=file:///z/data.img");
	assert_int_equal(s.cfg->ndevices, 3);
	/* info filters. */
	FILE *f = tmpfile();
	assert_non_null(f);
	s.out = f;
	ok(&s, "info device id=2");
	rewind(f);
	char buf[512] = "";
	size_t got = fread(buf, 1, sizeof(buf) - 1, f);
	buf[got] = 0;
	assert_string_equal(buf, "device:\n\tstorage: dev:dsk/c0t2d0s0\n"
				 "\tcreate-size not specified\n\tid: 2\n"
				 "\tbootpri: 1\n");
	fclose(f);
	s.out = NULL;
	ok(&s, "remove -F device");
	assert_int_equal(s.cfg->ndevices, 0);
	zcfg_session_fini(&s);
}

/* ---- export -> parse ---- */

static const char rich[] =
	"create\n"
	"set autoboot=true\n"
	"set auto-shutdown=halt\n"
	"set hostid=0xdeadbeef\n"
	"set bootargs=\"console=ttyS0 quiet \\\"x\\\"; y=1 # not a comment\"\n"
	"set cpu-arch=migration-class3\n"
	"set host-compatible=level1\n"
	"select virtual-cpu; set ncpus=2; end\n"
	"add dedicated-cpu; set ncpus=2-3; end\n"
	"select capped-memory; set physical=1536M; end\n"
	"add device\nset storage=\"file:///var/k z/disk0.img\"\n"
	"set create-size=8G\nset bootpri=0\nend\n"
	"add device; set storage=dev:/dev/vdb; set id=7; end\n"
	"select anet linkname=net0; set allowed-mac-address=2:8:20;"
	" set mac-address=random; set maxbw=1G; end\n"
	"add anet; set lower-link=eth0; set mac-address=2:8:20:1:2:3;"
	" clear link-protection; end\n"
	"add suspend; set path=/var/tmp/web.suspend; end\n"
	"add keysource; set raw=00112233445566778899aabbccddeeff; end\n";

static void test_round_trip(void **state)
{
	struct zone_config *a, *b;
	char *t1, *t2;
	(void)state;
	assert_int_equal(zcfg_parse(rich, strlen(rich), "web", "/r/zones/web",
				    &a, err, sizeof(err)), 0);
	assert_int_equal(zcfg_verify(a, err, sizeof(err)), 0);
	assert_string_equal(a->bootargs,
			    "console=ttyS0 quiet \"x\"; y=1 # not a comment");
	assert_int_equal(zcfg_export(a, &t1), 0);
	assert_int_equal(zcfg_parse(t1, strlen(t1), "web", "/r/zones/web", &b,
				    err, sizeof(err)), 0);
	assert_int_equal(zcfg_export(b, &t2), 0);
	assert_string_equal(t1, t2);
	assert_string_equal(a->bootargs, b->bootargs);
	assert_int_equal(b->ndevices, 2);
	assert_string_equal(b->devices[0].storage,
			    "file:///var/k z/disk0.img");
	assert_int_equal(b->nanets, 2);
	assert_string_equal(b->anets[1].lower_link, "eth0");
	assert_string_equal(b->anets[1].link_protection, "");
	assert_int_equal(b->ncpus, 2);
	assert_true(b->memory == 1536ULL << 20);
	assert_true(b->has_suspend);
	assert_string_equal(b->keysource_raw, a->keysource_raw);
	/* Everything but the pointers is equal. */
	assert_memory_equal(a->devices, b->devices,
			    a->ndevices * sizeof(*a->devices));
	assert_memory_equal(a->anets, b->anets, a->nanets * sizeof(*a->anets));
	free(t1);
	free(t2);
	zcfg_free(a);
	zcfg_free(b);

	/* Errors carry the line number; an open resource is an error. */
	const char bad[] = "create -b\nset autoboot=maybe\n";
	assert_int_not_equal(zcfg_parse(bad, strlen(bad), "web", NULL, &a, err,
					sizeof(err)), 0);
	assert_null(a);
	assert_non_null(strstr(err, "line 2: autoboot 'maybe'"));
	const char open[] = "add virtual-cpu\nset ncpus=1\n";
	assert_int_not_equal(zcfg_parse(open, strlen(open), "web", NULL, &a,
					err, sizeof(err)), 0);
	assert_non_null(strstr(err, "not ended"));
	const char nocommit[] = "commit\n";
	assert_int_not_equal(zcfg_parse(nocommit, strlen(nocommit), "web",
					NULL, &a, err, sizeof(err)), 0);
}

/* ---- verify ---- */

static void test_verify(void **state)
{
	static const struct {
		const char *cmds;
		const char *want;
	} cases[] = {
		{ "select capped-memory; clear physical", NULL },
		{ "add dedicated-cpu; set ncpus=2; end; select virtual-cpu; "
		  "set ncpus=3; end", "above dedicated-cpu ncpus 2" },
		{ "add device; set storage=dev:/dev/vdb; end",
		  "no bootable device" },
		{ "add device; set storage=dev:/dev/vdb; set bootpri=1; end; "
		  "add device; set storage=dev:/dev/vdb; end",
		  "two devices use storage" },
		{ "select anet; set allowed-mac-address=2:8:21; "
		  "set mac-address=2:8:20:0:0:1; end",
		  "is not in allowed-mac-address" },
		{ "select anet; set allowed-mac-address=4:0:0; "
		  "set mac-address=random; end", "mac-address random needs" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct zcfg_session s;
		zcfg_session_init(&s, "web", "/r/zones/web", NULL);
		ok(&s, "create");
		if (!cases[i].want) {
			/* end refuses pagesize-policy without physical */
			ok(&s, cases[i].cmds);
			refused(&s, "end", "physical not specified");
			ok(&s, "cancel");
		} else {
			ok(&s, cases[i].cmds);
			assert_int_not_equal(zcfg_verify(s.cfg, err,
							 sizeof(err)), 0);
			if (!strstr(err, cases[i].want))
				fail_msg("case %zu: '%s'", i, err);
		}
		zcfg_session_fini(&s);
	}
	/* pagesize-policy with no physical, as a file could say it. */
	struct zone_config *c = zcfg_new("web", NULL);
	assert_non_null(c);
	strcpy(c->pagesize_policy, "largest-only");
	assert_int_not_equal(zcfg_verify(c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "pagesize-policy needs physical"));
	zcfg_free(c);
}

/* ---- the store: write, load, clone ---- */

static void test_load_write(void **state)
{
	char root[] = "/tmp/kz-test-zcfg.XXXXXX", path[512];
	struct zone_config *a, *b;
	struct stat st;
	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(zs_root_init(root, err, sizeof(err)), 0);
	assert_int_equal(zcfg_load(root, "web", &a, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(zcfg_parse(rich, strlen(rich), "web", "x", &a, err,
				    sizeof(err)), 0);
	assert_int_equal(zcfg_write(root, a, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/etc/web.cfg", root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(zcfg_load(root, "web", &b, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/zones/web", root);
	assert_string_equal(b->zonepath, path);
	assert_string_equal(b->zonename, "web");
	assert_string_equal(b->keysource_raw, a->keysource_raw);
	/* zoneadm clone: the same configuration under a new name. */
	strcpy(b->zonename, "web2");
	snprintf(b->zonepath, sizeof(b->zonepath), "%s/zones/web2", root);
	assert_int_equal(zcfg_write(root, b, err, sizeof(err)), 0);
	zcfg_free(b);
	assert_int_equal(zcfg_load(root, "web2", &b, err, sizeof(err)), 0);
	assert_string_equal(b->zonename, "web2");
	assert_int_equal(b->ndevices, a->ndevices);
	zcfg_free(b);
	assert_int_equal(zcfg_load(root, "../etc", &b, err, sizeof(err)) < 0,
			 1);
	assert_null(b);
	zcfg_free(a);
	/* A damaged file names itself and the line. */
	snprintf(path, sizeof(path), "%s/etc/bad.cfg", root);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("create -b\nadd fs\n", f);
	fclose(f);
	assert_int_not_equal(zcfg_load(root, "bad", &a, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "bad.cfg: line 2: resource 'fs'"));
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lex_words),
		cmocka_unit_test(test_lex_quotes_comments),
		cmocka_unit_test(test_semicolons),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_boot_order),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_load_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
