/*
 * ACPI tables for the guest: RSDP, XSDT, FADT (power-off through PM1a_CNT,
 * reset register), MADT (one local APIC per vCPU, the IOAPIC, ISA interrupt
 * overrides), DSDT (COM1, the pvpanic device, \_S5).
 *
 * Built in host memory by a pure function so that it can be unit-tested
 * without a VM; the caller copies the result to KZ_GPA_ACPI.
 */
#ifndef KZ_VMM_ACPI_H
#define KZ_VMM_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define VMM_ACPI_MAX_MMIO 32

/* A virtio-mmio device: _HID LNRO0005, one memory range, one edge GSI. */
struct vmm_acpi_mmio {
	uint64_t base;
	uint64_t size;
	unsigned irq;
};

struct vmm_acpi_config {
	unsigned ncpus;		/* local APIC ids 0..ncpus-1 */
	uint64_t base_gpa;	/* where buf will live in the guest */
	unsigned nmmio;
	struct vmm_acpi_mmio mmio[VMM_ACPI_MAX_MMIO];
};

/*
 * Write the tables into buf (len bytes, which will sit at cfg->base_gpa).
 * The RSDP is placed at base_gpa (16-byte aligned, inside the legacy
 * 0xE0000-0xFFFFF scan area when base_gpa is KZ_GPA_ACPI).  Returns the
 * number of bytes used, or -ENOSPC / -EINVAL.
 */
long vmm_acpi_build(const struct vmm_acpi_config *cfg, uint8_t *buf,
		    size_t len);

#endif
