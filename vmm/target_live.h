#ifndef KZ_VMM_TARGET_LIVE_H
#define KZ_VMM_TARGET_LIVE_H

struct kz_target;
struct vmm_vm;

/* A target over a running machine (register access needs it paused). */
void vmm_target_live_init(struct kz_target *t, struct vmm_vm *vm);

#endif
