/*
 * virtio-console (virtio 1.x section 5.3): one port, no multiport, which
 * Linux calls hvc0.
 *
 * It is a second door to the same console as the UART: what the guest
 * transmits goes to vmm_vm_console_output, and host console input is
 * offered to both (vmm_vm_console_input), the guest deciding which one
 * it reads.  Input waits in a small ring until the driver posts receive
 * buffers; while no driver runs the device, input is not kept, so an old
 * line does not surface when a driver arrives minutes later.
 */
#include "devices.h"
#include "virtio.h"
#include "vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define Q_RX	0
#define Q_TX	1
#define RING	4096

struct vcon {
	uint8_t ring[RING];
	unsigned head, count;
	uint64_t in_bytes, out_bytes, dropped;
	struct virtq_chain chain;
	uint8_t buf[4096];
};

/* Move queued input into the driver's receive buffers (lock held). */
static void vcon_deliver(struct virtio_dev *vd)
{
	struct vcon *c = vd->be;
	struct virtq *q = &vd->vq[Q_RX];
	bool pushed = false;

	while (c->count && virtio_driver_ok(vd) && q->ready &&
	       virtio_queue_pop(vd, Q_RX, &c->chain) > 0) {
		uint32_t done = 0;
		while (c->count && done < c->chain.in_len) {
			uint32_t run = RING - c->head;
			if (run > c->count)
				run = c->count;
			uint32_t n = virtq_chain_write(&c->chain, done,
						       c->ring + c->head, run);
			if (!n)
				break;
			done += n;
			c->head = (c->head + n) % RING;
			c->count -= n;
		}
		virtq_push(q, c->chain.head, done);
		pushed = true;
	}
	if (pushed)
		virtio_queue_interrupt(vd, Q_RX);
}

static void vcon_transmit(struct virtio_dev *vd)
{
	struct vcon *c = vd->be;
	struct virtq *q = &vd->vq[Q_TX];
	bool pushed = false;

	while (virtio_queue_pop(vd, Q_TX, &c->chain) > 0) {
		for (uint32_t off = 0; off < c->chain.out_len;) {
			uint32_t n = virtq_chain_read(&c->chain, off, c->buf,
						      sizeof(c->buf));
			if (!n)
				break;
			vmm_vm_console_output(vd->dev->vm, c->buf, n);
			c->out_bytes += n;
			off += n;
		}
		virtq_push(q, c->chain.head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_queue_interrupt(vd, Q_TX);
}

static void vcon_notify(struct virtio_dev *vd, unsigned q)
{
	if (q == Q_TX)
		vcon_transmit(vd);
	else
		vcon_deliver(vd);
}

static void vcon_reset(struct virtio_dev *vd)
{
	struct vcon *c = vd->be;
	if (c)
		c->head = c->count = 0;
}

static void vcon_destroy(struct virtio_dev *vd)
{
	free(vd->be);
	vd->be = NULL;
}

static const struct virtio_backend vcon_backend = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.nqueues = 2,
	.notify = vcon_notify,
	.reset = vcon_reset,
	.resumed = vcon_deliver,
	.destroy = vcon_destroy,
};

static int vcon_create(struct vmm_dev *dev)
{
	struct virtio_dev *vd = dev->priv;
	struct vcon *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	/* cols, rows (unused without F_SIZE), max_nr_ports = 1. */
	vd->config[4] = 1;
	vd->config_len = 12;
	return virtio_init(dev, &vcon_backend, c, 0);
}

void vmm_vcon_input(struct vmm_dev *dev, const uint8_t *buf, size_t len)
{
	struct virtio_dev *vd = dev->priv;
	struct vcon *c;

	pthread_mutex_lock(&dev->lock);
	c = vd->be;
	if (c && virtio_driver_ok(vd)) {
		for (size_t i = 0; i < len; i++) {
			if (c->count == RING) {
				c->dropped += len - i;
				break;
			}
			c->ring[(c->head + c->count) % RING] = buf[i];
			c->count++;
			c->in_bytes++;
		}
		/* A paused machine gets it when it resumes (.resumed). */
		if (!vd->paused)
			vcon_deliver(vd);
	}
	pthread_mutex_unlock(&dev->lock);
}

size_t vmm_vcon_stats(struct vmm_dev *dev, char *buf, size_t len)
{
	struct virtio_dev *vd = dev->priv;
	struct vcon *c = vd->be;
	if (!c)
		return 0;
	int n = snprintf(buf, len, "hvc0: in %llu out %llu dropped %llu%s%s\n",
			 (unsigned long long)c->in_bytes,
			 (unsigned long long)c->out_bytes,
			 (unsigned long long)c->dropped,
			 vd->broken_why ? " broken: " : "",
			 vd->broken_why ? vd->broken_why : "");
	return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

const struct vmm_dev_ops vmm_vcon_ops = {
	.name = "virtio-console",
	.priv_size = sizeof(struct virtio_dev),
	.create = vcon_create,
	.io = virtio_mmio_io,
	.reset = virtio_mmio_reset,
	.pause = virtio_mmio_pause,
	.resume = virtio_mmio_resume,
	.destroy = virtio_mmio_destroy,
};
