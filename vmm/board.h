#ifndef KZ_VMM_BOARD_H
#define KZ_VMM_BOARD_H

#include <stdint.h>
#include "device.h"

struct vmm_vm;

/* The fixed chips, then the configured virtio devices; err says why not. */
int vmm_board_create(struct vmm_vm *vm, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Add one device at base..base+size on a bus (cfg: the device's own). */
int vmm_board_add(struct vmm_vm *vm, const struct vmm_dev_ops *ops,
		  enum vmm_bus_kind bus, uint64_t base, uint64_t size,
		  unsigned irq, const void *cfg)
	__attribute__((warn_unused_result));
void vmm_board_reset(struct vmm_vm *vm);
void vmm_board_destroy(struct vmm_vm *vm);
/* The device answering [addr, addr+len) on a bus, and the offset into it. */
struct vmm_dev *vmm_board_find(struct vmm_vm *vm, enum vmm_bus_kind bus,
			       uint64_t addr, uint32_t len, uint64_t *offset);
struct vmm_dev *vmm_board_dev(struct vmm_vm *vm, const struct vmm_dev_ops *ops);

#endif
