/*
 * virtio-net driver for kzguest: enough IPv4 to be pinged.
 *
 * The address comes from "ip=ADDR/PREFIX" on the command line.  The
 * driver answers ARP requests for it and ICMP echo requests to it, and
 * nothing else (other frames are counted and dropped).  Sixteen receive
 * buffers stay posted; a received frame is handled by net_poll() outside
 * interrupt context and its buffer posted again.  Transmit is one frame
 * at a time, waiting for the device.  `spoof N' sends gratuitous ARPs
 * from a forged source MAC, for testing the host's mac-nospoof.
 */
#include "kzguest.h"
#include "virtio.h"

#define NET_F_MAC	(1u << 5)
#define HDR		12
#define NRX		16
#define RXBUF		2048

struct nic {
	struct kz_vdev *dev;
	struct kz_vq rx, tx;
	uint8_t mac[6];
	uint32_t ip;		/* host order; 0 when none */
	unsigned prefix;
	uint8_t *rxbuf;		/* NRX * RXBUF */
	uint8_t *txbuf;
	uint64_t rx_packets, tx_packets, arp_replies, echo_replies, ignored;
	uint64_t tx_errors;
};

static struct nic nic;
static bool nic_up;

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}
static void put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += be16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* "ip=a.b.c.d/p" from the command line. */
static void parse_ip(void)
{
	const char *p = kz_boot.cmdline;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, "ip=", 3)) {
			uint32_t ip = 0, part = 0;
			unsigned dots = 0, prefix = 24;
			for (p += 3; (*p >= '0' && *p <= '9') || *p == '.'; p++) {
				if (*p == '.') {
					ip = ip << 8 | (part & 255);
					part = 0;
					dots++;
				} else
					part = part * 10 + (uint32_t)(*p - '0');
			}
			ip = ip << 8 | (part & 255);
			if (*p == '/') {
				prefix = 0;
				for (p++; *p >= '0' && *p <= '9'; p++)
					prefix = prefix * 10 + (unsigned)(*p - '0');
			}
			if (dots == 3 && prefix <= 32) {
				nic.ip = ip;
				nic.prefix = prefix;
			}
		}
		while (*p && *p != ' ')
			p++;
	}
}

static void post_rx(unsigned i)
{
	vq_desc(&nic.rx, i, nic.rxbuf + i * RXBUF, RXBUF, VRING_DESC_F_WRITE, 0);
	vq_post(&nic.rx, (uint16_t)i);
}

void net_attach(struct kz_vdev *d)
{
	if (nic_up)
		return;
	nic.dev = d;
	if (vio_negotiate(d, NET_F_MAC) || vio_queue(d, 0, &nic.rx, NRX, true) ||
	    vio_queue(d, 1, &nic.tx, 2, false))
		return;
	nic.rxbuf = kz_alloc_pages(NRX * RXBUF / 4096);
	nic.txbuf = kz_alloc_pages(1);
	if (!nic.rxbuf || !nic.txbuf)
		return;
	for (unsigned i = 0; i < 6; i++)
		nic.mac[i] = d->regs[VIO_CONFIG + i];
	parse_ip();
	vio_driver_ok(d);
	for (unsigned i = 0; i < NRX; i++)
		post_rx(i);
	vq_kick(&nic.rx);
	nic_up = true;
}

/* Send the frame already in txbuf + HDR. */
static void transmit(size_t len)
{
	uint32_t used;

	memset(nic.txbuf, 0, HDR);
	vq_desc(&nic.tx, 0, nic.txbuf, (uint32_t)(HDR + len), 0, 0);
	if (vq_run(&nic.tx, 0, &used))
		nic.tx_packets++;
	else
		nic.tx_errors++;
}

static void arp(const uint8_t *f, size_t len)
{
	const uint8_t *a = f + 14;
	if (len < 42 || be16(a) != 1 || be16(a + 2) != 0x0800 ||
	    be16(a + 6) != 1 || be32(a + 24) != nic.ip) {
		nic.ignored++;
		return;
	}
	uint8_t *o = nic.txbuf + HDR, *r = o + 14;
	memcpy(o, f + 6, 6);
	memcpy(o + 6, nic.mac, 6);
	put_be16(o + 12, 0x0806);
	put_be16(r, 1);
	put_be16(r + 2, 0x0800);
	r[4] = 6;
	r[5] = 4;
	put_be16(r + 6, 2);
	memcpy(r + 8, nic.mac, 6);
	put_be32(r + 14, nic.ip);
	memcpy(r + 18, a + 8, 10);	/* sender MAC and IP become target */
	nic.arp_replies++;
	transmit(42);
}

