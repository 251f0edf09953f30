/*
 * virtio-blk (virtio 1.x section 5.2) on a raw image file or a block
 * device.
 *
 * Requests are served on the device's I/O thread with preadv/pwritev
 * straight between the image and guest memory: no cache of our own, so
 * what the guest wrote is in the host's page cache when the request
 * completes, and on stable storage after a flush (fdatasync).  Writes
 * touch only the sectors written, so a sparse image stays sparse.  A
 * read-only disk offers VIRTIO_BLK_F_RO and answers any write with an
 * I/O error.  The disk's id fixes its slot, hence its address, in the
 * guest (board.c).
 */
#include "devices.h"
#include "virtio.h"
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/fs.h>

#define BLK_F_SEG_MAX	2
#define BLK_F_RO	5
#define BLK_F_BLK_SIZE	6
#define BLK_F_FLUSH	9

#define BLK_T_IN	0
#define BLK_T_OUT	1
#define BLK_T_FLUSH	4
#define BLK_T_GET_ID	8

#define BLK_S_OK	0
#define BLK_S_IOERR	1
#define BLK_S_UNSUPP	2

#define SECTOR		512
#define BLK_ID_LEN	20

struct vblk {
	int fd;
	uint64_t size;		/* bytes, whole sectors */
	bool readonly;
	unsigned id;
	uint64_t reads, writes, flushes, errors, ro_refused;
	struct virtq_chain chain;
};

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * The data part of a request as an iovec: readable bytes after the
 * 16-byte header for a write, writable bytes before the status byte for
 * a read.
 */
static unsigned data_iov(const struct virtq_chain *c, bool writable,
			 uint32_t skip, uint32_t len, struct iovec *iov)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->nseg && len; i++) {
		const struct virtq_seg *s = &c->seg[i];
		if (s->write != writable)
			continue;
		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		uint32_t take = s->len - skip;
		if (take > len)
			take = len;
		iov[n].iov_base = s->p + skip;
		iov[n].iov_len = take;
		n++;
		len -= take;
		skip = 0;
	}
	return n;
}

static uint8_t do_rw(struct vblk *b, const struct virtq_chain *c, bool out,
		     uint64_t sector, uint32_t len)
{
	static __thread struct iovec iov[VIRTQ_MAX_SEGS];

	if (len % SECTOR || sector > b->size / SECTOR ||
	    len > b->size - sector * SECTOR)
		return BLK_S_IOERR;
	if (out && b->readonly) {
		b->ro_refused++;
		return BLK_S_IOERR;
	}
	unsigned n = data_iov(c, !out, out ? 16 : 0, len, iov);
	off_t off = (off_t)(sector * SECTOR);
	uint32_t done = 0;
	unsigned i = 0;
	/* Short transfers resume where they stopped. */
	while (done < len && i < n) {
		ssize_t r = out ? pwritev(b->fd, iov + i, (int)(n - i), off + done)
				: preadv(b->fd, iov + i, (int)(n - i), off + done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return BLK_S_IOERR;
		done += (uint32_t)r;
		while (i < n && (size_t)r >= iov[i].iov_len)
			r -= (ssize_t)iov[i++].iov_len;
		if (i < n) {
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + r;
			iov[i].iov_len -= (size_t)r;
		}
	}
	if (out)
		b->writes++;
	else
		b->reads++;
	return BLK_S_OK;
}

/* Serve one chain; returns the bytes written into it (used length). */
static uint32_t vblk_request(struct vblk *b, const struct virtq_chain *c)
{
	uint8_t hdr[16];
	uint8_t status;
	uint32_t used = 0;

	/* The status byte is the last device-writable byte of the chain. */
	if (c->in_len < 1 || virtq_chain_read(c, 0, hdr, 16) != 16) {
		b->errors++;
		return 0;
	}
	uint32_t type, sector_lo, sector_hi;
	memcpy(&type, hdr, 4);
	memcpy(&sector_lo, hdr + 8, 4);
	memcpy(&sector_hi, hdr + 12, 4);
	uint64_t sector = ((uint64_t)sector_hi << 32) | sector_lo;

	switch (type) {
	case BLK_T_IN:
		status = do_rw(b, c, false, sector, c->in_len - 1);
		if (status == BLK_S_OK)
			used = c->in_len - 1;
		break;
	case BLK_T_OUT:
		status = do_rw(b, c, true, sector, c->out_len - 16);
		break;
	case BLK_T_FLUSH:
		b->flushes++;
		status = fdatasync(b->fd) == 0 ? BLK_S_OK : BLK_S_IOERR;
		break;
	case BLK_T_GET_ID: {
		char id[BLK_ID_LEN + 1];
		uint32_t n = c->in_len - 1;
		memset(id, 0, sizeof(id));
		snprintf(id, sizeof(id), "kzdisk%u", b->id);
		if (n > BLK_ID_LEN)
			n = BLK_ID_LEN;
		used = virtq_chain_write(c, 0, id, n);
		status = BLK_S_OK;
		break;
	}
	default:
		status = BLK_S_UNSUPP;
		break;
	}
	if (status != BLK_S_OK)
		b->errors++;
	virtq_chain_write(c, c->in_len - 1, &status, 1);
	return used + 1;
}

static void vblk_notify(struct virtio_dev *vd, unsigned qi)
{
	struct vblk *b = vd->be;
	struct virtq *q = &vd->vq[qi];
	bool pushed = false;

	while (virtio_queue_pop(vd, qi, &b->chain) > 0) {
		virtq_push(q, b->chain.head, vblk_request(b, &b->chain));
		pushed = true;
	}
	if (pushed)
		virtio_queue_interrupt(vd, qi);
}

static void vblk_destroy(struct virtio_dev *vd)
{
	struct vblk *b = vd->be;
	if (!b)
		return;
	close(b->fd);
	free(b);
	vd->be = NULL;
}

static const struct virtio_backend vblk_backend = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nqueues = 1,
	.notify = vblk_notify,
	.destroy = vblk_destroy,
};

