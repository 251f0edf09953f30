/* The device models of the board, one file each (see vmm/board.c). */
#ifndef KZ_VMM_DEVICES_H
#define KZ_VMM_DEVICES_H

#include "device.h"

extern const struct vmm_dev_ops vmm_uart_ops;	/* uart.c */
extern const struct vmm_dev_ops vmm_i8042_ops;	/* i8042.c */
extern const struct vmm_dev_ops vmm_rtc_ops;	/* rtc.c */
extern const struct vmm_dev_ops vmm_pvpanic_ops;	/* pvpanic.c */
extern const struct vmm_dev_ops vmm_acpi_pm_ops;	/* acpi_pm.c */
extern const struct vmm_dev_ops vmm_reset_ops;	/* reset_cf9.c */

/* Press the ACPI power button (SCI to the guest): a clean shutdown request. */
void vmm_acpi_pm_power_button(struct vmm_dev *dev);

#endif
