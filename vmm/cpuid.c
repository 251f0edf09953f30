/*
 * Guest CPUID: KVM's supported set, with the topology made true for the
 * machine we build.  Guests size their per-CPU structures and pick their
 * scheduler domains from leaves 1, 4, 0xB/0x1F and 0x80000008, so these
 * must agree with the MADT: one package, ncpus cores, one thread each,
 * APIC id = vCPU index.
 */
#include "cpuid.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
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
	case 0x80000008:
		e->ecx &= ~0xF0FFu;
		e->ecx |= (ncpus - 1) | (vmm_cpuid_shift(ncpus) << 12);
		break;
	default:
		break;
	}
}

/*
 * The topology leaves (0xB, and 0x1F where the host has it) are written
 * whole: KVM lists only the subleaves the host CPU answers, often just
 * the SMT level, and a guest that finds no core level miscounts its CPUs.
 */
static unsigned add_topology(struct kvm_cpuid2 *c, uint32_t fn,
			     unsigned apic_id, unsigned ncpus)
{
	for (uint32_t sub = 0; sub < 3; sub++) {
		struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];
		memset(e, 0, sizeof(*e));
		e->function = fn;
		e->index = sub;
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		topology_leaf(e, apic_id, ncpus);
	}
	return 3;
}

int vmm_cpuid_apply(int vcpu_fd, const struct kvm_cpuid2 *supported,
		    unsigned apic_id, unsigned ncpus)
{
	struct kvm_cpuid2 *c = malloc(sizeof(*c) + (supported->nent + 6) *
						   sizeof(c->entries[0]));
	bool has_1f = false;
	if (!c)
		return -ENOMEM;
	c->nent = 0;
	c->padding = 0;
	for (unsigned i = 0; i < supported->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &supported->entries[i];
		if (e->function == 0xB || e->function == 0x1F) {
			has_1f |= e->function == 0x1F;
			continue;
		}
		c->entries[c->nent] = *e;
		patch_entry(&c->entries[c->nent++], apic_id, ncpus);
	}
	add_topology(c, 0xB, apic_id, ncpus);
	if (has_1f)
		add_topology(c, 0x1F, apic_id, ncpus);
	int rc = ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	return rc;
}