static int vblk_create(struct vmm_dev *dev)
{
	const struct vmm_disk_config *cfg = dev->cfg;
	struct virtio_dev *vd = dev->priv;
	struct stat st;
	int rc;

	struct vblk *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->readonly = cfg->readonly;
	b->id = cfg->id;
	b->fd = open(cfg->path, (cfg->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0 || fstat(b->fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(b->fd, BLKGETSIZE64, &b->size) < 0) {
			rc = -errno;
			goto fail;
		}
	} else if (S_ISREG(st.st_mode)) {
		b->size = (uint64_t)st.st_size;
	} else {
		rc = -EINVAL;
		goto fail;
	}
	b->size -= b->size % SECTOR;

	uint64_t features = (1ULL << BLK_F_SEG_MAX) | (1ULL << BLK_F_BLK_SIZE) |
			    (1ULL << BLK_F_FLUSH);
	if (b->readonly)
		features |= 1ULL << BLK_F_RO;
	/* Config: capacity, size_max, seg_max, geometry, blk_size. */
	put_le(vd->config, b->size / SECTOR, 8);
	put_le(vd->config + 12, VIRTQ_MAX_SEGS - 2, 4);
	put_le(vd->config + 20, SECTOR, 4);
	vd->config_len = 24;
	rc = virtio_init(dev, &vblk_backend, b, features);
	if (rc)
		return rc;	/* destroy frees b */
	return 0;
fail:
	if (b->fd >= 0)
		close(b->fd);
	free(b);
	return rc;
}

size_t vmm_vblk_stats(struct vmm_dev *dev, char *buf, size_t len)
{
	struct virtio_dev *vd = dev->priv;
	struct vblk *b = vd->be;
	if (!b)
		return 0;
	int n = snprintf(buf, len,
			 "disk%u: reads %llu writes %llu flushes %llu errors "
			 "%llu refused-ro %llu notifies %llu interrupts %llu%s%s\n",
			 b->id, (unsigned long long)b->reads,
			 (unsigned long long)b->writes,
			 (unsigned long long)b->flushes,
			 (unsigned long long)b->errors,
			 (unsigned long long)b->ro_refused,
			 (unsigned long long)vd->notifies,
			 (unsigned long long)vd->interrupts,
			 vd->broken_why ? " broken: " : "",
			 vd->broken_why ? vd->broken_why : "");
	return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

const struct vmm_dev_ops vmm_vblk_ops = {
	.name = "virtio-blk",
	.priv_size = sizeof(struct virtio_dev),
	.create = vblk_create,
	.io = virtio_mmio_io,
	.reset = virtio_mmio_reset,
	.pause = virtio_mmio_pause,
	.resume = virtio_mmio_resume,
	.destroy = virtio_mmio_destroy,
};
