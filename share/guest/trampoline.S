/*
 * AP trampoline: copied by smp.c to KZ_TRAMPOLINE (a low page, so that a
 * SIPI vector can name it) and entered in real mode at CS:IP = 0x0800:0.
 *
 * It only gets to flat 32-bit protected mode and then joins the BSP's path
 * at enter_long_mode32 (entry.S) with %edi = 0xffffffff, which sends it to
 * ap_entry64 once it is in long mode at the higher half.  Addresses inside
 * the copy are computed from KZ_TRAMPOLINE, not from where the assembler
 * put this code (it is never executed in place: it lives in .rodata).
 */
#include "kzguest.h"

#define PHYS(x)		((x) - KZ_KERNBASE)
#define T(x)		(KZ_TRAMPOLINE + ((x) - kz_trampoline))

	.section .rodata
	.globl kz_trampoline, kz_trampoline_end
	.code16
kz_trampoline:
	cli
	cld
	xorw	%ax, %ax
	movw	%ax, %ds
	lgdtl	T(tramp_gdtr)
	movl	%cr0, %eax
	orl	$1, %eax		/* PE */
	movl	%eax, %cr0
	ljmpl	$KZ_SEL_CODE32, $T(tramp32)

	.code32
tramp32:
	movl	$KZ_SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	$0xffffffff, %edi
	movl	$PHYS(enter_long_mode32), %eax
	jmp	*%eax

	.balign 8
tramp_gdtr:
	.word 31
	.long PHYS(boot_gdt)
kz_trampoline_end:
	.code64
