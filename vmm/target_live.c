/*
 * The live backend of the target API: a running machine inside kzhost.
 *
 * Registers are read and written with the vCPU ioctls, which KVM only
 * serves while the vCPU is outside KVM_RUN, so every register operation
 * requires the machine paused (-EBUSY otherwise).  Physical memory goes
 * through the memory map's bounds checks.  Run control (stop, resume,
 * step, breakpoints, events) is vmm/debugctl.c's.
 */
#include "target_live.h"
#include "debugctl.h"
#include "target.h"
#include "vm.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#define MSR_FS_BASE		0xC0000100
#define MSR_GS_BASE		0xC0000101
#define MSR_KERNEL_GS_BASE	0xC0000102

static struct vmm_vm *live_vm(struct kz_target *t)
{
	return t->priv;
}

static unsigned live_ncpus(struct kz_target *t)
{
	return live_vm(t)->ncpus;
}

/* The vCPU fd, if cpu exists and the machine is paused. */
static int live_vcpu_fd(struct kz_target *t, unsigned cpu)
{
	struct vmm_vm *vm = live_vm(t);
	if (cpu >= vm->ncpus || vm->vcpus[cpu].fd < 0)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	bool quiet = vm->pause_depth > 0 || vm->stop != VMM_STOP_NONE;
	pthread_mutex_unlock(&vm->lock);
	return quiet ? vm->vcpus[cpu].fd : -EBUSY;
}

static uint16_t seg_attr(const struct kvm_segment *s)
{
	return (uint16_t)(s->type | (s->s << 4) | (s->dpl << 5) |
			  (s->present << 7) | (s->avl << 12) | (s->l << 13) |
			  (s->db << 14) | (s->g << 15));
}

static void seg_to_kz(struct kz_seg *d, const struct kvm_segment *s)
{
	d->base = s->base;
	d->limit = s->limit;
	d->selector = s->selector;
	d->attr = seg_attr(s);
}

static void seg_from_kz(struct kvm_segment *d, const struct kz_seg *s)
{
	d->base = s->base;
	d->limit = s->limit;
	d->selector = s->selector;
	d->type = s->attr & 0xF;
	d->s = (s->attr >> 4) & 1;
	d->dpl = (s->attr >> 5) & 3;
	d->present = (s->attr >> 7) & 1;
	d->avl = (s->attr >> 12) & 1;
	d->l = (s->attr >> 13) & 1;
	d->db = (s->attr >> 14) & 1;
	d->g = (s->attr >> 15) & 1;
	d->unusable = !d->present;
}

struct msr_set {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[3];
};

static const uint32_t base_msrs[3] = { MSR_FS_BASE, MSR_GS_BASE,
				       MSR_KERNEL_GS_BASE };

static int live_fetch(struct kz_target *t, unsigned cpu,
		      struct vmm_regcache *out)
{
	struct vmm_vm *vm = live_vm(t);
	if (cpu >= vm->ncpus || vm->vcpus[cpu].fd < 0)
		return -EINVAL;
	return vmm_vcpu_regs(&vm->vcpus[cpu], out);
}

static int live_get_regs(struct kz_target *t, unsigned cpu, struct kz_regs *r)
{
	struct vmm_regcache c;
	int rc = live_fetch(t, cpu, &c);
	if (rc)
		return rc;
	const struct kvm_regs *g = &c.g;
	const struct kvm_sregs *s = &c.s;
	const struct kvm_debugregs *d = &c.d;
	memset(r, 0, sizeof(*r));
	r->rax = g->rax; r->rbx = g->rbx; r->rcx = g->rcx; r->rdx = g->rdx;
	r->rsi = g->rsi; r->rdi = g->rdi; r->rbp = g->rbp; r->rsp = g->rsp;
	r->r8 = g->r8; r->r9 = g->r9; r->r10 = g->r10; r->r11 = g->r11;
	r->r12 = g->r12; r->r13 = g->r13; r->r14 = g->r14; r->r15 = g->r15;
	r->rip = g->rip; r->rflags = g->rflags;
	seg_to_kz(&r->cs, &s->cs); seg_to_kz(&r->ds, &s->ds);
	seg_to_kz(&r->es, &s->es); seg_to_kz(&r->fs, &s->fs);
	seg_to_kz(&r->gs, &s->gs); seg_to_kz(&r->ss, &s->ss);
	seg_to_kz(&r->tr, &s->tr); seg_to_kz(&r->ldtr, &s->ldt);
	r->gdt.base = s->gdt.base; r->gdt.limit = s->gdt.limit;
	r->idt.base = s->idt.base; r->idt.limit = s->idt.limit;
	r->cr0 = s->cr0; r->cr2 = s->cr2; r->cr3 = s->cr3; r->cr4 = s->cr4;
	r->cr8 = s->cr8; r->efer = s->efer; r->apic_base = s->apic_base;
	r->fs_base = c.msr[VMM_MSR_FS_BASE];
	r->gs_base = c.msr[VMM_MSR_GS_BASE];
	r->kernel_gs_base = c.msr[VMM_MSR_KERNEL_GS_BASE];
	for (unsigned i = 0; i < 4; i++)
		r->dr[i] = d->db[i];
	r->dr[6] = d->dr6;
	r->dr[7] = d->dr7;
	return 0;
}

