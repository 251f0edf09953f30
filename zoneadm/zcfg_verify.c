/*
 * verify: the checks that need the whole zone rather than one property.
 * Called by commit, by `verify`, and by zoneadm before install and boot.
 * The first problem found is reported, in one line naming it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "zonecfg.h"

#define FAIL(...) \
	do { \
		snprintf(err, errlen, __VA_ARGS__); \
		return -EINVAL; \
	} while (0)

int zcfg_verify(const struct zone_config *c, char *err, size_t errlen)
{
	char e[160];

	if (!zs_name_valid(c->zonename, e, sizeof(e)))
		FAIL("%s", e);
	if (strcmp(c->brand, ZCFG_BRAND))
		FAIL("brand '%s' is not available: this host has only brand "
		     "%s", c->brand, ZCFG_BRAND);

	if (c->has_capped_memory && !c->physical)
		FAIL("capped-memory: physical not specified");
	if (c->pagesize_policy[0] && !(c->has_capped_memory && c->physical))
		FAIL("capped-memory pagesize-policy needs physical");
	if (c->has_virtual_cpu && !c->vcpu_ncpus)
		FAIL("virtual-cpu: ncpus not specified");
	if (c->has_dedicated_cpu && !c->dcpu_ncpus[0])
		FAIL("dedicated-cpu: ncpus not specified");
	if (c->has_virtual_cpu && c->has_dedicated_cpu &&
	    c->vcpu_ncpus > c->dcpu_max)
		FAIL("virtual-cpu ncpus %u is above dedicated-cpu ncpus %s",
		     c->vcpu_ncpus, c->dcpu_ncpus);

	bool bootable = false;
	for (size_t i = 0; i < c->ndevices; i++) {
		const struct zcfg_device *d = &c->devices[i];
		if (!d->storage[0])
			FAIL("device %d: storage not specified", d->id);
		if (zcfg_storage_check(d->storage, e, sizeof(e)))
			FAIL("device %d storage '%s': %s", d->id, d->storage,
			     e);
		if (d->id < 0)
			FAIL("device with storage %s has no id", d->storage);
		bootable |= d->bootpri >= 0;
		for (size_t j = 0; j < i; j++) {
			if (c->devices[j].id == d->id)
				FAIL("two devices have id %d", d->id);
			if (strcmp(c->devices[j].storage, d->storage) == 0)
				FAIL("two devices use storage %s", d->storage);
		}
	}
	if (c->ndevices && !bootable)
		FAIL("no bootable device: set bootpri on at least one device");

	for (size_t i = 0; i < c->nanets; i++) {
		const struct zcfg_anet *a = &c->anets[i];
		if (!a->linkname[0] || a->id < 0)
			FAIL("anet %zu: linkname or id missing", i);
		for (size_t j = 0; j < i; j++) {
			if (c->anets[j].id == a->id)
				FAIL("two anets have id %d", a->id);
			if (strcmp(c->anets[j].linkname, a->linkname) == 0)
				FAIL("two anets are named %s", a->linkname);
		}
		if (!a->allowed_mac[0] || strcmp(a->mac_address, "auto") == 0)
			continue;
		if (strcmp(a->mac_address, "random") == 0) {
			/* A random address comes from the VNIC OUI 2:8:20. */
			if (!zcfg_mac_match("02:08:20:00:00:01",
					    a->allowed_mac))
				FAIL("anet %s: mac-address random needs "
				     "allowed-mac-address any or 2:8:20",
				     a->linkname);
		} else if (!zcfg_mac_match(a->mac_address, a->allowed_mac)) {
			FAIL("anet %s: mac-address %s is not in "
			     "allowed-mac-address %s", a->linkname,
			     a->mac_address, a->allowed_mac);
		}
	}

	if (c->has_suspend) {
		if (c->suspend_path[0] && c->suspend_storage[0])
			FAIL("suspend: set path or storage, not both");
		if (!c->suspend_path[0] && !c->suspend_storage[0])
			FAIL("suspend: path or storage not specified");
	}
	if (c->has_keysource && !c->keysource_raw[0])
		FAIL("keysource: raw not specified");
	return 0;
}
