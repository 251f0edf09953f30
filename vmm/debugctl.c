/*
 * Run control for debuggers: breakpoints, single-step and stop events,
 * on top of the machine's pause mechanism (vm.c, vcpu.c).
 *
 * A debug event (breakpoint, step, watchpoint, or the debugger's own stop)
 * stops every vCPU and leaves the machine "stopped": one pause reference
 * held by the debugger until vmm_dbg_resume.  While stopped, one vCPU can
 * be let through KVM_RUN for a single instruction (step_pending).
 *
 * Software breakpoints are int3 bytes written into guest RAM by physical
 * address, so they work with paging on or off.  On hosts whose KVM
 * emulates guest code (kvm_pvm), int3 ends KVM_RUN with an internal error
 * at the breakpoint address instead of KVM_EXIT_DEBUG; vcpu.c hands such an
 * exit here when a breakpoint is planted at that address.  Resuming from
 * a breakpoint steps the vCPU over the original instruction first.
 *
 * Called by: target_live.c (the target API) and vcpu.c (exits).
 */
#include "debugctl.h"
#include "vcpu.h"

#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <linux/kvm.h>

#define DR6_BS		(1u << 14)
#define STEP_TIMEOUT_MS	5000

static uint64_t dr7_of(const struct vmm_debug *d)
{
	static const unsigned len_bits[9] = { 0, 0, 1, 0, 3, 0, 0, 0, 2 };
	uint64_t dr7 = 0;
	for (unsigned i = 0; i < 4; i++) {
		if (!d->hw[i].used)
			continue;
		dr7 |= 1ULL << (i * 2);	/* local enable */
		dr7 |= (uint64_t)(d->hw[i].type & 3) << (16 + i * 4);
		dr7 |= (uint64_t)len_bits[d->hw[i].len & 15] << (18 + i * 4);
	}
	return dr7;
}

int vmm_dbg_apply(struct vmm_vcpu *v, bool step)
{
	struct vmm_debug *d = &v->vm->dbg;
	struct kvm_guest_debug g;
	bool any_sw = false, any_hw = false;

	memset(&g, 0, sizeof(g));
	for (unsigned i = 0; i < VMM_MAX_SWBP; i++)
		any_sw |= d->sw[i].used;
	for (unsigned i = 0; i < 4; i++) {
		any_hw |= d->hw[i].used;
		g.arch.debugreg[i] = d->hw[i].addr;
	}
	g.arch.debugreg[7] = dr7_of(d);
	if (any_sw || any_hw || step || d->stopped)
		g.control = KVM_GUESTDBG_ENABLE;
	if (any_sw)
		g.control |= KVM_GUESTDBG_USE_SW_BP;
	if (any_hw)
		g.control |= KVM_GUESTDBG_USE_HW_BP;
	/*
	 * A step runs the next instruction, not the timer interrupt that
	 * happens to be due (gdb and kmdb users expect that; QEMU does the
	 * same by default).
	 */
	if (step)
		g.control |= KVM_GUESTDBG_SINGLESTEP | d->step_extra;
	if (v->dbg_applied_valid && !memcmp(&g, &v->dbg_applied, sizeof(g)))
		return 0;
	if (ioctl(v->fd, KVM_SET_GUEST_DEBUG, &g) < 0) {
		v->dbg_applied_valid = false;
		return -errno;
	}
	v->dbg_applied = g;
	v->dbg_applied_valid = true;
	return 0;
}

/* Stop the machine for the debugger, if it is not stopped yet.  Locked. */
static void stop_locked(struct vmm_vm *vm)
{
	if (vm->dbg.stopped)
		return;
	vm->dbg.stopped = true;
	if (vm->pause_depth++ == 0) {
		for (unsigned i = 0; i < vm->ncpus; i++)
			if (vm->vcpus[i].thread_started)
				pthread_kill(vm->vcpus[i].thread,
					     vmm_vcpu_signal());
		vmm_vm_devices_pause_locked(vm, true);
	}
}

void vmm_dbg_event(struct vmm_vcpu *v, enum vmm_dbg_event ev, uint64_t addr)
{
	struct vmm_vm *vm = v->vm;
	pthread_mutex_lock(&vm->lock);
	if (vm->dbg.event == VMM_DBG_NONE || vm->dbg.event == VMM_DBG_STOPPED) {
		vm->dbg.event = ev;
		vm->dbg.event_cpu = v->id;
		vm->dbg.event_addr = addr;
	}
	stop_locked(vm);
	/*
	 * A finished step wakes nobody yet: this thread parks next (the
	 * machine is stopped), and the park's broadcast tells the stepper
	 * and any event waiter at once, instead of waking them twice.
	 */
	if (ev == VMM_DBG_STEP && v->step_pending)
		v->step_pending = false;
	else
		pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

bool vmm_dbg_is_swbp(struct vmm_vm *vm, uint64_t vaddr)
{
	bool hit = false;
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < VMM_MAX_SWBP; i++)
		if (vm->dbg.sw[i].used && vm->dbg.sw[i].vaddr == vaddr)
			hit = true;
	pthread_mutex_unlock(&vm->lock);
	return hit;
}

