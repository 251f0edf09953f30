/*
 * tap devices and bridges through ioctls (no iproute2), and anet MAC
 * addresses.
 *
 * A tap is opened with TUNSETIFF on /dev/net/tun: it attaches to an
 * existing (persistent) tap of that name, or creates one that disappears
 * with the fd.  No IFF_VNET_HDR: the virtio-net header is stripped and
 * added by vnet.c, and no offloads are offered to the guest.
 */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>

int vmm_tap_open(const char *name)
{
	struct ifreq ifr;

	if (strlen(name) >= IFNAMSIZ || !name[0])
		return -EINVAL;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	int rc = ioctl(s, req, ifr) < 0 ? -errno : 0;
	close(s);
	return rc;
}

static int ifreq_name(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	if (strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	memcpy(ifr->ifr_name, name, strlen(name));
	return 0;
}

int vmm_tap_up(const char *name)
{
	struct ifreq ifr;
	int rc;

	if ((rc = ifreq_name(&ifr, name)) ||
	    (rc = ifreq_ioctl(SIOCGIFFLAGS, &ifr)))
		return rc;
	ifr.ifr_flags |= IFF_UP;
	return ifreq_ioctl(SIOCSIFFLAGS, &ifr);
}

int vmm_if_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

int vmm_tap_bridge(const char *name, const char *bridge)
{
	struct ifreq ifr;
	int rc;
	unsigned idx = if_nametoindex(name);

	if (!idx)
		return -errno;
	if ((rc = ifreq_name(&ifr, bridge)))
		return rc;
	ifr.ifr_ifindex = (int)idx;
	rc = ifreq_ioctl(SIOCBRADDIF, &ifr);
	return rc == -EBUSY ? 0 : rc;	/* already a port of it */
}

/* FNV-1a, 64 bits: stable across hosts and releases. */
static uint64_t fnv64(const char *a, const char *b)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const char *p = a; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	h = (h ^ '/') * 0x100000001b3ULL;
	for (const char *p = b; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	return h;
}

void vmm_tap_name(const char *zone, const char *link, char out[VMM_IFNAMSIZ])
{
	int n = snprintf(out, VMM_IFNAMSIZ, "kz%s_%s", zone, link);
	if (n > 0 && n < VMM_IFNAMSIZ)
		return;
	/* 2 + 7 + 6 = 15 characters. */
	snprintf(out, VMM_IFNAMSIZ, "kz%.7s%06x", zone,
		 (unsigned)(fnv64(zone, link) & 0xffffff));
}

static void mac_local_unicast(uint8_t mac[6])
{
	mac[0] = (uint8_t)((mac[0] & ~1u) | 2u);
}

void vmm_mac_auto(const char *zone, const char *link, uint8_t mac[6])
{
	uint64_t h = fnv64(zone, link);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
	mac_local_unicast(mac);
}

void vmm_mac_random(uint8_t mac[6])
{
	if (getrandom(mac, 6, 0) != 6) {
		/* No entropy source: fall back to something that differs. */
		uint64_t h = fnv64("random", "") ^ (uint64_t)getpid();
		memcpy(mac, &h, 6);
	}
	mac_local_unicast(mac);
}

int vmm_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;
	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 0xff)
			return -EINVAL;
		mac[i] = (uint8_t)v[i];
	}
	if (mac[0] & 1)
		return -EINVAL;	/* multicast cannot be a source */
	return 0;
}
