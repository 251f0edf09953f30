/*
 * The machine: owns /dev/kvm, the VM fd, guest memory, the board and the
 * vCPU threads, and the power state machine.
 *
 * One boot is: create a fresh KVM VM (irqchip, PIT, memory slots), reset
 * the devices, write ACPI tables and the kernel into RAM, create the vCPUs
 * and start their threads.  A guest reset tears the KVM VM down and boots
 * again on the same memory (zeroed) and devices (reset): the first boot
 * and every reboot take the same path, so a reboot is as clean as a
 * power cycle.  Power-off, panic and errors end vmm_vm_run with the vCPU
 * state still readable until vmm_vm_destroy.
 */
#include "vm.h"
#include "acpi.h"
#include "board.h"
#include "boot.h"
#include "cpuid.h"
#include "debugctl.h"
#include "devices.h"
#include "layout.h"
#include "uart.h"
#include "vcpu.h"
#include "virtio.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/kvm.h>

/* Addresses KVM needs for its real-mode helpers on Intel, in the reserved hole. */
#define KZ_GPA_KVM_IDENTITY	0xFEFFC000ULL
#define KZ_GPA_KVM_TSS		0xFEFFD000ULL

#define MAX_KERNEL_FILE (512ULL << 20)

static int read_file(const char *path, uint8_t **out, size_t *len, char *err,
		     size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail_errno;
	if (fstat(fd, &st) < 0)
		goto fail_errno;
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > MAX_KERNEL_FILE) {
		snprintf(err, errlen, "%s: file of %lld MiB is too large", path,
			 (long long)(st.st_size >> 20));
		close(fd);
		return -EFBIG;
	}
	uint8_t *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		goto fail_errno;
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			if (n == 0)
				errno = EIO;
			goto fail_errno;
		}
		got += (size_t)n;
	}
	close(fd);
	*out = buf;
	*len = got;
	return 0;
fail_errno:;
	int e = errno;
	snprintf(err, errlen, "%s: %s", path, strerror(e));
	if (fd >= 0)
		close(fd);
	return -e;
}

/*
 * The guest's command line: the configured one, then a
 * virtio_mmio.device=SIZE@BASE:IRQ entry per virtio device, which is how
 * Linux (and the built-in guest) find devices that are not on a bus.
 */
static int build_cmdline(struct vmm_vm *vm)
{
	const char *base = vm->cfg.cmdline ? vm->cfg.cmdline : "";
	size_t len = strlen(base) + 1 + 64 * vm->ndevs;
	char *p = malloc(len);
	if (!p)
		return -ENOMEM;
	size_t n = (size_t)snprintf(p, len, "%s", base);
	for (unsigned i = 0; i < vm->ndevs; i++) {
		const struct vmm_dev *d = &vm->devs[i];
		if (!vmm_dev_is_virtio(d))
			continue;
		n += (size_t)snprintf(p + n, len - n,
				      "%svirtio_mmio.device=0x%llx@0x%llx:%u",
				      n ? " " : "", (unsigned long long)d->size,
				      (unsigned long long)d->base, d->irq);
	}
	if (n >= KZ_CMDLINE_MAX) {
		free(p);
		return -E2BIG;
	}
	vm->cmdline = p;
	vm->cfg.cmdline = p;
	return 0;
}

void vmm_vm_device_stats(struct vmm_vm *vm, char *buf, size_t len)
{
	size_t n = 0;

	if (len)
		buf[0] = 0;
	for (unsigned i = 0; i < vm->ndevs && n + 1 < len; i++) {
		struct vmm_dev *d = &vm->devs[i];
		if (d->ops == &vmm_vblk_ops)
			n += vmm_vblk_stats(d, buf + n, len - n);
		else if (d->ops == &vmm_vnet_ops)
			n += vmm_vnet_stats(d, buf + n, len - n);
		else if (d->ops == &vmm_vcon_ops)
			n += vmm_vcon_stats(d, buf + n, len - n);
	}
}