void vmm_dbg_exit(struct vmm_vcpu *v)
{
	struct kvm_debug_exit_arch *a = &v->run->debug.arch;
	struct vmm_debug *d = &v->vm->dbg;

	if (v->step_pending && (a->dr6 & DR6_BS || a->exception == 1)) {
		vmm_dbg_event(v, VMM_DBG_STEP, a->pc);
		return;
	}
	if (a->exception == 3) {
		vmm_dbg_event(v, VMM_DBG_BREAK, a->pc);
		return;
	}
	for (unsigned i = 0; i < 4; i++) {
		if (!(a->dr6 & (1u << i)) || !d->hw[i].used)
			continue;
		vmm_dbg_event(v, d->hw[i].type ? VMM_DBG_WATCH : VMM_DBG_BREAK,
			      d->hw[i].type ? d->hw[i].addr : a->pc);
		return;
	}
	/* A step that finished without saying so (no BS bit): still a step. */
	vmm_dbg_event(v, v->step_pending ? VMM_DBG_STEP : VMM_DBG_BREAK, a->pc);
}

static bool is_stopped(struct vmm_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	bool s = vm->dbg.stopped;
	pthread_mutex_unlock(&vm->lock);
	return s;
}

/* Re-apply breakpoints to every vCPU (machine stopped: all are parked). */
static int apply_all(struct vmm_vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (vm->vcpus[i].fd < 0)
			continue;
		int rc = vmm_dbg_apply(&vm->vcpus[i], false);
		if (rc)
			return rc;
	}
	return 0;
}

