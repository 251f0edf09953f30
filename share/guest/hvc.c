/*
 * virtio-console driver for kzguest: hvc0.
 *
 * With "console=hvc0" on the command line the shell reads and writes
 * hvc0 once it is up, and the UART keeps only what came before (and
 * panics).  Output is gathered into a line and sent when a line ends,
 * the buffer fills, or the shell waits for a key.  Four small receive
 * buffers stay posted; hvc_poll() moves what arrived into a ring.
 */
#include "kzguest.h"
#include "virtio.h"

#define NRX	4
#define RXBUF	64
#define TXBUF	512
#define RING	256

static struct kz_vq rxq, txq;
static uint8_t *rxbuf, *txbuf;
static unsigned txlen;
static volatile uint8_t ring[RING];
static unsigned head, tail;
static bool up;
bool kz_hvc_console;

void hvc_attach(struct kz_vdev *d)
{
	if (up || vio_negotiate(d, 0) || vio_queue(d, 0, &rxq, NRX, true) ||
	    vio_queue(d, 1, &txq, 2, false))
		return;
	rxbuf = kz_alloc_pages(1);
	txbuf = kz_alloc_pages(1);
	if (!rxbuf || !txbuf)
		return;
	vio_driver_ok(d);
	for (unsigned i = 0; i < NRX; i++) {
		vq_desc(&rxq, i, rxbuf + i * RXBUF, RXBUF, VRING_DESC_F_WRITE, 0);
		vq_post(&rxq, (uint16_t)i);
	}
	vq_kick(&rxq);
	up = true;
	kz_hvc_console = kz_cmdline_has("console=hvc0");
}

void hvc_flush(void)
{
	if (!up || !txlen)
		return;
	vq_desc(&txq, 0, txbuf, txlen, 0, 0);
	(void)vq_run(&txq, 0, NULL);
	txlen = 0;
}

void hvc_putc(char c)
{
	if (!up)
		return;
	txbuf[txlen++] = (uint8_t)c;
	if (c == '\n' || txlen == TXBUF)
		hvc_flush();
}

void hvc_poll(void)
{
	uint32_t id, len;
	bool reposted = false;

	if (!up)
		return;
	while (vq_used(&rxq, &id, &len)) {
		if (id >= NRX)
			continue;
		for (uint32_t i = 0; i < len && i < RXBUF; i++) {
			unsigned next = (head + 1) % RING;
			if (next != tail) {
				ring[head] = rxbuf[id * RXBUF + i];
				head = next;
			}
		}
		vq_desc(&rxq, id, rxbuf + id * RXBUF, RXBUF, VRING_DESC_F_WRITE, 0);
		vq_post(&rxq, (uint16_t)id);
		reposted = true;
	}
	if (reposted)
		vq_kick(&rxq);
}

int hvc_getc(void)
{
	if (head == tail)
		return -1;
	int c = ring[tail];
	tail = (tail + 1) % RING;
	return c;
}

int cmd_tty(int argc __unused, char **argv __unused)
{
	kz_printf("%s\n", kz_hvc_console ? "hvc0" : "ttyS0");
	return 0;
}