static int live_set_regs(struct kz_target *t, unsigned cpu,
			 const struct kz_regs *r)
{
	struct kvm_regs g;
	struct kvm_sregs s;
	struct kvm_debugregs d;
	struct msr_set m = { .hdr.nmsrs = 3 };
	int fd = live_vcpu_fd(t, cpu);
	if (fd < 0)
		return fd;
	vmm_vcpu_regs_forget(&live_vm(t)->vcpus[cpu]);
	/* Start from the current sregs: they carry the interrupt bitmap. */
	if (ioctl(fd, KVM_GET_SREGS, &s) < 0 ||
	    ioctl(fd, KVM_GET_DEBUGREGS, &d) < 0)
		return -errno;
	g = (struct kvm_regs){
		.rax = r->rax, .rbx = r->rbx, .rcx = r->rcx, .rdx = r->rdx,
		.rsi = r->rsi, .rdi = r->rdi, .rbp = r->rbp, .rsp = r->rsp,
		.r8 = r->r8, .r9 = r->r9, .r10 = r->r10, .r11 = r->r11,
		.r12 = r->r12, .r13 = r->r13, .r14 = r->r14, .r15 = r->r15,
		.rip = r->rip, .rflags = r->rflags,
	};
	seg_from_kz(&s.cs, &r->cs); seg_from_kz(&s.ds, &r->ds);
	seg_from_kz(&s.es, &r->es); seg_from_kz(&s.fs, &r->fs);
	seg_from_kz(&s.gs, &r->gs); seg_from_kz(&s.ss, &r->ss);
	seg_from_kz(&s.tr, &r->tr); seg_from_kz(&s.ldt, &r->ldtr);
	s.gdt.base = r->gdt.base; s.gdt.limit = r->gdt.limit;
	s.idt.base = r->idt.base; s.idt.limit = r->idt.limit;
	s.cr0 = r->cr0; s.cr2 = r->cr2; s.cr3 = r->cr3; s.cr4 = r->cr4;
	s.cr8 = r->cr8; s.efer = r->efer; s.apic_base = r->apic_base;
	for (unsigned i = 0; i < 4; i++)
		d.db[i] = r->dr[i];
	d.dr6 = r->dr[6];
	d.dr7 = r->dr[7];
	const uint64_t vals[3] = { r->fs_base, r->gs_base, r->kernel_gs_base };
	for (unsigned i = 0; i < 3; i++) {
		m.e[i].index = base_msrs[i];
		m.e[i].data = vals[i];
	}
	if (ioctl(fd, KVM_SET_REGS, &g) < 0 || ioctl(fd, KVM_SET_SREGS, &s) < 0 ||
	    ioctl(fd, KVM_SET_DEBUGREGS, &d) < 0)
		return -errno;
	return ioctl(fd, KVM_SET_MSRS, &m) == 3 ? 0 : -EIO;
}

static int live_get_fpu(struct kz_target *t, unsigned cpu, struct kz_fpu *f)
{
	struct kvm_xsave x;
	int fd = live_vcpu_fd(t, cpu);
	if (fd < 0)
		return fd;
	if (ioctl(fd, KVM_GET_XSAVE, &x) < 0)
		return -errno;
	_Static_assert(sizeof(x.region) <= KZ_XSAVE_MAX, "xsave area");
	f->size = sizeof(x.region);
	memcpy(f->xsave, x.region, sizeof(x.region));
	/* XCR0 in the software bytes, as Linux's NT_X86_XSTATE has it. */
	struct kvm_xcrs xcrs;
	if (ioctl(fd, KVM_GET_XCRS, &xcrs) == 0)
		for (unsigned i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++)
			if (xcrs.xcrs[i].xcr == 0)
				memcpy(f->xsave + KZ_XSAVE_XCR0_OFF,
				       &xcrs.xcrs[i].value, 8);
	return 0;
}

