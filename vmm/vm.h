/*
 * A virtual machine: KVM VM and vCPUs, guest memory, devices, and the
 * power state machine (running, paused, reset, power-off, panic).
 *
 * kzhost standalone and kzhost for a zone both build one struct vmm_vm
 * from a struct vmm_config and call vmm_vm_run(); nothing else in the
 * program talks to /dev/kvm.
 */
#ifndef KZ_VMM_VM_H
#define KZ_VMM_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device.h"
#include "memory.h"

#define VMM_MAX_CPUS 64
#define VMM_MAX_DISKS 16	/* disk id N: virtio slot KZ_VIRTIO_SLOT_DISK + N */
#define VMM_MAX_NETS 8
#define VMM_MAX_DEVS (16 + 1 + VMM_MAX_DISKS + VMM_MAX_NETS)

/* A virtio-blk disk: raw image file or block device. */
struct vmm_disk_config {
	char path[1024];
	bool readonly;
	unsigned id;		/* fixes the device's address in the guest */
};

/* A virtio-net link backed by a tap device (see vmm/tap.h). */
struct vmm_net_config {
	char tap[16];		/* tap interface; created when missing */
	char bridge[16];	/* "" or a bridge to enslave the tap to */
	uint8_t mac[6];		/* the guest's address */
	bool nospoof;		/* drop frames from any other source MAC */
	uint64_t maxbw;		/* bits/s each way, 0 for no limit */
	unsigned id;
	char link[32];		/* the zone's name for the link, for messages */
};

struct vmm_config {
	const char *kernel_path;
	const char *initrd_path;	/* NULL when none */
	const char *cmdline;
	unsigned ncpus;
	uint64_t mem_size;
	enum vmm_pagesize_policy pagesize_policy;
	unsigned ndisks;
	struct vmm_disk_config disks[VMM_MAX_DISKS];
	unsigned nnets;
	struct vmm_net_config nets[VMM_MAX_NETS];
};

/* Where console output goes and where its input comes from. */
struct vmm_console_ops {
	void (*output)(void *ctx, const uint8_t *buf, size_t len);
	/*
	 * Called as each (re)boot is about to start the vCPUs, so what it
	 * writes comes before the guest's first output; may be NULL.
	 */
	void (*starting)(void *ctx, unsigned boot_count);
	/* Called after each (re)boot has started the vCPUs; may be NULL. */
	void (*booted)(void *ctx, unsigned boot_count);
};

/* Why the machine stopped running; what kzhost does next depends on it. */
enum vmm_stop_reason {
	VMM_STOP_NONE,
	VMM_STOP_POWEROFF,	/* guest powered off (ACPI S5) */
	VMM_STOP_RESET,		/* guest asked for a reset or triple-faulted */
	VMM_STOP_PANIC,		/* guest signalled pvpanic */
	VMM_STOP_ERROR,		/* KVM or a device failed; see vm->stop_msg */
	VMM_STOP_HOST,		/* the host asked the machine to stop */
};

struct vmm_vcpu {
	struct vmm_vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	bool parked;		/* in the pause loop, not in KVM_RUN */
	/*
	 * What a parked vCPU waits on: signalled when its pause may be
	 * over (resume, a step for it, a stop).  Its own, so that a step
	 * of one vCPU wakes that thread and no other.
	 */
	pthread_cond_t wake;
	bool step_pending;	/* run one instruction while paused */
	uint64_t exits;		/* KVM_RUN returns, for stats */
	/*
	 * The registers as the live target last read them (target_live.c).
	 * A paused vCPU's registers do not change, and a debugger asks for
	 * them many times per stop (every virtual address is translated
	 * through CR3): four ioctls each, which cost tens of microseconds
	 * where KVM emulates.  The vCPU thread clears it before each
	 * KVM_RUN; a register write clears it too.  Under vm->lock.
	 */
	struct vmm_regcache {
		bool valid;
		bool synced;	/* g and s from kvm_run's sync regs */
		struct kvm_regs g;
		struct kvm_sregs s;
		struct kvm_debugregs d;
		uint64_t msr[3];	/* VMM_MSR_*: FS, GS, kernel GS base */
	} regcache;
	/*
	 * The guest-debug state KVM has for this vCPU (vmm_dbg_apply):
	 * setting it again unchanged is skipped, each ioctl costing tens of
	 * microseconds where KVM emulates, many times per gdb command.
	 */
	struct kvm_guest_debug dbg_applied;
	bool dbg_applied_valid;
};

/* What stopped the machine for a debugger (see vmm/debugctl.c). */
enum vmm_dbg_event {
	VMM_DBG_NONE,
	VMM_DBG_BREAK,		/* software or hardware execute breakpoint */
	VMM_DBG_STEP,		/* single step done */
	VMM_DBG_WATCH,		/* hardware data watchpoint */
	VMM_DBG_STOPPED,	/* the debugger asked for a stop */
};

#define VMM_MAX_SWBP 64

