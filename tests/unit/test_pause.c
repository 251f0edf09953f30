/*
 * Pause and resume of a real machine: boots the built-in guest on two
 * vCPUs and checks through the target API that its tick counter stands
 * still while the machine is paused (nested pauses included) and moves
 * once resumed, that registers are readable only while paused, that a
 * thousand quick pause/resume cycles do not deadlock, that console input
 * is refused while paused (its sender keeps it) and taken between pauses,
 * that virtio devices leave guest memory alone while paused (hvc0's
 * receive buffers hold nothing typed until the resume), and that the
 * guest still powers off cleanly afterwards.
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

#include "guest_vm.h"

static uint64_t ticks_va, rxbuf_va;

static uint64_t read_ticks(void)
{
	uint64_t t = 0;
	assert_int_equal(kz_target_read_virt(&tgt, 0, ticks_va, &t, sizeof(t)), 0);
	return t;
}

static int setup(void **state)
{
	(void)state;
	ticks_va = symbol("kz_ticks");
	rxbuf_va = symbol("rxbuf");
	if (!ticks_va) {
		fprintf(stderr, "no kz_ticks symbol in %s\n", guest_path());
		return -1;
	}
	return guest_vm_start(2);
}

static int teardown(void **state)
{
	(void)state;
	return guest_vm_stop();
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
	const char *line = "echo survived\r";
	size_t len = strlen(line), sent = 0;
	clear_output();
	for (int i = 0; i < 1000; i++) {
		vmm_vm_pause(&vm);
		/* Refused while paused, taken between the pauses. */
		if (i == 500)
			assert_int_equal(vmm_vm_console_input(&vm,
				(const uint8_t *)line, len), 0);
		vmm_vm_resume(&vm);
		if (i >= 500 && sent < len)
			sent += vmm_vm_console_input(&vm,
				(const uint8_t *)line + sent, len - sent);
	}
	assert_int_equal(sent, len);
	assert_true(wait_output("survived\r\n", 20000));
}

/* Does the guest's hvc0 receive area (4 buffers of 64 bytes) hold s? */
static bool hvc_rx_holds(const char *s)
{
	uint64_t page = 0;
	char buf[256 + 1] = "";
	assert_true(rxbuf_va != 0);
	assert_int_equal(kz_target_read_virt(&tgt, 0, rxbuf_va, &page,
					     sizeof(page)), 0);
	assert_true(page != 0);
	assert_int_equal(kz_target_read_virt(&tgt, 0, page, buf, 256), 0);
	for (size_t i = 0; i + strlen(s) <= 256; i++)
		if (!memcmp(buf + i, s, strlen(s)))
			return true;
	return false;
}

static void test_virtio_holds_still(void **state)
{
	(void)state;
	tgt.ops->stop(&tgt);
	/* The console is refused while paused: its sender keeps the keys. */
	size_t took = vmm_vm_console_input(&vm, (const uint8_t *)"zq-held", 7);
	usleep(300000);	/* time enough for an I/O thread that did not wait */
	bool early = hvc_rx_holds("zq-held");
	tgt.ops->resume(&tgt);
	assert_int_equal(took, 0);
	assert_false(early);
	type("zq-held");
	bool delivered = false;
	for (int i = 0; i < 100 && !delivered; i++) {
		usleep(20000);
		tgt.ops->stop(&tgt);
		delivered = hvc_rx_holds("zq-held");
		tgt.ops->resume(&tgt);
	}
	assert_true(delivered);
	type("\r");	/* end the line the UART side typed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regs_need_pause),
		cmocka_unit_test(test_ticks_stand_still),
		cmocka_unit_test(test_many_cycles_keep_guest_alive),
		cmocka_unit_test(test_virtio_holds_still),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
