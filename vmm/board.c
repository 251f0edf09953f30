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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static struct vmm_dev *board_slot_init(struct vmm_vm *vm,
					const struct vmm_dev_ops *ops,
					enum vmm_bus_kind bus, uint64_t base,
					uint64_t size, unsigned irq,
					const void *cfg)
{
	struct vmm_dev *dev = &vm->devs[vm->ndevs];

	*dev = (struct vmm_dev){
		.ops = ops, .vm = vm, .bus = bus, .base = base, .size = size,
		.irq = irq, .cfg = cfg,
	};
	pthread_mutex_init(&dev->lock, NULL);
	vm->ndevs++;
	return dev;
}

int vmm_board_add(struct vmm_vm *vm, const struct vmm_dev_ops *ops,
		  enum vmm_bus_kind bus, uint64_t base, uint64_t size,
		  unsigned irq, const void *cfg)
{
	if (vm->ndevs == VMM_MAX_DEVS)
		return -ENOSPC;
	struct vmm_dev *dev = board_slot_init(vm, ops, bus, base, size, irq,
					      cfg);
	if (ops->priv_size) {
		dev->priv = calloc(1, ops->priv_size);
		if (!dev->priv)
			return -ENOMEM;
	}
	return ops->create ? ops->create(dev) : 0;
}

/*
 * The virtio devices of this machine: the console always, then disks and
 * links from the configuration, each in the slot its id names.
 */
static int board_add_virtio(struct vmm_vm *vm, char *err, size_t errlen)
{
	static const unsigned irqs[] = KZ_VIRTIO_IRQS;
	const struct vmm_config *c = &vm->cfg;
	unsigned nirq = 0;
	int rc;

#define VSLOT(n) (KZ_GPA_VIRTIO + KZ_VIRTIO_STRIDE * (n))
	if (1 + c->ndisks + c->nnets > sizeof(irqs) / sizeof(irqs[0])) {
		snprintf(err, errlen, "%u disks and %u links: more virtio "
			 "devices than interrupt lines", c->ndisks, c->nnets);
		return -ENOSPC;
	}
	rc = vmm_board_add(vm, &vmm_vcon_ops, VMM_BUS_MMIO,
			   VSLOT(KZ_VIRTIO_SLOT_CONSOLE), KZ_VIRTIO_SIZE,
			   irqs[nirq++], NULL);
	if (rc) {
		snprintf(err, errlen, "virtio-console: %s", strerror(-rc));
		return rc;
	}
	for (unsigned i = 0; i < c->ndisks; i++) {
		const struct vmm_disk_config *d = &c->disks[i];
		for (unsigned j = 0; j < i; j++)
			if (c->disks[j].id == d->id) {
				snprintf(err, errlen, "disk id %u given twice",
					 d->id);
				return -EINVAL;
			}
		if (d->id >= VMM_MAX_DISKS) {
			snprintf(err, errlen, "disk id %u: ids go from 0 to %u",
				 d->id, VMM_MAX_DISKS - 1);
			return -EINVAL;
		}
		rc = vmm_board_add(vm, &vmm_vblk_ops, VMM_BUS_MMIO,
				   VSLOT(KZ_VIRTIO_SLOT_DISK + d->id),
				   KZ_VIRTIO_SIZE, irqs[nirq++], d);
		if (rc) {
			snprintf(err, errlen, "disk %u (%s): %s", d->id,
				 d->path, strerror(-rc));
			return rc;
		}
	}
	for (unsigned i = 0; i < c->nnets; i++) {
		const struct vmm_net_config *n = &c->nets[i];
		for (unsigned j = 0; j < i; j++)
			if (c->nets[j].id == n->id) {
				snprintf(err, errlen, "net id %u given twice",
					 n->id);
				return -EINVAL;
			}
		if (n->id >= VMM_MAX_NETS) {
			snprintf(err, errlen, "net id %u: ids go from 0 to %u",
				 n->id, VMM_MAX_NETS - 1);
			return -EINVAL;
		}
		rc = vmm_board_add(vm, &vmm_vnet_ops, VMM_BUS_MMIO,
				   VSLOT(KZ_VIRTIO_SLOT_NET + n->id),
				   KZ_VIRTIO_SIZE, irqs[nirq++], n);
		if (rc) {
			/* A tap another process has open refuses a second
			 * one: say who that usually is. */
			snprintf(err, errlen, "link %s (tap %s%s%s): %s",
				 n->link[0] ? n->link : "net", n->tap,
				 n->bridge[0] ? ", bridge " : "", n->bridge,
				 rc == -EBUSY ? "in use by another process "
				 "(a zone of the same name under another root?)"
				 : strerror(-rc));
			return rc;
		}
	}
#undef VSLOT
	return 0;
}

int vmm_board_create(struct vmm_vm *vm, char *err, size_t errlen)
{
	int rc;

	for (unsigned i = 0; i < NSLOTS; i++) {
		const struct board_slot *s = &board_slots[i];
		rc = vmm_board_add(vm, s->ops, s->bus, s->base, s->size,
				   s->irq, NULL);
		if (rc) {
			snprintf(err, errlen, "%s: %s", s->ops->name,
				 strerror(-rc));
			goto fail;
		}
	}
	rc = board_add_virtio(vm, err, errlen);
	if (rc)
		goto fail;
	vm->uart = vmm_board_dev(vm, &vmm_uart_ops);
	vm->vcon = vmm_board_dev(vm, &vmm_vcon_ops);
	return 0;
fail:
	vmm_board_destroy(vm);
	return rc;
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
		if (dev->ops->destroy && dev->priv)
			dev->ops->destroy(dev);
		free(dev->priv);
		pthread_mutex_destroy(&dev->lock);
	}
	vm->ndevs = 0;
	vm->uart = NULL;
	vm->vcon = NULL;
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
