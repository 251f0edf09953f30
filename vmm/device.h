/*
 * Devices of the board and the buses that reach them.
 *
 * A device is one file exporting one const struct vmm_dev_ops.  The board
 * (vmm/board.c) lists the devices of the machine, in order, with the port
 * or MMIO range each one answers.  vCPU threads call ops->io for every
 * access that exits to user space; other threads (console input) call a
 * device's own entry points.  Each device serialises itself with its own
 * lock: a device never blocks on another device or on a vCPU.
 */
#ifndef KZ_VMM_DEVICE_H
#define KZ_VMM_DEVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vmm_vm;
struct vmm_dev;

enum vmm_bus_kind { VMM_BUS_PIO, VMM_BUS_MMIO };

struct vmm_dev_ops {
	const char *name;
	size_t priv_size;	/* bytes of private state allocated by the board */
	/* Called once when the machine is built; may return -errno. */
	int (*create)(struct vmm_dev *dev);
	/*
	 * One access at offset (from the device's base) of len bytes (1, 2,
	 * 4 or 8).  On a read the device fills data; unclaimed bytes read as
	 * all-ones.
	 */
	void (*io)(struct vmm_dev *dev, uint64_t offset, uint8_t *data,
		   uint32_t len, bool is_write);
	/* Back to power-on state (machine reset). */
	void (*reset)(struct vmm_dev *dev);
	/*
	 * The machine paused / resumed (may be NULL).  A device with work of
	 * its own (an I/O thread) finishes what it is doing, then neither
	 * touches guest memory nor raises an interrupt until resumed: what a
	 * debugger or a dump reads of a paused machine holds still.  Pauses
	 * do not nest here; the machine calls these once per pause.
	 */
	void (*pause)(struct vmm_dev *dev);
	void (*resume)(struct vmm_dev *dev);
	void (*destroy)(struct vmm_dev *dev);
};

struct vmm_dev {
	const struct vmm_dev_ops *ops;
	struct vmm_vm *vm;
	enum vmm_bus_kind bus;
	uint64_t base;
	uint64_t size;
	unsigned irq;		/* GSI, 0 when none */
	const void *cfg;	/* configuration of a board-added device */
	pthread_mutex_t lock;
	void *priv;
};

/* Raise or lower an interrupt line of the in-kernel irqchip. */
void vmm_dev_irq_set(struct vmm_dev *dev, bool level);

#endif
