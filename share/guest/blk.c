/*
 * virtio-blk driver for kzguest: one synchronous request at a time.
 *
 * A request is three descriptors -- header, one 512-byte sector, status
 * -- in a page of its own; the driver waits for the used ring.  The disk
 * id is the device's slot in kzhost's virtio window (0xD0000000, 4 KiB
 * per slot, disks from slot 1), which is how solaris-kz(7) ids fix a
 * device's address.  A read-only disk is still sent writes: refusing
 * them is the device's job, and the shell reports its answer.
 */
#include "kzguest.h"
#include "virtio.h"

#define MAX_DISKS	16
#define VIRTIO_BASE	0xD0000000ULL
#define BLK_F_RO	(1u << 5)
#define BLK_F_FLUSH	(1u << 9)

struct blk_req {
	uint32_t type, reserved;
	uint64_t sector;
};

struct disk {
	struct kz_vdev *dev;
	struct kz_vq q;
	unsigned id;
	uint64_t sectors;
	bool ro;
	uint8_t *page;		/* header at 0, status at 64, data at 512 */
};

static struct disk disks[MAX_DISKS];
static unsigned ndisks;

void blk_attach(struct kz_vdev *d)
{
	if (ndisks == MAX_DISKS)
		return;
	struct disk *k = &disks[ndisks];
	k->dev = d;
	k->id = (unsigned)((d->base - VIRTIO_BASE) >> 12) - 1;
	if (vio_negotiate(d, BLK_F_RO | BLK_F_FLUSH) ||
	    vio_queue(d, 0, &k->q, 4, false))
		return;
	k->page = kz_alloc_pages(1);
	if (!k->page)
		return;
	k->sectors = (uint64_t)vio_rd(d, VIO_CONFIG) |
		     (uint64_t)vio_rd(d, VIO_CONFIG + 4) << 32;
	k->ro = d->features & BLK_F_RO;
	vio_driver_ok(d);
	ndisks++;
}

static struct disk *find(const char *arg)
{
	uint64_t id;

	if (!kz_parse_uint(arg, &id))
		return NULL;
	for (unsigned i = 0; i < ndisks; i++)
		if (disks[i].id == id)
			return &disks[i];
	return NULL;
}

/* 0 done, 1 device error, 2 unsupported, -1 no answer. */
static int request(struct disk *k, uint32_t type, uint64_t sector,
		   bool data_in)
{
	struct blk_req *r = (struct blk_req *)k->page;
	uint8_t *status = k->page + 64;

	r->type = type;
	r->reserved = 0;
	r->sector = sector;
	*status = 0xff;
	vq_desc(&k->q, 0, r, 16, VRING_DESC_F_NEXT, 1);
	if (type == 4) {	/* flush: no data */
		vq_desc(&k->q, 1, status, 1, VRING_DESC_F_WRITE, 0);
	} else {
		vq_desc(&k->q, 1, k->page + 512, 512,
			VRING_DESC_F_NEXT | (data_in ? VRING_DESC_F_WRITE : 0), 2);
		vq_desc(&k->q, 2, status, 1, VRING_DESC_F_WRITE, 0);
	}
	if (!vq_run(&k->q, 0, NULL))
		return -1;
	return *status;
}

static const char *why(int st)
{
	return st == 1 ? "I/O error" : st == 2 ? "unsupported" : "no answer";
}

int cmd_disks(int argc __unused, char **argv __unused)
{
	if (!ndisks)
		kz_printf("no disks\n");
	for (unsigned i = 0; i < ndisks; i++) {
		struct disk *k = &disks[i];
		kz_printf("disk%u id %u at %lx irq %u: %lu sectors (%lu KiB)%s\n",
			  i, k->id, k->dev->base, k->dev->irq, k->sectors,
			  k->sectors / 2, k->ro ? " read-only" : "");
	}
	return 0;
}

int cmd_dread(int argc, char **argv)
{
	struct disk *k;
	uint64_t lba;
	char text[65];

	if (argc != 3 || !(k = find(argv[1])) || !kz_parse_uint(argv[2], &lba)) {
		kz_printf("usage: dread ID LBA (a disk id from `disks')\n");
		return 1;
	}
	int st = request(k, 0, lba, true);
	if (st) {
		kz_printf("dread: disk id %u lba %lu: %s\n", k->id, lba, why(st));
		return 1;
	}
	for (unsigned i = 0; i < 64; i++) {
		char c = (char)k->page[512 + i];
		text[i] = c >= 0x20 && c < 0x7f ? c : '.';
	}
	text[64] = 0;
	kz_printf("id %u lba %lu: %s\n", k->id, lba, text);
	return 0;
}

int cmd_dwrite(int argc, char **argv)
{
	struct disk *k;
	uint64_t lba;

	if (argc < 4 || !(k = find(argv[1])) || !kz_parse_uint(argv[2], &lba)) {
		kz_printf("usage: dwrite ID LBA TEXT\n");
		return 1;
	}
	memset(k->page + 512, 0, 512);
	size_t pos = 0;
	for (int a = 3; a < argc; a++) {
		size_t n = strlen(argv[a]);
		if (pos + n + 1 > 512)
			break;
		if (a > 3)
			k->page[512 + pos++] = ' ';
		memcpy(k->page + 512 + pos, argv[a], n);
		pos += n;
	}
	int st = request(k, 1, lba, false);
	if (st == 0)
		st = request(k, 4, 0, false);
	if (st) {
		kz_printf("dwrite: disk id %u lba %lu: %s%s\n", k->id, lba,
			  why(st), k->ro ? " (read-only disk)" : "");
		return 1;
	}
	kz_printf("wrote %lu bytes to id %u lba %lu and flushed\n", pos,
		  k->id, lba);
	return 0;
}

/*
 * dbench ID N: N reads of sector 0, one at a time, for make bench
 * (bench/blk.sh), which counts the VMM's exits and CPU time around it.
 * Interrupts are off for the loop (the driver polls the used ring), so
 * the guest's own timer adds no exits to the device path; ticks pile up
 * as one pending interrupt until the end.
 */
int cmd_dbench(int argc, char **argv)
{
	struct disk *k;
	uint64_t n, i;
	int st = 0;

	if (argc != 3 || !(k = find(argv[1])) || !kz_parse_uint(argv[2], &n)) {
		kz_printf("usage: dbench ID N (a disk id from `disks')\n");
		return 1;
	}
	bool on = read_rflags() & (1u << 9);
	cli();
	for (i = 0; i < n && st == 0; i++)
		st = request(k, 0, 0, true);
	if (on)
		sti();
	if (st) {
		kz_printf("dbench: disk id %u read %lu: %s\n", k->id, i, why(st));
		return 1;
	}
	kz_printf("dbench: %lu reads of disk id %u lba 0\n", n, k->id);
	return 0;
}
