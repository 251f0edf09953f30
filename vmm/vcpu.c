/*
 * vCPUs: one thread each, running KVM_RUN and dispatching the exits that
 * reach user space (port I/O, MMIO, shutdown, system events, errors).
 *
 * Pausing (for the debugger, savecore, suspend, migration, reboot): the
 * pauser raises vm->pause_depth under vm->lock and sends each vCPU thread
 * the kick signal.  The handler sets run->immediate_exit, so a thread
 * inside KVM_RUN returns with EINTR and a thread about to enter it returns
 * at once; either way it reaches the park check below before it can run
 * guest code again.  A thread clears immediate_exit before the park check,
 * never after, so no kick is lost between the two.
 */
#include "vcpu.h"
#include "board.h"
#include "boot.h"
#include "cpuid.h"
#include "debugctl.h"
#include "layout.h"
#include "vm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

static __thread struct vmm_vcpu *this_vcpu;

int vmm_vcpu_signal(void)
{
	return SIGRTMIN;
}

static void kick_handler(int sig)
{
	(void)sig;
	if (this_vcpu)
		this_vcpu->run->immediate_exit = 1;
}

int vmm_vcpu_init_signals(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN must come back with EINTR. */
	return sigaction(vmm_vcpu_signal(), &sa, NULL) < 0 ? -errno : 0;
}

/* MSRs a PC's firmware leaves in a known state. */
static int vcpu_set_msrs(int fd)
{
	static const struct { uint32_t index; uint64_t value; } boot_msrs[] = {
		{ 0x174, 0 },		/* SYSENTER_CS */
		{ 0x175, 0 },		/* SYSENTER_ESP */
		{ 0x176, 0 },		/* SYSENTER_EIP */
		{ 0xC0000081, 0 },	/* STAR */
		{ 0xC0000082, 0 },	/* LSTAR */
		{ 0xC0000083, 0 },	/* CSTAR */
		{ 0xC0000084, 0 },	/* SYSCALL_MASK */
		{ 0xC0000102, 0 },	/* KERNEL_GS_BASE */
		{ 0x10, 0 },		/* TSC */
		{ 0x1A0, 1 },		/* MISC_ENABLE: fast strings */
	};
	enum { N = sizeof(boot_msrs) / sizeof(boot_msrs[0]) };
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[N];
	} m;
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = N;
	for (unsigned i = 0; i < N; i++) {
		m.e[i].index = boot_msrs[i].index;
		m.e[i].data = boot_msrs[i].value;
	}
	/* KVM_SET_MSRS returns how many it set; a missing one is not fatal. */
	return ioctl(fd, KVM_SET_MSRS, &m) < 0 ? -errno : 0;
}

static int vcpu_set_fpu(int fd)
{
	struct kvm_fpu fpu;
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37F;	/* FNINIT state */
	fpu.mxcsr = 0x1F80;	/* all SSE exceptions masked */
	return ioctl(fd, KVM_SET_FPU, &fpu) < 0 ? -errno : 0;
}

/*
 * LINT0 as ExtINT and LINT1 as NMI: the virtual-wire wiring a PC's
 * firmware sets up, which Linux expects to find for the 8259 path.
 */
static int vcpu_set_lint(int fd)
{
	struct kvm_lapic_state lapic;
	if (ioctl(fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	uint32_t *lvt0 = (uint32_t *)&lapic.regs[0x350];
	uint32_t *lvt1 = (uint32_t *)&lapic.regs[0x360];
	*lvt0 = (*lvt0 & ~0x700u & ~0x10000u) | (7u << 8);
	*lvt1 = (*lvt1 & ~0x700u & ~0x10000u) | (4u << 8);
	return ioctl(fd, KVM_SET_LAPIC, &lapic) < 0 ? -errno : 0;
}

int vmm_vcpu_create(struct vmm_vm *vm, struct vmm_vcpu *vcpu, unsigned id)
{
	int rc;

	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->run = NULL;
	vcpu->regcache.valid = false;
	vcpu->regcache.synced = false;
	/* A new vCPU has guest debugging off: what an all-zero state sets. */
	memset(&vcpu->dbg_applied, 0, sizeof(vcpu->dbg_applied));
	vcpu->dbg_applied_valid = true;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0)
		return -errno;
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		rc = -errno;
		vcpu->run = NULL;
		goto fail;
	}
	rc = vmm_cpuid_apply(vcpu->fd, vm->cpuid, id, vm->ncpus);
	if (rc)
		goto fail;
	rc = vcpu_set_msrs(vcpu->fd);
	if (rc)
		goto fail;
	rc = vcpu_set_fpu(vcpu->fd);
	if (rc)
		goto fail;
	rc = vcpu_set_lint(vcpu->fd);
	if (rc)
		goto fail;
	/* Breakpoints set before a reboot hold on the new vCPUs too. */
	pthread_mutex_lock(&vm->lock);
	rc = vmm_dbg_apply(vcpu, false);
	pthread_mutex_unlock(&vm->lock);
	if (rc)
		goto fail;
	return 0;
fail:
	vmm_vcpu_destroy(vcpu);
	return rc;
}

