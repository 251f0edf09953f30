/*
 * 8250/16550A UART on COM1.
 *
 * Transmit is instantaneous: a byte written to THR goes straight to the
 * machine's console output, so the transmitter is always empty.  Receive
 * has a 4 KiB buffer, larger than a real FIFO so a paste does not overrun,
 * read through RBR exactly as a FIFO would be.  Loopback mode (MCR bit 4)
 * works because Linux's 8250 autodetection tests it.
 *
 * The interrupt line follows the 16550 priority rules (line status, data
 * ready, THR empty, modem status) and is driven level-style: raised while
 * anything enabled is pending, lowered when nothing is.
 */
#include "uart.h"
#include "device.h"
#include "vm.h"

#include <stdlib.h>
#include <string.h>

enum {
	UART_RBR_THR = 0, UART_IER = 1, UART_IIR_FCR = 2, UART_LCR = 3,
	UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

#define IER_RDI		0x01	/* receive data available */
#define IER_THRI	0x02	/* transmitter holding register empty */
#define IER_RLSI	0x04	/* receiver line status */
#define IER_MSI		0x08	/* modem status */
#define IIR_NONE	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_RLSI	0x06
#define IIR_FIFO_ON	0xC0
#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define LCR_DLAB	0x80
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

#define RX_SIZE 4096

struct uart {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	uint8_t lsr_err;	/* overrun, reported once by LSR read */
	uint8_t msr_delta;	/* low nibble of MSR */
	bool thri_pending;	/* THR-empty interrupt not yet acknowledged */
	bool irq_level;
	uint8_t rx[RX_SIZE];
	unsigned rx_head, rx_count;
	bool paused;		/* the machine is paused: input waits */
};

static unsigned uart_iir(const struct uart *u)
{
	if ((u->ier & IER_RLSI) && u->lsr_err)
		return IIR_RLSI;
	if ((u->ier & IER_RDI) && u->rx_count)
		return IIR_RDI;
	if ((u->ier & IER_THRI) && u->thri_pending)
		return IIR_THRI;
	if ((u->ier & IER_MSI) && u->msr_delta)
		return IIR_MSI;
	return IIR_NONE;
}

static void uart_update_irq(struct vmm_dev *dev, struct uart *u)
{
	bool level = uart_iir(u) != IIR_NONE;
	if (level != u->irq_level) {
		u->irq_level = level;
		vmm_dev_irq_set(dev, level);
	}
}

static void rx_push(struct uart *u, uint8_t c)
{
	if (u->rx_count == RX_SIZE) {
		u->lsr_err |= LSR_OE;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % RX_SIZE] = c;
	u->rx_count++;
}

static uint8_t rx_pop(struct uart *u)
{
	if (!u->rx_count)
		return 0;
	uint8_t c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % RX_SIZE;
	u->rx_count--;
	return c;
}

static uint8_t uart_msr(const struct uart *u)
{
	if (u->mcr & MCR_LOOP) {
		uint8_t m = 0;
		if (u->mcr & MCR_RTS)
			m |= MSR_CTS;
		if (u->mcr & MCR_DTR)
			m |= MSR_DSR;
		if (u->mcr & MCR_OUT1)
			m |= MSR_RI;
		if (u->mcr & MCR_OUT2)
			m |= MSR_DCD;
		return m | u->msr_delta;
	}
	/* A console that is always there: carrier, DSR and CTS asserted. */
	return MSR_DCD | MSR_DSR | MSR_CTS | u->msr_delta;
}

static uint8_t uart_read(struct vmm_dev *dev, struct uart *u, unsigned reg)
{
	uint8_t v;

	switch (reg) {
	case UART_RBR_THR:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		return rx_pop(u);
	case UART_IER:
		if (u->lcr & LCR_DLAB)
			return u->dlm;
		return u->ier;
	case UART_IIR_FCR:
		v = uart_iir(u);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if (v == IIR_THRI)
			u->thri_pending = false;
		return v | ((u->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		v = LSR_THRE | LSR_TEMT | u->lsr_err;
		if (u->rx_count)
			v |= LSR_DR;
		u->lsr_err = 0;
		return v;
	case UART_MSR:
		v = uart_msr(u);
		u->msr_delta = 0;
		return v;
	default:
		(void)dev;
		return u->scr;
	}
}

static void uart_write(struct vmm_dev *dev, struct uart *u, unsigned reg,
		       uint8_t v)
{
	switch (reg) {
	case UART_RBR_THR:
		if (u->lcr & LCR_DLAB) {
			u->dll = v;
			return;
		}
		if (u->mcr & MCR_LOOP)
			rx_push(u, v);
		else
			vmm_vm_console_output(dev->vm, &v, 1);
		/* The byte left at once: THR is empty again. */
		u->thri_pending = true;
		return;
	case UART_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
			return;
		}
		/* Enabling THRI with THR empty raises it at once. */
		if ((v & IER_THRI) && !(u->ier & IER_THRI))
			u->thri_pending = true;
		u->ier = v & 0x0F;
		return;
	case UART_IIR_FCR:
		u->fcr = v & FCR_ENABLE;
		if (v & FCR_CLEAR_RX)
			u->rx_head = u->rx_count = 0;
		return;
	case UART_LCR:
		u->lcr = v;
		return;
	case UART_MCR:
		u->mcr = v & 0x1F;
		return;
	case UART_SCR:
		u->scr = v;
		return;
	default:
		return;		/* LSR and MSR are read-only */
	}
}

static void uart_io(struct vmm_dev *dev, uint64_t offset, uint8_t *data,
		    uint32_t len, bool is_write)
{
	struct uart *u = dev->priv;

	/* 8250 registers are bytes; wider accesses touch the first only. */
	pthread_mutex_lock(&dev->lock);
	if (is_write)
		uart_write(dev, u, (unsigned)offset & 7, data[0]);
	else {
		memset(data, 0, len);
		data[0] = uart_read(dev, u, (unsigned)offset & 7);
	}
	uart_update_irq(dev, u);
	pthread_mutex_unlock(&dev->lock);
}

static void uart_reset(struct vmm_dev *dev)
{
	struct uart *u = dev->priv;
	pthread_mutex_lock(&dev->lock);
	bool paused = u->paused;	/* a reboot under a debugger */
	memset(u, 0, sizeof(*u));
	u->dll = 12;		/* 9600 baud, what a PC's BIOS leaves */
	u->paused = paused;
	pthread_mutex_unlock(&dev->lock);
}

/*
 * While the machine is paused the UART takes no input, so its registers
 * and its interrupt line hold still under a debugger or a dump; the
 * console server keeps the keys and offers them again.
 */
static void uart_set_paused(struct vmm_dev *dev, bool paused)
{
	struct uart *u = dev->priv;
	pthread_mutex_lock(&dev->lock);
	u->paused = paused;
	pthread_mutex_unlock(&dev->lock);
}

static void uart_pause(struct vmm_dev *dev)
{
	uart_set_paused(dev, true);
}

static void uart_resume(struct vmm_dev *dev)
{
	uart_set_paused(dev, false);
}

static int uart_create(struct vmm_dev *dev)
{
	uart_reset(dev);
	return 0;
}

size_t vmm_uart_rx_room(struct vmm_dev *dev)
{
	struct uart *u = dev->priv;
	pthread_mutex_lock(&dev->lock);
	size_t room = RX_SIZE - u->rx_count;
	pthread_mutex_unlock(&dev->lock);
	return room;
}

size_t vmm_uart_input(struct vmm_dev *dev, const uint8_t *buf, size_t len)
{
	struct uart *u = dev->priv;
	size_t n = 0;

	pthread_mutex_lock(&dev->lock);
	while (!u->paused && n < len && u->rx_count < RX_SIZE)
		rx_push(u, buf[n++]);
	uart_update_irq(dev, u);
	pthread_mutex_unlock(&dev->lock);
	return n;
}

const struct vmm_dev_ops vmm_uart_ops = {
	.name = "uart",
	.priv_size = sizeof(struct uart),
	.create = uart_create,
	.io = uart_io,
	.reset = uart_reset,
	.pause = uart_pause,
	.resume = uart_resume,
};
