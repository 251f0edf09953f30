/*
 * Guest CPUID: KVM's supported set, with the topology made true for the
 * machine we build.  Guests size their per-CPU structures and pick their
 * scheduler domains from leaves 1, 4, 0xB/0x1F and 0x80000008, so these
 * must agree with the MADT: one package, ncpus cores, one thread each,
 * APIC id = vCPU index.
 */
#include "cpuid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#define CPUID_MAX_ENTRIES 256
#define LEAF1_EDX_HTT (1u << 28)
#define LEAF1_ECX_HYPERVISOR (1u << 31)
#define TOPO_TYPE_SMT 1
#define TOPO_TYPE_CORE 2

struct kvm_cpuid2 *vmm_cpuid_supported(int kvm_fd)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + CPUID_MAX_ENTRIES *
						 sizeof(c->entries[0]));
	if (!c)
		return NULL;
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		int e = errno;
		free(c);
		errno = e;
		return NULL;
	}
	return c;
}

unsigned vmm_cpuid_shift(unsigned n)
{
	unsigned s = 0;
	while ((1u << s) < n)
		s++;
	return s;
}

static void topology_leaf(struct kvm_cpuid_entry2 *e, unsigned apic_id,
			  unsigned ncpus)
{
	switch (e->index) {
	case 0:		/* SMT level: one thread per core */
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (TOPO_TYPE_SMT << 8) | 0;
		break;
	case 1:		/* core level: every core of the package */
		e->eax = vmm_cpuid_shift(ncpus);
		e->ebx = ncpus;
		e->ecx = (TOPO_TYPE_CORE << 8) | 1;
		break;
	default:	/* no further levels */
		e->eax = 0;
		e->ebx = 0;
		e->ecx = e->index;
		break;
	}
	e->edx = apic_id;
}

static void patch_entry(struct kvm_cpuid_entry2 *e, unsigned apic_id,
			unsigned ncpus)
{
	switch (e->function) {
	case 1:
		e->ebx &= 0x0000FFFF;
		e->ebx |= (apic_id << 24) | ((ncpus & 0xFF) << 16);
		if (ncpus > 1)
			e->edx |= LEAF1_EDX_HTT;
		e->ecx |= LEAF1_ECX_HYPERVISOR;
		break;
	case 4: {
		/* Caches: L1/L2 per core, L3 and beyond shared by all. */
		unsigned level = (e->eax >> 5) & 7;
		unsigned sharing = level >= 3 ? ncpus - 1 : 0;
		e->eax &= 0x3FFF;
		e->eax |= ((ncpus - 1) << 26) | (sharing << 14);
		break;
	}
	case 0xB:
	case 0x1F:
		topology_leaf(e, apic_id, ncpus);
		break;
	case 0x80000008:
		e->ecx &= ~0xF0FFu;
		e->ecx |= (ncpus - 1) | (vmm_cpuid_shift(ncpus) << 12);
		break;
	default:
		break;
	}
}

int vmm_cpuid_apply(int vcpu_fd, const struct kvm_cpuid2 *supported,
		    unsigned apic_id, unsigned ncpus)
{
	size_t sz = sizeof(*supported) +
		    supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	if (!c)
		return -ENOMEM;
	memcpy(c, supported, sz);
	for (unsigned i = 0; i < c->nent; i++)
		patch_entry(&c->entries[i], apic_id, ncpus);
	int rc = ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	return rc;
}
