/*
 * Linux's printk ringbuffer (kernel/printk/printk_ringbuffer.h, Linux
 * 5.10 and later), read from guest memory with no help from the guest.
 *
 * struct printk_ringbuffer is a descriptor ring, then a text data ring:
 *   desc ring:  u32 count_bits; prb_desc *descs; printk_info *infos;
 *               long head_id, tail_id; [long last_finalized_id, 5.19+]
 *   data ring:  u32 size_bits; char *data; long head_lpos, tail_lpos;
 * The data ring sits at offset 48 or, before last_finalized_id, at 40;
 * the one whose fields look like a ring (size_bits 8..31, data a kernel
 * address) is taken.  A descriptor is { long state_var; long begin,
 * next; }: the top two bits of state_var are its state (committed 1,
 * finalized 2 are readable), the rest its id.  Its printk_info (88
 * bytes) has seq, ts_nsec and text_len at 0, 8, 16.  The text lives in
 * the data ring at begin as { long id; char text[]; }, or at the ring's
 * start when the block wraps.  Records go from tail_id to head_id.
 *
 * Guest memory is untrusted: every field is checked, every loop is
 * bounded by the ring's size, every copy by a fixed buffer.  Nothing is
 * allocated: savecore calls this in a forked child.
 */
#include "printk.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define KVA_MIN		0xffff800000000000ULL
#define SV_ID_MASK	((1ULL << 62) - 1)
#define ST_COMMITTED	1
#define ST_FINALIZED	2
#define DESC_SIZE	24
#define INFO_SIZE	88
#define INFO_TEXT_LEN	16
#define MAX_COUNT_BITS	24	/* 16M records: far above any real log */
#define PANIC_PREFIX	"Kernel panic - not syncing: "

struct ring {
	unsigned count_bits, size_bits;
	uint64_t descs, infos, head_id, tail_id, data;
};

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static int load_ring(kz_vread_fn rd, void *ctx, uint64_t rb, struct ring *r,
		     char *err, size_t errlen)
{
	uint8_t b[80];
	int rc = rd(ctx, rb, b, sizeof(b));
	if (rc) {
		snprintf(err, errlen, "cannot read the ringbuffer at %llx",
			 (unsigned long long)rb);
		return rc;
	}
	r->count_bits = get32(b);
	r->descs = get64(b + 8);
	r->infos = get64(b + 16);
	r->head_id = get64(b + 24) & SV_ID_MASK;
	r->tail_id = get64(b + 32) & SV_ID_MASK;
	if (r->count_bits == 0 || r->count_bits > MAX_COUNT_BITS ||
	    r->descs < KVA_MIN || r->infos < KVA_MIN) {
		snprintf(err, errlen, "no printk ringbuffer at %llx (count_bits "
			 "%u, descs %llx)", (unsigned long long)rb,
			 r->count_bits, (unsigned long long)r->descs);
		return -EINVAL;
	}
	static const unsigned data_ring_at[] = { 48, 40 };
	for (unsigned i = 0; i < 2; i++) {
		unsigned off = data_ring_at[i];
		r->size_bits = get32(b + off);
		r->data = get64(b + off + 8);
		if (r->size_bits >= 8 && r->size_bits < 32 && r->data >= KVA_MIN)
			return 0;
	}
	snprintf(err, errlen, "the printk ringbuffer at %llx has no text ring "
		 "this reader knows", (unsigned long long)rb);
	return -EINVAL;
}

/*
 * Where a record's text is and how long, as Linux's get_data() judges a
 * block: false for a data-less or illegal one.
 */
static bool text_block(const struct ring *r, uint64_t begin, uint64_t next,
		       uint64_t *at, uint64_t *len)
{
	uint64_t size = 1ULL << r->size_bits;
	if ((begin & 1) || (next & 1) || (begin & 7) || (next & 7))
		return false;	/* data-less (FAILED/NO_LPOS) or misaligned */
	if (begin >> r->size_bits == next >> r->size_bits && begin < next) {
		*at = begin & (size - 1);
		*len = next - begin;
	} else if ((begin + size) >> r->size_bits == next >> r->size_bits) {
		*at = 0;
		*len = next & (size - 1);
	} else {
		return false;
	}
	if (*len < 8 || *len > size || *at + *len > size)
		return false;
	*len -= 8;		/* the block's id */
	return true;
}

int kz_printk_read(kz_vread_fn rd, void *rctx, uint64_t rb, kz_printk_fn emit,
		   void *ectx, char *err, size_t errlen)
{
	struct ring r;
	int rc = load_ring(rd, rctx, rb, &r, err, errlen);
	if (rc)
		return rc;
	uint64_t count = 1ULL << r.count_bits, mask = count - 1;
	uint64_t id = r.tail_id;
	int n = 0;
	char text[KZ_PRINTK_LINE_MAX];
	for (uint64_t k = 0; k < count; k++) {
		uint8_t d[DESC_SIZE], info[INFO_SIZE];
		uint64_t at, len, blk_id;
		if (rd(rctx, r.descs + (id & mask) * DESC_SIZE, d, sizeof(d)) ||
		    rd(rctx, r.infos + (id & mask) * INFO_SIZE, info,
		       sizeof(info))) {
			snprintf(err, errlen, "cannot read record %llu of the "
				 "printk ringbuffer", (unsigned long long)id);
			return -EFAULT;
		}
		uint64_t sv = get64(d);
		unsigned state = (unsigned)(sv >> 62);
		if ((sv & SV_ID_MASK) == id &&
		    (state == ST_COMMITTED || state == ST_FINALIZED) &&
		    text_block(&r, get64(d + 8), get64(d + 16), &at, &len) &&
		    rd(rctx, r.data + at, &blk_id, 8) == 0 && blk_id == id) {
			uint64_t want = info[INFO_TEXT_LEN] |
					(uint64_t)info[INFO_TEXT_LEN + 1] << 8;
			if (want > len)
				want = len;
			if (want > sizeof(text))
				want = sizeof(text);
			if (rd(rctx, r.data + at + 8, text, (size_t)want) == 0) {
				while (want && text[want - 1] == '\n')
					want--;
				emit(ectx, get64(info), get64(info + 8), text,
				     (size_t)want);
				n++;
			}
		}
		if (id == r.head_id)
			break;
		id = (id + 1) & SV_ID_MASK;
	}
	return n;
}

struct panic_scan {
	char *out;
	size_t outlen;
};

static void panic_line(void *ctx, uint64_t seq, uint64_t ts, const char *text,
		       size_t len)
{
	struct panic_scan *p = ctx;
	const size_t plen = sizeof(PANIC_PREFIX) - 1;
	(void)seq;
	(void)ts;
	for (size_t i = 0; i + plen <= len; i++) {
		if (memcmp(text + i, PANIC_PREFIX, plen))
			continue;
		const char *msg = text + i + plen;
		size_t n = len - i - plen;
		const char *nl = memchr(msg, '\n', n);
		if (nl)
			n = (size_t)(nl - msg);
		snprintf(p->out, p->outlen, "%.*s", (int)n, msg);
		return;
	}
}

int kz_printk_panic(kz_vread_fn rd, void *rctx, uint64_t rb, char *out,
		    size_t outlen)
{
	char err[160];
	struct panic_scan p = { out, outlen };
	if (outlen)
		out[0] = 0;
	int rc = kz_printk_read(rd, rctx, rb, panic_line, &p, err, sizeof(err));
	return rc < 0 ? rc : 0;
}
