#ifndef KZ_VMM_UART_H
#define KZ_VMM_UART_H

#include <stddef.h>
#include <stdint.h>

struct vmm_dev;
extern const struct vmm_dev_ops vmm_uart_ops;

/*
 * Feed console input to the UART's receive buffer.  Returns how many
 * bytes were taken; the rest must be offered again once the guest has
 * read some (vmm_uart_rx_room tells how much fits).  A paused machine's
 * UART takes none until it resumes.
 */
size_t vmm_uart_input(struct vmm_dev *dev, const uint8_t *buf, size_t len);
size_t vmm_uart_rx_room(struct vmm_dev *dev);

#endif