int vmm_dbg_stop(struct vmm_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->dbg.stopped) {
		vm->dbg.event = VMM_DBG_STOPPED;
		vm->dbg.event_cpu = 0;
		vm->dbg.event_addr = 0;
	}
	stop_locked(vm);
	while (vm->nactive > 0 && vm->stop == VMM_STOP_NONE)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static int wait_step_done(struct vmm_vm *vm, struct vmm_vcpu *v)
{
	struct timespec until;
	int rc = 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STEP_TIMEOUT_MS / 1000;
	pthread_mutex_lock(&vm->lock);
	while (v->step_pending && vm->stop == VMM_STOP_NONE && rc == 0)
		rc = pthread_cond_timedwait(&vm->cond, &vm->lock, &until);
	if (v->step_pending) {
		/* Nothing ran (a halted vCPU with no interrupt due): give up. */
		v->step_pending = false;
		pthread_kill(v->thread, vmm_vcpu_signal());
		rc = -ETIMEDOUT;
	} else {
		rc = 0;
	}
	/* Back in the park before anyone touches its registers again. */
	while (!v->parked && vm->stop == VMM_STOP_NONE)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

int vmm_dbg_step(struct vmm_vm *vm, unsigned cpu)
{
	if (cpu >= vm->ncpus)
		return -EINVAL;
	if (!is_stopped(vm))
		return -EBUSY;
	struct vmm_vcpu *v = &vm->vcpus[cpu];
	int rc = vmm_dbg_apply(v, true);
	if (rc)
		return rc;
	pthread_mutex_lock(&vm->lock);
	v->step_pending = true;
	pthread_cond_signal(&v->wake);
	pthread_mutex_unlock(&vm->lock);
	/*
	 * Single-stepping stays set in KVM for the next step (gdb steps in
	 * runs); every way back to running goes through apply_all, which
	 * clears it (resume, release).
	 */
	return wait_step_done(vm, v);
}

static int find_sw(struct vmm_vm *vm, uint64_t vaddr)
{
	for (unsigned i = 0; i < VMM_MAX_SWBP; i++)
		if (vm->dbg.sw[i].used && vm->dbg.sw[i].vaddr == vaddr)
			return (int)i;
	return -1;
}

/* Remember the code around paddr as it is without any int3 of ours. */
static void keep_window(struct vmm_vm *vm, unsigned i, uint64_t paddr,
			uint8_t orig)
{
	struct vmm_debug *d = &vm->dbg;
	uint64_t pa = paddr >= 8 ? paddr - 8 : 0;
	d->sw[i].win_pa = pa;
	d->sw[i].win_len = sizeof(d->sw[i].win);
	if (vmm_mem_read(&vm->mem, pa, d->sw[i].win, d->sw[i].win_len)) {
		/* At the edge of RAM: the byte alone. */
		d->sw[i].win_pa = paddr;
		d->sw[i].win[0] = orig;
		d->sw[i].win_len = 1;
		return;
	}
	for (unsigned j = 0; j < VMM_MAX_SWBP; j++) {
		uint64_t p = d->sw[j].paddr;
		if ((d->sw[j].used || j == i) && p >= pa &&
		    p < pa + d->sw[i].win_len)
			d->sw[i].win[p - pa] = j == i ? orig : d->sw[j].orig;
	}
}

int vmm_dbg_set_sw(struct vmm_vm *vm, uint64_t vaddr, uint64_t paddr)
{
	static const uint8_t int3 = 0xCC;
	if (!is_stopped(vm))
		return -EBUSY;
	if (find_sw(vm, vaddr) >= 0)
		return 0;
	for (unsigned i = 0; i < VMM_MAX_SWBP; i++) {
		if (vm->dbg.sw[i].used)
			continue;
		uint8_t orig;
		if (vmm_mem_read(&vm->mem, paddr, &orig, 1) ||
		    vmm_mem_write(&vm->mem, paddr, &int3, 1))
			return -EFAULT;
		pthread_mutex_lock(&vm->lock);
		vm->dbg.sw[i].vaddr = vaddr;
		vm->dbg.sw[i].paddr = paddr;
		vm->dbg.sw[i].orig = orig;
		keep_window(vm, i, paddr, orig);
		vm->dbg.sw[i].used = true;
		pthread_mutex_unlock(&vm->lock);
		return apply_all(vm);
	}
	return -ENOSPC;
}

int vmm_dbg_clear_sw(struct vmm_vm *vm, uint64_t vaddr)
{
	if (!is_stopped(vm))
		return -EBUSY;
	int i = find_sw(vm, vaddr);
	if (i < 0)
		return -ENOENT;
	(void)vmm_mem_write(&vm->mem, vm->dbg.sw[i].paddr, &vm->dbg.sw[i].orig,
			    1);
	pthread_mutex_lock(&vm->lock);
	vm->dbg.sw[i].used = false;
	pthread_mutex_unlock(&vm->lock);
	return apply_all(vm);
}

int vmm_dbg_set_hw(struct vmm_vm *vm, uint64_t addr, unsigned type,
		   unsigned len)
{
	if (!is_stopped(vm))
		return -EBUSY;
	if ((type != 0 && type != 1 && type != 3) ||
	    (len != 1 && len != 2 && len != 4 && len != 8) ||
	    (type == 0 && len != 1) || (addr & (len - 1)))
		return -EINVAL;
	for (unsigned i = 0; i < 4; i++) {
		if (vm->dbg.hw[i].used)
			continue;
		pthread_mutex_lock(&vm->lock);
		vm->dbg.hw[i].used = true;
		vm->dbg.hw[i].addr = addr;
		vm->dbg.hw[i].type = type;
		vm->dbg.hw[i].len = len;
		pthread_mutex_unlock(&vm->lock);
		return apply_all(vm);
	}
	return -ENOSPC;		/* four debug registers, all in use */
}

int vmm_dbg_clear_hw(struct vmm_vm *vm, uint64_t addr, unsigned type,
		     unsigned len)
{
	if (!is_stopped(vm))
		return -EBUSY;
	for (unsigned i = 0; i < 4; i++) {
		struct vmm_debug *d = &vm->dbg;
		if (d->hw[i].used && d->hw[i].addr == addr &&
		    d->hw[i].type == type && d->hw[i].len == len) {
			pthread_mutex_lock(&vm->lock);
			d->hw[i].used = false;
			pthread_mutex_unlock(&vm->lock);
			return apply_all(vm);
		}
	}
	return -ENOENT;
}

/* Step every vCPU that sits on a planted int3 over its real instruction. */
static int step_off_breakpoints(struct vmm_vm *vm)
{
	static const uint8_t int3 = 0xCC;
	for (unsigned c = 0; c < vm->ncpus; c++) {
		struct vmm_regcache regs;
		if (vm->vcpus[c].fd < 0 || vmm_vcpu_regs(&vm->vcpus[c], &regs))
			continue;
		int i = find_sw(vm, regs.g.rip);
		if (i < 0)
			continue;
		uint64_t pa = vm->dbg.sw[i].paddr;
		(void)vmm_mem_write(&vm->mem, pa, &vm->dbg.sw[i].orig, 1);
		int rc = vmm_dbg_step(vm, c);
		(void)vmm_mem_write(&vm->mem, pa, &int3, 1);
		if (rc && rc != -ETIMEDOUT)
			return rc;
	}
	return 0;
}

int vmm_dbg_resume(struct vmm_vm *vm)
{
	if (!is_stopped(vm))
		return 0;
	int rc = step_off_breakpoints(vm);
	if (rc)
		return rc;
	pthread_mutex_lock(&vm->lock);
	vm->dbg.stopped = false;
	vm->dbg.event = VMM_DBG_NONE;
	pthread_mutex_unlock(&vm->lock);
	(void)apply_all(vm);
	vmm_vm_resume(vm);
	return 0;
}

int vmm_dbg_wait(struct vmm_vm *vm, enum vmm_dbg_event *ev, unsigned *cpu,
		 uint64_t *addr, int timeout_ms)
{
	struct timespec until;
	int rc = 0;
	if (timeout_ms >= 0) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += timeout_ms / 1000;
		until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&vm->lock);
	/* A reset is not an end: the machine reboots in place and the
	 * debugger waits on into the new boot (its breakpoints replanted). */
	while (vm->dbg.event == VMM_DBG_NONE &&
	       (vm->stop == VMM_STOP_NONE || vm->stop == VMM_STOP_RESET) &&
	       rc == 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&vm->cond, &vm->lock);
		else
			rc = pthread_cond_timedwait(&vm->cond, &vm->lock, &until);
	}
	if (vm->dbg.event != VMM_DBG_NONE) {
		*ev = vm->dbg.event;
		*cpu = vm->dbg.event_cpu;
		*addr = vm->dbg.event_addr;
		rc = 0;
		/* Taken: the machine stays stopped until resumed. */
		vm->dbg.event = VMM_DBG_NONE;
		/* Every vCPU parked before anyone reads registers. */
		while (vm->nactive > 0 && vm->stop == VMM_STOP_NONE)
			pthread_cond_wait(&vm->cond, &vm->lock);
	} else if (vm->stop != VMM_STOP_NONE && vm->stop != VMM_STOP_RESET) {
		rc = -EPIPE;	/* the machine is gone: see vm->stop */
	} else {
		rc = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

void vmm_dbg_replant(struct vmm_vm *vm)
{
	static const uint8_t int3 = 0xCC;
	pthread_mutex_lock(&vm->lock);
	/* All are judged before any is planted: RAM is fresh, no int3 yet. */
	bool same[VMM_MAX_SWBP] = { false };
	for (unsigned i = 0; i < VMM_MAX_SWBP; i++) {
		uint8_t now[sizeof(vm->dbg.sw[i].win)];
		if (!vm->dbg.sw[i].used || !vm->dbg.sw[i].win_len)
			continue;
		same[i] = !vmm_mem_read(&vm->mem, vm->dbg.sw[i].win_pa, now,
					vm->dbg.sw[i].win_len) &&
			  !memcmp(now, vm->dbg.sw[i].win, vm->dbg.sw[i].win_len);
	}
	for (unsigned i = 0; i < VMM_MAX_SWBP; i++) {
		if (!vm->dbg.sw[i].used)
			continue;
		if (!same[i] ||
		    vmm_mem_write(&vm->mem, vm->dbg.sw[i].paddr, &int3, 1))
			vm->dbg.sw[i].used = false;
	}
	pthread_mutex_unlock(&vm->lock);
}


int vmm_dbg_claim(struct vmm_vm *vm, const char *who, char *holder,
		  size_t len)
{
	int rc = 0;
	pthread_mutex_lock(&vm->lock);
	if (vm->dbg.holder[0] && strcmp(vm->dbg.holder, who) != 0) {
		snprintf(holder, len, "%s", vm->dbg.holder);
		rc = -EBUSY;
	} else {
		snprintf(vm->dbg.holder, sizeof(vm->dbg.holder), "%s", who);
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

void vmm_dbg_release(struct vmm_vm *vm, const char *who)
{
	pthread_mutex_lock(&vm->lock);
	bool mine = strcmp(vm->dbg.holder, who) == 0;
	pthread_mutex_unlock(&vm->lock);
	if (!mine)
		return;
	/* Leave nothing behind: no int3 in guest memory, no debug registers. */
	if (!is_stopped(vm))
		vmm_dbg_stop(vm);
	for (unsigned i = 0; i < VMM_MAX_SWBP; i++)
		if (vm->dbg.sw[i].used)
			(void)vmm_dbg_clear_sw(vm, vm->dbg.sw[i].vaddr);
	for (unsigned i = 0; i < 4; i++)
		if (vm->dbg.hw[i].used)
			(void)vmm_dbg_clear_hw(vm, vm->dbg.hw[i].addr,
					       vm->dbg.hw[i].type,
					       vm->dbg.hw[i].len);
	(void)vmm_dbg_resume(vm);
	pthread_mutex_lock(&vm->lock);
	vm->dbg.holder[0] = 0;
	vm->dbg.event = VMM_DBG_NONE;
	pthread_mutex_unlock(&vm->lock);
}

void vmm_dbg_holder(struct vmm_vm *vm, char *buf, size_t len)
{
	pthread_mutex_lock(&vm->lock);
	snprintf(buf, len, "%s", vm->dbg.holder);
	pthread_mutex_unlock(&vm->lock);
}
