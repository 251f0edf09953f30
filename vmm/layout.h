/*
 * Guest-physical layout of a kzones machine.
 *
 * One place for every fixed address the VMM, the boot loaders, the ACPI
 * builder and the devices agree on.  RAM starts at 0 and runs up to the
 * 32-bit MMIO hole; whatever does not fit below the hole continues at
 * 4 GiB.  The legacy area 0xA0000-0xFFFFF is backed by RAM but reported as
 * reserved, so that scanners looking for the RSDP there find it.
 */
#ifndef KZ_VMM_LAYOUT_H
#define KZ_VMM_LAYOUT_H

#define KZ_GPA_ZERO_PAGE	0x7000ULL	/* Linux boot_params */
#define KZ_GPA_PVH_INFO		0x6000ULL	/* PVH hvm_start_info + memmap */
#define KZ_GPA_BOOT_GDT		0x5000ULL	/* GDT for the boot vCPU */
#define KZ_GPA_BOOT_PML4	0x9000ULL	/* identity page tables for 64-bit entry */
#define KZ_GPA_BOOT_PDPT	0xA000ULL
#define KZ_GPA_BOOT_PD		0xB000ULL	/* 4 pages: identity 0-4 GiB, 2 MiB pages */
#define KZ_GPA_CMDLINE		0x20000ULL
#define KZ_CMDLINE_MAX		0x10000ULL	/* 64 KiB, up to KZ_GPA_ACPI */
#define KZ_GPA_EBDA		0x9FC00ULL	/* first byte not reported usable */
#define KZ_GPA_LEGACY_START	0xA0000ULL
#define KZ_GPA_ACPI		0xE0000ULL	/* RSDP and tables: 0xE0000-0xFFFFF */
#define KZ_ACPI_MAX		0x20000ULL
#define KZ_GPA_HIGH_RAM		0x100000ULL	/* kernels load at or above 1 MiB */
#define KZ_GPA_MMIO_HOLE	0xC0000000ULL	/* 3 GiB: RAM above moves to 4 GiB */
#define KZ_GPA_4G		0x100000000ULL

/*
 * virtio-mmio devices: one 4 KiB slot each from KZ_GPA_VIRTIO (the
 * transport's registers and config space fill the first 0x200 bytes).
 * Slots are fixed by kind and id, so a disk's address in the guest
 * depends on its id only; interrupt lines are handed out in slot order
 * from KZ_VIRTIO_IRQS, edge-triggered.
 */
#define KZ_GPA_VIRTIO		0xD0000000ULL
#define KZ_VIRTIO_STRIDE	0x1000ULL
#define KZ_VIRTIO_SIZE		0x200ULL
#define KZ_VIRTIO_SLOT_CONSOLE	0
#define KZ_VIRTIO_SLOT_DISK	1	/* disk id N: slot 1 + N, N < 16 */
#define KZ_VIRTIO_SLOT_NET	17	/* net id N: slot 17 + N, N < 8 */
#define KZ_VIRTIO_IRQS	{ 5, 6, 7, 10, 11, 12, 13, 14, 15, \
			  16, 17, 18, 19, 20, 21, 22, 23 }

#define KZ_GPA_IOAPIC		0xFEC00000ULL
#define KZ_GPA_LAPIC		0xFEE00000ULL

/* Port I/O of the board (see vmm/board.c). */
#define KZ_PORT_COM1		0x3F8
#define KZ_IRQ_COM1		4
#define KZ_PORT_I8042_DATA	0x60
#define KZ_PORT_I8042_CMD	0x64
#define KZ_PORT_RTC		0x70
#define KZ_IRQ_RTC		8
#define KZ_PORT_PVPANIC		0x505
#define KZ_PORT_ACPI_PM1A_EVT	0x600	/* 4 bytes: status, enable */
#define KZ_PORT_ACPI_PM1A_CNT	0x604	/* 2 bytes: SLP_TYP | SLP_EN */
#define KZ_PORT_ACPI_RESET	0xCF9	/* FADT reset register, value 0x06 */
#define KZ_ACPI_RESET_VALUE	0x06
#define KZ_IRQ_ACPI_SCI		9
#define KZ_ACPI_S5_SLP_TYP	5	/* \_S5 package value */
#define KZ_PORT_DEBUG_EXIT	0xF4	/* QEMU isa-debug-exit compatible */

#endif