int vmm_vm_create(struct vmm_vm *vm, const struct vmm_config *cfg,
		  const struct vmm_console_ops *console, void *console_ctx,
		  char *err, size_t errlen)
{
	int rc;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = *cfg;
	vm->kvm_fd = vm->vm_fd = -1;
	vm->console = *console;
	vm->console_ctx = console_ctx;
	vm->ncpus = cfg->ncpus;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	pthread_cond_init(&vm->ended, NULL);
	for (unsigned i = 0; i < VMM_MAX_CPUS; i++) {
		vm->vcpus[i].fd = -1;
		pthread_cond_init(&vm->vcpus[i].wake, NULL);
	}

	if (cfg->ncpus < 1 || cfg->ncpus > VMM_MAX_CPUS) {
		snprintf(err, errlen, "%u vCPUs: must be 1 to %u", cfg->ncpus,
			 VMM_MAX_CPUS);
		return -EINVAL;
	}
	rc = read_file(cfg->kernel_path, &vm->kernel, &vm->kernel_len, err,
		       errlen);
	if (rc)
		goto fail;
	if (cfg->initrd_path) {
		rc = read_file(cfg->initrd_path, &vm->initrd, &vm->initrd_len,
			       err, errlen);
		if (rc)
			goto fail;
	}

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "/dev/kvm: %s", strerror(errno));
		goto fail;
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		snprintf(err, errlen, "/dev/kvm: unsupported KVM API version");
		rc = -ENOTSUP;
		goto fail;
	}
	int nmax = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (nmax > 0 && cfg->ncpus > (unsigned)nmax) {
		snprintf(err, errlen, "%u vCPUs: this host's KVM allows %d",
			 cfg->ncpus, nmax);
		rc = -EINVAL;
		goto fail;
	}
	int run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0) {
		rc = -errno;
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s",
			 strerror(errno));
		goto fail;
	}
	vm->run_size = (size_t)run_size;
	int dbg2 = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG2);
	if (dbg2 > 0 && (dbg2 & KVM_GUESTDBG_BLOCKIRQ))
		vm->dbg.step_extra = KVM_GUESTDBG_BLOCKIRQ;
	const int want = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	int sync = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	if (sync > 0 && (sync & want) == want)
		vm->dbg.sync_regs = (uint64_t)want;
	vm->cpuid = vmm_cpuid_supported(vm->kvm_fd);
	if (!vm->cpuid) {
		rc = -errno;
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s",
			 strerror(errno));
		goto fail;
	}
	rc = vmm_mem_create(&vm->mem, cfg->mem_size, cfg->pagesize_policy, err,
			    errlen);
	if (rc)
		goto fail;
	rc = vmm_board_create(vm, err, errlen);
	if (rc)
		goto fail;
	rc = build_cmdline(vm);
	if (rc) {
		snprintf(err, errlen, "kernel command line: %s", strerror(-rc));
		goto fail;
	}
	rc = vmm_vcpu_init_signals();
	if (rc) {
		snprintf(err, errlen, "vCPU signal: %s", strerror(-rc));
		goto fail;
	}
	return 0;
fail:
	vmm_vm_destroy(vm);
	return rc;
}

/* Tear down the KVM side of one boot: vCPUs and the VM fd. */
static void machine_teardown(struct vmm_vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (vm->vcpus[i].thread_started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].thread_started = false;
		}
	}
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (vm->vcpus[i].fd >= 0)
			vmm_vcpu_destroy(&vm->vcpus[i]);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	vm->vm_fd = -1;
}

void vmm_vm_destroy(struct vmm_vm *vm)
{
	vmm_vm_request_stop(vm, VMM_STOP_HOST, NULL);
	machine_teardown(vm);
	vmm_board_destroy(vm);
	vmm_mem_destroy(&vm->mem);
	free(vm->cpuid);
	free(vm->kernel);
	free(vm->initrd);
	free(vm->cmdline);
	vm->cmdline = NULL;
	vm->cpuid = NULL;
	vm->kernel = vm->initrd = NULL;
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->kvm_fd = -1;
	for (unsigned i = 0; i < VMM_MAX_CPUS; i++)
		pthread_cond_destroy(&vm->vcpus[i].wake);
	pthread_cond_destroy(&vm->ended);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
}

static int machine_create_kvm_vm(struct vmm_vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t identity = KZ_GPA_KVM_IDENTITY;

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return -errno;
	/*
	 * Memory before the interrupt chips: once an irqchip exists, every
	 * memslot change waits for an SRCU grace period, and so does tearing
	 * the VM down (measured here: 25-30 ms per boot in that order,
	 * 6-8 ms in this one).
	 */
	int rc = vmm_mem_register(&vm->mem, vm->vm_fd, false);
	if (rc)
		return rc;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KZ_GPA_KVM_TSS) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return -errno;
	return 0;
}

