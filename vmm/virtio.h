/*
 * virtio-mmio transport (virtio 1.x, version 2 register layout) shared by
 * the virtio devices of the board: virtio-blk (vblk.c), virtio-net
 * (vnet.c) and virtio-console (vcon.c).
 *
 * A backend describes itself with a struct virtio_backend and keeps its
 * own state behind vd->be; the transport owns the registers, feature
 * negotiation, the queues, the interrupt and the device's I/O thread.
 */
#ifndef KZ_VMM_VIRTIO_H
#define KZ_VMM_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device.h"
#include "virtq.h"

#define VIRTIO_MAX_QUEUES	2
#define VIRTIO_CONFIG_MAX	64
#define VIRTIO_MAX_WATCH	4

#define VIRTIO_ID_NET		1
#define VIRTIO_ID_BLOCK		2
#define VIRTIO_ID_CONSOLE	3

/* Interrupt status bits. */
#define VIRTIO_INT_USED		1
#define VIRTIO_INT_CONFIG	2

struct virtio_dev;

struct virtio_backend {
	const char *name;
	uint32_t device_id;
	unsigned nqueues;
	/* Buffers arrived on queue q (I/O thread, device lock held). */
	void (*notify)(struct virtio_dev *vd, unsigned q);
	/* Driver wrote the config space (lock held); may be NULL. */
	void (*config_write)(struct virtio_dev *vd, uint32_t off,
			     const uint8_t *data, uint32_t len);
	/* Device reset by the driver or the machine (lock held). */
	void (*reset)(struct virtio_dev *vd);
	/* The machine resumed after a pause (lock held); may be NULL.  For
	 * work that arrived from the host side meanwhile. */
	void (*resumed)(struct virtio_dev *vd);
	void (*destroy)(struct virtio_dev *vd);
};

typedef void (*virtio_watch_fn)(struct virtio_dev *vd, uint32_t events);

struct virtio_dev {
	struct vmm_dev *dev;		/* lock, vm, base, irq */
	const struct virtio_backend *be_ops;
	void *be;			/* backend state */
	uint64_t host_features;		/* backend bits; transport adds its own */
	uint64_t guest_features;
	uint32_t dfsel, gfsel, qsel;
	uint32_t status;
	uint32_t isr;
	uint32_t config_gen;
	uint8_t config[VIRTIO_CONFIG_MAX];
	uint32_t config_len;
	struct virtq vq[VIRTIO_MAX_QUEUES];

	/* Notifications in, interrupts out. */
	int kick_fd[VIRTIO_MAX_QUEUES];	/* eventfd per queue (ioeventfd) */
	int irq_fd;			/* eventfd given to KVM_IRQFD */
	bool ioeventfd;			/* KVM takes QueueNotify writes itself */
	bool irqfd;
	int epfd, stop_fd;
	bool thread_started;
	bool paused;			/* machine paused: the I/O thread waits */
	bool stopping;			/* the I/O thread is to end */
	pthread_cond_t unpaused;	/* with dev->lock */
	pthread_t thread;
	struct {
		int fd;
		virtio_watch_fn fn;
	} watch[VIRTIO_MAX_WATCH];
	unsigned nwatch;

	/* Counters (read without the lock: statistics only). */
	uint64_t notifies, interrupts;
	const char *broken_why;
};

/*
 * Make dev a virtio-mmio device driven by be_ops with backend state be,
 * offering features (device-specific bits).  Called from the backend's
 * create; starts the device's I/O thread.  Returns 0 or -errno.
 */
int virtio_init(struct vmm_dev *dev, const struct virtio_backend *be_ops,
		void *be, uint64_t features)
	__attribute__((warn_unused_result));

/* The transport's part of every virtio device's vmm_dev_ops. */
void virtio_mmio_io(struct vmm_dev *dev, uint64_t offset, uint8_t *data,
		    uint32_t len, bool is_write);
void virtio_mmio_reset(struct vmm_dev *dev);
void virtio_mmio_pause(struct vmm_dev *dev);
void virtio_mmio_resume(struct vmm_dev *dev);
void virtio_mmio_destroy(struct vmm_dev *dev);

/* Backend helpers, called with the device lock held. */
bool virtio_driver_ok(const struct virtio_dev *vd);
bool virtio_has(const struct virtio_dev *vd, unsigned bit);
const struct vmm_mem *virtio_mem(const struct virtio_dev *vd);
/* Interrupt the driver for queue q if it asked for one. */
void virtio_queue_interrupt(struct virtio_dev *vd, unsigned q);
/* Queue q failed a ring rule: stop it and ask the driver for a reset. */
void virtio_queue_broken(struct virtio_dev *vd, unsigned q);
/*
 * The next request on queue q: 1 with chain filled; 0 when the queue is
 * empty (notifications are re-enabled first and the queue checked again,
 * so a buffer the driver adds meanwhile is not missed); -1 when the driver
 * broke the queue (the device is then marked as needing a reset).
 */
int virtio_queue_pop(struct virtio_dev *vd, unsigned q,
		     struct virtq_chain *chain);
/* Watch another fd on the device's I/O thread (backend create only). */
int virtio_watch(struct virtio_dev *vd, int fd, uint32_t events,
		 virtio_watch_fn fn) __attribute__((warn_unused_result));
int virtio_watch_mod(struct virtio_dev *vd, int fd, uint32_t events);

/* Is this board device one of ours (for ACPI and the command line)? */
bool vmm_dev_is_virtio(const struct vmm_dev *dev);

#endif
