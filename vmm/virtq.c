/*
 * Split virtqueue, device side: taking descriptor chains from the avail
 * ring and returning them through the used ring.
 *
 * Who calls it: the virtio-mmio transport (enable/reset) and the device
 * backends on their I/O thread, always with the device lock held, so a
 * queue is only ever worked by one thread at a time.
 *
 * The rules a chain must keep (and the queue breaks when it does not):
 * a head or next index below the queue size; no more descriptors than
 * the table holds (which catches loops); an indirect table only when
 * negotiated, a multiple of 16 bytes, not itself chained or nested;
 * every buffer wholly inside one RAM region; device-readable buffers
 * before device-writable ones; at most VIRTQ_MAX_SEGS buffers.  Each
 * descriptor is copied out of guest memory once before it is checked,
 * so a guest rewriting its table under us cannot slip past a check.
 *
 * Ordering: the ring is shared with vCPUs running the driver.  Loads of
 * avail->idx are acquires before the ring entries they publish; the store
 * of used->idx is a release after the entries; a full fence separates
 * publishing used->idx (or avail_event) from reading the driver's
 * suppression fields, as section 2.7.7 and 2.7.10 require.
 */
#include "virtq.h"
#include "memory.h"

#include <errno.h>
#include <string.h>

#define DESC_F_NEXT	1
#define DESC_F_WRITE	2
#define DESC_F_INDIRECT	4
#define AVAIL_F_NO_INTERRUPT	1
#define USED_F_NO_NOTIFY	1