void vmm_vcpu_destroy(struct vmm_vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}

/*
 * One of KVM's own statistics of the vCPU (KVM_GET_STATS_FD, Linux 5.14+),
 * e.g. "exits": every exit from the guest, including those KVM handles
 * without returning to us (ioeventfd, in-kernel LAPIC), which vcpu->exits
 * does not see.  QEMU reports the same numbers through QMP query-stats.
 */
int vmm_vcpu_kvm_stat(struct vmm_vcpu *vcpu, const char *name, uint64_t *val)
{
#ifdef KVM_GET_STATS_FD
	struct kvm_stats_header h;
	int rc = -ENOENT;
	int fd = ioctl(vcpu->fd, KVM_GET_STATS_FD, NULL);

	if (fd < 0)
		return -errno;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		close(fd);
		return -EIO;
	}
	size_t dsz = sizeof(struct kvm_stats_desc) + h.name_size;
	char *d = malloc(dsz);
	for (uint32_t i = 0; d && i < h.num_desc; i++) {
		struct kvm_stats_desc *sd = (struct kvm_stats_desc *)d;
		if (pread(fd, d, dsz, h.desc_offset + i * dsz) != (ssize_t)dsz) {
			rc = -EIO;
			break;
		}
		if (strncmp(sd->name, name, h.name_size))
			continue;
		rc = pread(fd, val, sizeof(*val), h.data_offset + sd->offset) ==
				     (ssize_t)sizeof(*val) ? 0 : -EIO;
		break;
	}
	free(d);
	close(fd);
	return d ? rc : -ENOMEM;
#else
	(void)vcpu, (void)name, (void)val;
	return -ENOSYS;
#endif
}

/* GDT entries the boot states use: Linux wants CS 0x10 and DS 0x18. */
#define GDT_CODE64 0x00AF9B000000FFFFULL
#define GDT_CODE32 0x00CF9B000000FFFFULL
#define GDT_DATA   0x00CF93000000FFFFULL
#define GDT_TSS    0x00008B0000000067ULL
#define SEL_CODE32 0x08
#define SEL_CODE64 0x10
#define SEL_DATA   0x18
#define SEL_TSS    0x20

int vmm_vcpu_write_boot_tables(struct vmm_vm *vm)
{
	const uint64_t gdt[] = { 0, GDT_CODE32, GDT_CODE64, GDT_DATA, GDT_TSS };
	uint64_t pml4 = KZ_GPA_BOOT_PDPT | 3;
	uint64_t pdpt[4];
	uint64_t pd[2048];

	/* Identity map of the low 4 GiB with 2 MiB pages. */
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (KZ_GPA_BOOT_PD + i * 4096) | 3;
	for (unsigned i = 0; i < 2048; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;
	if (vmm_mem_write(&vm->mem, KZ_GPA_BOOT_GDT, gdt, sizeof(gdt)) ||
	    vmm_mem_write(&vm->mem, KZ_GPA_BOOT_PML4, &pml4, sizeof(pml4)) ||
	    vmm_mem_write(&vm->mem, KZ_GPA_BOOT_PDPT, pdpt, sizeof(pdpt)) ||
	    vmm_mem_write(&vm->mem, KZ_GPA_BOOT_PD, pd, sizeof(pd)))
		return -EFAULT;
	return 0;
}

static void seg_from_gdt(struct kvm_segment *s, uint16_t sel, uint64_t desc)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = ((desc >> 16) & 0xFFFFFF) | (((desc >> 56) & 0xFF) << 24);
	uint32_t limit = (uint32_t)((desc & 0xFFFF) | (((desc >> 48) & 0xF) << 16));
	s->g = (desc >> 55) & 1;
	s->limit = s->g ? (limit << 12) | 0xFFF : limit;
	s->type = (desc >> 40) & 0xF;
	s->s = (desc >> 44) & 1;
	s->dpl = (desc >> 45) & 3;
	s->present = (desc >> 47) & 1;
	s->avl = (desc >> 52) & 1;
	s->l = (desc >> 53) & 1;
	s->db = (desc >> 54) & 1;
}

