/*
 * savecore on a real machine: boots the built-in guest on two vCPUs,
 * dumps it while it runs, and reads the dump back through the target API
 * (vmcore_open): two vCPUs, kz_ticks through the guest's page tables, the
 * banner in kz_msgbuf, the zone note, read-only answers.  Then numbering
 * (vmcore.1, bounds), a writer that is killed or hits the file size
 * limit (no vmcore.N, bounds unchanged), the guest still answering, and
 * last a guest panic whose message lands in the zone note.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "guest_vm.h"
#include "savecore.h"
#include "vmcore.h"

static char dir[64];
static bool panicked;

static struct savecore_req req(const char *reason)
{
	return (struct savecore_req){ .dir = dir, .zone = "unit",
				      .uuid = "00000000-0000-4000-8000-000000000000",
				      .kernel_path = guest_path(),
				      .reason = reason };
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kz-vmcore.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return guest_vm_start(2);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
	if (panicked) {
		pthread_join(run_thread, NULL);
		vmm_vm_destroy(&vm);
		return run_result == VMM_STOP_PANIC ? 0 : -1;
	}
	return guest_vm_stop();
}

static void read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
}

static void test_dump_running_guest(void **state)
{
	(void)state;
	struct savecore_result res;
	char err[512], path[128], buf[64];
	struct savecore_req q = req("requested");
	/*
	 * The guest starts its 100 Hz timer just before the prompt: a dump
	 * taken at once can hold kz_ticks == 0 (seen on a busy host), and
	 * the check below wants a value the guest wrote.
	 */
	usleep(50 * 1000);
	int rc = savecore_vm(&vm, &q, &res, err, sizeof(err));
	if (rc)
		fail_msg("savecore_vm: %s", err);
	snprintf(path, sizeof(path), "%s/vmcore.0", dir);
	assert_string_equal(res.path, path);
	assert_int_equal(res.n, 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, res.file_size);
	/* 64 MiB configured, a few hundred KiB in use. */
	assert_true(res.file_size < (8u << 20));
	assert_true(res.stop_us < 1000000);
	snprintf(path, sizeof(path), "%s/bounds", dir);
	read_file(path, buf, sizeof(buf));
	assert_string_equal(buf, "1\n");

	struct kz_target t;
	rc = vmcore_open(res.path, &t, err, sizeof(err));
	if (rc)
		fail_msg("vmcore_open: %s", err);
	assert_true(vmcore_is(&t));
	assert_int_equal(t.ops->ncpus(&t), 2);
	struct kz_regs r;
	assert_int_equal(t.ops->get_regs(&t, 1, &r), 0);
	assert_true(r.cr0 & (1u << 31));	/* paging on, full state kept */
	assert_true(r.rip >= 0xffffffff80000000ULL);
	assert_int_equal(t.ops->get_regs(&t, 2, &r), -EINVAL);
	struct kz_fpu *f = malloc(sizeof(*f));
	assert_int_equal(t.ops->get_fpu(&t, 0, f), 0);
	assert_true(f->size >= 512);
	free(f);

	uint64_t ticks = 0;
	assert_int_equal(kz_target_read_virt(&t, 0, symbol("kz_ticks"), &ticks,
					     sizeof(ticks)), 0);
	assert_true(ticks > 0);
	char *mb = calloc(1, 16 + 16384 + 1);
	assert_int_equal(kz_target_read_virt(&t, 1, symbol("kz_msgbuf"), mb,
					     16 + 16384), 0);
	uint32_t magic;
	memcpy(&magic, mb, 4);
	assert_int_equal(magic, 0x626d7a6b);
	assert_non_null(strstr(mb + 16, "kzguest"));
	free(mb);

	/* RAM that held zeros reads as zeros; beyond RAM is no memory. */
	uint8_t page[4096];
	assert_int_equal(t.ops->read_phys(&t, 60 << 20, page, sizeof(page)), 0);
	assert_int_equal(t.ops->read_phys(&t, 1ULL << 40, page, 8), -EFAULT);
	assert_int_equal(t.ops->write_phys(&t, 0, page, 8), -ENOTSUP);
	assert_int_equal(t.ops->stop(&t), -ENOTSUP);
	assert_int_equal(t.ops->resume(&t), -ENOTSUP);
	assert_int_equal(t.ops->step(&t, 0), -ENOTSUP);
	assert_int_equal(t.ops->set_break(&t, KZ_BREAK_SW, 0, 1), -ENOTSUP);

	assert_string_equal(vmcore_field(&t, "zone"), "unit");
	assert_string_equal(vmcore_field(&t, "reason"), "requested");
	assert_string_equal(vmcore_field(&t, "vcpus"), "2");
	assert_non_null(vmcore_field(&t, "stopped-us"));
	assert_null(vmcore_field(&t, "panic"));
	assert_null(vmcore_field(&t, "nosuch"));
	size_t vl;
	assert_null(vmcore_vmcoreinfo(&t, &vl));
	t.ops->close(&t);

	/* The guest kept running. */
	clear_output();
	type("echo after-dump\r");
	assert_true(wait_output("after-dump\r\n", 20000));
}

