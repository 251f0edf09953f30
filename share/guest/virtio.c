/*
 * virtio-mmio for the built-in guest: finding devices, negotiating, and
 * the driver side of split virtqueues, as small as the drivers need.
 *
 * Devices are found from the kernel command line entries
 * "virtio_mmio.device=SIZE@BASE:IRQ" that kzhost appends (the same ones
 * Linux reads).  Each driver keeps one request in flight per queue and
 * waits for it by watching the used ring (blk, net and console transmit
 * ask for no interrupts); only receive queues interrupt.  The interrupt
 * handler acknowledges every device and leaves the work to virtio_poll(),
 * which the shell calls whenever it waits for a key, so no driver code
 * runs in interrupt context.  Neither event index nor indirect
 * descriptors are negotiated: with one buffer at a time they would only
 * cost instructions, which are dear here.
 */
#include "kzguest.h"
#include "virtio.h"

#define MAX_VDEV	16

static struct kz_vdev vdevs[MAX_VDEV];
static unsigned nvdev;
volatile int kz_virtio_pending;

uint32_t vio_rd(const struct kz_vdev *d, unsigned off)
{
	return *(volatile uint32_t *)(d->regs + off);
}

void vio_wr(const struct kz_vdev *d, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(d->regs + off) = v;
}

/* Reset, acknowledge, and agree on features (VERSION_1 always). */
int vio_negotiate(struct kz_vdev *d, uint32_t want_lo)
{
	vio_wr(d, VIO_STATUS, 0);
	vio_wr(d, VIO_STATUS, VIO_S_ACK);
	vio_wr(d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER);
	vio_wr(d, VIO_DEV_FEAT_SEL, 0);
	uint32_t lo = vio_rd(d, VIO_DEV_FEAT) & want_lo;
	vio_wr(d, VIO_DEV_FEAT_SEL, 1);
	uint32_t hi = vio_rd(d, VIO_DEV_FEAT);
	if (!(hi & 1))
		return -1;		/* not a virtio 1.x device */
	vio_wr(d, VIO_DRV_FEAT_SEL, 0);
	vio_wr(d, VIO_DRV_FEAT, lo);
	vio_wr(d, VIO_DRV_FEAT_SEL, 1);
	vio_wr(d, VIO_DRV_FEAT, 1);
	vio_wr(d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER | VIO_S_FEATURES_OK);
	if (!(vio_rd(d, VIO_STATUS) & VIO_S_FEATURES_OK))
		return -1;
	d->features = lo;
	return 0;
}

void vio_driver_ok(struct kz_vdev *d)
{
	vio_wr(d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER | VIO_S_FEATURES_OK |
				      VIO_S_DRIVER_OK);
}

/* Set up queue qi with at most size entries; irq: want interrupts. */
int vio_queue(struct kz_vdev *d, unsigned qi, struct kz_vq *q, unsigned size,
	      bool irq)
{
	vio_wr(d, VIO_QUEUE_SEL, qi);
	unsigned max = vio_rd(d, VIO_QUEUE_NUM_MAX);
	if (!max)
		return -1;
	if (size > max)
		size = max;
	/* One page: table (16 * size), avail (6 + 2 * size), used at +2 KiB. */
	uint8_t *page = kz_alloc_pages(1);
	if (!page || size > 64)
		return -1;
	memset(page, 0, 4096);
	q->dev = d;
	q->index = qi;
	q->size = (uint16_t)size;
	q->desc = (volatile struct vring_desc *)page;
	q->avail = (volatile uint16_t *)(page + 16 * size);
	q->used = (volatile uint8_t *)(page + 2048);
	q->avail_idx = q->used_seen = 0;
	if (!irq)
		q->avail[0] = 1;	/* VIRTQ_AVAIL_F_NO_INTERRUPT */
	uint64_t pa = (uint64_t)page - KZ_DIRECTMAP;
	vio_wr(d, VIO_QUEUE_NUM, size);
	vio_wr(d, VIO_QUEUE_DESC_LO, (uint32_t)pa);
	vio_wr(d, VIO_QUEUE_DESC_HI, (uint32_t)(pa >> 32));
	vio_wr(d, VIO_QUEUE_DRIVER_LO, (uint32_t)(pa + 16 * size));
	vio_wr(d, VIO_QUEUE_DRIVER_HI, (uint32_t)((pa + 16 * size) >> 32));
	vio_wr(d, VIO_QUEUE_DEVICE_LO, (uint32_t)(pa + 2048));
	vio_wr(d, VIO_QUEUE_DEVICE_HI, (uint32_t)((pa + 2048) >> 32));
	vio_wr(d, VIO_QUEUE_READY, 1);
	return 0;
}