int vmm_vcpu_set_boot_state(struct vmm_vcpu *vcpu,
			    const struct vmm_boot_entry *entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	bool lm = entry->kind == VMM_BOOT_LINUX64;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	seg_from_gdt(&sregs.cs, lm ? SEL_CODE64 : SEL_CODE32,
		     lm ? GDT_CODE64 : GDT_CODE32);
	seg_from_gdt(&sregs.ds, SEL_DATA, GDT_DATA);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	seg_from_gdt(&sregs.tr, SEL_TSS, GDT_TSS);
	sregs.gdt.base = KZ_GPA_BOOT_GDT;
	sregs.gdt.limit = 5 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	if (lm) {
		sregs.cr3 = KZ_GPA_BOOT_PML4;
		sregs.cr4 = 1u << 5;			/* PAE */
		sregs.cr0 = 0x80000011;			/* PG | ET | PE */
		sregs.efer = (1u << 8) | (1u << 10);	/* LME | LMA */
	} else {
		/* PVH: 32-bit protected mode, paging off. */
		sregs.cr0 = 0x11;			/* ET | PE */
		sregs.cr3 = 0;
		sregs.cr4 = 0;
		sregs.efer = 0;
	}
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	regs.rip = entry->rip;
	if (lm)
		regs.rsi = entry->arg;
	else
		regs.rbx = entry->arg;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

/*
 * Park while the machine is paused.  Returns true when the machine is
 * stopping and the thread must end.
 */
static bool vcpu_park(struct vmm_vcpu *vcpu)
{
	struct vmm_vm *vm = vcpu->vm;
	bool stopping;

	pthread_mutex_lock(&vm->lock);
	/* A vCPU asked to single-step runs through a pause for one instruction. */
	if (vm->pause_depth && !vcpu->step_pending &&
	    vm->stop == VMM_STOP_NONE) {
		vcpu->parked = true;
		vm->nactive--;
		pthread_cond_broadcast(&vm->cond);
		while (vm->pause_depth && !vcpu->step_pending &&
		       vm->stop == VMM_STOP_NONE)
			pthread_cond_wait(&vcpu->wake, &vm->lock);
		vm->nactive++;
		vcpu->parked = false;
	}
	stopping = vm->stop != VMM_STOP_NONE;
	vcpu->regcache.valid = false;	/* it is about to run: see vm.h */
	vcpu->regcache.synced = false;
	vcpu->run->kvm_valid_regs = vm->dbg.holder[0] ? vm->dbg.sync_regs : 0;
	pthread_mutex_unlock(&vm->lock);
	return stopping;
}

static void vcpu_io(struct vmm_vcpu *vcpu, enum vmm_bus_kind bus,
		    uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	uint64_t offset;
	struct vmm_dev *dev = vmm_board_find(vcpu->vm, bus, addr, len, &offset);

	if (dev) {
		dev->ops->io(dev, offset, data, len, is_write);
		return;
	}
	/* Nothing there: reads float high, writes vanish, as on a real bus. */
	if (!is_write)
		memset(data, 0xFF, len);
	__atomic_add_fetch(&vcpu->vm->unclaimed_io, 1, __ATOMIC_RELAXED);
}

static void vcpu_exit_io(struct vmm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t size = run->io.size;

	/* data_offset and count come from KVM; still, stay inside the page. */
	if (run->io.data_offset >= vcpu->vm->run_size ||
	    (uint64_t)size * run->io.count >
		    vcpu->vm->run_size - run->io.data_offset)
		return;
	for (uint32_t i = 0; i < run->io.count; i++, data += size)
		vcpu_io(vcpu, VMM_BUS_PIO, run->io.port, data, size,
			run->io.direction == KVM_EXIT_IO_OUT);
}

static void vcpu_fail(struct vmm_vcpu *vcpu, const char *what)
{
	struct kvm_regs regs;
	char msg[200];

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) == 0)
		snprintf(msg, sizeof(msg), "vCPU %u: %s at rip 0x%llx",
			 vcpu->id, what, (unsigned long long)regs.rip);
	else
		snprintf(msg, sizeof(msg), "vCPU %u: %s", vcpu->id, what);
	vmm_vm_request_stop(vcpu->vm, VMM_STOP_ERROR, msg);
}

/* Returns false when the event ends this vCPU's run. */
static bool vcpu_exit_system_event(struct vmm_vcpu *vcpu)
{
	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vmm_vm_guest_poweroff(vcpu->vm);
		return false;
	case KVM_SYSTEM_EVENT_RESET:
		vmm_vm_guest_reset(vcpu->vm, "system reset");
		return false;
	case KVM_SYSTEM_EVENT_CRASH:
		vmm_vm_guest_panic(vcpu->vm, 0);
		return true;
	default:
		return true;
	}
}