/* Everything the guest finds in RAM at power-on: ACPI, boot tables, kernel. */
static int machine_load(struct vmm_vm *vm, struct vmm_boot_entry *entry,
			char *err, size_t errlen)
{
	struct vmm_acpi_config acfg = { .ncpus = vm->ncpus,
					.base_gpa = KZ_GPA_ACPI };
	for (unsigned i = 0; i < vm->ndevs; i++) {
		const struct vmm_dev *d = &vm->devs[i];
		if (vmm_dev_is_virtio(d) && acfg.nmmio < VMM_ACPI_MAX_MMIO)
			acfg.mmio[acfg.nmmio++] = (struct vmm_acpi_mmio){
				.base = d->base, .size = d->size, .irq = d->irq,
			};
	}
	uint8_t *acpi = vmm_mem_ptr(&vm->mem, KZ_GPA_ACPI, KZ_ACPI_MAX);
	long n = acpi ? vmm_acpi_build(&acfg, acpi, KZ_ACPI_MAX) : -EFAULT;
	if (n < 0) {
		snprintf(err, errlen, "building ACPI tables: %s",
			 strerror((int)-n));
		return (int)n;
	}
	int rc = vmm_vcpu_write_boot_tables(vm);
	if (rc) {
		snprintf(err, errlen, "writing boot page tables: %s",
			 strerror(-rc));
		return rc;
	}
	struct vmm_boot_config bcfg = {
		.kernel = vm->kernel, .kernel_len = vm->kernel_len,
		.initrd = vm->initrd, .initrd_len = vm->initrd_len,
		.cmdline = vm->cfg.cmdline ? vm->cfg.cmdline : "",
		.rsdp_gpa = KZ_GPA_ACPI,
	};
	char why[200] = "";
	rc = vmm_boot_load(&vm->mem, &bcfg, entry, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "%s: %s", vm->cfg.kernel_path, why);
		return rc;
	}
	return 0;
}

static int machine_boot(struct vmm_vm *vm, char *err, size_t errlen)
{
	struct vmm_boot_entry entry;
	int rc;

	if (vm->boots)
		vmm_mem_clear(&vm->mem);
	rc = machine_create_kvm_vm(vm);
	if (rc) {
		snprintf(err, errlen, "creating the KVM VM: %s", strerror(-rc));
		return rc;
	}
	vmm_board_reset(vm);
	rc = machine_load(vm, &entry, err, errlen);
	if (rc)
		return rc;
	if (vm->boots)
		vmm_dbg_replant(vm);	/* RAM was cleared and loaded again */
	for (unsigned i = 0; i < vm->ncpus; i++) {
		rc = vmm_vcpu_create(vm, &vm->vcpus[i], i);
		if (rc) {
			snprintf(err, errlen, "creating vCPU %u: %s", i,
				 strerror(-rc));
			return rc;
		}
	}
	rc = vmm_vcpu_set_boot_state(&vm->vcpus[0], &entry);
	if (rc) {
		snprintf(err, errlen, "setting boot registers: %s",
			 strerror(-rc));
		return rc;
	}

	if (vm->console.starting)
		vm->console.starting(vm->console_ctx, vm->boots + 1);
	pthread_mutex_lock(&vm->lock);
	vm->boots++;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vmm_vcpu *v = &vm->vcpus[i];
		sigset_t all, old;
		/* Threads start with the kick blocked until they set this_vcpu. */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		rc = pthread_create(&v->thread, NULL, vmm_vcpu_thread, v);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc) {
			vm->stop = VMM_STOP_ERROR;
			pthread_cond_broadcast(&vm->cond);
			pthread_cond_broadcast(&vm->ended);
			pthread_mutex_unlock(&vm->lock);
			snprintf(err, errlen, "starting vCPU %u: %s", i,
				 strerror(rc));
			return -rc;
		}
		v->thread_started = true;
		vm->nactive++;
	}
	/* Whoever waits for the machine to be up again (a reboot) may go on. */
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

enum vmm_stop_reason vmm_vm_run(struct vmm_vm *vm)
{
	/* What an earlier run left (stopped vCPUs kept for inspection) goes. */
	machine_teardown(vm);
	pthread_mutex_lock(&vm->lock);
	vm->stop = VMM_STOP_NONE;
	vm->stop_msg[0] = 0;
	pthread_mutex_unlock(&vm->lock);
	for (;;) {
		char err[256];
		if (machine_boot(vm, err, sizeof(err))) {
			vmm_vm_request_stop(vm, VMM_STOP_ERROR, err);
			machine_teardown(vm);
			return VMM_STOP_ERROR;
		}
		if (vm->console.booted)
			vm->console.booted(vm->console_ctx, vm->boots);
		pthread_mutex_lock(&vm->lock);
		while (vm->nactive > 0 || vm->stop == VMM_STOP_NONE)
			pthread_cond_wait(&vm->ended, &vm->lock);
		enum vmm_stop_reason why = vm->stop;
		pthread_mutex_unlock(&vm->lock);
		if (why != VMM_STOP_RESET)
			return why;
		machine_teardown(vm);
		/*
		 * Reboot, unless a stop came in while we tore down: a halt
		 * asked for during a reboot must not be lost.
		 */
		pthread_mutex_lock(&vm->lock);
		why = vm->stop;
		if (why == VMM_STOP_RESET) {
			vm->stop = VMM_STOP_NONE;
			vm->stop_msg[0] = 0;
		}
		pthread_mutex_unlock(&vm->lock);
		if (why != VMM_STOP_RESET)
			return why;
	}
}

