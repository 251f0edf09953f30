/*
 * libFuzzer target for the split virtqueue (vmm/virtq.c): the input is
 * guest RAM as a hostile driver left it -- descriptor table, avail ring,
 * indirect tables, buffers -- plus a few bytes choosing the queue size,
 * the negotiated features and where the areas sit.  The device then
 * takes every chain it is offered, reads and writes every buffer, and
 * returns them.
 *
 * Beyond the sanitizers it checks the contract: every buffer handed out
 * lies inside the RAM region; a broken queue stays broken and says why;
 * no more chains come out than the ring can have offered.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "virtq.h"

#define RAM_GPA	0x100000ULL
#define RAM_MAX	0x4000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_chain c;
	struct vmm_mem mem = { .nregions = 1 };
	struct virtq q;

	if (size < 8)
		return 0;
	size_t ram_len = size - 8 > RAM_MAX ? RAM_MAX : size - 8;
	/* An exact-size heap copy, so ASan sees any byte past the end. */
	uint8_t *ram = malloc(ram_len ? ram_len : 1);
	if (!ram)
		return 0;
	memcpy(ram, data + 8, ram_len);
	mem.regions[0] = (struct vmm_mem_region){ .gpa = RAM_GPA,
						  .size = ram_len, .hva = ram };
	virtq_reset(&q);
	q.size = (uint16_t)(data[0] | (data[1] & 1) << 8);
	q.indirect = data[1] & 2;
	q.event_idx = data[1] & 4;
	/* Areas anywhere in (or just past) RAM, in 2-byte steps. */
	q.desc_gpa = RAM_GPA + 16ULL * data[2];
	q.avail_gpa = RAM_GPA + 2ULL * (data[3] | data[4] << 8);
	q.used_gpa = RAM_GPA + 4ULL * (data[5] | data[6] << 8);
	if (data[7] & 1)
		q.desc_gpa = ~0ULL - 15;	/* wrap-around address */

	if (virtq_enable(&q, &mem) == 0) {
		unsigned taken = 0;
		int rc;
		while ((rc = virtq_pop(&q, &mem, &c)) == 1) {
			uint8_t buf[64];
			if (++taken > q.size)
				abort();	/* more than was offered */
			for (unsigned i = 0; i < c.nseg; i++) {
				if (c.seg[i].p < ram ||
				    c.seg[i].p + c.seg[i].len > ram + ram_len)
					abort();
				volatile uint8_t first = c.seg[i].p[0];
				volatile uint8_t last = c.seg[i].p[c.seg[i].len - 1];
				(void)first;
				(void)last;
			}
			for (uint32_t off = 0; off < c.out_len; off += sizeof(buf))
				virtq_chain_read(&c, off, buf, sizeof(buf));
			memset(buf, 0xa5, sizeof(buf));
			for (uint32_t off = 0; off < c.in_len; off += sizeof(buf))
				virtq_chain_write(&c, off, buf, sizeof(buf));
			virtq_push(&q, c.head, c.in_len);
			(void)virtq_need_interrupt(&q);
		}
		if (rc < 0 && (!q.broken || !q.why))
			abort();
		(void)virtq_enable_notify(&q);
		(void)virtq_pending(&q);
	}
	free(ram);
	return 0;
}
