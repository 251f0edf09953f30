#ifndef KZ_VMM_VCPU_H
#define KZ_VMM_VCPU_H

#include <stdint.h>

struct vmm_vm;
struct vmm_vcpu;
struct vmm_boot_entry;

/* Signal that pulls a vCPU thread out of KVM_RUN. */
int vmm_vcpu_signal(void);
/* Install the kick handler (once per process). */
int vmm_vcpu_init_signals(void);

/* Create the KVM vCPU and give it CPUID, MSRs, FPU and LAPIC wiring. */
int vmm_vcpu_create(struct vmm_vm *vm, struct vmm_vcpu *vcpu, unsigned id)
	__attribute__((warn_unused_result));
void vmm_vcpu_destroy(struct vmm_vcpu *vcpu);
/* KVM's statistic NAME of the vCPU (e.g. "exits"); 0 or -errno. */
int vmm_vcpu_kvm_stat(struct vmm_vcpu *vcpu, const char *name, uint64_t *val);
/* Put the boot vCPU in the state the loader asked for. */
int vmm_vcpu_set_boot_state(struct vmm_vcpu *vcpu,
			    const struct vmm_boot_entry *entry)
	__attribute__((warn_unused_result));
/* Write the GDT and identity page tables the boot states rely on. */
int vmm_vcpu_write_boot_tables(struct vmm_vm *vm);

/* Thread body: runs the vCPU until the machine stops. */
void *vmm_vcpu_thread(void *arg);

#endif
