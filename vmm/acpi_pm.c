/*
 * ACPI fixed hardware: the PM1a event block (status and enable) and the
 * PM1a control block named by the FADT.  Writing SLP_EN with the \_S5
 * sleep type powers the machine off.  The power button sets PWRBTN_STS
 * and raises the SCI, which is how the host asks a guest to shut down
 * cleanly (zoneadm shutdown).
 *
 * Layout from the device's base (KZ_PORT_ACPI_PM1A_EVT):
 *   +0 PM1a_STS (16 bit, write 1 to clear)   +2 PM1a_EN (16 bit)
 *   +4 PM1a_CNT (16 bit)
 */
#include "device.h"
#include "devices.h"
#include "layout.h"
#include "vm.h"

#include <string.h>

#define STS_PWRBTN	0x0100
#define CNT_SCI_EN	0x0001
#define CNT_SLP_TYP(v)	(((v) >> 10) & 7)
#define CNT_SLP_EN	0x2000

struct acpi_pm {
	uint16_t sts, en, cnt;
	bool sci_level;
};

static void pm_update_sci(struct vmm_dev *dev, struct acpi_pm *pm)
{
	bool level = (pm->sts & pm->en) != 0;
	if (level != pm->sci_level) {
		pm->sci_level = level;
		vmm_dev_irq_set(dev, level);
	}
}

static uint16_t *pm_reg(struct acpi_pm *pm, uint64_t offset)
{
	switch (offset & ~1ULL) {
	case 0: return &pm->sts;
	case 2: return &pm->en;
	case 4: return &pm->cnt;
	default: return NULL;
	}
}

static void pm_write(struct vmm_dev *dev, struct acpi_pm *pm, uint64_t offset,
		     uint16_t v)
{
	switch (offset) {
	case 0:
		pm->sts &= (uint16_t)~v;
		break;
	case 2:
		pm->en = v;
		break;
	case 4:
		/* SLP_EN is write-only: it triggers, it is not stored. */
		pm->cnt = (uint16_t)((v & ~CNT_SLP_EN) | CNT_SCI_EN);
		if ((v & CNT_SLP_EN) && CNT_SLP_TYP(v) == KZ_ACPI_S5_SLP_TYP)
			vmm_vm_guest_poweroff(dev->vm);
		break;
	}
}

static void acpi_pm_io(struct vmm_dev *dev, uint64_t offset, uint8_t *data,
		       uint32_t len, bool is_write)
{
	struct acpi_pm *pm = dev->priv;

	pthread_mutex_lock(&dev->lock);
	uint16_t *reg = pm_reg(pm, offset);
	if (is_write) {
		/* Byte writes hit one half of a 16-bit register. */
		uint16_t v = data[0];
		if (len >= 2)
			v |= (uint16_t)(data[1] << 8);
		else if (reg && (offset & 1))
			v = (uint16_t)((*reg & 0x00FF) | (data[0] << 8));
		else if (reg)
			v = (uint16_t)((*reg & 0xFF00) | data[0]);
		if (reg)
			pm_write(dev, pm, offset & ~1ULL, v);
		pm_update_sci(dev, pm);
	} else {
		memset(data, 0, len);
		if (reg) {
			uint16_t v = *reg;
			if (offset & 1)
				v >>= 8;
			data[0] = (uint8_t)v;
			if (len >= 2 && !(offset & 1))
				data[1] = (uint8_t)(v >> 8);
		}
	}
	pthread_mutex_unlock(&dev->lock);
}

void vmm_acpi_pm_power_button(struct vmm_dev *dev)
{
	struct acpi_pm *pm = dev->priv;
	pthread_mutex_lock(&dev->lock);
	pm->sts |= STS_PWRBTN;
	pm_update_sci(dev, pm);
	pthread_mutex_unlock(&dev->lock);
}

static void acpi_pm_reset(struct vmm_dev *dev)
{
	struct acpi_pm *pm = dev->priv;
	pthread_mutex_lock(&dev->lock);
	memset(pm, 0, sizeof(*pm));
	/* No SMI_CMD in the FADT: the machine is in ACPI mode from power-on. */
	pm->cnt = CNT_SCI_EN;
	pthread_mutex_unlock(&dev->lock);
}

static int acpi_pm_create(struct vmm_dev *dev)
{
	acpi_pm_reset(dev);
	return 0;
}

const struct vmm_dev_ops vmm_acpi_pm_ops = {
	.name = "acpi-pm",
	.priv_size = sizeof(struct acpi_pm),
	.create = acpi_pm_create,
	.io = acpi_pm_io,
	.reset = acpi_pm_reset,
};
