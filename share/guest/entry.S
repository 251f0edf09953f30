/*
 * PVH entry: from 32-bit protected mode, paging off, to kz_main() in long
 * mode at the higher half.
 *
 * The Xen PVH ABI hands us %ebx = physical address of struct
 * hvm_start_info, flat 32-bit segments, paging off, interrupts off, and no
 * stack.  Everything here runs at the physical address the image was loaded
 * at (virtual - KZ_KERNBASE) until paging is on, so every symbol reference
 * before the jump to the higher half subtracts KZ_KERNBASE.
 *
 * The page tables are built by the assembler into .data rather than by a
 * loop at run time: on hosts whose KVM emulates ring-0 code one instruction
 * at a time, filling 2048 entries would cost milliseconds; loading a
 * prebuilt table costs nothing.  They map, with 2 MiB pages:
 *   0 - 4 GiB  at 0                 (identity: the switch to long mode and
 *                                     the AP trampoline need it)
 *   0 - 4 GiB  at KZ_DIRECTMAP      (the kernel's view of physical memory)
 *   0 - 2 GiB  at KZ_KERNBASE       (the kernel image, -mcmodel=kernel)
 * The top 1 GiB of the 4 GiB (MMIO: IOAPIC, LAPIC, ...) is mapped uncached.
 * smp.c and pvh.c reuse boot_pml4 for the APs and extend the direct map
 * above 4 GiB (1 GiB pages, or 2 MiB pages in allocated directories).
 */
#include "kzguest.h"

#define PHYS(x)		((x) - KZ_KERNBASE)
#define PTE_P		0x001
#define PTE_W		0x002
#define PTE_PWT		0x008
#define PTE_PCD		0x010
#define PTE_PS		0x080

#define XEN_ELFNOTE_PHYS32_ENTRY 18

/*
 * The PVH note.  The descriptor is 8 bytes with the upper half zero, so
 * that loaders reading either 4 bytes (the ABI's 32-bit address) or a
 * pointer-sized value (QEMU for 64-bit ELF files) find the same entry.
 */
	.section .note.Xen, "a"
	.balign 4
	.long 4f - 3f		/* namesz */
	.long 6f - 5f		/* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
3:	.asciz "Xen"
4:	.balign 4
5:	.quad PHYS(pvh_start32)
6:	.balign 4

	.section .text.boot, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	movl	%ebx, %esi		/* start_info: survives to kz_main */
	xorl	%edi, %edi		/* not an AP (see ap_entry64) */
	lgdt	PHYS(boot_gdtr32)
	movl	$KZ_SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	ljmp	$KZ_SEL_CODE32, $PHYS(1f)
1:
	/* Also entered by the AP trampoline, in the same state minus %esi. */
	.globl enter_long_mode32
enter_long_mode32:
	movl	%cr4, %eax
	orl	$0x20, %eax		/* PAE */
	movl	%eax, %cr4
	movl	$PHYS(boot_pml4), %eax
	movl	%eax, %cr3
	movl	$0xc0000080, %ecx	/* EFER */
	rdmsr
	orl	$0x100, %eax		/* LME */
	wrmsr
	movl	%cr0, %eax
	orl	$0x80010001, %eax	/* PG | WP | PE */
	movl	%eax, %cr0
	ljmp	$KZ_SEL_CODE64, $PHYS(start64)

	.code64
start64:	/* Long mode, still at the identity address: go to the higher half. */
	movabsq	$start64_high, %rax
	jmp	*%rax
start64_high:
	lgdt	boot_gdtr64(%rip)
	movl	$KZ_SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	xorl	%eax, %eax
	movl	%eax, %fs
	movl	%eax, %gs
	/* An AP arrives with %edi = 0xffffffff (set by the trampoline). */
	cmpl	$0xffffffff, %edi
	je	ap_entry64

	leaq	boot_stack_top(%rip), %rsp
	/* .bss is not cleared here: it is the zero-filled tail (p_memsz past
	 * p_filesz) of our PT_LOAD segment, which an ELF loader must zero and
	 * PVH loaders do (kzhost, QEMU, Xen), on every boot and reboot.
	 * Clearing its 28 KiB again cost 2 ms where KVM emulates guest code. */
	movl	%esi, %edi		/* zero-extends: start_info physical */
	xorl	%ebp, %ebp		/* ends frame-pointer backtraces */
	pushq	$0
	call	kz_main
