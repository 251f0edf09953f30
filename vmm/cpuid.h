#ifndef KZ_VMM_CPUID_H
#define KZ_VMM_CPUID_H

struct kvm_cpuid2;

/*
 * Set vCPU fd's CPUID from what KVM supports, with the topology of a
 * single socket holding ncpus cores of one thread each, and apic_id as
 * this vCPU's APIC id.  Returns 0 or -errno.
 */
int vmm_cpuid_apply(int vcpu_fd, const struct kvm_cpuid2 *supported,
		    unsigned apic_id, unsigned ncpus);

/* What KVM supports, allocated; NULL with errno set on failure. */
struct kvm_cpuid2 *vmm_cpuid_supported(int kvm_fd);

/* Bits needed to number n things (the x2APIC topology shift). */
unsigned vmm_cpuid_shift(unsigned n);

#endif
