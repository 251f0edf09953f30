/*
 * virtio-net (virtio 1.x section 5.1) on a tap device: one anet link.
 *
 * Queue 0 receives (tap to guest), queue 1 transmits (guest to tap).  No
 * offloads and no mergeable buffers, so every frame travels behind a
 * plain 12-byte virtio_net_hdr that is zero on receive and ignored on
 * transmit.  Both directions run on the device's I/O thread, which
 * watches the tap fd and a timer.
 *
 * Link properties, as a Crossbow VNIC has them:
 * - mac-nospoof: a frame whose source address is not the link's is
 *   dropped and counted (stats "spoofed");
 * - maxbw: a token bucket per direction at maxbw bits/s with a 20 ms
 *   burst.  A direction out of tokens stops (transmit leaves the
 *   guest's buffers in the ring, receive stops reading the tap, whose
 *   own queue then drops) and a timer restarts it when the bucket has
 *   refilled enough for the frame that waits, like Firecracker's rate
 *   limiter.
 * When the guest has posted no receive buffers the tap is not read (its
 * EPOLLIN is off until the driver kicks the receive queue).
 */
#include "devices.h"
#include "tap.h"
#include "virtio.h"
#include "vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define NET_F_MAC	5
#define NET_F_STATUS	16
#define NET_S_LINK_UP	1

#define Q_RX		0
#define Q_TX		1
#define HDR_LEN		12	/* virtio_net_hdr with num_buffers (1.x) */
#define FRAME_MAX	(65535 + 14)
#define BURST_NS	20000000ULL	/* 20 ms of maxbw */

struct bucket {
	uint64_t rate;		/* bytes per second, 0 unlimited */
	double tokens;		/* bytes */
	double cap;
	uint64_t last_ns;
};

