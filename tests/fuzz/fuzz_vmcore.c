/*
 * libFuzzer target for the vmcore reader (savecore/vmcore_read.c): the
 * bytes are a core file.  Whatever vmcore_open_mem accepts is then used
 * the way kzdb uses a dump: every vCPU's registers and FPU, physical
 * reads around each segment edge, page walks from each vCPU's CR3, the
 * zone note's fields, VMCOREINFO; and run control must say ENOTSUP.
 *
 *   make build/fuzz/fuzz_vmcore && build/fuzz/fuzz_vmcore tests/fuzz/corpus/vmcore
 *
 * The seed is a small dump of a made-up machine (test_vmcore_fmt with
 * KZ_VMCORE_SEED=FILE writes it).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"
#include "vmcore.h"

static struct kz_fpu fpu;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kz_target t;
	char err[256];
	uint8_t buf[8192];
	/* An exact-size copy, so that ASan sees any read past the end. */
	uint8_t *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	err[0] = 0;
	int rc = vmcore_open_mem(copy, size, &t, err, sizeof(err));
	if (rc) {
		if (rc > 0 || !err[0])
			abort();
		free(copy);
		return 0;
	}
	unsigned n = t.ops->ncpus(&t);
	if (n == 0)
		abort();
	for (unsigned i = 0; i < n && i < 8; i++) {
		struct kz_regs r;
		if (t.ops->get_regs(&t, i, &r))
			abort();
		(void)t.ops->get_fpu(&t, i, &fpu);
		if (fpu.size > KZ_XSAVE_MAX)
			abort();
		uint64_t vas[] = { r.rip, r.rsp, 0xffffffff80100000ULL,
				   0xffff800000000000ULL, 0 };
		for (unsigned v = 0; v < sizeof(vas) / sizeof(vas[0]); v++) {
			struct kz_xlate x;
			(void)kz_target_translate(&t, i, vas[v], &x);
			(void)kz_target_read_virt(&t, i, vas[v], buf, 5000);
		}
	}
	if (t.ops->get_regs(&t, n, &(struct kz_regs){ 0 }) != -EINVAL)
		abort();
	static const uint64_t pas[] = { 0, 0xfff, 0x1000, 0x9ffff, 0x100000,
					0xfffff000, 1ULL << 32, UINT64_MAX - 100 };
	for (unsigned i = 0; i < sizeof(pas) / sizeof(pas[0]); i++)
		(void)t.ops->read_phys(&t, pas[i], buf, sizeof(buf));
	/* Addresses taken from the input itself reach the segment edges. */
	for (size_t i = 0; i + 8 <= size && i < 512; i += 8) {
		uint64_t pa;
		memcpy(&pa, data + i, 8);
		(void)t.ops->read_phys(&t, pa, buf, 1 + (pa & 4095));
	}
	(void)vmcore_field(&t, "zone");
	(void)vmcore_field(&t, "panic");
	size_t vl;
	const char *vi = vmcore_vmcoreinfo(&t, &vl);
	if (vi && (vi < (const char *)copy || vi + vl > (const char *)copy + size))
		abort();
	if (t.ops->stop(&t) != -ENOTSUP || t.ops->write_phys(&t, 0, buf, 1) != -ENOTSUP ||
	    t.ops->set_break(&t, KZ_BREAK_SW, 0, 1) != -ENOTSUP)
		abort();
	t.ops->close(&t);
	free(copy);
	return 0;
}
