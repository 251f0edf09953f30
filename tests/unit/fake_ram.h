/*
 * Guest-physical memory of a fake target, for tests and fuzz targets of
 * code above the target API: RAM bytes at ram, bounds-checked like a real
 * backend (-EFAULT outside).  Define RAM and ram before including this.
 */
#ifndef KZ_TESTS_FAKE_RAM_H
#define KZ_TESTS_FAKE_RAM_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "target.h"

static int fake_ram_read(struct kz_target *t, uint64_t pa, void *buf,
			 size_t len)
{
	(void)t;
	if (pa > RAM || len > RAM - pa)
		return -EFAULT;
	memcpy(buf, ram + pa, len);
	return 0;
}

static int fake_ram_write(struct kz_target *t, uint64_t pa, const void *buf,
			  size_t len)
{
	(void)t;
	if (pa > RAM || len > RAM - pa)
		return -EFAULT;
	memcpy(ram + pa, buf, len);
	return 0;
}

#endif
