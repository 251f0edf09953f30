/*
 * Reset control register at port 0xCF9, the FADT's RESET_REG.  Writing
 * the reset value (bit 2, "reset CPU") reboots the machine.
 */
#include "device.h"
#include "devices.h"
#include "vm.h"

#include <string.h>

#define CF9_RST_CPU 0x04

static void reset_io(struct vmm_dev *dev, uint64_t offset, uint8_t *data,
		     uint32_t len, bool is_write)
{
	(void)offset;
	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	if (data[0] & CF9_RST_CPU)
		vmm_vm_guest_reset(dev->vm, "reset register");
}

const struct vmm_dev_ops vmm_reset_ops = {
	.name = "reset",
	.io = reset_io,
};