bsp_halt:
	cli
	hlt
	jmp	bsp_halt

/*
 * APs: find our stack in kz_ap_stacks[] by initial APIC id (CPUID leaf 1),
 * which smp.c filled in before sending the SIPI.  Many APs may run this at
 * once; nothing here is shared but read-only data.
 */
ap_entry64:
	movl	$1, %eax
	xorl	%ecx, %ecx
	cpuid
	shrl	$24, %ebx
	leaq	kz_ap_stacks(%rip), %rax
	movq	(%rax, %rbx, 8), %rsp
	testq	%rsp, %rsp
	jz	5f			/* not ours to start: park */
	xorl	%ebp, %ebp
	pushq	$0
	jmp	ap_main
5:	cli
	hlt
	jmp	5b

	.section .data
	.balign 16
	.globl boot_gdt
boot_gdt:
	.quad 0					/* null */
	.quad 0x00af9a000000ffff		/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff		/* 0x10: data */
	.quad 0x00cf9a000000ffff		/* 0x18: 32-bit code */
boot_gdt_end:

	/* lgdt from 32-bit code reads a 32-bit base: the physical one. */
	.balign 8
	.globl boot_gdtr32
boot_gdtr32:
	.word boot_gdt_end - boot_gdt - 1
	.long PHYS(boot_gdt)
	.balign 8
boot_gdtr64:
	.word boot_gdt_end - boot_gdt - 1
	.quad boot_gdt

/* Filled by smp.c: stack top per initial APIC id (0 = do not start). */
	.balign 8
	.globl kz_ap_stacks
kz_ap_stacks:
	.fill 256, 8, 0

	.balign 4096
	.globl boot_pml4
boot_pml4:
	.quad PHYS(boot_pdpt_low) + PTE_P + PTE_W	/* 0: identity */
	.fill 255, 8, 0
	.quad PHYS(boot_pdpt_low) + PTE_P + PTE_W	/* 256: direct map */
	.fill 254, 8, 0
	.quad PHYS(boot_pdpt_high) + PTE_P + PTE_W	/* 511: kernel */

	/* 0 - 4 GiB; entries 4.. are filled in by kz_mem_init (pvh.c). */
	.balign 4096
	.globl boot_pdpt_low
boot_pdpt_low:
	.quad PHYS(boot_pd) + 0x0000 + PTE_P + PTE_W
	.quad PHYS(boot_pd) + 0x1000 + PTE_P + PTE_W
	.quad PHYS(boot_pd) + 0x2000 + PTE_P + PTE_W
	.quad PHYS(boot_pd) + 0x3000 + PTE_P + PTE_W
	.fill 508, 8, 0

	/* -2 GiB: physical 0 - 2 GiB. */
	.balign 4096
boot_pdpt_high:
	.fill 510, 8, 0
	.quad PHYS(boot_pd) + 0x0000 + PTE_P + PTE_W
	.quad PHYS(boot_pd) + 0x1000 + PTE_P + PTE_W

	/* 2048 x 2 MiB = 4 GiB; above 3 GiB is the MMIO hole: uncached. */
	.balign 4096
boot_pd:
	.set pa, 0
	.rept 2048
	.if pa >= 0xc0000000
	.quad pa + PTE_P + PTE_W + PTE_PS + PTE_PCD + PTE_PWT
	.else
	.quad pa + PTE_P + PTE_W + PTE_PS
	.endif
	.set pa, pa + 0x200000
	.endr

	.section .bss
	.balign 16
boot_stack:
	.skip 16384
boot_stack_top:
