/*
 * Interrupt and exception entry stubs.
 *
 * Each stub makes the stack look the same (an error code, 0 when the CPU
 * pushes none, then the vector), trap_common saves the general registers in
 * the order of struct kz_trapframe and calls kz_trap().  Everything runs in
 * ring 0 on the current stack: no TSS, no IST, no swapgs.
 * kz_vector_table lists (vector, stub) pairs for trap.c to build the IDT.
 */
#include "kzguest.h"

	.section .text
	.altmacro

.macro STUB n, err
	.globl vec_\n
vec_\n:
	.if \err == 0
	pushq	$0
	.endif
	pushq	$\n
	jmp	trap_common
	.pushsection .rodata
	.quad	\n, vec_\n
	.popsection
.endm

	.pushsection .rodata
	.balign 8
	.globl kz_vector_table
kz_vector_table:
	.popsection

	/* Exceptions that push an error code: 8, 10-14, 17, 21, 29, 30. */
	.set i, 0
	.rept 32
	.if i == 8 || (i >= 10 && i <= 14) || i == 17 || i == 21 || i == 29 || i == 30
	STUB %i, 1
	.else
	STUB %i, 0
	.endif
	.set i, i + 1
	.endr
	STUB %KZ_VEC_TIMER, 0
	STUB %KZ_VEC_UART, 0
	STUB %KZ_VEC_SCI, 0
	STUB %KZ_VEC_VIRTIO, 0
	STUB %KZ_VEC_SPURIOUS, 0

	.pushsection .rodata
	.globl kz_vector_table_end
kz_vector_table_end:
	.popsection

trap_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, %rdi
	cld
	call	kz_trap
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp		/* vector, error code */
	iretq
