/*
 * A zone's storage and network resources as virtio devices: the device
 * and anet resources of a struct zone_config become the disks and nets
 * of a struct vmm_config.
 *
 * Disks keep the zone's boot order (zcfg sorts devices by bootpri, then
 * id) and their ids, which fix their addresses in the guest.  A file
 * image that does not exist yet but has a create-size is made here,
 * sparse.  Each anet gets a tap named after the zone and the link
 * (vmm_tap_name), a MAC address per mac-address (auto: derived from the
 * zone and link names, so it survives reboots and moves), its bridge when
 * lower-link names one, mac-nospoof and maxbw.
 */
#include "tap.h"
#include "vm.h"
#include "zonecfg.h"
#include "zonehost.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int make_image(const char *path, uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	close(fd);
	if (rc)
		unlink(path);
	return rc;
}

static int zone_disks(const struct zone_config *c, struct vmm_config *vc,
		      char *err, size_t errlen)
{
	struct stat st;

	for (size_t i = 0; i < c->ndevices; i++) {
		const struct zcfg_device *d = &c->devices[i];
		struct vmm_disk_config *k = &vc->disks[vc->ndisks];

		if (vc->ndisks == VMM_MAX_DISKS) {
			snprintf(err, errlen, "more than %u storage devices",
				 VMM_MAX_DISKS);
			return -E2BIG;
		}
		if (d->id < 0 || d->id >= VMM_MAX_DISKS) {
			snprintf(err, errlen, "device %s: id %d is not 0 to %u",
				 d->storage, d->id, VMM_MAX_DISKS - 1);
			return -EINVAL;
		}
		int rc = zcfg_storage_path(d->storage, k->path,
					   sizeof(k->path));
		if (rc) {
			snprintf(err, errlen, "device %s: %s", d->storage,
				 rc == -ENOTSUP ? "storage URI not supported "
						  "on this host"
						: strerror(-rc));
			return rc;
		}
		if (stat(k->path, &st) < 0 && errno == ENOENT &&
		    d->create_size) {
			rc = make_image(k->path, d->create_size);
			if (rc) {
				snprintf(err, errlen, "device %s: creating "
					 "%s: %s", d->storage, k->path,
					 strerror(-rc));
				return rc;
			}
		}
		k->id = (unsigned)d->id;
		k->readonly = false;
		vc->ndisks++;
	}
	return 0;
}

static bool is_bridge(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", name);
	return access(path, F_OK) == 0;
}

static int zone_nets(const struct zone_config *c, const char *zone,
		     struct vmm_config *vc, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->nanets; i++) {
		const struct zcfg_anet *a = &c->anets[i];
		struct vmm_net_config *n = &vc->nets[vc->nnets];

		if (vc->nnets == VMM_MAX_NETS) {
			snprintf(err, errlen, "more than %u anets",
				 VMM_MAX_NETS);
			return -E2BIG;
		}
		if (a->id < 0 || a->id >= VMM_MAX_NETS) {
			snprintf(err, errlen, "anet %s: id %d is not 0 to %u",
				 a->linkname, a->id, VMM_MAX_NETS - 1);
			return -EINVAL;
		}
		memset(n, 0, sizeof(*n));
		n->id = (unsigned)a->id;
		snprintf(n->link, sizeof(n->link), "%s", a->linkname);
		vmm_tap_name(zone, a->linkname, n->tap);
		if (a->lower_link[0] && strcmp(a->lower_link, "auto")) {
			if (!is_bridge(a->lower_link)) {
				snprintf(err, errlen, "anet %s: lower-link %s "
					 "is not a bridge on this host",
					 a->linkname, a->lower_link);
				return -EINVAL;
			}
			snprintf(n->bridge, sizeof(n->bridge), "%s",
				 a->lower_link);
		}
		if (!a->mac_address[0] || !strcmp(a->mac_address, "auto"))
			vmm_mac_auto(zone, a->linkname, n->mac);
		else if (!strcmp(a->mac_address, "random"))
			vmm_mac_random(n->mac);
		else if (vmm_mac_parse(a->mac_address, n->mac)) {
			snprintf(err, errlen, "anet %s: mac-address %s is not "
				 "a unicast MAC", a->linkname, a->mac_address);
			return -EINVAL;
		}
		n->nospoof = strstr(a->link_protection, "mac-nospoof") != NULL;
		n->maxbw = a->maxbw;
		vc->nnets++;
	}
	return 0;
}

int zonehost_devices(const struct zone_config *c, const char *zone,
		     struct vmm_config *vc, char *err, size_t errlen)
{
	int rc = zone_disks(c, vc, err, errlen);
	return rc ? rc : zone_nets(c, zone, vc, err, errlen);
}
