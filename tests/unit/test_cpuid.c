/*
 * Guest CPUID topology: apply KVM's supported CPUID to a real vCPU for a
 * machine of N vCPUs and read back what the guest will see: APIC ids and
 * logical counts in leaf 1, the x2APIC topology leaf 0xB, cores in leaf 4.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/kvm.h>

#include "cpuid.h"

static int kvm_fd = -1, vm_fd = -1;
static struct kvm_cpuid2 *supported;

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *c,
					   uint32_t fn, uint32_t idx)
{
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn &&
		    (c->entries[i].index == idx ||
		     !(c->entries[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)))
			return &c->entries[i];
	return NULL;
}

/* CPUID of vCPU `id` of an n-vCPU machine, as the guest will see it. */
static struct kvm_cpuid2 *guest_cpuid(unsigned id, unsigned n)
{
	int fd = ioctl(vm_fd, KVM_CREATE_VCPU, id);
	assert_true(fd >= 0);
	assert_int_equal(vmm_cpuid_apply(fd, supported, id, n), 0);
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));
	c->nent = 256;
	assert_int_equal(ioctl(fd, KVM_GET_CPUID2, c), 0);
	close(fd);
	return c;
}

static void test_shift(void **s)
{
	(void)s;
	assert_int_equal(vmm_cpuid_shift(1), 0);
	assert_int_equal(vmm_cpuid_shift(2), 1);
	assert_int_equal(vmm_cpuid_shift(3), 2);
	assert_int_equal(vmm_cpuid_shift(4), 2);
	assert_int_equal(vmm_cpuid_shift(64), 6);
}

static void test_leaf1_and_0xb(void **s)
{
	(void)s;
	struct kvm_cpuid2 *c = guest_cpuid(3, 4);
	const struct kvm_cpuid_entry2 *l1 = find(c, 1, 0);
	assert_non_null(l1);
	assert_int_equal(l1->ebx >> 24, 3);		/* APIC id */
	assert_int_equal((l1->ebx >> 16) & 0xff, 4);	/* logical count */
	assert_true(l1->edx & (1u << 28));		/* HTT */
	assert_true(l1->ecx & (1u << 31));		/* hypervisor */
	const struct kvm_cpuid_entry2 *smt = find(c, 0xb, 0);
	const struct kvm_cpuid_entry2 *core = find(c, 0xb, 1);
	/* Both levels, whatever subset of 0xB the host CPU lists. */
	assert_non_null(smt);
	assert_non_null(core);
	assert_int_equal(smt->ebx, 1);
	assert_int_equal((smt->ecx >> 8) & 0xff, 1);
	assert_int_equal(core->ebx, 4);
	assert_int_equal(core->eax & 0x1f, 2);
	assert_int_equal((core->ecx >> 8) & 0xff, 2);
	assert_int_equal(core->edx, 3);
	const struct kvm_cpuid_entry2 *end = find(c, 0xb, 2);
	assert_non_null(end);
	assert_int_equal((end->ecx >> 8) & 0xff, 0);
	const struct kvm_cpuid_entry2 *l4 = find(c, 4, 0);
	if (l4 && (l4->eax & 0x1f))
		assert_int_equal(l4->eax >> 26, 3);	/* cores - 1 */
	free(c);
}

static void test_single_cpu(void **s)
{
	(void)s;
	struct kvm_cpuid2 *c = guest_cpuid(0, 1);
	const struct kvm_cpuid_entry2 *l1 = find(c, 1, 0);
	assert_int_equal(l1->ebx >> 24, 0);
	assert_int_equal((l1->ebx >> 16) & 0xff, 1);
	free(c);
}

int main(void)
{
	kvm_fd = open("/dev/kvm", O_RDWR);
	if (kvm_fd < 0)
		return 1;
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	supported = vmm_cpuid_supported(kvm_fd);
	if (vm_fd < 0 || !supported)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shift),
		cmocka_unit_test(test_leaf1_and_0xb),
		cmocka_unit_test(test_single_cpu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