void vq_desc(struct kz_vq *q, unsigned i, const void *buf, uint32_t len,
	     uint16_t flags, uint16_t next)
{
	q->desc[i].addr = (uint64_t)buf - KZ_DIRECTMAP;
	q->desc[i].len = len;
	q->desc[i].flags = flags;
	q->desc[i].next = next;
}

/* Offer the chain starting at head (no notification). */
void vq_post(struct kz_vq *q, uint16_t head)
{
	q->avail[2 + q->avail_idx % q->size] = head;
	__asm__ volatile("" ::: "memory");
	q->avail_idx++;
	q->avail[1] = q->avail_idx;
}

void vq_kick(struct kz_vq *q)
{
	__asm__ volatile("mfence" ::: "memory");
	vio_wr(q->dev, VIO_QUEUE_NOTIFY, q->index);
}

bool vq_used(struct kz_vq *q, uint32_t *id, uint32_t *len)
{
	volatile uint16_t *idx = (volatile uint16_t *)(q->used + 2);
	if (*idx == q->used_seen)
		return false;
	__asm__ volatile("" ::: "memory");
	volatile uint32_t *e = (volatile uint32_t *)(q->used + 4 +
						     8 * (q->used_seen % q->size));
	*id = e[0];
	*len = e[1];
	q->used_seen++;
	return true;
}

/* Post, kick and wait for the device to hand the chain back. */
bool vq_run(struct kz_vq *q, uint16_t head, uint32_t *len)
{
	uint32_t id, n;
	uint64_t spins;

	vq_post(q, head);
	vq_kick(q);
	for (spins = 0; spins < 50000000; spins++) {
		if (vq_used(q, &id, &n)) {
			if (len)
				*len = n;
			return true;
		}
		cpu_relax();
	}
	return false;
}

void virtio_irq(void)
{
	for (unsigned i = 0; i < nvdev; i++) {
		uint32_t isr = vio_rd(&vdevs[i], VIO_INT_STATUS);
		if (isr)
			vio_wr(&vdevs[i], VIO_INT_ACK, isr);
	}
	kz_virtio_pending = 1;
}

void virtio_poll(void)
{
	kz_virtio_pending = 0;
	hvc_flush();
	net_poll();
	hvc_poll();
}

static uint64_t parse_num(const char **pp)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		for (p += 2;; p++) {
			char c = *p;
			unsigned d;
			if (c >= '0' && c <= '9')
				d = (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				d = (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				d = (unsigned)(c - 'A' + 10);
			else
				break;
			v = v * 16 + d;
		}
	} else {
		while (*p >= '0' && *p <= '9')
			v = v * 10 + (uint64_t)(*p++ - '0');
	}
	if (*p == 'K' || *p == 'k')
		v <<= 10, p++;
	*pp = p;
	return v;
}

static void probe(uint64_t base, unsigned irq)
{
	if (nvdev == MAX_VDEV || base >= 0x100000000ULL)
		return;
	struct kz_vdev *d = &vdevs[nvdev];
	d->base = base;
	d->irq = irq;
	d->regs = phys_to_virt(base);
	if (vio_rd(d, VIO_MAGIC) != 0x74726976 || vio_rd(d, VIO_VERSION) != 2)
		return;
	d->device_id = vio_rd(d, VIO_DEVICE_ID);
	nvdev++;
	if (irq && irq < 16)
		ioapic_route_isa(irq, KZ_VEC_VIRTIO, kz_cpus[0].apic_id);
	switch (d->device_id) {
	case 1: net_attach(d); break;
	case 2: blk_attach(d); break;
	case 3: hvc_attach(d); break;
	default: break;
	}
}

void virtio_init(void)
{
	static const char key[] = "virtio_mmio.device=";
	const char *p = kz_boot.cmdline;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, sizeof(key) - 1)) {
			p += sizeof(key) - 1;
			(void)parse_num(&p);		/* size */
			uint64_t base = 0, irq = 0;
			if (*p == '@') {
				p++;
				base = parse_num(&p);
			}
			if (*p == ':') {
				p++;
				irq = parse_num(&p);
			}
			if (base)
				probe(base, (unsigned)irq);
		}
		while (*p && *p != ' ')
			p++;
	}
}