struct vmm_debug {
	char holder[32];	/* who debugs the machine ("" nobody) */
	bool stopped;		/* the debugger holds one pause reference */
	enum vmm_dbg_event event;	/* pending, until taken */
	unsigned event_cpu;
	uint64_t event_addr;
	struct {
		bool used;
		uint64_t vaddr;	/* where the debugger asked */
		uint64_t paddr;	/* where the int3 byte is */
		uint8_t orig;	/* the byte it replaced */
		/* The code around it (without int3s), to know it again
		 * after a reboot reloads RAM (vmm_dbg_replant). */
		uint64_t win_pa;
		uint8_t win[16];
		unsigned win_len;
	} sw[VMM_MAX_SWBP];
	struct {
		bool used;
		uint64_t addr;
		unsigned type;	/* DR7 R/W bits: 0 exec, 1 write, 3 access */
		unsigned len;	/* 1, 2, 4 or 8 */
	} hw[4];
	uint32_t step_extra;	/* KVM_GUESTDBG_BLOCKIRQ when KVM has it */
	/* KVM_SYNC_X86_REGS|SREGS when KVM has them: kvm_run carries the
	 * registers out of every exit while a debugger holds the machine. */
	uint64_t sync_regs;
};

struct vmm_vm {
	struct vmm_config cfg;
	int kvm_fd;
	int vm_fd;
	size_t run_size;
	struct vmm_mem mem;
	uint8_t *kernel;	/* kernel file, kept for reboot */
	size_t kernel_len;
	uint8_t *initrd;
	size_t initrd_len;
	struct kvm_cpuid2 *cpuid;	/* supported CPUID, from KVM */

	unsigned ncpus;
	struct vmm_vcpu vcpus[VMM_MAX_CPUS];

	struct vmm_dev devs[VMM_MAX_DEVS];
	unsigned ndevs;
	struct vmm_dev *uart;	/* console device, for input */
	struct vmm_dev *vcon;	/* virtio-console (hvc0), for input */
	char *cmdline;		/* cfg.cmdline + virtio_mmio.device= entries */
	struct vmm_console_ops console;
	void *console_ctx;

	/* Guarded by lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* vCPUs parked or gone, events, boots */
	pthread_cond_t ended;	/* a stop was asked for, or a vCPU ended */
	unsigned pause_depth;	/* >0: every vCPU must park */
	unsigned nactive;	/* vCPU threads alive and not parked */
	enum vmm_stop_reason stop;
	char stop_msg[256];
	unsigned boots;		/* times the guest was (re)booted */
	uint64_t panic_code;
	uint64_t unclaimed_io;	/* accesses no device answered */
	struct vmm_debug dbg;	/* guarded by lock */
};

int vmm_vm_create(struct vmm_vm *vm, const struct vmm_config *cfg,
		  const struct vmm_console_ops *console, void *console_ctx,
		  char *err, size_t errlen) __attribute__((warn_unused_result));
void vmm_vm_destroy(struct vmm_vm *vm);

/*
 * Boot the guest and run until it powers off, panics, fails, or the host
 * stops it; a guest reset reboots in place.  Returns the stop reason.
 * May be called again after it returns: the machine boots afresh.
 */
enum vmm_stop_reason vmm_vm_run(struct vmm_vm *vm);

/* Ask the running machine to stop (any thread, async-signal-unsafe). */
void vmm_vm_request_stop(struct vmm_vm *vm, enum vmm_stop_reason why,
			 const char *msg);

/*
 * Stop every vCPU outside KVM_RUN and wait until they all are; nests.
 * While paused, vCPU registers and guest memory are stable: the virtio
 * I/O threads wait too, and host input for a device waits in the device.
 */
void vmm_vm_pause(struct vmm_vm *vm);
void vmm_vm_resume(struct vmm_vm *vm);
/*
 * A paused vCPU's registers, from its cache when it has not run since
 * (vm.h, struct vmm_regcache): 0, or -EBUSY while the machine runs, or
 * -errno of an ioctl.  vmm_vcpu_regs_forget after writing any of them.
 */
enum { VMM_MSR_FS_BASE, VMM_MSR_GS_BASE, VMM_MSR_KERNEL_GS_BASE };
int vmm_vcpu_regs(struct vmm_vcpu *v, struct vmm_regcache *out);
void vmm_vcpu_regs_forget(struct vmm_vcpu *v);

/* Wake every parked vCPU to look at its pause again; vm->lock held. */
void vmm_vm_wake_parked_locked(struct vmm_vm *vm);
/*
 * Devices with work of their own (virtio I/O threads) stop touching guest
 * memory (pause true) or go on (false); vm->lock held.  Called when the
 * pause depth leaves or returns to zero.  Lock order: vm->lock, then a
 * device's lock.
 */
void vmm_vm_devices_pause_locked(struct vmm_vm *vm, bool pause);

/*
 * Console input from the host side (any thread).  Returns how many bytes
 * the guest's UART took (none while the machine is paused); offer the
 * rest again later.
 */
size_t vmm_vm_console_input(struct vmm_vm *vm, const uint8_t *buf, size_t len);

/* Counters of the virtio devices, one line each, into buf. */
void vmm_vm_device_stats(struct vmm_vm *vm, char *buf, size_t len);

/* Called by devices (any vCPU thread). */
void vmm_vm_guest_poweroff(struct vmm_vm *vm);
void vmm_vm_guest_reset(struct vmm_vm *vm, const char *why);
void vmm_vm_guest_panic(struct vmm_vm *vm, uint64_t code);
void vmm_vm_console_output(struct vmm_vm *vm, const uint8_t *buf, size_t len);

#endif
