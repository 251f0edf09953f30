#ifndef KZ_VMM_DEBUGCTL_H
#define KZ_VMM_DEBUGCTL_H

#include <stdbool.h>
#include <stdint.h>
#include "vm.h"

/* Apply breakpoints (and single-step when step) to one vCPU's KVM state. */
int vmm_dbg_apply(struct vmm_vcpu *v, bool step);
/* From a vCPU thread: a debug event happened here; stop the machine. */
void vmm_dbg_event(struct vmm_vcpu *v, enum vmm_dbg_event ev, uint64_t addr);
/* Is there a software breakpoint planted at this virtual address? */
bool vmm_dbg_is_swbp(struct vmm_vm *vm, uint64_t vaddr);
/* Handle a KVM_EXIT_DEBUG on this vCPU. */
void vmm_dbg_exit(struct vmm_vcpu *v);

/* The debugger's side; all but stop and wait need the machine stopped. */
int vmm_dbg_stop(struct vmm_vm *vm);
int vmm_dbg_resume(struct vmm_vm *vm);
int vmm_dbg_step(struct vmm_vm *vm, unsigned cpu);
int vmm_dbg_set_sw(struct vmm_vm *vm, uint64_t vaddr, uint64_t paddr);
int vmm_dbg_clear_sw(struct vmm_vm *vm, uint64_t vaddr);
int vmm_dbg_set_hw(struct vmm_vm *vm, uint64_t addr, unsigned type,
		   unsigned len);
int vmm_dbg_clear_hw(struct vmm_vm *vm, uint64_t addr, unsigned type,
		     unsigned len);
/* Take the pending event, waiting up to timeout_ms (-1: forever). */
int vmm_dbg_wait(struct vmm_vm *vm, enum vmm_dbg_event *ev, unsigned *cpu,
		 uint64_t *addr, int timeout_ms);
/*
 * One debugger at a time (the built-in one or gdb).  Claim returns
 * -EBUSY with the current holder's name in holder; release removes every
 * breakpoint and resumes the machine if the debugger left it stopped.
 */
int vmm_dbg_claim(struct vmm_vm *vm, const char *who, char *holder,
		  size_t len);
void vmm_dbg_release(struct vmm_vm *vm, const char *who);
/* The holder's name, or "" (for the zone's auxiliary state). */
void vmm_dbg_holder(struct vmm_vm *vm, char *buf, size_t len);

/*
 * After a reboot has reloaded RAM: plant each software breakpoint again
 * where the same code came back to the same place (a kernel the VMM
 * loads itself), forget the others (code the guest moves or unpacks).
 */
void vmm_dbg_replant(struct vmm_vm *vm);

#endif
