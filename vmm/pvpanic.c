/*
 * pvpanic (QEMU's ISA device, ACPI id QEMU0001) at port 0x505.  Reading
 * tells the guest which events we understand; writing bit 0 says the
 * guest kernel panicked, bit 1 that it is about to load a crash kernel.
 * A panic stops the machine with VMM_STOP_PANIC: the vCPUs are held for
 * savecore and the debugger rather than rebooted behind their back.
 */
#include "device.h"
#include "devices.h"
#include "vm.h"

#include <string.h>

#define PVPANIC_PANICKED	0x01
#define PVPANIC_CRASH_LOADED	0x02

static void pvpanic_io(struct vmm_dev *dev, uint64_t offset, uint8_t *data,
		       uint32_t len, bool is_write)
{
	(void)offset;
	if (!is_write) {
		memset(data, 0, len);
		data[0] = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
		return;
	}
	if (data[0] & PVPANIC_PANICKED)
		vmm_vm_guest_panic(dev->vm, data[0]);
}

const struct vmm_dev_ops vmm_pvpanic_ops = {
	.name = "pvpanic",
	.io = pvpanic_io,
};
