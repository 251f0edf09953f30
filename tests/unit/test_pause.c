/*
 * Pause and resume of a real machine: boots the built-in guest on two
 * vCPUs and checks through the target API that its tick counter stands
 * still while the machine is paused (nested pauses included) and moves
 * once resumed, that registers are readable only while paused, that a
 * thousand quick pause/resume cycles neither deadlock nor lose console
 * input, and that the guest still powers off cleanly afterwards.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "target.h"
#include "target_live.h"
#include "vm.h"

static struct vmm_vm vm;
static struct kz_target tgt;
static pthread_t run_thread;
static enum vmm_stop_reason run_result;
static uint64_t ticks_va;

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static char out[1 << 16];
static size_t out_len;

static void capture(void *ctx, const uint8_t *buf, size_t len)
{
	(void)ctx;
	pthread_mutex_lock(&out_lock);
	if (len > sizeof(out) - 1 - out_len)
		out_len = 0;	/* old output is not needed: start over */
	memcpy(out + out_len, buf, len);
	out_len += len;
	out[out_len] = 0;
	pthread_mutex_unlock(&out_lock);
}

static bool wait_output(const char *s, int ms)
{
	for (int waited = 0; waited < ms; waited += 10) {
		pthread_mutex_lock(&out_lock);
		bool found = strstr(out, s) != NULL;
		pthread_mutex_unlock(&out_lock);
		if (found)
			return true;
		usleep(10000);
	}
	return false;
}

static void clear_output(void)
{
	pthread_mutex_lock(&out_lock);
	out_len = 0;
	out[0] = 0;
	pthread_mutex_unlock(&out_lock);
}

static void *runner(void *arg)
{
	(void)arg;
	run_result = vmm_vm_run(&vm);
	return NULL;
}

static const char *guest_path(void)
{
	const char *g = getenv("KZ_GUEST");
	return g ? g : "build/guest/kzguest.elf";
}

static uint64_t symbol(const char *name)
{
	char cmd[512], line[256];
	uint64_t addr = 0;
	snprintf(cmd, sizeof(cmd), "nm %s", guest_path());
	FILE *p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		char sym[128], type;
		unsigned long long a;
		if (sscanf(line, "%llx %c %127s", &a, &type, sym) == 3 &&
		    strcmp(sym, name) == 0)
			addr = a;
	}
	pclose(p);
	return addr;
}

static uint64_t read_ticks(void)
{
	uint64_t t = 0;
	assert_int_equal(kz_target_read_virt(&tgt, 0, ticks_va, &t, sizeof(t)), 0);
	return t;
}

static int setup(void **state)
{
	(void)state;
	char err[256];
	struct vmm_config cfg = {
		.kernel_path = guest_path(), .cmdline = "", .ncpus = 2,
		.mem_size = 64 << 20,
		.pagesize_policy = VMM_PAGESIZE_SMALLEST_ONLY,
	};
	const struct vmm_console_ops ops = { .output = capture };
	ticks_va = symbol("kz_ticks");
	if (!ticks_va) {
		fprintf(stderr, "no kz_ticks symbol in %s\n", guest_path());
		return -1;
	}
	if (vmm_vm_create(&vm, &cfg, &ops, NULL, err, sizeof(err))) {
		fprintf(stderr, "vmm_vm_create: %s\n", err);
		return -1;
	}
	vmm_target_live_init(&tgt, &vm);
	pthread_create(&run_thread, NULL, runner, NULL);
	if (!wait_output("kzguest# ", 30000)) {
		fprintf(stderr, "guest did not reach its prompt\n");
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	const char *cmd = "poweroff\r";
	vmm_vm_console_input(&vm, (const uint8_t *)cmd, strlen(cmd));
	pthread_join(run_thread, NULL);
	vmm_vm_destroy(&vm);
	return run_result == VMM_STOP_POWEROFF ? 0 : -1;
}

static void test_regs_need_pause(void **state)
{
	(void)state;
	struct kz_regs r;
	assert_int_equal(tgt.ops->get_regs(&tgt, 0, &r), -EBUSY);
	tgt.ops->stop(&tgt);
	assert_int_equal(tgt.ops->get_regs(&tgt, 0, &r), 0);
	/* The built-in guest runs at a higher-half address in long mode. */
	assert_true(r.efer & (1u << 10));
	assert_true(r.rip >= 0xFFFFFFFF80000000ULL);
	assert_int_equal(tgt.ops->get_regs(&tgt, 1, &r), 0);
	assert_int_equal(tgt.ops->get_regs(&tgt, 2, &r), -EINVAL);
	tgt.ops->resume(&tgt);
}

static void test_ticks_stand_still(void **state)
{
	(void)state;
	tgt.ops->stop(&tgt);
	uint64_t t1 = read_ticks();
	usleep(300000);
	uint64_t t2 = read_ticks();
	assert_int_equal(t1, t2);

	/* Machine pauses nest: one resume of two leaves it paused. */
	vmm_vm_pause(&vm);
	vmm_vm_resume(&vm);
	usleep(300000);
	assert_int_equal(read_ticks(), t2);
	tgt.ops->resume(&tgt);

	usleep(500000);
	tgt.ops->stop(&tgt);
	uint64_t t3 = read_ticks();
	tgt.ops->resume(&tgt);
	assert_true(t3 > t2);
}

static void test_many_cycles_keep_guest_alive(void **state)
{
	(void)state;
	clear_output();
	const char *cmd = "echo survived\r";
	for (int i = 0; i < 1000; i++) {
		vmm_vm_pause(&vm);
		if (i == 500)
			vmm_vm_console_input(&vm, (const uint8_t *)cmd,
					     strlen(cmd));
		vmm_vm_resume(&vm);
	}
	assert_true(wait_output("survived\r\n", 20000));
}

int main(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		fprintf(stderr, "test_pause needs /dev/kvm\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regs_need_pause),
		cmocka_unit_test(test_ticks_stand_still),
		cmocka_unit_test(test_many_cycles_keep_guest_alive),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
