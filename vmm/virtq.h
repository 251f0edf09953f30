/*
 * Split virtqueues (virtio 1.x, section 2.7), device side.
 *
 * Pure ring logic over the guest memory map: no VM, no threads, no file
 * descriptors, so that unit tests and the fuzzer drive it with plain host
 * buffers.  Every index, descriptor, length and address read from the ring
 * is untrusted; a ring that breaks a rule marks the queue broken and the
 * device stops using it (the driver must reset the device), but nothing
 * here ever touches memory outside the guest's RAM regions.
 */
#ifndef KZ_VMM_VIRTQ_H
#define KZ_VMM_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

struct vmm_mem;

#define VIRTQ_MAX_SIZE	256	/* QueueNumMax we offer */
#define VIRTQ_MAX_SEGS	(VIRTQ_MAX_SIZE + 16)	/* buffers in one chain */

/* A queue as the driver configured it, and our side of its indices. */
struct virtq {
	uint16_t size;		/* QueueNum */
	bool ready;		/* QueueReady and the ring mapped */
	bool broken;		/* the driver broke a ring rule */
	bool event_idx;		/* VIRTIO_F_RING_EVENT_IDX negotiated */
	bool indirect;		/* VIRTIO_F_INDIRECT_DESC negotiated */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* Host views of the three areas, checked once when made ready. */
	uint8_t *desc, *avail, *used;
	uint16_t last_avail;	/* next avail ring entry to take */
	uint16_t used_idx;	/* our copy of used->idx */
	uint16_t signalled;	/* used_idx when we last interrupted */
	bool signalled_valid;
	const char *why;	/* first rule broken, for stats */
};

/* One buffer of a chain, already a host pointer into guest RAM. */
struct virtq_seg {
	uint8_t *p;
	uint32_t len;
	bool write;		/* device-writable */
};

struct virtq_chain {
	uint16_t head;
	unsigned nseg;
	uint32_t out_len;	/* bytes the device may read */
	uint32_t in_len;	/* bytes the device may write */
	struct virtq_seg seg[VIRTQ_MAX_SEGS];
};

/* Map the three areas; 0, or -EINVAL (and not ready) when they are bad. */
int virtq_enable(struct virtq *q, const struct vmm_mem *mem);
void virtq_reset(struct virtq *q);

/*
 * Take the next available chain.  Returns 1 with *c filled, 0 when the
 * driver has offered nothing new, -EIO when the ring is broken (from now
 * on every call returns -EIO).
 */
int virtq_pop(struct virtq *q, const struct vmm_mem *mem,
	      struct virtq_chain *c);
/* Give back the chain at avail position last_avail-1 (not consumed). */
void virtq_unpop(struct virtq *q);
/* Hand a chain back to the driver with len bytes written into it. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* True when the driver wants an interrupt for what was pushed. */
bool virtq_need_interrupt(struct virtq *q);
/*
 * Ask to be notified of new buffers (event index or flags); returns true
 * when buffers arrived meanwhile and the caller should look again.
 */
bool virtq_enable_notify(struct virtq *q);
/* Number of chains the driver has offered and we have not taken. */
unsigned virtq_pending(struct virtq *q);

/* Copy between a chain and a flat buffer, skipping skip bytes first. */
uint32_t virtq_chain_read(const struct virtq_chain *c, uint32_t skip,
			  void *buf, uint32_t len);
uint32_t virtq_chain_write(const struct virtq_chain *c, uint32_t skip,
			   const void *buf, uint32_t len);

#endif
