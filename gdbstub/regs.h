/*
 * The registers gdb sees: one table gives both the target description XML
 * (qXfer:features:read) and the byte layout of g/G/p/P, so the two cannot
 * drift apart.  Pure conversions between struct kz_regs / struct kz_fpu and
 * gdb's little-endian register bytes; never touches a target.
 */
#ifndef KZ_GDBSTUB_REGS_H
#define KZ_GDBSTUB_REGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kz_regs;
struct kz_fpu;

/* Number of registers in the description, and bytes of a 'g' reply. */
unsigned gdb_reg_count(void);
size_t gdb_regs_size(void);
/* Bytes of register n (0 when n is out of range). */
unsigned gdb_reg_size(unsigned n);
const char *gdb_reg_name(unsigned n);
/* Is register n part of the FPU/XSAVE state (needs get_fpu)? */
bool gdb_reg_is_fpu(unsigned n);

/* Register n into out (gdb_reg_size(n) bytes). */
void gdb_reg_get(unsigned n, const struct kz_regs *r, const struct kz_fpu *f,
		 uint8_t *out);
/* Register n from in; -EINVAL for a value the CPU cannot hold. */
int gdb_reg_set(unsigned n, struct kz_regs *r, struct kz_fpu *f,
		const uint8_t *in);

/* The whole target description, NUL-terminated, built once. */
const char *gdb_target_xml(size_t *len);

#endif
