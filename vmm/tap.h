/*
 * Host side of a zone's network links: tap devices, bridges, and the MAC
 * addresses of anet resources.
 */
#ifndef KZ_VMM_TAP_H
#define KZ_VMM_TAP_H

#include <stddef.h>
#include <stdint.h>

#define VMM_IFNAMSIZ 16		/* Linux's IFNAMSIZ, with the NUL */

/*
 * Attach to tap interface name, creating it when it does not exist (it
 * then lives as long as the fd).  The fd is non-blocking.  Returns the fd
 * or -errno.
 */
int vmm_tap_open(const char *name) __attribute__((warn_unused_result));
/* Bring an interface up; 0 or -errno. */
int vmm_tap_up(const char *name);
/* Enslave an interface to a bridge (SIOCBRADDIF); 0 or -errno. */
int vmm_tap_bridge(const char *name, const char *bridge);
/* Is there a network interface of this name? */
int vmm_if_exists(const char *name);

/*
 * A tap name for link of zone, within IFNAMSIZ: "kz<zone>_<link>" when it
 * fits, else "kz" + the start of the zone + a hash of both.
 */
void vmm_tap_name(const char *zone, const char *link,
		  char out[VMM_IFNAMSIZ]);

/* The stable address of mac-address=auto: locally administered, unicast. */
void vmm_mac_auto(const char *zone, const char *link, uint8_t mac[6]);
void vmm_mac_random(uint8_t mac[6]);
/* "xx:xx:xx:xx:xx:xx" (unicast only); 0 or -EINVAL. */
int vmm_mac_parse(const char *s, uint8_t mac[6]);

#endif
