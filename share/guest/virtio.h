/* virtio-mmio driver side for kzguest (virtio.c), shared by the drivers. */
#ifndef KZGUEST_VIRTIO_H
#define KZGUEST_VIRTIO_H

#include "kzguest.h"

enum {
	VIO_MAGIC = 0x000, VIO_VERSION = 0x004, VIO_DEVICE_ID = 0x008,
	VIO_DEV_FEAT = 0x010, VIO_DEV_FEAT_SEL = 0x014, VIO_DRV_FEAT = 0x020,
	VIO_DRV_FEAT_SEL = 0x024, VIO_QUEUE_SEL = 0x030,
	VIO_QUEUE_NUM_MAX = 0x034, VIO_QUEUE_NUM = 0x038,
	VIO_QUEUE_READY = 0x044, VIO_QUEUE_NOTIFY = 0x050,
	VIO_INT_STATUS = 0x060, VIO_INT_ACK = 0x064, VIO_STATUS = 0x070,
	VIO_QUEUE_DESC_LO = 0x080, VIO_QUEUE_DESC_HI = 0x084,
	VIO_QUEUE_DRIVER_LO = 0x090, VIO_QUEUE_DRIVER_HI = 0x094,
	VIO_QUEUE_DEVICE_LO = 0x0a0, VIO_QUEUE_DEVICE_HI = 0x0a4,
	VIO_CONFIG = 0x100,
};

#define VIO_S_ACK		1
#define VIO_S_DRIVER		2
#define VIO_S_DRIVER_OK		4
#define VIO_S_FEATURES_OK	8

#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct kz_vdev {
	uint64_t base;
	volatile uint8_t *regs;
	unsigned irq;
	uint32_t device_id;
	uint32_t features;
};

struct kz_vq {
	struct kz_vdev *dev;
	unsigned index;
	uint16_t size;
	volatile struct vring_desc *desc;
	volatile uint16_t *avail;	/* flags, idx, ring[] */
	volatile uint8_t *used;
	uint16_t avail_idx, used_seen;
};

uint32_t vio_rd(const struct kz_vdev *d, unsigned off);
void vio_wr(const struct kz_vdev *d, unsigned off, uint32_t v);
int vio_negotiate(struct kz_vdev *d, uint32_t want_lo);
void vio_driver_ok(struct kz_vdev *d);
int vio_queue(struct kz_vdev *d, unsigned qi, struct kz_vq *q, unsigned size,
	      bool irq);
void vq_desc(struct kz_vq *q, unsigned i, const void *buf, uint32_t len,
	     uint16_t flags, uint16_t next);
void vq_post(struct kz_vq *q, uint16_t head);
void vq_kick(struct kz_vq *q);
bool vq_used(struct kz_vq *q, uint32_t *id, uint32_t *len);
bool vq_run(struct kz_vq *q, uint16_t head, uint32_t *len);

void blk_attach(struct kz_vdev *d);
void net_attach(struct kz_vdev *d);
void hvc_attach(struct kz_vdev *d);

#endif