static void test_numbering(void **state)
{
	(void)state;
	struct savecore_result res;
	char err[512], path[128], buf[64];
	struct savecore_req q = req("requested");
	assert_int_equal(savecore_vm(&vm, &q, &res, err, sizeof(err)), 0);
	assert_int_equal(res.n, 1);
	snprintf(path, sizeof(path), "%s/bounds", dir);
	read_file(path, buf, sizeof(buf));
	assert_string_equal(buf, "2\n");
}

static void no_vmcore(unsigned n)
{
	char path[128], buf[64];
	struct stat st;
	snprintf(path, sizeof(path), "%s/vmcore.%u", dir, n);
	assert_int_equal(stat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/bounds", dir);
	read_file(path, buf, sizeof(buf));
	assert_string_equal(buf, "2\n");
}

/* A writer killed half way (SIGXFSZ at the size limit) leaves nothing. */
static void test_killed_writer(void **state)
{
	(void)state;
	struct savecore_result res;
	char err[512];
	struct rlimit old, small = { 64 << 10, 64 << 10 };
	struct savecore_req q = req("requested");
	getrlimit(RLIMIT_FSIZE, &old);
	small.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	int rc = savecore_vm(&vm, &q, &res, err, sizeof(err));
	setrlimit(RLIMIT_FSIZE, &old);
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(err, "killed by signal"));
	assert_non_null(strstr(err, "no vmcore.2 was written"));
	no_vmcore(2);
}

/* A write that fails (EFBIG here, ENOSPC on a full disk) says so. */
static void test_failed_write(void **state)
{
	(void)state;
	struct savecore_result res;
	char err[512];
	struct rlimit old, small = { 64 << 10, 64 << 10 };
	struct savecore_req q = req("requested");
	getrlimit(RLIMIT_FSIZE, &old);
	small.rlim_max = old.rlim_max;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	int rc = savecore_vm(&vm, &q, &res, err, sizeof(err));
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(rc, -EFBIG);
	assert_non_null(strstr(err, "writing guest memory: File too large"));
	assert_non_null(strstr(err, "no vmcore.2 was kept"));
	no_vmcore(2);
	clear_output();
	type("echo still-here\r");
	assert_true(wait_output("still-here\r\n", 20000));
}

static void test_panic_dump(void **state)
{
	(void)state;
	struct savecore_result res;
	char err[512];
	type("panic boom\r");
	for (int i = 0; i < 3000; i++) {
		pthread_mutex_lock(&vm.lock);
		bool stopped = vm.stop == VMM_STOP_PANIC;
		pthread_mutex_unlock(&vm.lock);
		if (stopped)
			break;
		usleep(10000);
	}
	panicked = true;
	struct savecore_req q = req("panic");
	int rc = savecore_vm(&vm, &q, &res, err, sizeof(err));
	if (rc)
		fail_msg("savecore_vm after panic: %s", err);
	assert_string_equal(res.panic_msg, "boom");
	struct kz_target t;
	assert_int_equal(vmcore_open(res.path, &t, err, sizeof(err)), 0);
	assert_string_equal(vmcore_field(&t, "reason"), "panic");
	assert_string_equal(vmcore_field(&t, "panic"), "boom");
	t.ops->close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump_running_guest),
		cmocka_unit_test(test_numbering),
		cmocka_unit_test(test_killed_writer),
		cmocka_unit_test(test_failed_write),
		cmocka_unit_test(test_panic_dump),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
