/*
 * A real machine running the built-in guest, for unit tests of the VMM's
 * host side (pause, run control): boot it on a thread, capture its
 * console, type at it, find its symbols, power it off.  Included by the
 * tests that need it; not a test itself.
 */
#ifndef KZ_TESTS_GUEST_VM_H
#define KZ_TESTS_GUEST_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "target.h"
#include "target_live.h"
#include "vm.h"

static struct vmm_vm vm;
static struct kz_target tgt;
static pthread_t run_thread;
static enum vmm_stop_reason run_result;

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

static inline void clear_output(void)
{
	pthread_mutex_lock(&out_lock);
	out_len = 0;
	out[0] = 0;
	pthread_mutex_unlock(&out_lock);
}

/* As the console server does: offer what was not taken again (a full
 * receive buffer, a machine paused for a moment), for up to 5 s. */
static inline void type(const char *s)
{
	size_t len = strlen(s), sent = 0;
	for (int i = 0; i < 5000 && sent < len; i++) {
		sent += vmm_vm_console_input(&vm, (const uint8_t *)s + sent,
					     len - sent);
		if (sent < len)
			usleep(1000);
	}
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

static inline uint64_t symbol(const char *name)
{
	char cmd[512], line[256];
	uint64_t addr = 0;
	snprintf(cmd, sizeof(cmd), "nm %s", guest_path());
	FILE *p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		char sym[128], t;
		unsigned long long a;
		if (sscanf(line, "%llx %c %127s", &a, &t, sym) == 3 &&
		    strcmp(sym, name) == 0)
			addr = a;
	}
	pclose(p);
	return addr;
}

/* Boot the guest on ncpus vCPUs and wait for its prompt; 0 or -1. */
static inline int guest_vm_start(unsigned ncpus)
{
	char err[256];
	struct vmm_config cfg = {
		.kernel_path = guest_path(), .cmdline = "", .ncpus = ncpus,
		.mem_size = 64 << 20,
		.pagesize_policy = VMM_PAGESIZE_SMALLEST_ONLY,
	};
	const struct vmm_console_ops ops = { .output = capture };
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		fprintf(stderr, "this test needs /dev/kvm\n");
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

/* Power the guest off from its shell; 0 when it did. */
static inline int guest_vm_stop(void)
{
	type("poweroff\r");
	pthread_join(run_thread, NULL);
	vmm_vm_destroy(&vm);
	return run_result == VMM_STOP_POWEROFF ? 0 : -1;
}

#endif
