/*
 * libFuzzer target for the kernel loaders: arbitrary bytes as the kernel
 * image (and, when the last byte is odd, as the initrd too) loaded into a
 * 64 MiB guest.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ivmm \
 *       tests/fuzz/fuzz_boot.c vmm/boot*.c vmm/memory.c -o fuzz_boot
 *   ./fuzz_boot tests/fuzz/corpus/boot
 *
 * Beyond the sanitizers it checks the loader's contract: 0 or -errno, a
 * message exactly when it fails, and an entry state inside guest RAM.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "layout.h"
#include "memory.h"

static struct vmm_mem mem;

static void setup(void)
{
	char err[256];

	if (vmm_mem_create(&mem, 64ULL << 20, VMM_PAGESIZE_SMALLEST_ONLY, err,
			   sizeof(err))) {
		fprintf(stderr, "fuzz_boot: %s\n", err);
		abort();
	}
}

static void check(int rc, const char *err, const struct vmm_boot_entry *e)
{
	if (rc > 0 || (rc < 0 && err[0] == 0))
		abort();
	if (rc < 0)
		return;
	if (e->rip >= KZ_GPA_4G || e->kernel_lo >= e->kernel_hi ||
	    e->kernel_hi > mem.ram_size || e->rip < e->kernel_lo ||
	    e->rip >= e->kernel_hi)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct vmm_boot_config cfg = {
		.kernel = data,
		.kernel_len = size,
		.cmdline = "console=ttyS0",
		.rsdp_gpa = KZ_GPA_ACPI,
	};
	struct vmm_boot_entry e;
	char err[256] = "";
	int rc;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size && (data[size - 1] & 1)) {
		cfg.initrd = data;
		cfg.initrd_len = size;
	}
	rc = vmm_boot_load(&mem, &cfg, &e, err, sizeof(err));
	check(rc, err, &e);
	/* Straight to each loader too, so neither hides behind detection. */
	err[0] = 0;
	rc = vmm_boot_load_pvh(&mem, &cfg, &e, err, sizeof(err));
	check(rc, err, &e);
	err[0] = 0;
	rc = vmm_boot_load_bzimage(&mem, &cfg, &e, err, sizeof(err));
	check(rc, err, &e);
	return 0;
}