static void ipv4(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14;
	if (len < 34 || (ip[0] >> 4) != 4) {
		nic.ignored++;
		return;
	}
	size_t ihl = (size_t)(ip[0] & 15) * 4, tot = be16(ip + 2);
	if (ihl < 20 || tot < ihl + 8 || 14 + tot > len || ip[9] != 1 ||
	    be32(ip + 16) != nic.ip || ip[ihl] != 8 ||
	    14 + tot > 4096 - HDR) {
		nic.ignored++;
		return;
	}
	uint8_t *o = nic.txbuf + HDR;
	memcpy(o, f + 6, 6);
	memcpy(o + 6, nic.mac, 6);
	put_be16(o + 12, 0x0800);
	memcpy(o + 14, ip, tot);
	uint8_t *oip = o + 14, *icmp = oip + ihl;
	memcpy(oip + 12, ip + 16, 4);
	memcpy(oip + 16, ip + 12, 4);
	oip[8] = 64;
	put_be16(oip + 10, 0);
	put_be16(oip + 10, csum(oip, ihl));
	icmp[0] = 0;		/* echo reply */
	put_be16(icmp + 2, 0);
	put_be16(icmp + 2, csum(icmp, tot - ihl));
	nic.echo_replies++;
	transmit(14 + tot);
}

void net_poll(void)
{
	uint32_t id, len;

	if (!nic_up)
		return;
	bool reposted = false;
	while (vq_used(&nic.rx, &id, &len)) {
		if (id >= NRX)
			continue;
		nic.rx_packets++;
		const uint8_t *f = nic.rxbuf + id * RXBUF + HDR;
		size_t n = len > HDR ? len - HDR : 0;
		if (n >= 14 && nic.ip) {
			uint16_t type = be16(f + 12);
			if (type == 0x0806)
				arp(f, n);
			else if (type == 0x0800)
				ipv4(f, n);
			else
				nic.ignored++;
		} else {
			nic.ignored++;
		}
		post_rx(id);
		reposted = true;
	}
	if (reposted)
		vq_kick(&nic.rx);
}

int cmd_ifconfig(int argc __unused, char **argv __unused)
{
	const uint8_t *m = nic.mac;
	if (!nic_up) {
		kz_printf("no network device\n");
		return 1;
	}
	net_poll();
	kz_printf("net0: mac %02x:%02x:%02x:%02x:%02x:%02x inet %u.%u.%u.%u/%u\n",
		  m[0], m[1], m[2], m[3], m[4], m[5], nic.ip >> 24,
		  (nic.ip >> 16) & 255, (nic.ip >> 8) & 255, nic.ip & 255,
		  nic.prefix);
	kz_printf("  rx %lu packets, tx %lu packets, arp replies %lu, "
		  "echo replies %lu, ignored %lu, tx errors %lu\n",
		  nic.rx_packets, nic.tx_packets, nic.arp_replies,
		  nic.echo_replies, nic.ignored, nic.tx_errors);
	return 0;
}

int cmd_spoof(int argc, char **argv)
{
	uint64_t n, i;
	if (argc != 2 || !kz_parse_uint(argv[1], &n) || !nic_up) {
		kz_printf("usage: spoof N (needs a network device)\n");
		return 1;
	}
	for (i = 0; i < n; i++) {
		uint8_t *o = nic.txbuf + HDR, *r = o + 14;
		memset(o, 0xff, 6);
		memcpy(o + 6, nic.mac, 6);
		o[11] ^= 0x55;		/* not our address */
		put_be16(o + 12, 0x0806);
		put_be16(r, 1);
		put_be16(r + 2, 0x0800);
		r[4] = 6;
		r[5] = 4;
		put_be16(r + 6, 1);
		memcpy(r + 8, o + 6, 6);
		put_be32(r + 14, nic.ip);
		memset(r + 18, 0, 6);
		put_be32(r + 24, nic.ip);
		transmit(42);
	}
	kz_printf("sent %lu frames from a forged MAC\n", n);
	return 0;
}
