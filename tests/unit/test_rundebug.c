/*
 * Run control through the target API on a real machine (the built-in
 * guest on two vCPUs): stop events, software and hardware breakpoints
 * (hit by typing a command, then stepped over on resume), single-step,
 * the debug-register budget, and errors for what needs a stopped machine.
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
#include <unistd.h>
#include <cmocka.h>

#include "guest_vm.h"

static uint64_t shell_exec;

static int setup(void **state)
{
	(void)state;
	shell_exec = symbol("kz_shell_exec");
	return shell_exec ? guest_vm_start(2) : -1;
}

static int teardown(void **state)
{
	(void)state;
	return guest_vm_stop();
}

static void test_stop_event(void **state)
{
	(void)state;
	struct kz_event ev;
	assert_int_equal(tgt.ops->stop(&tgt), 0);
	assert_int_equal(tgt.ops->wait_event(&tgt, &ev, 1000), 0);
	assert_int_equal(ev.kind, KZ_EVENT_STOPPED);
	/* Nothing more happens while stopped. */
	assert_int_equal(tgt.ops->wait_event(&tgt, &ev, 200), -ETIMEDOUT);
	assert_int_equal(tgt.ops->resume(&tgt), 0);
	/* Breakpoints want a stopped machine. */
	assert_int_equal(tgt.ops->set_break(&tgt, KZ_BREAK_SW, shell_exec, 1),
			 -EBUSY);
}

static void hit_and_continue(enum kz_break_kind kind)
{
	struct kz_event ev;
	struct kz_regs r;
	tgt.ops->stop(&tgt);
	assert_int_equal(tgt.ops->wait_event(&tgt, &ev, 1000), 0);
	assert_int_equal(tgt.ops->set_break(&tgt, kind, shell_exec, 1), 0);
	assert_int_equal(tgt.ops->resume(&tgt), 0);
	type("echo through\r");
	assert_int_equal(tgt.ops->wait_event(&tgt, &ev, 20000), 0);
	assert_int_equal(ev.kind, KZ_EVENT_BREAK);
	assert_int_equal(tgt.ops->get_regs(&tgt, ev.cpu, &r), 0);
	assert_int_equal(r.rip, shell_exec);
	/* Resuming steps over the breakpoint and the command completes. */
	assert_int_equal(tgt.ops->clear_break(&tgt, kind, shell_exec, 1), 0);
	assert_int_equal(tgt.ops->resume(&tgt), 0);
	assert_true(wait_output("through\r\n", 20000));
}

static void test_sw_breakpoint(void **state)
{
	(void)state;
	hit_and_continue(KZ_BREAK_SW);
}

static void test_hw_breakpoint(void **state)
{
	(void)state;
	hit_and_continue(KZ_BREAK_HW_EXEC);
}

static void test_breakpoint_stays_across_hits(void **state)
{
	(void)state;
	struct kz_event ev;
	tgt.ops->stop(&tgt);
	tgt.ops->wait_event(&tgt, &ev, 1000);
	assert_int_equal(tgt.ops->set_break(&tgt, KZ_BREAK_SW, shell_exec, 1), 0);
	tgt.ops->resume(&tgt);
	for (int i = 0; i < 2; i++) {
		type("echo again\r");
		assert_int_equal(tgt.ops->wait_event(&tgt, &ev, 20000), 0);
		assert_int_equal(ev.kind, KZ_EVENT_BREAK);
		assert_int_equal(ev.addr, shell_exec);
		tgt.ops->resume(&tgt);
	}
	tgt.ops->stop(&tgt);
	tgt.ops->wait_event(&tgt, &ev, 1000);
	assert_int_equal(tgt.ops->clear_break(&tgt, KZ_BREAK_SW, shell_exec, 1), 0);
	tgt.ops->resume(&tgt);
}

static void test_single_step(void **state)
{
	(void)state;
	struct kz_event ev;
	struct kz_regs r0, r1;
	tgt.ops->stop(&tgt);
	tgt.ops->wait_event(&tgt, &ev, 1000);
	assert_int_equal(tgt.ops->set_break(&tgt, KZ_BREAK_SW, shell_exec, 1), 0);
	tgt.ops->resume(&tgt);
	type("echo step\r");
	assert_int_equal(tgt.ops->wait_event(&tgt, &ev, 20000), 0);
	assert_int_equal(tgt.ops->clear_break(&tgt, KZ_BREAK_SW, shell_exec, 1), 0);
	assert_int_equal(tgt.ops->get_regs(&tgt, ev.cpu, &r0), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(tgt.ops->step(&tgt, ev.cpu), 0);
		struct kz_event st;
		assert_int_equal(tgt.ops->wait_event(&tgt, &st, 1000), 0);
		assert_int_equal(st.kind, KZ_EVENT_STEP);
		assert_int_equal(tgt.ops->get_regs(&tgt, ev.cpu, &r1), 0);
		assert_true(r1.rip != r0.rip);
		/* One instruction: x86 instructions are at most 15 bytes. */
		if (i == 0)
			assert_true(r1.rip > r0.rip && r1.rip - r0.rip <= 15);
		r0 = r1;
	}
	tgt.ops->resume(&tgt);
	assert_true(wait_output("step\r\n", 20000));
}

static void test_debug_register_budget(void **state)
{
	(void)state;
	struct kz_event ev;
	tgt.ops->stop(&tgt);
	tgt.ops->wait_event(&tgt, &ev, 1000);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(tgt.ops->set_break(&tgt, KZ_BREAK_HW_WRITE,
						    0xffffffff80200000ULL + 8 * i,
						    8), 0);
	assert_int_equal(tgt.ops->set_break(&tgt, KZ_BREAK_HW_EXEC, shell_exec, 1),
			 -ENOSPC);
	/* A misaligned watch cannot be expressed in a debug register. */
	assert_int_equal(tgt.ops->clear_break(&tgt, KZ_BREAK_HW_WRITE,
					      0xffffffff80200000ULL, 8), 0);
	assert_int_equal(tgt.ops->set_break(&tgt, KZ_BREAK_HW_WRITE,
					    0xffffffff80200004ULL, 8), -EINVAL);
	for (unsigned i = 1; i < 4; i++)
		assert_int_equal(tgt.ops->clear_break(&tgt, KZ_BREAK_HW_WRITE,
						      0xffffffff80200000ULL + 8 * i,
						      8), 0);
	tgt.ops->resume(&tgt);
	type("echo alive\r");
	assert_true(wait_output("alive\r\n", 20000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stop_event),
		cmocka_unit_test(test_sw_breakpoint),
		cmocka_unit_test(test_hw_breakpoint),
		cmocka_unit_test(test_breakpoint_stays_across_hits),
		cmocka_unit_test(test_single_step),
		cmocka_unit_test(test_debug_register_budget),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