struct vnet {
	int tap_fd;
	int timer_fd;
	bool rx_watching;	/* tap EPOLLIN on */
	bool timer_armed;
	struct vmm_net_config cfg;
	struct bucket tx_bucket, rx_bucket;
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t spoofed, tx_dropped, rx_dropped, throttled;
	struct virtq_chain chain;
	uint8_t frame[HDR_LEN + FRAME_MAX];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void bucket_init(struct bucket *b, uint64_t bits_per_s)
{
	b->rate = bits_per_s / 8;
	b->cap = (double)b->rate * BURST_NS / 1e9;
	if (b->rate && b->cap < 2 * 1514)
		b->cap = 2 * 1514;	/* at least a couple of full frames */
	b->tokens = b->cap;
	b->last_ns = now_ns();
}

/* Take len bytes; 0 when granted, else ns until they will be there. */
static uint64_t bucket_take(struct bucket *b, uint32_t len)
{
	if (!b->rate)
		return 0;
	uint64_t t = now_ns();
	b->tokens += (double)(t - b->last_ns) * (double)b->rate / 1e9;
	if (b->tokens > b->cap)
		b->tokens = b->cap;
	b->last_ns = t;
	if (b->tokens >= len) {
		b->tokens -= len;
		return 0;
	}
	uint64_t wait = (uint64_t)((len - b->tokens) * 1e9 / (double)b->rate);
	return wait ? wait : 1;
}

static void arm_timer(struct vnet *n, uint64_t ns)
{
	struct itimerspec it = { .it_value = { .tv_sec = (time_t)(ns / 1000000000ULL),
					       .tv_nsec = (long)(ns % 1000000000ULL) } };
	if (!n->timer_armed && timerfd_settime(n->timer_fd, 0, &it, NULL) == 0)
		n->timer_armed = true;
	n->throttled++;
}

static void rx_watch(struct virtio_dev *vd, bool on)
{
	struct vnet *n = vd->be;
	if (n->rx_watching == on)
		return;
	if (virtio_watch_mod(vd, n->tap_fd, on ? EPOLLIN : 0) == 0)
		n->rx_watching = on;
}

/* Tap to guest, while there are frames, buffers and tokens. */
static void vnet_rx(struct virtio_dev *vd)
{
	struct vnet *n = vd->be;
	struct virtq *q = &vd->vq[Q_RX];
	bool pushed = false;

	if (!virtio_driver_ok(vd) || !q->ready) {
		rx_watch(vd, false);
		return;
	}
	for (;;) {
		if (virtio_queue_pop(vd, Q_RX, &n->chain) <= 0) {
			/* No buffers (or a broken queue): stop reading until
			 * the driver kicks. */
			rx_watch(vd, false);
			break;
		}
		/* A frame is only read when a buffer can hold the largest. */
		uint64_t wait = bucket_take(&n->rx_bucket, 1514);
		if (wait) {
			virtq_unpop(q);
			rx_watch(vd, false);
			arm_timer(n, wait);
			break;
		}
		ssize_t len = read(n->tap_fd, n->frame + HDR_LEN, FRAME_MAX);
		if (len <= 0) {
			/* Nothing waiting: give the tokens back. */
			if (n->rx_bucket.rate)
				n->rx_bucket.tokens += 1514;
			virtq_unpop(q);
			rx_watch(vd, true);
			break;
		}
		if (n->rx_bucket.rate)
			n->rx_bucket.tokens += 1514 - (double)len;
		if ((uint64_t)len + HDR_LEN > n->chain.in_len) {
			n->rx_dropped++;
			virtq_unpop(q);
			continue;
		}
		memset(n->frame, 0, HDR_LEN);
		n->frame[10] = 1;	/* num_buffers */
		uint32_t total = (uint32_t)len + HDR_LEN;
		virtq_chain_write(&n->chain, 0, n->frame, total);
		virtq_push(q, n->chain.head, total);
		n->rx_packets++;
		n->rx_bytes += (uint64_t)len;
		pushed = true;
	}
	if (pushed)
		virtio_queue_interrupt(vd, Q_RX);
}

/* Guest to tap. */
static void vnet_tx(struct virtio_dev *vd)
{
	struct vnet *n = vd->be;
	struct virtq *q = &vd->vq[Q_TX];
	bool pushed = false;

	while (virtio_queue_pop(vd, Q_TX, &n->chain) > 0) {
		uint32_t out = n->chain.out_len;
		uint32_t len = out > HDR_LEN ? out - HDR_LEN : 0;
		if (len > FRAME_MAX)
			len = FRAME_MAX;
		len = virtq_chain_read(&n->chain, HDR_LEN, n->frame, len);
		if (len < 14) {
			n->tx_dropped++;
		} else if (n->cfg.nospoof && memcmp(n->frame + 6, n->cfg.mac, 6)) {
			n->spoofed++;
		} else {
			uint64_t wait = bucket_take(&n->tx_bucket, len);
			if (wait) {
				virtq_unpop(q);
				arm_timer(n, wait);
				break;
			}
			if (write(n->tap_fd, n->frame, len) == (ssize_t)len) {
				n->tx_packets++;
				n->tx_bytes += len;
			} else {
				n->tx_dropped++;
			}
		}
		virtq_push(q, n->chain.head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_queue_interrupt(vd, Q_TX);
}

static void vnet_notify(struct virtio_dev *vd, unsigned q)
{
	if (q == Q_TX)
		vnet_tx(vd);
	else
		vnet_rx(vd);
}

static void vnet_tap_ready(struct virtio_dev *vd, uint32_t events)
{
	(void)events;
	vnet_rx(vd);
}

static void vnet_timer(struct virtio_dev *vd, uint32_t events)
{
	struct vnet *n = vd->be;
	uint64_t cnt;
	(void)events;
	(void)!read(n->timer_fd, &cnt, sizeof(cnt));
	n->timer_armed = false;
	if (!virtio_driver_ok(vd))
		return;
	vnet_tx(vd);
	vnet_rx(vd);
}

static void vnet_reset(struct virtio_dev *vd)
{
	struct vnet *n = vd->be;
	if (!n)
		return;
	rx_watch(vd, false);
	bucket_init(&n->tx_bucket, n->cfg.maxbw);
	bucket_init(&n->rx_bucket, n->cfg.maxbw);
}

static void vnet_destroy(struct virtio_dev *vd)
{
	struct vnet *n = vd->be;
	if (!n)
		return;
	close(n->tap_fd);
	close(n->timer_fd);
	free(n);
	vd->be = NULL;
}

static const struct virtio_backend vnet_backend = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.nqueues = 2,
	.notify = vnet_notify,
	.reset = vnet_reset,
	.destroy = vnet_destroy,
};

static int vnet_create(struct vmm_dev *dev)
{
	const struct vmm_net_config *cfg = dev->cfg;
	struct virtio_dev *vd = dev->priv;
	int rc;

	struct vnet *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->cfg = *cfg;
	n->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	n->tap_fd = vmm_tap_open(cfg->tap);
	if (n->timer_fd < 0 || n->tap_fd < 0) {
		rc = n->tap_fd < 0 ? n->tap_fd : -errno;
		goto fail;
	}
	if ((rc = vmm_tap_up(cfg->tap)))
		goto fail;
	if (cfg->bridge[0] && (rc = vmm_tap_bridge(cfg->tap, cfg->bridge)))
		goto fail;
	bucket_init(&n->tx_bucket, cfg->maxbw);
	bucket_init(&n->rx_bucket, cfg->maxbw);

	memcpy(vd->config, cfg->mac, 6);
	vd->config[6] = NET_S_LINK_UP;
	vd->config_len = 8;
	rc = virtio_init(dev, &vnet_backend, n, (1ULL << NET_F_MAC) |
						 (1ULL << NET_F_STATUS));
	if (rc)
		return rc;	/* destroy frees n */
	/* Registered with EPOLLIN off: reading starts when buffers come. */
	if ((rc = virtio_watch(vd, n->tap_fd, 0, vnet_tap_ready)) ||
	    (rc = virtio_watch(vd, n->timer_fd, EPOLLIN, vnet_timer)))
		return rc;
	return 0;
fail:
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	if (n->timer_fd >= 0)
		close(n->timer_fd);
	free(n);
	return rc;
}

size_t vmm_vnet_stats(struct vmm_dev *dev, char *buf, size_t len)
{
	struct virtio_dev *vd = dev->priv;
	struct vnet *n = vd->be;
	if (!n)
		return 0;
	int r = snprintf(buf, len,
			 "net%u (%s): rx %llu packets %llu bytes, tx %llu "
			 "packets %llu bytes, spoofed %llu, dropped tx %llu "
			 "rx %llu, throttled %llu%s%s\n",
			 n->cfg.id, n->cfg.tap,
			 (unsigned long long)n->rx_packets,
			 (unsigned long long)n->rx_bytes,
			 (unsigned long long)n->tx_packets,
			 (unsigned long long)n->tx_bytes,
			 (unsigned long long)n->spoofed,
			 (unsigned long long)n->tx_dropped,
			 (unsigned long long)n->rx_dropped,
			 (unsigned long long)n->throttled,
			 vd->broken_why ? " broken: " : "",
			 vd->broken_why ? vd->broken_why : "");
	return r < 0 ? 0 : (size_t)r < len ? (size_t)r : len - 1;
}

const struct vmm_dev_ops vmm_vnet_ops = {
	.name = "virtio-net",
	.priv_size = sizeof(struct virtio_dev),
	.create = vnet_create,
	.io = virtio_mmio_io,
	.reset = virtio_mmio_reset,
	.pause = virtio_mmio_pause,
	.resume = virtio_mmio_resume,
	.destroy = virtio_mmio_destroy,
};
