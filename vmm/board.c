/*
 * The machine's devices, in one visible table: what answers at which
 * port or address, and on which interrupt line.  The in-kernel irqchip
 * (PIC, IOAPIC, LAPICs) and PIT live in KVM and are not listed here.
 */
#include "board.h"
#include "devices.h"
#include "layout.h"
#include "vm.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

static const struct board_slot {
	const struct vmm_dev_ops *ops;
	enum vmm_bus_kind bus;
	uint64_t base;
	uint64_t size;
	unsigned irq;
} board_slots[] = {
	{ &vmm_uart_ops, VMM_BUS_PIO, KZ_PORT_COM1, 8, KZ_IRQ_COM1 },
	{ &vmm_i8042_ops, VMM_BUS_PIO, KZ_PORT_I8042_DATA, 5, 0 },
	{ &vmm_rtc_ops, VMM_BUS_PIO, KZ_PORT_RTC, 2, KZ_IRQ_RTC },
	{ &vmm_pvpanic_ops, VMM_BUS_PIO, KZ_PORT_PVPANIC, 1, 0 },
	{ &vmm_acpi_pm_ops, VMM_BUS_PIO, KZ_PORT_ACPI_PM1A_EVT, 6,
	  KZ_IRQ_ACPI_SCI },
	{ &vmm_reset_ops, VMM_BUS_PIO, KZ_PORT_ACPI_RESET, 1, 0 },
};

#define NSLOTS (sizeof(board_slots) / sizeof(board_slots[0]))
_Static_assert(NSLOTS <= VMM_MAX_DEVS, "board has more devices than slots");

void vmm_dev_irq_set(struct vmm_dev *dev, bool level)
{
	struct kvm_irq_level irq = { .irq = dev->irq, .level = level };
	/* Fails only when the VM is being torn down; nothing to tell then. */
	(void)ioctl(dev->vm->vm_fd, KVM_IRQ_LINE, &irq);
}

int vmm_board_create(struct vmm_vm *vm)
{
	for (unsigned i = 0; i < NSLOTS; i++) {
		const struct board_slot *s = &board_slots[i];
		struct vmm_dev *dev = &vm->devs[i];

		*dev = (struct vmm_dev){
			.ops = s->ops, .vm = vm, .bus = s->bus,
			.base = s->base, .size = s->size, .irq = s->irq,
		};
		pthread_mutex_init(&dev->lock, NULL);
		if (s->ops->priv_size) {
			dev->priv = calloc(1, s->ops->priv_size);
			if (!dev->priv)
				goto fail;
		}
		vm->ndevs = i + 1;
		if (s->ops->create && s->ops->create(dev) < 0)
			goto fail;
	}
	vm->uart = vmm_board_dev(vm, &vmm_uart_ops);
	return 0;
fail:
	vmm_board_destroy(vm);
	return -ENOMEM;
}

void vmm_board_reset(struct vmm_vm *vm)
{
	for (unsigned i = 0; i < vm->ndevs; i++)
		if (vm->devs[i].ops->reset)
			vm->devs[i].ops->reset(&vm->devs[i]);
}

void vmm_board_destroy(struct vmm_vm *vm)
{
	for (unsigned i = 0; i < vm->ndevs; i++) {
		struct vmm_dev *dev = &vm->devs[i];
		if (dev->ops->destroy)
			dev->ops->destroy(dev);
		free(dev->priv);
		pthread_mutex_destroy(&dev->lock);
	}
	vm->ndevs = 0;
	vm->uart = NULL;
}

struct vmm_dev *vmm_board_find(struct vmm_vm *vm, enum vmm_bus_kind bus,
			       uint64_t addr, uint32_t len, uint64_t *offset)
{
	for (unsigned i = 0; i < vm->ndevs; i++) {
		struct vmm_dev *dev = &vm->devs[i];
		if (dev->bus != bus || addr < dev->base)
			continue;
		uint64_t off = addr - dev->base;
		if (off >= dev->size || len > dev->size - off)
			continue;
		*offset = off;
		return dev;
	}
	return NULL;
}

struct vmm_dev *vmm_board_dev(struct vmm_vm *vm, const struct vmm_dev_ops *ops)
{
	for (unsigned i = 0; i < vm->ndevs; i++)
		if (vm->devs[i].ops == ops)
			return &vm->devs[i];
	return NULL;
}