static void kick_all_locked(struct vmm_vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (vm->vcpus[i].thread_started)
			pthread_kill(vm->vcpus[i].thread, vmm_vcpu_signal());
	vmm_vm_wake_parked_locked(vm);
	pthread_cond_broadcast(&vm->cond);
	pthread_cond_broadcast(&vm->ended);
}

void vmm_vm_devices_pause_locked(struct vmm_vm *vm, bool pause)
{
	for (unsigned i = 0; i < vm->ndevs; i++) {
		struct vmm_dev *d = &vm->devs[i];
		void (*fn)(struct vmm_dev *) = pause ? d->ops->pause :
						       d->ops->resume;
		if (fn)
			fn(d);
	}
}

void vmm_vm_wake_parked_locked(struct vmm_vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++)
		pthread_cond_signal(&vm->vcpus[i].wake);
}

void vmm_vm_request_stop(struct vmm_vm *vm, enum vmm_stop_reason why,
			 const char *msg)
{
	pthread_mutex_lock(&vm->lock);
	/*
	 * The first reason wins (a panic is not turned into a power-off),
	 * except that anything beats a pending reset: a halt during a
	 * reboot stops the machine.
	 */
	if (vm->stop == VMM_STOP_NONE ||
	    (vm->stop == VMM_STOP_RESET && why != VMM_STOP_RESET)) {
		vm->stop = why;
		if (msg)
			snprintf(vm->stop_msg, sizeof(vm->stop_msg), "%s", msg);
	}
	kick_all_locked(vm);
	pthread_mutex_unlock(&vm->lock);
}

void vmm_vm_pause(struct vmm_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->pause_depth++ == 0) {
		kick_all_locked(vm);
		vmm_vm_devices_pause_locked(vm, true);
	}
	while (vm->nactive > 0 && vm->stop == VMM_STOP_NONE)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

void vmm_vm_resume(struct vmm_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->pause_depth && --vm->pause_depth == 0) {
		/*
		 * Tell the guest's kvmclock it was stopped, so its soft
		 * lockup detectors do not fire; EINVAL just means the guest
		 * never enabled kvmclock.
		 */
		for (unsigned i = 0; i < vm->ncpus; i++)
			if (vm->vcpus[i].fd >= 0)
				(void)ioctl(vm->vcpus[i].fd, KVM_KVMCLOCK_CTRL, 0);
		vmm_vm_devices_pause_locked(vm, false);
		vmm_vm_wake_parked_locked(vm);
	}
	pthread_mutex_unlock(&vm->lock);
}

size_t vmm_vm_console_input(struct vmm_vm *vm, const uint8_t *buf, size_t len)
{
	size_t n = vm->uart ? vmm_uart_input(vm->uart, buf, len) : 0;
	/* hvc0 hears what the UART took; the guest chooses which it reads. */
	if (vm->vcon && n)
		vmm_vcon_input(vm->vcon, buf, n);
	return n;
}

void vmm_vm_console_output(struct vmm_vm *vm, const uint8_t *buf, size_t len)
{
	if (vm->console.output)
		vm->console.output(vm->console_ctx, buf, len);
}

void vmm_vm_guest_poweroff(struct vmm_vm *vm)
{
	vmm_vm_request_stop(vm, VMM_STOP_POWEROFF, "guest powered off");
}

void vmm_vm_guest_reset(struct vmm_vm *vm, const char *why)
{
	vmm_vm_request_stop(vm, VMM_STOP_RESET, why);
}

void vmm_vm_guest_panic(struct vmm_vm *vm, uint64_t code)
{
	pthread_mutex_lock(&vm->lock);
	vm->panic_code = code;
	pthread_mutex_unlock(&vm->lock);
	vmm_vm_request_stop(vm, VMM_STOP_PANIC, "guest panicked");
}
