/* The device models of the board, one file each (see vmm/board.c). */
#ifndef KZ_VMM_DEVICES_H
#define KZ_VMM_DEVICES_H

#include <stddef.h>

#include "device.h"

extern const struct vmm_dev_ops vmm_uart_ops;	/* uart.c */
extern const struct vmm_dev_ops vmm_i8042_ops;	/* i8042.c */
extern const struct vmm_dev_ops vmm_rtc_ops;	/* rtc.c */
extern const struct vmm_dev_ops vmm_pvpanic_ops;	/* pvpanic.c */
extern const struct vmm_dev_ops vmm_acpi_pm_ops;	/* acpi_pm.c */
extern const struct vmm_dev_ops vmm_reset_ops;	/* reset_cf9.c */
/* virtio-mmio devices, added per machine from its configuration. */
extern const struct vmm_dev_ops vmm_vcon_ops;	/* vcon.c */
extern const struct vmm_dev_ops vmm_vblk_ops;	/* vblk.c, cfg: vmm_disk_config */
extern const struct vmm_dev_ops vmm_vnet_ops;	/* vnet.c, cfg: vmm_net_config */

/* Host console input for hvc0 (any thread); taken only while a driver runs. */
void vmm_vcon_input(struct vmm_dev *dev, const uint8_t *buf, size_t len);
/* One line of counters for the device; returns its length. */
size_t vmm_vcon_stats(struct vmm_dev *dev, char *buf, size_t len);
size_t vmm_vblk_stats(struct vmm_dev *dev, char *buf, size_t len);
size_t vmm_vnet_stats(struct vmm_dev *dev, char *buf, size_t len);

/* Press the ACPI power button (SCI to the guest): a clean shutdown request. */
void vmm_acpi_pm_power_button(struct vmm_dev *dev);

#endif