/* One KVM_RUN exit.  Returns false when the thread must stop running. */
static bool vcpu_handle_exit(struct vmm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char what[96];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_exit_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_io(vcpu, VMM_BUS_MMIO, run->mmio.phys_addr, run->mmio.data,
			run->mmio.len > 8 ? 8 : run->mmio.len,
			run->mmio.is_write);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT:
		return true;
	case KVM_EXIT_SHUTDOWN:
		vmm_vm_guest_reset(vcpu->vm, "triple fault");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		return vcpu_exit_system_event(vcpu);
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "hardware entry failure 0x%llx",
			 (unsigned long long)run->fail_entry
				 .hardware_entry_failure_reason);
		vcpu_fail(vcpu, what);
		return false;
	case KVM_EXIT_DEBUG:
		vmm_dbg_exit(vcpu);
		return true;
	case KVM_EXIT_INTERNAL_ERROR: {
		/*
		 * Where KVM emulates guest code, int3 ends KVM_RUN this way
		 * at the breakpoint's address: that is our breakpoint.
		 */
		struct kvm_regs regs;
		if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) == 0 &&
		    vmm_dbg_is_swbp(vcpu->vm, regs.rip)) {
			vmm_dbg_event(vcpu, VMM_DBG_BREAK, regs.rip);
			return true;
		}
	}
		snprintf(what, sizeof(what), "KVM internal error %u",
			 run->internal.suberror);
		vcpu_fail(vcpu, what);
		return false;
	default:
		snprintf(what, sizeof(what), "unexpected exit reason %u",
			 run->exit_reason);
		vcpu_fail(vcpu, what);
		return false;
	}
}

/*
 * Under the machine's lock: two debuggers' threads may ask at once, and
 * the vCPU cannot leave its pause while the lock is held.
 */
int vmm_vcpu_regs(struct vmm_vcpu *v, struct vmm_regcache *out)
{
	static const uint32_t base_msrs[3] = {
		[VMM_MSR_FS_BASE] = 0xC0000100,
		[VMM_MSR_GS_BASE] = 0xC0000101,
		[VMM_MSR_KERNEL_GS_BASE] = 0xC0000102,
	};
	struct vmm_vm *vm = v->vm;
	int rc = 0;
	pthread_mutex_lock(&vm->lock);
	if (vm->pause_depth == 0 && vm->stop == VMM_STOP_NONE) {
		rc = -EBUSY;
	} else if (!v->regcache.valid) {
		struct {
			struct kvm_msrs hdr;
			struct kvm_msr_entry e[3];
		} m = { .hdr.nmsrs = 3 };
		for (unsigned i = 0; i < 3; i++)
			m.e[i].index = base_msrs[i];
		/* g and s came out of KVM_RUN when it synced them. */
		if ((!v->regcache.synced &&
		     (ioctl(v->fd, KVM_GET_REGS, &v->regcache.g) < 0 ||
		      ioctl(v->fd, KVM_GET_SREGS, &v->regcache.s) < 0)) ||
		    ioctl(v->fd, KVM_GET_DEBUGREGS, &v->regcache.d) < 0)
			rc = -errno;
		else if (ioctl(v->fd, KVM_GET_MSRS, &m) != 3)
			rc = -EIO;
		for (unsigned i = 0; i < 3 && !rc; i++)
			v->regcache.msr[i] = m.e[i].data;
		v->regcache.valid = rc == 0;
	}
	if (!rc)
		*out = v->regcache;
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

void vmm_vcpu_regs_forget(struct vmm_vcpu *v)
{
	pthread_mutex_lock(&v->vm->lock);
	v->regcache.valid = false;
	v->regcache.synced = false;
	pthread_mutex_unlock(&v->vm->lock);
}

void *vmm_vcpu_thread(void *arg)
{
	struct vmm_vcpu *vcpu = arg;
	sigset_t set;

	this_vcpu = vcpu;
	/* zonestat finds a zone's vCPU threads by these names. */
	char name[16];
	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, vmm_vcpu_signal());
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	for (;;) {
		vcpu->run->immediate_exit = 0;
		if (vcpu_park(vcpu))
			break;
		int ran = ioctl(vcpu->fd, KVM_RUN, 0);
		if ((ran == 0 || errno == EINTR || errno == EAGAIN) &&
		    vcpu->run->kvm_valid_regs) {
			/* KVM stored them on the way out: no GET ioctls later. */
			vcpu->regcache.g = vcpu->run->s.regs.regs;
			vcpu->regcache.s = vcpu->run->s.regs.sregs;
			vcpu->regcache.synced = true;
		}
		if (ran < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			char what[96];
			snprintf(what, sizeof(what), "KVM_RUN: %s",
				 strerror(errno));
			vcpu_fail(vcpu, what);
			break;
		}
		vcpu->exits++;
		if (!vcpu_handle_exit(vcpu))
			break;
	}

	pthread_mutex_lock(&vcpu->vm->lock);
	vcpu->vm->nactive--;
	pthread_cond_broadcast(&vcpu->vm->cond);
	pthread_cond_broadcast(&vcpu->vm->ended);
	pthread_mutex_unlock(&vcpu->vm->lock);
	this_vcpu = NULL;
	return NULL;
}