#define DESC_SIZE	16

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static uint16_t ld16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static uint16_t ld16_acquire(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

static void st16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void st32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Sizes of the three areas (2.7: descriptor table, driver and device area). */
static uint64_t desc_bytes(uint16_t n) { return (uint64_t)DESC_SIZE * n; }
static uint64_t avail_bytes(uint16_t n) { return 6 + 2ULL * n; }
static uint64_t used_bytes(uint16_t n) { return 6 + 8ULL * n; }

void virtq_reset(struct virtq *q)
{
	*q = (struct virtq){ .size = 0 };
}

int virtq_enable(struct virtq *q, const struct vmm_mem *mem)
{
	q->ready = false;
	if (q->size == 0 || q->size > VIRTQ_MAX_SIZE)
		return -EINVAL;
	/* Alignment from 2.7: 16 for the table, 2 and 4 for the rings. */
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		return -EINVAL;
	q->desc = vmm_mem_ptr(mem, q->desc_gpa, desc_bytes(q->size));
	q->avail = vmm_mem_ptr(mem, q->avail_gpa, avail_bytes(q->size));
	q->used = vmm_mem_ptr(mem, q->used_gpa, used_bytes(q->size));
	if (!q->desc || !q->avail || !q->used)
		return -EINVAL;
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_valid = false;
	q->broken = false;
	q->why = NULL;
	q->ready = true;
	return 0;
}

static int broken(struct virtq *q, const char *why)
{
	if (!q->broken)
		q->why = why;
	q->broken = true;
	return -EIO;
}

static void load_desc(const uint8_t *table, uint16_t i, struct desc *d)
{
	const uint8_t *p = table + (size_t)i * DESC_SIZE;
	memcpy(&d->addr, p, 8);
	memcpy(&d->len, p + 8, 4);
	memcpy(&d->flags, p + 12, 2);
	memcpy(&d->next, p + 14, 2);
}

static int add_seg(struct virtq *q, const struct vmm_mem *mem,
		   struct virtq_chain *c, const struct desc *d)
{
	bool w = d->flags & DESC_F_WRITE;

	if (!w && c->in_len)
		return broken(q, "readable buffer after a writable one");
	if (d->len == 0)
		return 0;
	if (c->nseg == VIRTQ_MAX_SEGS)
		return broken(q, "chain has too many buffers");
	uint8_t *p = vmm_mem_ptr(mem, d->addr, d->len);
	if (!p)
		return broken(q, "buffer outside guest RAM");
	uint64_t sum = (w ? c->in_len : c->out_len) + (uint64_t)d->len;
	if (sum > UINT32_MAX)
		return broken(q, "chain longer than 4 GiB");
	if (w)
		c->in_len = (uint32_t)sum;
	else
		c->out_len = (uint32_t)sum;
	c->seg[c->nseg++] = (struct virtq_seg){ .p = p, .len = d->len,
						.write = w };
	return 0;
}

/* Walk an indirect table: its own indices, its own loop bound. */
static int walk_indirect(struct virtq *q, const struct vmm_mem *mem,
			 struct virtq_chain *c, const struct desc *id)
{
	if (!q->indirect)
		return broken(q, "indirect descriptor not negotiated");
	if (id->flags & DESC_F_NEXT)
		return broken(q, "indirect descriptor with NEXT");
	if (id->len == 0 || id->len % DESC_SIZE ||
	    id->len / DESC_SIZE > 65536)
		return broken(q, "bad indirect table length");
	const uint8_t *table = vmm_mem_ptr(mem, id->addr, id->len);
	if (!table)
		return broken(q, "indirect table outside guest RAM");
	uint32_t n = id->len / DESC_SIZE, i = 0, seen = 0;
	for (;;) {
		struct desc d;
		if (i >= n)
			return broken(q, "indirect index out of range");
		if (++seen > n)
			return broken(q, "indirect chain loops");
		load_desc(table, (uint16_t)i, &d);
		if (d.flags & DESC_F_INDIRECT)
			return broken(q, "nested indirect table");
		int rc = add_seg(q, mem, c, &d);
		if (rc)
			return rc;
		if (!(d.flags & DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

unsigned virtq_pending(struct virtq *q)
{
	if (!q->ready || q->broken)
		return 0;
	return (uint16_t)(ld16_acquire(q->avail + 2) - q->last_avail);
}

int virtq_pop(struct virtq *q, const struct vmm_mem *mem,
	      struct virtq_chain *c)
{
	if (q->broken)
		return -EIO;
	if (!q->ready)
		return 0;
	uint16_t avail_idx = ld16_acquire(q->avail + 2);
	uint16_t n = (uint16_t)(avail_idx - q->last_avail);
	if (n == 0)
		return 0;
	if (n > q->size)
		return broken(q, "avail index ran ahead of the ring");
	uint16_t head = ld16(q->avail + 4 + 2 * (q->last_avail % q->size));
	if (head >= q->size)
		return broken(q, "head index out of range");

	c->head = head;
	c->nseg = 0;
	c->in_len = c->out_len = 0;
	uint16_t i = head;
	unsigned seen = 0;
	for (;;) {
		struct desc d;
		if (++seen > q->size)
			return broken(q, "descriptor chain loops");
		load_desc(q->desc, i, &d);
		int rc;
		if (d.flags & DESC_F_INDIRECT) {
			/* 2.7.5.3.1: an indirect descriptor is the whole chain. */
			if (seen != 1)
				return broken(q, "indirect descriptor inside a chain");
			rc = walk_indirect(q, mem, c, &d);
			if (rc)
				return rc;
			break;
		}
		rc = add_seg(q, mem, c, &d);
		if (rc)
			return rc;
		if (!(d.flags & DESC_F_NEXT))
			break;
		if (d.next >= q->size)
			return broken(q, "next index out of range");
		i = d.next;
	}
	q->last_avail++;
	return 1;
}

void virtq_unpop(struct virtq *q)
{
	q->last_avail--;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	if (!q->ready || q->broken)
		return;
	uint8_t *e = q->used + 4 + 8 * (size_t)(q->used_idx % q->size);
	st32(e, head);
	st32(e + 4, len);
	q->used_idx++;
	__atomic_store_n((uint16_t *)(q->used + 2), q->used_idx,
			 __ATOMIC_RELEASE);
}

bool virtq_need_interrupt(struct virtq *q)
{
	if (!q->ready || q->broken)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(ld16(q->avail) & AVAIL_F_NO_INTERRUPT);
	/* 2.7.10: interrupt when used_event lies in (old, new]. */
	uint16_t event = ld16(q->avail + 4 + 2 * (size_t)q->size);
	uint16_t new = q->used_idx, old = q->signalled;
	bool valid = q->signalled_valid;
	q->signalled = new;
	q->signalled_valid = true;
	if (!valid)
		return true;
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

bool virtq_enable_notify(struct virtq *q)
{
	if (!q->ready || q->broken)
		return false;
	if (q->event_idx)
		st16(q->used + 4 + 8 * (size_t)q->size, q->last_avail);
	else
		st16(q->used, 0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ld16_acquire(q->avail + 2) != q->last_avail;
}

uint32_t virtq_chain_read(const struct virtq_chain *c, uint32_t skip,
			  void *buf, uint32_t len)
{
	uint8_t *out = buf;
	uint32_t done = 0;

	for (unsigned i = 0; i < c->nseg && done < len; i++) {
		const struct virtq_seg *s = &c->seg[i];
		if (s->write)
			break;
		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		uint32_t n = s->len - skip;
		if (n > len - done)
			n = len - done;
		memcpy(out + done, s->p + skip, n);
		done += n;
		skip = 0;
	}
	return done;
}

uint32_t virtq_chain_write(const struct virtq_chain *c, uint32_t skip,
			   const void *buf, uint32_t len)
{
	const uint8_t *in = buf;
	uint32_t done = 0;

	for (unsigned i = 0; i < c->nseg && done < len; i++) {
		const struct virtq_seg *s = &c->seg[i];
		if (!s->write)
			continue;
		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		uint32_t n = s->len - skip;
		if (n > len - done)
			n = len - done;
		memcpy(s->p + skip, in + done, n);
		done += n;
		skip = 0;
	}
	return done;
}