static int live_set_fpu(struct kz_target *t, unsigned cpu,
			const struct kz_fpu *f)
{
	struct kvm_xsave x;
	int fd = live_vcpu_fd(t, cpu);
	if (fd < 0)
		return fd;
	if (f->size != sizeof(x.region))
		return -EINVAL;
	memcpy(x.region, f->xsave, sizeof(x.region));
	return ioctl(fd, KVM_SET_XSAVE, &x) < 0 ? -errno : 0;
}

static int live_read_phys(struct kz_target *t, uint64_t pa, void *buf,
			  size_t len)
{
	return vmm_mem_read(&live_vm(t)->mem, pa, buf, len);
}

static int live_write_phys(struct kz_target *t, uint64_t pa, const void *buf,
			   size_t len)
{
	return vmm_mem_write(&live_vm(t)->mem, pa, buf, len);
}

static int live_stop(struct kz_target *t)
{
	return vmm_dbg_stop(live_vm(t));
}

static int live_resume(struct kz_target *t)
{
	return vmm_dbg_resume(live_vm(t));
}

static int live_step(struct kz_target *t, unsigned cpu)
{
	return vmm_dbg_step(live_vm(t), cpu);
}

/* Debug-register R/W field for a breakpoint kind. */
static int hw_type(enum kz_break_kind kind)
{
	switch (kind) {
	case KZ_BREAK_HW_EXEC: return 0;
	case KZ_BREAK_HW_WRITE: return 1;
	case KZ_BREAK_HW_ACCESS: return 3;
	default: return -1;
	}
}

static int live_set_break(struct kz_target *t, enum kz_break_kind kind,
			  uint64_t addr, unsigned len)
{
	struct vmm_vm *vm = live_vm(t);
	if (kind == KZ_BREAK_SW) {
		/* Planted by physical address: works with paging on or off. */
		struct kz_xlate x;
		int rc = kz_target_translate(t, 0, addr, &x);
		if (rc)
			return rc;
		return vmm_dbg_set_sw(vm, addr, x.pa);
	}
	int type = hw_type(kind);
	if (type < 0)
		return -EINVAL;
	return vmm_dbg_set_hw(vm, addr, (unsigned)type, type ? len : 1);
}

static int live_clear_break(struct kz_target *t, enum kz_break_kind kind,
			    uint64_t addr, unsigned len)
{
	struct vmm_vm *vm = live_vm(t);
	if (kind == KZ_BREAK_SW)
		return vmm_dbg_clear_sw(vm, addr);
	int type = hw_type(kind);
	if (type < 0)
		return -EINVAL;
	return vmm_dbg_clear_hw(vm, addr, (unsigned)type, type ? len : 1);
}

static int live_wait_event(struct kz_target *t, struct kz_event *ev,
			   int timeout_ms)
{
	struct vmm_vm *vm = live_vm(t);
	enum vmm_dbg_event e;
	unsigned cpu;
	uint64_t addr;
	int rc = vmm_dbg_wait(vm, &e, &cpu, &addr, timeout_ms);
	if (rc == -EPIPE) {
		/* The machine stopped on its own: say how. */
		pthread_mutex_lock(&vm->lock);
		enum vmm_stop_reason why = vm->stop;
		pthread_mutex_unlock(&vm->lock);
		ev->kind = why == VMM_STOP_PANIC ? KZ_EVENT_PANIC
						  : KZ_EVENT_POWEROFF;
		ev->cpu = 0;
		ev->addr = 0;
		return 0;
	}
	if (rc)
		return rc;
	static const enum kz_event_kind map[] = {
		[VMM_DBG_NONE] = KZ_EVENT_NONE,
		[VMM_DBG_BREAK] = KZ_EVENT_BREAK,
		[VMM_DBG_STEP] = KZ_EVENT_STEP,
		[VMM_DBG_WATCH] = KZ_EVENT_WATCH,
		[VMM_DBG_STOPPED] = KZ_EVENT_STOPPED,
	};
	ev->kind = map[e];
	ev->cpu = cpu;
	ev->addr = addr;
	return 0;
}

static const struct kz_target_ops live_ops = {
	.name = "live",
	.ncpus = live_ncpus,
	.get_regs = live_get_regs,
	.set_regs = live_set_regs,
	.get_fpu = live_get_fpu,
	.set_fpu = live_set_fpu,
	.read_phys = live_read_phys,
	.write_phys = live_write_phys,
	.stop = live_stop,
	.resume = live_resume,
	.step = live_step,
	.set_break = live_set_break,
	.clear_break = live_clear_break,
	.wait_event = live_wait_event,
};

void vmm_target_live_init(struct kz_target *t, struct vmm_vm *vm)
{
	t->ops = &live_ops;
	t->priv = vm;
}
