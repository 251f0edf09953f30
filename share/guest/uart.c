/*
 * 8250/16550 UART on COM1: 115200 8N1, FIFO on, receive by interrupt.
 *
 * Transmit polls LSR.THRE, but only once per FIFO's worth of bytes: when
 * THRE is set the whole transmit FIFO is empty, so up to tx_fifo bytes can
 * go without asking again.  Every port access is a VM exit, so this halves
 * the exits per printed byte.  Receive: the IRQ handler drains RBR into a
 * ring that the shell reads; the ring is single producer (IRQ on the BSP)
 * and single consumer (the shell on the BSP).
 */
#include "kzguest.h"

#define COM1		0x3f8
#define UART_RBR	0	/* DLAB=0, read */
#define UART_THR	0	/* DLAB=0, write */
#define UART_DLL	0	/* DLAB=1 */
#define UART_IER	1
#define UART_DLM	1	/* DLAB=1 */
#define UART_IIR	2	/* read */
#define UART_FCR	2	/* write */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5

#define LSR_DR		0x01
#define LSR_THRE	0x20

#define RX_RING		256

static unsigned tx_fifo = 1;	/* bytes we may send per THRE */
static unsigned tx_budget;	/* bytes left before polling THRE again */
static volatile uint8_t rx_ring[RX_RING];
static volatile unsigned rx_head, rx_tail;

void uart_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, 0x80);	/* DLAB */
	outb(COM1 + UART_DLL, 1);	/* 115200 */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, 0x03);	/* 8N1 */
	outb(COM1 + UART_FCR, 0xc7);	/* FIFO on, clear both, 14-byte trigger */
	/* A 16550 reports working FIFOs in IIR bits 7:6; an 8250 does not. */
	if ((inb(COM1 + UART_IIR) & 0xc0) == 0xc0)
		tx_fifo = 16;
	outb(COM1 + UART_MCR, 0x0b);	/* DTR, RTS, OUT2 (IRQ gate on PCs) */
}

void uart_enable_rx_irq(void)
{
	/* Drain whatever arrived before we listened, then ask for RX IRQs. */
	while (inb(COM1 + UART_LSR) & LSR_DR)
		(void)inb(COM1 + UART_RBR);
	outb(COM1 + UART_IER, 0x01);
}

void uart_putc(char c)
{
	if (!tx_budget) {
		while (!(inb(COM1 + UART_LSR) & LSR_THRE))
			cpu_relax();
		tx_budget = tx_fifo;
	}
	outb(COM1 + UART_THR, (uint8_t)c);
	tx_budget--;
}

/* Wait until everything written has left (before power off or reset). */
void uart_flush(void)
{
	unsigned i;

	for (i = 0; i < 100000; i++)
		if (inb(COM1 + UART_LSR) & 0x40)	/* TEMT */
			break;
	tx_budget = 0;
}

void uart_irq(void)
{
	uint8_t lsr;
	unsigned next;

	(void)inb(COM1 + UART_IIR);
	while ((lsr = inb(COM1 + UART_LSR)) & LSR_DR) {
		uint8_t c = inb(COM1 + UART_RBR);

		next = (rx_head + 1) % RX_RING;
		if (next != rx_tail) {	/* drop on overflow */
			rx_ring[rx_head] = c;
			rx_head = next;
		}
	}
}

bool uart_rx_pending(void)
{
	return rx_head != rx_tail;
}

int uart_getc(void)
{
	int c;

	if (rx_head == rx_tail)
		return -1;
	c = rx_ring[rx_tail];
	rx_tail = (rx_tail + 1) % RX_RING;
	return c;
}
